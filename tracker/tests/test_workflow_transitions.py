"""tracker.workflow: every allowed and refused transition, by role and by state.

The full path on each kind of record, one event per step; who may take which step and
from which state; the evidence and attributions an incident's verification waits for;
the mail each step sends; two reviewers at once, of whom exactly one wins. The records
(``incident``, ``item``, ``attribution``) are the fixtures of ``conftest.py``.
"""

from __future__ import annotations

import re
import threading

import pytest
from django.core import mail
from django.db import connection

from evidence.models import EvidenceItem
from tracker import workflow
from tracker.models import Attribution, Incident, ReviewEvent, ReviewStatus
from tracker.tests import factories as f
from tracker.tests.seed import ensure_seed_data
from tracker.tests.transitions import refused, submitted
from tracker.workflow import Action, TransitionError, transition

S = ReviewStatus
pytestmark = pytest.mark.django_db


# --- The happy path, on both kinds of record --------------------------------------------


@pytest.mark.parametrize("kind", ["incident", "item", "attribution"])
def test_full_path_writes_one_event_per_step(kind, request, researcher, reviewer, editor):
    record = request.getfixturevalue(kind)
    steps = [
        (Action.SUBMIT, researcher, "", S.SUBMITTED),
        (Action.REQUEST_CHANGES, reviewer, "Add the second photo.", S.CHANGES_REQUESTED),
        (Action.SUBMIT, researcher, "", S.SUBMITTED),
        (Action.VERIFY, reviewer, "", S.VERIFIED),
        (Action.PUBLISH, editor, "", S.PUBLISHED),
        (Action.REOPEN, editor, "New footage contradicts the time.", S.DRAFT),
    ]
    for action, user, comment, status in steps:
        event = transition(record, action, by=user, comment=comment)
        record.refresh_from_db()
        assert record.status == status
        assert (event.actor, event.to_status, event.comment) == (user, status, comment)
    events = ReviewEvent.objects.filter(object_id=record.pk).order_by("at", "id")
    assert [e.action for e in events] == [a for a, *_ in steps]
    assert [e.from_status for e in events][1:] == [e.to_status for e in events][:-1]


def test_reviewer_rejects_with_a_comment(incident, researcher, reviewer):
    submitted(incident, researcher)
    transition(incident, Action.REJECT, by=reviewer, comment="Duplicate of INC-0002.")
    assert Incident.objects.get(pk=incident.pk).status == S.REJECTED


def test_editor_may_submit_for_the_author(incident, editor):
    transition(incident, Action.SUBMIT, by=editor)
    assert incident.status == S.SUBMITTED


# --- Refusals -------------------------------------------------------------------------


def test_only_the_author_or_an_editor_submits(incident, other_researcher, reviewer):
    refused(incident, Action.SUBMIT, other_researcher, match="Only the author")
    refused(incident, Action.SUBMIT, reviewer, match="Only the author")


def test_researcher_cannot_review(incident, researcher, other_researcher):
    submitted(incident, researcher)
    refused(incident, Action.VERIFY, other_researcher, match="Only reviewers")
    refused(incident, Action.REQUEST_CHANGES, other_researcher, comment="x", match="Only review")


def test_request_changes_and_reject_need_a_comment(incident, researcher, reviewer):
    submitted(incident, researcher)
    refused(incident, Action.REQUEST_CHANGES, reviewer, match="needs a comment")
    refused(incident, Action.REJECT, reviewer, comment="   ", match="needs a comment")


def test_publish_only_from_verified_and_only_by_an_editor(incident, researcher, reviewer, editor):
    submitted(incident, researcher)
    refused(incident, Action.PUBLISH, editor, match="only possible from verified")
    transition(incident, Action.VERIFY, by=reviewer)
    refused(incident, Action.PUBLISH, reviewer, match="Only editors can publish")
    refused(incident, Action.PUBLISH, researcher, match="Only editors can publish")


def test_reopen_needs_an_editor_and_a_reason(incident, researcher, reviewer, editor):
    submitted(incident, researcher)
    transition(incident, Action.VERIFY, by=reviewer)
    refused(incident, Action.REOPEN, editor, match="needs a comment")
    refused(incident, Action.REOPEN, reviewer, comment="why", match="Only editors can reopen")
    transition(incident, Action.REOPEN, by=editor, comment="New footage.")
    assert incident.status == S.DRAFT


def test_draft_cannot_be_verified(incident, reviewer):
    refused(incident, Action.VERIFY, reviewer, match="only possible from submitted")


def test_unknown_action_is_refused(incident, researcher):
    refused(incident, "approve", researcher, match="Unknown action")


def test_incident_needs_its_relied_on_evidence_verified(incident, researcher, reviewer):
    link = f.EvidenceLinkFactory(incident=incident, item__created_by=researcher)
    submitted(incident, researcher)
    refused(incident, Action.VERIFY, reviewer, match=f"not yet verified: {link.item.code}")
    link.relied_on = False
    link.save()
    transition(incident, Action.VERIFY, by=reviewer)


def test_incident_verifies_once_its_evidence_is_verified(incident, researcher, reviewer):
    link = f.EvidenceLinkFactory(incident=incident, item__created_by=researcher)
    submitted(incident, researcher)
    submitted(link.item, researcher)
    transition(link.item, Action.VERIFY, by=reviewer)
    transition(incident, Action.VERIFY, by=reviewer)
    assert incident.status == S.VERIFIED


# --- Attributions -----------------------------------------------------------------------


def test_attribution_roles(attribution, researcher, other_researcher, reviewer, editor):
    label = f"{attribution.incident.code}'s attribution to {attribution}"
    refused(attribution, Action.SUBMIT, other_researcher, match=re.escape(f"author of {label}"))
    submitted(attribution, researcher)
    refused(attribution, Action.VERIFY, other_researcher, match="Only reviewers can review")
    transition(attribution, Action.VERIFY, by=reviewer)
    refused(attribution, Action.PUBLISH, reviewer, match="Only editors can publish")
    transition(attribution, Action.PUBLISH, by=editor)
    refused(attribution, Action.REOPEN, reviewer, comment="why", match="Only editors can reopen")
    assert Attribution.objects.get(pk=attribution.pk).status == S.PUBLISHED


def test_attribution_without_evidence_is_not_verified(researcher, reviewer):
    from tracker.responsibility.chain import NO_EVIDENCE

    attribution = submitted(f.AttributionFactory(created_by=researcher), researcher)
    refused(attribution, Action.VERIFY, reviewer, match=NO_EVIDENCE)
    assert ("verify", NO_EVIDENCE) in workflow.blocked_actions(attribution, reviewer)
    transition(attribution, Action.REQUEST_CHANGES, by=reviewer, comment="Cite the flight log.")


def test_stale_record_is_told_it_changed(incident, researcher, reviewer, editor):
    submitted(incident, researcher)
    stale = Incident.objects.get(pk=incident.pk)
    transition(incident, Action.VERIFY, by=reviewer)
    with pytest.raises(TransitionError, match="changed meanwhile: it is now verified"):
        transition(stale, Action.REJECT, by=editor, comment="no")


# --- Notifications --------------------------------------------------------------------


def test_mail_to_reviewers_on_submit_and_to_the_author_on_review(
    incident, researcher, reviewer, django_capture_on_commit_callbacks
):
    researcher.email, reviewer.email = "r@example.org", "rev@example.org"
    researcher.save()
    reviewer.save()
    with django_capture_on_commit_callbacks(execute=True):
        submitted(incident, researcher)
    assert [m.to for m in mail.outbox] == [["rev@example.org"]]
    assert incident.code in mail.outbox[0].subject
    with django_capture_on_commit_callbacks(execute=True):
        transition(incident, Action.REQUEST_CHANGES, by=reviewer, comment="Which hospital?")
    assert mail.outbox[1].to == ["r@example.org"]
    assert "Which hospital?" in mail.outbox[1].body


# --- Two reviewers at once ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_at_once_exactly_one_wins():
    ensure_seed_data()
    users = [f.UserFactory(username=n) for n in ("author", "rev_a", "rev_b")]
    from django.contrib.auth.models import Group

    for user in users[1:]:
        user.groups.add(Group.objects.get(name="Reviewer"))
    record = f.EvidenceItemFactory(created_by=users[0])
    transition(record, Action.SUBMIT, by=users[0])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def review(user, action, comment):
        try:
            mine = EvidenceItem.objects.get(pk=record.pk)
            barrier.wait(timeout=10)
            transition(mine, action, by=user, comment=comment)
            outcomes.append("won")
        except TransitionError as exc:
            outcomes.append(f"refused: {exc}")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=review, args=(users[1], Action.VERIFY, "")),
        threading.Thread(target=review, args=(users[2], Action.REJECT, "Not the same site.")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(o.split(":")[0] for o in outcomes) == ["refused", "won"]
    assert any("changed meanwhile" in o for o in outcomes)
    assert ReviewEvent.objects.filter(object_id=record.pk).count() == 2  # submit + the winner


# --- Gaps found by mutation (issue 15): each rule stated by a test that fails without it ----


@pytest.mark.parametrize("locked", [S.VERIFIED, S.PUBLISHED, S.REJECTED])
def test_no_submit_from_a_locked_state(incident, researcher, editor, locked):
    """Submitting would make a locked record editable again without an editor's reopen."""
    type(incident).objects.filter(pk=incident.pk).update(status=locked)
    incident.refresh_from_db()
    refused(incident, Action.SUBMIT, researcher, match="only possible from")
    refused(incident, Action.SUBMIT, editor, match="only possible from")


@pytest.mark.parametrize("locked", [S.VERIFIED, S.PUBLISHED, S.REJECTED])
def test_a_locked_record_is_edited_by_nobody_and_reopened_by_an_editor(
    incident, researcher, reviewer, editor, locked
):
    type(incident).objects.filter(pk=incident.pk).update(status=locked)
    incident.refresh_from_db()
    assert not any(workflow.can_edit(incident, u) for u in (researcher, reviewer, editor))
    refused(incident, Action.REOPEN, reviewer, comment="why", match="Only editors")
    transition(incident, Action.REOPEN, by=editor, comment="New evidence.")
    assert incident.status == S.DRAFT


def test_rejected_work_is_reopened_with_a_reason(incident, researcher, reviewer, editor):
    submitted(incident, researcher)
    transition(incident, Action.REJECT, by=reviewer, comment="Not our case.")
    refused(incident, Action.REOPEN, editor, match="needs a comment")
    transition(incident, Action.REOPEN, by=editor, comment="It is after all.")
    assert incident.status == S.DRAFT


def test_merely_submitted_evidence_does_not_let_an_incident_be_verified(
    incident, researcher, reviewer
):
    item = f.EvidenceItemFactory(created_by=researcher)
    f.EvidenceLinkFactory(incident=incident, item=item)
    submitted(item, researcher)
    submitted(incident, researcher)
    refused(incident, Action.VERIFY, reviewer, match=f"not yet verified: {item.code}")


def test_an_inactive_account_takes_no_action(incident, researcher, reviewer):
    researcher.is_active = False
    researcher.save()
    refused(incident, Action.SUBMIT, researcher, match="inactive")
    researcher.is_active = True
    researcher.save()
    submitted(incident, researcher)
    reviewer.is_active = False
    reviewer.save()
    refused(incident, Action.VERIFY, reviewer, match="inactive")


def test_blocked_actions_say_why_a_button_is_missing(incident, researcher, reviewer):
    item = f.EvidenceItemFactory(created_by=researcher)
    f.EvidenceLinkFactory(incident=incident, item=item)
    submitted(incident, researcher)
    blocked = dict(workflow.blocked_actions(incident, reviewer))
    assert set(blocked) == {"verify"}  # request changes and reject stay possible
    assert f"relies on evidence not yet verified: {item.code}" in blocked["verify"]
    assert workflow.blocked_actions(incident, researcher) == []  # not theirs to review
    own = f.IncidentFactory(created_by=reviewer)
    submitted(own, reviewer)
    blocked = dict(workflow.blocked_actions(own, reviewer))
    assert set(blocked) == {"verify", "reject"}
    assert blocked["verify"].startswith("Four eyes: you cannot verify")


# --- Mutation survivors (make mutate) -------------------------------------------------------


def test_a_transition_without_a_comment_records_none(incident, researcher, reviewer):
    event = transition(incident, Action.SUBMIT, by=researcher)
    assert ReviewEvent.objects.get(pk=event.pk).comment == ""


def test_the_history_of_a_transition_names_who_took_it_and_why(incident, researcher, reviewer):
    submitted(incident, researcher)
    transition(incident, Action.VERIFY, by=reviewer)
    entry = incident.history.first()
    assert entry.status == S.VERIFIED
    assert entry.history_user == reviewer
    assert "verify" in (entry.history_change_reason or "")


# --- A record's review events, as its pages word them -------------------------------------------


def test_review_events_are_the_records_own_worded_as_its_pages_word_them(
    incident, researcher, reviewer, django_assert_num_queries
):
    """Only this record's events (not another record's with the same id, of another
    kind or not), oldest first, each action in the panel's words; an action word no
    longer offered is shown as stored. One query, the actors included."""
    from django.contrib.contenttypes.models import ContentType

    def event(model, action, **fields):
        ReviewEvent.objects.create(
            content_type=ContentType.objects.get_for_model(model),
            object_id=incident.pk,
            action=action,
            from_status=S.SUBMITTED,
            to_status=S.SUBMITTED,
            actor=reviewer,
            **fields,
        )

    other = f.IncidentFactory(created_by=researcher)
    transition(other, Action.SUBMIT, by=researcher)
    event(EvidenceItem, "verify")  # an item's event with the incident's id
    event(Attribution, "verify")  # an attribution's (the same app) with the incident's id
    transition(incident, Action.SUBMIT, by=researcher)
    transition(incident, Action.REQUEST_CHANGES, by=reviewer, comment="Which street?")
    event(Incident, "escalate")  # an action of an earlier version
    with django_assert_num_queries(1):
        found = workflow.review_events(incident)
        actors = [event.actor.username for event, _ in found]
    assert [word for _, word in found] == ["submit for review", "request changes", "escalate"]
    assert actors == ["researcher", "reviewer", "reviewer"]
    assert all(event.object_id == incident.pk for event, _ in found)
