"""export_bag: what a bag leaves out. Protected identity and protected originals stay out
unless asked for by a user allowed to see them; what the exporting user may not see does
not exist (evidence.visibility).
"""

from __future__ import annotations

import json
from pathlib import Path

import bagit
import pytest
from django.contrib.auth.models import Permission, User
from django.core.management.base import CommandError

from evidence.files import bagging
from evidence.files.tests.bag_helpers import (
    CONTACT,
    PROTECTED_STRINGS,
    REAL_NAME,
    REAL_NAME_ARABIC,
    assert_nothing_exported,
    bag_files,
    export,
    exported_events,
    load,
)
from evidence.models import CustodyEvent, EvidenceItem
from tracker.models import Incident

pytestmark = pytest.mark.django_db


# --- Protected identity ----------------------------------------------------------------------


def grant_protected(user: User) -> User:
    user.user_permissions.add(Permission.objects.get(codename="view_protected_identity"))
    return User.objects.get(pk=user.pk)  # a fresh object: permissions are cached


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


# --- What the exporting user may see (evidence.visibility) ---------------------------------------


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
