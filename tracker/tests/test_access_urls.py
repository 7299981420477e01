# ruff: noqa: E501 - a mismatch is reported on one line
"""Least privilege: every URL pattern of the project, requested as every persona.

Each row of PROJECT and every per-model admin URL (by MODEL_RIGHTS), the tables of
``tracker.tests.access_table``, is requested as each persona against the objects of
``tracker.tests.access_world`` (the fixture ``world``); all mismatches are reported at
once. ``test_every_url_pattern_is_covered`` fails when a URL pattern appears that
neither PROJECT nor the rule covers, and ``test_model_rights_match_the_roles`` when
MODEL_RIGHTS no longer says what the roles' permissions give.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tracker.tests.access_table import (
    LOGIN,
    MODEL_RIGHTS,
    MODEL_VIEWS,
    PERSONAS,
    PROJECT,
    ROLE_COLUMN,
    admin_expectation,
)
from tracker.tests.access_world import client_for

pytestmark = pytest.mark.django_db


# --- Walking the URL patterns ---------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    route: str
    name: str  # namespaced, e.g. "admin:tracker_incident_change"; "" when unnamed


def every_pattern(resolver: URLResolver | None = None, route="", namespace="") -> Iterator[Pattern]:
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from every_pattern(entry, route + str(entry.pattern), inner)
        else:
            assert isinstance(entry, URLPattern)
            name = f"{namespace}{entry.name}" if entry.name else ""
            yield Pattern(route + str(entry.pattern), name)


def model_urls() -> dict[str, tuple[str, str]]:
    """The admin's per-model URL names (and the unnamed redirects, by route), each with
    its model label and the view it is in MODEL_VIEWS."""
    found = {}
    for model in admin.site._registry:
        meta = model._meta
        prefix = f"admin:{meta.app_label}_{meta.model_name}_"
        for view in MODEL_VIEWS:
            found[prefix + view] = (meta.label_lower, view)
        found[f"admin/{meta.app_label}/{meta.model_name}/<path:object_id>/"] = (
            meta.label_lower,
            "object",
        )
    return found


def test_every_url_pattern_is_covered():
    """A new URL pattern must get a row in PROJECT or fall under the per-model rule."""
    listed = {row.name for row in PROJECT}
    per_model = model_urls()
    uncovered = [
        p
        for p in every_pattern()
        if (p.name or p.route) not in listed and (p.name or p.route) not in per_model
    ]
    assert not uncovered, "add these URL patterns to PROJECT or MODEL_RIGHTS: " + ", ".join(
        p.name or p.route for p in uncovered
    )
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(MODEL_RIGHTS), "every model in the admin needs a MODEL_RIGHTS row"


def test_model_rights_match_the_roles(researcher, reviewer, editor, rf):
    """MODEL_RIGHTS says what the roles' permissions give (admin's model-level answers)."""
    wrong = []
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        for persona, user in (
            ("researcher", researcher),
            ("reviewer", reviewer),
            ("editor", editor),
        ):
            request = rf.get("/admin/")
            request.user = user
            rights = "".join(
                letter
                for letter, allowed in (
                    ("v", model_admin.has_view_permission(request)),
                    ("a", model_admin.has_add_permission(request)),
                    ("c", model_admin.has_change_permission(request)),
                    ("d", model_admin.has_delete_permission(request)),
                )
                if allowed
            )
            if rights != MODEL_RIGHTS[label][ROLE_COLUMN[persona]]:
                wrong.append(f"{label} {persona}: {rights or '-'}")
    assert not wrong, wrong


def admin_requests(w: SimpleNamespace, persona: str) -> Iterator[tuple[str, str, str]]:
    """(model label, view, URL) for every per-model admin URL of every registered model
    (with ``persona``'s own object where the world holds one per persona)."""
    names = {p.name for p in every_pattern()}
    for model in admin.site._registry:
        meta = model._meta
        label = meta.label_lower
        obj = w.objects[label]
        if isinstance(obj, dict):
            obj = obj.get(persona, obj["editor"])
        prefix = f"admin:{meta.app_label}_{meta.model_name}_"
        yield label, "changelist", reverse(prefix + "changelist")
        yield label, "add", reverse(prefix + "add")
        for view in ("change", "history", "delete"):
            yield label, view, reverse(prefix + view, args=[obj.pk])
        yield label, "object", f"/admin/{meta.app_label}/{meta.model_name}/{obj.pk}/"
        if prefix + "simple_history" in names:
            version = obj.history.order_by("history_id").first().history_id
            yield (
                label,
                "simple_history",
                reverse(prefix + "simple_history", args=[obj.pk, version]),
            )
        if prefix + "review" in names:
            yield label, "review", reverse(prefix + "review", args=[obj.pk, "submit"])


def answer(client: Client, method: str, target: str) -> int | str:
    response = client.post(target) if method == "POST" else client.get(target)
    if response.status_code == 302 and response.url.startswith(reverse("admin:login")):
        return LOGIN
    return response.status_code


@pytest.mark.parametrize("persona", PERSONAS)
def test_project_urls(request, world, persona):
    """Every row of PROJECT, as ``persona``; all mismatches reported at once."""
    client = client_for(request, persona)
    column = PERSONAS.index(persona)
    wrong = []
    for row in PROJECT:
        target = row.target(world)
        got = answer(client, row.method, target)
        if got != row.expected[column]:
            wrong.append(
                f"{row.method} {target} ({row.note or row.name}): {got}, expected {row.expected[column]}"
            )
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("persona", PERSONAS)
def test_admin_model_urls(request, world, persona):
    """Every per-model admin URL of every registered model, as ``persona``."""
    client = client_for(request, persona)
    wrong = []
    for label, view, target in admin_requests(world, persona):
        got = answer(client, "GET", target)
        expected = admin_expectation(persona, label, view)
        if got != expected:
            wrong.append(f"GET {target} ({label} {view}): {got}, expected {expected}")
    assert not wrong, "\n".join(wrong)
