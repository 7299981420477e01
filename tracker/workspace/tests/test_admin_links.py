"""No dead ends between the team's pages and the admin (tracker.workspace.admin_links)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from evidence.tests.files import make_jpeg
from tracker.models import ReviewStatus
from tracker.tests.factories import IncidentFactory
from tracker.workspace.tests.test_incident_page import grant, ingest, page_of

pytestmark = pytest.mark.django_db
UPLOAD = reverse("admin:evidence_evidenceitem_add")


@pytest.fixture
def incident(researcher):
    incident = IncidentFactory(created_by=researcher)
    ingest(make_jpeg(), by=researcher, incident=incident)
    return incident


def item_page(incident):
    item = incident.evidence_links.get().item
    return reverse("admin:evidence_evidenceitem_change", args=[item.pk])


def test_an_evidence_card_and_its_preview_lead_to_the_items_page(client, researcher, incident):
    client.force_login(researcher)
    html = client.get(page_of(incident)).content.decode()
    assert f'<a href="{item_page(incident)}" title="Metadata, custody and history">' in html
    assert f'data-page="{item_page(incident)}"' in html  # the lightbox's link


def test_the_incident_page_offers_an_upload_to_it_while_it_takes_evidence(
    client, researcher, incident
):
    client.force_login(researcher)
    html = client.get(page_of(incident)).content.decode()
    assert f'href="{UPLOAD}?incident={incident.pk}"' in html
    type(incident).objects.filter(pk=incident.pk).update(status=ReviewStatus.VERIFIED)
    html = client.get(page_of(incident)).content.decode()
    assert UPLOAD not in html  # a verified incident takes no new evidence


def test_the_incident_list_offers_new_incident_and_upload(client, researcher, incident):
    client.force_login(researcher)
    html = client.get(reverse("incidents:list")).content.decode()
    assert f'href="{reverse("admin:tracker_incident_add")}">New incident</a>' in html
    assert f'href="{UPLOAD}">Upload evidence</a>' in html


def test_a_reader_gets_no_link_the_admin_would_refuse(client, incident):
    reader = User.objects.create_user("reader", password="x", is_staff=True)
    grant(reader, "tracker.view_incident")
    client.force_login(reader)
    listing = client.get(reverse("incidents:list")).content.decode()
    assert "New incident" not in listing and "Upload evidence" not in listing
    html = client.get(page_of(incident)).content.decode()
    assert item_page(incident) not in html and UPLOAD not in html
    grant(reader, "evidence.view_evidenceitem")
    reader = User.objects.get(pk=reader.pk)  # a fresh permission cache
    client.force_login(reader)
    assert item_page(incident) in client.get(page_of(incident)).content.decode()


def test_view_on_site_leads_to_the_page_and_back(client, researcher, incident):
    client.force_login(researcher)
    change = reverse("admin:tracker_incident_change", args=[incident.pk])
    html = client.get(change).content.decode()
    assert "View on site" in html
    html = client.get(page_of(incident)).content.decode()
    assert f'<a href="{change}">Edit in admin</a>' in html


def test_an_items_page_has_no_view_on_site_that_comes_back_to_it(client, researcher, incident):
    client.force_login(researcher)
    assert "View on site" not in client.get(item_page(incident)).content.decode()
