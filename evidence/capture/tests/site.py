"""A small web of the tests' own, served on loopback: pages with images and a video, a
page that changes between captures, and the hostile ones (a page that never finishes
loading, JavaScript that never stops or opens pop-ups, automatic downloads, 10,000
sub-resources, a 2 GB "video", content types that lie, redirects to the metadata
address and to file:). Nothing here reaches beyond 127.0.0.1."""

from __future__ import annotations

import io
import itertools
import time
from contextlib import contextmanager
from functools import cache

from PIL import Image

from evidence.capture.tests.test_fetching import Pages


@cache
def picture(colour: str, size: tuple[int, int] = (480, 320)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=90)
    return out.getvalue()


@cache
def clip(seed: str = "capture") -> bytes:
    from demo import clips

    return clips.video(seed=seed, seconds=1.0, size=(160, 120), audio=False)


# A page whose video only its metadata names (as a platform's page does): yt-dlp's.
PLATFORM = b"""<html><head><title>SAMPLE platform post</title>
<meta property="og:video" content="/platform.mp4"><meta property="og:title" content="Post">
</head><body>A post with a video the page plays by script.</body></html>"""


GALLERY = b"""<!doctype html><html><head><title>SAMPLE: strike on the market</title>
<link rel="stylesheet" href="/style.css"></head><body>
<h1>Strike on the market</h1><p>SAMPLE statement: three strikes at dawn.</p>
<img src="/red.jpg"><img src="/blue.jpg" alt="crater"><img src="/icon.jpg">
<img src="/moved-image"><video controls src="/clip.mp4"></video>
<iframe src="http://169.254.169.254/latest/meta-data/"></iframe>
<script>fetch('/api/like', {method: 'POST', body: 'post=1'});</script>
</body></html>"""

HOSTILE = {
    # A page whose last image trickles forever: it never finishes loading.
    "/never-loads": b"<html><title>Never loads</title><body>Still loading"
    b"<img src='/trickle.jpg'></body></html>",
    "/endless-js": b"<html><title>Busy</title><body>Busy page"
    b"<script>setTimeout(() => { while (true) {} }, 50)</script></body></html>",
    "/popups": b"<html><title>Pop-ups</title><body>Pop-ups<script>"
    b"for (let i = 0; i < 20; i++) window.open('/gallery?popup=' + i);</script></body></html>",
    "/downloads": b"<html><title>Downloads</title><body>Downloads"
    b"<a id=d href='/file.bin' download>file</a><script>document.getElementById('d').click();"
    b"setTimeout(() => { location.href = '/file.bin'; }, 100);</script></body></html>",
    "/downloads-at-once": b"<html><title>Downloads</title><body>Downloads"
    b"<script>location.href = '/file.bin';</script></body></html>",
    "/many": b"<html><title>Many</title><body>Many"
    + b"".join(b"<img src='/n/%d.png'>" % n for n in range(10_000))
    + b"</body></html>",
    "/huge": b"<html><title>Huge</title><body>Huge<video src='/huge.mp4' preload=auto>"
    b"</video><img src='/red.jpg'></body></html>",
    "/lying": b"<html><title>Lying</title><body>Lying<img src='/not-a-photo.jpg' width=500>"
    b"<video src='/not-a-video.mp4'></video></body></html>",
    "/to-metadata-later": b"<html><title>Later</title><body>Later"
    b"<script>location.href = 'http://169.254.169.254/';</script></body></html>",
}


# Every request the site received, as it came (method, path and query, headers): what
# reached the server, whatever the capture kept. Emptied when a site starts serving.
received: list[tuple[str, str, dict[str, str]]] = []


class Site(Pages):
    """``Pages`` (the fetcher's tests' server) and the pages a browser capture loads."""

    changes = itertools.count()

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        if parsed:
            received.append((self.command, self.path, dict(self.headers)))
        return parsed

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(200, b'{"liked": true}', Content_Type="application/json")

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0]
        html = {"Content_Type": "text/html; charset=utf-8"}
        jpeg = {"Content_Type": "image/jpeg"}
        if path == "/gallery":
            return self._send(200, GALLERY, **html)
        if path == "/platform":
            return self._send(200, PLATFORM, **html)
        if path == "/platform.mp4":
            return self._send(200, clip("platform"), Content_Type="video/mp4")
        if path in HOSTILE:
            return self._send(200, HOSTILE[path], **html)
        if path == "/changing":
            body = b"<html><title>Changing</title><body>Version %d</body></html>"
            return self._send(200, body % next(self.changes), **html)
        if path == "/same":
            return self._send(
                200, b"<html><title>Same</title><body>Unchanged</body></html>", **html
            )
        if path in ("/red.jpg", "/blue.jpg"):
            return self._send(200, picture(path[1:-4]), **jpeg)
        if path == "/icon.jpg":
            return self._send(200, picture("green", (32, 32)), **jpeg)
        if path == "/moved-image":
            return self._send(302, Location="/yellow.jpg")
        if path == "/yellow.jpg":
            return self._send(200, picture("yellow"), **jpeg)
        if path == "/clip.mp4":
            return self._send(200, clip(), Content_Type="video/mp4")
        if path == "/style.css":
            return self._send(200, b"body { font-family: sans-serif }", Content_Type="text/css")
        if path == "/not-a-photo.jpg":
            return self._send(200, GALLERY, **jpeg)  # HTML served as a JPEG
        if path == "/not-a-video.mp4":
            return self._send(200, GALLERY, Content_Type="video/mp4")
        if path.startswith("/n/"):
            return self._send(200, b"", Content_Type="image/png")
        if path == "/file.bin":
            return self._send(
                200,
                b"\x00" * 4096,
                Content_Type="application/octet-stream",
                Content_Disposition='attachment; filename="payload.exe"',
            )
        if path == "/huge.mp4":
            return self._endless(2 * 1024**3, "video/mp4", pause=0)
        if path == "/trickle.jpg":
            return self._endless(10**6, "image/jpeg", pause=0.2)
        return super().do_GET()

    def _endless(self, claimed: int, kind: str, pause: float) -> None:
        """Claim ``claimed`` bytes and send them until the reader goes away."""
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(claimed))
        self.end_headers()
        block = b"\x00" * (64 * 1024 if not pause else 10)
        try:
            for _ in range(claimed // len(block)):
                self.wfile.write(block)
                if pause:
                    self.wfile.flush()
                    time.sleep(pause)
        except OSError:
            pass


@contextmanager
def serving():
    """The site on a free loopback port; yields its base URL."""
    from demo.capture import serving as on_loopback

    received.clear()
    with on_loopback(Site) as base:
        yield base
