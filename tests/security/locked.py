"""A locked incident with its rows, and what the lock tests check after each write.

The fixture ``case``: an incident with an evidence link, an attribution with supporting
evidence and relations both ways, written while it was a draft, then verified or
published (both, by parameter) as the workflow leaves it. ``snapshot`` reads every row
the locks keep; ``lock_message`` and ``attribution_message`` are the reasons
``tracker.locks`` gives. A test module binds the fixture by name:
``case = locked.case``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from evidence.models import EvidenceItem, EvidenceLink
from tracker import locks
from tracker.models import Attribution, Incident, IncidentRelation, ReviewStatus
from tracker.tests import factories as f

S = ReviewStatus
SAME = IncidentRelation.Kind.SAME_OPERATION


@dataclass
class Case:
    incident: Incident  # locked (verified or published)
    neighbour: Incident  # related to it both ways
    other: Incident  # unrelated, open
    item: EvidenceItem  # linked to it, supports its attribution
    spare: EvidenceItem  # linked to nothing
    link: EvidenceLink
    attribution: Attribution
    relation: IncidentRelation  # incident -> neighbour


@pytest.fixture(params=[S.VERIFIED, S.PUBLISHED])
def case(request, researcher) -> Case:
    """An incident with a link, an attribution with supporting evidence and relations
    both ways, written while it was a draft, then locked as the workflow leaves it."""
    incident = f.IncidentFactory(created_by=researcher, title="Strike on the market")
    neighbour = f.IncidentFactory(created_by=researcher, title="Strike on the bakery")
    other = f.IncidentFactory(created_by=researcher, title="Strike on the school")
    item = f.EvidenceItemFactory(created_by=researcher, title="Photo of the crater")
    spare = f.EvidenceItemFactory(created_by=researcher, title="Video of the rescue")
    link = f.EvidenceLinkFactory(item=item, incident=incident, relevance="Shows the crater.")
    attribution = f.AttributionFactory(
        incident=incident, created_by=researcher, basis="Flight log and the crater."
    )
    attribution.supporting_evidence.add(item)
    relation = IncidentRelation.objects.create(
        from_incident=incident, to_incident=neighbour, kind=IncidentRelation.Kind.FOLLOW_UP
    )
    IncidentRelation.objects.create(from_incident=neighbour, to_incident=incident, kind=SAME)
    Incident.objects.filter(pk=incident.pk).update(status=request.param)
    incident.refresh_from_db()
    return Case(incident, neighbour, other, item, spare, link, attribution, relation)


def snapshot() -> dict[str, list]:
    """Every row the locks keep, by value."""
    return {
        "links": sorted(
            EvidenceLink.objects.values_list("item_id", "incident_id", "relevance", "relied_on")
        ),
        "attributions": sorted(
            Attribution.objects.values_list(
                "pk",
                "incident_id",
                "force_id",
                "unit_id",
                "official_id",
                "role",
                "confidence",
                "basis",
                "relied_on",
            )
        ),
        "supporting": sorted(
            Attribution.supporting_evidence.through.objects.values_list(
                "attribution_id", "evidenceitem_id"
            )
        ),
        "relations": sorted(
            IncidentRelation.objects.values_list(
                "from_incident_id", "to_incident_id", "kind", "note"
            )
        ),
        "items": sorted(EvidenceItem.objects.values_list("pk", flat=True)),
        "incidents": sorted(Incident.objects.values_list("pk", "status")),
    }


def lock_message(incident: Incident, what: str) -> str:
    return locks.locked_message(incident.code, incident.status, what)


def attribution_message(attribution: Attribution) -> str:
    attribution.refresh_from_db()
    return locks.attribution_message(attribution, attribution.incident.code, attribution.status)


def save_fields(record, **values) -> None:
    for name, value in values.items():
        setattr(record, name, value)
    record.save()
