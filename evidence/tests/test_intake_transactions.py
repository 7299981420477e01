"""evidence.intake: the row and its file come and go together. A failure after the file
is in place, or a caller's rollback, leaves no file without its row; inside a caller's
transaction the file arrives with the commit, and a promotion failing after that commit
says where the received bytes were kept.

Files are generated here (Pillow, bytes literals); nothing binary is kept in git.
"""

from __future__ import annotations

import hashlib
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction

from evidence import intake
from evidence.files import custody, derivation, storage
from evidence.models import CustodyEvent, EvidenceItem, PhotoMetadata
from evidence.tests.files import make_jpeg, make_png
from evidence.tests.intake_helpers import assert_nothing_stored, ingest, originals, staging
from tracker.models import Job

pytestmark = pytest.mark.django_db


# --- Failures after the file is in place ------------------------------------------------


def test_failure_after_promotion_leaves_no_row_and_no_file(researcher, monkeypatch):
    real_promote = storage.promote

    def promote_then_fail(staged):
        real_promote(staged)
        raise OSError("disk went away after the link")

    monkeypatch.setattr(intake.storage, "promote", promote_then_fail)

    with pytest.raises(OSError, match="disk went away"):
        ingest(make_jpeg(), by=researcher)
    assert_nothing_stored()


def test_failure_setting_read_only_mode_leaves_no_file(researcher, monkeypatch):
    """os.chmod is the last step of promotion; if it fails the new link must go."""

    def chmod_fails(path, mode, *args, **kwargs):
        raise PermissionError(f"cannot chmod {path}")

    monkeypatch.setattr(storage.os, "chmod", chmod_fails)

    with pytest.raises(PermissionError):
        ingest(make_jpeg(), by=researcher)
    assert_nothing_stored()


def test_failure_in_custody_record_leaves_nothing(researcher, monkeypatch):
    real_record = custody.record
    calls = []

    def record_then_fail(item, action, **kwargs):
        calls.append(action)
        if action == CustodyEvent.Action.RECEIVED:
            raise IntegrityError("injected: custody table refused the row")
        return real_record(item, action, **kwargs)

    monkeypatch.setattr(intake.custody, "record", record_then_fail)

    with pytest.raises(IntegrityError, match="injected"):
        ingest(make_jpeg(), by=researcher)
    assert calls == ["acquired", "received"]
    assert_nothing_stored()
    assert not PhotoMetadata.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_commit_failure_after_promotion_removes_the_new_file(monkeypatch):
    """The promotion is the last step inside the transaction; if COMMIT then
    fails (here: a deferred foreign key checked only at commit), the new file
    must be removed again so no file is left without a row."""
    real_promote = storage.promote

    def promote_then_poison_commit(staged):
        promoted = real_promote(staged)
        assert Path(settings.DATA_DIR, promoted[0]).exists()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO evidence_derivative "
                "(item_id, kind, path, media_type, width, height, sha256, created_at) "
                "VALUES (%s, 'preview', 'x', 'image/jpeg', 1, 1, %s, %s)",
                [987654321, "0" * 64, datetime.now(UTC)],
            )
        return promoted

    monkeypatch.setattr(intake.storage, "promote", promote_then_poison_commit)
    # Personas need the seeded groups, which transactional tests may have flushed.
    researcher = User.objects.create_user("researcher-tx", password="correct-horse-battery")
    assert connection.in_atomic_block is False  # ingest's transaction is the real one

    with pytest.raises(IntegrityError):
        ingest(make_jpeg(), by=researcher)
    assert_nothing_stored()


def test_caller_rolling_back_after_ingest_leaves_no_file_without_a_row(researcher):
    """The admin's add view runs in a request-wide transaction; a later failure
    in the same request rolls back the item, and must not leave its file."""
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest(make_jpeg(), by=researcher)
        raise RuntimeError("a later step of the same request failed")
    assert not EvidenceItem.objects.exists()
    assert originals() == []


def test_inside_a_callers_transaction_the_file_arrives_with_the_commit(
    researcher, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        item = ingest(make_jpeg(), by=researcher).item
        assert originals() == []  # not before the caller's commit
    assert originals() == [storage.path_of(item.original_path)]
    assert staging() == []


def test_old_staging_leftovers_are_swept(researcher):
    staging = settings.DATA_DIR / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    old, fresh = staging / "left-over", staging / "in-flight"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    past = old.stat().st_mtime - storage.STAGING_MAX_AGE - 60
    os.utime(old, (past, past))
    ingest(make_png(), by=researcher, filename="chart.png")
    assert not old.exists() and fresh.exists()


# --- Mutation survivors (make mutate) ---------------------------------------------------


def fail_promotion(monkeypatch) -> None:
    def promote_fails(staged):
        raise OSError("injected: link failed")

    monkeypatch.setattr(intake.storage, "promote", promote_fails)


def ingest_in_callers_transaction(data: bytes, *, by, capture) -> EvidenceItem:
    """Ingest inside a caller's transaction; the deferred promotion runs at its commit."""
    with (
        pytest.raises(OSError, match="injected: link failed"),
        capture(execute=True),
        transaction.atomic(),
    ):
        item = ingest(data, by=by).item
    return item


def critical_messages(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "evidence.intake" and r.levelno == logging.CRITICAL
    ]


def test_a_promotion_failing_after_commit_is_logged_with_the_hash_and_the_kept_copy(
    researcher, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    """The operator must learn which original is missing and where its bytes are."""
    fail_promotion(monkeypatch)
    with caplog.at_level(logging.CRITICAL, logger="evidence.intake"):
        item = ingest_in_callers_transaction(
            make_jpeg(), by=researcher, capture=django_capture_on_commit_callbacks
        )

    [kept] = staging()
    assert kept.name == item.sha256 + storage.KEPT
    assert critical_messages(caplog) == [
        f"could not store the original {item.sha256} after commit; the received bytes are in {kept}"
    ]


def test_a_staged_copy_that_cannot_be_kept_is_named_where_it_lies(
    researcher, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    """If even marking the staged copy as kept fails, the promotion's own error is
    raised (not the marking's) and the log names the staged copy as it is."""
    fail_promotion(monkeypatch)

    def keep_fails(self):
        raise OSError("injected: rename failed")

    monkeypatch.setattr(storage.StagedFile, "keep", keep_fails)
    with caplog.at_level(logging.CRITICAL, logger="evidence.intake"):
        item = ingest_in_callers_transaction(
            make_jpeg(), by=researcher, capture=django_capture_on_commit_callbacks
        )

    [staged] = staging()
    assert hashlib.sha256(staged.read_bytes()).hexdigest() == item.sha256
    [message] = critical_messages(caplog)
    assert item.sha256 in message
    assert str(staged) in message


def test_where_the_received_bytes_can_be_read(researcher, django_capture_on_commit_callbacks):
    """At once: the stored original; inside a caller's transaction: the staged copy,
    until the commit puts the original in place."""
    data = make_jpeg()
    direct = ingest(data, by=researcher)
    assert direct.received == storage.path_of(direct.item.original_path)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        deferred = ingest(make_png(), by=researcher, filename="chart.png")
        assert deferred.received.parent == Path(settings.DATA_DIR) / "staging"
        assert deferred.received.read_bytes() == make_png()


def test_a_failing_derivation_never_reaches_the_code_that_committed(
    researcher, monkeypatch, django_capture_on_commit_callbacks
):
    """Derivatives are background work asked for after the commit; a failure there
    (even an unexpected one) leaves the item and its original in place, and the job
    queued for another attempt with its error (tracker.jobs)."""

    def derive_fails(item, *, by=None, waiting=None):
        raise RuntimeError("injected: derivation bug")

    monkeypatch.setattr(derivation, "derive", derive_fails)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        item = ingest(make_jpeg(), by=researcher).item

    assert len(callbacks) == 1  # the derivation was attempted
    assert EvidenceItem.objects.get() == item
    assert originals() == [storage.path_of(item.original_path)]
    job = Job.objects.get(kind=Job.Kind.DERIVATIVES, target=item.code)
    assert (job.state, job.attempts) == (Job.State.QUEUED, 1)
    assert job.error == "RuntimeError: injected: derivation bug"


@pytest.mark.parametrize("when", ["before promotion", "after promotion"])
def test_a_failing_ingest_never_removes_a_file_it_did_not_create(researcher, monkeypatch, when):
    """Only a file this call put in place is removed on failure: one already at the
    content address (left by a crash, or the original of a row pointed elsewhere) is
    for check_storage and a person to decide on."""
    data = make_jpeg()
    there = storage.path_of(storage.original_key(hashlib.sha256(data).hexdigest()))
    there.parent.mkdir(parents=True)
    there.write_bytes(data)
    if when == "before promotion":

        def record_fails(item, action, **kwargs):
            raise RuntimeError("injected: custody")

        monkeypatch.setattr(intake.custody, "record", record_fails)
    else:
        real_promote = storage.promote

        def promote_then_fail(staged):
            assert real_promote(staged)[1] is False  # the file was already there
            raise RuntimeError("injected: after promotion")

        monkeypatch.setattr(intake.storage, "promote", promote_then_fail)

    with pytest.raises(RuntimeError, match="injected"):
        ingest(data, by=researcher)

    assert not EvidenceItem.objects.exists()
    assert originals() == [there]
    assert there.read_bytes() == data
