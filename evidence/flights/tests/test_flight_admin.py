"""Flight logs in the admin: upload through the importer, the observations list and
its filters, the per-day timeline, the ranked candidates and a reviewer's confirmation."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence.corroboration import rules
from evidence.flights.candidates import candidates_html
from evidence.flights.tests.correlation_helpers import STRIKE, TOWARDS, make_incident, observe
from evidence.flights.tests.flightlog_helpers import EXAMPLE, HEADER, row
from evidence.models import EvidenceItem, FlightLog, FlightMatch, FlightObservation
from tracker.admin.tests.test_admin_changelists import PINNED
from tracker.models import Incident, ReviewStatus
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

LOCAL = ZoneInfo("Asia/Damascus")
ADD = reverse("admin:evidence_flightlog_add")
OBSERVATIONS = reverse("admin:evidence_flightobservation_changelist")
TIMELINE = reverse("admin:evidence_flightobservation_timeline")


def upload(client, content: bytes | str, name: str = "log.csv", **fields):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(
        ADD,
        {"file": SimpleUploadedFile(name, data, content_type="text/csv"), **fields},
        follow=True,
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def words_of(html: str) -> str:
    """The text a reader sees: tags removed, white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def candidates_url(incident) -> str:
    return reverse("admin:evidence_flightobservation_candidates", args=[incident.pk])


def confirm_url(incident) -> str:
    return reverse("admin:evidence_flightobservation_confirm", args=[incident.pk])


# --- Upload ------------------------------------------------------------------------------


def test_researcher_uploads_a_log_through_the_importer(client, researcher):
    client.force_login(researcher)
    incident = f.IncidentFactory()

    response = upload(
        client,
        EXAMPLE,
        time_zone="Asia/Damascus",
        incident=incident.code.lower(),
        received_from="Spotter network, encrypted transfer",
        is_protected="on",
    )

    log = FlightLog.objects.select_related("item").get()
    assert response.redirect_chain[-1][0] == reverse(
        "admin:evidence_flightlog_change", args=[log.pk]
    )
    assert messages_of(response) == [f"Stored log.csv as {log.item.code}: 2 observations."]
    assert log.item.is_protected and log.item.acquired_by == researcher
    assert list(log.item.incidents.all()) == [incident]
    assert log.observations.count() == 2
    assert log.assumed_time_zone == "Asia/Damascus"


def test_refused_file_lists_its_problems_and_stores_nothing(client, researcher):
    client.force_login(researcher)
    text = f"{HEADER}\n{row()}\n{row(heading='400')}\n{row(station_lat='95')}\n"

    response = upload(client, text)

    page = text_of(response)
    assert response.status_code == 200
    assert "Nothing imported: 2 problems in 2 of 3 rows." in page
    assert "line 3, heading: 400 is not within 0-359 degrees" in page
    assert "line 4, station_lat: 95 is outside -90 to 90" in page
    assert not EvidenceItem.objects.exists() and not FlightObservation.objects.exists()


def test_utf16_upload_says_what_to_do(client, researcher):
    client.force_login(researcher)

    page = text_of(upload(client, EXAMPLE.encode("utf-16")))

    assert "This file is UTF-16 text; flight logs are read as UTF-8." in page
    assert not EvidenceItem.objects.exists()


def test_unknown_zone_is_an_error_next_to_its_field(client, researcher):
    client.force_login(researcher)

    response = upload(client, EXAMPLE, time_zone="Asia/Atlantis")

    assert response.context["form"].errors["time_zone"] == [
        "Unknown time zone 'Asia/Atlantis': use an IANA name such as Asia/Damascus or UTC."
    ]
    assert not EvidenceItem.objects.exists()


def test_skip_invalid_and_duplicate_uploads_are_reported(client, researcher):
    client.force_login(researcher)
    text = f"{HEADER}\n{row()}\n{row(aircraft_count='two')}\n"

    first = upload(client, text, skip_invalid="on")
    again = upload(client, text, name="again.csv", skip_invalid="on")

    code = EvidenceItem.objects.get().code
    assert messages_of(first) == [
        f"Stored log.csv as {code}: 1 observations.",
        "1 invalid rows skipped: line 3, aircraft_count: 'two' is not a whole number of at least 1",
    ]
    assert messages_of(again) == [
        f"again.csv is already held as {code} and its 1 observations were imported then; "
        "nothing imported."
    ]
    assert FlightObservation.objects.count() == 1


def test_upload_needs_the_add_permissions(client, db):
    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_flightlog"]))
    client.force_login(viewer)

    assert client.get(ADD).status_code == 403
    assert (
        client.post(ADD, {"file": SimpleUploadedFile("a.csv", EXAMPLE.encode())}).status_code == 403
    )
    assert not EvidenceItem.objects.exists()


# --- Observations: read-only, filtered ----------------------------------------------------


@pytest.fixture
def day_of_flights(db):
    log = f.FlightLogFactory()
    seen = {
        "ru_jet": observe(log, -5, origin="Hmeimim"),
        "sy_heli": observe(
            log,
            -30,
            aircraft_type="Mi-8",
            aircraft_class="helicopter",
            nationality="SY",
            station="KFN-2",
            origin="Hama",
        ),
        "next_day": observe(log, 24 * 60, nationality="unknown"),
        "next_month": observe(log, 40 * 24 * 60),
    }
    return seen


def listed(client, **params) -> set[int]:
    response = client.get(OBSERVATIONS, params)
    assert response.status_code == 200
    return {obs.pk for obs in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"observed_on": "2019-05-13"}, {"ru_jet", "sy_heli"}),
        ({"observed_on": "2019-05"}, {"ru_jet", "sy_heli", "next_day"}),
        ({"observed_on": "2019"}, {"ru_jet", "sy_heli", "next_day", "next_month"}),
        ({"nationality": "SY"}, {"sy_heli"}),
        ({"nationality": "unknown"}, {"next_day"}),
        ({"aircraft_class__exact": "helicopter"}, {"sy_heli"}),
        ({"station": "KFN-2"}, {"sy_heli"}),
        ({"origin": "Hmeimim"}, {"ru_jet"}),
        ({"observed_on": "2019-05", "nationality": "RU"}, {"ru_jet"}),
    ],
)
def test_observation_filters(client, researcher, day_of_flights, params, expected):
    client.force_login(researcher)
    assert listed(client, **params) == {day_of_flights[name].pk for name in expected}


def test_filtered_changelist_keeps_the_pinned_query_count(
    client, editor, day_of_flights, django_assert_num_queries
):
    client.force_login(editor)
    client.get(OBSERVATIONS)  # warm the session
    pinned = PINNED["evidence_flightobservation"]
    with django_assert_num_queries(pinned):  # as pinned for the unfiltered list in tracker's tests
        client.get(OBSERVATIONS, {"observed_on": "2019-05-13", "nationality": "RU"})


def test_a_date_that_is_not_one_is_said_and_ignored(client, researcher, day_of_flights):
    client.force_login(researcher)
    response = client.get(OBSERVATIONS, {"observed_on": "2019-02-30"}, follow=True)
    assert "Not a date: '2019-02-30'. Write 2019-05-13, 2019-05 or 2019." in messages_of(response)
    assert len(response.context["cl"].result_list) == 4


def test_observations_are_read_only(client, editor, day_of_flights):
    client.force_login(editor)
    obs = day_of_flights["ru_jet"]
    change = reverse("admin:evidence_flightobservation_change", args=[obs.pk])

    assert client.get(reverse("admin:evidence_flightobservation_add")).status_code == 403
    page = client.get(change)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(change, {"station": "CHANGED"}).status_code == 403
    obs.refresh_from_db()
    assert obs.station == "OBS-1"


# --- The per-day timeline -----------------------------------------------------------------


def test_timeline_shows_a_day_of_flights_next_to_its_strikes(
    client, researcher, day_of_flights, django_assert_max_num_queries
):
    incident = make_incident()
    f.IncidentFactory(occurred_start=STRIKE + timedelta(days=1))  # another day
    client.force_login(researcher)

    with django_assert_max_num_queries(10):
        response = client.get(TIMELINE, {"day": "2019-05-13"})

    page = text_of(response)
    assert response.context["day"].isoformat() == "2019-05-13"
    assert [kind for _, kind, _ in response.context["events"]] == [
        "observation",
        "observation",
        "incident",
    ]
    assert incident.code in page and candidates_url(incident) in page
    assert "1 × Mi-8 (helicopter, SY) seen from KFN-2" in words_of(page)
    assert response.context["next_day"].isoformat() == "2019-05-14"
    assert response.context["previous_day"] is None
    assert {station for station, _ in response.context["lanes"]} == {"KFN-2", "OBS-1"}


def test_timeline_opens_on_the_latest_day_with_observations(client, researcher, day_of_flights):
    client.force_login(researcher)
    response = client.get(TIMELINE)
    latest = day_of_flights["next_month"].observed_at.astimezone(LOCAL).date()
    assert response.context["day"] == latest


def test_timeline_needs_the_view_permission(client, db):
    staff = User.objects.create_user("staff", is_staff=True)
    client.force_login(staff)
    assert client.get(TIMELINE).status_code == 403


# --- Ranked candidates and confirmation ----------------------------------------------------


@pytest.fixture
def strike(db):
    """An incident with the true flight, a decoy with the wrong heading and a helicopter."""
    log = f.FlightLogFactory()
    incident = make_incident()
    return {
        "incident": incident,
        "log": log,
        "true": observe(log, -5),
        "wrong_heading": observe(log, -4, heading=(TOWARDS + 180) % 360),
        "helicopter": observe(log, -5, aircraft_type="Mi-8", aircraft_class="helicopter"),
    }


def row_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r"flightobservation/(\d+)/change/", html)]


def test_candidates_html_ranks_and_explains(strike, django_assert_num_queries):
    with django_assert_num_queries(3):  # attributions, candidates, confirmed matches
        html = candidates_html(strike["incident"], viewer=None)

    assert row_ids(html)[0] == strike["true"].pk
    assert set(row_ids(html)) == {strike[k].pk for k in ("true", "wrong_heading", "helicopter")}
    assert "3 observations from 60 min before to 10 min after" in words_of(html)
    assert "5 min before the strike" in html
    assert "<button" not in html  # no confirm button unless the viewer may confirm


def test_candidates_html_for_a_reviewer_has_confirm_buttons_posting_to_the_view(strike):
    html = candidates_html(strike["incident"], viewer=None, can_confirm=True)

    url = confirm_url(strike["incident"])
    buttons = re.findall(r'<button[^>]*value="(\d+)"[^>]*formaction="([^"]+)"', html)
    assert {int(pk) for pk, _ in buttons} == {
        strike[k].pk for k in ("true", "wrong_heading", "helicopter")
    }
    assert {action for _, action in buttons} == {url}
    assert 'name="flight_match_note"' in html
    assert 'name="flight_match_attribution"' in html


def test_the_incident_page_ranks_flights_only_when_its_section_is_opened(client, reviewer, strike):
    """The change page carries a link to the ranking (``data-on-demand``), not the
    ranking: the section's part, fetched when it opens, is the ranking with its buttons."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    incident = strike["incident"]
    rules.store([incident.pk])  # its proposed grade, as the grade job keeps it
    client.force_login(reviewer)
    with CaptureQueriesContext(connection) as page_queries:
        page = client.get(reverse("admin:tracker_incident_change", args=[incident.pk]))
    html = page.content.decode()
    part = candidates_url(incident) + "?part=1"
    assert f'data-on-demand="{part}"' in html and "tracker/js/on-demand.js" in html
    assert row_ids(html) == [] and "Confirm</button>" not in html
    assert not [q for q in page_queries.captured_queries if "flightobservation" in q["sql"]]

    opened = client.get(part)
    assert opened.status_code == 200 and "<html" not in opened.content.decode()
    assert set(row_ids(opened.content.decode())) == {
        strike[k].pk for k in ("true", "wrong_heading", "helicopter")
    }
    assert "Confirm</button>" in opened.content.decode()


def test_candidates_html_says_why_it_cannot_rank(db):
    incident = make_incident(start_precision="month")
    assert "is dated only to the month" in candidates_html(incident, viewer=None)


def test_candidates_page_for_researcher_and_reviewer(client, researcher, reviewer, strike):
    client.force_login(researcher)
    page = client.get(candidates_url(strike["incident"]))
    assert page.status_code == 200 and "Confirm</button>" not in page.content.decode()

    client.force_login(reviewer)
    page = client.get(candidates_url(strike["incident"]), {"before": "4", "after": "0"})
    html = page.content.decode()
    assert "Confirm</button>" in html and 'name="csrfmiddlewaretoken"' in html
    assert row_ids(html) == [strike["wrong_heading"].pk]


def test_reviewer_confirms_a_candidate(client, reviewer, strike):
    client.force_login(reviewer)
    incident = strike["incident"]
    attribution = incident.attributions.get()
    back = reverse("admin:tracker_incident_change", args=[incident.pk])

    response = client.post(
        confirm_url(incident),
        {
            "flight_match_observation": strike["true"].pk,
            "flight_match_note": "Callsign matches the intercept",
            "flight_match_attribution": attribution.pk,
            "title": "fields of the incident's own form ride along and are ignored",
        },
        HTTP_REFERER=f"http://testserver{back}",
    )

    assert response.status_code == 302 and response["Location"] == f"http://testserver{back}"
    match = FlightMatch.objects.get()
    assert (match.observation, match.incident, match.confirmed_by) == (
        strike["true"],
        incident,
        reviewer,
    )
    assert match.note == "Callsign matches the intercept"
    assert list(attribution.supporting_evidence.all()) == [strike["log"].item]
    incident.refresh_from_db()
    assert incident.title != "fields of the incident's own form ride along and are ignored"
    html = candidates_html(incident, viewer=None, can_confirm=True)
    assert "confirmed by reviewer on" in words_of(html)


def test_researcher_cannot_confirm_even_by_crafting_the_post(client, researcher, strike):
    client.force_login(researcher)
    response = client.post(
        confirm_url(strike["incident"]), {"flight_match_observation": strike["true"].pk}
    )
    assert response.status_code == 403
    assert not FlightMatch.objects.exists()


def test_confirm_refusals_are_messages(client, reviewer, strike):
    client.force_login(reviewer)
    url = confirm_url(strike["incident"])

    assert client.get(url).status_code == 405
    missing = client.post(url, {"flight_match_observation": "nope"}, follow=True)
    assert messages_of(missing) == ["Choose an observation to confirm."]
    Incident.objects.filter(pk=strike["incident"].pk).update(status=ReviewStatus.PUBLISHED)
    locked = client.post(url, {"flight_match_observation": strike["true"].pk}, follow=True)
    assert messages_of(locked) == [
        f"{strike['incident'].code} is published: an editor must reopen it before a flight "
        "is confirmed."
    ]
    assert not FlightMatch.objects.exists()


def test_offsite_referer_is_not_followed(client, reviewer, strike):
    client.force_login(reviewer)
    response = client.post(
        confirm_url(strike["incident"]),
        {"flight_match_observation": strike["true"].pk},
        HTTP_REFERER="https://evil.example/phish",
    )
    assert response["Location"] == candidates_url(strike["incident"])


def test_observation_page_shows_the_incidents_it_is_confirmed_for(client, reviewer, strike):
    client.force_login(reviewer)
    client.post(confirm_url(strike["incident"]), {"flight_match_observation": strike["true"].pk})

    page = client.get(reverse("admin:evidence_flightobservation_change", args=[strike["true"].pk]))

    assert f"{strike['incident'].code}</a> by reviewer on" in page.content.decode()


def test_log_page_links_to_its_observations(client, researcher):
    client.force_login(researcher)
    upload(client, EXAMPLE, time_zone="UTC")
    log = FlightLog.objects.get()

    page = client.get(reverse("admin:evidence_flightlog_change", args=[log.pk]))
    listing = client.get(OBSERVATIONS, {"log__id__exact": log.pk})

    assert f"?log__id__exact={log.pk}" in page.content.decode()
    assert len(listing.context["cl"].result_list) == 2


def test_heading_column_shows_the_compass_point_and_degrees(client, researcher):
    client.force_login(researcher)
    upload(client, EXAMPLE, time_zone="UTC")
    page = text_of(client.get(OBSERVATIONS))
    assert "NE (45°)" in page and "N (0°)" in page


def test_naive_time_is_local_to_the_given_zone(client, researcher):
    client.force_login(researcher)
    upload(client, EXAMPLE, time_zone="Asia/Damascus")
    second = FlightObservation.objects.get(line_number=3)
    assert second.observed_at == datetime(2019, 5, 13, 9, 55, tzinfo=LOCAL)
    assert second.station_latitude == Decimal("35.62")
