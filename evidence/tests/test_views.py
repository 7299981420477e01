"""evidence.views: originals and derivatives only to those allowed to view the item.

Files are generated here (Pillow, bytes literals) and go through the real intake path.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.signals import request_finished
from django.db import close_old_connections
from django.urls import reverse
from PIL import Image

from evidence import intake, views
from evidence.files import storage
from evidence.models import CustodyEvent, Derivative, EvidenceItem
from evidence.views import download_name
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

POLYGLOT = (
    b"\x89PNG\r\n\x1a\n" + b"<html><body><script>alert(document.cookie)</script></body></html>"
)
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) " + "x" * 500

# Who gets what: the same answer for the original, the thumbnail and the preview.
# Anonymous requests are refused with 403 (not redirected to the login page).
EXPECTED_NORMAL = {
    "anonymous": 403,
    "outsider": 403,  # logged in, no role, not staff
    "researcher": 200,
    "reviewer": 200,
    "editor": 200,
    "identity_holder": 200,
    "superuser": 200,
}
EXPECTED_PROTECTED = {
    "anonymous": 403,
    "outsider": 403,
    "researcher": 403,  # no role holds evidence.view_protected_identity
    "reviewer": 403,
    "editor": 403,
    "identity_holder": 200,  # a researcher granted the permission by name
    "superuser": 200,
    "uploader": 200,  # the researcher who ingested it (each opening is in its custody log)
}


def jpeg_bytes(colour=(120, 80, 40), size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def long_text() -> bytes:
    """A text document of two and a half storage chunks."""
    line = b"Two aircraft circled the market before the strike; then the blast.\n"
    return line * (int(2.5 * storage.CHUNK) // len(line))


def ingest(data: bytes, *, by: User, kind: str = "photo", **fields) -> EvidenceItem:
    result = intake.ingest(io.BytesIO(data), filename="IMG_0001.jpg", kind=kind, by=by, **fields)
    assert not result.duplicate
    return result.item


def add_derivative(item: EvidenceItem, kind: str, data: bytes) -> Derivative:
    key = storage.derivative_key(item.sha256, kind)
    storage.write_derivative(key, data)
    derivative, _ = Derivative.objects.update_or_create(
        item=item,
        kind=kind,
        defaults={
            "path": key,
            "media_type": "image/jpeg",
            "width": 64,
            "height": 48,
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    )
    return derivative


def body_of(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def downloads_of(item: EvidenceItem) -> list[CustodyEvent]:
    return list(item.custody_events.filter(action=CustodyEvent.Action.DOWNLOADED))


@pytest.fixture
def identity_holder(db) -> User:
    """A researcher to whom an administrator granted the protected-identity permission."""
    user = User.objects.create_user("identity_holder", password="x" * 20, is_staff=True)
    user.groups.add(Group.objects.get(name="Researcher"))
    user.user_permissions.add(Permission.objects.get(codename="view_protected_identity"))
    return user


@pytest.fixture
def anonymous() -> None:
    return None


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


def as_persona(client, request, persona: str):
    user = request.getfixturevalue(persona)
    if user is not None:
        client.force_login(user)
    return user


# --- Who may see what ---------------------------------------------------------------


@pytest.mark.parametrize("what", ["original", "thumbnail", "preview"])
@pytest.mark.parametrize("persona", sorted(EXPECTED_NORMAL))
def test_normal_item_files_by_persona(client, request, item, persona, what):
    as_persona(client, request, persona)
    response = client.get(reverse(f"evidence:{what}", args=[item.code]))
    assert response.status_code == EXPECTED_NORMAL[persona]


@pytest.mark.parametrize("what", ["original", "thumbnail", "preview"])
@pytest.mark.parametrize("persona", sorted(EXPECTED_PROTECTED))
def test_protected_item_files_by_persona(client, request, protected_item, persona, what):
    as_persona(client, request, persona)
    response = client.get(reverse(f"evidence:{what}", args=[protected_item.code]))
    assert response.status_code == EXPECTED_PROTECTED[persona]


def test_inactive_staff_account_is_refused(client, researcher, item):
    client.force_login(researcher)
    researcher.is_active = False
    researcher.save()
    response = client.get(reverse("evidence:original", args=[item.code]))
    # Django's session check logs an inactive user out: refused like an anonymous one.
    assert response.status_code == 403
    assert downloads_of(item) == []


def test_staff_without_the_view_permission_is_refused(client, item):
    clerk = User.objects.create_user("clerk", password="x" * 20, is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("evidence:original", args=[item.code])).status_code == 403


# --- The original -------------------------------------------------------------------


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


@pytest.mark.parametrize("persona", ["anonymous", "outsider", "researcher"])
def test_refused_download_writes_no_custody_event(client, request, protected_item, persona):
    as_persona(client, request, persona)
    before = list(protected_item.custody_events.values_list("pk", flat=True))
    response = client.get(reverse("evidence:original", args=[protected_item.code]))
    assert response.status_code == 403
    assert list(protected_item.custody_events.values_list("pk", flat=True)) == before


def test_head_hands_out_no_bytes_and_records_no_download(client, researcher, item):
    client.force_login(researcher)
    response = client.head(reverse("evidence:original", args=[item.code]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert body_of(response) == b""
    assert downloads_of(item) == []


def test_derivatives_are_not_custody_events(client, researcher, item):
    client.force_login(researcher)
    before = item.custody_events.count()
    for what in ("thumbnail", "preview"):
        assert client.get(reverse(f"evidence:{what}", args=[item.code])).status_code == 200
    assert item.custody_events.count() == before


# --- Behind nginx -------------------------------------------------------------------


def test_x_accel_redirect_hands_the_storage_key_to_nginx(client, researcher, item, settings):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    client.force_login(researcher)
    response = client.get(reverse("evidence:original", args=[item.code]))
    assert response.status_code == 200
    assert not response.streaming
    assert response.content == b""
    assert response["X-Accel-Redirect"] == f"/protected/{item.original_path}"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == f'attachment; filename="{item.code}.jpg"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    [event] = downloads_of(item)
    assert event.actor == researcher
    assert event.details["delivery"] == "x-accel-redirect"
    assert event.observed_sha256 == item.sha256  # hashed here before nginx was told


def test_x_accel_head_reads_and_records_nothing(client, researcher, item, settings):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    client.force_login(researcher)
    response = client.head(reverse("evidence:original", args=[item.code]))
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected/{item.original_path}"
    assert downloads_of(item) == []


def test_x_accel_redirect_is_off_by_default(client, researcher, item):
    assert settings.TRACKER_X_ACCEL_REDIRECT_PREFIX == ""
    client.force_login(researcher)
    response = client.get(reverse("evidence:original", args=[item.code]))
    assert "X-Accel-Redirect" not in response
    assert body_of(response) == storage.path_of(item.original_path).read_bytes()


def test_x_accel_redirect_refusal_names_no_file(client, researcher, protected_item, settings):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    client.force_login(researcher)
    response = client.get(reverse("evidence:original", args=[protected_item.code]))
    assert response.status_code == 403
    assert "X-Accel-Redirect" not in response


def _start_with_prefix(tmp_path, value: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TRACKER_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="tracker.project.settings",
        TRACKER_DATA_DIR=str(tmp_path / "data"),
        TRACKER_X_ACCEL_REDIRECT_PREFIX=value,
    )
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(repr(settings.TRACKER_X_ACCEL_REDIRECT_PREFIX))"
    )
    return subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("value", "expected"), [("/protected/", "'/protected'"), ("/x/data", "'/x/data'")]
)
def test_x_accel_prefix_setting_is_read_from_the_environment(tmp_path, value, expected):
    result = _start_with_prefix(tmp_path, value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


@pytest.mark.parametrize("value", ["protected", "/", "/pro tected"])
def test_x_accel_prefix_must_be_an_absolute_path(tmp_path, value):
    result = _start_with_prefix(tmp_path, value)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: TRACKER_X_ACCEL_REDIRECT_PREFIX must be "
        f"a URL path starting with '/', such as /protected; got {value!r}."
    )


# --- Hostile inputs -----------------------------------------------------------------


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


@pytest.mark.parametrize("persona", ["anonymous", "outsider"])
def test_who_may_open_no_file_learns_nothing_about_codes(client, item, persona, request):
    if persona != "anonymous":  # logged in, but not staff and without the permission
        client.force_login(request.getfixturevalue(persona))
    unknown = client.get(reverse("evidence:original", args=["EV-999999"]))
    known = client.get(reverse("evidence:original", args=[item.code]))
    assert unknown.status_code == known.status_code == 403


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


def test_missing_original_behind_nginx_is_404_too(client, researcher, item, settings):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    storage.path_of(item.original_path).unlink()
    client.force_login(researcher)
    response = client.get(reverse("evidence:original", args=[item.code]))
    assert response.status_code == 404
    assert "X-Accel-Redirect" not in response
    assert downloads_of(item) == []


def test_item_without_a_file_is_404(client, researcher):
    bare = EvidenceItem.objects.create(kind="photo", title="Described, no file yet")
    client.force_login(researcher)
    assert client.get(reverse("evidence:original", args=[bare.code])).status_code == 404


# --- Derivatives --------------------------------------------------------------------


@pytest.mark.parametrize("what", ["thumbnail", "preview"])
def test_derivative_is_shown_inline_as_jpeg(client, researcher, item, what):
    client.force_login(researcher)
    response = client.get(reverse(f"evidence:{what}", args=[item.code]))
    stored = Derivative.objects.get(item=item, kind=what)
    assert body_of(response) == storage.path_of(stored.path).read_bytes()
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == f'inline; filename="{item.code}-{what}.jpg"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"].startswith("private")
    # Cached per login: another account in the same browser does not reuse it.
    assert "Cookie" in response["Vary"]


def test_item_without_derivatives_gives_404(client, researcher):
    bare = ingest(jpeg_bytes((5, 5, 5)), by=researcher)
    Derivative.objects.filter(item=bare).delete()  # whatever imaging made
    client.force_login(researcher)
    assert client.get(reverse("evidence:thumbnail", args=[bare.code])).status_code == 404
    assert client.get(reverse("evidence:preview", args=[bare.code])).status_code == 404


def test_missing_derivative_file_is_404_and_logged(client, researcher, item, caplog):
    thumbnail = Derivative.objects.get(item=item, kind="thumbnail")
    storage.path_of(thumbnail.path).unlink()
    client.force_login(researcher)
    with caplog.at_level(logging.ERROR, logger="evidence.access"):
        response = client.get(reverse("evidence:thumbnail", args=[item.code]))
    assert response.status_code == 404
    assert any(
        r.levelno == logging.ERROR and r.getMessage().startswith("thumbnail missing")
        for r in caplog.records
    )


# --- The access log -----------------------------------------------------------------


def test_refusal_is_logged_without_witness_identity(client, researcher, uploader, caplog):
    statement = b"The witness described two aircraft over the market at dawn.\n"
    item = ingest(statement, by=uploader, kind="testimony", is_protected=True)
    witness = f.WitnessFactory(
        pseudonym="Witness K-14", real_name="Amina Hidden-Name", contact="+963 555 0101"
    )
    f.TestimonyFactory(item=item, witness=witness, summary="Two aircraft.")
    client.force_login(researcher)
    with caplog.at_level(logging.WARNING, logger="evidence.access"):
        response = client.get(reverse("evidence:original", args=[item.code]))
    assert response.status_code == 403
    [record] = [r for r in caplog.records if r.name == "evidence.access"]
    message = record.getMessage()
    assert record.levelno == logging.WARNING
    assert item.code in message
    assert f"user {researcher.pk} ('researcher')" in message
    assert "protected item" in message
    for secret in ("Amina", "Hidden-Name", "+963", "Witness K-14", "aircraft"):
        assert secret not in caplog.text


def test_anonymous_refusal_is_logged(client, item, caplog):
    with caplog.at_level(logging.WARNING, logger="evidence.access"):
        client.get(reverse("evidence:preview", args=[item.code]), REMOTE_ADDR="192.0.2.4")
    [record] = [r for r in caplog.records if r.name == "evidence.access"]
    assert "not logged in" in record.getMessage()
    assert "192.0.2.4" in record.getMessage()


def test_hostile_code_is_logged_escaped(client, researcher, caplog):
    client.force_login(researcher)
    with caplog.at_level(logging.WARNING, logger="evidence.access"):
        response = client.get("/evidence/EV-1%0AFAKE%20LOG%20LINE/original")
    assert response.status_code == 404
    [record] = [r for r in caplog.records if r.name == "evidence.access"]
    assert "\n" not in record.getMessage()
