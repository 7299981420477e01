"""Video and audio evidence on the tracker's side of the limited child
(``evidence.files.sandbox``): the facts intake records, the poster, keyframes or
waveform the background job stores, and the playable copy.

A file FFmpeg cannot read stays evidence: intake records no metadata, and the
background job flags the item with the reason (``derivation.flag``).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from evidence import access
from evidence.files import imaging, media, sandbox
from evidence.models import AudioMetadata, EvidenceItem, VideoMetadata
from tracker.models import ReviewStatus

RECORDING_TYPES = ("video/", "audio/")


def is_recording(media_type: str) -> bool:
    return media_type.startswith(RECORDING_TYPES)


# Tags are read while the upload waits: at most this long (the job reads them again,
# with its own limits, if this was not enough).
INTAKE_SECONDS = 30


def limits(*, at_intake: bool = False) -> dict:
    """The child's limits: the settings', or at intake no more than INTAKE_SECONDS."""
    given = {
        "memory_mb": settings.TRACKER_MEDIA_MEMORY_MB,
        "cpu_seconds": settings.TRACKER_MEDIA_CPU_SECONDS,
        "wall_seconds": settings.TRACKER_MEDIA_WALL_SECONDS,
    }
    if at_intake:
        given["cpu_seconds"] = min(given["cpu_seconds"], INTAKE_SECONDS)
        given["wall_seconds"] = min(given["wall_seconds"], INTAKE_SECONDS)
    return given


def read_facts(path: Path, *, at_intake: bool = False, waiting=None) -> dict | None:
    """What the file's header and tags claim (``media.MediaFacts`` as a dict); None
    when FFmpeg cannot read it (the derivative job says why)."""
    with tempfile.TemporaryDirectory(prefix="tracker-media-") as out:
        try:
            return sandbox.run(
                "facts", path, Path(out), waiting=waiting, **limits(at_intake=at_intake)
            )
        except media.MediaFailed:
            return None


def _moment(text: str) -> datetime | None:
    with contextlib.suppress(ValueError, TypeError, OverflowError):
        moment = datetime.fromisoformat(text)
        moment.astimezone(UTC)  # within the calendar once in UTC (the database's zone)
        return moment
    return None


def metadata(item: EvidenceItem, facts: dict) -> VideoMetadata | AudioMetadata:
    """The unsaved metadata row of ``item`` from its ``facts``: a video's if the file
    has a picture, an audio file's if not."""
    shared = {
        "container": facts["container"][:100],
        "duration": facts["duration"],
        "bit_rate": facts["bit_rate"],
        "audio_codec": facts["audio_codec"][:100],
        "audio_channels": facts["audio_channels"],
        "audio_sample_rate": facts["audio_sample_rate"],
        "recorded_at": _moment(facts["recorded_at"]),
        "recorded_at_offset": facts["recorded_at_offset"][:6],
        "recorded_at_as_recorded": facts["recorded_at_as_recorded"][:40],
        "device_make": facts["device_make"][:100],
        "device_model": facts["device_model"][:100],
        "location_text": facts["location_text"][:100],
        "latitude": Decimal(facts["latitude"]) if facts["latitude"] else None,
        "longitude": Decimal(facts["longitude"]) if facts["longitude"] else None,
        "altitude": facts["altitude"],
    }
    if facts["video_codec"]:
        return VideoMetadata(
            item=item,
            video_codec=facts["video_codec"][:100],
            width=facts["width"],
            height=facts["height"],
            rotation=facts["rotation"],
            frame_rate=facts["frame_rate"],
            **shared,
        )
    return AudioMetadata(item=item, **shared)


def claimed(item: EvidenceItem) -> bool:
    """Does ``item`` have its tags' claims (a video's or an audio file's)?"""
    return (
        VideoMetadata.objects.filter(item=item).exists()
        or AudioMetadata.objects.filter(item=item).exists()
    )


def claim_later(item: EvidenceItem, path: Path, by, waiting=None) -> bool:
    """Read and record the claims of a recording that has none (stored before the tracker
    read them, or unreadable when it arrived); the item's claimed capture time and place
    are filled only while it is a draft with none. False when FFmpeg cannot read it."""
    facts = read_facts(path, waiting=waiting)
    if facts is None:
        return False
    claims = metadata(item, facts)
    claims.save()
    fill = []
    if item.status == ReviewStatus.DRAFT and access.claims_fill_capture(item):
        if claims.recorded_at and not item.captured_at:
            item.captured_at = claims.recorded_at
            fill.append("captured_at")
        if claims.latitude is not None and item.captured_latitude is None:
            item.captured_latitude, item.captured_longitude = claims.latitude, claims.longitude
            fill += ["captured_latitude", "captured_longitude"]
    if fill:
        item._history_user = by  # type: ignore[attr-defined]  # who made this version
        item.save(update_fields=fill)
    return True


def has_picture(item: EvidenceItem) -> bool:
    """A video file with a picture (an MP4 of sound alone is treated as audio)."""
    return (
        item.media_type.startswith("video/")
        and not AudioMetadata.objects.filter(item=item).exists()
    )


def make_derivatives(
    item: EvidenceItem, path: Path, work: Path, waiting=None
) -> imaging.Derivatives:
    """A video's poster (thumbnail, preview) and keyframes, or an audio file's waveform
    (as its thumbnail and preview). Raises ``media.MediaFailed``."""
    Rendition = imaging.Rendition
    if has_picture(item):
        done = sandbox.run(
            "keyframes", path, work, count=settings.TRACKER_KEYFRAMES, waiting=waiting, **limits()
        )
    else:
        done = sandbox.run("waveform", path, work, waiting=waiting, **limits())
    poster = done["poster"]
    renditions = [
        Rendition(kind, _read(work, f"{kind}.jpg"), *poster[kind])
        for kind in ("thumbnail", "preview")
    ]
    for frame in done.get("frames", []):
        renditions.append(
            Rendition(
                "keyframe",
                _read(work, frame["file"]),
                frame["width"],
                frame["height"],
                position=frame["position"],
                seconds=frame["seconds"],
                dhash=frame["dhash"],
            )
        )
    # No hash of the video's own: it is found by its keyframes (derivation.similar_recordings).
    return imaging.Derivatives(renditions=renditions, dhash="")


def _read(work: Path, name: str) -> bytes:
    path = work / Path(name).name  # the child names files; never a path of its choosing
    return path.read_bytes()


def make_playable(
    path: Path, work: Path, waiting: Callable[[], None] | None = None
) -> imaging.Rendition:
    """A small copy without metadata (``media.playable``). Raises ``media.MediaFailed``."""
    done = sandbox.run(
        "playable", path, work, height=settings.TRACKER_PLAYABLE_HEIGHT, waiting=waiting, **limits()
    )
    return imaging.Rendition(
        "playable",
        work / "copy.mp4",
        done.get("width") or 0,
        done.get("height") or 0,
        media_type=done["media_type"],
    )
