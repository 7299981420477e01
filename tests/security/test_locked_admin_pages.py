"""Issue 14 D, through the admin's pages: a verified or published incident cannot gain,
lose or change evidence links, attributions or related incidents until an editor
reopens it (``tracker.locks``).

Each page is driven against a verified and a published incident (``case``, from
``tests.security.locked``): the incident's own page, the evidence item's page, another
incident's page, the delete views, the attribution admin. Every refusal leaves the
database as it was and answers with the reason (a form error, or a redirect with a
message), never a server error; the locked incident's own page is read-only, so a
crafted POST to it is forbidden. Untouched rows of an editable page still save.
"""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from evidence import intake
from evidence.tests.files import make_jpeg
from tests.security import locked
from tests.security.locked import lock_message, snapshot
from tests.security.pages import (
    add_row,
    assert_form_error,
    change_url,
    delete_url,
    messages_of,
    page_data,
    page_text,
    row_of,
    save_page,
)
from tracker.models import Attribution, Incident, IncidentRelation, ReviewStatus
from tracker.tests import factories as f

S = ReviewStatus
SAME = IncidentRelation.Kind.SAME_OPERATION
pytestmark = pytest.mark.django_db

case = locked.case  # the fixture: a verified or published incident with its rows


# --- The incident's own page: read-only while locked -----------------------------------------


def test_a_locked_incident_page_shows_its_rows_without_inputs(client, editor, case):
    client.force_login(editor)

    page = client.get(change_url(case.incident)).content.decode()

    assert case.item.code in page
    for field in ("evidence_links-0-relevance", "attributions-0-basis", "relations_from-0-note"):
        assert f'name="{field}"' not in page
        assert f'name="{field.split("-")[0]}-0-DELETE"' not in page
    assert 'name="_save"' not in page


@pytest.mark.parametrize("persona", ["editor", "superuser"])
def test_a_crafted_post_to_a_locked_incident_page_changes_nothing(client, request, case, persona):
    client.force_login(request.getfixturevalue(persona))
    url = change_url(case.incident)
    data = page_data(client.get(url))
    for prefix in ("evidence_links", "attributions", "relations_from"):
        data[f"{prefix}-INITIAL_FORMS"] = ["1"]
    data.update(
        {
            "evidence_links-TOTAL_FORMS": ["2"],
            "evidence_links-0-id": [str(case.link.pk)],
            "evidence_links-0-item": [str(case.item.pk)],
            "evidence_links-0-DELETE": ["on"],
            "evidence_links-1-item": [str(case.spare.pk)],
            "evidence_links-1-relied_on": ["on"],
            "attributions-TOTAL_FORMS": ["1"],
            "attributions-0-id": [str(case.attribution.pk)],
            "attributions-0-unit": [str(case.attribution.unit_id)],
            "attributions-0-role": ["ordered"],
            "attributions-0-confidence": ["high"],
            "attributions-0-basis": ["Rewritten."],
            "relations_from-TOTAL_FORMS": ["1"],
            "relations_from-0-id": [str(case.relation.pk)],
            "relations_from-0-DELETE": ["on"],
        }
    )
    before = snapshot()

    response = client.post(url, data)

    assert response.status_code == 403  # the page is read-only: nothing is posted from it
    assert snapshot() == before


# --- The evidence item's own page (IncidentLinkInline) -----------------------------------------


def test_item_page_cannot_link_an_item_to_a_locked_incident(client, researcher, case):
    client.force_login(researcher)
    before = snapshot()

    response = save_page(
        client,
        change_url(case.spare),
        lambda data: add_row(
            data, "links", item=case.spare.pk, incident=case.incident.pk, relied_on="on"
        ),
    )

    assert_form_error(response, lock_message(case.incident, "evidence"))
    assert snapshot() == before


def test_item_page_cannot_untick_relied_on_of_a_locked_incident(client, researcher, case):
    client.force_login(researcher)
    before = snapshot()

    def untick(data):
        data.pop(row_of(data, "links", case.link.pk) + "relied_on")

    response = save_page(client, change_url(case.item), untick)

    assert_form_error(response, lock_message(case.incident, "evidence"))
    assert snapshot() == before


def test_item_page_cannot_move_a_link_off_a_locked_incident(client, researcher, case):
    client.force_login(researcher)
    before = snapshot()

    def move(data):
        data[row_of(data, "links", case.link.pk) + "incident"] = [str(case.other.pk)]

    response = save_page(client, change_url(case.item), move)

    assert_form_error(response, lock_message(case.incident, "evidence"))
    assert snapshot() == before


def test_item_page_cannot_delete_the_link_to_a_locked_incident(client, researcher, case):
    client.force_login(researcher)
    before = snapshot()

    def delete(data):
        data[row_of(data, "links", case.link.pk) + "DELETE"] = ["on"]

    response = save_page(client, change_url(case.item), delete)

    assert_form_error(response, f"Not removed: {lock_message(case.incident, 'evidence')}")
    assert snapshot() == before


def test_item_page_saves_when_its_link_to_a_locked_incident_is_untouched(client, researcher, case):
    client.force_login(researcher)
    before = snapshot()

    def retitle(data):
        data["title"] = ["Photo of the crater, north side"]

    response = save_page(client, change_url(case.item), retitle)

    assert response.status_code == 302, page_text(response)
    case.item.refresh_from_db()
    assert case.item.title == "Photo of the crater, north side"
    assert snapshot() == before


# --- Another incident's page (IncidentRelationInline) -------------------------------------------


def test_another_incident_page_cannot_relate_it_to_a_locked_incident(client, researcher, case):
    client.force_login(researcher)
    before = snapshot()

    response = save_page(
        client,
        change_url(case.other),
        lambda data: add_row(
            data,
            "relations_from",
            from_incident=case.other.pk,
            to_incident=case.incident.pk,
            kind=SAME,
        ),
    )

    assert_form_error(response, lock_message(case.incident, "related incidents"))
    assert snapshot() == before


def test_another_incident_page_cannot_remove_its_relation_to_a_locked_incident(
    client, researcher, case
):
    client.force_login(researcher)
    before = snapshot()
    relation = IncidentRelation.objects.get(from_incident=case.neighbour)

    def delete(data):
        data[row_of(data, "relations_from", relation.pk) + "DELETE"] = ["on"]

    response = save_page(client, change_url(case.neighbour), delete)

    message = lock_message(case.incident, "related incidents")
    assert_form_error(response, f"Not removed: {message}")
    assert snapshot() == before


def test_item_delete_view_keeps_an_ingested_item_and_its_link(client, superuser, researcher):
    """Every stored item has custody events, which protect it: the page says so."""
    incident = f.IncidentFactory(created_by=researcher)
    item = intake.ingest(
        io.BytesIO(make_jpeg()), filename="a.jpg", kind="photo", by=researcher, incident=incident
    ).item
    Incident.objects.filter(pk=incident.pk).update(status=S.VERIFIED)
    client.force_login(superuser)
    before = snapshot()

    response = client.post(delete_url(item), {"post": "yes"})

    assert response.status_code == 200
    assert "Cannot delete evidence item" in page_text(response)
    assert "custody event" in page_text(response)
    assert snapshot() == before


def test_item_delete_view_refuses_a_cascade_into_a_locked_incident(client, superuser, case):
    """An item without custody events (made by a factory or a bench script only)."""
    client.force_login(superuser)
    before = snapshot()

    response = client.post(delete_url(case.item), {"post": "yes"}, follow=True)

    assert f"Not deleted: {lock_message(case.incident, 'evidence')}" in messages_of(response)
    assert snapshot() == before


def test_incident_delete_view_refuses_a_cascade_into_a_locked_incident(client, superuser, case):
    client.force_login(superuser)
    before = snapshot()

    response = client.post(delete_url(case.neighbour), {"post": "yes"}, follow=True)

    message = lock_message(case.incident, "related incidents")
    assert f"Not deleted: {message}" in messages_of(response)
    assert snapshot() == before


# --- The attribution admin ----------------------------------------------------------------------


def test_attribution_admin_cannot_add_to_a_locked_incident(client, editor, case):
    client.force_login(editor)
    before = snapshot()

    response = client.post(
        reverse("admin:tracker_attribution_add"),
        {
            "incident": case.incident.pk,
            "unit": case.attribution.unit_id,
            "role": Attribution.Role.ORDERED,
            "confidence": Attribution.Confidence.HIGH,
            "relied_on": "on",
            "basis": "A defector's account.",
        },
    )

    assert_form_error(response, lock_message(case.incident, "attributions"))
    assert snapshot() == before


def test_attribution_admin_cannot_move_an_attribution_onto_a_locked_incident(
    client, editor, researcher, case
):
    elsewhere = f.AttributionFactory(incident=case.other, created_by=researcher)
    client.force_login(editor)
    before = snapshot()

    def move(data):
        data["incident"] = [str(case.incident.pk)]

    response = save_page(client, change_url(elsewhere), move)

    assert_form_error(response, lock_message(case.incident, "attributions"))
    assert snapshot() == before


def test_attribution_admin_shows_a_locked_incidents_attribution_read_only(client, editor, case):
    client.force_login(editor)
    url = change_url(case.attribution)
    assert 'name="_save"' not in client.get(url).content.decode()
    before = snapshot()

    response = client.post(
        url,
        {
            "incident": case.incident.pk,
            "unit": case.attribution.unit_id,
            "role": Attribution.Role.ORDERED,
            "confidence": Attribution.Confidence.HIGH,
            "basis": "Rewritten.",
        },
    )

    assert response.status_code == 403  # read-only: nothing is posted from the page
    assert snapshot() == before


def test_attribution_admin_delete_of_a_locked_incidents_attribution_says_why(client, editor, case):
    client.force_login(editor)
    before = snapshot()

    response = client.post(delete_url(case.attribution), {"post": "yes"})

    assert response.status_code == 302
    assert response["Location"] == change_url(case.attribution)
    page = client.get(response["Location"])
    assert f"Not deleted: {lock_message(case.incident, 'attributions')}" in messages_of(page)
    assert snapshot() == before


def test_attribution_admin_says_why_when_the_incident_was_locked_after_validation(
    client, editor, case, monkeypatch
):
    """The form was valid (here: the lock's clean() skipped) but the save meets the lock,
    as when a reviewer verifies the incident meanwhile: a message, not an error page."""
    monkeypatch.setattr(Attribution, "clean", lambda self: None)
    client.force_login(editor)
    before = snapshot()

    response = client.post(
        reverse("admin:tracker_attribution_add"),
        {
            "incident": case.incident.pk,
            "unit": case.attribution.unit_id,
            "role": Attribution.Role.ORDERED,
            "confidence": Attribution.Confidence.HIGH,
            "relied_on": "on",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert f"Not saved: {lock_message(case.incident, 'attributions')}" in messages_of(response)
    assert snapshot() == before
