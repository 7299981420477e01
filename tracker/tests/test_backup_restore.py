"""``manage.py backup`` and ``restore``: the same case back, or nothing at all.

A case with incidents, photos (EXIF, derivatives), a document, custody events,
review events, an attribution with its evidence and a witness whose identity
is protected is backed up; the database is flushed and the data directory
replaced by an empty one (a new machine); the restore must give back the same
rows, the same files by hash and the same custody chains, event hash for event
hash, and verify_evidence must pass. A damaged backup, a backup of other
migrations and a non-empty instance are refused with nothing loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import override_settings

from demo import clips
from evidence import intake
from evidence.files import anchoring, custody, storage
from evidence.models import (
    Anchor,
    AnchorLeaf,
    AnchorToken,
    CustodyEvent,
    Derivative,
    EvidenceItem,
    Witness,
)
from evidence.tests.files import make_jpeg
from evidence.tests.tsa import LocalTSA, make_authority
from tracker import backup
from tracker.models import Incident, ReviewEvent
from tracker.tests import factories
from tracker.tests.factories import AttributionFactory, IncidentFactory, WitnessFactory
from tracker.workflow import Action, transition

pytestmark = pytest.mark.django_db(transaction=True)

REAL_NAME = "Protected Person Nour"


def run(command: str, *args) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def ingest(data: bytes, user, **kwargs) -> EvidenceItem:
    kwargs.setdefault("kind", "photo")
    kwargs.setdefault("filename", "IMG.jpg")
    return intake.ingest(io.BytesIO(data), by=user, **kwargs).item


def build_case(researcher, reviewer) -> None:
    incident = IncidentFactory(created_by=researcher)
    IncidentFactory(created_by=researcher)
    photos = [
        ingest(make_jpeg(colour=(200, 30, 30), noise=True), researcher, incident=incident),
        ingest(make_jpeg(colour=(30, 30, 200), gps=False), researcher, incident=incident),
    ]
    ingest(b"Notes from the site visit.\n", researcher, kind="document", filename="n.txt")
    # A clip: its keyframes (derivatives/…/<sha256>.keyframe-<n>.jpg) and playable copy.
    ingest(clips.video(seconds=3), researcher, kind="video", filename="clip.mp4")
    witness = WitnessFactory(real_name=REAL_NAME, contact="+963 000 000 000")
    factories.TestimonyFactory(witness=witness, item__created_by=researcher)
    attribution = AttributionFactory(incident=incident, created_by=researcher)
    attribution.supporting_evidence.add(photos[0])
    transition(photos[0], Action.SUBMIT, by=researcher)
    transition(photos[0], Action.VERIFY, by=reviewer)
    run("verify_evidence")  # a verification event on every chain


def state() -> dict:
    """What must come back unchanged: rows per model, files by hash, custody chains."""
    return {
        "counts": {m._meta.label_lower: m._base_manager.count() for m in backup.dumped_models()},
        "items": sorted(EvidenceItem.objects.values_list("code", "sha256", "status")),
        "chains": list(
            CustodyEvent.objects.order_by("item__code", "sequence").values_list(
                "item__code", "sequence", "action", "at", "event_hash"
            )
        ),
        "derivatives": sorted(Derivative.objects.values_list("item__code", "kind", "sha256")),
        "reviews": sorted(
            ReviewEvent.objects.values_list("content_type__model", "object_id", "action", "at")
        ),
        "incidents": sorted(Incident.objects.values_list("code", "status", "updated_at")),
        "witness": list(Witness.objects.values_list("pseudonym", "real_name", "contact")),
        "history": sorted(EvidenceItem.history.values_list("code", "history_date")),
        "anchors": list(Anchor.objects.order_by("pk").values_list("root", "previous_root", "size")),
        "leaves": sorted(AnchorLeaf.objects.values_list("item__code", "sequence", "head_hash")),
        "tokens": [
            (url, state, bytes(response), gen_time)
            for url, state, response, gen_time in AnchorToken.objects.values_list(
                "tsa_url", "state", "response", "gen_time"
            )
        ],
    }


def files_on_disk() -> dict[str, str]:
    root = Path(settings.DATA_DIR)
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for area in ("originals", "derivatives")
        for path in (root / area).rglob("*")
        if path.is_file()
    }


@pytest.fixture
def case(researcher, reviewer, tmp_path) -> dict:
    """The case, backed up to tmp_path/backup; returns what was there."""
    build_case(researcher, reviewer)
    # The custody anchored and timestamped: anchors, leaves and tokens come back too.
    authority = make_authority(tmp_path / "tsa")
    with (
        LocalTSA(authority) as tsa,
        override_settings(
            TRACKER_TSA_URLS=[tsa.url], TRACKER_TSA_CA_FILE=str(authority.root_pem_path)
        ),
    ):
        anchoring.anchor()
        assert anchoring.timestamp() == []
    before = {"state": state(), "files": files_on_disk()}
    output = run("backup", str(tmp_path / "backup"))
    assert output.startswith("Backed up ")
    return before


def new_machine(tmp_path, settings) -> None:
    """An empty, migrated database and an empty data directory."""
    call_command("flush", interactive=False, verbosity=0)
    settings.DATA_DIR = tmp_path / "new-data"
    settings.DATA_DIR.mkdir()


def test_restore_gives_back_the_same_case(case, tmp_path, settings, researcher):
    new_machine(tmp_path, settings)
    assert EvidenceItem.objects.count() == 0 and files_on_disk() == {}

    output = run("restore", str(tmp_path / "backup"))

    assert output.startswith("Restored ")
    assert state() == case["state"]
    assert files_on_disk() == case["files"]
    assert run("verify_evidence") == f"OK {len(case['state']['items'])} items\n"
    for item in EvidenceItem.objects.exclude(sha256=""):
        mode = storage.path_of(item.original_path).stat().st_mode
        assert stat.S_IMODE(mode) == 0o440
    assert Witness.objects.get().real_name == REAL_NAME
    assert_custody_log_is_still_append_only()
    assert_codes_go_on(case, researcher)


def assert_custody_log_is_still_append_only() -> None:
    """The restore inserted custody rows; the triggers must refuse changes as before."""
    event = CustodyEvent.objects.order_by("pk").first()
    for sql in (
        "UPDATE evidence_custodyevent SET action = 'forged' WHERE id = %s",
        "DELETE FROM evidence_custodyevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    assert CustodyEvent.objects.get(pk=event.pk).event_hash == event.event_hash


def assert_codes_go_on(case, researcher) -> None:
    """Counters and primary-key sequences continue after the restored rows."""
    last_item = max(code for code, _sha, _status in case["state"]["items"])
    item = ingest(make_jpeg(colour=(1, 99, 1)), researcher)
    incident = IncidentFactory()
    assert item.code == f"EV-{int(last_item[3:]) + 1:06d}"
    assert incident.code == "INC-0003"
    assert item.custody_events.order_by("sequence").first().sequence == 1
    assert custody.verify_chain(item) == []


def test_backup_is_private_and_checkable_with_sha256sum(case, tmp_path):
    folder = tmp_path / "backup"
    paths = list(folder.rglob("*"))
    assert {stat.S_IMODE(p.stat().st_mode) for p in paths if p.is_dir()} | {
        stat.S_IMODE(folder.stat().st_mode)
    } == {0o700}
    assert {stat.S_IMODE(p.stat().st_mode) for p in paths if p.is_file()} == {0o600}
    info = json.loads((folder / "backup.json").read_text())
    assert info["database_vendor"] == connection.vendor
    assert info["counts"]["evidence.evidenceitem"] == len(case["state"]["items"])
    # 4 originals; derivatives: 2 photos x 2, the clip's poster (2), 3 keyframes and copy.
    assert info["originals"] == 4 and info["derivatives"] == 10 and info["unavailable"] == {}
    assert REAL_NAME not in json.dumps(info)
    # The manifest is in sha256sum's format and covers every other file.
    result = subprocess.run(
        ["sha256sum", "--check", "--strict", "manifest-sha256.txt"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(result.stdout.splitlines()) == sum(1 for p in paths if p.is_file()) - 1


def test_restore_into_a_non_empty_instance_is_refused(case, tmp_path):
    with pytest.raises(CommandError, match="Restore needs an empty instance") as refused:
        run("restore", str(tmp_path / "backup"))

    assert "users" in str(refused.value) and "files under originals/" in str(refused.value)
    assert state() == case["state"]
    assert files_on_disk() == case["files"]


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def first_original(folder: Path) -> Path:
    return next(p for p in sorted((folder / "originals").rglob("*")) if p.is_file())


DAMAGE = {
    "a flipped byte in an original": lambda folder: flip_a_byte(first_original(folder)),
    "a flipped byte in the data": lambda folder: flip_a_byte(folder / "data.jsonl"),
    "a flipped byte in backup.json": lambda folder: flip_a_byte(folder / "backup.json"),
    "a flipped byte in the manifest": lambda folder: flip_a_byte(folder / "manifest-sha256.txt"),
    "a missing original": lambda folder: first_original(folder).unlink(),
    "a file the manifest does not list": lambda folder: (folder / "extra.jsonl").write_text("{}"),
    "no manifest": lambda folder: (folder / "manifest-sha256.txt").unlink(),
}


def test_damaged_backup_is_refused_and_nothing_is_loaded(case, tmp_path, settings):
    new_machine(tmp_path, settings)
    for damage, make in DAMAGE.items():
        folder = tmp_path / damage.replace(" ", "-")
        shutil.copytree(tmp_path / "backup", folder)
        make(folder)

        with pytest.raises(CommandError) as refused:
            run("restore", str(folder))

        message = str(refused.value)
        assert "Nothing was restored" in message or "not a complete backup" in message, damage
        assert not EvidenceItem.objects.exists() and not CustodyEvent.objects.exists(), damage
        assert not Witness.objects.exists(), damage
        assert files_on_disk() == {}, damage
    # The intact backup still restores into the instance those attempts left.
    run("restore", str(tmp_path / "backup"))
    assert state() == case["state"]


def test_backup_of_other_migrations_is_refused(case, tmp_path, settings, monkeypatch):
    new_machine(tmp_path, settings)
    here = backup.applied_migrations()
    monkeypatch.setattr(backup, "applied_migrations", lambda: [*here, "tracker.9999_later"])

    with pytest.raises(CommandError, match="other migrations"):
        run("restore", str(tmp_path / "backup"))
    assert not EvidenceItem.objects.exists() and files_on_disk() == {}


def test_an_original_missing_at_backup_time_is_listed_and_stays_missing(
    researcher, reviewer, tmp_path, settings
):
    """The backup still completes (exit status 1, the file named); the restored
    instance reports the same loss as the source did, and nothing else."""
    build_case(researcher, reviewer)
    lost = EvidenceItem.objects.exclude(sha256="").order_by("pk").first()
    storage.path_of(lost.original_path).unlink()
    before = state()

    with pytest.raises(CommandError, match="1 file"):
        run("backup", str(tmp_path / "backup"))
    info = json.loads((tmp_path / "backup" / "backup.json").read_text())
    assert info["unavailable"] == {lost.code: "missing"}

    new_machine(tmp_path, settings)
    output = run("restore", str(tmp_path / "backup"))
    assert f"MISSING {lost.code}" in output
    assert state() == before
    assert not storage.path_of(lost.original_path).exists()
    with pytest.raises(CommandError, match="1 problem"):
        run("verify_evidence")
