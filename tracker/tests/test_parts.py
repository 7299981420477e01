"""An incident and the parts it relies on, through review together (tracker.parts)."""

from __future__ import annotations

import pytest
from django.core import mail

from evidence.models import EvidenceLink
from tracker import parts, workflow
from tracker.models import Attribution, ReviewEvent, ReviewStatus
from tracker.tests import factories as f
from tracker.workflow import Action, TransitionError, transition

S = ReviewStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def case(researcher, other_researcher):
    """An incident of the researcher's relying on two of their draft photos, one of
    another researcher's, one already verified; a fifth linked but not relied on; and
    a relied-on draft attribution citing the first photo."""
    incident = f.IncidentFactory(created_by=researcher)
    mine = [f.EvidenceItemFactory(created_by=researcher) for _ in range(2)]
    theirs = f.EvidenceItemFactory(created_by=other_researcher)
    done = f.EvidenceItemFactory(created_by=researcher, status=S.VERIFIED)
    aside = f.EvidenceItemFactory(created_by=researcher)
    for item in (*mine, theirs, done):
        EvidenceLink.objects.create(item=item, incident=incident)
    EvidenceLink.objects.create(item=aside, incident=incident, relied_on=False)
    attribution = f.AttributionFactory(incident=incident, created_by=researcher)
    attribution.supporting_evidence.add(mine[0])
    return {
        "incident": incident,
        "mine": mine,
        "theirs": theirs,
        "done": done,
        "aside": aside,
        "attribution": attribution,
    }


def test_unsubmitted_lists_the_relied_on_drafts_only(case):
    found = parts.unsubmitted(case["incident"])
    items = sorted([*case["mine"], case["theirs"]], key=lambda item: item.code)
    assert found == [*items, case["attribution"]]


def test_a_part_with_changes_requested_is_unsubmitted_too(case, researcher, reviewer):
    item = case["mine"][0]
    transition(item, Action.SUBMIT, by=researcher)
    assert item not in parts.unsubmitted(case["incident"])
    transition(item, Action.REQUEST_CHANGES, by=reviewer, comment="Which street?")
    assert item in parts.unsubmitted(case["incident"])


def test_submit_together_submits_the_authors_parts_and_tells_reviewers_once(
    case, researcher, reviewer, django_capture_on_commit_callbacks
):
    reviewer.email = "reviewer@example.org"
    reviewer.save()
    with django_capture_on_commit_callbacks(execute=True):
        with_it = parts.submit_together(case["incident"], by=researcher, comment="Ready")
    assert sorted(with_it[:2]) == sorted(i.code for i in case["mine"])
    assert len(with_it) == 3 and "attribution" in with_it[2]
    for record in (case["incident"], *case["mine"], case["attribution"]):
        record.refresh_from_db()
        assert record.status == S.SUBMITTED, record
    case["theirs"].refresh_from_db()
    assert case["theirs"].status == S.DRAFT  # only its author (or an editor) submits it
    assert ReviewEvent.objects.filter(action="submit", comment="Ready").count() == 4
    # One mail for the incident (the parts come with it in the queue), not four.
    subjects = [m.subject for m in mail.outbox]
    assert len(subjects) == 1 and case["incident"].code in subjects[0]


def test_an_editor_submits_everyones_parts(case, editor):
    parts.submit_together(case["incident"], by=editor)
    case["theirs"].refresh_from_db()
    assert case["theirs"].status == S.SUBMITTED


def test_submit_together_is_all_or_none(case, researcher, other_researcher):
    """The incident's own submission is refused (someone else's incident): no part moves."""
    with pytest.raises(TransitionError, match="Only the author"):
        parts.submit_together(case["incident"], by=other_researcher)
    case["theirs"].refresh_from_db()
    assert case["theirs"].status == S.DRAFT
    assert not ReviewEvent.objects.exists()


def _submitted(case, researcher, other_researcher):
    parts.submit_together(case["incident"], by=researcher)
    transition(case["theirs"], Action.SUBMIT, by=other_researcher)
    for record in case.values():
        for one in record if isinstance(record, list) else [record]:
            one.refresh_from_db()


def test_under_review_lists_the_submitted_parts_a_reviewer_reviews(
    case, researcher, other_researcher, reviewer
):
    _submitted(case, researcher, other_researcher)
    found = parts.under_review(case["incident"], reviewer)
    assert set(found) == {*case["mine"], case["theirs"], case["attribution"]}
    assert parts.under_review(case["incident"], researcher) == []  # not a reviewer


def test_verify_is_offered_for_the_incident_when_only_its_parts_stand_in_the_way(
    case, researcher, other_researcher, reviewer
):
    _submitted(case, researcher, other_researcher)
    assert parts.incident_actions(case["incident"], reviewer)[0] == Action.VERIFY
    own = f.IncidentFactory(created_by=reviewer)
    transition(own, Action.SUBMIT, by=reviewer)
    assert Action.VERIFY not in parts.incident_actions(own, reviewer)  # four eyes


def test_review_together_takes_the_parts_first_then_the_incident(
    case, researcher, other_researcher, reviewer
):
    _submitted(case, researcher, other_researcher)
    records = [case["incident"], case["attribution"], *case["mine"], case["theirs"]]
    decisions = [parts.Decision(r, Action.VERIFY) for r in records]
    done, refused = parts.review_together(decisions, by=reviewer)
    assert refused == []
    assert done[-1] == f"{case['incident'].code}: verify"
    for record in records:
        record.refresh_from_db()
        assert record.status == S.VERIFIED, record


def test_review_together_reports_each_refusal_and_keeps_the_rest(
    case, researcher, other_researcher, reviewer
):
    """The reviewer created one photo (four eyes): it is refused, so is the incident that
    relies on it; the others are verified."""
    _submitted(case, researcher, other_researcher)
    own = f.EvidenceItemFactory(created_by=reviewer)
    EvidenceLink.objects.create(item=own, incident=case["incident"])
    own.status = S.SUBMITTED
    own.save(update_fields=["status"])
    records = [case["incident"], own, *case["mine"]]
    done, refused = parts.review_together(
        [parts.Decision(r, Action.VERIFY) for r in records], by=reviewer
    )
    assert [r.split(":")[0] for r in refused] == [own.code, case["incident"].code]
    assert "Four eyes" in refused[0] and "relies on evidence not yet verified" in refused[1]
    assert len(done) == 2
    assert Attribution.objects.get(pk=case["attribution"].pk).status == S.SUBMITTED


def test_the_comment_goes_with_each_record(case, researcher, other_researcher, reviewer):
    parts.submit_together(case["incident"], by=researcher)  # no comment: none written
    assert set(ReviewEvent.objects.values_list("comment", flat=True)) == {""}
    transition(case["theirs"], Action.SUBMIT, by=other_researcher)
    item = case["mine"][0]
    item.refresh_from_db()
    parts.review_together(
        [parts.Decision(item, Action.REQUEST_CHANGES, "Which street is this?")], by=reviewer
    )
    assert ReviewEvent.objects.get(action="request_changes").comment == "Which street is this?"


def test_relied_on_is_this_incidents_in_those_states_in_two_queries(
    case, researcher, django_assert_num_queries
):
    """Another incident's drafts, an attribution not relied on, and a verified one are
    not among the unsubmitted parts; listing them and naming them costs two queries."""
    elsewhere = f.IncidentFactory(created_by=researcher)
    EvidenceLink.objects.create(item=f.EvidenceItemFactory(), incident=elsewhere)
    f.AttributionFactory(incident=elsewhere, created_by=researcher)
    f.AttributionFactory(incident=case["incident"], created_by=researcher, relied_on=False)
    f.AttributionFactory(incident=case["incident"], created_by=researcher, status=S.VERIFIED)
    # Named by their official, unit or force (whichever is set): each read with the list.
    by_official = f.AttributionFactory(
        incident=case["incident"], created_by=researcher, official=f.OfficialFactory()
    )
    by_force = f.AttributionFactory(
        incident=case["incident"], created_by=researcher, unit=None, force=f.ForceFactory()
    )
    with django_assert_num_queries(2):
        found = parts.unsubmitted(case["incident"])
        names = [workflow.label(part) for part in found]
    items = sorted([*case["mine"], case["theirs"]], key=lambda item: item.code)
    assert found == [*items, case["attribution"], by_official, by_force]
    assert all(n.startswith(f"{case['incident'].code}'s attribution to") for n in names[-3:])
