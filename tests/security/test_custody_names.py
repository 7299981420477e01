"""A custody event's details may name incidents (a court bundle's "exported" event lists
the bag's incidents and carries its name): on an item the team sees, a restricted
incident named there is withheld from those who may not know of it, in the admin as in
the API."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from evidence import access
from evidence.files import bagging, custody
from evidence.models import EvidenceLink
from evidence.tests.test_restricted_items import named
from tests.security.restricted import ingest
from tracker.models import Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


def test_a_bags_restricted_incident_is_withheld_from_the_item_page(
    researcher, other_researcher, tmp_path
):
    named(other_researcher)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    shared = ingest(other_researcher, f.IncidentFactory(), (40, 90, 140))
    EvidenceLink.objects.create(item=shared, incident=restricted)
    bagging.export_bag([restricted], tmp_path / "bag", by=other_researcher)
    page = reverse("admin:evidence_evidenceitem_change", args=[shared.pk])
    client = Client()
    client.force_login(researcher)
    text = client.get(page).content.decode()
    assert restricted.code not in text and access.WITHHELD_INCIDENT in text
    client.force_login(other_researcher)
    assert restricted.code in client.get(page).content.decode()


def test_custody_details_withhold_each_value_naming_a_hidden_code():
    details = {
        "bag": "bag-INC-0002-20261206",
        "incidents": ["INC-0001", "INC-0002"],
        "filename": "interview_Hassan.jpg",
        "original_included": True,
        "size": 12,
        "nested": {"incident": "INC-0002"},
    }
    hidden = frozenset({"INC-0002"})
    shown = access.custody_details(details, True, hidden)
    assert shown == {
        "bag": access.WITHHELD_INCIDENT,
        "incidents": ["INC-0001", access.WITHHELD_INCIDENT],
        "filename": "interview_Hassan.jpg",
        "original_included": True,
        "size": 12,
        "nested": {"incident": "INC-0002"},  # no event writes one; not looked into
    }
    withheld = access.custody_details(details, False, hidden)
    assert withheld["filename"] == access.WITHHELD_FILE_NAME
    assert withheld["incidents"] == shown["incidents"]
    assert access.custody_details(details, True) == details
    assert access.custody_details(details, False)["bag"] == details["bag"]


def test_hidden_incident_codes_are_the_restricted_ones_unless_the_user_may_see_them(
    researcher, other_researcher
):
    from evidence.visibility import hidden_incident_codes

    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    f.IncidentFactory()
    assert hidden_incident_codes(researcher) == frozenset({restricted.code})
    assert hidden_incident_codes(named(other_researcher)) == frozenset()


def test_the_admin_withholds_the_hashes_that_would_confirm_a_withheld_value(
    researcher, other_researcher, tmp_path
):
    """A withheld event's hash covers its full details: shown, a guess of the restricted
    code (or the protected file name) could be checked against it, against the next
    event's previous hash, and against every later hash (each covers the one before).
    The item page, the custody log's list and its record."""
    from evidence.admin.records import WITHHELD_HASH
    from evidence.models import CustodyEvent

    named(other_researcher)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    shared = ingest(other_researcher, f.IncidentFactory(), (40, 90, 140))
    EvidenceLink.objects.create(item=shared, incident=restricted)
    bagging.export_bag([restricted], tmp_path / "bag", by=other_researcher)
    bagging.export_bag([restricted], tmp_path / "bag2", by=other_researcher)  # one after it
    viewed = custody.record(shared, CustodyEvent.Action.VIEWED, actor=other_researcher)
    events = list(shared.custody_events.order_by("sequence"))[:-1]
    exported, following = events[-2], events[-1]
    assert (
        restricted.code in str(exported.details) and following.previous_hash == exported.event_hash
    )
    opened = events[0]
    pages = [
        reverse("admin:evidence_evidenceitem_change", args=[shared.pk]),
        reverse("admin:evidence_custodyevent_change", args=[exported.pk]),
        reverse("admin:evidence_custodyevent_change", args=[following.pk]),
        reverse("admin:evidence_custodyevent_changelist") + f"?q={shared.code}",
    ]
    client = Client()
    client.force_login(researcher)
    for page in pages:
        text = client.get(page).content.decode()
        # Nor any later hash: the next event's covers the withheld one's just as well.
        for later in (exported, following, viewed):
            assert later.event_hash[:16] not in text, page
        assert WITHHELD_HASH in text, page
    item_page = client.get(pages[0]).content.decode()
    assert opened.event_hash in item_page  # the chain before it is shown
    client.force_login(other_researcher)  # who may see the incident sees every hash
    for page in pages:
        text = client.get(page).content.decode()
        assert exported.event_hash[:16] in text and WITHHELD_HASH not in text, page
    assert CustodyEvent.objects.filter(item=shared).count() == len(events) + 1
