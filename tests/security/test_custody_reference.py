"""The custody log, not the item's row, says which bytes an item is (issue 14, F).

The attack: someone with database and disk access writes a new file into
``originals/`` and points an item's ``sha256``, ``original_path`` and ``size`` at
it. The new file matches the row perfectly; only the item's ``received``
custody event, sealed in the hash chain, still names the file that arrived.
Verification must fail, the real original must not become a removable orphan,
and no download may hand out bytes the log did not receive, or record that it
did.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse

from evidence import intake
from evidence.files import storage
from evidence.files.fixity import FixityError
from evidence.files.tests.test_verify_evidence import point_row_at
from evidence.models import CustodyEvent, EvidenceItem
from evidence.tests.files import make_jpeg

pytestmark = pytest.mark.django_db

PLANTED = b"Field notes: the market was empty and nothing happened that day.\n"
# Over two storage chunks, so an altered file is cut off mid-stream.
LONG_NOTES = b"".join(
    f"Line {n:07d}: two aircraft circled the market before the strike.\n".encode()
    for n in range(int(2.5 * storage.CHUNK) // 64)
)


def ingest(data: bytes, by: User, *, kind: str = "photo") -> EvidenceItem:
    return intake.ingest(io.BytesIO(data), filename="upload", kind=kind, by=by).item


def stored(key: str) -> Path:
    return storage.path_of(key)


def downloads_of(item: EvidenceItem) -> list[CustodyEvent]:
    return list(item.custody_events.filter(action=CustodyEvent.Action.DOWNLOADED))


def critical(caplog) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "evidence.files.custody" and record.levelno == logging.CRITICAL
    ]


def check_storage(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("check_storage", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def item(researcher) -> EvidenceItem:
    return ingest(make_jpeg(), researcher)


@pytest.fixture
def swapped(item) -> EvidenceItem:
    """``item`` after the attack; ``item`` itself keeps the values as received."""
    point_row_at(item, PLANTED)
    return EvidenceItem.objects.get(pk=item.pk)


# --- verify_evidence --------------------------------------------------------------------


def test_swapped_original_fails_verification_with_exit_status_1(item, swapped):
    assert hashlib.sha256(stored(swapped.original_path).read_bytes()).hexdigest() == swapped.sha256
    out = io.StringIO()

    # manage.py exits with the error's returncode (the real process: test_verify_evidence).
    with pytest.raises(CommandError, match=r"^1 problem\(s\) in 1 items\.$") as failed:
        call_command("verify_evidence", stdout=out)

    assert failed.value.returncode == 1
    # The planted file matches the row; the real original, named by the log, is intact.
    assert out.getvalue() == f"LOG-MISMATCH {item.code} row {swapped.sha256} log {item.sha256}\n"


# --- check_storage ----------------------------------------------------------------------


def test_check_storage_keeps_the_original_the_log_names(item, swapped):
    real = stored(item.original_path)
    week_ago = time.time() - 7 * 24 * 3600
    os.utime(real, (week_ago, week_ago))  # old enough for --delete-orphans to take it

    status, output = check_storage()

    assert status == 1
    assert f"ORPHAN {item.original_path}" not in output
    assert (
        f"LOGGED-ONLY {item.code} {item.original_path} "
        f"(named by the custody log of {item.code}, not by its row)\n"
    ) in output

    status, output = check_storage("--delete-orphans")

    assert status == 1
    assert "REMOVED" not in output
    assert hashlib.sha256(real.read_bytes()).hexdigest() == item.sha256
    assert stored(swapped.original_path).is_file()  # the row's file is not touched either


def test_stale_staged_copy_of_the_bytes_the_log_names_is_kept(item, swapped):
    """The real original is gone too; a leftover staged copy of its bytes is then
    the only one left, and no row points at that hash any more."""
    real = stored(item.original_path)
    data = real.read_bytes()
    real.unlink()
    staged = storage.stage(io.BytesIO(data))
    long_ago = time.time() - 2 * storage.STAGING_MAX_AGE
    os.utime(staged.path, (long_ago, long_ago))

    status, output = check_storage("--delete-orphans")

    assert status == 1
    assert f"STALE-STAGING {item.code} staging/{staged.path.name}\n" in output
    assert staged.path.read_bytes() == data


# --- Downloads --------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "/protected"], ids=["direct", "nginx"])
def test_download_of_a_swapped_item_is_withheld_and_logged(
    client, researcher, item, swapped, settings, caplog, prefix
):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = prefix
    client.force_login(researcher)

    with caplog.at_level(logging.CRITICAL, logger="evidence.files.custody"):
        response = client.get(reverse("evidence:original", args=[item.code]))

    assert response.status_code == 409
    assert not response.streaming
    assert PLANTED not in response.content
    assert "X-Accel-Redirect" not in response
    assert "attachment" not in response.get("Content-Disposition", "")
    [message] = critical(caplog)
    assert item.code in message
    assert swapped.sha256 in message and item.sha256 in message
    assert downloads_of(item) == []


@pytest.mark.parametrize("prefix", ["", "/protected"], ids=["direct", "nginx"])
def test_download_records_the_hash_of_what_was_served(client, reviewer, item, settings, prefix):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = prefix
    client.force_login(reviewer)

    response = client.get(reverse("evidence:original", args=[item.code]))
    body = b"".join(response.streaming_content) if response.streaming else response.content

    assert response.status_code == 200
    if not prefix:
        assert hashlib.sha256(body).hexdigest() == item.sha256
    [event] = downloads_of(item)
    assert event.observed_sha256 == item.sha256
    assert event.actor == reviewer
    assert event.details["result"] == "verified"


@pytest.mark.parametrize(
    ("data", "kind"), [(make_jpeg(), "photo"), (LONG_NOTES, "document")], ids=["small", "long"]
)
def test_file_altered_on_disk_is_cut_off_before_its_end(client, researcher, caplog, data, kind):
    """Row and log agree; the bytes at the address changed (same length). Headers
    are sent before the end is read, so the answer is 200, but the last chunk
    never leaves: the client holds less than Content-Length announced."""
    item = ingest(data, researcher, kind=kind)
    path = stored(item.original_path)
    path.chmod(0o640)
    altered = bytearray(data)
    altered[len(altered) // 2] ^= 0x01
    path.write_bytes(bytes(altered))
    client.force_login(researcher)

    response = client.get(reverse("evidence:original", args=[item.code]))
    received = bytearray()
    with (
        caplog.at_level(logging.CRITICAL, logger="evidence.files.custody"),
        pytest.raises(FixityError),
    ):
        for chunk in response.streaming_content:
            received += chunk

    assert response.status_code == 200
    assert response["Content-Length"] == str(len(data))
    last_chunk = len(data) % storage.CHUNK or storage.CHUNK
    assert len(received) == len(data) - last_chunk  # nothing at all for a one-chunk file
    assert bytes(received) == bytes(altered[: len(received)])
    [message] = critical(caplog)
    assert item.code in message
    [event] = downloads_of(item)
    assert event.details["result"] == "aborted"
    assert event.details["sent"] == len(received)
    assert event.observed_sha256 == hashlib.sha256(altered).hexdigest() != item.sha256


def test_file_altered_on_disk_is_not_handed_to_nginx(client, researcher, item, settings, caplog):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    path = stored(item.original_path)
    path.chmod(0o640)
    path.write_bytes(PLANTED)
    client.force_login(researcher)

    with caplog.at_level(logging.CRITICAL, logger="evidence.files.custody"):
        response = client.get(reverse("evidence:original", args=[item.code]))

    assert response.status_code == 409
    assert "X-Accel-Redirect" not in response
    assert [item.code in message for message in critical(caplog)] == [True]
    assert downloads_of(item) == []
