"""What the tests of evidence.views share: files to serve, put in place through the real
intake path, a derivative made for an item, and what a response handed out.
"""

from __future__ import annotations

import hashlib
import io

from django.contrib.auth.models import User
from PIL import Image

from evidence import intake
from evidence.files import storage
from evidence.models import CustodyEvent, Derivative, EvidenceItem


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
