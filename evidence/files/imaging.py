"""Pillow: what an image claims (EXIF, GeoTIFF tags), and derivatives that claim nothing.

Metadata is read from the header without decoding pixels. Derivatives are
reduced first (JPEG draft mode, then ``thumbnail``'s reducing step), oriented
after reducing, and copied pixel by pixel into a fresh image, so no EXIF, GPS,
XMP or ICC data from the original survives in them.
"""

from __future__ import annotations

import contextlib
import io
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from PIL import Image, UnidentifiedImageError

IMAGE_FORMATS = ["JPEG", "PNG", "TIFF", "WEBP"]
# Deliberate: a 100-megapixel photo or satellite scene is evidence; a file that
# declares more is treated as a decompression bomb and refused at intake.
MAX_PIXELS = 120_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
THUMBNAIL_PX = 400
PREVIEW_PX = 1600
DRAFT_PX = 1400  # previews of large JPEGs are at least this long on their long side
JPEG_QUALITY = 85


class ImageRefused(Exception):
    """The file must not be accepted (a decompression bomb)."""


class DerivativeFailed(Exception):
    """The original is kept, but no derivative could be made; the message says why."""


# A strip holds at least one row, and a 120-megapixel scene rarely has 100,000 rows;
# Pillow turns every strip or tile into Python objects when it opens a TIFF (about
# 360 bytes each), so a few megabytes of offsets would cost hundreds of megabytes.
MAX_TIFF_PARTS = 200_000
_STRIP_OFFSETS, _TILE_OFFSETS = 273, 324


def tiff_parts(path: Path) -> int:
    """How many strips or tiles the first image of a classic TIFF declares (0 if not
    a TIFF, or if its first directory cannot be read: Pillow then reports the damage).

    Read from the directory entries' counts, without loading the offsets."""
    with open(path, "rb") as fp:
        head = fp.read(8)
        order = {b"II*\x00": "<", b"MM\x00*": ">"}.get(head[:4])
        if order is None or len(head) < 8:  # a header cut short: Pillow says it is damaged
            return 0
        (offset,) = struct.unpack(order + "L", head[4:8])
        fp.seek(offset)
        raw = fp.read(2)
        if len(raw) < 2:
            return 0
        (entries,) = struct.unpack(order + "H", raw)
        table = fp.read(12 * entries)
    parts = 0
    for start in range(0, len(table) - 11, 12):
        tag, _type, count = struct.unpack(order + "HHL", table[start : start + 8])
        if tag in (_STRIP_OFFSETS, _TILE_OFFSETS):
            parts = max(parts, count)
    return parts


@contextlib.contextmanager
def open_image(path: Path) -> Iterator[Image.Image]:
    """Open an image of an allowed format, treating any bomb warning as an error."""
    parts = tiff_parts(path)
    if parts > MAX_TIFF_PARTS:
        raise ImageRefused(
            f"The TIFF declares {parts:,} strips or tiles (more than {MAX_TIFF_PARTS:,}); "
            "refused as a possible resource-exhaustion attack."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path, formats=IMAGE_FORMATS) as img:
                yield img
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRefused(
                f"The image declares more than {MAX_PIXELS // 1_000_000} megapixels; "
                f"refused as a possible decompression bomb ({exc})."
            ) from None


_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_MAKE, _MODEL, _ORIENTATION = 0x010F, 0x0110, 0x0112
_DATETIME_ORIGINAL, _OFFSET_ORIGINAL = 0x9003, 0x9011


@dataclass
class PhotoFacts:
    width: int
    height: int
    camera_make: str = ""
    camera_model: str = ""
    taken_at: datetime | None = None
    taken_at_offset: str = ""
    taken_at_as_recorded: str = ""  # the camera's clock, ISO-written, zone or not
    gps_latitude: Decimal | None = None
    gps_longitude: Decimal | None = None
    gps_altitude: float | None = None
    orientation: int | None = None


def _text(value, limit: int = 100) -> str:
    if not isinstance(value, str):
        return ""
    return "".join(ch for ch in value if ch.isprintable()).strip()[:limit]


def _degrees(dms, ref) -> Decimal | None:
    try:
        d, m, s = (float(x) for x in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    if ref in ("S", "W"):
        value = -value
    return Decimal(f"{value:.6f}")


def _clock(text: str) -> datetime | None:
    """The camera's clock reading (EXIF writes 2019:05:14 09:40:12), naive; None if unreadable."""
    try:
        return datetime.strptime(text.strip(), "%Y:%m:%d %H:%M:%S")
    except (ValueError, AttributeError):
        return None


def _taken_at(naive: datetime | None, offset: str) -> datetime | None:
    if naive is None:
        return None
    if len(offset) == 6 and offset[0] in "+-" and offset[3] == ":":
        try:
            sign = 1 if offset[0] == "+" else -1
            delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
            return naive.replace(tzinfo=timezone(sign * delta))
        except ValueError:
            return None
    return None  # a camera time without its offset cannot be placed on the UTC line


def read_photo_facts(path: Path) -> PhotoFacts | None:
    """Camera, time and GPS claimed by an image's EXIF; None if it is not a readable image.

    Raises ImageRefused for a decompression bomb."""
    try:
        with open_image(path) as img:
            facts = PhotoFacts(width=img.width, height=img.height)
            exif = img.getexif()
            facts.camera_make = _text(exif.get(_MAKE))
            facts.camera_model = _text(exif.get(_MODEL))
            orientation = exif.get(_ORIENTATION)
            facts.orientation = orientation if isinstance(orientation, int) else None
            sub = exif.get_ifd(_EXIF_IFD)
            facts.taken_at_offset = _text(sub.get(_OFFSET_ORIGINAL), 6)
            clock = _clock(_text(sub.get(_DATETIME_ORIGINAL)))
            facts.taken_at = _taken_at(clock, facts.taken_at_offset)
            # Kept as read even without an offset: a time that cannot be placed on the
            # UTC line is still what the camera claims.
            facts.taken_at_as_recorded = clock.isoformat(sep=" ") if clock else ""
            gps = exif.get_ifd(_GPS_IFD)
            if gps:
                lat = _degrees(gps.get(2), gps.get(1))
                lon = _degrees(gps.get(4), gps.get(3))
                if lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180:
                    facts.gps_latitude, facts.gps_longitude = lat, lon
                try:
                    alt = float(gps.get(6))
                    facts.gps_altitude = -alt if gps.get(5) == b"\x01" else alt
                except (TypeError, ValueError, ZeroDivisionError):
                    pass
            return facts
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, KeyError):
        return None


# --- Satellite scenes (GeoTIFF) ----------------------------------------------------------

_MODEL_PIXEL_SCALE = 33550
_MODEL_TIEPOINT = 33922
_TIFF_DATETIME = 0x0132


@dataclass
class SceneFacts:
    captured_at: datetime | None = None
    west: Decimal | None = None
    south: Decimal | None = None
    east: Decimal | None = None
    north: Decimal | None = None


def read_scene_facts(path: Path) -> SceneFacts:
    """Footprint and time of a GeoTIFF scene, from its georeferencing tags.

    Only a north-up scene in geographic coordinates (degrees) gives a footprint;
    projected scenes would need reprojection, which the tracker does not do."""
    facts = SceneFacts()
    try:
        with open_image(path) as img:
            tags = getattr(img, "tag_v2", None)
            if tags is None:
                return facts
            stamp = _text(tags.get(_TIFF_DATETIME))
            with contextlib.suppress(ValueError):
                facts.captured_at = datetime.strptime(stamp, "%Y:%m:%d %H:%M:%S").replace(
                    tzinfo=UTC
                )
            scale, tie = tags.get(_MODEL_PIXEL_SCALE), tags.get(_MODEL_TIEPOINT)
            if scale and tie and len(scale) >= 2 and len(tie) >= 6:
                sx, sy = float(scale[0]), float(scale[1])
                i, j, x, y = float(tie[0]), float(tie[1]), float(tie[3]), float(tie[4])
                west, north = x - i * sx, y + j * sy
                east, south = west + img.width * sx, north - img.height * sy
                if -180 <= west < east <= 180 and -90 <= south < north <= 90:
                    facts.west, facts.south, facts.east, facts.north = (
                        Decimal(f"{v:.6f}") for v in (west, south, east, north)
                    )
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError):
        pass
    return facts


# --- Derivatives and perceptual hash -----------------------------------------------------

_ORIENT = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


@dataclass
class Rendition:
    kind: str  # a Derivative.Kind: "thumbnail", "preview", "keyframe", "playable"
    data: bytes | Path  # its bytes, or a file made elsewhere (a playable copy)
    width: int
    height: int
    media_type: str = "image/jpeg"
    position: int = 0  # a keyframe's order
    seconds: float | None = None  # a keyframe's time in the video
    dhash: str = ""  # a keyframe's difference hash


@dataclass
class Derivatives:
    renditions: list[Rendition]
    dhash: str


def _as_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        img = img.convert("I") if img.mode != "F" else img
        low, high = img.getextrema()
        span = (high - low) or 1
        img = img.point(lambda v: (v - low) * 255 / span).convert("L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        base = Image.new("RGB", rgba.size, (255, 255, 255))
        base.paste(rgba, mask=rgba.getchannel("A"))
        return base
    return img.convert("RGB")


def _fresh(img: Image.Image) -> Image.Image:
    """The same pixels in a new image that carries no metadata at all."""
    rgb = _as_rgb(img)
    return Image.frombytes("RGB", rgb.size, rgb.tobytes())


def _jpeg(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def dhash(img: Image.Image) -> str:
    """64-bit difference hash: is each pixel brighter than its right neighbour?"""
    small = img.convert("L").resize((9, 8), Image.Resampling.BILINEAR)
    pixels = small.tobytes()
    bits = 0
    for row in range(8):
        for col in range(8):
            left, right = pixels[row * 9 + col], pixels[row * 9 + col + 1]
            bits = (bits << 1) | (left > right)
    return f"{bits:016x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def make_derivatives(path: Path) -> Derivatives:
    """A preview (<= 1600 px) and thumbnail (<= 400 px) of an image, and its dHash.

    Raises DerivativeFailed (the original is still evidence) for damaged files and
    ImageRefused for a decompression bomb."""
    try:
        with open_image(path) as img:
            orientation = img.getexif().get(_ORIENTATION, 1)
            # JPEG decodes at 1/2, 1/4 or 1/8 scale: ask for a little less than the
            # preview so a 6000 px photo decodes at 1/4 (1500 px) rather than 1/2.
            ratio = DRAFT_PX / max(img.size)
            if ratio < 1:
                img.draft("RGB", (int(img.width * ratio) or 1, int(img.height * ratio) or 1))
            img.thumbnail((PREVIEW_PX, PREVIEW_PX), Image.Resampling.LANCZOS, reducing_gap=2.0)
            preview = _fresh(img)
    except ImageRefused:
        raise
    except MemoryError:
        # Its message is empty; the flag must still say why there is no preview.
        raise DerivativeFailed("no derivative: not enough memory to decode the image") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError) as exc:
        raise DerivativeFailed(f"no derivative: {exc}") from None
    for step in _ORIENT.get(orientation if isinstance(orientation, int) else 1, ()):
        preview = preview.transpose(step)
    thumbnail = preview.copy()
    thumbnail.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
    return Derivatives(
        renditions=[
            Rendition("thumbnail", _jpeg(thumbnail), *thumbnail.size),
            Rendition("preview", _jpeg(preview), *preview.size),
        ],
        dhash=dhash(preview),
    )
