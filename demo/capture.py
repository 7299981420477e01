"""The demo case's capture by link: a SAMPLE statement page (text and a photo of the
damage), served on loopback by the loader itself for as long as the capture takes, and
captured as a team would capture a real one (``evidence.capture.capturing``): the
page's WACZ, screenshot, PDF and the photo as an item of its own."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.test import override_settings
from PIL import Image, ImageDraw

from demo import data, files

STATEMENT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>SAMPLE: Civil defence statement on the strike on the surgical hospital</title>
<style>body {{ font-family: sans-serif; max-width: 46rem; margin: 2rem auto; color: #222 }}
.sample {{ background: #b00; color: #fff; padding: .2rem .6rem; font-weight: bold }}
img {{ max-width: 100%; }}</style></head>
<body><p class="sample">SAMPLE: a fictional page generated for the demo</p>
<h1>Statement: strike on the surgical hospital, {place}</h1>
<p><em>Posted {posted} by the SAMPLE Civil Defence Centre (fictional)</em></p>
<p>At dawn warplanes struck the surgical hospital. Our teams evacuated the patients
and staff and recovered two people from the rubble of the east wing.</p>
<img src="/photos/east-wing.jpg" alt="The east wing after the strike">
<p>We ask all parties to respect the protection of medical facilities.</p>
</body></html>"""


def _photo() -> bytes:
    picture = Image.new("RGB", (800, 500), (168, 160, 150))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((80, 160, 720, 470), fill=(120, 118, 112))
    draw.polygon([(300, 160), (420, 250), (520, 160)], fill=(70, 68, 64))
    for x in range(120, 700, 90):
        draw.rectangle((x, 220, x + 40, 270), fill=(40, 40, 40))
    files._mark(picture, f"{data.LABEL} photo on a fictional statement page")
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=88)
    return out.getvalue()


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler``'s pages on a free loopback port while the block runs; yields the base
    URL (the demo's statement here, the capture tests' web in theirs)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _statement(page: bytes, photo: bytes) -> type[BaseHTTPRequestHandler]:
    class Statement(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body, kind = {
                "/statement": (page, "text/html; charset=utf-8"),
                "/photos/east-wing.jpg": (photo, "image/jpeg"),
            }.get(self.path, (b"not found", "text/plain"))
            self.send_response(200 if kind != "text/plain" else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Statement


def capture_statement(*, by, incident, place: str, posted: str) -> list:
    """Capture the SAMPLE statement for ``incident``; the items it made, titled SAMPLE."""
    from evidence.capture import capturing
    from evidence.models import EvidenceItem

    page = STATEMENT.format(place=place, posted=posted).encode()
    # The loader's own page on loopback: the one address this capture reaches.
    with (
        serving(_statement(page, _photo())) as base,
        override_settings(TRACKER_CAPTURE_ALLOW_PRIVATE=True),
    ):
        capturing.capture_now(f"{base}/statement", by=by, incident=incident)
    web = EvidenceItem.objects.filter(web__isnull=False).latest("pk")
    made = [web, *EvidenceItem.objects.filter(capture_parts__capture__item=web)]
    for item in made:
        EvidenceItem.objects.filter(pk=item.pk).update(title=data.TITLE_PREFIX + item.title)
    return made
