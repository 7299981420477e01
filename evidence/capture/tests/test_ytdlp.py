"""yt-dlp through the capture's gate, against the tests' loopback web: only the pages a
site extractor knows (its generic one is allowed here only, to reach the local server),
every connection checked, a refused one reported and nothing of it kept."""

from __future__ import annotations

import socket

import pytest

from evidence.capture import fetching, gate, ytdlp
from evidence.capture.tests import site


@pytest.fixture
def server(settings):
    settings.TRACKER_CAPTURE_ALLOW_PRIVATE = True
    with site.serving() as base:
        yield base


@pytest.fixture
def generic(monkeypatch):
    """yt-dlp's generic extractor allowed: the only one that knows a loopback page."""
    monkeypatch.setattr(ytdlp, "EXTRACTORS", ["default"])


def test_only_pages_a_site_extractor_knows_are_handed_to_yt_dlp(tmp_path):
    assert ytdlp.recognised("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    assert ytdlp.recognised("https://x.com/someone/status/1234567890")
    assert not ytdlp.recognised("http://127.0.0.1:8000/gallery")  # the generic one's
    budget = fetching.Budget()
    assert ytdlp.download("https://example.org/statement", tmp_path / "v", budget) == ([], [])
    assert not (tmp_path / "v").exists()


def test_a_video_is_downloaded_through_the_gate(server, generic, tmp_path):
    found, problems = ytdlp.download(f"{server}/clip.mp4", tmp_path / "v", fetching.Budget())
    assert [path.read_bytes() for path in found] == [site.clip()], problems


def test_a_video_on_a_private_address_is_refused_at_the_gate(server, generic, tmp_path):
    found, problems = ytdlp.download(
        "http://169.254.169.254/latest/video.mp4", tmp_path / "v", fetching.Budget()
    )
    assert found == []
    assert any("private or local network" in problem for problem in problems), problems


def test_the_gate_checks_every_connection_and_counts_its_bytes(settings, tmp_path):
    settings.TRACKER_CAPTURE_ALLOW_PRIVATE = False
    with site.serving() as base, gate.opened(fetching.Budget()) as door:
        port = base.rsplit(":", 1)[1]
        answers = []
        for request in (
            f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n",
            f"GET http://127.0.0.1:{port}/page HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET ftp://127.0.0.1/x HTTP/1.1\r\n\r\n",
            "NONSENSE\r\n\r\n",
        ):
            with socket.create_connection(("127.0.0.1", door.server_address[1])) as client:
                client.sendall(request.encode())
                answers.append(client.recv(200).split(b"\r\n")[0])
    assert answers == [b"HTTP/1.1 403 Refused"] * 3 + [b"HTTP/1.1 400 Refused"]
    assert [why for _, why in door.refused][:2] == [
        "The host 127.0.0.1 is on a private or local network: not captured."
    ] * 2
    settings.TRACKER_CAPTURE_ALLOW_PRIVATE = True
    budget = fetching.Budget(max_bytes=50)
    with (
        site.serving() as base,
        gate.opened(budget) as door,
        socket.create_connection(("127.0.0.1", door.server_address[1])) as client,
    ):
        client.sendall(f"GET {base}/page HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        got = b""
        while chunk := client.recv(4096):
            got += chunk
    # Cut once over the capture's bytes: the client gets the refusal, not the page.
    assert got.startswith(b"HTTP/1.1 403") and b"larger than 50 bytes" in got, got
