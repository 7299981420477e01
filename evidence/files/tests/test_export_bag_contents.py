"""export_bag: a BagIt bag of incidents, their evidence originals, metadata and custody.
The bag validates (with the library and the stock validator), holds the originals byte
for byte, and its custody logs recompute from the files alone.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import bagit
import pytest

from evidence.files import custody, storage
from evidence.files.tests.bag_helpers import bag_files, export, exported_events, load
from evidence.models import CustodyEvent

pytestmark = pytest.mark.django_db


# --- The bag ---------------------------------------------------------------------------------


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
    expected = {
        "data/export.json",
        "data/VERIFY.md",
        f"data/incidents/{case['incident'].code}.json",
    }
    for item in items:
        ext = ".txt" if item == case["interview"] else ".jpg"
        original = f"data/originals/{item.code}/{item.sha256}{ext}"
        expected |= {
            original,
            f"data/items/{item.code}/metadata.json",
            f"data/items/{item.code}/custody.json",
            f"data/items/{item.code}/anchor.json",
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


# --- Metadata and custody --------------------------------------------------------------------


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
