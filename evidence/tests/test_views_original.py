"""evidence.views: the original, byte for byte, only ever as a download, each one a custody
event; and what is not there (or not a file) is a 404.

Files are generated here (Pillow, bytes literals) and go through the real intake path.
"""

from __future__ import annotations

import hashlib
import logging

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.urls import reverse

from evidence import views
from evidence.files import storage
from evidence.models import CustodyEvent, EvidenceItem
from evidence.tests.views_helpers import body_of, downloads_of, ingest, jpeg_bytes, long_text
from evidence.views import download_name

pytestmark = pytest.mark.django_db


POLYGLOT = (
    b"\x89PNG\r\n\x1a\n" + b"<html><body><script>alert(document.cookie)</script></body></html>"
)
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) " + "x" * 500


# --- The original -----------------------------------------------------------------------


def test_original_is_the_stored_file_byte_for_byte(client, researcher, item):
    client.force_login(researcher)
    response = client.get(reverse("evidence:original", args=[item.code]))
    body = body_of(response)
    assert body == storage.path_of(item.original_path).read_bytes()
    assert hashlib.sha256(body).hexdigest() == item.sha256
    assert response["Content-Length"] == str(item.size)


def test_original_is_a_download_never_rendered(client, researcher, item):
    client.force_login(researcher)
    response = client.get(reverse("evidence:original", args=[item.code]))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == f'attachment; filename="{item.code}.jpg"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert "sandbox" in response["Content-Security-Policy"]


def test_download_name_never_uses_the_client_file_name(client, researcher):
    item = ingest(jpeg_bytes((1, 1, 1)), by=researcher)
    EvidenceItem.objects.filter(pk=item.pk).update(
        original_filename='"; filename=evil.html\r\nX-Injected: 1'
    )
    client.force_login(researcher)
    response = client.get(reverse("evidence:original", args=[item.code]))
    assert response["Content-Disposition"] == f'attachment; filename="{item.code}.jpg"'
    assert "X-Injected" not in response


@pytest.mark.parametrize(
    ("code", "media_type", "expected"),
    [
        ("EV-000001", "image/jpeg", "EV-000001.jpg"),
        ("EV-000002", "video/quicktime", "EV-000002.mov"),
        ("EV-000003", "application/x-unknown", "EV-000003.bin"),
        ('EV-"1/..\\', "image/png", "EV-_1____.png"),
    ],
)
def test_download_name_is_ascii_from_code_and_type(code, media_type, expected):
    assert download_name(code, media_type) == expected


def test_download_is_a_custody_event_with_actor_address_and_agent(client, reviewer, item):
    client.force_login(reviewer)
    before = item.custody_events.count()
    body_of(
        client.get(
            reverse("evidence:original", args=[item.code]),
            REMOTE_ADDR="198.51.100.7",
            HTTP_X_FORWARDED_FOR="203.0.113.99",
            HTTP_USER_AGENT=USER_AGENT,
        )
    )
    events = list(item.custody_events.order_by("sequence"))
    assert len(events) == before + 1
    event = events[-1]
    assert event.action == CustodyEvent.Action.DOWNLOADED
    assert event.actor == reviewer
    # REMOTE_ADDR only: a client-sent forwarding header is not trusted here.
    assert event.details["remote_addr"] == "198.51.100.7"
    assert "203.0.113.99" not in str(event.details)
    assert event.details["user_agent"] == USER_AGENT[:200]
    assert event.previous_hash == events[-2].event_hash
    assert event.observed_sha256 == item.sha256


def test_download_event_records_the_hash_served_before_the_last_chunk(client, researcher):
    data = long_text()
    item = ingest(data, by=researcher, kind="document")
    client.force_login(researcher)
    response = client.get(reverse("evidence:original", args=[item.code]))
    assert response["Content-Length"] == str(len(data))
    assert downloads_of(item) == []  # nothing is recorded before the end is read
    chunks = []
    for chunk in response.streaming_content:
        if len(chunks) == 2:  # the last chunk leaves only once the event is written
            [event] = downloads_of(item)
        chunks.append(chunk)
    assert len(chunks) == 3
    assert b"".join(chunks) == data
    assert event.observed_sha256 == item.sha256
    assert event.details["result"] == "verified"
    assert event.details["delivery"] == "direct"


def test_download_closed_before_its_end_is_recorded_as_interrupted(rf, researcher):
    """The client went away: what it was handed is recorded, with nothing verified."""
    item = ingest(long_text(), by=researcher, kind="document")
    request = rf.get(reverse("evidence:original", args=[item.code]))
    request.user = researcher
    response = views.original(request, item.code)
    first = next(iter(response))
    # What the server does when the connection drops; the signal that closes the
    # database connection at the end of a request is held off, as the test client does.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    [event] = downloads_of(item)
    assert event.observed_sha256 == ""
    assert event.details["result"] == "interrupted"
    assert event.details["sent"] == len(first) == storage.CHUNK


def test_head_hands_out_no_bytes_and_records_no_download(client, researcher, item):
    client.force_login(researcher)
    response = client.head(reverse("evidence:original", args=[item.code]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert body_of(response) == b""
    assert downloads_of(item) == []


# --- Hostile inputs ---------------------------------------------------------------------


def test_polyglot_png_html_is_only_ever_an_attachment(client, researcher):
    item = ingest(POLYGLOT, by=researcher)
    assert item.media_type == "image/png"  # kept as evidence, as received
    client.force_login(researcher)
    response = client.get(reverse("evidence:original", args=[item.code]))
    assert response.status_code == 200
    assert body_of(response) == POLYGLOT
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == f'attachment; filename="{item.code}.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    # No derivative was made from it, so there is nothing to show inline either.
    assert client.get(reverse("evidence:thumbnail", args=[item.code])).status_code == 404


def test_unknown_code_is_404(client, researcher):
    client.force_login(researcher)
    for what in ("original", "thumbnail", "preview"):
        assert client.get(reverse(f"evidence:{what}", args=["EV-999999"])).status_code == 404
    assert client.get("/evidence/..%2F..%2Fetc%2Fpasswd/original").status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_only_get_and_head_are_allowed(client, researcher, item, method):
    client.force_login(researcher)
    for what in ("original", "thumbnail"):
        response = getattr(client, method)(reverse(f"evidence:{what}", args=[item.code]))
        assert response.status_code == 405
    assert downloads_of(item) == []


def test_missing_original_is_404_logged_and_not_a_download(client, researcher, item, caplog):
    storage.path_of(item.original_path).unlink()
    client.force_login(researcher)
    with caplog.at_level(logging.ERROR, logger="evidence.access"):
        response = client.get(reverse("evidence:original", args=[item.code]))
    assert response.status_code == 404
    assert downloads_of(item) == []
    [record] = [r for r in caplog.records if r.name == "evidence.access"]
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith(f"original missing: {item.code}")


def test_item_without_a_file_is_404(client, researcher):
    bare = EvidenceItem.objects.create(kind="photo", title="Described, no file yet")
    client.force_login(researcher)
    assert client.get(reverse("evidence:original", args=[bare.code])).status_code == 404
