"""PyAV: what a video or audio file claims, and derivatives that claim nothing.

Every function here decodes hostile bytes with FFmpeg's C code, so the tracker runs
them only in a limited child process (``evidence.files.sandbox``), never in a web or
worker process. No Django here: the child imports PyAV and Pillow alone.

- ``read_facts``: container and streams (codec, size, rotation, frame rate, bit rate,
  duration, audio channels and rate), the recording time with its offset, the device,
  and the location tag (ISO 6709: ``+35.6235+036.6380/``), read from the header;
- ``keyframes``: keyframes only are decoded (never every frame); up to ``count`` are
  chosen across scene changes and spread over the duration, each a fresh JPEG with its
  difference hash; the one with most detail is the poster (thumbnail and preview);

The copies for the browser (a playable copy, a waveform) are in ``media_copy``.
"""

from __future__ import annotations

import io
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import av
from PIL import Image, ImageStat

from evidence.files import imaging

KEYFRAMES = 12
KEYFRAME_PX = 960
# A frame larger than 8K twice over is refused before decoding (a declared size is
# the decoder's allocation).
MAX_FRAME_PIXELS = 2 * 7680 * 4320
# Every decoder FFmpeg opens, its own probing at open included, refuses a larger frame.
# FFmpeg picks its demuxer from the content: only those of the accepted types may read
# a file (not SDP, HLS, concat or image sequences), from the file alone (no network).
DEMUXERS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mp3,wav,ogg,aac,flac"
OPEN_OPTIONS = {
    "max_pixels": str(MAX_FRAME_PIXELS),
    "format_whitelist": DEMUXERS,
    "protocol_whitelist": "file",
}
# Reading the display rotation decodes the first frame; a file with no decodable frame
# is not decoded further than this many packets for it.
ROTATION_PACKETS = 120
LATEST_YEAR = datetime.now(UTC).year + 1  # a recording time after this is not believed
# At most this many keyframes are decoded while looking for scene changes: on a long
# file the rest are skipped by time, so a file of intra frames costs no more.
MOST_SCANNED = 400
SCENE_BITS = 10  # a keyframe this far (bits of its small hash) from the one before starts a scene
TEXT_LIMIT = 100


class MediaFailed(Exception):
    """No derivative or facts could be made from the file; the message says why."""


# --- Facts ---------------------------------------------------------------------------------


@dataclass
class MediaFacts:
    container: str = ""
    duration: float | None = None  # seconds, as the header claims
    bit_rate: int | None = None
    video_codec: str = ""
    width: int | None = None
    height: int | None = None
    rotation: int = 0  # degrees counter-clockwise to show it upright
    frame_rate: float | None = None
    video_bit_rate: int | None = None
    audio_codec: str = ""
    audio_channels: int | None = None
    audio_sample_rate: int | None = None
    audio_bit_rate: int | None = None
    # The recording time: ISO 8601 with its offset when the file gives one (MP4's
    # creation time is UTC by the format's definition); as written in the file, always.
    recorded_at: str = ""
    recorded_at_offset: str = ""
    recorded_at_as_recorded: str = ""
    device_make: str = ""
    device_model: str = ""
    location_text: str = ""  # the tag as written, even when it is not coordinates
    latitude: str = ""  # decimal degrees, only when the tag is valid ISO 6709
    longitude: str = ""
    altitude: float | None = None
    streams: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


_TIME_KEYS = ("com.apple.quicktime.creationdate", "creation_time", "date", "DATE_RECORDED")
_MAKE_KEYS = ("com.apple.quicktime.make", "com.android.manufacturer", "make", "manufacturer")
_MODEL_KEYS = ("com.apple.quicktime.model", "com.android.model", "model")
_PLACE_KEYS = (
    "com.apple.quicktime.location.ISO6709",
    "location",
    "location-eng",
    "com.android.location",
)
ISO6709 = re.compile(
    r"^(?P<lat>[+-]\d{1,2}(?:\.\d+)?)(?P<lon>[+-]\d{1,3}(?:\.\d+)?)"
    r"(?P<alt>[+-]\d+(?:\.\d+)?)?(?:CRS[^/]*)?/?$"
)


def open_input(path: Path):
    """The file opened for reading by FFmpeg (probing it decodes a few frames: never
    one over MAX_FRAME_PIXELS). Raises FFmpeg's errors."""
    return av.open(str(path), metadata_errors="ignore", options=OPEN_OPTIONS)


def why(exc: Exception) -> str:
    """FFmpeg's reason without the file's path (``Invalid data found when processing
    input``), or the exception's text."""
    return getattr(exc, "strerror", None) or str(exc)


def codec_name(stream) -> str:
    """The name of the stream's codec; "" for an attachment or data stream, or a codec
    FFmpeg has no decoder for (PyAV gives those no codec context)."""
    return _text(stream.codec_context.name) if stream.codec_context is not None else ""


def _text(value, limit: int = TEXT_LIMIT) -> str:
    if not isinstance(value, str):
        return ""
    return "".join(ch for ch in value if ch.isprintable()).strip()[:limit]


def _first(tags: dict, keys) -> str:
    for key in keys:
        if text := _text(tags.get(key)):
            return text
    return ""


def parse_iso6709(text: str) -> tuple[str, str, float | None] | None:
    """(latitude, longitude, altitude) of an ISO 6709 point in decimal degrees, or None
    when the text is not one or names a place off the globe (``+999.0+999.0/``)."""
    found = ISO6709.match(text.strip())
    if not found:
        return None
    lat, lon = float(found["lat"]), float(found["lon"])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    alt = float(found["alt"]) if found["alt"] else None
    return f"{lat:.6f}", f"{lon:.6f}", alt


def parse_time(text: str) -> tuple[str, str]:
    """(ISO time with offset, offset) of a tag's time, ("", "") when it has no offset
    or cannot be read. ``Z`` is UTC (MP4's creation time is UTC by definition)."""
    cleaned = text.strip().replace("Z", "+00:00")
    cleaned = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", cleaned)  # +0300 -> +03:00
    try:
        moment = datetime.fromisoformat(cleaned)
        in_utc = moment.astimezone(UTC) if moment.tzinfo is not None else None
    except (ValueError, OverflowError):  # unreadable, or beyond the calendar in UTC
        return "", ""
    if in_utc is None or not 1990 <= in_utc.year <= LATEST_YEAR:  # no offset; a zeroed clock
        return "", ""
    offset = moment.strftime("%z")
    return moment.isoformat(), f"{offset[:3]}:{offset[3:]}"


def rate(stream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate
    return round(float(rate), 3) if rate else None


def read_facts(path: Path) -> MediaFacts:
    """What the container's header and tags claim. Raises MediaFailed when FFmpeg cannot
    read it as a media file."""
    try:
        with open_input(path) as container:
            tags = dict(container.metadata)
            facts = MediaFacts(
                container=_text(container.format.name),
                duration=round(container.duration / 1_000_000, 3)
                if container.duration and container.duration > 0
                else None,
                bit_rate=container.bit_rate or None,
            )
            for stream in container.streams:
                facts.streams.append({"type": stream.type, "codec": codec_name(stream)})
            if container.streams.video:
                _video_facts(facts, container, container.streams.video[0])
            if container.streams.audio:
                _audio_facts(facts, container.streams.audio[0])
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise MediaFailed(f"not a readable video or audio file ({why(exc)})") from None
    raw_time = _first(tags, _TIME_KEYS)
    facts.recorded_at_as_recorded = raw_time[:40]
    facts.recorded_at, facts.recorded_at_offset = parse_time(raw_time)
    facts.device_make = _first(tags, _MAKE_KEYS)
    facts.device_model = _first(tags, _MODEL_KEYS)
    facts.location_text = _first(tags, _PLACE_KEYS)
    if point := parse_iso6709(facts.location_text):
        facts.latitude, facts.longitude, facts.altitude = point
    return facts


def _video_facts(facts: MediaFacts, container, video) -> None:
    context = video.codec_context
    facts.video_codec = codec_name(video) or "unknown"  # a video FFmpeg cannot decode
    if context is None:
        return
    facts.width, facts.height = context.width or None, context.height or None
    facts.frame_rate = rate(video)
    facts.video_bit_rate = video.bit_rate or context.bit_rate or None
    facts.rotation = _stream_rotation(container, video)


def _audio_facts(facts: MediaFacts, audio) -> None:
    sound = audio.codec_context
    facts.audio_codec = codec_name(audio) or "unknown"
    if sound is None:
        return
    facts.audio_channels = sound.channels or None
    facts.audio_sample_rate = sound.sample_rate or None
    facts.audio_bit_rate = audio.bit_rate or sound.bit_rate or None


def _stream_rotation(container, video) -> int:
    """The display rotation of the first frame (FFmpeg puts the stream's display matrix
    on each decoded frame); 0 when none decodes within ROTATION_PACKETS packets."""
    if video.codec_context.width * video.codec_context.height > MAX_FRAME_PIXELS:
        return 0
    try:
        for count, packet in enumerate(container.demux(video)):
            if count >= ROTATION_PACKETS:
                return 0
            for frame in packet.decode():
                return upright_angle(frame.rotation)
    except (av.FFmpegError, ValueError):
        return 0
    return 0


def upright_angle(rotation) -> int:
    try:
        return round(float(rotation) / 90) * 90 % 360
    except (TypeError, ValueError):
        return 0


# --- Keyframes ------------------------------------------------------------------------------

_TURN = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180}
_TURN[270] = Image.Transpose.ROTATE_270


def _open_video(path: Path):
    try:
        container = open_input(path)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaFailed(f"not a readable video ({why(exc)})") from None
    if not container.streams.video:
        container.close()
        raise MediaFailed("the file has no video stream")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        container.close()
        raise MediaFailed("the file's video is in a codec FFmpeg cannot decode")
    pixels = (stream.codec_context.width or 0) * (stream.codec_context.height or 0)
    if pixels > MAX_FRAME_PIXELS:
        container.close()
        raise MediaFailed(
            f"the video declares {stream.codec_context.width} x {stream.codec_context.height} "
            "pixels per frame; not decoded (a possible resource-exhaustion attack)"
        )
    if pixels == 0:
        container.close()
        raise MediaFailed("the video stream declares no picture size")
    return container, stream


def _small_hash(image: Image.Image) -> int:
    small = image.convert("L").resize((17, 16), Image.Resampling.BILINEAR).tobytes()
    bits = 0
    for row in range(16):
        for col in range(16):
            bits = (bits << 1) | (small[row * 17 + col] > small[row * 17 + col + 1])
    return bits


@dataclass
class _Seen:
    time: float
    pts: int
    shape: int  # a 256-bit difference hash of a small copy, for scene changes
    detail: float  # the spread of its brightness: a grey or black frame has none


def _scan(container, stream, duration: float | None) -> list[_Seen]:
    """Every keyframe's time, small hash and detail, decoding keyframes only."""
    stream.codec_context.skip_frame = "NONKEY"
    gap = max(0.25, (duration or 0) / MOST_SCANNED)
    seen: list[_Seen] = []
    last = None
    packets = (p for p in container.demux(stream) if p.is_keyframe and p.pts is not None)
    for packet in _then_flush(packets):
        if packet is not None:
            time = float(packet.pts * stream.time_base)
            if last is not None and time - last < gap:
                continue
            last = time
        try:
            frames = stream.decode(packet)
        except MemoryError:
            raise  # the child's limit, not damage: a reason (sandbox), not less output
        except (av.FFmpegError, ValueError):
            continue  # a damaged keyframe: the next one may decode
        for frame in frames:  # a decoder may hand a frame back one packet later
            if frame.pts is None:
                continue
            small = frame.to_image(width=64, height=36)
            detail = ImageStat.Stat(small.convert("L")).stddev[0]
            seen.append(
                _Seen(float(frame.pts * stream.time_base), frame.pts, _small_hash(small), detail)
            )
        if len(seen) >= MOST_SCANNED:
            break
    return seen


def _then_flush(packets):
    yield from packets
    yield None  # the decoder's last frames


def choose(seen: list, count: int, duration: float | None = None) -> list[int]:
    """Indexes of up to ``count`` keyframes, in time order: the strongest scene changes
    (half of them at most; the first frame is one), then, one by one, the keyframe
    farthest in time from every one chosen, so the rest spread over the duration."""
    if len(seen) <= count:
        return list(range(len(seen)))

    def change(i: int) -> int:
        return 999 if i == 0 else (seen[i].shape ^ seen[i - 1].shape).bit_count()

    cuts = [i for i in range(len(seen)) if change(i) >= SCENE_BITS]
    chosen = sorted(cuts, key=lambda i: (-change(i), i))[: max(1, count // 2)]
    while len(chosen) < count:
        free = (i for i in range(len(seen)) if i not in chosen)
        chosen.append(
            max(free, key=lambda i: (min(abs(seen[i].time - seen[c].time) for c in chosen), -i))
        )
    return sorted(chosen)


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=imaging.JPEG_QUALITY)
    return out.getvalue()


def _frame_at(container, stream, pts: int):
    container.seek(pts, stream=stream, backward=True, any_frame=False)
    for frame in container.decode(stream):
        if frame.pts is None or frame.pts >= pts:
            return frame
    return None


def _fitted(frame, longest: int, rotation: int) -> Image.Image:
    ratio = min(1.0, longest / max(frame.width, frame.height))
    width, height = max(2, round(frame.width * ratio)), max(2, round(frame.height * ratio))
    image = frame.to_image(width=width, height=height)  # fresh pixels: no tag of the file
    if rotation in _TURN:
        image = image.transpose(_TURN[rotation])
    return image


def keyframes(path: Path, out: Path, count: int = KEYFRAMES) -> dict:
    """Write the chosen keyframes (``keyframe-<n>.jpg``), the poster's ``thumbnail.jpg``
    and ``preview.jpg`` into ``out``; return what was written, with each frame's time
    and difference hash."""
    container, stream = _open_video(path)
    with container:
        duration = container.duration / 1_000_000 if container.duration else None
        try:
            seen = _scan(container, stream, duration)
        except MemoryError:
            raise  # as in _scan
        except (av.FFmpegError, ValueError) as exc:
            raise MediaFailed(f"no keyframe could be read ({why(exc)})") from None
        if not seen:
            raise MediaFailed("no keyframe could be decoded")
        chosen = choose(seen, count, duration)
        poster = max(chosen, key=lambda i: (seen[i].detail, -i))
        rotation = 0
        frames = []
        for position, index in enumerate(chosen):
            try:
                frame = _frame_at(container, stream, seen[index].pts)
            except MemoryError:
                raise  # as in _scan
            except (av.FFmpegError, ValueError):
                frame = None
            if frame is None:
                continue
            rotation = upright_angle(frame.rotation)
            image = _fitted(frame, KEYFRAME_PX, rotation)
            name = f"keyframe-{position}.jpg"
            (out / name).write_bytes(jpeg(image))
            frames.append(
                {
                    "file": name,
                    "position": position,
                    "seconds": round(seen[index].time, 3),
                    "width": image.width,
                    "height": image.height,
                    "dhash": imaging.dhash(image),
                }
            )
            if index == poster:
                preview = _fitted(frame, imaging.PREVIEW_PX, rotation)
                thumbnail = preview.copy()
                thumbnail.thumbnail((imaging.THUMBNAIL_PX, imaging.THUMBNAIL_PX))
                (out / "preview.jpg").write_bytes(jpeg(preview))
                (out / "thumbnail.jpg").write_bytes(jpeg(thumbnail))
                posters = {
                    "preview": [preview.width, preview.height],
                    "thumbnail": [thumbnail.width, thumbnail.height],
                    "dhash": imaging.dhash(preview),
                }
    if not frames or not (out / "preview.jpg").exists():
        raise MediaFailed("no keyframe could be decoded")
    return {"frames": frames, "poster": posters, "scanned": len(seen)}
