"""evidence.files.custody: the append-only, hash-chained custody log.

The log is refused changes at two levels: the ORM (model and queryset) and the
database (triggers from migration 0004, on SQLite and PostgreSQL alike). Tests
that play an attacker with database access drop the triggers first, as such an
attacker would, and put them back afterwards.
"""

from __future__ import annotations

import contextlib
import importlib
import io
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from evidence import intake
from evidence.files import custody
from evidence.models import CustodyEvent, EvidenceItem

pytestmark = pytest.mark.django_db

APPEND_ONLY_SQL = importlib.import_module("evidence.migrations.0004_custody_append_only")


# --- Helpers shared with test_verify_evidence ----------------------------------------


def ingest_text(by: User, number: int = 1) -> EvidenceItem:
    """A small text document through the one intake path (distinct content per number)."""
    data = f"Field notes {number}: two aircraft circled before the strike.\n".encode()
    return intake.ingest(
        io.BytesIO(data),
        filename=f"notes-{number}.txt",
        kind="document",
        by=by,
        received_from="field team",
    ).item


@contextlib.contextmanager
def triggers_dropped() -> Iterator[None]:
    """Remove the database's protection, as an attacker with database access could;
    the triggers are created again afterwards so later tests keep them."""
    vendor = connection.vendor
    with connection.cursor() as cursor:
        for sql in APPEND_ONLY_SQL.DROP_TRIGGERS[vendor]:
            cursor.execute(sql)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for sql in APPEND_ONLY_SQL.TRIGGERS[vendor]:
                cursor.execute(sql)


def raw(sql: str, params: list | None = None) -> None:
    """Run SQL in a savepoint, so a refusal leaves the test's transaction usable."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def stored(event: CustodyEvent) -> tuple:
    return CustodyEvent.objects.filter(pk=event.pk).values_list(
        "sequence", "action", "details", "previous_hash", "event_hash"
    )[0]


@pytest.fixture
def item(researcher) -> EvidenceItem:
    return ingest_text(researcher)


# --- The chain -----------------------------------------------------------------------


def test_each_event_links_to_the_one_before(item, researcher):
    third = custody.record(item, CustodyEvent.Action.VIEWED, actor=researcher)

    events = list(item.custody_events.order_by("sequence"))
    assert [(e.sequence, e.action) for e in events] == [
        (1, "acquired"),
        (2, "received"),
        (3, "viewed"),
    ]
    assert events[0].previous_hash == ""
    assert events[1].previous_hash == events[0].event_hash
    assert third.previous_hash == events[1].event_hash
    assert len({e.event_hash for e in events}) == 3
    assert all(custody.event_digest(e, item.code) == e.event_hash for e in events)
    assert custody.verify_chain(item) == []


# --- The ORM refuses -----------------------------------------------------------------


def test_a_saved_event_cannot_be_saved_again(item):
    event = item.custody_events.get(sequence=1)
    before = stored(event)
    event.details = {"from": "someone else"}

    with pytest.raises(custody.AppendOnlyError, match=r"^The custody log is append-only\.$"):
        event.save()
    with pytest.raises(custody.AppendOnlyError):
        event.save(update_fields=["details"])

    assert stored(event) == before


def test_an_event_cannot_be_deleted(item):
    event = item.custody_events.get(sequence=1)

    with pytest.raises(custody.AppendOnlyError, match="append-only"):
        event.delete()

    assert CustodyEvent.objects.filter(pk=event.pk).exists()


def test_bulk_update_and_delete_are_refused(item):
    events = CustodyEvent.objects.filter(item=item)
    before = [stored(e) for e in events]

    with pytest.raises(custody.AppendOnlyError):
        events.update(action=CustodyEvent.Action.TRANSFERRED)
    with pytest.raises(custody.AppendOnlyError):
        events.delete()
    changed = list(events)
    for event in changed:
        event.action = CustodyEvent.Action.TRANSFERRED
    # bulk_update joins the caller's transaction (no savepoint): give it one.
    with pytest.raises(custody.AppendOnlyError), transaction.atomic():
        CustodyEvent.objects.bulk_update(changed, ["action"])

    assert [stored(e) for e in CustodyEvent.objects.filter(item=item)] == before


def test_a_new_event_reusing_a_primary_key_is_not_an_update(item):
    """Without forcing an insert, Django would UPDATE the row with that key."""
    first = item.custody_events.get(sequence=1)
    before = stored(first)
    forged = CustodyEvent(
        pk=first.pk,
        item=item,
        sequence=1,
        action=CustodyEvent.Action.ACQUIRED,
        at=first.at,
        details={"from": "forged"},
        event_hash="0" * 64,
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        forged.save()

    assert stored(first) == before


def test_refusal_is_a_permission_error():
    """Should one reach a view, Django answers 403, not 500."""
    assert issubclass(custody.AppendOnlyError, PermissionDenied)


# --- The database refuses ------------------------------------------------------------


def test_database_refuses_raw_update(item):
    event = item.custody_events.get(sequence=1)
    before = stored(event)

    with pytest.raises(IntegrityError, match="The custody log is append-only."):
        raw("UPDATE evidence_custodyevent SET action = 'transferred' WHERE id = %s", [event.pk])

    assert stored(event) == before


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM evidence_custodyevent WHERE id = %s",
        "DELETE FROM evidence_custodyevent",  # what Django's flush runs on SQLite
    ],
)
def test_database_refuses_raw_delete(item, sql):
    event = item.custody_events.get(sequence=1)

    with pytest.raises(IntegrityError, match="The custody log is append-only."):
        raw(sql, [event.pk] if "%s" in sql else None)

    assert CustodyEvent.objects.filter(item=item).count() == 2


@pytest.mark.django_db(transaction=True)  # a TRUNCATE waits for committed rows
def test_postgresql_refuses_truncate():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    item = ingest_text(User.objects.create_user("truncating"))

    with pytest.raises(IntegrityError, match="The custody log is append-only."):
        raw("TRUNCATE evidence_custodyevent CASCADE")

    assert CustodyEvent.objects.filter(item=item).count() == 2


def test_database_still_accepts_new_events(item):
    custody.record(item, CustodyEvent.Action.VIEWED)

    assert item.custody_events.count() == 3


# --- verify_chain finds what was changed ----------------------------------------------


@pytest.fixture
def chain(item, researcher) -> list[CustodyEvent]:
    for action in ("viewed", "downloaded", "exported"):
        custody.record(item, action, actor=researcher)
    return list(item.custody_events.order_by("sequence"))


def test_an_intact_chain_has_no_problems(item, chain):
    assert len(chain) == 5
    assert custody.verify_chain(item) == []


def test_edited_event_breaks_the_chain_at_that_event(item, chain):
    with triggers_dropped():
        raw(
            "UPDATE evidence_custodyevent SET action = 'viewed' WHERE id = %s",
            [chain[3].pk],  # event 4 was a download
        )

    assert custody.verify_chain(item) == [custody.ChainBreak(4, "content does not match its hash")]


def test_edited_event_with_its_hash_recomputed_breaks_the_next_link(item, chain):
    event = chain[2]
    event.action = CustodyEvent.Action.TRANSFERRED
    forged_hash = custody.event_digest(event, item.code)
    with triggers_dropped():
        raw(
            "UPDATE evidence_custodyevent SET action = %s, event_hash = %s WHERE id = %s",
            [event.action, forged_hash, event.pk],
        )

    problems = custody.verify_chain(item)

    assert problems == [custody.ChainBreak(4, "does not link to the hash of the event before it")]


def test_deleted_event_breaks_the_chain_where_it_was(item, chain):
    with triggers_dropped():
        raw("DELETE FROM evidence_custodyevent WHERE id = %s", [chain[1].pk])

    problems = custody.verify_chain(item)

    assert problems[0] == custody.ChainBreak(2, "expected event 2, found event 3")
    assert custody.ChainBreak(3, "does not link to the hash of the event before it") in problems


def test_an_item_with_an_original_must_have_a_chain(item, chain):
    with triggers_dropped():
        raw("DELETE FROM evidence_custodyevent WHERE item_id = %s", [item.pk])

    assert custody.verify_chain(item) == [
        custody.ChainBreak(1, "no custody events for an item with an original")
    ]


def test_an_item_without_a_file_may_have_no_events(researcher):
    item = EvidenceItem.objects.create(kind=EvidenceItem.Kind.TESTIMONY, title="Interview K-14")

    assert custody.verify_chain(item) == []


def test_chains_of_many_items_take_one_query(researcher, django_assert_num_queries):
    items = [ingest_text(researcher, n) for n in range(3)]
    with triggers_dropped():
        raw(
            "UPDATE evidence_custodyevent SET sequence = 7 WHERE item_id = %s AND sequence = 2",
            [items[2].pk],
        )

    with django_assert_num_queries(1):
        problems = custody.verify_chains(items)

    assert problems[items[0].pk] == []
    assert problems[items[1].pk] == []
    assert problems[items[2].pk][0] == custody.ChainBreak(2, "expected event 2, found event 7")


# --- Django's flush still empties the log ---------------------------------------------
# Transactional tests end with a flush (on SQLite a DELETE FROM per table, in an
# order that varies between runs). These tests each leave custody events behind;
# if the flush were refused, the second test (or the next one) would fail.


@pytest.mark.django_db(transaction=True)
def test_transactional_test_with_custody_events_tears_down():
    user = User.objects.create_user("flush-1")
    ingest_text(user, 1)
    assert CustodyEvent.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_next_transactional_test_starts_empty_and_tears_down():
    assert not CustodyEvent.objects.exists()
    user = User.objects.create_user("flush-2")
    ingest_text(user, 2)
    assert CustodyEvent.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_log_and_leaves_it_protected():
    user = User.objects.create_user("flush-3")
    item = ingest_text(user, 3)

    call_command("flush", interactive=False, verbosity=0)

    assert not CustodyEvent.objects.exists()
    assert not EvidenceItem.objects.exists()
    # The guard is back: deleting custody events is refused again.
    user = User.objects.create_user("flush-4")
    item = ingest_text(user, 4)
    with pytest.raises(IntegrityError, match="append-only"):
        raw("DELETE FROM evidence_custodyevent")
    assert item.custody_events.count() == 2


@pytest.mark.django_db(transaction=True)
def test_cancelled_flush_keeps_everything(monkeypatch):
    user = User.objects.create_user("flush-5")
    ingest_text(user, 5)
    monkeypatch.setattr("builtins.input", lambda question: "no")
    out = io.StringIO()

    call_command("flush", stdout=out)

    assert out.getvalue() == "Flush cancelled.\n"
    assert CustodyEvent.objects.count() == 2


# --- Gaps found by mutation (issue 15) ----------------------------------------------------


@pytest.mark.parametrize(
    "zone",
    ["Asia/Damascus", "UTC", "Pacific/Kiritimati", "Etc/GMT+12", "America/St_Johns"],
)
@pytest.mark.parametrize(
    "moment",
    [(2019, 5, 5, 7, 30, 15, 123456), (2019, 3, 29, 1, 30, 0, 0), (2019, 10, 26, 23, 59, 59, 1)],
)
def test_a_chain_verifies_whatever_zone_the_time_was_given_in(item, researcher, zone, moment):
    """The time is hashed as UTC text: the database gives it back in UTC, so a time
    hashed in the zone it was given in (the demo's Damascus acquisition times, a
    daylight-saving night) would no longer match its hash."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    at = datetime(*moment, tzinfo=ZoneInfo(zone))
    event = custody.record(item, CustodyEvent.Action.ACQUIRED, actor=researcher, at=at)
    assert CustodyEvent.objects.get(pk=event.pk).at == at  # the same instant
    assert custody.verify_chain(EvidenceItem.objects.get(pk=item.pk)) == []


def test_every_event_after_a_deleted_one_is_reported(item, chain):
    with triggers_dropped():
        raw("DELETE FROM evidence_custodyevent WHERE id = %s", [chain[1].pk])

    problems = custody.verify_chain(item)

    # Event 3 now follows event 1: its number and its link break; the later links hold
    # (each still names its own predecessor), so exactly these two are reported.
    assert problems == [
        custody.ChainBreak(2, "expected event 2, found event 3"),
        custody.ChainBreak(3, "does not link to the hash of the event before it"),
    ]


def test_the_event_hash_is_sha256_of_the_published_canonical_json(item, researcher):
    """What a court's expert recomputes without our code: SHA-256 of the event as JSON
    with sorted keys, no spaces, UTF-8 unescaped, the time as UTC ISO-8601. Spelled out
    here, so renaming, dropping or reformatting any field fails."""
    import hashlib
    from datetime import datetime
    from zoneinfo import ZoneInfo

    at = datetime(2019, 5, 13, 11, 40, 5, 250000, tzinfo=ZoneInfo("Asia/Damascus"))
    event = custody.record(
        item,
        CustodyEvent.Action.ACQUIRED,
        actor=researcher,
        observed_sha256="ab" * 32,
        details={"note": "مشفى", "n": 2},
        at=at,
    )
    template = (
        '{"action":"acquired","actor":%d,"at":"2019-05-13T08:40:05.250000+00:00",'
        '"details":{"n":2,"note":"مشفى"},"item":"%s","observed_sha256":"%s",'
        '"previous_hash":"%s","sequence":%d}'
    )
    canonical = template % (researcher.pk, item.code, "ab" * 32, event.previous_hash, 3)
    assert event.sequence == 3 and len(event.previous_hash) == 64
    assert event.event_hash == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_the_first_event_links_to_nothing_and_a_missing_actor_is_null(db):
    import hashlib

    item = EvidenceItem.objects.create(kind=EvidenceItem.Kind.TESTIMONY, title="Interview K-15")
    event = custody.record(item, CustodyEvent.Action.TRANSFERRED)
    assert (event.sequence, event.previous_hash) == (1, "")
    at = event.at.isoformat()
    template = (
        '{"action":"transferred","actor":null,"at":"%s","details":{},"item":"%s",'
        '"observed_sha256":"","previous_hash":"","sequence":1}'
    )
    canonical = template % (at, item.code)
    assert at.endswith("+00:00")
    assert event.event_hash == hashlib.sha256(canonical.encode()).hexdigest()


def test_items_naming_a_hash_list_the_item_that_received_it_first_then_by_item(db):
    """The storage audit's answer to "whose file is this?": the item whose log received
    those bytes, then any other item whose log names them, each once, in item order."""
    sha = "cd" * 32
    first, receiver, last = (
        EvidenceItem.objects.create(kind=EvidenceItem.Kind.TESTIMONY, title=f"T-{n}")
        for n in range(3)
    )
    custody.record(last, CustodyEvent.Action.VIEWED, observed_sha256=sha)  # logged first
    custody.record(receiver, CustodyEvent.Action.RECEIVED, observed_sha256=sha)
    custody.record(first, CustodyEvent.Action.VERIFIED, observed_sha256=sha)
    custody.record(last, CustodyEvent.Action.DOWNLOADED, observed_sha256=sha)

    assert custody.items_naming(sha) == [receiver.code, first.code, last.code]
    assert custody.items_naming("ef" * 32) == []


@pytest.mark.django_db(transaction=True)
def test_writers_appending_to_one_chain_at_once_all_succeed_in_one_unbroken_chain():
    """record() locks the item before reading the last event. Without the lock two
    writers read the same last event and the second is refused by the unique
    (item, sequence) constraint: a lost custody event. (On SQLite writers queue
    anyway; the lock is what holds on PostgreSQL.)"""
    import threading

    item = EvidenceItem.objects.create(kind=EvidenceItem.Kind.TESTIMONY, title="Shared")
    writers, per_writer = 4, 8
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(per_writer):
                custody.record(item, CustodyEvent.Action.VIEWED)
        except BaseException as exc:  # asserted on in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == [], [repr(e) for e in errors]
    sequences = list(item.custody_events.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, writers * per_writer + 1))
    assert custody.verify_chain(item) == []
