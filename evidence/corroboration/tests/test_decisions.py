"""The reviewer's decision on a proposed grade (``decisions.decide``), the review log it
writes, four eyes and locks, a proposal that changed under the reviewer, the ``grade`` job
after evidence changes (never writing the incident's grade), and "grade differs from
proposal"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from evidence.corroboration import decisions, rules
from evidence.models import EvidenceItem, EvidenceLink, GradeProposal
from tracker import workflow
from tracker.models import Incident, Job, ReviewEvent, ReviewStatus

pytestmark = pytest.mark.django_db
G = Incident.HarmGrade
STRIKE = datetime(2019, 5, 5, 9, 40, tzinfo=UTC)


def incident_by(author, **fields) -> Incident:
    incident = Incident(
        title="Strike on the market", occurred_start=STRIKE, created_by=author, **fields
    )
    incident._history_user = author
    incident.save()
    return incident


def photo(incident, *, status=ReviewStatus.VERIFIED, source="", **fields) -> EvidenceItem:
    item = EvidenceItem.objects.create(
        kind=EvidenceItem.Kind.PHOTO, title="Crater", status=status, source_name=source, **fields
    )
    EvidenceLink.objects.create(item=item, incident=incident)
    return item


def drain() -> None:
    """Drop the recompute callback the fixtures left waiting (the test's transaction never
    commits), so that what a test changes is asked for by a callback of its own."""
    connection = transaction.get_connection()
    for entry in list(connection.run_on_commit):
        if isinstance(entry[1], decisions._Recompute):
            connection.run_on_commit.remove(entry)


def seen(incident) -> str:
    return rules.proposals([incident.pk])[incident.pk].digest


@pytest.fixture
def incident(researcher):
    incident = incident_by(researcher)
    photo(incident, source="Channel A")
    photo(incident, source="Channel B")
    return incident  # proposed: confirmed (two verified photos of two sources)


def test_accepting_the_proposal_sets_the_grade_and_logs_it(incident, reviewer):
    event = decisions.decide(incident, by=reviewer, grade=G.CONFIRMED, seen=seen(incident))
    incident.refresh_from_db()
    assert incident.civilian_harm == G.CONFIRMED
    assert (event.action, event.actor, event.from_status, event.to_status) == (
        decisions.ACCEPT,
        reviewer,
        ReviewStatus.DRAFT,
        ReviewStatus.DRAFT,
    )
    assert event.comment == "Accepted the proposed grade: confirmed."
    [(logged, word)] = workflow.review_events(incident)
    assert logged == event and word == "accepted the proposed grade"
    assert GradeProposal.objects.get(incident=incident).grade == G.CONFIRMED


def test_another_grade_needs_a_reason_and_logs_both_grades(incident, reviewer):
    with pytest.raises(decisions.Refused, match="needs a reason"):
        decisions.decide(incident, by=reviewer, grade=G.FAIR, seen=seen(incident), reason="  ")
    incident.refresh_from_db()
    assert incident.civilian_harm == "" and not ReviewEvent.objects.exists()
    event = decisions.decide(
        incident, by=reviewer, grade=G.FAIR, seen=seen(incident), reason="Channel B copies A."
    )
    incident.refresh_from_db()
    assert incident.civilian_harm == G.FAIR
    assert event.action == decisions.SET
    assert event.comment == "Set fair; proposed: confirmed. Reason: Channel B copies A."


@pytest.mark.parametrize("grade", ["", "excellent", "CONFIRMED", "confirmed\x00"])
def test_a_grade_not_in_the_list_is_refused(incident, reviewer, grade):
    with pytest.raises(decisions.Refused, match="Choose a grade"):
        decisions.decide(incident, by=reviewer, grade=grade, seen=seen(incident), reason="x")
    incident.refresh_from_db()
    assert incident.civilian_harm == ""


def test_a_reason_too_long_is_refused(incident, reviewer):
    with pytest.raises(decisions.Refused, match="under 2000"):
        decisions.decide(
            incident, by=reviewer, grade=G.WEAK, seen=seen(incident), reason="x" * 2001
        )


def test_only_a_reviewer_who_did_not_create_it_decides(incident, researcher, reviewer, editor):
    with pytest.raises(decisions.Refused, match="Only a reviewer"):
        decisions.decide(incident, by=researcher, grade=G.CONFIRMED, seen=seen(incident))
    own = incident_by(reviewer)
    with pytest.raises(decisions.Refused, match="Four eyes"):
        decisions.decide(own, by=reviewer, grade=G.WEAK, seen=seen(own), reason="mine")
    reviewer.is_active = False
    reviewer.save()
    with pytest.raises(decisions.Refused, match="inactive"):
        decisions.decide(incident, by=reviewer, grade=G.CONFIRMED, seen=seen(incident))
    assert not ReviewEvent.objects.exists()


@pytest.mark.parametrize(
    "status", [ReviewStatus.VERIFIED, ReviewStatus.PUBLISHED, ReviewStatus.REJECTED]
)
def test_a_locked_incident_keeps_its_grade(incident, reviewer, status):
    Incident.objects.filter(pk=incident.pk).update(status=status)
    incident.refresh_from_db()
    with pytest.raises(decisions.Refused, match="reopen it"):
        decisions.decide(incident, by=reviewer, grade=G.CONFIRMED, seen=seen(incident))


def test_a_restricted_incident_is_no_such_incident(incident, reviewer):
    Incident.objects.filter(pk=incident.pk).update(sensitivity="restricted")
    with pytest.raises(decisions.Refused, match="No such incident"):
        decisions.decide(incident, by=reviewer, grade=G.CONFIRMED, seen=seen(incident))


def test_a_proposal_that_changed_since_it_was_shown_is_not_accepted(incident, reviewer):
    shown = seen(incident)
    photo(incident, source="Channel C", status=ReviewStatus.DRAFT)  # a new reason and source
    with pytest.raises(decisions.Refused, match="changed since it was shown"):
        decisions.decide(incident, by=reviewer, grade=G.CONFIRMED, seen=shown)
    incident.refresh_from_db()
    assert incident.civilian_harm == ""
    assert GradeProposal.objects.get(incident=incident).digest == seen(incident)


def test_a_decision_is_not_an_edit_for_four_eyes(incident, researcher, reviewer):
    workflow.transition(incident, "submit", by=researcher)
    decisions.decide(incident, by=reviewer, grade=G.CONFIRMED, seen=seen(incident))
    incident.refresh_from_db()
    assert workflow.changes_since_submission(incident, reviewer) == []
    assert workflow.last_submitted_at(incident) == (ReviewEvent.objects.get(action="submit").at)
    assert "verify" not in dict(workflow.blocked_actions(incident, reviewer)) or (
        "Four eyes" not in dict(workflow.blocked_actions(incident, reviewer))["verify"]
    )


def test_evidence_that_changes_asks_for_the_proposal_again_never_the_grade(
    incident, reviewer, django_capture_on_commit_callbacks
):
    decisions.decide(incident, by=reviewer, grade=G.CONFIRMED, seen=seen(incident))
    drain()
    before = Job.objects.filter(kind=Job.Kind.GRADE).count()
    with django_capture_on_commit_callbacks(execute=True):
        item = photo(
            incident, source="Channel C", captured_at=STRIKE - timedelta(days=2)
        )  # recorded before the strike: a contradiction
    assert Job.objects.filter(kind=Job.Kind.GRADE, target=incident.code).count() == before + 1
    proposal = GradeProposal.objects.get(incident=incident)
    assert proposal.grade == G.CONTESTED and item.code in proposal.contradictions[0]["text"]
    incident.refresh_from_db()
    assert incident.civilian_harm == G.CONFIRMED  # the reviewer's decision stands
    assert list(decisions.differs(Incident.objects.all())) == [incident]


@pytest.mark.parametrize(
    "change",
    [
        lambda item, link: EvidenceItem.objects.get(pk=item.pk).save(),
        lambda item, link: link.delete(),
        lambda item, link: setattr(link, "killed_min", 3) or link.save(),
        lambda item, link: item.near_duplicates.add(
            EvidenceItem.objects.create(kind="photo", title="x")
        ),
    ],
    ids=["item saved", "link deleted", "link figures", "near-duplicate"],
)
def test_each_change_of_evidence_asks_once_per_transaction(
    incident, change, django_capture_on_commit_callbacks
):
    item = incident.evidence.first()
    link = EvidenceLink.objects.get(item=item, incident=incident)
    drain()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        change(item, link)
        # a second change in the same transaction joins the first callback
        EvidenceItem.objects.get(pk=item.pk).save()
    waiting = [c for c in callbacks if isinstance(c, decisions._Recompute)]
    assert len(waiting) == 1 and incident.pk in waiting[0].ids


def test_the_job_computes_and_says_what_it_proposed(incident, django_capture_on_commit_callbacks):
    from evidence import jobs as evidence_jobs

    job = Job.objects.create(kind=Job.Kind.GRADE, target=incident.code, key="grade:x")
    assert evidence_jobs.grade(job) == f"{incident.code}: proposed confirmed."
    job.target = "INC-9999"
    assert evidence_jobs.grade(job) == "INC-9999: no such incident any more."


def test_differs_leaves_out_agreement_and_no_proposal(researcher, reviewer):
    agreed = incident_by(researcher)
    photo(agreed)
    undecided = incident_by(researcher)
    photo(undecided)
    bare = incident_by(researcher)  # nothing relied on: nothing proposed
    rules.store([agreed.pk, undecided.pk, bare.pk])
    decisions.decide(agreed, by=reviewer, grade=G.FAIR, seen=seen(agreed))
    assert set(decisions.differs(Incident.objects.all())) == {undecided}


def test_propose_grades_keeps_every_proposal_and_changes_no_grade(researcher, reviewer):
    import io

    from django.core.management import call_command

    first = incident_by(researcher)
    photo(first)
    second = incident_by(researcher)
    Incident.objects.filter(pk=second.pk).update(civilian_harm=G.WEAK)
    GradeProposal.objects.all().delete()
    out = io.StringIO()
    call_command("propose_grades", stdout=out, stderr=io.StringIO())
    assert out.getvalue() == (
        "2 incidents: proposals kept; the grade of 1 differs from its proposal "
        "(not graded yet, or graded otherwise).\n"
    )
    assert dict(GradeProposal.objects.values_list("incident__code", "grade")) == {
        first.code: G.FAIR,
        second.code: "",
    }
    second.refresh_from_db()
    assert second.civilian_harm == G.WEAK


def test_a_change_while_the_job_runs_asks_for_another(incident):
    waiting = decisions.ask(incident.code)
    assert decisions.ask(incident.code) == waiting  # one waiting job for many changes
    Job.objects.filter(pk=waiting.pk).update(state=Job.State.RUNNING)
    after = decisions.ask(incident.code)  # the running one may have read the old evidence
    assert after != waiting and after.state == Job.State.QUEUED
    assert after.key == f"grade:{incident.code}:after:{waiting.pk}"
    assert decisions.ask(incident.code) == after


def test_the_row_kept_is_the_proposal_whole(incident):
    rules.store([incident.pk])
    kept = GradeProposal.objects.get(incident=incident)
    proposal = rules.proposals([incident.pk])[incident.pk]
    assert (kept.grade, kept.rule, kept.reasons, kept.sources, kept.digest) == (
        proposal.grade,
        proposal.rule,
        proposal.reasons,
        proposal.sources,
        proposal.digest,
    )
    assert kept.rule == "two reliable" and kept.sources and kept.reasons
