"""tracker.workflow: what a refusal says (``workflow.refusal``, ``label``).

Each refusal names the record, its state and every state the step is possible from;
who may act; every unverified item or attribution, in code order; what really stops a
reviewer who may open no file; a record changed meanwhile. Found as mutation survivors
(``make mutate``). The records are the fixtures of ``conftest.py``.
"""

from __future__ import annotations

import pytest

from tracker import workflow
from tracker.models import Incident, ReviewStatus
from tracker.tests import factories as f
from tracker.tests.transitions import submitted
from tracker.workflow import Action, TransitionError, transition

S = ReviewStatus
pytestmark = pytest.mark.django_db


def test_a_comment_is_asked_for_even_when_none_is_passed(incident, researcher, reviewer):
    submitted(incident, researcher)
    for action in (Action.REQUEST_CHANGES, Action.REJECT):
        assert "needs a comment" in workflow.refusal(incident, action, reviewer)
    with pytest.raises(TransitionError, match="needs a comment"):
        transition(incident, Action.REJECT, by=reviewer)


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
