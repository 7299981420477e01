"""The evidence tray of an incident's admin page (tracker.admin.tray)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evidence.models import Derivative, EvidenceItem, EvidenceLink
from evidence.tests.files import make_jpeg
from tracker import workflow
from tracker.display import time_with_zone
from tracker.models import Incident, ReviewStatus, Sensitivity
from tracker.tests import factories as f
from tracker.workflow import Action, transition

S = ReviewStatus
pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def change_url(incident):
    return reverse("admin:tracker_incident_change", args=[incident.pk])


def tray_url(incident, what):
    return reverse(f"admin:tracker_incident_tray_{what}", args=[incident.pk])


def said(answer) -> str:
    return " ".join(m["text"] for m in json.loads(answer.content)["messages"])


@pytest.fixture
def incident(researcher):
    return f.IncidentFactory(created_by=researcher, title="Strike on the market")


def linked(incident, n, **item):
    items = [f.EvidenceItemFactory(**item) for _ in range(n)]
    EvidenceLink.objects.bulk_create(EvidenceLink(item=i, incident=incident) for i in items)
    return items


def test_the_tray_shows_each_item_as_a_card(client, researcher, incident):
    photo, _ = linked(incident, 2)
    Derivative.objects.create(
        item=photo, kind=Derivative.Kind.THUMBNAIL, path="t.jpg", sha256="0" * 64, width=1, height=1
    )
    client.force_login(researcher)
    page = client.get(change_url(incident)).content.decode()
    assert page.count('<li class="tray-card') == 2
    assert reverse("evidence:thumbnail", args=[photo.code]) in page
    assert reverse("admin:evidence_evidenceitem_change", args=[photo.pk]) in page
    assert "data-tray-upload" in page and "tray.js" in page


def test_a_card_says_what_the_item_is_where_and_when_it_was_taken_and_its_look_alikes(
    client, researcher, incident
):
    place = f.PlaceFactory(name="Maarat al-Numan")
    taken = datetime(2019, 5, 5, 7, 30, tzinfo=UTC)
    photo, twin = linked(
        incident, 2, captured_at=taken, captured_place=place, created_by=researcher
    )
    photo.near_duplicates.add(twin)
    transition(photo, Action.SUBMIT, by=researcher)
    EvidenceLink.objects.filter(item=twin).update(relied_on=False)
    client.force_login(researcher)
    page = client.get(change_url(incident)).content.decode()
    card = page[page.index('<li class="tray-card" id="tray-link-') :]
    card = card[: card.index("</li>")]
    assert photo.code in card and "Photo" in card
    assert f"Taken {time_with_zone(taken)}" in card and "<bdi>Maarat al-Numan</bdi>" in card
    assert "looks like 1 other<" in card and "submitted" in card
    aside = page[page.index('<li class="tray-card tray-aside"') :]
    assert twin.code in aside[: aside.index("</li>")] and "not relied on" in aside


def test_the_pages_queries_do_not_grow_with_the_tray(client, researcher, incident):
    """Counted with everything a card shows: a thumbnail, a place, a look-alike."""
    client.force_login(researcher)
    place = f.PlaceFactory()
    taken = datetime(2019, 5, 5, 7, 30, tzinfo=UTC)

    def add(n):
        items = linked(incident, n, captured_at=taken, captured_place=place)
        Derivative.objects.bulk_create(
            Derivative(
                item=i,
                kind=Derivative.Kind.THUMBNAIL,
                path=f"{i.pk}.jpg",
                sha256="0" * 64,
                width=1,
                height=1,
            )
            for i in items
        )
        for one, other in zip(items[::2], items[1::2], strict=False):
            one.near_duplicates.add(other)

    add(5)
    with CaptureQueriesContext(connection) as few:
        assert client.get(change_url(incident)).status_code == 200
    add(195)
    with CaptureQueriesContext(connection) as many:
        page = client.get(change_url(incident)).content.decode()
    assert len(many) == len(few)
    assert page.count('<li class="tray-card') == 48 and "Page 1 of 5" in page  # paged


def test_dropped_files_are_stored_and_linked_each_with_its_card(client, researcher, incident):
    client.force_login(researcher)
    answer = client.post(
        tray_url(incident, "upload"),
        {"files": [SimpleUploadedFile("a.jpg", make_jpeg()), SimpleUploadedFile("empty.jpg", b"")]},
        **JSON,
    )
    body = json.loads(answer.content)
    item = EvidenceItem.objects.get()
    assert item.kind == EvidenceItem.Kind.PHOTO  # from its content
    assert EvidenceLink.objects.filter(item=item, incident=incident).exists()
    assert f"Stored a.jpg as {item.code}" in said(answer)
    assert "Refused empty.jpg" in said(answer)
    assert len(body["cards"]) == 1 and item.code in body["cards"][0]


def test_a_file_already_held_is_linked_not_stored_again(client, researcher, incident):
    client.force_login(researcher)
    data = make_jpeg()
    other = f.IncidentFactory(created_by=researcher)
    client.post(tray_url(other, "upload"), {"files": [SimpleUploadedFile("a.jpg", data)]}, **JSON)
    answer = client.post(
        tray_url(incident, "upload"), {"files": [SimpleUploadedFile("b.jpg", data)]}, **JSON
    )
    assert "already held" in said(answer) and EvidenceItem.objects.count() == 1
    assert EvidenceLink.objects.filter(incident=incident).count() == 1


def test_without_the_script_the_forms_come_back_to_the_page(client, researcher, incident):
    client.force_login(researcher)
    answer = client.post(tray_url(incident, "upload"), {}, follow=True)
    assert answer.redirect_chain[-1][0] == change_url(incident) + "#tray"
    assert "Choose at least one file." in answer.content.decode()


def test_items_are_linked_by_code_and_hidden_ones_are_unknown(client, researcher, incident):
    shown = f.EvidenceItemFactory()
    secret = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    hidden = f.EvidenceItemFactory()
    EvidenceLink.objects.create(item=hidden, incident=secret)
    client.force_login(researcher)
    text = f"{shown.code.lower()}, {hidden.code} EV-999999 <script>"
    answer = client.post(tray_url(incident, "link"), {"codes": text}, **JSON)
    assert f"Linked {shown.code}" in said(answer)
    assert f"No such item: {hidden.code}." in said(answer)
    assert "No such item: EV-999999." in said(answer)
    assert list(EvidenceLink.objects.filter(incident=incident).values_list("item", flat=True)) == [
        shown.pk
    ]


@pytest.mark.parametrize("codes", ["", "nothing here", "\u202e", "x" * 5000])
def test_linking_without_a_code_says_so(client, researcher, incident, codes):
    client.force_login(researcher)
    answer = client.post(tray_url(incident, "link"), {"codes": codes}, **JSON)
    assert answer.status_code == 200 and "Give the codes" in said(answer)


def test_marking_not_relied_on_and_back_is_recorded_as_the_users_edit(
    client, researcher, reviewer, incident
):
    [item] = linked(incident, 1)
    link = EvidenceLink.objects.get()
    transition(incident, Action.SUBMIT, by=researcher)
    client.force_login(reviewer)  # a reviewer may edit a submitted incident...
    answer = client.post(tray_url(incident, "act"), {"link": link.pk, "action": "not_rely"}, **JSON)
    assert f"{item.code}: not relied on." in said(answer)
    assert EvidenceLink.objects.get().relied_on is False
    incident.refresh_from_db()
    # ... and is then no longer a second pair of eyes for it.
    assert "its evidence links" in " ".join(workflow.changes_since_submission(incident, reviewer))
    client.post(tray_url(incident, "act"), {"link": link.pk, "action": "rely"}, **JSON)
    assert EvidenceLink.objects.get().relied_on is True


def test_unlinking_removes_the_card(client, researcher, incident):
    linked(incident, 1)
    link = EvidenceLink.objects.get()
    client.force_login(researcher)
    answer = client.post(tray_url(incident, "act"), {"link": link.pk, "action": "unlink"}, **JSON)
    assert json.loads(answer.content)["removed"] == link.pk
    assert not EvidenceLink.objects.exists()


def test_an_unlink_the_disclosure_rule_refuses_leaves_the_link(client, researcher, incident):
    """The item's only visible link; a visible attribution elsewhere cites it: unlinking
    would hide it from the team reading that attribution (evidence.visibility)."""
    secret = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    [item] = linked(incident, 1)
    EvidenceLink.objects.create(item=item, incident=secret)
    citing = f.AttributionFactory(incident=incident)
    citing.supporting_evidence.add(item)
    other = f.AttributionFactory(incident=f.IncidentFactory())
    other.supporting_evidence.add(item)
    link = EvidenceLink.objects.get(incident=incident)
    client.force_login(researcher)
    answer = client.post(tray_url(incident, "act"), {"link": link.pk, "action": "unlink"}, **JSON)
    assert "Refused" in said(answer)
    assert EvidenceLink.objects.filter(pk=link.pk).exists()


@pytest.mark.parametrize("link", ["x", "-1", "0", "9" * 30, ""])
def test_a_link_id_that_names_nothing_is_no_such_link(client, researcher, incident, link):
    client.force_login(researcher)
    answer = client.post(tray_url(incident, "act"), {"link": link, "action": "unlink"}, **JSON)
    assert answer.status_code == 200 and said(answer) == "No such link."


def test_another_incidents_link_is_no_such_link(client, researcher, incident):
    other = f.IncidentFactory(created_by=researcher)
    linked(other, 1)
    link = EvidenceLink.objects.get()
    client.force_login(researcher)
    answer = client.post(tray_url(incident, "act"), {"link": link.pk, "action": "unlink"}, **JSON)
    assert said(answer) == "No such link." and EvidenceLink.objects.filter(pk=link.pk).exists()


def test_an_unknown_action_is_refused(client, researcher, incident):
    linked(incident, 1)
    client.force_login(researcher)
    link = EvidenceLink.objects.get()
    answer = client.post(tray_url(incident, "act"), {"link": link.pk, "action": "drop"}, **JSON)
    assert "Unknown action" in said(answer) and EvidenceLink.objects.exists()


@pytest.mark.parametrize("what", ["upload", "link", "act"])
def test_a_locked_incident_takes_nothing_from_the_tray(client, editor, incident, what):
    linked(incident, 1)
    Incident.objects.filter(pk=incident.pk).update(status=S.VERIFIED)
    client.force_login(editor)
    data = {
        "files": [SimpleUploadedFile("a.jpg", make_jpeg())],
        "codes": f.EvidenceItemFactory().code,
        "link": EvidenceLink.objects.get().pk,
        "action": "unlink",
    }
    assert client.post(tray_url(incident, what), data).status_code == 403
    assert EvidenceLink.objects.count() == 1 and EvidenceItem.objects.count() == 2
    page = client.get(change_url(incident)).content.decode()
    assert "data-tray-upload" not in page and "data-tray-act" not in page


def test_someone_elses_draft_is_read_only_in_the_tray(client, other_researcher, incident):
    linked(incident, 1)
    client.force_login(other_researcher)
    page = client.get(change_url(incident)).content.decode()
    assert '<li class="tray-card' in page and "data-tray-act" not in page
    link = EvidenceLink.objects.get()
    answer = client.post(tray_url(incident, "act"), {"link": link.pk, "action": "unlink"})
    assert answer.status_code == 403 and EvidenceLink.objects.exists()


@pytest.mark.parametrize("what", ["upload", "link", "act"])
def test_a_restricted_incident_is_not_there(client, researcher, what):
    other = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    client.force_login(researcher)
    assert client.post(tray_url(other, what), {"action": "unlink"}).status_code == 404


def test_a_spotter_log_imported_from_the_tray_comes_back_to_the_incident(
    client, researcher, incident
):
    client.force_login(researcher)
    page = client.get(change_url(incident)).content.decode()
    start = f"{reverse('admin:evidence_flightlog_add')}?incident={incident.code}"
    assert f'href="{start}"' in page
    form = client.get(start)
    assert form.context["form"]["incident"].value() == incident.code
    from evidence.flights.tests.flightlog_helpers import EXAMPLE

    upload = SimpleUploadedFile("spotters.csv", EXAMPLE.encode())
    answer = client.post(
        start, {"file": upload, "time_zone": "Asia/Damascus", "incident": incident.code}
    )
    assert answer.status_code == 302 and answer.url == change_url(incident) + "#tray"
    assert EvidenceLink.objects.filter(incident=incident, item__kind="flight_log").exists()
