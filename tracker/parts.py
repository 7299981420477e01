"""An incident and the parts it relies on, taken through review together.

An incident is verified or published only when the evidence and attributions it relies
on are verified (``workflow.refusal``). Here the people who take it through review see
and move those parts with it: its author submits it with the drafts it relies on; a
reviewer judges it and its submitted parts on one page. Each record still moves through
``workflow.transition`` (its own rule, four-eyes check and review event): nothing here
decides a rule again.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from evidence.models import EvidenceItem
from tracker import workflow
from tracker.models import Attribution, Incident, ReviewStatus
from tracker.workflow import Action, TransitionError

S = ReviewStatus
UNSUBMITTED = frozenset({S.DRAFT, S.CHANGES_REQUESTED})
Part = EvidenceItem | Attribution


def relied_on(incident: Incident, statuses) -> list[Part]:
    """The evidence items and attributions ``incident`` relies on, in ``statuses``:
    items by code, then attributions in the order they were added. Two queries."""
    items = EvidenceItem.objects.filter(
        links__incident=incident, links__relied_on=True, status__in=statuses
    ).order_by("code")
    attributions = (
        incident.attributions.filter(relied_on=True, status__in=statuses)
        .select_related("incident", "force", "unit", "official")
        .order_by("pk")
    )
    return [*items, *attributions]


def unsubmitted(incident: Incident) -> list[Part]:
    """What ``incident`` relies on that nobody has submitted yet (drafts, changes
    requested): a reviewer could not verify the incident until these are verified."""
    return relied_on(incident, UNSUBMITTED)


def submit_together(incident: Incident, *, by, comment: str = "") -> list[str]:
    """Submit ``incident`` with the unsubmitted parts ``by`` may submit, all or none (one
    transaction: if the incident's own submission is refused, no part moves either).
    Parts whose author is someone else stay as they are (only their author or an editor
    submits them). Returns the labels of the parts submitted with it. Reviewers hear of
    the incident only: the parts come with it in their queue."""
    with transaction.atomic():
        done = []
        for part in unsubmitted(incident):
            if workflow.refusal(part, Action.SUBMIT, by) is None:
                workflow.transition(part, Action.SUBMIT, by=by, comment=comment, notify=False)
                done.append(workflow.label(part))
        workflow.transition(incident, Action.SUBMIT, by=by, comment=comment)
    return done


# --- Reviewing an incident with its evidence -------------------------------------------------

# What a reviewer may decide for each record on the page ("" leaves it as it is).
PART_ACTIONS = (Action.VERIFY, Action.REQUEST_CHANGES, Action.REJECT)
INCIDENT_ACTIONS = (Action.VERIFY, Action.REQUEST_CHANGES, Action.REJECT)


def _offered(record, user, actions) -> list[str]:
    return [a for a in actions if workflow.refusal(record, a, user, comment="(comment)") is None]


def part_actions(part: Part, user) -> list[str]:
    """What ``user`` may decide for ``part`` on the one-pass page: as on its own page."""
    return _offered(part, user, PART_ACTIONS)


def incident_actions(incident: Incident, user) -> list[str]:
    """What ``user`` may decide for ``incident`` on the one-pass page: as on its own
    page, and Verify also when the only obstacle is what it relies on (decided on the
    same page, before it; the transition checks again when it comes to it)."""
    offered = _offered(incident, user, INCIDENT_ACTIONS)
    if Action.VERIFY not in offered:
        reason = workflow.refusal(incident, Action.VERIFY, user)
        if reason is not None and reason == workflow.unfinished_parts(incident):
            offered.insert(0, Action.VERIFY)
    return offered


def under_review(incident: Incident, user) -> list[Part]:
    """The submitted parts of ``incident`` that ``user`` reviews (by their role)."""
    return [part for part in relied_on(incident, {S.SUBMITTED}) if workflow.is_reviewer(user, part)]


@dataclass(frozen=True)
class Decision:
    record: Incident | Part
    action: str  # an Action
    comment: str = ""


def review_together(decisions: list[Decision], *, by) -> tuple[list[str], list[str]]:
    """Take each decision in turn, each its own transition (a reviewer's judgement of one
    record does not wait for another's): the parts first, so that an incident verified
    last sees its evidence verified. Returns (what was done, what was refused and why),
    one sentence each."""
    done, refused = [], []
    ordered = sorted(decisions, key=lambda d: isinstance(d.record, Incident))
    for decision in ordered:
        name = workflow.label(decision.record)
        try:
            workflow.transition(decision.record, decision.action, by=by, comment=decision.comment)
        except TransitionError as exc:
            refused.append(f"{name}: {exc}")
        else:
            done.append(f"{name}: {Action(decision.action).label.lower()}")
    return done, refused
