"""An item's anchor where people see it: "custody anchored" on the item's admin page and
its proof as a download, for whoever may see the item and nobody else."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from evidence.files import anchoring, bagging, custody, merkle
from evidence.models import CustodyEvent, EvidenceItem
from evidence.tests.test_restricted_items import as_user, case, ingest, named  # noqa: F401
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


def proof_url(item) -> str:
    return reverse("evidence:anchor_proof", args=[item.code])


def test_the_item_page_says_when_custody_was_anchored_and_links_the_proof(client, researcher):
    item = ingest(researcher, f.IncidentFactory())
    page = as_user(client, researcher).get(
        reverse("admin:evidence_evidenceitem_change", args=[item.pk])
    )
    assert "not yet: the next anchor" in page.content.decode()

    made = anchoring.anchor()
    page = client.get(reverse("admin:evidence_evidenceitem_change", args=[item.pk]))
    text = page.content.decode()
    assert f"up to event {item.custody_events.count()} in {made.code}, made " in text
    assert "not timestamped yet" in text
    assert f'href="{proof_url(item)}" download' in text and "next anchor" not in text

    head = item.custody_events.count()
    for _ in range(2):
        custody.record(item, CustodyEvent.Action.VIEWED, actor=researcher)
    page = client.get(reverse("admin:evidence_evidenceitem_change", args=[item.pk]))
    assert f"(events {head + 1}–{head + 2}: in the next anchor)" in page.content.decode()


def test_the_proof_downloads_and_leads_to_the_anchors_root(client, researcher):
    item = ingest(researcher, f.IncidentFactory())
    made = anchoring.anchor()
    response = as_user(client, researcher).get(proof_url(item))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    found = json.loads(response.content)
    assert found["item"] == item.code and found["root"] == made.root
    path = [bytes.fromhex(h) for h in found["path"]]
    leaf = merkle.leaf_hash(found["leaf"])
    assert merkle.root_from_path(leaf, found["index"], found["size"], path).hex() == made.root


def test_no_proof_before_the_first_anchor_nor_for_an_unknown_code(client, researcher):
    item = ingest(researcher, f.IncidentFactory())
    as_user(client, researcher)
    assert client.get(proof_url(item)).status_code == 404
    assert client.get("/evidence/EV-999999/anchor-proof").status_code == 404
    assert client.post(proof_url(item)).status_code == 405


def test_an_item_behind_a_restricted_incident_has_no_proof_for_the_team(
    client,
    case,  # noqa: F811 - the fixture imported above
    researcher,
    other_researcher,
):
    anchoring.anchor()
    hidden = case["hidden"]
    assert as_user(client, researcher).get(proof_url(hidden)).status_code == 404
    assert as_user(client, named(other_researcher)).get(proof_url(hidden)).status_code == 200


def test_anonymous_and_non_staff_get_no_proof(client, researcher):
    item = ingest(researcher, f.IncidentFactory())
    anchoring.anchor()
    assert client.get(proof_url(item)).status_code == 403
    outsider = f.UserFactory(is_staff=False)
    assert as_user(client, outsider).get(proof_url(item)).status_code == 403


# --- No proof that is an oracle for what a viewer may not see ---------------------------------


def test_no_proof_of_a_log_with_a_protected_file_name_without_the_permission(client, researcher):
    """The head's hash covers the received event's file name (protected identity): with
    the proof, a guess of that name could be checked offline."""
    item = ingest(researcher, f.IncidentFactory())
    EvidenceItem.objects.filter(pk=item.pk).update(is_protected=True)
    anchoring.anchor()

    response = as_user(client, researcher).get(proof_url(item))
    assert response.status_code == 403
    assert (
        b"protected identity" in response.content and item.sha256.encode() not in response.content
    )
    researcher.user_permissions.add(Permission.objects.get(codename="view_protected_identity"))
    assert (
        as_user(client, User.objects.get(pk=researcher.pk)).get(proof_url(item)).status_code == 200
    )


def test_no_proof_of_a_log_naming_a_restricted_incident_to_those_who_may_not_know_it(
    client,
    case,  # noqa: F811 - the fixture imported above
    researcher,
    other_researcher,
    tmp_path,
):
    """The shared item is visible to the team; its log now names the restricted incident
    (a bag of it was exported), which its head's hash covers."""
    shared = case["shared"]
    bagging.export_bag([case["restricted"]], tmp_path / "bag", by=named(other_researcher))
    anchoring.anchor()

    assert as_user(client, researcher).get(proof_url(shared)).status_code == 403
    assert as_user(client, other_researcher).get(proof_url(shared)).status_code == 200
