"""tracker.codes: human codes are sequential per prefix, gap-free, unique under load."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction

from evidence.models import EvidenceItem
from tracker import codes
from tracker.models import CodeCounter, Incident

START = datetime(2020, 2, 1, 12, 0, tzinfo=UTC)


def _new_incident(title: str = "Barrel bomb on the school", **fields) -> Incident:
    return Incident.objects.create(title=title, occurred_start=START, **fields)


def test_format_code_pads_to_width():
    assert codes.format_code("INC", 1, 4) == "INC-0001"
    assert codes.format_code("EV", 42, 6) == "EV-000042"
    # Past the width the number grows instead of being cut.
    assert codes.format_code("INC", 12345, 4) == "INC-12345"


@pytest.mark.django_db
def test_incident_codes_are_sequential_and_formatted():
    made = [_new_incident(title=f"Strike {n}").code for n in range(1, 4)]
    assert made == ["INC-0001", "INC-0002", "INC-0003"]


@pytest.mark.django_db
def test_evidence_codes_are_sequential_and_formatted():
    first = EvidenceItem.objects.create(kind=EvidenceItem.Kind.PHOTO, title="Crater")
    second = EvidenceItem.objects.create(kind=EvidenceItem.Kind.VIDEO, title="Aftermath")
    assert (first.code, second.code) == ("EV-000001", "EV-000002")


@pytest.mark.django_db
def test_prefixes_count_independently():
    assert _new_incident().code == "INC-0001"
    assert EvidenceItem.objects.create(kind="photo", title="Crater").code == "EV-000001"
    assert _new_incident().code == "INC-0002"
    assert EvidenceItem.objects.create(kind="photo", title="Crater 2").code == "EV-000002"
    assert codes.next_code("TST", 3) == "TST-001"
    assert _new_incident().code == "INC-0003"


@pytest.mark.django_db
def test_reserve_hands_out_consecutive_blocks():
    assert codes.reserve("BLK", 3) == 1
    assert codes.reserve("BLK") == 4
    assert codes.reserve("BLK", 10) == 5
    assert codes.reserve("BLK") == 15
    assert CodeCounter.objects.get(prefix="BLK").last == 15


@pytest.mark.django_db
@pytest.mark.parametrize("count", [0, -1])
def test_reserve_refuses_a_count_below_one(count):
    with pytest.raises(ValueError, match="at least 1"):
        codes.reserve("BLK", count)
    assert not CodeCounter.objects.filter(prefix="BLK").exists()


@pytest.mark.django_db
def test_rolled_back_transaction_does_not_consume_a_code():
    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        assert _new_incident().code == "INC-0001"
        raise Abandon

    assert not Incident.objects.exists()
    assert _new_incident().code == "INC-0001"


@pytest.mark.django_db(transaction=True)
def test_failed_save_outside_a_transaction_does_not_consume_a_code():
    """codes.py promises "no gaps from failed saves"; a bulk path may call save()
    without an enclosing transaction, and a row the database refuses must not
    leave a hole in the sequence."""
    with pytest.raises(IntegrityError):
        _new_incident(killed_min=9, killed_max=1)
    assert not Incident.objects.exists()
    assert _new_incident().code == "INC-0001"


# --- Concurrency ---------------------------------------------------------------------

PER_THREAD = 6


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("threads", [2, 8])
def test_concurrent_writers_get_unique_gap_free_codes(threads):
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []
    made: list[str] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        try:
            barrier.wait(timeout=30)
            for n in range(PER_THREAD):
                title = f"Worker {worker} strike {n}"
                if n % 2:
                    # As the admin saves: inside a request-wide transaction.
                    with transaction.atomic():
                        code = _new_incident(title=title).code
                else:
                    code = _new_incident(title=title).code
                with lock:
                    made.append(code)
        except BaseException as exc:  # collected and asserted on in the main thread
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in workers), "a writer hung"

    assert errors == [], [repr(e) for e in errors]
    total = threads * PER_THREAD
    expected = [f"INC-{n:04d}" for n in range(1, total + 1)]
    assert len(made) == total
    assert len(set(made)) == total, "a code was handed out twice"
    assert sorted(made) == expected
    assert sorted(Incident.objects.values_list("code", flat=True)) == expected
    assert Incident.objects.count() == total
    assert CodeCounter.objects.get(prefix="INC").last == total
