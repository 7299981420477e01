"""An item's custody anchor through the API (``GET /api/evidence/<code>/anchor/``): the
same proof as the court bundle's, under the same rules as the proof download
(``anchoring.proof_for``): the item visible, every detail of its log visible."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from evidence.files import anchoring, merkle
from evidence.tests.files import make_jpeg
from evidence.tests.test_restricted_items import named
from tracker.api.tests.calls import problem, stored, token_client
from tracker.models import Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

EVIDENCE = "/api/evidence/"


def anchor_url(item) -> str:
    return f"{EVIDENCE}{item.code}/anchor/"


def test_the_proof_of_an_anchored_item_leads_to_its_root(researcher):
    item = stored(make_jpeg(), by=researcher)
    client = token_client(researcher)
    assert problem(client.get(anchor_url(item)))["status"] == 404  # not anchored yet
    made = anchoring.anchor()

    response = client.get(anchor_url(item))

    assert response.status_code == 200 and response["ETag"]
    found = response.json()
    assert found["item"] == item.code and found["root"] == made.root
    path = [bytes.fromhex(h) for h in found["path"]]
    leaf = merkle.leaf_hash(found["leaf"])
    assert merkle.root_from_path(leaf, found["index"], found["size"], path).hex() == made.root
    again = client.get(anchor_url(item), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_a_protected_items_proof_needs_the_permission(researcher, other_researcher):
    item = stored(make_jpeg(), by=other_researcher, is_protected=True, filename="x_Hassan.jpg")
    anchoring.anchor()
    body = problem(token_client(researcher).get(anchor_url(item)))
    assert body["status"] == 403 and "Hassan" not in str(body)
    other_researcher.user_permissions.add(
        Permission.objects.get(codename="view_protected_identity")
    )
    assert token_client(other_researcher).get(anchor_url(item)).status_code == 200


def test_a_hidden_items_proof_is_not_found(researcher, other_researcher):
    named(other_researcher)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    hidden = stored(make_jpeg(), by=other_researcher, incident=restricted)
    anchoring.anchor()
    assert problem(token_client(researcher).get(anchor_url(hidden)))["status"] == 404
    assert token_client(other_researcher).get(anchor_url(hidden)).status_code == 200


def test_no_write_and_no_unknown_code(researcher):
    item = stored(make_jpeg(), by=researcher)
    anchoring.anchor()
    client = token_client(researcher)
    assert client.post(anchor_url(item)).status_code == 405
    assert problem(client.get(f"{EVIDENCE}EV-999999/anchor/"))["status"] == 404
