"""export_bag: a refusal or a failure writes nothing: no bag or partial bag, the out
directory left as it was, no exported custody event; a bag written is committed
together with its events.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import bagit
import pytest
from django.core.management.base import CommandError

from evidence.files import bagging, custody, storage
from evidence.files.tests.bag_helpers import assert_nothing_exported, export, exported_events
from evidence.models import EvidenceItem

pytestmark = pytest.mark.django_db


# --- Refusals: nothing written ---------------------------------------------------------------


def test_non_empty_out_dir_is_refused_and_left_alone(case, tmp_path):
    out = tmp_path / "bag"
    out.mkdir()
    (out / "earlier-work.txt").write_text("keep me")

    with pytest.raises(CommandError, match="already exists and is not an empty directory"):
        export("--incident", case["incident"].code, str(out))

    assert [p.name for p in out.iterdir()] == ["earlier-work.txt"]
    assert (out / "earlier-work.txt").read_text() == "keep me"
    assert_nothing_exported(tmp_path, {"data", "bag"})


def test_out_dir_that_is_a_file_is_refused(case, tmp_path):
    out = tmp_path / "bag"
    out.write_text("a file")

    with pytest.raises(CommandError, match="already exists and is not an empty directory"):
        export("--incident", case["incident"].code, str(out))
    assert out.read_text() == "a file"


def test_empty_out_dir_is_used(case, tmp_path):
    out = tmp_path / "bag"
    out.mkdir()

    export("--incident", case["incident"].code, str(out))

    assert bagit.Bag(str(out)).is_valid()


def test_unknown_incident_is_refused(case, tmp_path):
    out = tmp_path / "bag"

    with pytest.raises(CommandError, match="No incident with code INC-9999; nothing was exported"):
        export("--incident", case["incident"].code, "--incident", "inc-9999", str(out))

    assert_nothing_exported(tmp_path, {"data"})


def test_unknown_user_is_refused(case, tmp_path):
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        export("--incident", case["incident"].code, "--user", "ghost", str(tmp_path / "bag"))
    assert_nothing_exported(tmp_path, {"data"})


def test_failure_midway_leaves_no_partial_bag(case, tmp_path, monkeypatch):
    real_copy = bagging._copy_original
    copied = []

    def copy_then_fail(item, target):
        if copied:
            raise OSError(28, "No space left on device")
        copied.append(item.code)
        real_copy(item, target)

    monkeypatch.setattr(bagging, "_copy_original", copy_then_fail)

    with pytest.raises(CommandError, match="The bag could not be written: .*No space left"):
        export("--incident", case["incident"].code, str(tmp_path / "bag"))

    assert copied  # the failure came after something had been written
    assert_nothing_exported(tmp_path, {"data"})


def test_failure_recording_custody_removes_the_finished_bag(case, tmp_path, monkeypatch):
    real_record = custody.record
    recorded = []

    def record_then_fail(item, action, **kwargs):
        if recorded:
            raise RuntimeError("injected: custody table refused the row")
        recorded.append(real_record(item, action, **kwargs))

    monkeypatch.setattr(bagging.custody, "record", record_then_fail)
    out = tmp_path / "bag"
    out.mkdir()  # an empty directory given: it is left as it was

    with pytest.raises(RuntimeError, match="injected"):
        bagging.export_bag([case["incident"]], out, by=None)

    assert recorded  # one event was written, then rolled back
    assert_nothing_exported(tmp_path, {"data", "bag"})
    assert list(out.iterdir()) == []


def test_failure_of_the_final_rename_rolls_back_the_events(case, tmp_path, monkeypatch):
    out = tmp_path / "bag"
    real_rename = os.rename

    def rename_fails(src, dst):
        if Path(dst) == out:
            raise OSError(39, "Directory not empty")
        return real_rename(src, dst)

    monkeypatch.setattr(bagging.os, "rename", rename_fails)

    with pytest.raises(bagging.ExportError, match="Directory not empty"):
        bagging.export_bag([case["incident"]], out, by=None)

    assert_nothing_exported(tmp_path, {"data"})


def test_tampered_original_is_refused(case, tmp_path):
    path = storage.path_of(case["wide"].original_path)
    os.chmod(path, 0o640)
    path.write_bytes(path.read_bytes() + b"\x00")

    with pytest.raises(CommandError, match=f"original of {case['wide'].code} no longer matches"):
        export("--incident", case["incident"].code, str(tmp_path / "bag"))
    assert_nothing_exported(tmp_path, {"data"})


def test_swapped_original_is_refused(case, tmp_path):
    """A row pointed at a planted file (issue 14, F): the bag would carry the planted bytes
    with a matching manifest; the custody log, which received other bytes, refuses it."""
    planted = b"planted bytes, not what was received"
    sha = hashlib.sha256(planted).hexdigest()
    key = storage.original_key(sha)
    storage.path_of(key).parent.mkdir(parents=True, exist_ok=True)
    storage.path_of(key).write_bytes(planted)
    EvidenceItem.objects.filter(pk=case["wide"].pk).update(
        sha256=sha, original_path=key, size=len(planted)
    )

    with pytest.raises(CommandError, match=f"{case['wide'].code}'s record names another file"):
        export("--incident", case["incident"].code, str(tmp_path / "bag"))
    assert_nothing_exported(tmp_path, {"data"})


def test_missing_original_is_refused(case, tmp_path):
    storage.path_of(case["wide"].original_path).unlink()

    with pytest.raises(CommandError, match=f"original of {case['wide'].code} is missing"):
        export("--incident", case["incident"].code, str(tmp_path / "bag"))
    assert_nothing_exported(tmp_path, {"data"})


def test_custody_chain_that_does_not_verify_is_refused(case, tmp_path, monkeypatch):
    """As if an event had been edited in the database: its hash no longer matches."""
    code = case["interview"].code
    real_digest = custody.event_digest

    def digest(event, item_code):
        value = real_digest(event, item_code)
        return "0" * 64 if item_code == code and event.sequence == 2 else value

    monkeypatch.setattr(bagging.custody, "event_digest", digest)

    expected = rf"custody chain of {code} does not verify \(event 2: content does not match"
    with pytest.raises(CommandError, match=expected):
        export("--incident", case["incident"].code, str(tmp_path / "bag"))
    assert_nothing_exported(tmp_path, {"data"})


@pytest.mark.django_db(transaction=True)
def test_events_and_bag_are_committed_together(case, researcher, tmp_path):
    """Outside a test transaction: the events really commit, and the bag is in place."""
    out = tmp_path / "bag"

    result = bagging.export_bag([case["incident"]], out, by=researcher)

    assert bagit.Bag(str(out)).is_valid()
    assert sorted(e.item.code for e in exported_events()) == sorted(result.items)
    assert {p.name for p in tmp_path.iterdir()} == {"data", "bag"}
