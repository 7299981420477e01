"""Protected items (issue 14, finding I): who may open their files, and what is recorded.

The flight-log import used to mark every log protected by default. Its uploader, the
reviewer and the editor were then refused the file ("restricted: you may not open this
item's files") while the review action still verified it. Now:

- a protected item opens for holders of ``evidence.view_protected_identity`` and for its
  uploader (who created or acquired it), for nobody else;
- each opening by an uploader who lacks the permission is in the item's custody log: a
  download (``downloaded``) as for everyone, a thumbnail or preview as ``viewed``;
- a flight log is not protected unless the uploader says so.
"""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence import access, intake
from evidence.files import custody
from evidence.flights.forms import FlightLogUploadForm
from evidence.flights.tests.flightlog_helpers import EXAMPLE
from evidence.models import CustodyEvent, EvidenceItem, FlightLog
from evidence.tests.files import make_jpeg
from evidence.tests.views_helpers import add_derivative, body_of

pytestmark = pytest.mark.django_db

WHAT = ("original", "thumbnail", "preview")


def ingest_protected(by: User) -> EvidenceItem:
    item = intake.ingest(
        io.BytesIO(make_jpeg(colour=(20, 20, 160))),
        filename="source_at_the_checkpoint.jpg",
        kind="photo",
        by=by,
        is_protected=True,
    ).item
    add_derivative(item, "thumbnail", make_jpeg(size=(32, 24), gps=False))
    add_derivative(item, "preview", make_jpeg(size=(48, 36), gps=False))
    return item


@pytest.fixture
def protected(researcher) -> EvidenceItem:
    """A protected photo that ``researcher`` ingested."""
    return ingest_protected(researcher)


def events_of(item: EvidenceItem) -> list[CustodyEvent]:
    return list(item.custody_events.order_by("sequence"))


def get(client, user: User, what: str, item: EvidenceItem):
    client.force_login(user)
    return client.get(reverse(f"evidence:{what}", args=[item.code]), REMOTE_ADDR="192.0.2.9")


# --- The uploader's exception ---------------------------------------------------------------


def test_uploader_downloads_their_protected_item_and_the_download_is_in_custody(
    client, researcher, protected
):
    assert not researcher.has_perm(access.VIEW_PROTECTED)
    response = get(client, researcher, "original", protected)
    assert response.status_code == 200
    assert body_of(response)[:2] == b"\xff\xd8"  # the JPEG itself; recorded once served
    last = events_of(protected)[-1]
    assert (last.action, last.actor) == (CustodyEvent.Action.DOWNLOADED, researcher)


@pytest.mark.parametrize("kind", ["thumbnail", "preview"])
def test_uploader_sees_the_derivative_and_each_look_is_a_viewed_custody_event(
    client, researcher, protected, kind
):
    before = len(events_of(protected))
    for _ in range(2):
        response = get(client, researcher, kind, protected)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        # Not kept by the browser: a second look asks again, and is recorded again.
        assert response["Cache-Control"] == "private, no-store"
    events = events_of(protected)
    viewed = events[before:]
    assert [e.action for e in viewed] == [CustodyEvent.Action.VIEWED] * 2
    assert all(e.actor == researcher for e in viewed)
    assert viewed[0].details["derivative"] == kind
    assert viewed[0].details["remote_addr"] == "192.0.2.9"
    assert viewed[0].details["basis"] == "uploader of a protected item"
    assert custody.verify_chain(protected) == []


def test_head_of_a_derivative_records_nothing(client, researcher, protected):
    client.force_login(researcher)
    before = len(events_of(protected))
    response = client.head(reverse("evidence:thumbnail", args=[protected.code]))
    assert response.status_code == 200
    assert len(events_of(protected)) == before


def test_whoever_acquired_the_item_may_open_it_too(client, researcher, other_researcher, protected):
    EvidenceItem.objects.filter(pk=protected.pk).update(acquired_by=other_researcher)
    protected.refresh_from_db()
    assert get(client, other_researcher, "thumbnail", protected).status_code == 200
    assert events_of(protected)[-1].actor == other_researcher


# --- Everybody else -------------------------------------------------------------------------


@pytest.mark.parametrize("what", WHAT)
@pytest.mark.parametrize("persona", ["other_researcher", "reviewer", "editor"])
def test_others_without_the_permission_are_refused_and_nothing_is_recorded(
    client, request, protected, persona, what
):
    before = len(events_of(protected))
    response = get(client, request.getfixturevalue(persona), what, protected)
    assert response.status_code == 403
    assert len(events_of(protected)) == before


def test_the_rule_names_why(researcher, other_researcher, protected):
    assert access.refusal(researcher, protected) is None
    assert access.refusal(other_researcher, protected) == access.PROTECTED
    assert access.opens_as_uploader(researcher, protected)
    assert not access.opens_as_uploader(other_researcher, protected)


def test_holder_of_the_permission_opens_it_without_a_viewed_event(
    client, identity_holder, protected
):
    before = len(events_of(protected))
    response = get(client, identity_holder, "thumbnail", protected)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=600"
    assert len(events_of(protected)) == before  # not the exception: as for any item
    assert not access.opens_as_uploader(identity_holder, protected)


def test_an_unprotected_items_thumbnail_is_not_a_custody_event(client, researcher):
    item = intake.ingest(
        io.BytesIO(make_jpeg(colour=(160, 20, 20))), filename="a.jpg", kind="photo", by=researcher
    ).item
    add_derivative(item, "thumbnail", make_jpeg(size=(32, 24), gps=False))
    before = len(events_of(item))
    assert get(client, researcher, "thumbnail", item).status_code == 200
    assert len(events_of(item)) == before


def test_the_incident_page_shows_the_uploader_the_thumbnail_and_others_the_refusal(
    client, researcher, other_researcher
):
    from tracker.tests.factories import EvidenceLinkFactory, IncidentFactory

    incident = IncidentFactory(created_by=researcher)
    item = ingest_protected(researcher)
    EvidenceLinkFactory(item=item, incident=incident)
    page = reverse("incidents:detail", args=[incident.code])
    thumbnail = reverse("evidence:thumbnail", args=[item.code])
    client.force_login(researcher)
    assert thumbnail in client.get(page).content.decode()
    client.force_login(other_researcher)
    html = client.get(page).content.decode()
    assert thumbnail not in html
    assert "Restricted: you may not open this item's files" in html


# --- Flight logs ----------------------------------------------------------------------------


ADD = reverse("admin:evidence_flightlog_add")


def log_file() -> SimpleUploadedFile:
    return SimpleUploadedFile("log.csv", EXAMPLE.encode(), content_type="text/csv")


def test_flight_log_import_form_is_not_protected_by_default(client, researcher):
    assert FlightLogUploadForm.base_fields["is_protected"].initial is False
    client.force_login(researcher)
    html = client.get(ADD).content.decode()
    [checkbox] = re.findall(r"<input[^>]*name=\"is_protected\"[^>]*>", html)
    assert "checked" not in checkbox


def test_a_flight_log_uploaded_as_the_form_offers_it_opens_for_reviewer_and_editor(
    client, researcher, reviewer, editor, django_capture_on_commit_callbacks
):
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=True):  # the file is stored on commit
        client.post(ADD, {"file": log_file(), "time_zone": "Asia/Damascus"})
    item = FlightLog.objects.select_related("item").get().item
    assert not item.is_protected
    for user in (researcher, reviewer, editor):
        assert get(client, user, "original", item).status_code == 200


def test_a_flight_log_marked_protected_opens_for_its_uploader_only(
    client, researcher, reviewer, editor, django_capture_on_commit_callbacks
):
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ADD, {"file": log_file(), "time_zone": "Asia/Damascus", "is_protected": "on"})
    item = FlightLog.objects.select_related("item").get().item
    assert item.is_protected
    response = get(client, researcher, "original", item)
    assert response.status_code == 200
    assert body_of(response) == EXAMPLE.encode()  # recorded once the bytes are served
    assert events_of(item)[-1].action == CustodyEvent.Action.DOWNLOADED
    for user in (reviewer, editor):
        assert get(client, user, "original", item).status_code == 403


def test_nobody_without_the_permission_can_untick_protected(client, editor, researcher):
    """Unticking "protected" on a draft item, then opening it, was a way round the rule."""

    from evidence import intake
    from evidence.tests.files import make_jpeg

    item = intake.ingest(
        io.BytesIO(make_jpeg(colour=(9, 9, 9))),
        filename="w.jpg",
        kind="photo",
        by=researcher,
        is_protected=True,
    ).item
    client.force_login(editor)
    url = reverse("admin:evidence_evidenceitem_change", args=[item.pk])
    page = client.get(url).content.decode()
    assert 'name="is_protected"' not in page  # shown, not editable
    client.post(url, {"title": item.title, "is_protected": ""})
    item.refresh_from_db()
    assert item.is_protected
