"""The review workflow through the admin: buttons, crafted POSTs, bulk actions,
locking, the review queue and My work."""

from __future__ import annotations

import pytest
from django.urls import reverse

from evidence.corroboration import rules
from evidence.models import EvidenceItem
from tracker.models import Attribution, Incident, ReviewEvent, ReviewStatus
from tracker.tests import factories as f
from tracker.workflow import Action, transition

S = ReviewStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(researcher):
    return f.IncidentFactory(created_by=researcher, title="Strike on the market")


def review_url(record, action):
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_review", args=[record.pk, action])


def change_url(record):
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_change_page_offers_only_the_users_buttons(client, incident, researcher, reviewer):
    client.force_login(researcher)
    body = client.get(change_url(incident)).content.decode()
    assert review_url(incident, "submit") in body
    assert review_url(incident, "verify") not in body
    transition(incident, Action.SUBMIT, by=researcher)
    client.force_login(reviewer)
    body = client.get(change_url(incident)).content.decode()
    for action in ("request_changes", "verify", "reject"):
        assert review_url(incident, action) in body
    assert review_url(incident, "publish") not in body


def test_button_leads_to_a_comment_page_then_transitions(client, incident, researcher, reviewer):
    transition(incident, Action.SUBMIT, by=researcher)
    client.force_login(reviewer)
    page = client.get(review_url(incident, "request_changes"))
    assert page.status_code == 200 and "Comment" in page.content.decode()
    done = client.post(
        review_url(incident, "request_changes"), {"comment": "Which hospital?"}, follow=True
    )
    incident.refresh_from_db()
    assert incident.status == S.CHANGES_REQUESTED
    assert "now changes requested" in " ".join(messages_of(done))
    event = ReviewEvent.objects.get(action="request_changes")
    assert (event.actor, event.comment) == (reviewer, "Which hospital?")
    assert "Which hospital?" in client.get(change_url(incident)).content.decode()  # timeline


def test_crafted_post_verifying_own_work_is_refused(client, reviewer):
    own = f.IncidentFactory(created_by=reviewer)
    transition(own, Action.SUBMIT, by=reviewer)
    client.force_login(reviewer)
    response = client.post(review_url(own, "verify"), {}, follow=True)
    own.refresh_from_db()
    assert own.status == S.SUBMITTED
    assert any("Four eyes" in m for m in messages_of(response))


def test_request_changes_without_comment_is_refused_and_asks_again(
    client, incident, researcher, reviewer
):
    transition(incident, Action.SUBMIT, by=researcher)
    client.force_login(reviewer)
    response = client.post(review_url(incident, "request_changes"), {"comment": ""})
    assert response.status_code == 200  # the comment page again
    incident.refresh_from_db()
    assert incident.status == S.SUBMITTED


def test_verified_record_is_read_only_in_form_and_inlines(client, incident, researcher, reviewer):
    transition(incident, Action.SUBMIT, by=researcher)
    transition(incident, Action.VERIFY, by=reviewer)
    client.force_login(researcher)
    page = client.get(change_url(incident))
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert 'name="_save"' not in page.content.decode()
    post = client.post(change_url(incident), {"title": "Rewritten after verification"})
    assert post.status_code == 403
    incident.refresh_from_db()
    assert incident.title == "Strike on the market"
    for inline in page.context["inline_admin_formsets"]:
        assert not inline.has_add_permission and not inline.has_change_permission


def test_researcher_sees_anothers_draft_read_only(client, incident, other_researcher):
    client.force_login(other_researcher)
    page = client.get(change_url(incident))
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert client.post(change_url(incident), {"title": "Not mine"}).status_code == 403


def test_bulk_verify_shows_a_page_then_reports_each_refusal(client, researcher, reviewer):
    mine = f.IncidentFactory(created_by=reviewer)
    theirs = f.IncidentFactory(created_by=researcher)
    for record, author in ((mine, reviewer), (theirs, researcher)):
        transition(record, Action.SUBMIT, by=author)
    client.force_login(reviewer)
    url = reverse("admin:tracker_incident_changelist")
    data = {"action": "verify_selected", "_selected_action": [mine.pk, theirs.pk]}
    confirm = client.post(url, data)
    assert confirm.status_code == 200 and "Verify: confirm" in confirm.content.decode()
    assert Incident.objects.filter(status=S.VERIFIED).count() == 0
    done = client.post(url, {**data, "apply": "1", "comment": ""}, follow=True)
    shown = " ".join(messages_of(done))
    assert f"Verify done for 1: {theirs.code}" in shown
    assert f"Refused — {mine.code}: Four eyes" in shown
    assert set(Incident.objects.filter(status=S.VERIFIED)) == {theirs}


def test_review_actions_are_not_offered_to_researchers(client, researcher):
    client.force_login(researcher)
    page = client.get(reverse("admin:tracker_incident_changelist"))
    choices = [value for value, _ in page.context["action_form"].fields["action"].choices]
    assert "submit_selected" in choices
    assert "verify_selected" not in choices and "publish_selected" not in choices
    assert "delete_selected" not in choices


def test_bulk_delete_is_gone_and_reviewed_records_cannot_be_deleted(
    client, incident, researcher, editor
):
    transition(incident, Action.SUBMIT, by=researcher)
    client.force_login(editor)
    url = reverse("admin:tracker_incident_delete", args=[incident.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_queue_and_my_work(client, researcher, reviewer):
    drafts = [f.IncidentFactory(created_by=researcher) for _ in range(2)]
    transition(drafts[0], Action.SUBMIT, by=researcher)
    own = f.EvidenceItemFactory(created_by=reviewer)
    transition(own, Action.SUBMIT, by=reviewer)
    client.force_login(reviewer)
    queue = client.get(reverse("review_queue"))
    listed = [row.record.code for group in queue.context["groups"] for row in group.rows]
    assert listed == [drafts[0].code]  # not the reviewer's own submission
    client.force_login(researcher)
    mine = client.get(reverse("my_work"))
    listed = [r.code for _, rows, _, _ in mine.context["sections"] for r in rows]
    assert listed == [drafts[1].code]
    index = client.get(reverse("admin:index")).content.decode()
    assert "Review queue" in index and "1 drafts and changes requested" in index


def test_queue_query_count_does_not_grow(
    client, researcher, reviewer, django_assert_max_num_queries
):
    def submit(n):
        for _ in range(n):
            transition(f.IncidentFactory(created_by=researcher), Action.SUBMIT, by=researcher)
            item = f.EvidenceItemFactory(created_by=researcher)
            transition(item, Action.SUBMIT, by=researcher)

    client.force_login(reviewer)
    submit(2)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        client.get(reverse("review_queue"))
    submit(10)
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse("review_queue"))
    assert response.context["total"] == 24
    assert len(large) == len(small)


def test_evidence_items_have_the_same_workflow(client, researcher, reviewer):
    item = f.EvidenceItemFactory(created_by=researcher)
    client.force_login(researcher)
    client.post(review_url(item, "submit"), {})
    client.force_login(reviewer)
    client.post(review_url(item, "verify"), {})
    assert EvidenceItem.objects.get(pk=item.pk).status == S.VERIFIED


# --- Attributions ---------------------------------------------------------------------------


@pytest.fixture
def attribution(incident, researcher):
    attribution = f.AttributionFactory(incident=incident, created_by=researcher)
    attribution.supporting_evidence.add(f.EvidenceItemFactory(created_by=researcher))
    return attribution


def test_attribution_page_has_the_review_panel(client, attribution, researcher, reviewer):
    label = f"{attribution.incident.code}'s attribution to {attribution}"
    client.force_login(researcher)
    assert review_url(attribution, "submit") in client.get(change_url(attribution)).content.decode()
    client.post(review_url(attribution, "submit"), {})
    client.force_login(reviewer)
    body = client.get(change_url(attribution)).content.decode()
    assert review_url(attribution, "verify") in body
    done = client.post(review_url(attribution, "verify"), {}, follow=True)
    assert f"{label}: verify — now verified." in messages_of(done)
    attribution.refresh_from_db()
    assert attribution.status == S.VERIFIED
    event = ReviewEvent.objects.get(action="verify")
    assert (event.record, event.actor) == (attribution, reviewer)
    page = client.get(change_url(attribution))
    assert not page.context["has_change_permission"]  # locked once verified


def test_bulk_review_of_attributions_names_each_one(client, incident, researcher, reviewer):
    mine = f.AttributionFactory(incident=incident, created_by=reviewer)
    theirs = f.AttributionFactory(incident=incident, created_by=researcher)
    for record, author in ((mine, reviewer), (theirs, researcher)):
        record.supporting_evidence.add(f.EvidenceItemFactory())
        transition(record, Action.SUBMIT, by=author)
    client.force_login(reviewer)
    url = reverse("admin:tracker_attribution_changelist")
    data = {"action": "verify_selected", "_selected_action": [mine.pk, theirs.pk]}
    assert "Verify: confirm" in client.post(url, data).content.decode()
    done = client.post(url, {**data, "apply": "1", "comment": ""}, follow=True)
    shown = " ".join(messages_of(done))
    assert f"Verify done for 1: {incident.code}'s attribution to {theirs}." in shown
    assert f"Refused — {incident.code}'s attribution to {mine}: Four eyes" in shown
    statuses = dict(Attribution.objects.values_list("pk", "status"))
    assert statuses == {mine.pk: S.SUBMITTED, theirs.pk: S.VERIFIED}


def test_attribution_inline_shows_relied_on_and_records_its_author(client, incident, researcher):
    client.force_login(researcher)
    page = client.get(change_url(incident))
    inline = next(
        fs for fs in page.context["inline_admin_formsets"] if fs.formset.model is Attribution
    )
    assert "relied_on" in inline.formset.form.base_fields
    data = {
        "title": incident.title,
        "occurred_start_0": "2019-05-13",
        "occurred_start_1": "09:45",
        "start_precision": "minute",
        "location_precision": "town",
        "sensitivity": "normal",
    }
    for fs in page.context["inline_admin_formsets"]:
        management = fs.formset.management_form
        for name, field in management.fields.items():
            data[f"{management.prefix}-{name}"] = management.initial.get(name, field.initial) or 0
    prefix = inline.formset.prefix
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": 1,
            f"{prefix}-0-unit": f.UnitFactory().pk,
            f"{prefix}-0-role": Attribution.Role.DIRECT,
            f"{prefix}-0-confidence": Attribution.Confidence.LOW,
        }
    )
    response = client.post(change_url(incident), data)
    assert response.status_code == 302, response.context["errors"]
    added = Attribution.objects.get(incident=incident)
    assert (added.created_by, added.relied_on) == (researcher, False)  # unticked: not posted
    transition(added, Action.SUBMIT, by=researcher)  # its author may submit it


def test_review_list_names_an_attribution_by_its_incident_and_whom_it_names(
    rf, attribution, reviewer
):
    from django.template.loader import render_to_string

    request = rf.get("/")
    request.user = reviewer
    html = render_to_string(
        "admin/tracker/review_list.html",
        {"sections": [(Attribution._meta, [attribution], 1, "")], "limit": 200},
        request=request,
    )
    assert f">{attribution.incident.code} attribution</a>" in html
    assert f"<bdi>{attribution}</bdi>" in html


def test_the_four_eyes_history_is_read_once_for_every_action_of_a_page(researcher, reviewer):
    """The review panel asks every action's rules; the history behind four eyes (the
    record's and its parts') is read once for all of them (``workflow.Facts``)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tracker import workflow

    incident = f.IncidentFactory(created_by=researcher)
    transition(incident, Action.SUBMIT, by=researcher)

    def history(queries) -> list[str]:
        return [q["sql"] for q in queries if "historical" in q["sql"]]

    with CaptureQueriesContext(connection) as once:
        workflow.changes_since_submission(incident, reviewer)
    with CaptureQueriesContext(connection) as page:
        available, blocked = workflow.actions(incident, reviewer)
    assert len(history(page.captured_queries)) == len(history(once.captured_queries)) > 0
    assert {Action.VERIFY, Action.REJECT, Action.REQUEST_CHANGES} <= set(available)
    assert blocked == []
    assert available == workflow.available_actions(incident, reviewer)


# The incident's change page for an editor: session, user, permissions, the incident,
# its form's choices, the tray, the review panel (the history read once), the
# attributions and relations inlines, the discussion. Ranked flights, fetched when their
# section is opened, are not among them. Pinned: a change that adds a query fails here.
# Constant in its links and its attributions' actors; an attribution's supporting
# evidence still costs a query (its autocomplete reads the items through the
# visibility policy, which no row held by the form may skip). The proposed grade is one
# more (its stored proposal: the grade job keeps it after every change of evidence).
CHANGE_PAGE_QUERIES = 38


def test_the_incident_change_page_has_pinned_queries_whatever_its_links_and_actors(
    client, researcher, editor
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    incident = f.IncidentFactory(created_by=researcher)
    f.AttributionFactory(incident=incident)
    f.EvidenceLinkFactory(incident=incident)
    transition(incident, Action.SUBMIT, by=researcher)
    rules.store([incident.pk])  # as the grade job does after the commit
    client.force_login(editor)
    page = reverse("admin:tracker_incident_change", args=[incident.pk])
    client.get(page)
    with CaptureQueriesContext(connection) as few:
        assert client.get(page).status_code == 200
    for _ in range(4):
        f.AttributionFactory(incident=incident)
        f.EvidenceLinkFactory(incident=incident)
    rules.store([incident.pk])
    with CaptureQueriesContext(connection) as many:
        client.get(page)
    assert len(few) == len(many) == CHANGE_PAGE_QUERIES
    # Each attribution's actor still shown as the selected option of its autocomplete.
    html = client.get(page).content.decode()
    for attribution in incident.attributions.select_related("unit"):
        assert f'<option value="{attribution.unit.pk}" selected>{attribution.unit}</option>' in html
