"""A failure at every step of intake leaves no orphan file and no row without its file.

Each test makes one real function of the intake path fail (monkeypatched to
raise, after doing its work where that is the point), then asks
``storage_audit`` (what ``manage.py check_storage`` prints) and
``verify_evidence`` what is left. Where a step cannot clean up after itself
(a caller's rolled-back transaction leaves its staged copy), the test shows
that check_storage reports it and ``--delete-orphans`` removes it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import IntegrityError, OperationalError, connection, transaction

from evidence import intake
from evidence.files import imaging, sniffing, storage, storage_audit
from evidence.models import CustodyEvent, Derivative, EvidenceItem
from evidence.tests.files import make_jpeg

pytestmark = pytest.mark.django_db


def ingest(data: bytes, user: User) -> intake.IngestResult:
    return intake.ingest(io.BytesIO(data), filename="IMG_0001.jpg", kind="photo", by=user)


def files(area: str) -> list[Path]:
    folder = Path(settings.DATA_DIR) / area
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def check_storage(*args: str) -> tuple[int, str]:
    """Run the command; return (exit status, output)."""
    out = io.StringIO()
    try:
        call_command("check_storage", *args, stdout=out)
    except CommandError as exc:
        return 1, out.getvalue() + str(exc)
    return 0, out.getvalue()


def verify_evidence() -> str:
    out = io.StringIO()
    call_command("verify_evidence", stdout=out)
    return out.getvalue()


def age(path: Path, seconds: float) -> None:
    past = path.stat().st_mtime - seconds
    os.utime(path, (past, past))


def assert_nothing_left() -> None:
    """No row, no stored file, no staged copy; check_storage has nothing to say."""
    assert not EvidenceItem.objects.exists()
    assert not CustodyEvent.objects.exists()
    assert files("originals") == files("derivatives") == files("staging") == []
    assert storage_audit.audit().findings == []
    assert check_storage() == (
        0,
        "OK: 0 missing, 0 missing-derivative, 0 orphan, 0 stale-staging, 0 staging, 0 removed.\n",
    )
    assert verify_evidence() == "OK 0 items\n"


def fail_with(error: BaseException):
    def fail(*args, **kwargs):
        raise error

    return fail


def run_then_fail(real, error: BaseException):
    """``real`` does its work (writes its file, inserts its row), then the step fails."""

    def fail(*args, **kwargs):
        real(*args, **kwargs)
        raise error

    return fail


# --- Before and around the storage write ---------------------------------------------

STEPS = {
    # While the upload is written to staging: its final fsync fails.
    "staging write": (storage.os, "fsync", lambda real: fail_with(OSError("injected: fsync"))),
    # The staged file is complete; the next step (type sniffing) fails.
    "after the staging write": (
        sniffing,
        "sniff",
        lambda real: fail_with(RuntimeError("injected: sniffing")),
    ),
    # Reading the EXIF claims, still before any row exists.
    "reading the photo's claims": (
        imaging,
        "read_photo_facts",
        lambda real: fail_with(RuntimeError("injected: EXIF")),
    ),
    # Inside the item's transaction, before the file is stored.
    "custody record": (
        intake.custody,
        "record",
        lambda real: fail_with(IntegrityError("injected: custody row refused")),
    ),
    # The original is linked into place, then the step reports a failure.
    "after the storage write": (
        storage,
        "promote",
        lambda real: run_then_fail(real, OSError("injected: after promotion")),
    ),
    # The last part of promotion: making the stored file read-only.
    "read-only mode of the stored file": (
        storage.os,
        "chmod",
        lambda real: fail_with(PermissionError("injected: chmod")),
    ),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_failure_at_each_step_leaves_nothing(step, researcher, monkeypatch):
    target, name, make = STEPS[step]
    monkeypatch.setattr(target, name, make(getattr(target, name)))

    with pytest.raises((OSError, RuntimeError, IntegrityError), match="injected"):
        ingest(make_jpeg(), researcher)
    monkeypatch.undo()  # check_storage and verify_evidence use the real functions

    assert_nothing_left()


@pytest.mark.django_db(transaction=True)
def test_failed_commit_leaves_nothing(monkeypatch):
    """Everything is written and the file promoted; then COMMIT itself fails (a
    full disk, a lost connection): the row is rolled back and the new file removed."""
    user = User.objects.create_user("committer")
    commits = []

    def commit_fails():
        commits.append("commit")
        raise OperationalError("injected: the disk filled up at COMMIT")

    monkeypatch.setattr(connection, "commit", commit_fails)
    assert not connection.in_atomic_block  # ingest's transaction is the real one

    with pytest.raises(OperationalError, match="injected"):
        ingest(make_jpeg(), user)
    monkeypatch.undo()

    assert commits == ["commit"]
    assert_nothing_left()


def test_a_failure_leaves_earlier_evidence_intact(researcher, monkeypatch):
    """A failure is confined to its own file: what was stored before stays intact."""
    kept = ingest(make_jpeg(colour=(1, 2, 3)), researcher).item
    real = storage.promote
    monkeypatch.setattr(storage, "promote", run_then_fail(real, OSError("injected")))

    with pytest.raises(OSError, match="injected"):
        ingest(make_jpeg(colour=(200, 2, 3)), researcher)
    monkeypatch.undo()

    assert list(EvidenceItem.objects.all()) == [kept]
    assert files("originals") == [storage.path_of(kept.original_path)]
    assert storage_audit.audit().findings == []
    assert verify_evidence() == "OK 1 items\n"


# --- A caller's transaction -----------------------------------------------------------


def test_callers_rollback_leaves_only_a_staged_copy_that_check_storage_removes(researcher):
    """Inside a caller's transaction the file is promoted on commit; a rollback
    therefore leaves no original, only the staged copy (no row can point at
    staging). check_storage lists it as an upload in progress, as stale once it
    is older than STAGING_MAX_AGE, and --delete-orphans removes it."""
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest(make_jpeg(), researcher)
        raise RuntimeError("a later step of the same request failed")

    assert not EvidenceItem.objects.exists()
    assert files("originals") == []
    [staged] = files("staging")
    key = f"staging/{staged.name}"
    assert storage_audit.audit().findings == [storage_audit.Finding("staging", key)]
    assert check_storage()[0] == 0  # an upload in progress is not a problem

    age(staged, storage.STAGING_MAX_AGE + 60)
    status, output = check_storage()
    assert status == 1
    assert f"STALE-STAGING {key}" in output

    status, output = check_storage("--delete-orphans")
    assert status == 0
    assert f"REMOVED {key}" in output
    assert_nothing_left()


@pytest.mark.django_db(transaction=True)
def test_promotion_failing_after_the_callers_commit_is_reported_as_missing(monkeypatch):
    """The one step after which a row can point at a missing file: the caller's
    transaction committed and only then could the file not be put in place. The
    staged copy is kept; check_storage reports both."""
    user = User.objects.create_user("caller")
    monkeypatch.setattr(storage, "promote", fail_with(OSError("injected: link failed")))

    with pytest.raises(OSError, match="injected"), transaction.atomic():
        item = ingest(make_jpeg(), user).item
    monkeypatch.undo()

    assert EvidenceItem.objects.filter(pk=item.pk).exists()  # committed
    [staged] = files("staging")
    assert staged.name == item.sha256 + storage.KEPT
    assert storage_audit.audit().findings == [
        storage_audit.Finding("missing", item.original_path, item.code),
        storage_audit.Finding("staging", f"staging/{staged.name}"),
    ]
    assert check_storage()[0] == 1
    # The staged copy still holds the received bytes, and is never removed: not by
    # the sweep every upload runs, not by check_storage while the original is missing.
    assert hashlib.sha256(staged.read_bytes()).hexdigest() == item.sha256
    age(staged, storage.STAGING_MAX_AGE + 60)
    assert storage.sweep_staging() == 0
    ingest(make_jpeg(colour=(9, 9, 9)), user)  # another upload, which sweeps staging
    assert staged.exists()
    status, output = check_storage("--delete-orphans", "--min-age", "0")
    assert status == 1
    assert f"STALE-STAGING {item.code} staging/{staged.name}" in output
    assert staged.exists()


# --- Derivatives, after the item's commit -----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_derivative_failure_keeps_the_item_and_original_and_flags_it(monkeypatch):
    user = User.objects.create_user("photographer")
    monkeypatch.setattr(
        imaging, "make_derivatives", fail_with(imaging.DerivativeFailed("injected: decoder"))
    )

    item = ingest(make_jpeg(), user).item  # derivation runs after this commit
    monkeypatch.undo()

    item.refresh_from_db()
    assert item.derivative_problem == "injected: decoder"
    assert not Derivative.objects.exists()
    assert files("originals") == [storage.path_of(item.original_path)]
    assert storage_audit.audit().findings == []
    assert verify_evidence() == "OK 1 items\n"


@pytest.mark.django_db(transaction=True)
def test_failure_writing_a_derivative_leaves_no_row_without_its_file(monkeypatch, caplog):
    """The second rendition cannot be written: the derivative rows roll back, the
    item and its original stay, flagged, and the rendition already written is
    removed, so no orphan is left."""
    user = User.objects.create_user("photographer")
    real = storage.write_derivative
    calls = []

    def second_write_fails(key, data):
        calls.append(key)
        if len(calls) == 2:
            raise OSError("injected: no space left for the thumbnail")
        real(key, data)

    monkeypatch.setattr(storage, "write_derivative", second_write_fails)
    with caplog.at_level(logging.ERROR):
        item = ingest(make_jpeg(), user).item
    monkeypatch.undo()

    item.refresh_from_db()
    assert not Derivative.objects.exists()
    assert files("originals") == [storage.path_of(item.original_path)]
    assert verify_evidence() == "OK 1 items\n"
    # Flagged on the item, and the rendition already written was removed again.
    assert "could not store" in item.derivative_problem
    assert files("derivatives") == []
    assert storage_audit.audit().findings == []


@pytest.mark.django_db(transaction=True)
def test_failure_writing_a_derivative_flags_the_item(monkeypatch):
    user = User.objects.create_user("photographer")
    monkeypatch.setattr(storage, "write_derivative", fail_with(OSError("injected: disk full")))

    item = ingest(make_jpeg(), user).item
    monkeypatch.undo()

    item.refresh_from_db()
    assert "could not store" in item.derivative_problem
    assert not Derivative.objects.filter(item=item).exists()
    assert storage_audit.audit().findings == []  # no orphan derivative left behind


# --- check_storage itself ------------------------------------------------------------


@pytest.fixture
def stored(researcher, django_capture_on_commit_callbacks) -> list[EvidenceItem]:
    """Two photos with their derivatives."""
    with django_capture_on_commit_callbacks(execute=True):
        items = [ingest(make_jpeg(colour=(n * 90, 20, 20)), researcher).item for n in (1, 2)]
    assert Derivative.objects.count() == 4
    return items


def plant_orphan(data: bytes = b"left behind") -> str:
    key = storage.original_key(hashlib.sha256(data).hexdigest())
    path = storage.path_of(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return key


def test_check_storage_lists_each_kind_of_problem(stored):
    first, second = stored
    storage.path_of(first.original_path).unlink()
    thumbnail = second.derivatives.get(kind="thumbnail")
    storage.path_of(thumbnail.path).unlink()
    orphan = plant_orphan()
    staging = Path(settings.DATA_DIR) / "staging"
    staging.mkdir(exist_ok=True)
    (staging / "abandoned").write_bytes(b"half an upload")
    age(staging / "abandoned", storage.STAGING_MAX_AGE + 60)

    report = storage_audit.audit()
    status, output = check_storage()

    assert sorted(map(str, report.findings)) == sorted(
        [
            f"ORPHAN {orphan}",
            f"MISSING {first.code} {first.original_path}",
            f"MISSING-DERIVATIVE {second.code} {thumbnail.path}",
            "STALE-STAGING staging/abandoned",
        ]
    )
    assert report.problems == 4
    assert status == 1
    assert "4 problem(s): 1 missing, 1 missing-derivative, 1 orphan, 1 stale-staging" in output
    assert storage.path_of(orphan).exists()  # listing removes nothing


def test_delete_orphans_removes_only_old_orphans_no_row_points_at(stored, caplog):
    old, young = plant_orphan(b"old"), plant_orphan(b"young")
    age(storage.path_of(old), storage.STAGING_MAX_AGE + 60)
    by_hand = Path(settings.DATA_DIR) / "originals" / "notes.txt"  # not a storage key
    by_hand.write_text("kept by someone")
    age(by_hand, storage.STAGING_MAX_AGE + 60)
    held = [storage.path_of(item.original_path) for item in stored]
    for path in held:
        age(path, storage.STAGING_MAX_AGE + 60)

    with caplog.at_level(logging.WARNING, logger="evidence.files.storage_audit"):
        status, output = check_storage("--delete-orphans")

    assert status == 1  # the young orphan and the file put there by hand remain
    assert f"REMOVED {old}" in output
    assert f"ORPHAN {young}" in output and "ORPHAN originals/notes.txt" in output
    assert not storage.path_of(old).exists()
    assert storage.path_of(young).exists() and by_hand.exists()
    assert all(path.exists() for path in held)
    assert [r.getMessage() for r in caplog.records] == [
        f"check_storage removed {old}, which no row points at"
    ]
    assert verify_evidence() == "OK 2 items\n"


def test_a_row_committed_during_the_scan_keeps_its_file(stored, monkeypatch):
    """The held set of a prefix is read once; a row committed after that must
    still protect its file: the database is asked again before each removal."""
    monkeypatch.setattr(storage_audit, "_held_originals", lambda prefix: set())

    report = storage_audit.audit(delete_orphans=True, min_age=0)

    assert report.of("removed") == []
    assert all(storage.path_of(item.original_path).exists() for item in stored)
    assert verify_evidence() == "OK 2 items\n"
