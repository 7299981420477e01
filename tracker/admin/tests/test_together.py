"""An incident's review with its evidence in the admin (tracker.admin.together)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from evidence.models import Derivative, EvidenceItem, EvidenceLink
from tracker.display import time_with_zone
from tracker.models import Incident, ReviewStatus, Sensitivity
from tracker.tests import factories as f
from tracker.workflow import Action, transition

S = ReviewStatus
pytestmark = pytest.mark.django_db


def review_url(record, action):
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_review", args=[record.pk, action])


def together_url(incident):
    return reverse("admin:tracker_incident_review_together", args=[incident.pk])


def change_url(record):
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def incident(researcher):
    """A strike relying on three draft photos of its author."""
    incident = f.IncidentFactory(created_by=researcher, title="Strike on the market")
    for _ in range(3):
        item = f.EvidenceItemFactory(created_by=researcher)
        EvidenceLink.objects.create(item=item, incident=incident)
    return incident


def items_of(incident):
    return [link.item for link in incident.evidence_links.select_related("item").order_by("pk")]


def test_submitting_says_what_it_relies_on_that_is_still_a_draft(client, researcher, incident):
    client.force_login(researcher)
    page = client.get(review_url(incident, Action.SUBMIT)).content.decode()
    assert "relies on 3 records not yet submitted" in page
    for item in items_of(incident):
        assert item.code in page


def test_submitting_with_its_drafts_submits_them_all(client, researcher, incident):
    client.force_login(researcher)
    answer = client.post(
        review_url(incident, Action.SUBMIT), {"with_parts": "on", "comment": ""}, follow=True
    )
    said = " ".join(messages_of(answer))
    assert "submitted for review, with 3 of the records it relies on" in said
    assert {i.status for i in items_of(incident)} == {S.SUBMITTED}
    assert Incident.objects.get(pk=incident.pk).status == S.SUBMITTED


def test_submitting_alone_warns_of_the_drafts_left(client, researcher, incident):
    client.force_login(researcher)
    answer = client.post(review_url(incident, Action.SUBMIT), {"comment": ""}, follow=True)
    said = " ".join(messages_of(answer))
    assert "relies on records not yet submitted" in said
    assert {i.status for i in items_of(incident)} == {S.DRAFT}
    assert Incident.objects.get(pk=incident.pk).status == S.SUBMITTED


def test_an_incident_without_drafts_is_submitted_as_before(client, researcher):
    bare = f.IncidentFactory(created_by=researcher)
    client.force_login(researcher)
    page = client.get(review_url(bare, Action.SUBMIT)).content.decode()
    assert "not yet submitted" not in page and "Comment" in page


def test_someone_elses_incident_is_refused_and_nothing_moves(client, other_researcher, incident):
    client.force_login(other_researcher)
    answer = client.post(review_url(incident, Action.SUBMIT), {"with_parts": "on"}, follow=True)
    assert any("Only the author" in m for m in messages_of(answer))
    assert {i.status for i in items_of(incident)} == {S.DRAFT}


@pytest.fixture
def submitted(client, researcher, incident):
    client.force_login(researcher)
    client.post(review_url(incident, Action.SUBMIT), {"with_parts": "on"})
    client.logout()
    incident.refresh_from_db()
    return incident


def test_the_reviewer_is_offered_one_pass_from_the_incident(client, reviewer, submitted):
    client.force_login(reviewer)
    page = client.get(change_url(submitted)).content.decode()
    assert together_url(submitted) in page and "Review with its evidence" in page


def test_the_one_pass_page_shows_each_item_with_its_thumbnail_and_page(client, reviewer, submitted):
    first = items_of(submitted)[0]
    Derivative.objects.create(
        item=first, kind=Derivative.Kind.THUMBNAIL, path="x.jpg", sha256="0" * 64, width=1, height=1
    )
    client.force_login(reviewer)
    page = client.get(together_url(submitted)).content.decode()
    assert reverse("evidence:thumbnail", args=[first.code]) in page
    for item in items_of(submitted):
        assert change_url(item) in page
    assert page.count('type="radio"') == 4 * 4  # three items and the incident


def test_the_one_pass_page_shows_each_items_facts_and_custody(client, reviewer, submitted):
    taken = datetime(2019, 5, 5, 7, 30, tzinfo=UTC)
    for n, item in enumerate(items_of(submitted)):
        EvidenceItem.objects.filter(pk=item.pk).update(sha256=f"{n}" * 64)
    EvidenceItem.objects.filter(pk=items_of(submitted)[0].pk).update(captured_at=taken)
    client.force_login(reviewer)
    page = client.get(together_url(submitted)).content.decode()
    for item in items_of(submitted):
        card = page[page.index(f'id="review-evidenceitem-{item.pk}"') :]
        card = card[: card.index("</fieldset>")]
        assert f"<dt>Kind</dt><dd>{item.get_kind_display()}</dd>" in card
        assert f"<code>{item.sha256[:16]}…</code>" in card
        events = item.custody_events.count()
        assert f"<dt>Custody</dt><dd>{events} event" in card and "#custody_events-group" in card
    first = page[page.index(f'id="review-evidenceitem-{items_of(submitted)[0].pk}"') :]
    assert (
        f"<dt>Captured</dt><dd>{time_with_zone(taken)}</dd>" in first[: first.index("</fieldset>")]
    )


def test_one_pass_verifies_the_evidence_then_the_incident(client, reviewer, submitted):
    client.force_login(reviewer)
    data = {f"action-evidenceitem-{i.pk}": Action.VERIFY for i in items_of(submitted)}
    data["action-incident"] = Action.VERIFY
    answer = client.post(together_url(submitted), data, follow=True)
    assert answer.redirect_chain[-1][0] == change_url(submitted)
    assert {i.status for i in items_of(submitted)} == {S.VERIFIED}
    assert Incident.objects.get(pk=submitted.pk).status == S.VERIFIED


def test_a_missing_comment_applies_nothing(client, reviewer, submitted):
    client.force_login(reviewer)
    first, *others = items_of(submitted)
    data = {f"action-evidenceitem-{i.pk}": Action.VERIFY for i in others}
    data[f"action-evidenceitem-{first.pk}"] = Action.REQUEST_CHANGES
    answer = client.post(together_url(submitted), data)
    assert answer.status_code == 200
    assert "needs a comment saying why" in answer.content.decode()
    assert {i.status for i in items_of(submitted)} == {S.SUBMITTED}


@pytest.mark.parametrize("action", ["publish", "reopen", "submit", "nonsense"])
def test_an_action_not_offered_is_an_invalid_choice(client, reviewer, submitted, action):
    client.force_login(reviewer)
    first = items_of(submitted)[0]
    answer = client.post(together_url(submitted), {f"action-evidenceitem-{first.pk}": action})
    assert answer.status_code == 200 and "Select a valid choice" in answer.content.decode()
    first.refresh_from_db()
    assert first.status == S.SUBMITTED


def test_a_record_not_on_the_page_is_ignored(client, reviewer, submitted, researcher):
    stranger = f.EvidenceItemFactory(created_by=researcher)
    transition(stranger, Action.SUBMIT, by=researcher)
    client.force_login(reviewer)
    client.post(together_url(submitted), {f"action-evidenceitem-{stranger.pk}": "verify"})
    stranger.refresh_from_db()
    assert stranger.status == S.SUBMITTED


def test_a_researcher_has_nothing_to_decide(client, other_researcher, submitted):
    client.force_login(other_researcher)
    first = items_of(submitted)[0]
    page = client.get(together_url(submitted)).content.decode()
    assert "Nothing here is waiting for your review" in page
    client.post(together_url(submitted), {f"action-evidenceitem-{first.pk}": "verify"})
    first.refresh_from_db()
    assert first.status == S.SUBMITTED


def test_a_restricted_incident_is_not_there_for_others(client, reviewer, submitted):
    Incident.objects.filter(pk=submitted.pk).update(sensitivity=Sensitivity.RESTRICTED)
    client.force_login(reviewer)
    assert client.get(together_url(submitted)).status_code == 404
    assert client.post(together_url(submitted), {"action-incident": "verify"}).status_code == 404
    assert client.get(review_url(submitted, Action.SUBMIT)).status_code == 404


def test_view_on_site_opens_the_incidents_page(client, researcher, incident):
    client.force_login(researcher)
    page = client.get(change_url(incident))
    on_site = page.context["original"] and reverse(
        "admin:view_on_site",
        args=[page.context["content_type_id"], incident.pk],
    )
    assert on_site in page.content.decode()
    answer = client.get(on_site)
    assert answer.status_code == 302
    assert answer.url.endswith(reverse("incidents:detail", args=[incident.code]))
    assert client.get(answer.url).status_code == 200
