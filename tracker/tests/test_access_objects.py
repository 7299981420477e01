"""Least privilege, object by object: what the table of URLs cannot say.

A historical version's form cannot overwrite a record read-only to the user, nor
revert a verified one; a restricted incident leaves no trace on the pages that list
incidents for the team (lists, exports, maps, reports, dossiers, admin lists) and is
listed for a holder named by an administrator; a protected testimony's files need the
identity permission; another researcher's draft is read-only. The objects are those of
``tracker.tests.access_world`` (the fixture ``world``).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from tracker import workflow
from tracker.tests.access_table import AUTOCOMPLETE, history_form_url, pk, url
from tracker.tests.access_world import client_for

pytestmark = pytest.mark.django_db


# --- Object-level rules ---------------------------------------------------------------------


def test_history_page_cannot_overwrite_a_record_read_only_to_the_user(client, world, researcher):
    """A researcher may only view officials: posting the historical version's form must
    not save it (simple_history saves any valid POST from whoever may view)."""
    official = world.official
    client.force_login(researcher)
    response = client.post(history_form_url(official), {"name": "Renamed by a researcher"})
    official.refresh_from_db()
    assert response.status_code in (403, 405)
    assert official.name == "Official Akram"


def test_history_page_cannot_revert_a_verified_record(client, world, researcher, reviewer, editor):
    """Reverting to a draft version would unlock a verified record behind the workflow."""
    incident = world.submitted
    workflow.transition(incident, workflow.Action.VERIFY, by=reviewer)
    client.force_login(researcher)
    response = client.post(history_form_url(incident), {"title": "Rewritten after review"})
    incident.refresh_from_db()
    assert response.status_code in (403, 405)
    assert incident.status == "verified"
    assert incident.title != "Rewritten after review"


def flight_day(w: SimpleNamespace) -> str:
    day = timezone.localdate(w.incident.occurred_start)
    return reverse("admin:evidence_flightobservation_timeline") + f"?day={day.isoformat()}"


# Pages that list incidents: the team's open incident is there, the restricted one is not.
RESTRICTED_PAGES = [
    url("incidents:list"),
    url("incidents:export_csv"),
    url("incidents:export_geojson"),
    url("case_report"),
    url("officials:dossier", pk("official")),
    url("officials:dossier_print", pk("official")),
    url("officials:dossier_csv", pk("official")),
    url("admin:tracker_incident_changelist"),
    url("admin:tracker_attribution_changelist"),
    url("admin:autocomplete", query=AUTOCOMPLETE),
    flight_day,
]


COUNTS_ONLY = [url("map"), url("timeline")]  # no codes: only absence can be checked


@pytest.mark.parametrize("persona", ["researcher", "reviewer", "editor"])
def test_restricted_incident_is_absent_for_the_team(request, world, persona):
    """Lists, exports, maps, reports, dossiers and admin lists hold no trace of it."""
    client = client_for(request, persona)
    world.restricted.occurred_start = world.incident.occurred_start
    world.restricted.save()
    for page in RESTRICTED_PAGES + COUNTS_ONLY:
        target = page(world)
        response = client.get(target)
        assert response.status_code == 200, target
        body = b"".join(response) if response.streaming else response.content
        assert (world.incident.code.encode() in body) is (page not in COUNTS_ONLY), target
        assert world.restricted.code.encode() not in body, target
        assert b"Restricted strike" not in body, target


def test_restricted_incident_is_listed_for_a_named_holder(client, world, researcher):
    """The same pages show it once an administrator grants the permission by name."""
    researcher.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    client.force_login(researcher)
    for target in ("/incidents/export.csv", reverse("admin:tracker_incident_changelist")):
        body = b"".join(client.get(target)) if "csv" in target else client.get(target).content
        assert world.restricted.code.encode() in body, target
    assert client.get(reverse("incidents:detail", args=[world.restricted.code])).status_code == 200


@pytest.mark.parametrize("what", ["original", "thumbnail", "preview"])
def test_protected_testimony_files_need_the_identity_permission(
    client, world, identity_holder, what
):
    target = reverse(f"evidence:{what}", args=[world.testimony.code])
    client.force_login(identity_holder)
    assert client.get(target).status_code == 200
    identity_holder.user_permissions.clear()
    client.force_login(User.objects.get(pk=identity_holder.pk))  # a fresh permission cache
    assert client.get(target).status_code == 403


@pytest.mark.parametrize("name", ["tracker_incident", "evidence_evidenceitem"])
def test_another_researchers_draft_is_read_only(client, world, other_researcher, name):
    """README: a researcher sees other researchers' drafts read-only."""
    record = world.incident if name == "tracker_incident" else world.photo
    assert record.status == "draft"
    client.force_login(other_researcher)
    change = reverse(f"admin:{name}_change", args=[record.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b'name="title"' not in page.content  # shown as text, not as a field
    response = client.post(change, {"title": "Taken over by a colleague"})
    record.refresh_from_db()
    assert response.status_code == 403
    assert record.title != "Taken over by a colleague"
