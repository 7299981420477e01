"""evidence.files.media and media_copy through the limited child (``sandbox.run``): what
a clip's tags claim, keyframes decoded as keyframes only, upright, and a playable copy
that keeps no tag of the original. Every clip is made here (demo.clips, PyAV)."""

from __future__ import annotations

import json
from pathlib import Path

import av
import pytest
from PIL import Image

from demo import clips
from evidence.files import imaging, media, sandbox

PHONE_TAGS = {
    "com.apple.quicktime.creationdate": "2019-05-14T12:40:12+0300",
    "creation_time": "2019-05-14T09:40:12Z",
    "com.apple.quicktime.make": "Apple",
    "com.apple.quicktime.model": "iPhone X",
    "com.apple.quicktime.location.ISO6709": "+35.6235+036.6380+120.5/",
    "title": "Hamid's clip",
}
LIMITS = {"memory_mb": 2048, "cpu_seconds": 60, "wall_seconds": 60}


def run(operation: str, data: bytes, tmp_path: Path, name: str = "clip.mp4", **options) -> dict:
    original = tmp_path / name
    original.write_bytes(data)
    out = tmp_path / f"out-{operation}"
    out.mkdir(exist_ok=True)
    return sandbox.run(operation, original, out, **LIMITS, **options)


def test_facts_of_an_iphone_clip(tmp_path):
    facts = run("facts", clips.video(seconds=2, tags=PHONE_TAGS), tmp_path)
    assert facts["container"].startswith("mov,mp4")
    assert (facts["video_codec"], facts["width"], facts["height"]) == ("h264", 320, 240)
    assert facts["frame_rate"] == 12.0 and 1.9 <= facts["duration"] <= 2.2
    assert (facts["audio_codec"], facts["audio_sample_rate"]) == ("aac", 48000)
    # Apple's own time, with the phone's offset, wins over MP4's UTC creation time.
    assert facts["recorded_at"] == "2019-05-14T12:40:12+03:00"
    assert facts["recorded_at_offset"] == "+03:00"
    assert (facts["device_make"], facts["device_model"]) == ("Apple", "iPhone X")
    assert (facts["latitude"], facts["longitude"]) == ("35.623500", "36.638000")
    assert facts["altitude"] == 120.5


def test_facts_of_an_android_clip_and_a_plain_mp4_time(tmp_path):
    tags = {
        "creation_time": "2019-05-14T09:40:12.000000Z",
        "location": "+35.6235+036.6380/",
        "com.android.manufacturer": "samsung",
        "com.android.model": "SM-A505F",
    }
    facts = run("facts", clips.video(seconds=1, tags=tags), tmp_path)
    assert facts["recorded_at"] == "2019-05-14T09:40:12+00:00"  # MP4's time is UTC
    assert (facts["device_make"], facts["device_model"]) == ("samsung", "SM-A505F")
    assert facts["location_text"] == "+35.6235+036.6380/"
    assert (facts["latitude"], facts["longitude"]) == ("35.623500", "36.638000")


@pytest.mark.parametrize(
    "tag", ["+999.0+999.0/", "+91.0+036.0/", "north of the bakery", "+35.6+36.6+", "+35.6235"]
)
def test_a_location_that_is_not_coordinates_is_kept_as_text_only(tmp_path, tag):
    # Apple's key is written as given (FFmpeg rewrites a plain "location" it can parse).
    tags = {"com.apple.quicktime.location.ISO6709": tag}
    facts = run("facts", clips.video(seconds=1, tags=tags), tmp_path)
    assert facts["location_text"] == tag
    assert (facts["latitude"], facts["longitude"]) == ("", "")


def test_a_time_without_offset_is_kept_as_written_only():
    assert media.parse_time("2019-05-14 09:40:12") == ("", "")
    assert media.parse_time("1904-01-01T00:00:00Z") == ("", "")  # a zeroed clock
    assert media.parse_time("2019-05-14T12:40:12+0300")[1] == "+03:00"


def test_audio_facts(tmp_path):
    facts = run("facts", clips.audio(seconds=2), tmp_path, "voice.m4a")
    assert facts["video_codec"] == "" and facts["audio_codec"] == "aac"
    assert facts["audio_channels"] == 1


@pytest.mark.parametrize(
    ("codec", "container"), [("libx264", "mp4"), ("libvpx-vp9", "webm"), ("hevc", "mp4")]
)
def test_keyframes_only_spread_over_scene_changes(tmp_path, codec, container):
    data = clips.video(seconds=8, codec=codec, container=container, gop=12, audio=False)
    done = run("keyframes", data, tmp_path, f"clip.{container}", count=5)
    frames = done["frames"]
    assert [f["position"] for f in frames] == [0, 1, 2, 3, 4]
    times = [f["seconds"] for f in frames]
    assert times == sorted(times) and times[0] == 0.0 and times[-1] >= 5.0
    assert done["scanned"] == 8  # one keyframe a second: keyframes only were decoded
    out = tmp_path / "out-keyframes"
    for frame in frames:
        with Image.open(out / frame["file"]) as image:
            assert image.size == (320, 240)
            assert not image.getexif() and "icc_profile" not in image.info
            # The hash is of the frame as stored (JPEG may move a bit or two).
            assert imaging.hamming(imaging.dhash(image.convert("RGB")), frame["dhash"]) <= 3
    with Image.open(out / "thumbnail.jpg") as thumb, Image.open(out / "preview.jpg") as preview:
        assert max(thumb.size) <= imaging.THUMBNAIL_PX and preview.size == (320, 240)


def test_keyframes_never_exceed_the_count_and_skip_nothing_short(tmp_path):
    done = run("keyframes", clips.video(seconds=3, audio=False), tmp_path, count=12)
    assert len(done["frames"]) == 3  # fewer keyframes than asked: all of them


@pytest.mark.parametrize("rotation", [90, 270])
def test_keyframes_and_copy_of_a_turned_phone_are_upright(tmp_path, rotation):
    data = clips.video(seconds=2, rotation=rotation, audio=False)
    assert run("facts", data, tmp_path)["rotation"] == rotation
    done = run("keyframes", data, tmp_path)
    assert (done["frames"][0]["width"], done["frames"][0]["height"]) == (240, 320)
    copy = run("playable", data, tmp_path)
    assert (copy["width"], copy["height"]) == (240, 320)


def _all_tags(path: Path) -> dict:
    with av.open(str(path)) as container:
        tags = dict(container.metadata)
        for stream in container.streams:
            tags.update({f"{stream.type}:{k}": v for k, v in stream.metadata.items()})
        for stream in container.streams.video:
            for frame in container.decode(stream):
                tags["rotation"] = frame.rotation
                break
        return tags


def test_the_playable_copy_keeps_no_tag_of_the_original(tmp_path):
    data = clips.video(seconds=3, size=(1280, 960), tags=PHONE_TAGS, rotation=90)
    done = run("playable", data, tmp_path, height=480)
    assert done["media_type"] == "video/mp4"
    assert (done["width"], done["height"]) == (480, 640)  # upright, short side 480
    copy = tmp_path / "out-playable" / "copy.mp4"
    tags = _all_tags(copy)
    written = json.dumps(tags) + copy.read_bytes().decode("latin-1")
    for value in ("Apple", "iPhone", "35.6235", "2019", "Hamid", "+0300", "Lavf"):
        assert value not in written, value
    assert tags["rotation"] == 0  # upright pixels, no display matrix left to apply
    with av.open(str(copy)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
        assert sum(1 for _ in container.decode(video=0)) == 36


def test_audio_gets_an_aac_copy_without_tags_and_a_waveform(tmp_path):
    data = clips.audio(seconds=3, tags={"title": "Interview with Hamid", "artist": "Hamid"})
    done = run("playable", data, tmp_path, "voice.m4a")
    assert done["media_type"] == "audio/mp4"
    copy = tmp_path / "out-playable" / "copy.mp4"
    assert b"Hamid" not in copy.read_bytes()
    wave = run("waveform", data, tmp_path, "voice.m4a")
    assert wave["poster"]["preview"] == [imaging.PREVIEW_PX, 300]
    assert 2.9 <= wave["seconds"] <= 3.2


def test_a_child_over_its_memory_limit_is_a_reason_not_a_crash(tmp_path):
    original = tmp_path / "clip.mp4"
    original.write_bytes(clips.video(seconds=1))
    with pytest.raises(media.MediaFailed) as refused:
        sandbox.run("keyframes", original, tmp_path, memory_mb=64, cpu_seconds=60, wall_seconds=60)
    assert "not enough memory to decode it (TRACKER_MEDIA_MEMORY_MB)" in str(refused.value)
