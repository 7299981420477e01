"""Issue 14 D: a verified attribution keeps its content (``tracker.locks``).

Its basis, its "relied on", its supporting evidence (from either side, cascades
included) and its very existence stay as they were until an editor reopens it, by the
ORM, by a confirmed flight and by the incident's page; the workflow's own status-only
save passes the lock, and the incident's page still saves with the attribution
untouched. The locked incident of ``test_the_workflow_changes_...`` is ``case``, from
``tests.security.locked``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from evidence.flights import ranking
from evidence.models import EvidenceItem, FlightMatch
from tests.security import locked
from tests.security.locked import attribution_message, snapshot
from tests.security.locked import save_fields as _save
from tests.security.pages import assert_form_error, change_url, page_text, row_of, save_page
from tracker import locks
from tracker.models import Attribution, Incident, ReviewStatus
from tracker.tests import factories as f
from tracker.workflow import Action, transition

S = ReviewStatus
pytestmark = pytest.mark.django_db

case = locked.case  # the fixture: a verified or published incident with its rows


@dataclass
class Reviewed:
    incident: Incident  # open
    attribution: Attribution  # verified
    item: EvidenceItem  # supports it
    spare: EvidenceItem


@pytest.fixture
def reviewed(researcher) -> Reviewed:
    incident = f.IncidentFactory(created_by=researcher, title="Strike on the market")
    item = f.EvidenceItemFactory(created_by=researcher, title="Flight log")
    spare = f.EvidenceItemFactory(created_by=researcher, title="Video of the rescue")
    attribution = f.AttributionFactory(
        incident=incident, created_by=researcher, basis="Flight log and the crater."
    )
    attribution.supporting_evidence.add(item)
    attribution.status = S.VERIFIED
    attribution.save(update_fields=["status"])  # tracker.workflow's write passes the lock
    return Reviewed(incident, attribution, item, spare)


ATTRIBUTION_WRITES: dict[str, Callable[[Reviewed], object]] = {
    "edit it": lambda r: _save(r.attribution, basis="Changed."),
    "untick relied on": lambda r: _save(r.attribution, relied_on=False),
    "delete it": lambda r: r.attribution.delete(),
    "add supporting evidence": lambda r: r.attribution.supporting_evidence.add(r.spare),
    "remove supporting evidence": lambda r: r.attribution.supporting_evidence.remove(r.item),
    "clear supporting evidence": lambda r: r.attribution.supporting_evidence.clear(),
    "item.attributions.add": lambda r: r.spare.attributions.add(r.attribution),
    "delete a supporting item (cascade)": lambda r: r.item.delete(),
}


@pytest.mark.parametrize("write", ATTRIBUTION_WRITES.values(), ids=ATTRIBUTION_WRITES.keys())
def test_a_verified_attribution_cannot_be_changed(reviewed, write):
    before = snapshot()

    with pytest.raises(locks.Locked) as refused, transaction.atomic():
        write(reviewed)

    assert refused.value.messages == [attribution_message(reviewed.attribution)]
    assert snapshot() == before


@pytest.mark.parametrize("write", ATTRIBUTION_WRITES.values(), ids=ATTRIBUTION_WRITES.keys())
def test_a_reopened_attribution_can_be_changed(reviewed, editor, write):
    transition(reviewed.attribution, Action.REOPEN, by=editor, comment="Wrong squadron.")
    reviewed.attribution.refresh_from_db()
    assert reviewed.attribution.status == S.DRAFT
    before = snapshot()

    with transaction.atomic():
        write(reviewed)

    assert snapshot() != before


def test_confirming_a_flight_cannot_add_support_to_a_verified_attribution(reviewed, reviewer):
    observation = f.FlightObservationFactory()
    before = snapshot()

    with pytest.raises(ValidationError) as refused:
        ranking.confirm(
            observation=observation,
            incident=reviewed.incident,
            by=reviewer,
            attribution=reviewed.attribution,
        )

    assert refused.value.messages == [attribution_message(reviewed.attribution)]
    assert snapshot() == before
    assert not FlightMatch.objects.exists()


def test_the_workflow_changes_the_state_of_a_locked_incidents_attribution(case, editor):
    """The status-only save is the workflow's: the lock lets it through."""
    Attribution.objects.filter(pk=case.attribution.pk).update(status=S.VERIFIED)
    case.attribution.refresh_from_db()

    transition(case.attribution, Action.REOPEN, by=editor, comment="Wrong squadron.")

    case.attribution.refresh_from_db()
    assert case.attribution.status == S.DRAFT


def _attribution_row(data: dict, reviewed: Reviewed) -> str:
    return row_of(data, "attributions", reviewed.attribution.pk)


@pytest.mark.parametrize(
    ("change", "prefix"),
    [
        (lambda data, row, r: data.update({row + "basis": ["Changed."]}), ""),
        (lambda data, row, r: data.update({row + "supporting_evidence": [str(r.spare.pk)]}), ""),
        (lambda data, row, r: data.update({row + "DELETE": ["on"]}), "Not removed: "),
    ],
    ids=["edit it", "change only its supporting evidence", "delete it"],
)
def test_incident_page_refuses_changes_to_a_verified_attribution(
    client, editor, reviewed, change, prefix
):
    client.force_login(editor)  # an editor may also delete attributions
    before = snapshot()

    response = save_page(
        client,
        change_url(reviewed.incident),
        lambda data: change(data, _attribution_row(data, reviewed), reviewed),
    )

    assert_form_error(response, prefix + attribution_message(reviewed.attribution))
    assert snapshot() == before


def test_incident_page_saves_with_a_verified_attribution_untouched(client, researcher, reviewed):
    client.force_login(researcher)
    before = snapshot()

    response = save_page(
        client,
        change_url(reviewed.incident),
        lambda data: data.update({"title": ["Strike on the central market"]}),
    )

    assert response.status_code == 302, page_text(response)
    reviewed.incident.refresh_from_db()
    assert reviewed.incident.title == "Strike on the central market"
    assert snapshot() == before
