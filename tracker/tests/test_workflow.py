"""tracker.workflow: every allowed and refused transition, four eyes, locking."""

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
from tracker.workflow import Action, TransitionError, transition

S = ReviewStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(researcher):
    return f.IncidentFactory(created_by=researcher)


@pytest.fixture
def item(researcher):
    return f.EvidenceItemFactory(created_by=researcher)


@pytest.fixture
def attribution(researcher):
    """A draft attribution with the supporting evidence that verifying it needs."""
    attribution = f.AttributionFactory(created_by=researcher)
    attribution.supporting_evidence.add(f.EvidenceItemFactory(created_by=researcher))
    return attribution


def submitted(record, by):
    transition(record, Action.SUBMIT, by=by)
    return record


def refused(record, action, by, comment="", match=""):
    before = type(record).objects.get(pk=record.pk).status
    events = ReviewEvent.objects.count()
    with pytest.raises(TransitionError, match=match):
        transition(record, action, by=by, comment=comment)
    assert type(record).objects.get(pk=record.pk).status == before
    assert ReviewEvent.objects.count() == events


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


def test_reviewer_cannot_verify_own_submission(reviewer):
    record = f.IncidentFactory(created_by=reviewer)
    submitted(record, reviewer)
    refused(record, Action.VERIFY, reviewer, match="Four eyes: you cannot verify")
    refused(record, Action.REJECT, reviewer, comment="x", match="Four eyes: you cannot reject")


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


def test_reviewer_who_edited_a_submitted_record_cannot_verify_it(
    incident, researcher, reviewer, other_researcher
):
    submitted(incident, researcher)
    incident.title = "Edited by the reviewer"
    incident._history_user = reviewer
    incident.save()
    refused(incident, Action.VERIFY, reviewer, match="you edited INC-")
    # Another reviewer still can.
    second = f.UserFactory(username="second_reviewer")
    second.groups.add(*reviewer.groups.all())
    transition(incident, Action.VERIFY, by=second)


def test_edit_before_the_latest_submission_does_not_disqualify(incident, researcher, reviewer):
    submitted(incident, researcher)
    incident.title = "Fixed by reviewer while reviewing"
    incident._history_user = reviewer
    incident.save()
    transition(incident, Action.REQUEST_CHANGES, by=reviewer, comment="Please check my fix.")
    submitted(incident, researcher)
    transition(incident, Action.VERIFY, by=reviewer)
    assert incident.status == S.VERIFIED


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


def test_four_eyes_names_the_fields_the_reviewer_changed(incident, researcher, reviewer):
    submitted(incident, researcher)
    incident.title, incident.killed_max = "Edited by the reviewer", 9
    incident._history_user = reviewer
    incident.save()
    assert workflow.changes_since_submission(incident, reviewer) == [
        "its fields: killed max, title"
    ]
    assert workflow.changes_since_submission(incident, researcher) == []


def test_saving_an_incident_unchanged_is_no_edit(incident, researcher, reviewer):
    submitted(incident, researcher)
    incident._history_user = reviewer
    incident.save()  # e.g. its page saved for a change in an inline, which counts on its own
    assert not workflow.edited_since_submission(incident, reviewer)
    transition(incident, Action.VERIFY, by=reviewer)


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


def test_reviewer_who_edited_an_attribution_cannot_verify_it(
    attribution, researcher, reviewer, editor
):
    submitted(attribution, researcher)
    attribution.confidence = Attribution.Confidence.HIGH
    attribution._history_user = reviewer
    attribution.save()
    refused(attribution, Action.VERIFY, reviewer, match=r"\(you changed its fields: confidence\)")
    transition(attribution, Action.VERIFY, by=editor)


def test_attribution_author_is_read_from_its_history_when_not_recorded(researcher, reviewer):
    attribution = f.AttributionFactory()  # saved without created_by, as inlines once did
    attribution.history.update(history_user=researcher)
    attribution.supporting_evidence.add(f.EvidenceItemFactory())
    assert workflow.author_id(attribution) == researcher.pk
    assert workflow.can_edit(attribution, researcher)
    transition(attribution, Action.SUBMIT, by=researcher)
    refused(attribution, Action.VERIFY, researcher, match="Only reviewers")
    own = f.AttributionFactory(incident=attribution.incident)
    own.history.update(history_user=reviewer)
    own.supporting_evidence.add(f.EvidenceItemFactory())
    transition(own, Action.SUBMIT, by=reviewer)
    refused(own, Action.VERIFY, reviewer, match="Four eyes: you cannot verify")


def test_attribution_of_a_locked_incident_is_not_editable(attribution, researcher, editor):
    incident = attribution.incident
    incident.created_by = researcher
    incident.save()
    attribution.relied_on = False
    attribution.save()
    assert workflow.can_edit(attribution, editor)
    submitted(incident, researcher)
    transition(incident, Action.VERIFY, by=f.UserFactory(is_superuser=True))
    attribution.refresh_from_db()
    assert not workflow.can_edit(attribution, editor)
    assert not workflow.can_edit(attribution, researcher)


def test_stale_record_is_told_it_changed(incident, researcher, reviewer, editor):
    submitted(incident, researcher)
    stale = Incident.objects.get(pk=incident.pk)
    transition(incident, Action.VERIFY, by=reviewer)
    with pytest.raises(TransitionError, match="changed meanwhile: it is now verified"):
        transition(stale, Action.REJECT, by=editor, comment="no")


# --- Editing rules ----------------------------------------------------------------------


def test_who_may_edit_in_each_state(incident, researcher, other_researcher, reviewer, editor):
    def editors():
        return {
            u.username
            for u in (researcher, other_researcher, reviewer, editor)
            if workflow.can_edit(incident, u)
        }

    assert editors() == {"researcher", "editor"}
    submitted(incident, researcher)
    assert editors() == {"researcher", "reviewer", "editor"}
    transition(incident, Action.VERIFY, by=reviewer)
    assert editors() == set()  # locked until reopened
    transition(incident, Action.REOPEN, by=editor, comment="More evidence came in.")
    assert editors() == {"researcher", "editor"}


def test_available_actions_on_an_attribution(attribution, researcher, reviewer, editor):
    assert workflow.available_actions(attribution, researcher) == ["submit"]
    assert workflow.available_actions(attribution, reviewer) == []
    submitted(attribution, researcher)
    assert workflow.available_actions(attribution, reviewer) == [
        "request_changes",
        "verify",
        "reject",
    ]
    transition(attribution, Action.VERIFY, by=reviewer)
    assert workflow.available_actions(attribution, editor) == ["publish", "reopen"]


def test_available_actions_follow_the_rules(incident, researcher, reviewer, editor):
    assert workflow.available_actions(incident, researcher) == ["submit"]
    assert workflow.available_actions(incident, reviewer) == []
    submitted(incident, researcher)
    assert workflow.available_actions(incident, researcher) == []
    assert workflow.available_actions(incident, reviewer) == ["request_changes", "verify", "reject"]


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


def test_attribution_edits_count_only_for_the_reviewer_who_made_them(
    incident, researcher, reviewer, other_researcher
):
    """Four eyes on an incident's attributions: the reviewer's own edit disqualifies them;
    someone else's edit does not."""
    second = f.UserFactory(username="second_reviewer")
    second.groups.add(reviewer.groups.first())
    attribution = f.AttributionFactory(incident=incident, created_by=researcher)
    submitted(incident, researcher)
    attribution.basis = "changed by another researcher"
    attribution._history_user = other_researcher
    attribution.save()
    assert not workflow.edited_since_submission(incident, reviewer)
    attribution.basis = "changed by the reviewer"
    attribution._history_user = reviewer
    attribution.save()
    assert workflow.edited_since_submission(incident, reviewer)
    assert not workflow.edited_since_submission(incident, second)


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


def test_an_edit_is_compared_with_the_records_own_previous_version(incident, researcher, reviewer):
    """Four eyes names what the reviewer changed in this record, even when another record
    of the same kind was saved in between."""
    submitted(incident, researcher)
    f.IncidentFactory(created_by=researcher, title="Another incident, saved meanwhile")
    incident.title = "Edited by the reviewer"
    incident._history_user = reviewer
    incident.save()
    assert workflow.changes_since_submission(incident, reviewer) == ["its fields: title"]


def test_edits_saved_one_after_another_are_all_named(incident, researcher, reviewer):
    submitted(incident, researcher)
    incident._history_user = reviewer
    incident.title = "First edit by the reviewer"
    incident.save()
    incident.killed_max = 9
    incident.save()
    assert workflow.changes_since_submission(incident, reviewer) == [
        "its fields: killed max, title"
    ]


def test_an_edit_of_a_record_without_earlier_history_still_counts(incident, researcher, reviewer):
    """A record restored without its history (raw loads write none): the reviewer's
    edit has nothing to compare with, yet it is an edit."""
    submitted(incident, researcher)
    incident.history.all().delete()
    incident.title = "Edited by the reviewer"
    incident._history_user = reviewer
    incident.save()
    assert workflow.changes_since_submission(incident, reviewer) == ["its fields"]
    assert "(you changed its fields)" in workflow.refusal(incident, Action.VERIFY, reviewer)


def test_a_comment_is_asked_for_even_when_none_is_passed(incident, researcher, reviewer):
    submitted(incident, researcher)
    for action in (Action.REQUEST_CHANGES, Action.REJECT):
        assert "needs a comment" in workflow.refusal(incident, action, reviewer)
    with pytest.raises(TransitionError, match="needs a comment"):
        transition(incident, Action.REJECT, by=reviewer)


def test_a_transition_without_a_comment_records_none(incident, researcher, reviewer):
    event = transition(incident, Action.SUBMIT, by=researcher)
    assert ReviewEvent.objects.get(pk=event.pk).comment == ""


def test_wrong_state_refusal_names_the_record_its_state_and_every_allowed_state(
    incident, researcher
):
    type(incident).objects.filter(pk=incident.pk).update(status=S.VERIFIED)
    incident.refresh_from_db()
    assert workflow.refusal(incident, Action.SUBMIT, researcher) == (
        f"{incident.code} is verified; 'submit for review' is only possible from "
        "changes requested or draft."
    )


def test_role_refusals_say_who_may_act(incident, researcher, other_researcher):
    submitted(incident, researcher)
    assert workflow.refusal(incident, Action.VERIFY, other_researcher) == (
        "Only reviewers can review."
    )
    other_researcher.is_active = False
    assert workflow.refusal(incident, Action.VERIFY, other_researcher) == (
        "Your account is inactive."
    )


def test_every_unverified_item_is_named_in_code_order(incident, researcher, reviewer):
    items = [f.EvidenceItemFactory(created_by=researcher) for _ in range(2)]
    for item in reversed(items):
        f.EvidenceLinkFactory(incident=incident, item=item)
    submitted(incident, researcher)
    first, second = sorted(item.code for item in items)
    assert f"not yet verified: {first}, {second}. Verify it first" in workflow.refusal(
        incident, Action.VERIFY, reviewer
    )


def test_every_unverified_attribution_is_named(incident, researcher, reviewer):
    first, second = (f.AttributionFactory(incident=incident) for _ in range(2))
    submitted(incident, researcher)
    assert f"not yet verified: {first} (draft), {second} (draft). " in workflow.refusal(
        incident, Action.VERIFY, reviewer
    )


@pytest.fixture
def staffless_reviewer(reviewer):
    """A reviewer whose account may open no evidence file (not a staff account)."""
    user = f.UserFactory(username="staffless_reviewer", is_staff=False)
    user.groups.add(*reviewer.groups.all())
    return user


def test_reviewer_who_may_open_no_file_cannot_judge_an_item(item, researcher, staffless_reviewer):
    submitted(item, researcher)
    message = workflow.refusal(item, Action.VERIFY, staffless_reviewer)
    assert message.startswith(f"You may not open the files of {item.code} (")
    assert message.endswith("so you cannot verify it.")
    assert "protected" not in message


def test_protected_item_refusal_names_the_account_not_the_protection_when_cleared(
    researcher, staffless_reviewer
):
    """A reviewer allowed to see protected identities, whose account may open no file,
    is told what really stops them."""
    from django.contrib.auth.models import Permission

    staffless_reviewer.user_permissions.add(
        Permission.objects.get(codename="view_protected_identity")
    )
    item = submitted(f.EvidenceItemFactory(created_by=researcher, is_protected=True), researcher)
    message = workflow.refusal(item, Action.REJECT, staffless_reviewer, comment="no")
    assert message.startswith(f"You may not open the files of {item.code} (")
    assert "is protected" not in message


def test_a_record_without_a_code_is_named_as_it_names_itself():
    place = f.PlaceFactory(name="Kafr Nabl")
    assert workflow.label(place) == str(place)
    assert "Kafr Nabl" in workflow.label(place)


def test_stale_refusal_names_the_record_and_its_new_state(incident, researcher, reviewer, editor):
    submitted(incident, researcher)
    stale = Incident.objects.get(pk=incident.pk)
    transition(incident, Action.VERIFY, by=reviewer)
    with pytest.raises(TransitionError) as caught:
        transition(stale, Action.REJECT, by=editor, comment="no")
    assert str(caught.value) == (
        f"{incident.code} was changed meanwhile: it is now verified. Reload and try again."
    )


def test_the_history_of_a_transition_names_who_took_it_and_why(incident, researcher, reviewer):
    submitted(incident, researcher)
    transition(incident, Action.VERIFY, by=reviewer)
    entry = incident.history.first()
    assert entry.status == S.VERIFIED
    assert entry.history_user == reviewer
    assert "verify" in (entry.history_change_reason or "")


# Four eyes reads the latest submission of this very record.


def _reviewer_edits(record, reviewer):
    record.title = "Edited by the reviewer"
    record._history_user = reviewer
    record.save()


def test_another_incidents_later_submission_does_not_excuse_an_edit(incident, researcher, reviewer):
    submitted(incident, researcher)
    _reviewer_edits(incident, reviewer)
    submitted(f.IncidentFactory(created_by=researcher), researcher)
    assert workflow.edited_since_submission(incident, reviewer)


def test_a_later_submission_of_another_kind_of_record_does_not_excuse_an_edit(
    incident, researcher, reviewer
):
    submitted(incident, researcher)
    _reviewer_edits(incident, reviewer)
    submitted(f.EvidenceItemFactory(pk=incident.pk, created_by=researcher), researcher)
    assert workflow.edited_since_submission(incident, reviewer)


def test_an_edit_counts_from_the_submission_not_from_a_later_review(incident, researcher, reviewer):
    submitted(incident, researcher)
    _reviewer_edits(incident, reviewer)
    transition(incident, Action.REQUEST_CHANGES, by=reviewer, comment="See my fix.")
    assert workflow.changes_since_submission(incident, reviewer) == ["its fields: title"]


# What a reviewer changed of an incident's parts, whatever became of them afterwards.


def test_an_evidence_link_to_an_item_deleted_since_still_counts(incident, researcher, reviewer):
    link = f.EvidenceLinkFactory(incident=incident, item__created_by=researcher)
    submitted(incident, researcher)
    link.relied_on = False
    link._history_user = reviewer
    link.save()
    link.item.delete()
    assert workflow.changes_since_submission(incident, reviewer) == [
        "its evidence links: a deleted item"
    ]


def test_a_relation_to_an_incident_deleted_since_still_counts(incident, researcher, reviewer):
    from tracker.models import IncidentRelation

    other = f.IncidentFactory(created_by=researcher)
    relation = IncidentRelation.objects.create(
        from_incident=incident, to_incident=other, kind=IncidentRelation.Kind.DUPLICATE
    )
    submitted(incident, researcher)
    relation.kind = IncidentRelation.Kind.SAME_OPERATION
    relation._history_user = reviewer
    relation.save()
    other.delete()
    assert workflow.changes_since_submission(incident, reviewer) == [
        "its related incidents: a deleted incident"
    ]


def test_reviewer_who_edits_the_scene_details_cannot_verify_the_satellite_image(
    researcher, reviewer
):
    scene = f.SatelliteImageFactory(item__created_by=researcher)
    item = submitted(scene.item, researcher)
    scene.provider = "Another provider"
    scene._history_user = reviewer
    scene.save()
    assert workflow.changes_since_submission(item, reviewer) == ["its scene details"]
    assert "(you changed its scene details)" in workflow.refusal(item, Action.VERIFY, reviewer)


def test_reviewer_who_adds_or_removes_an_attribution_cannot_verify_the_incident(
    incident, researcher, reviewer
):
    kept = f.AttributionFactory(incident=incident, created_by=researcher)
    submitted(incident, researcher)
    added = Attribution(incident=incident, unit=f.UnitFactory(), role=Attribution.Role.AIDED)
    added._history_user = reviewer
    added.save()
    assert workflow.changes_since_submission(incident, reviewer) == [f"its attributions: {added}"]
    kept._history_user = reviewer
    kept.delete()
    assert workflow.changes_since_submission(incident, reviewer) == [
        f"its attributions: {', '.join(sorted([str(added), str(kept)]))}"
    ]


def test_an_attribution_saved_unchanged_after_an_edit_still_counts(incident, researcher, reviewer):
    attribution = f.AttributionFactory(incident=incident, created_by=researcher)
    submitted(incident, researcher)
    attribution._history_user = reviewer
    attribution.basis = "Changed by the reviewer"
    attribution.save()
    attribution.save()  # unchanged, e.g. the incident's page saved again
    assert workflow.changes_since_submission(incident, reviewer) == [
        f"its attributions: {attribution}"
    ]


def test_linking_evidence_to_another_incident_is_no_edit_of_this_one(
    incident, researcher, reviewer
):
    submitted(incident, researcher)
    link = f.EvidenceLinkFactory.build(
        incident=f.IncidentFactory(created_by=researcher),
        item=f.EvidenceItemFactory(created_by=researcher),
    )
    link._history_user = reviewer
    link.save()
    assert workflow.changes_since_submission(incident, reviewer) == []


def test_a_link_moved_away_counts_whatever_was_saved_just_before(incident, researcher, reviewer):
    """Where a link was before the move is read from that link's own history, not from
    the entry saved just before (here another link's)."""
    link = f.EvidenceLinkFactory(incident=incident, item__created_by=researcher)
    # A second entry before the move: where it was is one row (PostgreSQL refuses two).
    link.relevance = "Shows the crater"
    link.save()
    submitted(incident, researcher)
    f.EvidenceLinkFactory(item__created_by=researcher)
    link.incident = f.IncidentFactory(created_by=researcher)
    link._history_user = reviewer
    link.save()
    assert workflow.changes_since_submission(incident, reviewer) == [
        f"its evidence links: {link.item.code}"
    ]


def test_an_attribution_without_a_recorded_creation_has_no_author(researcher, editor):
    attribution = f.AttributionFactory()  # no created_by, and no history of its creation
    attribution.history.all().delete()
    assert workflow.author_id(attribution) is None
    refused(attribution, Action.SUBMIT, researcher, match="Only the author")
    transition(attribution, Action.SUBMIT, by=editor)


def test_a_new_record_may_be_filled_in_by_whoever_may_add_it(researcher):
    assert workflow.can_edit(None, researcher)
    assert workflow.can_edit(Incident(), researcher)


def test_a_record_the_reviewer_deleted_counts_as_edited_when_it_comes_back(
    incident, researcher, reviewer
):
    """Deleting a record is changing it, even if the reviewer saved it unchanged before
    and it is then brought back (a restore writes no history of its own)."""
    submitted(incident, researcher)
    kept = Incident.objects.get(pk=incident.pk)
    incident._history_user = reviewer
    incident.save()  # unchanged
    incident.delete()
    Incident.objects.bulk_create([kept])
    assert workflow.changes_since_submission(kept, reviewer) == ["its fields"]


@pytest.mark.parametrize("actor", ["official", "unit", "force"])
def test_a_deleted_attribution_counts_after_the_actor_it_named_is_deleted(
    incident, researcher, reviewer, actor
):
    """E.g. an editor merged two records of the same official and deleted one: the
    message names no "None"."""
    named = {"official": f.OfficialFactory, "unit": f.UnitFactory, "force": f.ForceFactory}
    attribution = f.AttributionFactory(
        incident=incident, created_by=researcher, **{"unit": None, actor: named[actor]()}
    )
    submitted(incident, researcher)
    attribution._history_user = reviewer
    attribution.delete()
    getattr(attribution, actor).delete()
    assert workflow.changes_since_submission(incident, reviewer) == [
        f"its attributions: a deleted actor ({attribution.get_role_display()})"
    ]


def test_four_eyes_names_every_part_the_reviewer_changed(incident, researcher, reviewer):
    link = f.EvidenceLinkFactory(incident=incident, item__created_by=researcher)
    submitted(incident, researcher)
    _reviewer_edits(incident, reviewer)
    link.relied_on = False
    link._history_user = reviewer
    link.save()
    assert f"(you changed its fields: title; its evidence links: {link.item.code})" in (
        workflow.refusal(incident, Action.VERIFY, reviewer)
    )
