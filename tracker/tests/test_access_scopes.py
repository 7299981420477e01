# ruff: noqa: E501 - the table is wider than a line, one row per route
"""Least privilege for API tokens, the table: every API route of the access table
(``access_table.PROJECT``) and the one scope it needs. A token of the editor's with only
that scope gets the answer the editor's session gets in the table; a token with every
other scope but that one gets 403 naming it. ``test_every_api_route_has_a_scope`` fails
when a route appears in the access table without a line here."""

from __future__ import annotations

import pytest
from django.test import Client

from tracker.models import ApiToken
from tracker.models.tokens import Scope
from tracker.tests.access_table import PERSONAS, PROJECT

pytestmark = pytest.mark.django_db
PUBLIC = {"api:schema", "api:docs"}  # the description and its pages: no case data

# fmt: off
SCOPES = {
    # route name                           method   scope
    ("api:incident-list",                  "GET"):  Scope.READ,
    ("api:incident-detail",                "GET"):  Scope.READ,
    ("api:incident-transitions",           "POST"): Scope.REVIEW,
    ("api:incident-flights",               "GET"):  Scope.READ,
    ("api:incident-confirm-flight",        "POST"): Scope.REVIEW,
    ("api:incident-export-csv",            "GET"):  Scope.READ,
    ("api:incident-export-geojson",        "GET"):  Scope.READ,
    ("api:evidence-list",                  "GET"):  Scope.READ,
    ("api:evidence-list",                  "POST"): Scope.WRITE,  # an upload
    ("api:evidence-stream",                "POST"): Scope.WRITE,
    ("api:evidence-detail",                "GET"):  Scope.READ,
    ("api:evidence-custody",               "GET"):  Scope.READ,
    ("api:evidence-anchor",                "GET"):  Scope.READ,
    ("api:evidence-transitions",           "POST"): Scope.REVIEW,
    ("api:force-list",                     "GET"):  Scope.READ,
    ("api:force-detail",                   "GET"):  Scope.READ,
    ("api:unit-list",                      "GET"):  Scope.READ,
    ("api:unit-detail",                    "GET"):  Scope.READ,
    ("api:official-list",                  "GET"):  Scope.READ,
    ("api:official-detail",                "GET"):  Scope.READ,
    ("api:official-dossier",               "GET"):  Scope.READ,
    ("api:posting-list",                   "GET"):  Scope.READ,
    ("api:posting-detail",                 "GET"):  Scope.READ,
    ("api:attribution-list",               "GET"):  Scope.READ,
    ("api:attribution-detail",             "GET"):  Scope.READ,
    ("api:observation-list",               "GET"):  Scope.READ,
    ("api:observation-detail",             "GET"):  Scope.READ,
    ("api:job-list",                       "GET"):  Scope.READ,
    ("api:job-detail",                     "GET"):  Scope.READ,
    ("api:job-download",                   "GET"):  Scope.READ,
    ("api:job-bundles",                    "POST"): Scope.WRITE,
    ("api:job-captures",                   "POST"): Scope.WRITE,
}
# fmt: on
API_ROWS = [row for row in PROJECT if row.name.startswith("api:") and row.name not in PUBLIC]
EDITOR = PERSONAS.index("editor")


def test_every_api_route_has_a_scope():
    assert {(row.name, row.method) for row in API_ROWS} == set(SCOPES)


def test_each_route_needs_its_scope_and_no_other(world, editor):
    def token(scopes) -> Client:
        key = ApiToken.issue(editor, name="scopes", scopes=list(scopes))[1]
        return Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    clients = {scope: token([scope]) for scope in Scope.values}
    without = {scope: token(set(Scope.values) - {scope}) for scope in Scope.values}
    wrong = []
    for row in API_ROWS:
        needed = SCOPES[(row.name, row.method)]
        target = row.target(world)
        for client, expected in ((clients[needed], row.expected[EDITOR]), (without[needed], 403)):
            response = client.post(target) if row.method == "POST" else client.get(target)
            if response.status_code != expected:
                wrong.append(f"{row.method} {target}: {response.status_code}, expected {expected}")
            elif expected == 403 and client is without[needed]:
                detail = response.json()["detail"]
                if detail != f"This token's scopes do not include '{needed}'.":
                    wrong.append(f"{row.method} {target}: {detail!r}")
    assert not wrong, "\n".join(wrong)
