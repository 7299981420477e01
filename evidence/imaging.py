"""Pillow: what an image's metadata claims, read without decoding pixels."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from PIL import Image, UnidentifiedImageError

IMAGE_FORMATS = ["JPEG", "PNG", "TIFF", "WEBP"]
# Above this many pixels Pillow refuses to open a file (a decompression bomb).
Image.MAX_IMAGE_PIXELS = 120_000_000

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


def _taken_at(text: str, offset: str) -> datetime | None:
    try:
        naive = datetime.strptime(text.strip(), "%Y:%m:%d %H:%M:%S")
    except (ValueError, AttributeError):
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
    """Camera, time and GPS claimed by an image's EXIF; None if it is not a readable image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=IMAGE_FORMATS) as img:
                facts = PhotoFacts(width=img.width, height=img.height)
                exif = img.getexif()
                facts.camera_make = _text(exif.get(_MAKE))
                facts.camera_model = _text(exif.get(_MODEL))
                orientation = exif.get(_ORIENTATION)
                facts.orientation = orientation if isinstance(orientation, int) else None
                sub = exif.get_ifd(_EXIF_IFD)
                facts.taken_at_offset = _text(sub.get(_OFFSET_ORIGINAL), 6)
                facts.taken_at = _taken_at(
                    _text(sub.get(_DATETIME_ORIGINAL)), facts.taken_at_offset
                )
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
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        return None
