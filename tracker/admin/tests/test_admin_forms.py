"""Data entry through the admin: errors beside the field, nothing half-saved, every box
named for a screen reader."""

import re

import pytest
from django.urls import reverse

from tracker.models import Incident, IncidentRelation, Position
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


# --- Boxes named where Django's markup labels none (kit.name_boxes) ---------------------------


def name_of(html: str, box_id: str) -> str | None:
    """The aria-label of the box with ``box_id`` in ``html``, None if it has none."""
    tag = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{re.escape(box_id)}"[^>]*>', html)
    assert tag, f"no box {box_id}"
    name = re.search(r'\baria-label="([^"]*)"', tag[0])
    return name[1] if name else None


def test_each_box_of_a_date_and_time_is_named(client, researcher):
    """Django's label of a date-and-time pair points at neither of its two boxes."""
    client.force_login(researcher)
    html = client.get(reverse("admin:tracker_incident_add")).content.decode()
    assert name_of(html, "id_occurred_start_0") == "Occurred start: date"
    assert name_of(html, "id_occurred_start_1") == "Occurred start: time"
    assert name_of(html, "id_occurred_end_1") == "Occurred end: time"
    assert name_of(html, "id_title") is None  # its <label for> names it already


def test_the_cells_of_a_tabular_inline_are_named_by_their_columns(client, researcher):
    incident = f.IncidentFactory(created_by=researcher)
    IncidentRelation.objects.create(
        from_incident=incident, to_incident=f.IncidentFactory(), kind="duplicate"
    )
    client.force_login(researcher)
    html = client.get(reverse("admin:tracker_incident_change", args=[incident.pk])).content
    html = html.decode()
    assert name_of(html, "id_relations_from-0-to_incident") == "To incident"
    assert name_of(html, "id_relations_from-0-kind") == "Kind"
    assert name_of(html, "id_relations_from-0-note") == "Note"
    assert name_of(html, "id_relations_from-0-DELETE") == "Delete"
    assert name_of(html, "id_relations_from-0-id") is None  # hidden
