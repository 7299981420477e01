"""An adversary's probes of evidence files behind nginx (X-Accel-Redirect for thumbnails,
previews, keyframes and playable copies): the deployment's own nginx locations
(scripts/loopback_nginx.py) run on loopback in front of a stand-in upstream that replays
Django's answer, so what a browser gets is checked, not only what Django says. Needs
nginx (``make nginx``; ``make test`` installs it)."""

from __future__ import annotations

import http.client
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from shutil import which

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.urls import reverse

from evidence.models import CustodyEvent, Derivative, EvidenceItem
from evidence.tests.views_helpers import add_derivative, ingest, jpeg_bytes
from scripts.loopback_nginx import config as loopback_config
from tracker.models import Sensitivity
from tracker.tests.factories import (
    EvidenceLinkFactory,
    IncidentFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploader_x(db) -> User:
    user = User.objects.create_user("uploader_x", password="x" * 20, is_staff=True)
    user.groups.add(Group.objects.get(name="Researcher"))
    return user


@pytest.fixture
def protected_clip(uploader_x) -> EvidenceItem:
    item = ingest(jpeg_bytes((10, 200, 10)), by=uploader_x, is_protected=True)
    add_derivative(item, "thumbnail", jpeg_bytes((10, 200, 10), size=(32, 24)))
    copy = add_derivative(item, "playable", b"\x00\x00\x00\x18ftypmp42" + b"v" * 5000)
    Derivative.objects.filter(pk=copy.pk).update(media_type="video/mp4")
    return item


@pytest.fixture
def open_item(researcher) -> EvidenceItem:
    item = ingest(jpeg_bytes((1, 2, 3)), by=researcher, title="Market")
    add_derivative(item, "thumbnail", jpeg_bytes((1, 2, 3), size=(32, 24)))
    return item


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _through_deployed_nginx(tmp_path, django_response, url: str, headers: dict):
    """``django_response`` (already made by the test client) sent by a stand-in upstream,
    through the deployment's own nginx locations (scripts/loopback_nginx.py), asked for
    with ``headers``: (status, headers, body) as a browser would get them."""
    binary = "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else which("nginx")
    assert binary, "nginx is needed for these tests: run `make nginx` (make test does)"
    status, replayed = django_response.status_code, list(django_response.items())

    class Upstream(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(status)
            for name, value in replayed:
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_HEAD = do_GET

        def log_message(self, *args):
            pass

    app, listen = _free_port(), _free_port()
    upstream = ThreadingHTTPServer(("127.0.0.1", app), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    directory = tmp_path / "nginx"
    (directory / "temp").mkdir(parents=True)
    data = Path(django_settings.DATA_DIR).resolve()
    conf = loopback_config(directory, listen, app, data, data / "static")
    (directory / "nginx.conf").write_text(conf)
    nginx = subprocess.Popen(  # noqa: S603
        [binary, "-p", str(directory), "-c", str(directory / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        connection = http.client.HTTPConnection("127.0.0.1", listen, timeout=10)
        connection.request("GET", url, headers=headers)
        answer = connection.getresponse()
        body = answer.read()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, body
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        upstream.shutdown()
        upstream.server_close()


def test_behind_nginx_a_cached_thumbnail_still_varies_by_login(
    client, researcher, open_item, settings, tmp_path
):
    """Derivatives are cached "private, max-age=600" and rely on "Vary: Cookie" so that
    another login in the same browser refetches (evidence/views.py, DERIVATIVE_HEADERS)."""
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    client.force_login(researcher)
    url = reverse("evidence:thumbnail", args=[open_item.code])
    response = client.get(url)
    assert response.status_code == 200 and "Cookie" in response["Vary"]
    status, headers, body = _through_deployed_nginx(tmp_path, response, url, {})
    assert status == 200 and body[:2] == b"\xff\xd8"  # the JPEG, sent by nginx
    assert "max-age=600" in headers.get("cache-control", "")
    assert "cookie" in headers.get("vary", "").lower(), headers


def test_behind_nginx_every_whole_look_at_a_protected_copy_is_recorded(
    client, uploader_x, protected_clip, settings, tmp_path
):
    """A seek (a range not from 0) is not a new look; but a range with an If-Range that
    does not match is answered by nginx with the whole file (RFC 9110): a look."""
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    client.force_login(uploader_x)
    url = reverse("evidence:playable", args=[protected_clip.code])
    asked = {"Range": "bytes=1-", "If-Range": '"not-the-etag"'}
    response = client.get(url, HTTP_RANGE=asked["Range"], HTTP_IF_RANGE=asked["If-Range"])
    assert response.status_code == 200 and "X-Accel-Redirect" in response
    looks = protected_clip.custody_events.filter(action=CustodyEvent.Action.VIEWED).count()
    status, headers, body = _through_deployed_nginx(tmp_path, response, url, asked)
    whole = len(body) == 5012 and status == 200
    assert whole  # nginx sent the whole copy, from its first byte
    assert looks == 1, "the uploader got the whole protected copy and no look was recorded"


def test_behind_nginx_a_head_or_a_refused_derivative_names_no_file(
    client, researcher, uploader_x, protected_clip, settings
):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    client.force_login(researcher)
    for kind in ("thumbnail", "playable"):
        refused = client.get(reverse(f"evidence:{kind}", args=[protected_clip.code]))
        assert refused.status_code == 403 and "X-Accel-Redirect" not in refused
    client.force_login(uploader_x)
    head = client.head(reverse("evidence:playable", args=[protected_clip.code]))
    assert head.status_code == 200
    assert not protected_clip.custody_events.filter(action=CustodyEvent.Action.VIEWED).exists()


def test_behind_nginx_a_derivative_of_a_hidden_item_is_an_unknown_code(
    client, researcher, settings
):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    secret = IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    item = ingest(jpeg_bytes((9, 9, 9)), by=researcher)
    add_derivative(item, "thumbnail", jpeg_bytes((9, 9, 9), size=(32, 24)))
    EvidenceLinkFactory(item=item, incident=secret)
    client.force_login(researcher)
    answer = client.get(reverse("evidence:thumbnail", args=[item.code]))
    assert answer.status_code == 404 and "X-Accel-Redirect" not in answer


@pytest.mark.parametrize("prefix", ["", "/protected"])
def test_a_copy_removed_after_it_was_found_is_404_not_500(
    client, uploader_x, protected_clip, settings, monkeypatch, tmp_path, prefix
):
    """The race _stored_file's check cannot close (a job replacing or removing a copy):
    without nginx _open answers 404; behind nginx path.stat() is not guarded."""
    import evidence.views

    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = prefix
    gone = tmp_path / "removed-since.playable.mp4"
    monkeypatch.setattr(evidence.views, "_stored_file", lambda item, key, what: gone)
    client.raise_request_exception = False
    client.force_login(uploader_x)
    answer = client.get(
        reverse("evidence:playable", args=[protected_clip.code]), HTTP_RANGE="bytes=0-99"
    )
    assert answer.status_code == 404


@pytest.mark.parametrize("prefix", ["", "/protected"])
@pytest.mark.parametrize("position", ["99999999999999999999999", "9223372036854775808"])
def test_a_huge_keyframe_position_is_404(client, researcher, open_item, settings, prefix, position):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = prefix
    client.raise_request_exception = False
    client.force_login(researcher)
    answer = client.get(f"/evidence/{open_item.code}/keyframe/{position}")
    assert answer.status_code == 404


@pytest.mark.parametrize(
    "asked", ["bytes=" + "9" * 18 + "-", "bytes=-" + "9" * 18, "bytes=0-" + "9" * 18, "bytes=-0"]
)
def test_behind_nginx_odd_ranges_of_a_copy_are_not_a_500(
    client, uploader_x, protected_clip, settings, asked
):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    client.raise_request_exception = False
    client.force_login(uploader_x)
    answer = client.get(reverse("evidence:playable", args=[protected_clip.code]), HTTP_RANGE=asked)
    assert answer.status_code == 200
