"""Data entry through the admin: errors beside the field, nothing half-saved."""

import pytest
from django.urls import reverse

from tracker.models import Incident, Position
from tracker.tests import factories as f


def form_data(response) -> dict:
    """The add page's management-form fields for every inline, with no inline rows."""
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name, field in management.fields.items():
            data[f"{management.prefix}-{name}"] = management.initial.get(name, field.initial) or 0
    return data


@pytest.fixture
def place(db):
    return f.PlaceFactory(name="Kafr Nabl")


def incident_post(client, **fields):
    url = reverse("admin:tracker_incident_add")
    data = form_data(client.get(url))
    data.update(
        {
            "title": "Strike on the market",
            "occurred_start_0": "2019-05-13",
            "occurred_start_1": "09:45",
            "start_precision": "minute",
            "location_precision": "town",
            "sensitivity": "normal",
            **fields,  # a test's own values win
        }
    )
    return client.post(url, data)


def test_researcher_adds_an_incident_and_gets_a_code(client, researcher, place):
    client.force_login(researcher)
    response = incident_post(client, place=place.pk, killed_min=3, killed_max=7)
    assert response.status_code == 302, response.context["adminform"].form.errors
    incident = Incident.objects.get()
    assert incident.code == "INC-0001"
    assert incident.created_by == researcher
    assert incident.history.count() == 1
    assert incident.history.first().history_user == researcher


def test_killed_max_below_min_is_shown_on_the_field_and_nothing_saved(client, researcher):
    client.force_login(researcher)
    response = incident_post(client, killed_min=9, killed_max=2)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["killed_max"] == ["Killed (min) cannot exceed killed (max)."]
    assert not Incident.objects.exists()


def test_latitude_91_is_refused(client, researcher):
    client.force_login(researcher)
    response = incident_post(client, latitude="91", longitude="36.5")
    errors = response.context["adminform"].form.errors
    assert "latitude" in errors
    assert "less than or equal to 90" in errors["latitude"][0]
    assert not Incident.objects.exists()


def test_posting_that_ends_before_it_starts_is_refused_in_the_admin(client, editor):
    unit = f.UnitFactory()
    client.force_login(editor)
    url = reverse("admin:tracker_position_add")
    response = client.post(
        url,
        {
            "official": f.OfficialFactory().pk,
            "unit": unit.pk,
            "title": "Commander",
            "is_command": "on",
            "start": "2019-06-01",
            "start_precision": "day",
            "end": "2019-01-01",
            "end_precision": "day",
        },
    )
    assert response.status_code == 200
    assert "A posting cannot end before it starts." in str(
        response.context["adminform"].form.errors
    )
    assert not Position.objects.exists()


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:index",
        "admin:tracker_incident_add",
        "admin:evidence_evidenceitem_add",
        "admin:evidence_witness_add",
    ],
)
def test_data_entry_pages_open_for_a_researcher(client, researcher, url_name):
    client.force_login(researcher)
    assert client.get(reverse(url_name)).status_code == 200


def test_officials_are_managed_by_editors_not_researchers(client, researcher, editor):
    url = reverse("admin:tracker_official_add")
    client.force_login(researcher)
    assert client.get(url).status_code == 403
    client.force_login(editor)
    assert client.get(url).status_code == 200


def test_incident_change_page_shows_inlines_and_history(client, researcher):
    incident = f.IncidentFactory()
    f.EvidenceLinkFactory(incident=incident)
    client.force_login(researcher)
    page = client.get(reverse("admin:tracker_incident_change", args=[incident.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert f"Evidence behind {incident.code}" in body  # the tray (tracker.admin.tray)
    assert "Attributions" in body
    history = client.get(reverse("admin:tracker_incident_history", args=[incident.pk]))
    assert history.status_code == 200
