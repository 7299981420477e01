"""A court bundle carries its anchors: each item's inclusion proof, the anchors' roots and
RFC 3161 tokens with their certificates, and VERIFY.md; ``verify_bag`` checks all of it
from the bag alone (no database: run with none reachable), and OpenSSL agrees."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import bagit
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from evidence.files import anchoring, bag_check, custody
from evidence.files.tests.bag_helpers import export, load
from evidence.models import CustodyEvent, EvidenceItem
from evidence.tests.tsa import LocalTSA, make_authority

pytestmark = pytest.mark.django_db


@pytest.fixture
def anchored(case, authority):
    """The case anchored and timestamped by the local TSA."""
    with (
        LocalTSA(authority) as tsa,
        override_settings(
            TRACKER_TSA_URLS=[tsa.url], TRACKER_TSA_CA_FILE=str(authority.root_pem_path)
        ),
    ):
        made = anchoring.anchor()
        assert anchoring.timestamp() == []
    return made


def verify_bag(path: Path) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("verify_bag", str(path), stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def resealed(bag: Path) -> None:
    """An attacker who edits a bag can also rewrite its manifests: fixity then passes,
    and only the chain, the proofs and the tokens can tell."""
    bagit.Bag(str(bag)).save(manifests=True)


def test_the_bag_holds_proofs_anchors_tokens_and_verify_md(case, anchored, tmp_path):
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, "--user", "researcher", str(out))
    data = out / "data"

    crater = case["crater"]
    proof = load(data / "items" / crater.code / "anchor.json")
    assert proof["anchor"] == anchored.code and proof["root"] == anchored.root
    events = load(data / "items" / crater.code / "custody.json")["events"]
    assert events[proof["sequence"] - 1]["event_hash"] == proof["head_hash"]
    folder = data / "anchors" / anchored.code
    assert (folder / "root.txt").read_text() == anchored.root
    assert {p.name for p in folder.iterdir()} == {
        "anchor.json", "root.txt", "tsa-1.tsr", "tsa-1-certs.pem", "tsa-1-ca.pem",
    }  # fmt: skip
    assert "openssl ts -verify" in (data / "VERIFY.md").read_text()
    summary = load(data / "export.json")["anchoring"]
    assert summary == {"anchors": [anchored.code], "items_anchored": 3, "items": 3}
    assert bagit.Bag(str(out)).validate()


def test_openssl_verifies_the_bags_token_as_verify_md_says(case, anchored, tmp_path):
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, "--user", "researcher", str(out))
    folder = out / "data" / "anchors" / anchored.code
    result = subprocess.run(  # noqa: S603 - the command VERIFY.md gives, our files
        ["openssl", "ts", "-verify", "-data", folder / "root.txt", "-in", folder / "tsa-1.tsr",
         "-CAfile", folder / "tsa-1-ca.pem", "-untrusted", folder / "tsa-1-certs.pem"],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    assert "Verification: OK" in result.stdout, result.stderr


def test_verify_bag_checks_everything_and_says_what_it_proves(case, anchored, tmp_path):
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, "--user", "researcher", str(out))

    text, error = verify_bag(out)

    assert error is None, text
    assert "bag: valid BagIt 1.0" in text
    for item in (case["crater"], case["wide"], case["interview"]):
        assert f"{item.code} custody: " in text and "one unbroken chain" in text
        assert f"{item.code} anchor: event " in text
    assert f"{anchored.code} tsa-1.tsr: CN=" in text and "compare it with the root" in text
    for item in (case["crater"], case["wide"], case["interview"]):
        assert f"{item.code} original: the bytes the log received (SHA-256 " in text
    assert "OK: every check above passed.\nThe timestamps were verified under the CA" in text


def test_verify_bag_with_the_tsas_own_roots(case, anchored, authority, tmp_path):
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, "--user", "researcher", str(out))
    out_text = io.StringIO()
    call_command("verify_bag", str(out), "--tsa-ca", str(authority.root_pem_path), stdout=out_text)
    text = out_text.getvalue()
    assert "verified under the CA certificates given" in text
    assert text.rstrip().endswith("OK: every check above passed.")
    other = make_authority(tmp_path / "other")
    with pytest.raises(CommandError):  # a bag's token is not trusted under another root
        call_command(
            "verify_bag", str(out), "--tsa-ca", str(other.root_pem_path), stdout=io.StringIO()
        )
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("verify_bag", str(out), "--tsa-ca", str(tmp_path / "none.pem"))


def test_a_bag_verifies_with_no_database_at_all(case, anchored, tmp_path):
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, "--user", "researcher", str(out))
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/gone",  # nothing listens there
        "TRACKER_DATA_DIR": str(tmp_path / "empty"),
    }
    result = subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "verify_bag", str(out)],
        capture_output=True, text=True, check=False, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: every check above passed." in result.stdout


def test_an_item_not_yet_anchored_is_said_so(case, tmp_path):
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, "--user", "researcher", str(out))
    crater = case["crater"].code
    assert load(out / "data" / "items" / crater / "anchor.json") == {
        "item": crater,
        "anchored": False,
    }
    text, error = verify_bag(out)
    assert error is None and f"{crater} anchor: not anchored when exported" in text


def test_protected_details_withheld_are_linked_not_recomputed(case, anchored, tmp_path):
    EvidenceItem.objects.filter(pk=case["crater"].pk).update(is_protected=True)
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, "--user", "researcher", str(out))
    text, error = verify_bag(out)
    assert error is None, text
    assert "had protected details withheld: linked, their content not recomputed" in text


# --- What verify_bag catches ------------------------------------------------------------------


@pytest.fixture
def bag(case, anchored, tmp_path) -> Path:
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, "--user", "researcher", str(out))
    return out


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_an_edited_file_fails_fixity(bag, anchored):
    (bag / "data" / "anchors" / anchored.code / "root.txt").write_text("0" * 64)
    text, error = verify_bag(bag)
    assert error is not None and text.startswith("PROBLEM bag: ")


def test_an_edited_custody_event_is_caught_even_with_new_manifests(bag, case):
    log = bag / "data" / "items" / case["wide"].code / "custody.json"
    edit_json(log, lambda d: d["events"][0].update(at="2019-01-01T00:00:00+00:00"))
    resealed(bag)
    text, error = verify_bag(bag)
    assert error is not None
    assert f"PROBLEM {case['wide'].code} custody: event 1 does not match its hash" in text


def test_a_rebuilt_chain_no_longer_matches_its_anchor(bag, case, anchored):
    """The whole chain recomputed after an edit: every hash checks, the anchor does not."""
    code = case["wide"].code
    log = bag / "data" / "items" / code / "custody.json"

    def rebuild(data):
        previous = ""
        for event in data["events"]:
            if event["sequence"] == 1:
                event["details"] = {**event["details"], "received_from": "someone else"}
            event["previous_hash"] = previous
            event["event_hash"] = previous = custody.payload_digest(
                bag_check.event_payload(code, event)
            )

    edit_json(log, rebuild)
    resealed(bag)
    text, error = verify_bag(bag)
    assert error is not None
    assert f"{code} custody: " in text and "one unbroken chain" in text  # the chain alone: fine
    assert f"PROBLEM {code} anchor: {anchored.code} anchored event" in text


def test_a_proof_for_another_tree_is_caught(bag, case):
    code = case["crater"].code
    edit_json(
        bag / "data" / "items" / code / "anchor.json",
        lambda d: d.update(path=["00" * 32, *d["path"][1:]] if d["path"] else ["00" * 32]),
    )
    resealed(bag)
    text, error = verify_bag(bag)
    assert error is not None and f"PROBLEM {code} anchor: " in text


def test_a_token_checked_under_another_ca_or_for_another_root_is_caught(bag, anchored, tmp_path):
    folder = bag / "data" / "anchors" / anchored.code
    other = make_authority(tmp_path / "other")
    (folder / "tsa-1-ca.pem").write_bytes(other.root_pem)
    resealed(bag)
    text, error = verify_bag(bag)
    problem = f"PROBLEM {anchored.code} tsa-1.tsr: The timestamp does not verify"
    assert error is not None and problem in text


def test_a_root_edited_with_its_proofs_still_fails_on_the_token(bag, anchored):
    """Rewrite root.txt and anchor.json's root: the TSA never signed that root."""
    folder = bag / "data" / "anchors" / anchored.code
    (folder / "root.txt").write_text("ab" * 32)
    edit_json(folder / "anchor.json", lambda d: d.update(root="ab" * 32))
    resealed(bag)
    text, error = verify_bag(bag)
    problem = f"PROBLEM {anchored.code} tsa-1.tsr: The timestamp does not verify"
    assert error is not None and problem in text


def test_a_bag_that_is_not_a_bag_is_a_clear_error(tmp_path):
    text, error = verify_bag(tmp_path)
    assert error is not None and text.startswith("PROBLEM bag: ")


def test_hostile_names_in_a_bag_are_refused_not_followed(bag):
    edit_json(bag / "data" / "export.json", lambda d: d["anchoring"].update(anchors=["../../etc"]))
    resealed(bag)
    text, error = verify_bag(bag)
    assert error is not None and "PROBLEM the bag's records cannot be read" in text
    assert CustodyEvent.objects.exists()  # (the database is untouched by a check)


def test_verify_mds_shell_recipe_leads_each_proof_to_the_root(case, anchored, tmp_path):
    """The script VERIFY.md gives (sh, OpenSSL, xxd) agrees with verify_bag."""
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, "--user", "researcher", str(out))
    text = (out / "data" / "VERIFY.md").read_text()
    block = text.split("anchor.json:\n\n", 1)[1].split("\n\n", 1)[0]
    script = tmp_path / "path.sh"
    script.write_text("\n".join(line[4:] for line in block.splitlines()) + "\n")
    for item in (case["crater"], case["wide"], case["interview"]):
        proof = load(out / "data" / "items" / item.code / "anchor.json")
        args = [proof["leaf"], str(proof["index"]), str(proof["size"]), *proof["path"]]
        result = subprocess.run(  # noqa: S603 - the bag's own recipe, run by sh
            ["sh", str(script), *args], capture_output=True, text=True, check=True, timeout=60
        )
        assert result.stdout.strip() == f"{anchored.root} (sn=0: must be 0)"
