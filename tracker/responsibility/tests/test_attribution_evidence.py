"""Attributions are backed by evidence: one without supporting evidence cannot be
verified (``can_verify_attribution``), and the attribution form keeps a verified
attribution from losing its last supporting item; a draft may have none yet."""

import pytest

from tracker.admin.attribution import AttributionForm
from tracker.models import Attribution, ReviewStatus
from tracker.responsibility.chain import NO_EVIDENCE, can_verify_attribution
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


# --- Attributions need evidence to be verified ---------------------------------------------


def test_attribution_without_evidence_cannot_be_verified():
    attribution = f.AttributionFactory()
    assert can_verify_attribution(attribution) == NO_EVIDENCE
    assert can_verify_attribution(Attribution(incident=attribution.incident)) == NO_EVIDENCE


def test_attribution_with_evidence_can_be_verified():
    attribution = f.AttributionFactory()
    attribution.supporting_evidence.add(f.EvidenceItemFactory())
    assert can_verify_attribution(attribution) is None


def _form(attribution: Attribution, evidence: list) -> AttributionForm:
    data = {
        "incident": attribution.incident_id,
        "unit": attribution.unit_id,
        "role": attribution.role,
        "confidence": attribution.confidence,
        "basis": "Flight log and photos.",
        "relied_on": attribution.relied_on,
        "supporting_evidence": [item.pk for item in evidence],
    }
    return AttributionForm(data, instance=attribution)


def test_verified_attribution_cannot_lose_its_last_evidence_item():
    attribution = f.AttributionFactory(basis="Flight log and photos.")
    item = f.EvidenceItemFactory()
    attribution.supporting_evidence.add(item)
    attribution.status = ReviewStatus.VERIFIED  # as tracker.workflow saves it
    attribution.save(update_fields=["status"])

    form = _form(attribution, [])

    assert not form.is_valid()
    assert form.errors["supporting_evidence"] == [NO_EVIDENCE]
    assert _form(attribution, [item]).is_valid()


def test_draft_attribution_may_have_no_evidence_yet():
    assert _form(f.AttributionFactory(), []).is_valid()
