"""tracker.workflow: who may edit a record in each state, and which steps each role is
offered (``can_edit``, ``available_actions``, ``author_id``).

The author and editors edit a draft, reviewers too once it is submitted, nobody once it
is verified until an editor reopens it; an attribution follows its incident's lock, and
its author is read from its history when not recorded. The records are the fixtures of
``conftest.py``.
"""

from __future__ import annotations

import pytest

from tracker import workflow
from tracker.models import Incident
from tracker.tests import factories as f
from tracker.tests.transitions import refused, submitted
from tracker.workflow import Action, transition

pytestmark = pytest.mark.django_db


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


def test_a_new_record_may_be_filled_in_by_whoever_may_add_it(researcher):
    assert workflow.can_edit(None, researcher)
    assert workflow.can_edit(Incident(), researcher)


# --- Attributions -----------------------------------------------------------------------


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


def test_an_attribution_without_a_recorded_creation_has_no_author(researcher, editor):
    attribution = f.AttributionFactory()  # no created_by, and no history of its creation
    attribution.history.all().delete()
    assert workflow.author_id(attribution) is None
    refused(attribution, Action.SUBMIT, researcher, match="Only the author")
    transition(attribution, Action.SUBMIT, by=editor)
