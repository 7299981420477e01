"""Decide what a file is from its first bytes, never from its name.

Each evidence kind accepts an allow-list of media types; anything else,
including formats that can carry active content (HTML, SVG, EPS, PSD), is
refused by the intake.
"""

from __future__ import annotations

_IMAGES = {"image/jpeg", "image/png", "image/tiff", "image/webp"}
_VIDEO = {"video/mp4", "video/quicktime", "video/webm"}
_AUDIO = {"audio/mpeg", "audio/wav", "audio/mp4", "audio/ogg"}

ALLOWED: dict[str, set[str]] = {
    "photo": _IMAGES,
    "satellite": _IMAGES,
    "video": _VIDEO,
    "audio": _AUDIO,
    "document": {"application/pdf", "text/plain"},
    "web_capture": {"application/pdf", "application/warc", "application/wacz", *_IMAGES},
    "testimony": {"text/plain", "application/pdf", *_AUDIO, *_VIDEO},
    "flight_log": {"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
}

# The usual file extension of each accepted type: for download names and bag files,
# which are never named after the client's file name.
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/tiff": "tif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "application/pdf": "pdf",
    "text/plain": "txt",
    "application/warc": "warc",
    "application/wacz": "wacz",
    "text/csv": "csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}

_ACTIVE_TEXT_MARKERS = (b"<!doctype", b"<html", b"<svg", b"<script", b"<?xml", b"%!ps")


_WACZ_NAMES = (b"indexes/", b"archive/", b"pages/", b"datapackage.json")


def _zip_first_name(head: bytes) -> bytes:
    """The name of a ZIP file's first member (its local header: name length at 26)."""
    size = int.from_bytes(head[26:28], "little")
    return head[30 : 30 + size]


def _ftyp_brand(head: bytes) -> bytes:
    return head[8:12] if head[4:8] == b"ftyp" else b""


def sniff(head: bytes, *, kind: str = "") -> str | None:
    """Return the media type of a file whose first bytes are ``head``, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"WARC/1."):  # a web archive (ISO 28500), as a capture keeps it
        return "application/warc"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    brand = _ftyp_brand(head)
    if brand:
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        return "video/mp4"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if head.startswith(b"PK\x03\x04") and _zip_first_name(head).startswith(_WACZ_NAMES):
        return "application/wacz"  # a web archive packaged (WACZ 1.1), as a capture keeps it
    if head.startswith(b"PK\x03\x04") and b"xl/" in head:
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _sniff_text(head, kind=kind)


def _sniff_text(head: bytes, *, kind: str) -> str | None:
    if not head or b"\x00" in head:
        return None
    try:
        # The head may end inside a multi-byte character; ignore only that tail.
        text = head.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:
            return None
        text = head[: exc.start].decode("utf-8")
    lowered = text.lstrip("\ufeff \t\r\n").lower().encode()
    if any(lowered.startswith(marker) for marker in _ACTIVE_TEXT_MARKERS):
        return None
    return "text/csv" if kind == "flight_log" else "text/plain"


def default_kind(media_type: str) -> str:
    """The evidence kind a file of ``media_type`` is taken to be when none is given."""
    if media_type.startswith("image/"):
        return "photo"
    if media_type.startswith("video/"):
        return "video"
    if media_type.startswith("audio/"):
        return "audio"
    if media_type == "text/csv" or "spreadsheetml" in media_type:
        return "flight_log"
    if media_type in ("application/warc", "application/wacz"):
        return "web_capture"
    return "document"
