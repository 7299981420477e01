"""Hostile requests (issue 7): too many files or fields, a foreign Host, cross-site
POSTs without a CSRF token, a session cookie replayed after logout, and open
redirects through ?next=. Each is refused cleanly, and nothing is written."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from evidence.models import CustodyEvent, EvidenceItem
from tracker.models import Incident, ReviewEvent, ReviewStatus
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"
UPLOAD = reverse("admin:evidence_evidenceitem_add")


def jpeg(colour=(120, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def stored_files() -> list[str]:
    return [str(p) for p in settings.DATA_DIR.rglob("*") if p.is_file()]


def assert_readable_refusal(response, reason: str) -> None:
    """A page in the site's look that says what happened, and no internals."""
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<title>Request refused" in page
    assert reason in page
    for internal in ("Traceback", "Exception", "django.", "TooMany", "DisallowedHost"):
        assert internal not in page


# --- Too many files, too many fields --------------------------------------------------


def test_more_than_100_files_in_one_upload_is_refused_and_nothing_stored(client, researcher):
    client.force_login(researcher)
    files = [
        SimpleUploadedFile(f"IMG_{n:04d}.jpg", jpeg((n, 80, 40)), content_type="image/jpeg")
        for n in range(101)
    ]
    response = client.post(UPLOAD, {"files": files, "kind": "photo"})
    assert_readable_refusal(response, "more than 100 files")
    assert EvidenceItem.objects.count() == 0
    assert CustodyEvent.objects.count() == 0
    assert stored_files() == []


def test_100_files_is_still_one_upload(client, researcher, settings):
    """The limit is the boundary, not below it (checked at 3 to keep the test quick)."""
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    client.force_login(researcher)
    files = [SimpleUploadedFile(f"IMG_{n}.jpg", jpeg((n * 90, 200 - n * 60, 40))) for n in range(3)]
    response = client.post(UPLOAD, {"files": files, "kind": "photo"})
    assert response.status_code == 302
    assert EvidenceItem.objects.count() == 3


def test_more_than_1000_fields_is_refused_and_nothing_changed(client, researcher):
    incident = f.IncidentFactory(created_by=researcher)
    client.force_login(researcher)
    response = client.post(
        reverse("admin:tracker_incident_changelist"),
        {"action": "submit_selected", "_selected_action": [str(incident.pk)] * 1001},
    )
    assert_readable_refusal(response, "more than 1000 fields")
    incident.refresh_from_db()
    assert incident.status == ReviewStatus.DRAFT
    assert ReviewEvent.objects.count() == 0


# --- A foreign Host header --------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["evil.example", "tracker.example.org.evil.example", "127.0.0.1@evil"]
)
def test_spoofed_host_is_refused(client, host):
    assert_readable_refusal(
        client.get("/admin/login/", HTTP_HOST=host), "not one the tracker answers to"
    )


def test_login_through_a_spoofed_host_creates_no_session(client, researcher):
    response = client.post(
        "/admin/login/",
        {"username": "researcher", "password": PASSWORD, "next": "/admin/"},
        HTTP_HOST="evil.example",
    )
    assert response.status_code == 400
    assert Session.objects.count() == 0


def test_forwarded_host_is_not_trusted(client):
    response = client.get("/admin/", HTTP_X_FORWARDED_HOST="evil.example")
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


# --- Cross-site POSTs without a CSRF token ----------------------------------------------


@pytest.fixture
def cross_site():
    """A browser that follows a form on another site: our cookies, no CSRF token."""
    return Client(enforce_csrf_checks=True, HTTP_ORIGIN="https://evil.example")


def test_cross_site_upload_is_refused_and_nothing_stored(cross_site, researcher):
    cross_site.force_login(researcher)
    response = cross_site.post(
        UPLOAD, {"files": [SimpleUploadedFile("a.jpg", jpeg())], "kind": "photo"}
    )
    assert response.status_code == 403
    assert EvidenceItem.objects.count() == 0
    assert stored_files() == []


def test_cross_site_workflow_transition_is_refused(cross_site, researcher):
    incident = f.IncidentFactory(created_by=researcher)
    cross_site.force_login(researcher)
    response = cross_site.post(
        reverse("admin:tracker_incident_review", args=[incident.pk, "submit"]),
        {"comment": "ready"},
    )
    assert response.status_code == 403
    assert Incident.objects.get(pk=incident.pk).status == ReviewStatus.DRAFT
    assert ReviewEvent.objects.count() == 0


def test_cross_site_dossier_export_is_refused(cross_site, researcher):
    official = f.OfficialFactory()
    cross_site.force_login(researcher)
    url = reverse("officials:dossier_csv", args=[official.pk])
    response = cross_site.post(url)
    assert response.status_code == 403
    assert not response["Content-Type"].startswith("text/csv")
    assert cross_site.get(url).status_code == 200  # the export itself works, by GET


def test_the_same_post_with_the_token_goes_through(researcher):
    """The refusals above are the missing token's doing, not the route's."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(researcher)
    incident = f.IncidentFactory(created_by=researcher)
    url = reverse("admin:tracker_incident_review", args=[incident.pk, "submit"])
    browser.get(url)
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    response = browser.post(url, {"comment": "ready", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Incident.objects.get(pk=incident.pk).status == ReviewStatus.SUBMITTED


# --- A session cookie replayed after logout -------------------------------------------


def test_session_cookie_reused_after_logout_is_not_logged_in(client, researcher):
    client.post(
        "/admin/login/", {"username": "researcher", "password": PASSWORD, "next": "/admin/"}
    )
    assert client.get("/admin/").status_code == 200
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post(reverse("admin:logout"))

    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = stolen
    response = replay.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not Session.objects.filter(session_key=stolen).exists()


# --- Open redirects ------------------------------------------------------------------------

ELSEWHERE = [
    "https://evil.example",
    "//evil.example/admin/",
    "/\\evil.example",
    "https:evil.example",
]


def stays_here(location: str) -> bool:
    parts = urlsplit(location)
    return parts.netloc in ("", "testserver") and parts.scheme in ("", "http")


@pytest.mark.parametrize("target", ELSEWHERE)
def test_login_does_not_redirect_off_site(client, researcher, target):
    response = client.post(
        f"/admin/login/?next={target}",
        {"username": "researcher", "password": PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert stays_here(response["Location"]), response["Location"]
    assert client.get(response["Location"], follow=True).status_code == 200


@pytest.mark.parametrize("target", ELSEWHERE)
def test_logout_does_not_redirect_off_site(client, researcher, target):
    client.force_login(researcher)
    response = client.post(f"{reverse('admin:logout')}?next={target}", {"next": target})
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert stays_here(response["Location"]), response["Location"]
    assert "_auth_user_id" not in client.session
