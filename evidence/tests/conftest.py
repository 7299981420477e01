"""Fixtures of evidence's tests: the incidents a file is ingested for, and the stored
items (with their derivatives) that the views hand out.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group, User

from evidence.models import EvidenceItem
from evidence.tests.views_helpers import add_derivative, ingest, jpeg_bytes
from tracker.models import Incident


@pytest.fixture
def incident() -> Incident:
    return Incident.objects.create(
        title="Airstrike on the market", occurred_start=datetime(2019, 5, 5, 7, 30, tzinfo=UTC)
    )


@pytest.fixture
def other_incident() -> Incident:
    return Incident.objects.create(
        title="Follow-up strike", occurred_start=datetime(2019, 5, 5, 7, 45, tzinfo=UTC)
    )


@pytest.fixture
def item(researcher) -> EvidenceItem:
    item = ingest(jpeg_bytes(), by=researcher, title="Market after the strike")
    add_derivative(item, "thumbnail", jpeg_bytes(size=(32, 24)))
    add_derivative(item, "preview", jpeg_bytes(size=(48, 36)))
    return item


@pytest.fixture
def uploader(db) -> User:
    """A researcher who ingests the protected item: not the ``researcher`` persona."""
    user = User.objects.create_user("uploader", password="x" * 20, is_staff=True)
    user.groups.add(Group.objects.get(name="Researcher"))
    return user


@pytest.fixture
def protected_item(uploader) -> EvidenceItem:
    item = ingest(jpeg_bytes((10, 200, 10)), by=uploader, is_protected=True)
    add_derivative(item, "thumbnail", jpeg_bytes((10, 200, 10), size=(32, 24)))
    add_derivative(item, "preview", jpeg_bytes((10, 200, 10), size=(48, 36)))
    return item
