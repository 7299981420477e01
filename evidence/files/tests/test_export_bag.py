"""export_bag: a BagIt bag of incidents, their evidence originals, metadata and custody.

Files are generated here (Pillow, bytes literals); nothing binary is kept in git.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import bagit
import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError

from evidence import intake
from evidence.files import bagging, custody, storage
from evidence.models import CustodyEvent, EvidenceItem, Witness
from evidence.models import Testimony as WitnessTestimony  # a "Test*" name is collected
from evidence.tests.test_intake import make_jpeg
from tracker.models import Attribution, DatePrecision, Incident, TargetType
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

REAL_NAME = "Fatima Al-Haddad"
REAL_NAME_ARABIC = "فاطمة الحداد"
CONTACT = "+963 944 123 456, Signal @fatima_h"
NOTES = "Lives behind the Al-Nour bakery"
PROTECTED_STRINGS = [REAL_NAME, REAL_NAME_ARABIC, CONTACT, NOTES]
INTERVIEW = b"Interview, Witness K-14: two aircraft circled, then two explosions at the market.\n"


@pytest.fixture
def case(researcher):
    """Two incidents: INC A with two photos and a testimony, INC B with one photo of its own."""
    place = f.PlaceFactory(name="Maarat al-Numan")
    incident = Incident.objects.create(
        title="Airstrike on the vegetable market",
        narrative="Two strikes ten minutes apart (EV codes below).",
        occurred_start=datetime(2019, 5, 5, 7, 30, tzinfo=UTC),
        start_precision=DatePrecision.MINUTE,
        occurred_end=datetime(2019, 5, 5, 7, 40, tzinfo=UTC),
        place=place,
        latitude=Decimal("35.645123"),
        longitude=Decimal("36.671234"),
        killed_min=12,
        killed_max=15,
        injured_min=30,
        injured_max=41,
        children_killed=3,
        civilian_harm=Incident.HarmGrade.CONFIRMED,
    )
    incident.target_types.set(TargetType.objects.filter(name__in=["Market"]))
    other = Incident.objects.create(
        title="Shelling of the bakery", occurred_start=datetime(2019, 6, 1, tzinfo=UTC)
    )

    def ingest(data, name, kind=None, to=incident):
        return intake.ingest(
            io.BytesIO(data), filename=name, kind=kind, by=researcher, incident=to
        ).item

    crater = ingest(make_jpeg(colour=(150, 40, 40)), "../../etc/crater\nnorth.jpg")
    wide = ingest(make_jpeg(colour=(40, 150, 40), gps=False), "wide.jpg")
    interview = ingest(INTERVIEW, "interview-k14.txt", kind="testimony")
    witness = Witness.objects.create(
        pseudonym="Witness K-14",
        role=Witness.Role.SURVIVOR,
        real_name=f"{REAL_NAME} ({REAL_NAME_ARABIC})",
        contact=CONTACT,
        notes=NOTES,
    )
    WitnessTestimony.objects.create(
        item=interview,
        witness=witness,
        interview_date=date(2019, 5, 20),
        interviewer="Team member M",
        summary="Heard aircraft, then two explosions near the market.",
        consent_given=True,
        consent_share_courts=True,
    )
    unrelated = ingest(make_jpeg(colour=(40, 40, 150)), "bakery.jpg", to=other)
    attribution = Attribution.objects.create(
        incident=incident,
        force=f.ForceFactory(name="Air Force X"),
        role=Attribution.Role.DIRECT,
        confidence=Attribution.Confidence.MEDIUM,
        basis="Flight observations and remnants.",
    )
    attribution.supporting_evidence.set([crater])
    return {
        "incident": incident,
        "other": other,
        "crater": crater,
        "wide": wide,
        "interview": interview,
        "unrelated": unrelated,
    }


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("export_bag", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def bag_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def grant_protected(user: User) -> User:
    user.user_permissions.add(Permission.objects.get(codename="view_protected_identity"))
    return User.objects.get(pk=user.pk)  # a fresh object: permissions are cached


def exported_events() -> list[CustodyEvent]:
    return list(CustodyEvent.objects.filter(action=CustodyEvent.Action.EXPORTED))


def assert_nothing_exported(parent: Path, expected: set[str]) -> None:
    assert {p.name for p in parent.iterdir()} == expected  # no partial or hidden temp dir
    assert exported_events() == []


# --- The bag -----------------------------------------------------------------------------


def test_bag_validates_with_the_library_and_the_stock_validator(case, researcher, tmp_path):
    out = tmp_path / "bag"
    text = export("--incident", case["incident"].code, "--user", "researcher", str(out))

    assert text.startswith(f"Wrote {out}: 1 incident, 3 evidence items, ")
    bag = bagit.Bag(str(out))
    assert bag.validate() is True
    assert bag.version_info == (1, 0)
    assert sorted(bag.algorithms) == ["sha256", "sha512"]
    validator = Path(sys.executable).parent / "bagit.py"
    result = subprocess.run(  # noqa: S603 - our own venv's script, fixed arguments
        [str(validator), "--validate", str(out)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert f"{out} is valid" in result.stderr


def test_stock_validator_notices_a_changed_byte(case, tmp_path):
    """The validation above is worth something: the same validator refuses a tampered bag."""
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, str(out))
    original = next((out / "data" / "originals").rglob("*.jpg"))
    data = bytearray(original.read_bytes())
    data[-3] ^= 0xFF
    original.write_bytes(bytes(data))

    validator = Path(sys.executable).parent / "bagit.py"
    result = subprocess.run(  # noqa: S603
        [str(validator), "--validate", str(out)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "is invalid" in result.stderr


def test_manifests_hold_sha256_and_sha512_of_every_payload_file(case, tmp_path):
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, str(out))

    payload = bag_files(out / "data")
    for algorithm in ("sha256", "sha512"):
        lines = (out / f"manifest-{algorithm}.txt").read_text().splitlines()
        listed = dict(reversed(line.split(maxsplit=1)) for line in lines)
        assert sorted(listed) == sorted(str(p.relative_to(out)) for p in payload)
        for path in payload:
            digest = hashlib.new(algorithm, path.read_bytes()).hexdigest()
            assert listed[str(path.relative_to(out))] == digest
        assert (out / f"tagmanifest-{algorithm}.txt").exists()
    info = bagit.Bag(str(out)).info
    assert info["Payload-Oxum"] == f"{sum(p.stat().st_size for p in payload)}.{len(payload)}"


def test_layout_and_originals_byte_identical_to_the_stored_ones(case, tmp_path):
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, str(out))

    items = [case["crater"], case["wide"], case["interview"]]
    expected = {"data/export.json", f"data/incidents/{case['incident'].code}.json"}
    for item in items:
        ext = ".txt" if item == case["interview"] else ".jpg"
        original = f"data/originals/{item.code}/{item.sha256}{ext}"
        expected |= {
            original,
            f"data/items/{item.code}/metadata.json",
            f"data/items/{item.code}/custody.json",
        }
        assert (out / original).read_bytes() == storage.path_of(item.original_path).read_bytes()
        assert hashlib.sha256((out / original).read_bytes()).hexdigest() == item.sha256
    assert {str(p.relative_to(out)) for p in bag_files(out / "data")} == expected
    # The item of the other incident is not in this bag; no client name became a path.
    assert case["unrelated"].code not in {p.name for p in (out / "data" / "items").iterdir()}
    inside = [p.relative_to(out) for p in bag_files(out)]
    assert not any("etc" in p.parts or "\n" in str(p) or "crater" in str(p) for p in inside)


def test_bag_info_names_the_export(case, researcher, tmp_path):
    out = tmp_path / "bag"
    export(
        "--incident",
        case["incident"].code,
        "--incident",
        case["other"].code,
        "--user",
        "researcher",
        "--organization",
        "Syria Accountability Team",
        str(out),
    )

    info = bagit.Bag(str(out)).info
    assert info["Source-Organization"] == "Syria Accountability Team"
    assert info["Exported-By"] == "researcher"
    assert info["Protected-Identity-Included"] == "no"
    codes = sorted([case["incident"].code, case["other"].code])
    assert info["External-Description"].startswith(f"Incidents {', '.join(codes)}: 4 evidence")
    summary = load(out / "data" / "export.json")
    assert summary["identifier"] == info["External-Identifier"]
    assert info["Bagging-Date"] == summary["exported_at"][:10]
    assert info["Exported-At"] == summary["exported_at"]
    assert summary["exported_by"] == "researcher"
    assert [i["code"] for i in summary["incidents"]] == codes
    assert len(summary["items"]) == 4


# --- Metadata and custody ----------------------------------------------------------------


def test_item_metadata(case, tmp_path):
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, str(out))
    crater = case["crater"]

    meta = load(out / "data" / "items" / crater.code / "metadata.json")

    assert meta["code"] == crater.code
    assert meta["kind"] == "photo"
    assert meta["sha256"] == crater.sha256
    assert meta["size"] == crater.size
    assert meta["media_type"] == "image/jpeg"
    assert meta["original_filename"] == "../../etc/crater\ufffdnorth.jpg"
    assert meta["captured"]["at"] == "2019-05-05T07:30:00+00:00"  # EXIF 10:30 at +03:00
    assert meta["acquired"]["by"] == "researcher"
    assert meta["links"] == [
        {"incident": case["incident"].code, "relevance": "", "relied_on": True}
    ]
    assert meta["photo"]["camera_make"] == "Canon"
    assert meta["photo"]["taken_at_offset"] == "+03:00"
    assert (meta["photo"]["gps_latitude"], meta["photo"]["gps_longitude"]) == (
        "35.824500",
        "36.319000",
    )
    assert meta["original"] == {
        "path": f"data/originals/{crater.code}/{crater.sha256}.jpg",
        "withheld": False,
    }
    testimony = load(out / "data" / "items" / case["interview"].code / "metadata.json")
    assert testimony["testimony"]["witness"] == {"pseudonym": "Witness K-14", "role": "survivor"}
    assert testimony["testimony"]["consent"]["share_with_courts"] is True
    assert testimony["testimony"]["interview_date"] == "2019-05-20"


def test_incident_metadata(case, tmp_path):
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, str(out))
    incident = case["incident"]

    meta = load(out / "data" / "incidents" / f"{incident.code}.json")

    assert meta["code"] == incident.code
    assert meta["title"] == "Airstrike on the vegetable market"
    assert meta["narrative"].startswith("Two strikes")
    assert meta["occurred"] == {
        "start": "2019-05-05T07:30:00+00:00",
        "start_local": "2019-05-05T10:30:00+03:00",
        "start_precision": "minute",
        "end": "2019-05-05T07:40:00+00:00",
        "end_local": "2019-05-05T10:40:00+03:00",
    }
    assert meta["place"]["name"] == "Maarat al-Numan"
    assert meta["coordinates"] == {
        "latitude": "35.645123",
        "longitude": "36.671234",
        "precision": "town",
    }
    assert meta["casualties"] == {
        "killed": {"min": 12, "max": 15},
        "injured": {"min": 30, "max": 41},
        "children_killed": 3,
        "women_killed": None,
    }
    assert meta["civilian_harm_grade"] == "confirmed"
    assert meta["target_types"] == ["Market"]
    assert meta["attributions"] == [
        {
            "force": "Air Force X",
            "unit": None,
            "official": None,
            "role": "direct",
            "confidence": "medium",
            "basis": "Flight observations and remnants.",
            "status": "draft",
            "supporting_evidence": [case["crater"].code],
        }
    ]
    assert [e["code"] for e in meta["evidence"]] == sorted(
        [case["crater"].code, case["wide"].code, case["interview"].code]
    )


def test_custody_log_is_complete_and_its_chain_recomputes_from_the_file_alone(case, tmp_path):
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, str(out))
    item = case["crater"]

    log = load(out / "data" / "items" / item.code / "custody.json")

    stored = list(
        CustodyEvent.objects.filter(item=item)
        .exclude(action=CustodyEvent.Action.EXPORTED)
        .order_by("sequence")
    )
    assert [e["sequence"] for e in log["events"]] == [e.sequence for e in stored]
    assert [e["event_hash"] for e in log["events"]] == [e.event_hash for e in stored]
    assert log["events"][0]["action"] == "acquired"
    assert log["events"][0]["actor"] == "researcher"
    assert log["events"][1]["observed_sha256"] == item.sha256
    # What hash_method describes is enough to re-check the chain without the tracker.
    previous = ""
    for event in log["events"]:
        canonical = {
            "item": log["item"],
            "sequence": event["sequence"],
            "action": event["action"],
            "actor": event["actor_id"],
            "at": event["at"],
            "observed_sha256": event["observed_sha256"],
            "details": event["details"],
            "previous_hash": event["previous_hash"],
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert event["previous_hash"] == previous
        assert hashlib.sha256(text.encode()).hexdigest() == event["event_hash"]
        previous = event["event_hash"]


def test_an_exported_event_is_recorded_per_item(case, researcher, tmp_path):
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, "--user", "researcher", str(out))

    events = exported_events()
    assert sorted(e.item.code for e in events) == sorted(
        [case["crater"].code, case["wide"].code, case["interview"].code]
    )
    info = bagit.Bag(str(out)).info
    fingerprint = hashlib.sha256((out / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
    for event in events:
        assert event.actor == researcher
        assert event.observed_sha256 == event.item.sha256
        assert event.details == {
            "bag": "bag",
            "bag_identifier": info["External-Identifier"],
            "incidents": [case["incident"].code],
            "payload_oxum": info["Payload-Oxum"],
            "tagmanifest_sha256": fingerprint,
            "original_included": True,
            "protected_identity_included": False,
        }
        # Appended to the item's chain like any other event.
        assert event.previous_hash == (
            CustodyEvent.objects.get(item=event.item, sequence=event.sequence - 1).event_hash
        )
        assert custody.event_digest(event, event.item.code) == event.event_hash
    assert not CustodyEvent.objects.filter(
        item=case["unrelated"], action=CustodyEvent.Action.EXPORTED
    ).exists()


# --- Protected identity ------------------------------------------------------------------


def assert_in_bag(out: Path, strings: list[str], *, present: bool) -> None:
    """Search every file's bytes, in UTF-8 and as JSON would escape it."""
    blob = b"".join(p.read_bytes() for p in bag_files(out))
    for text in strings:
        forms = {text.encode(), json.dumps(text).strip('"').encode()}
        found = any(form in blob for form in forms)
        assert found is present, f"{text!r} {'missing from' if present else 'found in'} the bag"


def test_protected_identity_is_never_in_the_bag_by_default(case, researcher, tmp_path):
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, "--user", "researcher", str(out))

    assert_in_bag(out, PROTECTED_STRINGS, present=False)
    assert_in_bag(out, ["Witness K-14"], present=True)


def test_protected_identity_is_left_out_even_for_a_user_allowed_to_see_it(
    case, researcher, tmp_path
):
    grant_protected(researcher)
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, "--user", "researcher", str(out))

    assert_in_bag(out, PROTECTED_STRINGS, present=False)


def test_protected_identity_with_permission_and_include_protected(case, researcher, tmp_path):
    grant_protected(researcher)
    out = tmp_path / "bag"
    export(
        "--incident",
        case["incident"].code,
        "--user",
        "researcher",
        "--include-protected",
        str(out),
    )

    assert_in_bag(out, PROTECTED_STRINGS, present=True)
    witness = load(out / "data" / "items" / case["interview"].code / "metadata.json")["testimony"][
        "witness"
    ]
    assert witness["real_name"] == f"{REAL_NAME} ({REAL_NAME_ARABIC})"
    assert witness["contact"] == CONTACT
    assert bagit.Bag(str(out)).info["Protected-Identity-Included"] == "yes"
    assert bagit.Bag(str(out)).is_valid()
    assert all(e.details["protected_identity_included"] for e in exported_events())


@pytest.mark.parametrize("user", ["researcher", None], ids=["without-permission", "no-user"])
def test_include_protected_without_the_permission_is_refused(case, researcher, tmp_path, user):
    out = tmp_path / "bag"
    args = ["--incident", case["incident"].code, "--include-protected", str(out)]
    if user:
        args[:0] = ["--user", user]

    with pytest.raises(CommandError) as excinfo:
        export(*args)

    assert str(excinfo.value) == bagging.PROTECTED_REFUSED
    assert not out.exists()
    assert_nothing_exported(tmp_path, {"data"})


def test_protected_item_original_is_withheld_unless_included(case, researcher, tmp_path):
    EvidenceItem.objects.filter(pk=case["wide"].pk).update(is_protected=True)
    wide = case["wide"]
    out = tmp_path / "bag"
    text = export("--incident", case["incident"].code, "--user", "researcher", str(out))

    assert f"Originals withheld as protected: {wide.code}" in text
    assert not (out / "data" / "originals" / wide.code).exists()
    meta = load(out / "data" / "items" / wide.code / "metadata.json")
    assert meta["original"] == {"path": None, "withheld": True}
    assert bagit.Bag(str(out)).is_valid()
    event = CustodyEvent.objects.get(item=wide, action=CustodyEvent.Action.EXPORTED)
    assert event.details["original_included"] is False
    assert event.observed_sha256 == ""

    # Its file name may name the person it protects: withheld with the original.
    assert meta["original_filename"] == "(withheld: protected item)"
    log = load(out / "data" / "items" / wide.code / "custody.json")
    acquired = log["events"][0]
    assert acquired["details"]["filename"] == "(withheld: protected item)"
    assert acquired["details_withheld"] is True
    assert not any(e["details_withheld"] for e in log["events"][1:])
    assert (
        wide.original_filename
        not in (out / "data" / "items" / wide.code).joinpath("custody.json").read_text()
    )

    grant_protected(researcher)
    again = tmp_path / "bag2"
    export(
        "--incident",
        case["incident"].code,
        "--user",
        "researcher",
        "--include-protected",
        str(again),
    )
    assert (again / "data" / "originals" / wide.code / f"{wide.sha256}.jpg").exists()
    meta = load(again / "data" / "items" / wide.code / "metadata.json")
    assert meta["original_filename"] == wide.original_filename
    log = load(again / "data" / "items" / wide.code / "custody.json")
    assert log["events"][0]["details"]["filename"] == wide.original_filename


# --- Refusals: nothing written -----------------------------------------------------------


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


# --- What the exporting user may see (evidence.visibility) -----------------------------------


def test_a_restricted_incident_is_an_unknown_code_for_a_user_without_the_permission(
    case, researcher, tmp_path
):
    from tracker.models import Sensitivity

    Incident.objects.filter(pk=case["other"].pk).update(sensitivity=Sensitivity.RESTRICTED)
    with pytest.raises(CommandError, match=f"No incident with code {case['other'].code}"):
        export("--user", researcher.username, "--incident", case["other"].code, str(tmp_path / "b"))
    assert_nothing_exported(tmp_path, {"data"})


def test_relations_and_near_duplicates_of_hidden_records_are_left_out(case, researcher, tmp_path):
    from tracker.models import IncidentRelation, Sensitivity

    Incident.objects.filter(pk=case["other"].pk).update(sensitivity=Sensitivity.RESTRICTED)
    IncidentRelation.objects.create(
        from_incident=case["incident"], to_incident=case["other"], kind="same_operation"
    )
    case["crater"].near_duplicates.add(case["unrelated"])  # "unrelated" is only behind "other"
    export("--user", researcher.username, "--incident", case["incident"].code, str(tmp_path / "b"))
    text = "\n".join(p.read_text(errors="replace") for p in bag_files(tmp_path / "b"))
    assert case["other"].code not in text
    assert case["unrelated"].code not in text
