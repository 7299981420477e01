"""Fixtures shared by the test modules of ``tracker/tests`` (the personas are the root
``conftest.py``'s).

The workflow's records: a draft ``incident``, evidence ``item`` and ``attribution`` of
the researcher persona. The access tests' ``world``: one object of every model in the
admin (``tracker.tests.access_world``). A ``force`` and an ``official`` for the model
tests.
"""

from types import SimpleNamespace

import pytest

from tracker.models import Force, Official
from tracker.tests import factories as f
from tracker.tests.access_world import build_world


@pytest.fixture
def incident(researcher):
    return f.IncidentFactory(created_by=researcher)


@pytest.fixture
def item(researcher):
    return f.EvidenceItemFactory(created_by=researcher)


@pytest.fixture
def attribution(researcher):
    """A draft attribution with the supporting evidence that verifying it needs."""
    attribution = f.AttributionFactory(created_by=researcher)
    attribution.supporting_evidence.add(f.EvidenceItemFactory(created_by=researcher))
    return attribution


@pytest.fixture
def world(researcher, other_researcher, reviewer, editor) -> SimpleNamespace:
    return build_world(researcher, other_researcher, reviewer, editor)


@pytest.fixture
def force() -> Force:
    return Force.objects.create(name="Syrian Arab Air Force", short_name="SyAAF")


@pytest.fixture
def official() -> Official:
    return Official.objects.create(name="Suhail al-Hassan")
