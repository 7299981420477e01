"""evidence.intake: the one way a file becomes evidence.

Files are generated here (Pillow, bytes literals); nothing binary is kept in git.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import stat
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils.html import escape

from evidence import intake
from evidence.files import custody, storage
from evidence.models import (
    CustodyEvent,
    EvidenceItem,
    EvidenceLink,
    PhotoMetadata,
    SatelliteImage,
)
from evidence.tests.files import make_geotiff, make_jpeg, make_png
from tracker.models import Incident, Sensitivity

pytestmark = pytest.mark.django_db


CSV = (
    b"date,time,station,aircraft,nationality,heading\n"
    b"2019-05-05,07:25,K-3,Su-24,RU,210\n"
    b"2019-05-05,07:27,K-5,L-39,SY,180\n"
)
TEXT = b"Interview notes: two aircraft circled before the strike.\n"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def originals() -> list[Path]:
    return files_under(Path(settings.DATA_DIR) / "originals")


def staging() -> list[Path]:
    return files_under(Path(settings.DATA_DIR) / "staging")


def ingest(data: bytes, *, by, filename: str = "IMG_0001.jpg", kind: str = "photo", **kw):
    return intake.ingest(io.BytesIO(data), filename=filename, kind=kind, by=by, **kw)


@pytest.fixture
def incident() -> Incident:
    return Incident.objects.create(
        title="Airstrike on the market", occurred_start=datetime(2019, 5, 5, 7, 30, tzinfo=UTC)
    )


@pytest.fixture
def other_incident() -> Incident:
    return Incident.objects.create(
        title="Follow-up strike", occurred_start=datetime(2019, 5, 5, 7, 45, tzinfo=UTC)
    )


# --- A photo goes in -----------------------------------------------------------------


def test_jpeg_becomes_an_item_with_its_content_address(researcher, incident):
    data = make_jpeg()
    sha = hashlib.sha256(data).hexdigest()

    result = ingest(data, by=researcher, incident=incident, relevance="Shows the crater.")

    item = EvidenceItem.objects.get()
    assert result.duplicate is False
    assert result.item.pk == item.pk
    assert item.code == "EV-000001"
    assert item.kind == EvidenceItem.Kind.PHOTO
    assert item.sha256 == sha
    assert item.size == len(data)
    assert item.media_type == "image/jpeg"
    assert item.original_filename == "IMG_0001.jpg"
    assert item.acquired_by == researcher
    assert item.created_by == researcher
    assert item.original_path == f"originals/{sha[:2]}/{sha[2:4]}/{sha}"

    stored = Path(settings.DATA_DIR) / "originals" / sha[:2] / sha[2:4] / sha
    assert originals() == [stored]
    assert stored.read_bytes() == data
    assert stat.S_IMODE(stored.stat().st_mode) == 0o440
    assert staging() == []

    link = EvidenceLink.objects.get()
    assert (link.item, link.incident, link.relevance) == (item, incident, "Shows the crater.")


def test_jpeg_exif_claims_are_recorded(researcher):
    item = ingest(make_jpeg(), by=researcher).item

    photo = PhotoMetadata.objects.get(item=item)
    assert (photo.width, photo.height) == (64, 48)
    assert photo.camera_make == "Canon"
    assert photo.camera_model == "EOS 5D Mark III"
    assert photo.taken_at == datetime(2019, 5, 5, 7, 30, tzinfo=UTC)  # 10:30 at +03:00
    assert photo.taken_at_offset == "+03:00"
    assert photo.gps_latitude == Decimal("35.824500")
    assert photo.gps_longitude == Decimal("36.319000")
    assert photo.gps_altitude == pytest.approx(350.5)
    assert photo.orientation == 1
    # The item carries the claims as its (unverified) capture time and place.
    item.refresh_from_db()
    assert item.captured_at == datetime(2019, 5, 5, 7, 30, tzinfo=UTC)
    assert (item.captured_latitude, item.captured_longitude) == (
        Decimal("35.824500"),
        Decimal("36.319000"),
    )


def test_camera_time_without_offset_is_not_placed_on_the_utc_line(researcher):
    item = ingest(make_jpeg(offset=""), by=researcher).item
    assert item.photo.taken_at is None
    assert item.photo.camera_make == "Canon"
    item.refresh_from_db()
    assert item.captured_at is None


def test_custody_starts_with_acquired_then_received_in_a_valid_chain(researcher):
    data = make_jpeg()
    item = ingest(
        data, by=researcher, filename="market.jpg", received_from="Civil defence, Idlib"
    ).item

    events = list(CustodyEvent.objects.filter(item=item).order_by("sequence"))
    assert [(e.sequence, e.action) for e in events] == [(1, "acquired"), (2, "received")]
    acquired, received = events
    assert acquired.previous_hash == ""
    assert received.previous_hash == acquired.event_hash
    assert acquired.event_hash != received.event_hash
    assert acquired.actor == researcher
    assert acquired.details == {"from": "Civil defence, Idlib", "filename": "market.jpg"}
    assert received.observed_sha256 == hashlib.sha256(data).hexdigest()
    assert received.details == {"size": len(data), "media_type": "image/jpeg"}
    # Re-hashing the events as read back from the database gives the stored hashes.
    for event in events:
        assert custody.event_digest(event, item.code) == event.event_hash


def test_png_is_accepted_as_a_photo(researcher):
    data = make_png()
    item = ingest(data, by=researcher, filename="map.png").item
    assert item.media_type == "image/png"
    assert (item.photo.width, item.photo.height) == (30, 20)
    assert item.photo.camera_make == ""
    assert item.photo.taken_at is None
    assert originals()[0].read_bytes() == data


def test_csv_is_accepted_as_a_flight_log(researcher):
    item = ingest(CSV, by=researcher, filename="spotters-2019-05.csv", kind="flight_log").item
    assert item.media_type == "text/csv"
    assert item.size == len(CSV)
    assert not PhotoMetadata.objects.filter(item=item).exists()
    assert originals()[0].read_bytes() == CSV


def test_text_is_accepted_as_a_document(researcher):
    item = ingest(TEXT, by=researcher, filename="notes.txt", kind="document").item
    assert item.media_type == "text/plain"
    assert item.sha256 == hashlib.sha256(TEXT).hexdigest()


def test_title_and_extra_fields_are_kept(researcher):
    item = ingest(
        make_jpeg(),
        by=researcher,
        title="Crater, north side",
        source_name="Reporter R-2",
        is_graphic=True,
    ).item
    item.refresh_from_db()
    assert item.title == "Crater, north side"
    assert item.source_name == "Reporter R-2"
    assert item.is_graphic is True


def test_a_protected_item_without_a_title_is_not_named_after_its_file(researcher):
    """A file name like "interview_Ahmad_Khalil.txt" would show the name in every list."""
    named = "interview_Ahmad_Khalil.txt"
    item = ingest(TEXT, by=researcher, filename=named, kind="testimony", is_protected=True).item
    assert "Ahmad" not in item.title
    assert item.title == f"Protected testimony {item.sha256[:12]}"
    assert item.original_filename == named  # kept, for those who may see protected identity
    plain = ingest(make_jpeg(), by=researcher, filename="crater_north.jpg").item
    assert plain.title == "crater_north.jpg"


# --- The same file twice -------------------------------------------------------------


def test_same_bytes_again_is_the_same_item_stored_once(researcher, incident, other_incident):
    data = make_jpeg()
    first = ingest(data, by=researcher, incident=incident)

    again = ingest(data, by=researcher, filename="copy-from-whatsapp.jpg", incident=other_incident)

    assert again.duplicate is True
    assert again.item.pk == first.item.pk
    assert EvidenceItem.objects.count() == 1
    assert len(originals()) == 1
    assert staging() == []
    assert set(first.item.incidents.all()) == {incident, other_incident}
    # The held item is untouched: no new custody events, its first name kept.
    assert first.item.custody_events.count() == 2
    assert EvidenceItem.objects.get().original_filename == "IMG_0001.jpg"


def test_same_bytes_for_the_same_incident_is_linked_once(researcher, incident):
    data = make_jpeg()
    ingest(data, by=researcher, incident=incident)
    assert ingest(data, by=researcher, incident=incident).duplicate is True
    assert EvidenceLink.objects.count() == 1


# --- Refusals ------------------------------------------------------------------------


def assert_nothing_stored() -> None:
    assert not EvidenceItem.objects.exists()
    assert not CustodyEvent.objects.exists()
    assert originals() == []
    assert staging() == []


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


# --- Hostile file names --------------------------------------------------------------


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


# --- Failures after the file is in place ---------------------------------------------


def test_failure_after_promotion_leaves_no_row_and_no_file(researcher, monkeypatch):
    real_promote = storage.promote

    def promote_then_fail(staged):
        real_promote(staged)
        raise OSError("disk went away after the link")

    monkeypatch.setattr(intake.storage, "promote", promote_then_fail)

    with pytest.raises(OSError, match="disk went away"):
        ingest(make_jpeg(), by=researcher)
    assert_nothing_stored()


def test_failure_setting_read_only_mode_leaves_no_file(researcher, monkeypatch):
    """os.chmod is the last step of promotion; if it fails the new link must go."""

    def chmod_fails(path, mode, *args, **kwargs):
        raise PermissionError(f"cannot chmod {path}")

    monkeypatch.setattr(storage.os, "chmod", chmod_fails)

    with pytest.raises(PermissionError):
        ingest(make_jpeg(), by=researcher)
    assert_nothing_stored()


def test_failure_in_custody_record_leaves_nothing(researcher, monkeypatch):
    real_record = custody.record
    calls = []

    def record_then_fail(item, action, **kwargs):
        calls.append(action)
        if action == CustodyEvent.Action.RECEIVED:
            raise IntegrityError("injected: custody table refused the row")
        return real_record(item, action, **kwargs)

    monkeypatch.setattr(intake.custody, "record", record_then_fail)

    with pytest.raises(IntegrityError, match="injected"):
        ingest(make_jpeg(), by=researcher)
    assert calls == ["acquired", "received"]
    assert_nothing_stored()
    assert not PhotoMetadata.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_commit_failure_after_promotion_removes_the_new_file(monkeypatch):
    """The promotion is the last step inside the transaction; if COMMIT then
    fails (here: a deferred foreign key checked only at commit), the new file
    must be removed again so no file is left without a row."""
    real_promote = storage.promote

    def promote_then_poison_commit(staged):
        promoted = real_promote(staged)
        assert Path(settings.DATA_DIR, promoted[0]).exists()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO evidence_derivative "
                "(item_id, kind, path, media_type, width, height, sha256, created_at) "
                "VALUES (%s, 'preview', 'x', 'image/jpeg', 1, 1, %s, %s)",
                [987654321, "0" * 64, datetime.now(UTC)],
            )
        return promoted

    monkeypatch.setattr(intake.storage, "promote", promote_then_poison_commit)
    # Personas need the seeded groups, which transactional tests may have flushed.
    researcher = User.objects.create_user("researcher-tx", password="correct-horse-battery")
    assert connection.in_atomic_block is False  # ingest's transaction is the real one

    with pytest.raises(IntegrityError):
        ingest(make_jpeg(), by=researcher)
    assert_nothing_stored()


def test_caller_rolling_back_after_ingest_leaves_no_file_without_a_row(researcher):
    """The admin's add view runs in a request-wide transaction; a later failure
    in the same request rolls back the item, and must not leave its file."""
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest(make_jpeg(), by=researcher)
        raise RuntimeError("a later step of the same request failed")
    assert not EvidenceItem.objects.exists()
    assert originals() == []


def test_inside_a_callers_transaction_the_file_arrives_with_the_commit(
    researcher, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        item = ingest(make_jpeg(), by=researcher).item
        assert originals() == []  # not before the caller's commit
    assert originals() == [storage.path_of(item.original_path)]
    assert staging() == []


def test_old_staging_leftovers_are_swept(researcher):
    staging = settings.DATA_DIR / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    old, fresh = staging / "left-over", staging / "in-flight"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    past = old.stat().st_mtime - storage.STAGING_MAX_AGE - 60
    os.utime(old, (past, past))
    ingest(make_png(), by=researcher, filename="chart.png")
    assert not old.exists() and fresh.exists()


# --- Metadata is data, not markup ----------------------------------------------------


def test_exif_text_with_markup_is_stored_as_plain_text(researcher):
    payload = "<script>alert('exif')</script>"
    item = ingest(
        make_jpeg(make=payload, model='"><img src=x onerror=alert(1)>'), by=researcher
    ).item

    photo = PhotoMetadata.objects.get(item=item)
    assert photo.camera_make == payload
    assert photo.camera_model == '"><img src=x onerror=alert(1)>'
    # Stored verbatim, so every template must escape it (Django's autoescape does).
    assert escape(photo.camera_make) == "&lt;script&gt;alert(&#x27;exif&#x27;)&lt;/script&gt;"
    assert escape(photo.camera_make) != photo.camera_make


# --- Mutation survivors (make mutate) ------------------------------------------------


def fail_promotion(monkeypatch) -> None:
    def promote_fails(staged):
        raise OSError("injected: link failed")

    monkeypatch.setattr(intake.storage, "promote", promote_fails)


def ingest_in_callers_transaction(data: bytes, *, by, capture) -> EvidenceItem:
    """Ingest inside a caller's transaction; the deferred promotion runs at its commit."""
    with (
        pytest.raises(OSError, match="injected: link failed"),
        capture(execute=True),
        transaction.atomic(),
    ):
        item = ingest(data, by=by).item
    return item


def critical_messages(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "evidence.intake" and r.levelno == logging.CRITICAL
    ]


def test_a_promotion_failing_after_commit_is_logged_with_the_hash_and_the_kept_copy(
    researcher, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    """The operator must learn which original is missing and where its bytes are."""
    fail_promotion(monkeypatch)
    with caplog.at_level(logging.CRITICAL, logger="evidence.intake"):
        item = ingest_in_callers_transaction(
            make_jpeg(), by=researcher, capture=django_capture_on_commit_callbacks
        )

    [kept] = staging()
    assert kept.name == item.sha256 + storage.KEPT
    assert critical_messages(caplog) == [
        f"could not store the original {item.sha256} after commit; the received bytes are in {kept}"
    ]


def test_a_staged_copy_that_cannot_be_kept_is_named_where_it_lies(
    researcher, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    """If even marking the staged copy as kept fails, the promotion's own error is
    raised (not the marking's) and the log names the staged copy as it is."""
    fail_promotion(monkeypatch)

    def keep_fails(self):
        raise OSError("injected: rename failed")

    monkeypatch.setattr(storage.StagedFile, "keep", keep_fails)
    with caplog.at_level(logging.CRITICAL, logger="evidence.intake"):
        item = ingest_in_callers_transaction(
            make_jpeg(), by=researcher, capture=django_capture_on_commit_callbacks
        )

    [staged] = staging()
    assert hashlib.sha256(staged.read_bytes()).hexdigest() == item.sha256
    [message] = critical_messages(caplog)
    assert item.sha256 in message
    assert str(staged) in message


def test_a_link_made_for_a_copy_is_recorded_as_made_by_its_sender(
    researcher, other_researcher, incident, other_incident
):
    """Four eyes reads who made a link from its history: the sender of the copy."""
    data = make_jpeg()
    ingest(data, by=researcher, incident=incident)

    ingest(data, by=other_researcher, incident=other_incident)

    link = EvidenceLink.objects.get(incident=other_incident)
    assert link.history.get().history_user == other_researcher


def test_a_copy_of_an_item_whose_row_names_no_file_is_linked_with_nothing_to_read(researcher):
    """A row without a storage key (damaged, or pointed elsewhere) is not a reason to
    refuse the copy: it is linked, and no place to read it is claimed."""
    data = make_jpeg()
    held = ingest(data, by=researcher).item
    EvidenceItem.objects.filter(pk=held.pk).update(original_path="")

    again = ingest(data, by=researcher, filename="copy.jpg")

    assert (again.duplicate, again.item, again.received) == (True, held, None)


@pytest.fixture
def keeper(superuser) -> User:
    """Someone who may see restricted incidents, with an address to be told at."""
    superuser.email = "keeper@example.org"
    superuser.save()
    return superuser


@pytest.fixture
def hidden_bytes(keeper) -> bytes:
    """The bytes of an item that stands only behind a restricted incident."""
    restricted = Incident.objects.create(
        title="Clinic basement",
        occurred_start=datetime(2019, 5, 5, 7, 30, tzinfo=UTC),
        sensitivity=Sensitivity.RESTRICTED,
    )
    data = make_jpeg(colour=(200, 30, 30))
    ingest(data, by=keeper, filename="nurse_amal.jpg", incident=restricted)
    return data


def test_a_set_aside_copy_is_logged_with_the_hash_of_the_bytes_received(researcher, hidden_bytes):
    """The held item's custody log records what was observed of the copy: its hash."""
    result = ingest(hidden_bytes, by=researcher, filename="from_whatsapp.jpg")

    assert result.withheld is True
    event = CustodyEvent.objects.get(action=CustodyEvent.Action.DUPLICATE)
    assert event.observed_sha256 == hashlib.sha256(hidden_bytes).hexdigest()


def test_the_set_aside_mail_names_who_sent_the_copy(
    researcher, keeper, hidden_bytes, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ingest(hidden_bytes, by=researcher, filename="from_whatsapp.jpg")

    [mail] = mailoutbox
    assert mail.to == [keeper.email]
    assert f"{researcher.username} sent a file" in mail.body


def test_a_set_aside_notice_that_fails_does_not_undo_the_upload(
    researcher, hidden_bytes, monkeypatch, django_capture_on_commit_callbacks
):
    """The notice runs after the commit; its failure is logged, never raised to the sender."""

    def notice_fails(item, *, by):
        raise RuntimeError("injected: the notice failed")

    monkeypatch.setattr(intake.notifications, "duplicate_set_aside", notice_fails)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = ingest(hidden_bytes, by=researcher, filename="from_whatsapp.jpg")

    assert len(callbacks) == 1  # the notice was attempted
    assert result.withheld is True
    assert CustodyEvent.objects.filter(action=CustodyEvent.Action.DUPLICATE).count() == 1


def test_a_set_aside_copy_is_logged_by_its_hash_only(researcher, hidden_bytes, caplog):
    """The ingest command shows this line at -v 2: the hash, and no item code."""
    with caplog.at_level(logging.INFO, logger="evidence.intake"):
        ingest(hidden_bytes, by=researcher, filename="from_whatsapp.jpg")

    sha = hashlib.sha256(hidden_bytes).hexdigest()
    assert [r.getMessage() for r in caplog.records if r.name == "evidence.intake"] == [
        f"set aside a copy of a held item ({sha}) for an editor"
    ]


def test_the_sender_is_named_on_the_item_its_history_its_link_and_both_custody_events(
    researcher, incident
):
    """Who did what is read from all of these: the audit trail, four eyes, the custody log."""
    item = ingest(make_png(), by=researcher, filename="chart.png", incident=incident).item

    item.refresh_from_db()
    assert item.updated_by == researcher
    assert item.history.get().history_user == researcher
    assert EvidenceLink.objects.get(item=item).history.get().history_user == researcher
    assert [e.actor for e in item.custody_events.order_by("sequence")] == [researcher] * 2


def test_a_link_and_a_custody_log_without_relevance_or_source_say_nothing(researcher, incident):
    item = ingest(make_jpeg(), by=researcher, incident=incident).item

    assert EvidenceLink.objects.get(item=item).relevance == ""
    assert item.custody_events.get(action="acquired").details["from"] == ""


def test_an_acquisition_time_given_by_the_sender_is_the_items_and_its_custody_events(
    researcher,
):
    """The sender knows when the file was acquired (in the field, days earlier)."""
    acquired = datetime(2019, 5, 6, 14, 0, tzinfo=UTC)

    item = ingest(make_jpeg(), by=researcher, acquired_at=acquired).item

    item.refresh_from_db()
    assert item.acquired_at == acquired
    assert item.custody_events.get(action="acquired").at == acquired


def test_photo_claims_only_for_a_photo_and_a_scene_only_for_a_satellite_image(researcher):
    capture = ingest(make_png(), by=researcher, filename="page.png", kind="web_capture").item
    photo = ingest(make_jpeg(), by=researcher).item
    scene = ingest(make_geotiff(), by=researcher, filename="scene.tif", kind="satellite").item

    assert list(PhotoMetadata.objects.values_list("item", flat=True)) == [photo.pk]
    assert list(SatelliteImage.objects.values_list("item", flat=True)) == [scene.pk]
    assert capture.media_type == "image/png"


def test_a_file_without_a_name_is_titled_by_its_hash(researcher):
    item = ingest(make_jpeg(), by=researcher, filename="").item
    assert item.title == item.sha256[:12]


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


def test_where_the_received_bytes_can_be_read(researcher, django_capture_on_commit_callbacks):
    """At once: the stored original; inside a caller's transaction: the staged copy,
    until the commit puts the original in place."""
    data = make_jpeg()
    direct = ingest(data, by=researcher)
    assert direct.received == storage.path_of(direct.item.original_path)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        deferred = ingest(make_png(), by=researcher, filename="chart.png")
        assert deferred.received.parent == Path(settings.DATA_DIR) / "staging"
        assert deferred.received.read_bytes() == make_png()


def test_an_ingest_is_logged_with_code_type_and_size(researcher, caplog):
    """The ingest command shows this line at -v 2."""
    data = make_jpeg()
    with caplog.at_level(logging.INFO, logger="evidence.intake"):
        item = ingest(data, by=researcher).item

    assert [r.getMessage() for r in caplog.records if r.name == "evidence.intake"] == [
        f"ingested {item.code} (image/jpeg, {len(data)} bytes)"
    ]


def test_derivatives_are_recorded_as_made_for_the_sender(
    researcher, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        item = ingest(make_jpeg(), by=researcher).item

    made = item.custody_events.filter(action=CustodyEvent.Action.DERIVATIVE)
    assert made.count() == 2
    assert {e.actor for e in made} == {researcher}


def test_a_failing_derivation_never_reaches_the_code_that_committed(
    researcher, monkeypatch, django_capture_on_commit_callbacks
):
    """Derivatives run after the commit; a failure there (even an unexpected one) is
    logged and leaves the item and its original in place."""

    def derive_fails(item, *, by=None):
        raise RuntimeError("injected: derivation bug")

    monkeypatch.setattr(intake.derivation, "derive", derive_fails)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        item = ingest(make_jpeg(), by=researcher).item

    assert len(callbacks) == 1  # the derivation was attempted
    assert EvidenceItem.objects.get() == item
    assert originals() == [storage.path_of(item.original_path)]


@pytest.mark.parametrize("committed", ["before the insert", "before the validation"])
def test_bytes_stored_by_another_request_a_moment_ago_are_linked_and_kept(
    researcher, other_researcher, incident, monkeypatch, committed
):
    """Two requests with the same bytes: the other one committed after this one's
    look-up, before its insert (the insert fails on the unique hash) or even before
    its validation. This request links the other's item, and the other's original
    stays where it is."""
    data = make_jpeg()
    theirs = ingest(data, by=other_researcher).item
    real_filter, real_full_clean = EvidenceItem.objects.filter, EvidenceItem.full_clean
    looked_up = []

    def look_up_before_their_commit(*args, **kwargs):
        if "sha256" in kwargs and not looked_up:
            looked_up.append(kwargs["sha256"])
            return real_filter(pk__in=[])
        return real_filter(*args, **kwargs)

    def validate_before_their_commit(self, *args, **kwargs):
        return real_full_clean(self, *args, **kwargs, validate_constraints=False)

    monkeypatch.setattr(EvidenceItem.objects, "filter", look_up_before_their_commit)
    if committed == "before the insert":
        monkeypatch.setattr(EvidenceItem, "full_clean", validate_before_their_commit)

    result = ingest(data, by=researcher, filename="copy.jpg", incident=incident)

    assert looked_up == [theirs.sha256]
    assert (result.item, result.duplicate, result.withheld) == (theirs, True, False)
    assert list(EvidenceItem.objects.all()) == [theirs]
    assert list(theirs.incidents.all()) == [incident]
    assert originals() == [storage.path_of(theirs.original_path)]
    assert originals()[0].read_bytes() == data


@pytest.mark.parametrize("when", ["before promotion", "after promotion"])
def test_a_failing_ingest_never_removes_a_file_it_did_not_create(researcher, monkeypatch, when):
    """Only a file this call put in place is removed on failure: one already at the
    content address (left by a crash, or the original of a row pointed elsewhere) is
    for check_storage and a person to decide on."""
    data = make_jpeg()
    there = storage.path_of(storage.original_key(hashlib.sha256(data).hexdigest()))
    there.parent.mkdir(parents=True)
    there.write_bytes(data)
    if when == "before promotion":

        def record_fails(item, action, **kwargs):
            raise RuntimeError("injected: custody")

        monkeypatch.setattr(intake.custody, "record", record_fails)
    else:
        real_promote = storage.promote

        def promote_then_fail(staged):
            assert real_promote(staged)[1] is False  # the file was already there
            raise RuntimeError("injected: after promotion")

        monkeypatch.setattr(intake.storage, "promote", promote_then_fail)

    with pytest.raises(RuntimeError, match="injected"):
        ingest(data, by=researcher)

    assert not EvidenceItem.objects.exists()
    assert originals() == [there]
    assert there.read_bytes() == data


def test_without_a_given_time_an_item_is_acquired_when_it_is_received(researcher):
    before = datetime.now(UTC)
    item = ingest(make_jpeg(), by=researcher).item
    after = datetime.now(UTC)

    item.refresh_from_db()
    assert before <= item.acquired_at <= after
    assert item.custody_events.get(action="acquired").at == item.acquired_at


def test_a_satellite_scene_keeps_its_footprint_and_time_read_from_the_file(researcher):
    data = make_geotiff(size=(200, 100), west=36.60, north=35.90, pixel_deg=0.0001)
    item = ingest(data, by=researcher, filename="scene.tif", kind="satellite").item
    scene = SatelliteImage.objects.get(item=item)
    assert (scene.west, scene.south, scene.east, scene.north) == (
        Decimal("36.600000"),
        Decimal("35.890000"),
        Decimal("36.620000"),
        Decimal("35.900000"),
    )
    assert scene.captured_at == datetime(2019, 5, 14, 8, 12, tzinfo=UTC)


def test_a_copy_already_held_is_read_from_the_held_original(researcher):
    first = ingest(make_jpeg(), by=researcher)
    again = ingest(make_jpeg(), by=researcher, filename="copy.jpg")
    assert again.duplicate and again.item == first.item
    assert again.received == storage.path_of(first.item.original_path)
    assert again.received.read_bytes() == make_jpeg()


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
