"""evidence.intake: what it refuses (an empty file, an unknown kind, active or foreign
content, a file over the limit, half a position), leaving nothing stored; and a hostile
file name, which is only ever metadata.

Files are generated here (Pillow, bytes literals); nothing binary is kept in git.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from evidence import intake
from evidence.files import storage
from evidence.tests.files import make_jpeg
from evidence.tests.intake_helpers import assert_nothing_stored, files_under, ingest, originals

pytestmark = pytest.mark.django_db


# --- Refusals ---------------------------------------------------------------------------


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_empty_file_is_refused(researcher):
    with pytest.raises(intake.IntakeError) as excinfo:
        ingest(b"", by=researcher)
    assert str(excinfo.value) == intake.EMPTY_FILE
    assert_nothing_stored()


def test_unknown_kind_is_refused(researcher):
    with pytest.raises(intake.IntakeError, match="Unknown evidence kind"):
        ingest(make_jpeg(), by=researcher, kind="hologram")
    assert_nothing_stored()


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        b"<html><img src=x onerror=alert(1)>",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="9"/></svg>',
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>',
        b"\xef\xbb\xbf  <script>fetch('/admin/')</script>",
        b"#!/bin/sh\nrm -rf / --no-preserve-root\n",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00",
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
        b"\xc5\xd0\xd3\xc6\x20\x00\x00\x00" + b"\x00" * 24,
        b"8BPS\x00\x01\x00\x00\x00\x00\x00\x00\x00\x03" + b"\x00" * 16,
    ],
    ids=[
        "html",
        "html-no-doctype",
        "svg",
        "svg-xml",
        "script-bom",
        "shell",
        "exe",
        "eps",
        "eps-binary",
        "psd",
    ],
)
def test_active_or_foreign_content_named_jpg_is_refused_as_photo(researcher, data):
    with pytest.raises(intake.IntakeError) as excinfo:
        ingest(data, by=researcher, filename="holiday.jpg")
    assert "A photo must be one of image/jpeg" in str(excinfo.value)
    assert_nothing_stored()


def test_pdf_is_refused_as_photo(researcher):
    with pytest.raises(intake.IntakeError) as excinfo:
        ingest(PDF, by=researcher, filename="scan.jpg")
    assert "this file is application/pdf" in str(excinfo.value)
    assert_nothing_stored()


def test_jpeg_is_refused_as_flight_log(researcher):
    with pytest.raises(intake.IntakeError, match="A flight log must be one of"):
        ingest(make_jpeg(), by=researcher, filename="log.csv", kind="flight_log")
    assert_nothing_stored()


def test_file_above_the_upload_limit_is_refused(researcher, settings):
    data = make_jpeg(size=(120, 120), noise=True)
    settings.TRACKER_MAX_UPLOAD_BYTES = 4096
    assert len(data) > 4096

    with pytest.raises(intake.IntakeError) as excinfo:
        ingest(data, by=researcher)
    assert "limit of 4,096 bytes" in str(excinfo.value)
    assert_nothing_stored()


def test_postscript_is_refused_even_as_a_document(researcher):
    with pytest.raises(intake.IntakeError):
        ingest(b"%!PS-Adobe-3.0\n/Times findfont\n", by=researcher, kind="document")
    assert_nothing_stored()


class EndlessUpload(io.RawIOBase):
    """A client that keeps sending: counts how much the intake reads."""

    def __init__(self) -> None:
        self.sent = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = (
            b"\xff\xd8\xff" + b"\x00" * (len(buffer) - 3) if self.sent == 0 else bytes(len(buffer))
        )
        self.sent += len(buffer)
        return len(buffer)


def test_oversized_stream_is_cut_off_at_the_limit_not_read_to_the_end(researcher, settings):
    settings.TRACKER_MAX_UPLOAD_BYTES = 8 * 1024 * 1024
    upload = io.BufferedReader(EndlessUpload(), buffer_size=1024 * 1024)
    with pytest.raises(intake.IntakeError, match="larger than the limit"):
        intake.ingest(upload, filename="huge.jpg", kind="photo", by=researcher)
    assert upload.raw.sent <= settings.TRACKER_MAX_UPLOAD_BYTES + 2 * 1024 * 1024
    assert_nothing_stored()


def test_file_exactly_at_the_upload_limit_is_accepted(researcher, settings):
    data = make_jpeg()
    settings.TRACKER_MAX_UPLOAD_BYTES = len(data)
    assert ingest(data, by=researcher).item.size == len(data)


def test_lone_coordinate_among_the_fields_is_refused(researcher):
    """A latitude without a longitude cannot place anything on a map."""
    with pytest.raises(ValidationError) as excinfo:
        ingest(make_jpeg(gps=False), by=researcher, captured_latitude=Decimal("35.8"))
    assert excinfo.value.messages == [
        "Give both latitude (-90 to 90) and longitude (-180 to 180), or neither."
    ]
    assert_nothing_stored()


# --- Hostile file names -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("../../etc/passwd", "../../etc/passwd"),
        ("C:\\x", "C:\\x"),
        ("/abs/path/evil.jpg", "/abs/path/evil.jpg"),
        ("evil\x00name\x1b[31m\r\n.jpg", "evil\ufffdname\ufffd[31m\ufffd\ufffd.jpg"),
        ("photo\u202egpj.exe", "photo\ufffdgpj.exe"),
        ("a" * 296 + ".jpg", "a" * 255),
    ],
    ids=["traversal", "windows", "absolute", "nul-and-controls", "rtl-override", "300-chars"],
)
def test_client_file_name_is_metadata_only(researcher, tmp_path, filename, expected):
    data = make_jpeg()
    sha = hashlib.sha256(data).hexdigest()

    item = ingest(data, by=researcher, filename=filename).item

    item.refresh_from_db()
    assert item.original_filename == expected
    assert len(item.original_filename) <= 255
    assert not any(unicodedata.category(ch).startswith("C") for ch in item.original_filename)
    assert len(item.title) <= 200
    assert item.original_path == storage.original_key(sha)
    data_dir = Path(settings.DATA_DIR).resolve()
    assert originals() == [data_dir / "originals" / sha[:2] / sha[2:4] / sha]
    # Nothing was written anywhere else in this test's directory tree.
    outside = [p for p in files_under(tmp_path) if not p.resolve().is_relative_to(data_dir)]
    assert outside == []
    assert not any(p.name in {"passwd", "x", "evil.jpg"} for p in files_under(tmp_path))
    event = item.custody_events.get(action="acquired")
    assert event.details["filename"] == expected


# --- Mutation survivors (make mutate) ---------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind", "refusal"),
    [
        (
            make_jpeg(),
            "document",
            "A document must be one of application/pdf, text/plain; this file is image/jpeg.",
        ),
        (
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00",
            "document",
            "A document must be one of application/pdf, text/plain;"
            " this file is an unrecognised or disallowed format.",
        ),
    ],
    ids=["other-type", "unrecognised"],
)
def test_a_refusal_lists_what_the_kind_accepts_and_what_the_file_is(
    researcher, data, kind, refusal
):
    with pytest.raises(intake.IntakeError) as excinfo:
        ingest(data, by=researcher, filename="scan.pdf", kind=kind)
    assert str(excinfo.value) == refusal
    assert_nothing_stored()


def test_an_image_refused_by_its_reader_is_refused_with_the_readers_reason(researcher):
    from evidence.files.imaging import MAX_TIFF_PARTS
    from evidence.files.tests.test_hostile_images import many_strips_tiff

    with pytest.raises(intake.IntakeError) as refused:
        ingest(many_strips_tiff(MAX_TIFF_PARTS + 1), by=researcher, filename="scan.tif")
    assert str(refused.value) == (
        f"The TIFF declares {MAX_TIFF_PARTS + 1:,} strips or tiles (more than "
        f"{MAX_TIFF_PARTS:,}); refused as a possible resource-exhaustion attack."
    )
    assert_nothing_stored()


def test_an_audio_file_of_the_wrong_type_is_refused_in_plain_words(researcher):
    with pytest.raises(intake.IntakeError, match="^An audio must be one of audio/mp4"):
        ingest(PDF, by=researcher, kind="audio", filename="a.pdf")
