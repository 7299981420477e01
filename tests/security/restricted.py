"""A restricted incident and what stands only behind it, beside the team's open case.

The fixture ``case`` of the visibility tests: a restricted incident of another
researcher (named on it) with a submitted photo, a testimony, an attribution citing the
photo and a relation from an open incident; a restricted draft of the researcher
persona; an open incident at the same place, whose photo is also linked to the
restricted one. ``case["hidden_rows"]`` holds, per model, the keys the team must not
see. A test module binds the fixture by name: ``case = restricted.case``.
"""

from __future__ import annotations

import io

import pytest

from evidence import intake
from evidence import models as evidence_models
from evidence.models import CustodyEvent, EvidenceItem, EvidenceLink, Witness
from evidence.tests.files import make_jpeg
from evidence.tests.test_restricted_items import named
from tracker import workflow
from tracker.models import Attribution, Incident, IncidentRelation, Sensitivity
from tracker.tests import factories as f


def ingest(by, incident, colour):
    return intake.ingest(
        io.BytesIO(make_jpeg(colour=colour)),
        filename="strike.jpg",
        kind="photo",
        by=by,
        incident=incident,
    ).item


@pytest.fixture
def case(researcher, other_researcher, reviewer, editor):
    named(other_researcher)  # the author of the restricted incident may see it
    place = f.PlaceFactory(name="SAMPLE Maarat")
    restricted = f.IncidentFactory(
        title="SECRET strike on the clinic",
        sensitivity=Sensitivity.RESTRICTED,
        created_by=other_researcher,
        place=place,
    )
    mine_restricted = f.IncidentFactory(
        title="SECRET draft of mine", sensitivity=Sensitivity.RESTRICTED, created_by=researcher
    )
    visible = f.IncidentFactory(title="Open strike on the bakery", place=place)
    hidden = ingest(other_researcher, restricted, (200, 30, 30))
    shared = ingest(other_researcher, visible, (30, 200, 30))
    EvidenceLink.objects.create(item=shared, incident=restricted)
    witness = f.WitnessFactory(pseudonym="SECRET witness W")
    f.TestimonyFactory(item=hidden, witness=witness)
    attribution = f.AttributionFactory(incident=restricted, basis="SECRET basis")
    attribution.supporting_evidence.add(hidden)
    f.AttributionFactory(incident=visible)
    relation = IncidentRelation.objects.create(
        from_incident=visible, to_incident=restricted, kind=IncidentRelation.Kind.FOLLOW_UP
    )
    workflow.transition(hidden, workflow.Action.SUBMIT, by=other_researcher)
    workflow.transition(restricted, workflow.Action.SUBMIT, by=other_researcher)
    hidden_rows = {
        Incident: {restricted.pk, mine_restricted.pk},
        EvidenceItem: {hidden.pk},
        Attribution: {attribution.pk},
        Witness: {witness.pk},
        EvidenceLink: set(restricted.evidence_links.values_list("pk", flat=True)),
        IncidentRelation: {relation.pk},
        CustodyEvent: set(hidden.custody_events.values_list("pk", flat=True)),
        evidence_models.Testimony: set(
            evidence_models.Testimony.objects.filter(item=hidden).values_list("pk", flat=True)
        ),
    }
    return {
        "place": place,
        "restricted": restricted,
        "visible": visible,
        "hidden": hidden,
        "shared": shared,
        "witness": witness,
        "hidden_rows": hidden_rows,
    }


def unused_scene_key() -> int:
    """A key no satellite image and no evidence item has."""
    from django.db.models import Max

    from evidence.models import SatelliteImage

    highest = [
        m.objects.aggregate(top=Max("pk"))["top"] or 0 for m in (SatelliteImage, EvidenceItem)
    ]
    return max(highest) + 1
