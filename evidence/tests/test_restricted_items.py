"""Evidence that stands only behind restricted incidents is as restricted as they are.

For someone without ``tracker.view_restricted_incident`` such an item does not exist:
not in the admin's lists or pages, not through its files, not in the custody or review
logs. An item that also concerns an incident the team may see stays visible, without
its link to the restricted one.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from evidence import intake
from evidence.models import EvidenceLink
from evidence.tests.files import make_jpeg
from evidence.tests.views_helpers import add_derivative
from tracker import workflow
from tracker.models import Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


def ingest(by, incident, colour=(200, 30, 30)):
    item = intake.ingest(
        io.BytesIO(make_jpeg(colour=colour)),
        filename="strike.jpg",
        kind="photo",
        by=by,
        incident=incident,
    ).item
    add_derivative(item, "thumbnail", make_jpeg(size=(32, 24), gps=False))
    return item


def named(user):
    """``user`` becomes one of the named people who see restricted incidents."""
    user.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    for cache in ("_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(cache, None)
    return user


@pytest.fixture
def case(researcher, other_researcher):
    named(other_researcher)  # the author of the restricted incident may see it
    restricted = f.IncidentFactory(
        title="Restricted strike on the clinic",
        sensitivity=Sensitivity.RESTRICTED,
        created_by=other_researcher,
    )
    open_incident = f.IncidentFactory(title="Open strike on the bakery")
    hidden = ingest(other_researcher, restricted)
    hidden.title = "Photo of the protected clinic"
    hidden.save()
    shared = ingest(other_researcher, open_incident, colour=(30, 200, 30))
    EvidenceLink.objects.create(item=shared, incident=restricted, relevance="same crater")
    workflow.transition(hidden, workflow.Action.SUBMIT, by=other_researcher, comment="")
    workflow.transition(restricted, workflow.Action.SUBMIT, by=other_researcher)
    return {"restricted": restricted, "open": open_incident, "hidden": hidden, "shared": shared}


def as_user(client, user):
    client.force_login(user)
    return client


def body(response) -> bytes:
    return b"".join(response) if response.streaming else response.content


LISTS = [
    "admin:evidence_evidenceitem_changelist",
    "admin:evidence_custodyevent_changelist",
    "admin:tracker_reviewevent_changelist",
]


@pytest.mark.parametrize("name", LISTS)
def test_lists_do_not_show_an_item_of_restricted_incidents_only(client, reviewer, case, name):
    response = as_user(client, reviewer).get(reverse(name))
    assert response.status_code == 200
    assert case["hidden"].code.encode() not in response.content
    assert b"protected clinic" not in response.content
    if name == "admin:evidence_evidenceitem_changelist":
        assert case["shared"].code.encode() in response.content


def test_review_log_hides_the_restricted_incident_s_steps(client, reviewer, case):
    events = as_user(client, reviewer).get(reverse("admin:tracker_reviewevent_changelist"))
    shown = {(e.content_type.model, e.object_id) for e in events.context["cl"].result_list}
    assert ("incident", case["restricted"].pk) not in shown
    assert ("evidenceitem", case["hidden"].pk) not in shown


@pytest.mark.parametrize(
    "route", ["admin:evidence_evidenceitem_change", "admin:evidence_evidenceitem_history"]
)
def test_the_item_s_admin_pages_answer_404(client, reviewer, case, route):
    response = as_user(client, reviewer).get(reverse(route, args=[case["hidden"].pk]))
    assert response.status_code in (302, 404)
    if response.status_code == 302:  # the admin's "does not exist" redirect to the index
        assert case["hidden"].code not in response["Location"]


@pytest.mark.parametrize("route", ["evidence:original", "evidence:thumbnail"])
def test_the_item_s_files_answer_as_an_unknown_code(client, reviewer, case, route):
    hidden = as_user(client, reviewer).get(reverse(route, args=[case["hidden"].code]))
    unknown = client.get(reverse(route, args=["EV-999999"]))
    assert hidden.status_code == unknown.status_code == 404


def test_a_shared_item_shows_its_open_link_only(client, reviewer, case):
    page = as_user(client, reviewer).get(
        reverse("admin:evidence_evidenceitem_change", args=[case["shared"].pk])
    )
    assert page.status_code == 200
    assert case["open"].code.encode() in page.content
    assert case["restricted"].code.encode() not in page.content
    assert b"same crater" not in page.content


def test_a_named_holder_sees_the_item_and_its_files(client, reviewer, case):
    reviewer.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    client = as_user(client, reviewer)
    listing = client.get(reverse("admin:evidence_evidenceitem_changelist"))
    assert case["hidden"].code.encode() in listing.content
    assert client.get(reverse("evidence:thumbnail", args=[case["hidden"].code])).status_code == 200
    page = client.get(reverse("admin:evidence_evidenceitem_change", args=[case["shared"].pk]))
    assert case["restricted"].code.encode() in page.content


def test_an_item_without_any_incident_stays_visible(client, reviewer, researcher):
    loose = intake.ingest(
        io.BytesIO(make_jpeg()), filename="loose.jpg", kind="photo", by=researcher
    ).item
    listing = as_user(client, reviewer).get(reverse("admin:evidence_evidenceitem_changelist"))
    assert loose.code.encode() in listing.content
