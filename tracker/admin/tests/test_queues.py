"""The review pages: the queue grouped by incident, My work, Ready to publish."""

from __future__ import annotations

import pytest
from django.urls import reverse

from evidence.models import Derivative, EvidenceLink
from tracker import parts
from tracker.display import time_with_zone
from tracker.models import ReviewEvent, ReviewStatus
from tracker.tests import factories as f
from tracker.workflow import Action, transition

S = ReviewStatus
pytestmark = pytest.mark.django_db


def codes(group):
    return [row.record.code if hasattr(row.record, "code") else "attribution" for row in group.rows]


def test_the_queue_groups_each_incident_with_its_evidence(client, researcher, reviewer):
    first, second = (f.IncidentFactory(created_by=researcher) for _ in range(2))
    photos = [f.EvidenceItemFactory(created_by=researcher) for _ in range(3)]
    EvidenceLink.objects.create(item=photos[0], incident=first)
    EvidenceLink.objects.create(item=photos[1], incident=second)
    attribution = f.AttributionFactory(incident=second, created_by=researcher)
    parts.submit_together(first, by=researcher)
    for record in (photos[1], attribution, photos[2]):
        transition(record, Action.SUBMIT, by=researcher)
    client.force_login(reviewer)
    page = client.get(reverse("review_queue"))
    groups = page.context["groups"]
    assert [g.incident for g in groups] == [first, second, None]
    assert codes(groups[0]) == [first.code, photos[0].code]
    # The second incident is not submitted: its submitted parts are grouped under it.
    assert codes(groups[1]) == [photos[1].code, "attribution"]
    assert codes(groups[2]) == [photos[2].code]
    body = page.content.decode()
    assert reverse("admin:tracker_incident_review_together", args=[first.pk]) in body
    assert "Evidence not linked to an incident you see" in body


def test_the_queue_shows_thumbnails_of_items_the_reviewer_may_open(client, researcher, reviewer):
    item = f.EvidenceItemFactory(created_by=researcher)
    Derivative.objects.create(
        item=item, kind=Derivative.Kind.THUMBNAIL, path="t.jpg", sha256="0" * 64, width=1, height=1
    )
    transition(item, Action.SUBMIT, by=researcher)
    client.force_login(reviewer)
    body = client.get(reverse("review_queue")).content.decode()
    assert reverse("evidence:thumbnail", args=[item.code]) in body


def test_ready_to_publish_lists_verified_records_for_editors(client, researcher, reviewer, editor):
    verified = f.IncidentFactory(created_by=researcher)
    transition(verified, Action.SUBMIT, by=researcher)
    transition(verified, Action.VERIFY, by=reviewer)
    pending = f.IncidentFactory(created_by=researcher)
    transition(pending, Action.SUBMIT, by=researcher)
    client.force_login(editor)
    page = client.get(reverse("ready_to_publish"))
    listed = [r.code for _, rows, _, _ in page.context["sections"] for r in rows]
    assert listed == [verified.code]
    publish = reverse("admin:tracker_incident_review", args=[verified.pk, "publish"])
    assert publish in page.content.decode()
    index = client.get(reverse("admin:index")).content.decode()
    assert "Ready to publish" in index and "1 verified" in index


def test_every_list_of_the_review_names_the_zone_of_its_times(client, researcher, reviewer, editor):
    waiting, verified = (f.IncidentFactory(created_by=researcher) for _ in range(2))
    for incident in (waiting, verified):
        transition(incident, Action.SUBMIT, by=researcher)
    transition(verified, Action.VERIFY, by=reviewer)
    submitted = {
        e.object_id: time_with_zone(e.at) for e in ReviewEvent.objects.filter(action="submit")
    }
    assert all("(UTC+" in shown for shown in submitted.values())
    client.force_login(editor)
    queue = client.get(reverse("review_queue")).content.decode()
    assert submitted[waiting.pk] in queue
    ready = client.get(reverse("ready_to_publish")).content.decode()
    assert submitted[verified.pk] in ready
    events = client.get(reverse("admin:tracker_reviewevent_changelist")).content.decode()
    assert all(time_with_zone(e.at) in events for e in ReviewEvent.objects.all())


def test_ready_to_publish_is_empty_for_a_reviewer(client, researcher, reviewer):
    verified = f.IncidentFactory(created_by=researcher)
    transition(verified, Action.SUBMIT, by=researcher)
    transition(verified, Action.VERIFY, by=reviewer)
    client.force_login(reviewer)
    page = client.get(reverse("ready_to_publish"))
    assert page.context["sections"] == []
    assert "Ready to publish" not in client.get(reverse("admin:index")).content.decode()


def test_an_item_is_never_grouped_under_an_incident_the_reviewer_may_not_see(
    client, researcher, reviewer
):
    from tracker.models import Sensitivity

    hidden = f.IncidentFactory(
        created_by=researcher, sensitivity=Sensitivity.RESTRICTED, title="SECRET clinic"
    )
    shown = f.IncidentFactory(created_by=researcher)
    item = f.EvidenceItemFactory(created_by=researcher)
    for incident in (hidden, shown):  # the hidden one comes first by code
        EvidenceLink.objects.create(item=item, incident=incident)
    transition(item, Action.SUBMIT, by=researcher)
    client.force_login(reviewer)
    page = client.get(reverse("review_queue"))
    assert [g.incident for g in page.context["groups"]] == [shown]
    assert hidden.code not in page.content.decode() and "SECRET" not in page.content.decode()
