"""manage.py verify_evidence: fixity of stored originals and of custody chains."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection

from evidence.files import custody, fixity, storage
from evidence.files.tests.test_custody import ingest_text, raw, triggers_dropped
from evidence.management.commands import verify_evidence
from evidence.models import CustodyEvent, EvidenceItem

pytestmark = pytest.mark.django_db


def verify(*codes: str) -> tuple[str, CommandError | None]:
    """Run the command; return what it printed and the error it exited with, if any."""
    out = io.StringIO()
    try:
        call_command("verify_evidence", *codes, stdout=out)
    except CommandError as exc:
        assert exc.returncode == 1
        return out.getvalue(), exc
    return out.getvalue(), None


def verifications(item: EvidenceItem) -> list[CustodyEvent]:
    return list(item.custody_events.filter(action=CustodyEvent.Action.VERIFIED))


def original(item: EvidenceItem) -> Path:
    return storage.path_of(item.original_path)


def flip_a_byte(path: Path) -> bytes:
    """Change one byte of a stored original (read-only, 0440) and return the new bytes."""
    path.chmod(0o640)
    data = bytearray(path.read_bytes())
    data[5] ^= 0x01
    path.write_bytes(bytes(data))
    return bytes(data)


def point_row_at(item: EvidenceItem, data: bytes) -> str:
    """Store ``data`` the way intake stores an original and point ``item``'s row at
    it (hash, path and size), as someone with database and disk access could;
    the custody log is left alone. Returns the new hash."""
    staged = storage.stage(io.BytesIO(data))
    key, _ = storage.promote(staged)
    staged.discard()
    EvidenceItem.objects.filter(pk=item.pk).update(
        sha256=staged.sha256, original_path=key, size=staged.size
    )
    return staged.sha256


@pytest.fixture
def items(researcher) -> list[EvidenceItem]:
    return [ingest_text(researcher, n) for n in (1, 2)]


def test_intact_evidence_is_ok_and_each_item_gets_a_verification(items):
    printed, error = verify()

    assert error is None
    assert printed == "OK 2 items\n"
    for item in items:
        [event] = verifications(item)
        assert event.sequence == 3
        assert event.observed_sha256 == item.sha256
        assert event.details == {
            "result": "ok",
            "observed": item.sha256,
            "received": item.sha256,
            "log": "ok",
            "chain": "ok",
        }
        assert custody.verify_chain(item) == []  # the new event extends the chain


def test_flipped_byte_is_a_mismatch_with_both_hashes(items):
    tampered = flip_a_byte(original(items[0]))
    got = hashlib.sha256(tampered).hexdigest()

    printed, error = verify()

    assert printed == f"MISMATCH {items[0].code} expected {items[0].sha256} got {got}\n"
    assert str(error) == "1 problem(s) in 2 items."
    [event] = verifications(items[0])
    assert event.details == {
        "result": "mismatch",
        "observed": got,
        "received": items[0].sha256,
        "log": "ok",
        "chain": "ok",
    }
    assert event.observed_sha256 == got
    assert verifications(items[1])[0].details["result"] == "ok"


def test_deleted_original_is_missing(items):
    original(items[1]).unlink()

    printed, error = verify()

    assert printed == f"MISSING {items[1].code}\n"
    assert error is not None
    [event] = verifications(items[1])
    assert event.details == {
        "result": "missing",
        "observed": "",
        "received": items[1].sha256,
        "log": "ok",
        "chain": "ok",
    }


def test_custody_row_edited_with_raw_sql_breaks_the_chain(items):
    """An attacker with database access drops the trigger, then rewrites the
    'received and hashed' event to claim a different file was received. The row
    no longer matches the log either, and no file holds what the log now claims."""
    received = items[0].custody_events.get(sequence=2)
    with triggers_dropped():
        raw(
            "UPDATE evidence_custodyevent SET observed_sha256 = %s WHERE id = %s",
            ["f" * 64, received.pk],
        )

    printed, error = verify()

    assert printed == (
        f"LOG-MISMATCH {items[0].code} row {items[0].sha256} log {'f' * 64}\n"
        f"LOG-MISSING {items[0].code} {storage.original_key('f' * 64)}\n"
        f"CHAIN {items[0].code} broken at event 2\n"
    )
    assert str(error) == "3 problem(s) in 2 items."
    # The verification is appended to the broken chain, which stays broken there.
    [event] = verifications(items[0])
    assert event.details == {
        "result": "ok",
        "observed": items[0].sha256,
        "received": "f" * 64,
        "log": "mismatch",
        "received_original": "missing",
        "chain": "broken at event 2",
    }
    assert event.previous_hash == items[0].custody_events.get(sequence=2).event_hash
    assert verify()[0] == printed


def test_every_problem_of_an_item_is_reported(items):
    flip_a_byte(original(items[0]))
    with triggers_dropped():
        raw(
            "DELETE FROM evidence_custodyevent WHERE item_id = %s AND sequence = 1",
            [items[0].pk],
        )

    printed, error = verify()

    lines = printed.splitlines()
    assert [line.split()[0] for line in lines] == ["MISMATCH", "CHAIN"]
    assert lines[1] == f"CHAIN {items[0].code} broken at event 1"
    assert str(error) == "2 problem(s) in 2 items."


# --- The custody log is the reference ---------------------------------------------------


def test_row_pointed_at_another_file_is_a_log_mismatch(items):
    """The file the row names hashes to what the row says, so only the log can
    tell: its received event names the original, which is still intact."""
    swapped = point_row_at(items[0], b"Field notes 1: nothing happened that day.\n")

    printed, error = verify()

    assert printed == f"LOG-MISMATCH {items[0].code} row {swapped} log {items[0].sha256}\n"
    assert str(error) == "1 problem(s) in 2 items."
    [event] = verifications(items[0])
    assert event.observed_sha256 == swapped
    assert event.details == {
        "result": "ok",
        "observed": swapped,
        "received": items[0].sha256,
        "log": "mismatch",
        "received_original": "ok",
        "chain": "ok",
    }


def test_original_named_by_the_log_is_checked_too(items):
    point_row_at(items[0], b"Field notes 1: nothing happened that day.\n")
    damaged = hashlib.sha256(flip_a_byte(original(items[0]))).hexdigest()
    original(items[1]).unlink()
    point_row_at(items[1], b"Field notes 2: a quiet morning.\n")

    printed, error = verify()

    lines = printed.splitlines()
    assert [line.split()[0] for line in lines] == [
        "LOG-MISMATCH",
        "LOG-DAMAGED",
        "LOG-MISMATCH",
        "LOG-MISSING",
    ]
    assert lines[1] == f"LOG-DAMAGED {items[0].code} expected {items[0].sha256} got {damaged}"
    assert lines[3] == f"LOG-MISSING {items[1].code} {items[1].original_path}"
    assert str(error) == "4 problem(s) in 2 items."
    assert verifications(items[0])[0].details["received_original"] == "mismatch"
    assert verifications(items[1])[0].details["received_original"] == "missing"


def test_row_emptied_of_its_file_is_a_log_mismatch(items):
    """Blanking the row makes the item look like one that never had a file."""
    EvidenceItem.objects.filter(pk=items[0].pk).update(sha256="", original_path="", size=None)

    printed, error = verify()

    assert printed == f"LOG-MISMATCH {items[0].code} row - log {items[0].sha256}\n"
    assert error is not None
    details = verifications(items[0])[0].details
    assert (details["result"], details["log"]) == ("no original", "mismatch")


def test_item_with_a_file_and_no_received_event_is_a_log_mismatch(items):
    """The received event is the last one: removing it leaves a chain that still
    verifies (no later event links to it), but not an item whose file has a source."""
    with triggers_dropped():
        raw(
            "DELETE FROM evidence_custodyevent WHERE item_id = %s AND sequence = 2",
            [items[0].pk],
        )
    assert custody.verify_chain(items[0]) == []

    printed, error = verify()

    assert printed == f"LOG-MISMATCH {items[0].code} row {items[0].sha256} log -\n"
    assert error is not None


def test_a_later_received_event_does_not_move_the_reference(items):
    """Appending is allowed, so a second 'received' event naming the new file
    must not make the swap pass: the first one is what arrived."""
    swapped = point_row_at(items[0], b"Field notes 1: nothing happened that day.\n")
    custody.record(items[0], CustodyEvent.Action.RECEIVED, observed_sha256=swapped)

    printed, error = verify()

    assert printed == f"LOG-MISMATCH {items[0].code} row {swapped} log {items[0].sha256}\n"
    assert error is not None


def test_only_the_named_items_are_checked(items):
    original(items[1]).unlink()

    printed, error = verify(items[0].code)

    assert (printed, error) == ("OK 1 items\n", None)
    assert len(verifications(items[0])) == 1
    assert verifications(items[1]) == []


def test_unknown_code_is_an_error_and_nothing_is_recorded(items):
    with pytest.raises(CommandError, match=r"^Unknown evidence code: EV-999999\.$") as raised:
        call_command("verify_evidence", items[0].code, "EV-999999", stdout=io.StringIO())

    assert raised.value.returncode == 1
    assert not CustodyEvent.objects.filter(action=CustodyEvent.Action.VERIFIED).exists()


def test_item_without_an_original_is_checked_for_its_chain_only(items):
    notes = EvidenceItem.objects.create(kind=EvidenceItem.Kind.TESTIMONY, title="Interview K-14")

    printed, error = verify()

    assert (printed, error) == ("OK 3 items\n", None)
    [event] = verifications(notes)
    assert event.sequence == 1
    assert event.details == {
        "result": "no original",
        "observed": "",
        "received": "",
        "log": "ok",
        "chain": "ok",
    }


def test_items_are_read_in_batches(researcher, monkeypatch):
    items = [ingest_text(researcher, n) for n in range(5)]
    monkeypatch.setattr(verify_evidence, "BATCH", 2)
    original(items[4]).unlink()  # the last item, in the last batch

    printed, error = verify()

    assert printed == f"MISSING {items[4].code}\n"
    assert str(error) == "1 problem(s) in 5 items."
    assert all(len(verifications(item)) == 1 for item in items)


def test_hashing_streams_in_chunks(tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"\x00\x01" * (storage.CHUNK + 7))  # two chunks and a bit

    assert fixity.sha256_of(big) == hashlib.sha256(big.read_bytes()).hexdigest()
    assert verify_evidence.sha256_of is fixity.sha256_of  # still importable from the command


# --- The exit status of the real process ----------------------------------------------


def database_url() -> str:
    """The URL of the database this test runs on (the test database, not the dev one)."""
    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)  # committed, so the process can see it
def test_exit_status_of_the_process():
    item = ingest_text(User.objects.create_user("verifier"))
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "TRACKER_DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": database_url(),
    }

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", "verify_evidence"],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    intact = run()
    flip_a_byte(original(item))
    tampered = run()

    assert (intact.returncode, intact.stdout) == (0, "OK 1 items\n")
    assert tampered.returncode == 1
    assert tampered.stdout.startswith(f"MISMATCH {item.code} expected {item.sha256} got ")
    assert "1 problem(s) in 1 items." in tampered.stderr
    # Both runs wrote to this test's database.
    assert [e.details["result"] for e in verifications(item)] == ["ok", "mismatch"]
