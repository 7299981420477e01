"""tracker.workflow, four eyes: nobody verifies or rejects their own work, or work they
changed after its latest submission (``edited_since_submission``,
``changes_since_submission``).

A change counts whatever it touched (the record's fields, its evidence links, related
incidents, attributions, a scene's details) and whatever became of it afterwards
(deleted, moved, saved again unchanged), counted from the latest submission of this
very record; the refusal names each part. The records are the fixtures of
``conftest.py``.
"""

from __future__ import annotations

import pytest

from tracker import workflow
from tracker.models import Attribution, Incident, ReviewStatus
from tracker.tests import factories as f
from tracker.tests.transitions import refused, submitted
from tracker.workflow import Action, transition

S = ReviewStatus
pytestmark = pytest.mark.django_db


def test_reviewer_cannot_verify_own_submission(reviewer):
    record = f.IncidentFactory(created_by=reviewer)
    submitted(record, reviewer)
    refused(record, Action.VERIFY, reviewer, match="Four eyes: you cannot verify")
    refused(record, Action.REJECT, reviewer, comment="x", match="Four eyes: you cannot reject")


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


def test_reviewer_who_edited_an_attribution_cannot_verify_it(
    attribution, researcher, reviewer, editor
):
    submitted(attribution, researcher)
    attribution.confidence = Attribution.Confidence.HIGH
    attribution._history_user = reviewer
    attribution.save()
    refused(attribution, Action.VERIFY, reviewer, match=r"\(you changed its fields: confidence\)")
    transition(attribution, Action.VERIFY, by=editor)


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
