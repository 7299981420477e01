"""evidence.views: an item's thumbnail and preview, shown inline as JPEG, cached per login,
and never a custody event; a missing one is a 404.

Files are generated here (Pillow, bytes literals) and go through the real intake path.
"""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from evidence.files import storage
from evidence.models import Derivative
from evidence.tests.views_helpers import body_of, ingest, jpeg_bytes

pytestmark = pytest.mark.django_db


# --- Derivatives ------------------------------------------------------------------------


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


def test_derivatives_are_not_custody_events(client, researcher, item):
    client.force_login(researcher)
    before = item.custody_events.count()
    for what in ("thumbnail", "preview"):
        assert client.get(reverse(f"evidence:{what}", args=[item.code])).status_code == 200
    assert item.custody_events.count() == before


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
