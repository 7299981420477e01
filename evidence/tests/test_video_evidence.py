"""Video and audio evidence through the real intake and its background jobs: the tags'
claims at intake, poster, keyframes and a playable copy made by jobs, near-duplicate
clips, and the copy served inline (in byte ranges) to those who may see the item only.
Every clip is made here (demo.clips, PyAV)."""

from __future__ import annotations

import io
from decimal import Decimal

import av
import pytest
from django.urls import reverse
from PIL import Image

from demo import clips
from evidence import intake
from evidence.files import storage
from evidence.models import AudioMetadata, Derivative, EvidenceItem, VideoMetadata
from evidence.tests.views_helpers import body_of
from tracker.models import Job

pytestmark = pytest.mark.django_db

PHONE_TAGS = {
    "com.apple.quicktime.creationdate": "2019-05-14T12:40:12+0300",
    "com.apple.quicktime.make": "Apple",
    "com.apple.quicktime.model": "iPhone X",
    "com.apple.quicktime.location.ISO6709": "+35.6235+036.6380+120.5/",
}


def ingest(capture, data: bytes, by, filename="clip.mp4", kind="video", **fields) -> EvidenceItem:
    """Ingest and run the jobs it asks for, as a worker would after the commit."""
    with capture(execute=True):
        result = intake.ingest(io.BytesIO(data), filename=filename, kind=kind, by=by, **fields)
    assert not result.duplicate
    result.item.refresh_from_db()
    return result.item


@pytest.fixture
def clip(django_capture_on_commit_callbacks, researcher) -> EvidenceItem:
    data = clips.video(seed="market", seconds=6, tags=PHONE_TAGS)
    return ingest(django_capture_on_commit_callbacks, data, researcher)


def test_intake_records_what_the_tags_claim_and_fills_the_claimed_capture(clip):
    claims = VideoMetadata.objects.get(item=clip)
    assert (claims.video_codec, claims.width, claims.height) == ("h264", 320, 240)
    assert claims.device_make == "Apple" and claims.device_model == "iPhone X"
    assert claims.recorded_at_offset == "+03:00"
    assert claims.device_clock.isoformat() == "2019-05-14T12:40:12+03:00"
    assert (claims.latitude, claims.longitude) == (Decimal("35.623500"), Decimal("36.638000"))
    assert clip.captured_at == claims.recorded_at
    assert (clip.captured_latitude, clip.captured_longitude) == (claims.latitude, claims.longitude)
    assert clip.media_type == "video/mp4"


def test_the_jobs_make_poster_keyframes_and_playable_copy(clip):
    kinds = sorted(Derivative.objects.filter(item=clip).values_list("kind", "position"))
    assert ("thumbnail", 0) in kinds and ("preview", 0) in kinds and ("playable", 0) in kinds
    frames = Derivative.objects.filter(item=clip, kind="keyframe").order_by("position")
    assert [f.seconds for f in frames] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert all(len(f.dhash) == 16 and f.band_0 == f.dhash[:4] for f in frames)
    # No hash of its own: a clip is found by its keyframes' hashes.
    assert clip.perceptual_hash == "" and clip.derivative_problem == "" == clip.playable_problem
    done = Job.objects.filter(target=clip.code).values_list("kind", "state", "message")
    assert sorted(done) == [
        ("derivatives", "done", f"{clip.code}: poster and 6 keyframes made."),
        ("playable", "done", f"{clip.code}: playable copy made."),
    ]
    copy = Derivative.objects.get(item=clip, kind="playable")
    assert copy.media_type == "video/mp4" and copy.path.endswith(".playable.mp4")
    # Each derivative is in the custody log, keyframes with their time.
    logged = clip.custody_events.filter(action="derivative").values_list("details", flat=True)
    assert {d["kind"] for d in logged} == {"thumbnail", "preview", "keyframe", "playable"}
    assert sorted(d["seconds"] for d in logged if d["kind"] == "keyframe")[-1] == 5.0


def test_a_second_run_of_the_jobs_changes_nothing(clip):
    from evidence.files import derivation

    assert not derivation.needed(clip) and not derivation.playable_needed(clip)


def test_audio_gets_its_claims_a_waveform_and_a_copy(
    django_capture_on_commit_callbacks, researcher
):
    data = clips.audio(seconds=3, tags={"creation_time": "2019-05-14T09:40:12Z"})
    item = ingest(django_capture_on_commit_callbacks, data, researcher, "voice.m4a", "audio")
    claims = AudioMetadata.objects.get(item=item)
    assert claims.audio_codec == "aac" and 2.9 <= claims.duration <= 3.2
    assert item.captured_at.isoformat() == "2019-05-14T09:40:12+00:00"
    made = dict(Derivative.objects.filter(item=item).values_list("kind", "media_type"))
    assert made == {"thumbnail": "image/jpeg", "preview": "image/jpeg", "playable": "audio/mp4"}
    assert not VideoMetadata.objects.filter(item=item).exists()


def test_an_mp4_of_sound_alone_sent_as_video_is_treated_as_audio(
    django_capture_on_commit_callbacks, researcher
):
    from evidence.files import derivation

    data = clips.audio(seconds=2, container="mp4")
    item = ingest(django_capture_on_commit_callbacks, data, researcher, "sound.mp4", "video")
    assert item.media_type == "video/mp4" and AudioMetadata.objects.filter(item=item).exists()
    made = set(Derivative.objects.filter(item=item).values_list("kind", flat=True))
    assert made == {"thumbnail", "preview", "playable"}  # a waveform, no keyframes
    assert not derivation.needed(item) and not item.derivative_problem


def test_a_garbage_location_is_text_not_a_claimed_place(
    django_capture_on_commit_callbacks, researcher
):
    data = clips.video(seconds=1, tags={"com.apple.quicktime.location.ISO6709": "+999.0+999.0/"})
    item = ingest(django_capture_on_commit_callbacks, data, researcher)
    claims = VideoMetadata.objects.get(item=item)
    assert claims.location_text == "+999.0+999.0/" and claims.latitude is None
    assert item.captured_latitude is None


def test_what_the_sender_typed_wins_over_the_tags(django_capture_on_commit_callbacks, researcher):
    from datetime import UTC, datetime

    typed = datetime(2019, 5, 14, 8, 0, tzinfo=UTC)
    data = clips.video(seed="typed", seconds=1, tags=PHONE_TAGS)
    item = ingest(django_capture_on_commit_callbacks, data, researcher, captured_at=typed)
    assert item.captured_at == typed


# --- Near-duplicates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "copy",
    [
        {"gop": 30},  # re-encoded with other keyframe spacing (x264 still cuts at scenes)
        {"size": (256, 192), "canvas": (320, 240)},  # resized
        {"skip_scenes": 2, "seconds": 4},  # trimmed at the start
        {"seconds": 3},  # trimmed at the end
        {"logo": True},  # a channel's logo added
        {"codec": "libvpx-vp9", "container": "webm"},  # another codec and container
    ],
)
def test_the_same_clip_re_encoded_is_a_near_duplicate(
    django_capture_on_commit_callbacks, researcher, clip, copy
):
    options = {"seed": "market", "seconds": 6, **copy}
    name = f"copy.{copy.get('container', 'mp4')}"
    other = ingest(django_capture_on_commit_callbacks, clips.video(**options), researcher, name)
    assert other.sha256 != clip.sha256
    assert list(other.near_duplicates.all()) == [clip]
    assert list(clip.near_duplicates.all()) == [other]


def test_another_clip_is_not_a_near_duplicate(django_capture_on_commit_callbacks, researcher, clip):
    other = ingest(django_capture_on_commit_callbacks, clips.video(seed="bakery"), researcher)
    assert not other.near_duplicates.exists()


def _frame_as_photo(item: EvidenceItem, position: int) -> bytes:
    frame = Derivative.objects.get(item=item, kind="keyframe", position=position)
    with Image.open(storage.path_of(frame.path)) as image:
        out = io.BytesIO()
        image.resize((640, 480)).save(out, "JPEG", quality=92)
    return out.getvalue()


def test_a_photo_that_is_a_frame_of_a_held_clip_is_found(
    django_capture_on_commit_callbacks, researcher, clip
):
    photo = ingest(
        django_capture_on_commit_callbacks, _frame_as_photo(clip, 3), researcher, "f.jpg", "photo"
    )
    assert list(photo.near_duplicates.all()) == [clip]


def test_a_clip_holding_a_held_photo_is_found(django_capture_on_commit_callbacks, researcher):
    data = clips.video(seed="market", seconds=6, tags=PHONE_TAGS)
    with av.open(io.BytesIO(data)) as container:  # a still taken from the clip elsewhere
        frame = next(f for f in container.decode(video=0) if f.time >= 4.0)
        out = io.BytesIO()
        frame.to_image().resize((640, 480)).save(out, "JPEG", quality=90)
    photo = ingest(django_capture_on_commit_callbacks, out.getvalue(), researcher, "f.jpg", "photo")
    clip = ingest(django_capture_on_commit_callbacks, data, researcher)
    assert list(clip.near_duplicates.all()) == [photo]


# --- Served inline ------------------------------------------------------------------------


def test_the_playable_copy_is_served_inline_and_in_ranges(client, researcher, clip):
    client.force_login(researcher)
    url = reverse("evidence:playable", args=[clip.code])
    copy = storage.path_of(Derivative.objects.get(item=clip, kind="playable").path).read_bytes()
    whole = client.get(url)
    assert whole.status_code == 200 and body_of(whole) == copy
    assert whole["Content-Type"] == "video/mp4" and whole["Accept-Ranges"] == "bytes"
    assert whole["Content-Disposition"].startswith("inline;")
    assert whole["X-Content-Type-Options"] == "nosniff"
    part = client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and body_of(part) == copy[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(copy)}"
    tail = client.get(url, HTTP_RANGE="bytes=-50")
    assert body_of(tail) == copy[-50:]
    open_end = client.get(url, HTTP_RANGE=f"bytes={len(copy) - 10}-")
    assert body_of(open_end) == copy[-10:]
    beyond = client.get(url, HTTP_RANGE=f"bytes={len(copy)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(copy)}"
    # What is not one readable range is ignored (RFC 9110): the whole copy, never a 500.
    for nonsense in (
        "bytes=5-1",
        "bytes=abc",
        "items=0-5",
        "bytes=0-1,5-6",
        "bytes=" + "9" * 5000 + "-",
    ):
        answer = client.get(url, HTTP_RANGE=nonsense)
        assert answer.status_code == 200 and body_of(answer) == copy, nonsense[:20]
    assert client.get(url, HTTP_RANGE="bytes=-0").status_code == 416
    head = client.head(url, HTTP_RANGE="bytes=0-9")
    assert head.status_code == 200
    assert not clip.custody_events.filter(action="downloaded").exists()  # not the evidence


def test_behind_nginx_the_copy_and_any_range_of_it_are_nginx_s_to_send(
    client, researcher, clip, settings
):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    client.force_login(researcher)
    url = reverse("evidence:playable", args=[clip.code])
    stored = Derivative.objects.get(item=clip, kind="playable")
    size = storage.path_of(stored.path).stat().st_size
    for asked in ("", "bytes=100-199", f"bytes={size}-", "bytes=" + "9" * 5000 + "-", "x"):
        answer = client.get(url, HTTP_RANGE=asked) if asked else client.get(url)
        assert answer.status_code == 200, asked[:20]  # nginx answers 206 or 416 itself
        assert answer["X-Accel-Redirect"] == f"/protected/{stored.path}"
        assert answer["Content-Type"] == "video/mp4" and answer.content == b""


def test_keyframes_are_served_inline_by_position(client, researcher, clip):
    client.force_login(researcher)
    answer = client.get(reverse("evidence:keyframe", args=[clip.code, 2]))
    assert answer.status_code == 200 and answer["Content-Type"] == "image/jpeg"
    assert client.get(reverse("evidence:keyframe", args=[clip.code, 40])).status_code == 404


def test_nobody_else_gets_the_copy_of_a_protected_clip(
    client, django_capture_on_commit_callbacks, researcher, other_researcher
):
    data = clips.video(seed="witness", seconds=2)
    item = ingest(django_capture_on_commit_callbacks, data, researcher, is_protected=True)
    client.force_login(other_researcher)
    for url in (
        reverse("evidence:playable", args=[item.code]),
        reverse("evidence:keyframe", args=[item.code, 0]),
        reverse("evidence:thumbnail", args=[item.code]),
    ):
        assert client.get(url).status_code == 403, url


def test_the_item_page_plays_the_copy_never_the_original(admin_client, clip):
    page = admin_client.get(reverse("admin:evidence_evidenceitem_change", args=[clip.pk]))
    html = page.content.decode()
    assert f'src="{reverse("evidence:playable", args=[clip.code])}"' in html
    assert '<video class="evidence-player"' in html
    assert 'class="keyframe-strip"' in html and "0:05.0" in html
    assert "iPhone X" in html and "the video&#x27;s tags claim" in html


def test_the_uploader_playing_a_protected_clip_is_one_look_in_the_log(
    client, django_capture_on_commit_callbacks, researcher
):
    data = clips.video(seed="witness", seconds=2)
    item = ingest(django_capture_on_commit_callbacks, data, researcher, is_protected=True)
    client.force_login(researcher)  # the uploader: each look is a custody event
    url = reverse("evidence:playable", args=[item.code])
    for asked in ("bytes=0-", "bytes=1000-1999", "bytes=2000-"):
        assert client.get(url, HTTP_RANGE=asked).status_code == 206
    looks = item.custody_events.filter(action="viewed")
    assert [e.details["derivative"] for e in looks.all()] == ["playable"]
    assert client.get(url).status_code == 200  # a new play from the start: a new look
    assert looks.all().count() == 2
    # Whatever the Range says, a request that hands out the start is a look.
    for asked in ("x", "bytes=-99999999", "bytes=00-"):
        client.get(url, HTTP_RANGE=asked)
    assert looks.all().count() == 5
    # A thumbnail or keyframe ignores Range: every GET of one is a look.
    for other in ("thumbnail", "preview"):
        client.get(reverse(f"evidence:{other}", args=[item.code]), HTTP_RANGE="bytes=100-")
    client.get(reverse("evidence:keyframe", args=[item.code, 1]), HTTP_RANGE="x")
    assert looks.all().count() == 8


def test_a_clip_stored_before_the_tracker_read_tags_gets_them_from_its_job(
    django_capture_on_commit_callbacks, researcher
):
    """As a database upgraded to this version: a video with no claims, no derivatives
    and no job. The migration queues its jobs; the derivatives job reads its tags."""
    import importlib

    from django.apps import apps

    from tracker import jobs

    data = clips.video(seed="older", seconds=3, tags=PHONE_TAGS)
    item = ingest(django_capture_on_commit_callbacks, data, researcher)
    VideoMetadata.objects.filter(item=item).delete()
    Derivative.objects.filter(item=item).delete()
    Job.objects.all().delete()
    EvidenceItem.objects.filter(pk=item.pk).update(
        captured_at=None, captured_latitude=None, captured_longitude=None, perceptual_hash=""
    )
    migration = importlib.import_module("evidence.migrations.0013_ask_for_recordings_work")
    migration.ask(apps, None)
    migration.ask(apps, None)  # twice: still one job of each kind
    queued = Job.objects.filter(state="queued").values_list("kind", "target", "key")
    assert sorted(queued) == [
        ("derivatives", item.code, f"derivatives:{item.code}"),
        ("playable", item.code, f"playable:{item.code}"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        jobs.tick()  # the clock hands them to the queue; the immediate backend runs them
    item.refresh_from_db()
    claims = VideoMetadata.objects.get(item=item)
    assert claims.device_model == "iPhone X" and item.captured_at == claims.recorded_at
    assert item.captured_latitude == claims.latitude
    assert Job.objects.get(kind="derivatives").message.startswith(f"{item.code}: tags read; ")
    made = set(Derivative.objects.filter(item=item).values_list("kind", flat=True))
    assert made == {"thumbnail", "preview", "keyframe", "playable"}


def test_tags_read_late_never_change_a_verified_item(
    django_capture_on_commit_callbacks, researcher
):
    from evidence.files import recordings

    data = clips.video(seed="late", seconds=1, tags=PHONE_TAGS)
    item = ingest(django_capture_on_commit_callbacks, data, researcher)
    VideoMetadata.objects.filter(item=item).delete()
    EvidenceItem.objects.filter(pk=item.pk).update(captured_at=None, status="verified")
    item.refresh_from_db()
    assert recordings.claim_later(item, storage.path_of(item.original_path), researcher)
    item.refresh_from_db()
    assert VideoMetadata.objects.filter(item=item).exists() and item.captured_at is None


@pytest.mark.parametrize("role", ["researcher", "reviewer", "editor"])
def test_every_role_sees_what_the_tags_claim(request, client, clip, role):
    client.force_login(request.getfixturevalue(role))
    page = client.get(reverse("admin:evidence_evidenceitem_change", args=[clip.pk]))
    html = page.content.decode()
    assert 'id="video-group"' in html and "iPhone X" in html and "+35.6235+036.6380+120.5/" in html


# --- What the adversary tried --------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp", ["9999-12-31T23:59:59-0500", "0001-01-01T00:00:00+0100", "2999-01-01T00:00:00Z"]
)
def test_a_recording_time_off_the_calendar_is_text_not_a_500(
    django_capture_on_commit_callbacks, researcher, stamp
):
    data = clips.video(seconds=1, tags={"com.apple.quicktime.creationdate": stamp})
    item = ingest(django_capture_on_commit_callbacks, data, researcher)
    claims = VideoMetadata.objects.get(item=item)
    assert claims.recorded_at is None and claims.recorded_at_as_recorded == stamp
    assert item.captured_at is None


@pytest.mark.parametrize("kind", ["video", "testimony"])
def test_a_protected_recording_keeps_its_device_and_place_from_others(
    client, django_capture_on_commit_callbacks, uploader, researcher, kind
):
    from evidence.files import bag_records

    protected = kind == "video"
    data = clips.video(seed=f"witness-{kind}", seconds=2, tags=PHONE_TAGS)
    item = ingest(
        django_capture_on_commit_callbacks, data, uploader, kind=kind, is_protected=protected
    )
    # Neither a protected item nor a testimony takes the place of its interview as its
    # claimed capture; the claims stay on the metadata row.
    assert item.captured_latitude is None and item.captured_at is None
    assert VideoMetadata.objects.get(item=item).latitude == Decimal("35.623500")
    if not protected:
        return
    client.force_login(researcher)
    html = client.get(reverse("admin:evidence_evidenceitem_change", args=[item.pk])).content
    assert b"withheld: protected item" in html
    for secret in (b"iPhone", b"35.6235", b"36.638"):
        assert secret not in html, secret
    record = bag_records.item_record(item, include_protected=False)
    assert record["video"]["device_model"] is None and record["video"]["latitude"] is None
    assert bag_records.item_record(item, include_protected=True)["video"]["device_model"]


def test_a_look_alike_protected_clip_is_not_named_to_who_may_not_open_it(
    client, django_capture_on_commit_callbacks, uploader, researcher
):
    data = clips.video(seed="interview", seconds=6)
    hidden = ingest(django_capture_on_commit_callbacks, data, uploader, is_protected=True)
    copy = clips.video(seed="interview", seconds=6, size=(256, 192), canvas=(320, 240), logo=True)
    mine = ingest(django_capture_on_commit_callbacks, copy, researcher, "copy.mp4")
    assert list(mine.near_duplicates.all()) == [hidden]  # linked: an editor may see it
    client.force_login(researcher)
    html = client.get(reverse("admin:evidence_evidenceitem_change", args=[mine.pk])).content
    assert hidden.code.encode() not in html
    # Nor counted on the tray's card ("looks like 1 other"); its uploader sees both.
    from tracker.admin.tray import _near_duplicate_counts

    assert _near_duplicate_counts(researcher, [mine.pk]) == {}
    assert _near_duplicate_counts(uploader, [mine.pk]) == {mine.pk: 1}


def test_plain_frames_link_nothing(django_capture_on_commit_callbacks, researcher):
    """Clips of black (a dark room, a lens cap) and a black photo: every plain frame
    looks like every other, so none is a near-duplicate of another."""
    black = {"seed": "dark", "seconds": 3, "scene_seconds": 3.0}
    first = ingest(django_capture_on_commit_callbacks, clips.video(**black, blank=True), researcher)
    second = ingest(
        django_capture_on_commit_callbacks,
        clips.video(**black, blank=True, size=(256, 192)),
        researcher,
        "other.mp4",
    )
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (0, 0, 0)).save(out, "JPEG")
    photo = ingest(django_capture_on_commit_callbacks, out.getvalue(), researcher, "b.jpg", "photo")
    for item in (first, second, photo):
        assert not item.near_duplicates.exists(), item.code


def test_fewer_keyframes_on_a_second_run_leave_no_stale_ones(
    django_capture_on_commit_callbacks, researcher, settings
):
    from evidence.files import derivation

    item = ingest(django_capture_on_commit_callbacks, clips.video(seed="runs"), researcher)
    before = list(
        Derivative.objects.filter(item=item, kind="keyframe").values_list("path", flat=True)
    )
    assert len(before) == 4
    settings.TRACKER_KEYFRAMES = 2
    with django_capture_on_commit_callbacks(execute=True):
        assert derivation.derive(item)
    after = Derivative.objects.filter(item=item, kind="keyframe")
    assert sorted(after.values_list("position", flat=True)) == [0, 1]
    for path in before[2:]:
        assert not storage.path_of(path).exists()
