"""evidence.intake: what an accepted file becomes: an item at its content address, the
claims read from it, its custody log, and who sent it.

Files are generated here (Pillow, bytes literals); nothing binary is kept in git.
"""

from __future__ import annotations

import hashlib
import logging
import stat
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils.html import escape

from demo import clips
from evidence.files import custody, recordings
from evidence.models import (
    AudioMetadata,
    CustodyEvent,
    EvidenceItem,
    EvidenceLink,
    PhotoMetadata,
    SatelliteImage,
    VideoMetadata,
)
from evidence.tests.files import make_geotiff, make_jpeg, make_png
from evidence.tests.intake_helpers import ingest, originals, staging
from tracker.models import Job

pytestmark = pytest.mark.django_db


# --- A photo goes in --------------------------------------------------------------------


CSV = (
    b"date,time,station,aircraft,nationality,heading\n"
    b"2019-05-05,07:25,K-3,Su-24,RU,210\n"
    b"2019-05-05,07:27,K-5,L-39,SY,180\n"
)
TEXT = b"Interview notes: two aircraft circled before the strike.\n"


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
    # ... but kept as the camera wrote it: a claim whose zone nobody recorded.
    assert item.photo.taken_at_as_recorded == "2019-05-05 10:30:00"
    assert item.photo.camera_clock == datetime(2019, 5, 5, 10, 30)  # naive: no zone
    item.refresh_from_db()
    assert item.captured_at is None


def test_camera_time_with_offset_reads_in_that_offset(researcher):
    photo = ingest(make_jpeg(offset="+02:00"), by=researcher).item.photo
    photo.refresh_from_db()  # as read back: UTC
    assert photo.taken_at_as_recorded == "2019-05-05 10:30:00"
    assert photo.camera_clock.isoformat() == "2019-05-05T10:30:00+02:00"


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


# --- Metadata is data, not markup -------------------------------------------------------


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


# --- Mutation survivors (make mutate) ---------------------------------------------------


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


@pytest.mark.parametrize(
    ("make", "filename", "kind", "asked"),
    [
        (make_jpeg, "IMG_0001.jpg", "photo", ["derivatives"]),
        (lambda: clips.video(seconds=1), "clip.mp4", "video", ["derivatives", "playable"]),
        (lambda: clips.audio(seconds=1), "call.m4a", "audio", ["derivatives", "playable"]),
        (lambda: TEXT, "notes.txt", "document", []),
    ],
    ids=["photo", "video", "audio", "document"],
)
def test_the_background_work_an_item_needs_is_asked_for_it_by_its_sender(
    researcher, make, filename, kind, asked
):
    """A photo needs its thumbnails, a recording its poster (or waveform) and a copy a
    browser plays; each job names the item by its code and the sender as its requester
    (who is told of a failure, and whose sight of the item the job checks)."""
    item = ingest(make(), by=researcher, filename=filename, kind=kind).item
    jobs = Job.objects.order_by("kind").values_list("kind", "target", "requested_by")
    assert list(jobs) == [(name, item.code, researcher.pk) for name in asked]


def test_a_recordings_claims_are_read_at_intake_within_the_intakes_time(
    researcher, monkeypatch, settings
):
    """A video's or an audio file's claims are recorded as it is received, read by the
    media child within the intake's own time (not the background jobs' longer one)."""
    settings.TRACKER_MEDIA_WALL_SECONDS = settings.TRACKER_MEDIA_CPU_SECONDS = 600
    asked = []
    real = recordings.sandbox.run

    def noted(task, *args, **limits):
        asked.append((task, limits["wall_seconds"], limits["cpu_seconds"]))
        return real(task, *args, **limits)

    monkeypatch.setattr(recordings.sandbox, "run", noted)
    video = ingest(clips.video(seconds=1), by=researcher, filename="clip.mp4", kind="video").item
    audio = ingest(clips.audio(seconds=1), by=researcher, filename="call.m4a", kind="audio").item
    claims = VideoMetadata.objects.get(item=video)
    assert (claims.video_codec, claims.width, claims.height) == ("h264", 320, 240)
    assert AudioMetadata.objects.get(item=audio).duration == pytest.approx(1.0, abs=0.1)
    limit = recordings.INTAKE_SECONDS
    assert limit < 600 and asked == [("facts", limit, limit), ("facts", limit, limit)]


TAGGED = {
    "com.apple.quicktime.creationdate": "2019-05-14T12:40:12+0300",
    "com.apple.quicktime.location.ISO6709": "+35.6235+036.6380+120.5/",
}


def test_a_recordings_tagged_time_and_place_fill_only_what_the_sender_left_empty(researcher):
    tagged = clips.video(seed="tagged", seconds=1, tags=TAGGED)
    found = ingest(tagged, by=researcher, filename="clip.mp4", kind="video").item
    assert found.captured_at == datetime(2019, 5, 14, 9, 40, 12, tzinfo=UTC)
    assert (found.captured_latitude, found.captured_longitude) == (
        Decimal("35.623500"),
        Decimal("36.638000"),
    )
    told = datetime(2019, 5, 14, 9, 0, tzinfo=UTC)
    given = ingest(
        clips.video(seed="told", seconds=1, tags=TAGGED),
        by=researcher,
        filename="other.mp4",
        kind="video",
        captured_at=told,
        captured_latitude=Decimal("35.1"),
        captured_longitude=Decimal("36.1"),
    ).item
    given.refresh_from_db()
    assert given.captured_at == told
    assert (given.captured_latitude, given.captured_longitude) == (Decimal("35.1"), Decimal("36.1"))
    plain = ingest(
        clips.video(seed="plain", seconds=1), by=researcher, filename="p.mp4", kind="video"
    )
    plain = plain.item
    assert plain.captured_at is None and plain.captured_latitude is None


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


def test_a_protected_photo_keeps_its_camera_and_position_from_others(
    client, other_researcher, researcher
):
    """The EXIF of a source's photo may locate them: on a protected item it is not the
    claimed capture, and only those who may open the item see its camera and GPS."""
    from django.urls import reverse

    from evidence.files import bag_records

    item = ingest(make_jpeg(), by=other_researcher, is_protected=True).item
    assert item.captured_at is None and item.captured_latitude is None
    exif = PhotoMetadata.objects.get(item=item)
    assert exif.gps_latitude is not None and exif.camera_make == "Canon"
    client.force_login(researcher)  # not the uploader, no protected-identity permission
    html = client.get(reverse("admin:evidence_evidenceitem_change", args=[item.pk])).content
    assert b"withheld: protected item" in html
    assert b"Canon" not in html and str(exif.gps_latitude).encode() not in html
    hidden = bag_records.item_record(item, include_protected=False)["photo"]
    assert hidden["camera_make"] is None and hidden["gps_latitude"] is None
    shown = bag_records.item_record(item, include_protected=True)["photo"]
    assert shown["camera_make"] == "Canon"
    client.force_login(other_researcher)  # the uploader sees what they sent
    assert (
        b"Canon"
        in client.get(reverse("admin:evidence_evidenceitem_change", args=[item.pk])).content
    )
