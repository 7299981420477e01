"""One rendering per displayed fact: a count known as a range (``tracker.display``) and a
date known to a precision (``periods.format_partial``) read the same on every page that
shows them: the admin's incident list, the incident browser and page, the case report,
an official's dossier (on screen and printed); the exports and the dossier's CSV carry
the two numbers of a range as they are, from which ``count_range`` gives the same text.
The map draws the range in the browser (``tests/e2e/test_map_browser.py``)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.urls import reverse

from tracker.display import count_range, summed_range, time_with_zone
from tracker.responsibility.periods import format_partial
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

# (lowest, highest, as written everywhere)
RANGES = [
    (3, None, "at least 3"),
    (3, 3, "3"),
    (None, None, "unknown"),
    (None, 5, "up to 5"),
    (3, 5, "3–5"),
]
PRECISIONS = ["year", "month", "day", "hour", "minute"]


# --- The functions --------------------------------------------------------------------------


@pytest.mark.parametrize(("low", "high", "written"), RANGES)
def test_count_range_writes_each_kind_of_range_one_way(low, high, written):
    assert count_range(low, high) == written


def test_zero_is_a_count_not_an_unknown():
    assert count_range(0, 0) == "0"
    assert count_range(0, None) == "at least 0"
    assert count_range(None, 0) == "up to 0"
    assert count_range(0, 4) == "0–4"


def test_a_sum_is_unknown_only_when_no_incident_has_a_count():
    assert summed_range(15, 18, 1, 4) == "15–18"
    assert summed_range(7, 7, 0, 2) == "7"
    assert summed_range(0, 0, 3, 3) == "unknown"


@pytest.mark.parametrize(("low", "high", "written"), RANGES)
def test_the_template_filter_writes_what_the_function_writes(low, high, written):
    html = Template("{% load display %}{{ low|count_range:high }}").render(
        Context({"low": low, "high": high})
    )
    assert text(html) == written
    assert ('class="muted"' in html) == (written == "unknown")


def test_the_partial_date_filter_is_format_partial():
    moment = datetime(2019, 5, 14, 7, 40, tzinfo=UTC)
    for precision in PRECISIONS:
        html = Template("{% load display %}{{ when|partial_date:precision }}").render(
            Context({"when": moment, "precision": precision})
        )
        assert html == format_partial(moment, precision)


# --- A time with its zone -------------------------------------------------------------------

STRIKE_UTC = datetime(2019, 5, 14, 11, 5, tzinfo=UTC)  # 14:05 in Damascus (UTC+03:00)


def test_a_converted_time_names_the_zone_it_was_converted_to():
    assert time_with_zone(STRIKE_UTC) == "2019-05-14 14:05 Damascus time (UTC+03:00)"
    # In winter the same zone is two hours ahead, and says so.
    winter = datetime(2019, 1, 14, 11, 5, tzinfo=UTC)
    assert time_with_zone(winter) == "2019-01-14 13:05 Damascus time (UTC+02:00)"
    assert time_with_zone(STRIKE_UTC, zone=UTC) == "2019-05-14 11:05 UTC"
    assert time_with_zone(STRIKE_UTC, zone=ZoneInfo("UTC")) == "2019-05-14 11:05 UTC"
    new_york = ZoneInfo("America/New_York")
    assert time_with_zone(STRIKE_UTC, zone=new_york) == "2019-05-14 07:05 New York time (UTC-04:00)"


def test_a_time_in_a_recorded_offset_is_written_in_it():
    camera = timezone(timedelta(hours=3))
    moment = datetime(2019, 5, 5, 10, 30, 12, tzinfo=camera)
    assert time_with_zone(moment, zone=camera) == "2019-05-05 10:30:12 UTC+03:00"
    india = timezone(timedelta(hours=5, minutes=30))
    assert time_with_zone(moment, zone=india) == "2019-05-05 13:00:12 UTC+05:30"
    assert time_with_zone(moment, zone=timezone(timedelta(hours=-4, minutes=-30))).endswith(
        " UTC-04:30"
    )


def test_a_clock_without_its_zone_is_written_as_read_never_converted():
    clock = datetime(2019, 5, 5, 10, 30, 12)
    assert time_with_zone(clock) == "2019-05-05 10:30:12 (zone not recorded)"
    assert time_with_zone(clock, zone=UTC) == "2019-05-05 10:30:12 (zone not recorded)"
    assert time_with_zone(None) == ""


def test_a_time_known_to_a_day_or_wider_is_written_to_its_precision():
    written = {p: time_with_zone(STRIKE_UTC, precision=p) for p in PRECISIONS}
    assert written == {
        "year": "2019",
        "month": "2019-05",
        "day": "2019-05-14 Damascus time (UTC+03:00)",
        "hour": "2019-05-14 14 h Damascus time (UTC+03:00)",
        "minute": "2019-05-14 14:05 Damascus time (UTC+03:00)",
    }
    # The local date, not UTC's: 23:30 UTC on the 13th is already the 14th in Damascus.
    late = datetime(2019, 5, 13, 23, 30, tzinfo=UTC)
    assert time_with_zone(late, precision="day").startswith("2019-05-14 ")


def test_the_with_zone_filter_is_time_with_zone():
    html = Template("{% load display %}{{ when|with_zone }}|{{ when|with_zone:'day' }}").render(
        Context({"when": STRIKE_UTC})
    )
    assert html == f"{time_with_zone(STRIKE_UTC)}|{time_with_zone(STRIKE_UTC, precision='day')}"


# --- Reading the pages ----------------------------------------------------------------------


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def column(html: str, code: str, heading: str) -> str:
    """The text of the cell under ``heading`` in the table row that names ``code``."""
    for table in re.findall(r"<table.*?</table>", html, re.S):
        rows = [
            [text(cell) for cell in re.findall(r"<t[hd]\b[^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr\b.*?</tr>", table, re.S)
        ]
        headings = next((r for r in rows if any(c.startswith(heading) for c in r)), None)
        if headings is None:
            continue
        index = next(n for n, c in enumerate(headings) if c.startswith(heading))
        for row in rows:
            if any(c == code or c.startswith(f"{code} ") for c in row):
                return row[index]
    raise AssertionError(f"no row of {code} under {heading!r}")


def described(html: str, term: str, within: str = "") -> str:
    """The text of ``<dt>term</dt><dd>…</dd>``, in the element of id ``within`` if given."""
    if within:
        html = html[html.index(f'id="{within}"') :]
    match = re.search(rf"<dt>{term}</dt>\s*<dd>(.*?)</dd>", html, re.S)
    assert match, f"no {term} in the page"
    return text(match[1])


def number(cell: object) -> int | None:
    return None if cell in ("", None) else int(cell)


# --- Every page that shows a range ----------------------------------------------------------


@pytest.fixture
def ranges(db):
    """One incident per kind of range (killed and injured alike), each attributed to one
    official, so that every page and file lists all five."""
    official = f.OfficialFactory(name="Rank Holder")
    incidents = []
    for n, (low, high, _) in enumerate(RANGES):
        incident = f.IncidentFactory(
            title=f"Range case {n}",
            killed_min=low,
            killed_max=high,
            injured_min=low,
            injured_max=high,
            occurred_start=datetime(2019, 5, 10 + n, 9, tzinfo=UTC),
        )
        f.AttributionFactory(incident=incident, unit=None, official=official, role="ordered")
        incidents.append(incident)
    return {"official": official, "incidents": incidents}


@pytest.fixture
def pages(client, researcher, superuser, ranges):
    """The HTML of every page that lists or shows the incidents' ranges."""
    dossier = ranges["official"].pk
    client.force_login(superuser)
    admin = client.get(reverse("admin:tracker_incident_changelist")).content.decode()
    client.force_login(researcher)
    return {
        "admin": admin,
        "browser": client.get(reverse("incidents:list")).content.decode(),
        "report": client.get(reverse("case_report")).content.decode(),
        "dossier": client.get(reverse("officials:dossier", args=[dossier])).content.decode(),
        "dossier print": client.get(
            reverse("officials:dossier_print", args=[dossier])
        ).content.decode(),
    }


def test_every_page_writes_each_range_the_same_way(client, researcher, ranges, pages):
    client.force_login(researcher)
    for incident, (_, _, written) in zip(ranges["incidents"], RANGES, strict=True):
        code = incident.code
        detail = client.get(reverse("incidents:detail", args=[code])).content.decode()
        shown = {
            "admin list": column(pages["admin"], code, "Killed"),
            "browser": column(pages["browser"], code, "Killed"),
            "incident page, killed": described(detail, "Killed"),
            "incident page, injured": described(detail, "Injured"),
            "report, killed": described(pages["report"], "Killed", within=code),
            "report, injured": described(pages["report"], "Injured", within=code),
            "dossier": column(pages["dossier"], code, "Killed"),
            "dossier, printed": column(pages["dossier print"], code, "Killed"),
        }
        assert shown == dict.fromkeys(shown, written), code


def test_the_files_carry_both_numbers_of_every_range(client, researcher, ranges):
    client.force_login(researcher)
    body = b"".join(client.get(reverse("incidents:export_csv")).streaming_content)
    exported = {row["code"]: row for row in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    body = b"".join(client.get(reverse("incidents:export_geojson")).streaming_content)
    features = {
        feature["properties"]["code"]: feature["properties"]
        for feature in json.loads(body)["features"]
    }
    response = client.get(reverse("officials:dossier_csv", args=[ranges["official"].pk]))
    header, *rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    dossier = {row[header.index("incident")]: row for row in rows}
    low, high = header.index("killed min"), header.index("killed max")

    for incident, (_, _, written) in zip(ranges["incidents"], RANGES, strict=True):
        code = incident.code
        row, properties = exported[code], features[code]
        read = {
            "CSV, killed": (number(row["killed_min"]), number(row["killed_max"])),
            "CSV, injured": (number(row["injured_min"]), number(row["injured_max"])),
            "GeoJSON, killed": (properties["killed_min"], properties["killed_max"]),
            "GeoJSON, injured": (properties["injured_min"], properties["injured_max"]),
            "dossier CSV": (number(dossier[code][low]), number(dossier[code][high])),
        }
        assert {name: count_range(*pair) for name, pair in read.items()} == dict.fromkeys(
            read, written
        ), code


# --- Every page that shows a date known to a precision ---------------------------------------


def test_every_page_writes_a_partial_date_the_same_way(client, researcher, superuser):
    official = f.OfficialFactory(name="Date Holder")
    incidents = []
    for precision in PRECISIONS:
        incident = f.IncidentFactory(
            occurred_start=datetime(2018, 3, 1, 0, tzinfo=UTC), start_precision=precision
        )
        f.AttributionFactory(incident=incident, unit=None, official=official, role="ordered")
        incidents.append(incident)
    client.force_login(superuser)
    admin = client.get(reverse("admin:tracker_incident_changelist")).content.decode()
    client.force_login(researcher)
    browser = client.get(reverse("incidents:list")).content.decode()
    report = client.get(reverse("case_report")).content.decode()
    dossier = client.get(reverse("officials:dossier", args=[official.pk])).content.decode()
    response = client.get(reverse("officials:dossier_csv", args=[official.pk]))
    header, *rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    dossier_csv = {row[header.index("incident")]: row[header.index("date")] for row in rows}

    for incident in incidents:
        code = incident.code
        written = format_partial(incident.occurred_start, incident.start_precision)
        detail = client.get(reverse("incidents:detail", args=[code])).content.decode()
        shown = {
            "admin list": column(admin, code, "When"),
            "browser": column(browser, code, "Date").split(" (")[0],
            "report": described(report, "When", within=code).split(" (")[0],
            "dossier": column(dossier, code, "Date"),
            "dossier CSV": dossier_csv[code],
        }
        assert shown == dict.fromkeys(shown, written), code
        # The incident page names the zone of what it converted (tracker.display).
        precision = incident.get_start_precision_display()
        zoned = time_with_zone(incident.occurred_start, precision=incident.start_precision)
        assert described(detail, "When") == f"{zoned} (known {precision})", code
        assert zoned.startswith(written), code
