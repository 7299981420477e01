"""evidence.views behind nginx: with TRACKER_X_ACCEL_REDIRECT_PREFIX set, the original is
hashed and recorded here and handed to nginx by its storage key (X-Accel-Redirect), and
so are thumbnails, previews, keyframes and playable copies (checked, recorded where a
look is recorded, never read by Python).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import reverse

from evidence.files import storage
from evidence.models import CustodyEvent, Derivative
from evidence.tests.views_helpers import body_of, downloads_of

pytestmark = pytest.mark.django_db


# --- Behind nginx -----------------------------------------------------------------------


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


def test_missing_original_behind_nginx_is_404_too(client, researcher, item, settings):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    storage.path_of(item.original_path).unlink()
    client.force_login(researcher)
    response = client.get(reverse("evidence:original", args=[item.code]))
    assert response.status_code == 404
    assert "X-Accel-Redirect" not in response
    assert downloads_of(item) == []


@pytest.mark.parametrize("kind", ["thumbnail", "preview"])
def test_a_derivative_behind_nginx_is_handed_over_by_its_storage_key(
    client, researcher, item, settings, kind
):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    client.force_login(researcher)
    response = client.get(reverse(f"evidence:{kind}", args=[item.code]))
    stored = Derivative.objects.get(item=item, kind=kind)
    assert response.status_code == 200 and not response.streaming
    assert response.content == b""  # Python sends no byte of it
    assert response["X-Accel-Redirect"] == f"/protected/{stored.path}"
    assert stored.path.startswith("derivatives/")  # nginx's derivatives/ location
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, max-age=600"


def test_a_derivative_refused_or_missing_behind_nginx_names_no_file(
    client, researcher, item, protected_item, settings
):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    client.force_login(researcher)
    refused = client.get(reverse("evidence:thumbnail", args=[protected_item.code]))
    assert refused.status_code == 403 and "X-Accel-Redirect" not in refused
    storage.path_of(Derivative.objects.get(item=item, kind="preview").path).unlink()
    missing = client.get(reverse("evidence:preview", args=[item.code]))
    assert missing.status_code == 404 and "X-Accel-Redirect" not in missing


def test_the_uploader_looking_at_a_protected_thumbnail_behind_nginx_is_recorded(
    client, uploader, protected_item, settings
):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    client.force_login(uploader)
    response = client.get(reverse("evidence:thumbnail", args=[protected_item.code]))
    assert response.status_code == 200 and "X-Accel-Redirect" in response
    assert response["Cache-Control"] == "private, no-store"  # nginx passes it on
    looks = protected_item.custody_events.filter(action=CustodyEvent.Action.VIEWED)
    assert [e.details["derivative"] for e in looks] == ["thumbnail"]


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
