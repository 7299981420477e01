"""Importing flight-spotter logs with ``import_flightlog``: the format's example end to
end, through the intake; columns, quoting and the progress bar.

Every file is generated here.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from evidence.flights.tests.flightlog_helpers import (
    EXAMPLE,
    HEADER,
    ROW_1,
    ROW_2,
    csv_file,
    nothing_stored,
    row,
    run,
)
from evidence.management.commands import import_flightlog as command_module
from evidence.models import CustodyEvent, EvidenceItem, FlightLog, FlightObservation

pytestmark = pytest.mark.django_db


# --- The format's example, end to end --------------------------------------------------------


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


def test_unknown_user_and_missing_file_are_refused(researcher, tmp_path):
    status, _, err = run("--user", "nobody", str(csv_file(tmp_path, EXAMPLE)))
    assert status == 1 and "No user named 'nobody'." in err
    status, _, err = run("--user", "researcher", str(tmp_path / "missing.csv"))
    assert status == 1 and "No such file" in err
    assert nothing_stored()
