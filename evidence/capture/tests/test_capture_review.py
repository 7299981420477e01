"""What an adversarial review of capture by link found, each kept as a test: a hidden
capture is not told by "differs" nor by "made by the capture"; a part set aside is not
named to every viewer; page-made values a database refuses (NUL) are kept as text."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from evidence import intake
from evidence.capture import capturing
from evidence.capture.tests import site
from evidence.models import EvidenceLink, WebCapture
from tracker.models import Incident, Job

pytestmark = pytest.mark.django_db


def hide(item, when) -> None:
    """``item`` behind a restricted incident only: as if it did not exist for the team."""
    hidden = Incident.objects.create(
        title="Restricted", sensitivity="restricted", occurred_start=when
    )
    EvidenceLink.objects.create(item=item, incident=hidden)


def page_of(client, item) -> str:
    return client.get(
        reverse("admin:evidence_evidenceitem_change", args=[item.pk])
    ).content.decode()


def test_a_hidden_earlier_capture_is_neither_listed_nor_compared_with(
    client, server, captured, researcher
):
    assert captured(f"{server}/same").state == captured(f"{server}/same").state == Job.State.DONE
    older, newer = WebCapture.objects.order_by("captured_at")
    hide(older.item, older.captured_at)
    client.force_login(researcher)
    text = page_of(client, newer.item)
    assert older.item.code not in text
    assert "the first capture of this address" in text and "unchanged" not in text
    assert [changed for _, changed in capturing.history(researcher, newer)] == [None]


def test_a_part_of_a_hidden_capture_does_not_say_it_was_made_by_one(
    client, server, captured, researcher, incident
):
    assert captured(f"{server}/same").state == Job.State.DONE
    web = WebCapture.objects.get()
    hide(web.item, web.captured_at)
    shot = web.parts.get(role="screenshot").item
    EvidenceLink.objects.create(item=shot, incident=incident)  # cited in an open case
    client.force_login(researcher)
    text = page_of(client, shot)
    assert shot.code in text and "made by the capture" not in text.lower()


def test_a_part_set_aside_is_not_named_to_those_who_see_the_capture(
    client, server, captured, other_researcher, superuser
):
    secret = Incident.objects.create(
        title="Restricted", sensitivity="restricted", occurred_start="2019-05-05T07:30:00Z"
    )
    held = intake.ingest(
        io.BytesIO(site.picture("red")),
        filename="secret.jpg",
        kind=None,
        by=superuser,
        incident=secret,
    ).item
    job = captured(f"{server}/gallery")
    assert job.state == Job.State.DONE, job.error
    web = WebCapture.objects.get()
    assert not web.parts.filter(item=held).exists() and "red.jpg" not in web.not_made
    assert "5 parts" in job.message  # screenshot, PDF, blue, moved-image, clip (not red)
    client.force_login(other_researcher)
    text = page_of(client, web.item)
    assert "set aside" not in text and held.code not in text


def test_a_protected_part_is_not_counted_for_who_may_not_open_it(
    server, captured, researcher, editor, incident
):
    held = intake.ingest(
        io.BytesIO(site.picture("red")),
        filename="witness.jpg",
        kind=None,
        by=editor,
        incident=incident,
        is_protected=True,
    ).item
    job = captured(f"{server}/gallery", incident)
    web = WebCapture.objects.get()
    assert web.parts.filter(item=held).exists()  # linked: the requester may see it exists
    shown = capturing.parts_shown(researcher, web).count()
    assert shown == web.parts.count() - 1 and f"{shown} parts" in job.message


@pytest.mark.parametrize(
    "script",
    [
        b"document.body.append('a\\u0000b'); document.title = 'nul\\u0000title';",
        b"Object.defineProperty(Element.prototype, 'scrollHeight', {get() { return NaN }});",
        b"Object.defineProperty(document, 'images', {get() { return [{naturalWidth: 'wide',"
        b" naturalHeight: {}, currentSrc: 'http://[::1/'}] }});",
    ],
    ids=["nul", "nan-height", "lying-images"],
)
def test_what_a_page_s_script_returns_cannot_break_the_capture(
    server, captured, monkeypatch, script
):
    page = b"<html><title>Evidence</title><body>Statement<img src='/red.jpg'>"
    page += b"<video src='http://x:99999/'></video><script>" + script + b"</script></body></html>"
    monkeypatch.setitem(site.HOSTILE, "/scripted", page)
    job = captured(f"{server}/scripted")
    assert job.state == Job.State.DONE, job.error
    web = WebCapture.objects.get()
    assert "Statement" in web.text and "\x00" not in web.text + web.page_title
    assert web.parts.filter(role="screenshot").exists()


class Raw(site.Site):
    """Answers the review's cases: a body gzipped though asked for none, a photo too
    large to hand the browser, a WebRTC page, and a video counted as it is asked for."""

    asked: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        Raw.asked.append(self.path)
        if self.path == "/gzipped":
            import gzip

            body = gzip.compress(b"<html><title>Zipped</title><body>Unzipped words</body></html>")
            return self._send(200, body, Content_Type="text/html", Content_Encoding="gzip")
        if self.path == "/large":
            return self._send(
                200,
                b"<html><title>Large</title><body>Large<img src='/large.png'>"
                b"<video src='/clip.mp4' preload=auto></video></body></html>",
                Content_Type="text/html",
            )
        if self.path == "/large.png":
            return self._send(200, large_png(), Content_Type="image/png")
        if self.path.startswith("/websocket"):
            port = self.path.split("=")[1]
            script = f"new WebSocket('ws://127.0.0.2:{port}/'); fetch('http://127.0.0.2:{port}/');"
            return self._send(
                200,
                b"<html><title>WS</title><body>WS<script>%s</script></body></html>"
                % script.encode(),
                Content_Type="text/html",
            )
        if self.path.startswith("/webrtc"):
            port = self.path.split("=")[1]
            stun = f"stun:127.0.0.1:{port}"
            script = (
                "const pc = new RTCPeerConnection({iceServers: [{urls: '" + stun + "'}]});"
                "pc.createDataChannel('x'); pc.createOffer().then(o => pc.setLocalDescription(o));"
            )
            return self._send(
                200,
                b"<html><title>RTC</title><body>RTC<script>%s</script>"
                b"</body></html>" % script.encode(),
                Content_Type="text/html",
            )
        return super().do_GET()


def large_png() -> bytes:
    import os

    from PIL import Image

    picture = Image.frombytes("RGB", (2000, 1600), os.urandom(2000 * 1600 * 3))
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=1)
    return out.getvalue()


@pytest.fixture
def raw(settings):
    from demo.capture import serving

    settings.TRACKER_CAPTURE_ALLOW_PRIVATE = True
    Raw.asked = []
    with serving(Raw) as base:
        yield base


def test_a_body_gzipped_though_not_asked_for_is_shown_unzipped_and_kept_as_sent(raw, captured):
    assert captured(f"{raw}/gzipped").state == Job.State.DONE
    web = WebCapture.objects.get()
    assert (web.page_title, web.text) == ("Zipped", "Unzipped words")


def test_a_photo_too_large_for_the_browser_is_kept_and_a_video_fetched_once(raw, captured):
    job = captured(f"{raw}/large")
    assert job.state == Job.State.DONE, job.error
    media = WebCapture.objects.get().parts.filter(role="media")
    assert {part.url.rsplit("/", 1)[1] for part in media} == {"large.png", "clip.mp4"}
    assert Raw.asked.count("/clip.mp4") == 1 and Raw.asked.count("/large.png") == 1


def test_webrtc_sends_nothing_past_the_capture(raw, captured):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(1.5)
        port = listener.getsockname()[1]
        assert captured(f"{raw}/webrtc?port={port}").state == Job.State.DONE
        with pytest.raises(TimeoutError):
            listener.recvfrom(2048)  # no STUN packet reached it


def test_a_websocket_or_a_fetch_to_the_server_s_network_goes_nowhere(raw, captured, monkeypatch):
    import socket

    from evidence.capture import fetching

    # Only the page's own address is public here; 127.0.0.2 stands for the network.
    monkeypatch.setattr(fetching, "allowed", lambda address: address == "127.0.0.1")
    with socket.create_server(("127.0.0.2", 0)) as listener:
        listener.settimeout(1.5)
        port = listener.getsockname()[1]
        job = captured(f"{raw}/websocket?port={port}")
        with pytest.raises(TimeoutError):
            listener.accept()  # neither the WebSocket nor the fetch reached it
    assert job.state == Job.State.DONE, job.error
    refused = [url for url, _ in WebCapture.objects.get().refused]
    assert f"http://127.0.0.2:{port}/" in refused
