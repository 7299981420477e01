"""An intake process killed with SIGKILL: nothing half-stored, verify_evidence OK.

A SIGKILL runs no cleanup code at all, so what is left is exactly what the
order of intake's steps guarantees. The process ingests through the real
intake in a separate interpreter, on this test's database and data directory
(committed data: transactional tests).
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command

from evidence import intake
from evidence.files import storage, storage_audit
from evidence.files.tests.test_verify_evidence import database_url
from evidence.models import EvidenceItem
from evidence.tests.files import make_jpeg

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024
STREAMED = 8 * MiB  # sent before the kill; the upload itself never ends
KILL_AFTER = 2 * MiB  # staged bytes seen on disk before the kill

# Ingests its standard input (an upload still arriving), as the admin streams one.
UPLOAD = """
import sys, django
django.setup()
from django.contrib.auth.models import User
from evidence import intake
intake.ingest(sys.stdin.buffer, filename="drone-footage.mp4", kind="video",
              by=User.objects.get(username=sys.argv[1]))
"""

# Ingests a file, but stops for good right after the original is linked into
# place, before the row is committed: the moment a kill costs the most.
STOP_AFTER_PROMOTION = """
import sys, time, django
django.setup()
from django.contrib.auth.models import User
from evidence import intake
from evidence.files import storage
real_promote = storage.promote
def promote_then_stop(staged):
    real_promote(staged)
    print("promoted", flush=True)
    time.sleep(300)
storage.promote = promote_then_stop
with open(sys.argv[2], "rb") as stream:
    intake.ingest(stream, filename="IMG_0002.jpg", kind="photo",
                  by=User.objects.get(username=sys.argv[1]))
"""


def start(script: str, *args: str, **popen) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "TRACKER_DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": database_url(),
    }
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], cwd=settings.BASE_DIR, env=env, **popen
    )


def kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def staged_files() -> list[Path]:
    folder = Path(settings.DATA_DIR) / "staging"
    return sorted(folder.iterdir()) if folder.exists() else []


def wait_for_staged_bytes(process: subprocess.Popen, size: int, timeout: float = 60) -> Path:
    """Poll until a staged file holds at least ``size`` bytes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        for path in staged_files():
            if path.stat().st_size >= size:
                return path
        time.sleep(0.01)
    raise AssertionError(f"no staged file reached {size} bytes")


def verify_evidence() -> str:
    out = io.StringIO()
    call_command("verify_evidence", stdout=out)
    return out.getvalue()


@pytest.fixture
def user() -> User:
    return User.objects.create_user("uploader")


@pytest.fixture
def earlier(user) -> EvidenceItem:
    """Evidence already held before the killed upload: it must come through intact."""
    return intake.ingest(
        io.BytesIO(make_jpeg()), filename="IMG_0001.jpg", kind="photo", by=user
    ).item


def stream_upload(pipe, stop: threading.Event) -> None:
    """Send STREAMED bytes of the upload, then hold the connection open until the kill."""
    chunk = bytes(range(256)) * 4096  # 1 MiB
    try:
        for _ in range(STREAMED // len(chunk)):
            pipe.write(chunk)
            pipe.flush()
        stop.wait(60)
    except BrokenPipeError:
        pass


def test_killed_while_staging_leaves_only_a_staged_partial_upload(user, earlier):
    process = start(
        UPLOAD,
        user.username,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    killed = threading.Event()
    sender = threading.Thread(target=stream_upload, args=(process.stdin, killed))
    sender.start()
    try:
        partial = wait_for_staged_bytes(process, KILL_AFTER)
        kill(process)
    finally:
        killed.set()
        sender.join(timeout=30)
        process.stdin.close()
        process.stderr.close()

    assert KILL_AFTER <= partial.stat().st_size <= STREAMED
    assert list(EvidenceItem.objects.all()) == [earlier]
    stored = [p for p in storage.root().joinpath("originals").rglob("*") if p.is_file()]
    assert stored == [storage.path_of(earlier.original_path)]
    assert verify_evidence() == "OK 1 items\n"
    # Only the partial upload is left, and it is listed as such (it might be an
    # upload in progress until it is older than STAGING_MAX_AGE).
    key = f"staging/{partial.name}"
    assert storage_audit.audit().findings == [storage_audit.Finding("staging", key)]

    past = time.time() - storage.STAGING_MAX_AGE - 60
    os.utime(partial, (past, past))
    assert storage_audit.audit().findings == [storage_audit.Finding("stale-staging", key)]
    assert storage_audit.audit(delete_orphans=True).of("removed") == [
        storage_audit.Finding("removed", key)
    ]
    assert storage_audit.audit().findings == []
    # The store and the database take the next upload as usual.
    again = intake.ingest(io.BytesIO(b"notes\n"), filename="n.txt", kind="document", by=user)
    assert again.item.code == "EV-000002"


def test_killed_between_storing_the_file_and_committing_leaves_a_reported_orphan(
    user, earlier, tmp_path
):
    """The one kill that leaves a file: the original is in place, its row never
    committed. No row points at it (harmless); check_storage reports it and
    --delete-orphans removes it."""
    photo = tmp_path / "IMG_0002.jpg"
    photo.write_bytes(make_jpeg(colour=(20, 160, 20)))
    process = start(
        STOP_AFTER_PROMOTION,
        user.username,
        str(photo),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline() == "promoted\n", process.stderr.read()
        kill(process)
    finally:
        process.stdout.close()
        process.stderr.close()

    assert list(EvidenceItem.objects.all()) == [earlier]
    assert verify_evidence() == "OK 1 items\n"
    orphan = storage.original_key(hashlib.sha256(photo.read_bytes()).hexdigest())
    [staged] = staged_files()  # the process never got to discard its staged copy
    assert storage_audit.audit().findings == [
        storage_audit.Finding("orphan", orphan),
        storage_audit.Finding("staging", f"staging/{staged.name}"),
    ]

    out = io.StringIO()
    call_command("check_storage", "--delete-orphans", "--min-age", "0", stdout=out)
    assert f"REMOVED {orphan}" in out.getvalue()
    assert storage_audit.audit().findings == []
    assert verify_evidence() == "OK 1 items\n"
