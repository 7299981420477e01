"""Importing a flight log already held (``evidence.flights.flightlog``): nothing is
imported twice, the item holding it is named and linked to the incident it is imported
for; a log stored by a plain upload gets its rows.
"""

from __future__ import annotations

import io

import pytest

from evidence.flights import flightlog
from evidence.flights.flightlog import import_flight_log
from evidence.flights.tests.flightlog_helpers import EXAMPLE, csv_file, run
from evidence.models import EvidenceItem, FlightObservation
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


# --- The same file again ---------------------------------------------------------------------


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
