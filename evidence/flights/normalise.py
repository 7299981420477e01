"""What a flight log's values mean, one rule each: compass points to degrees and the
tolerance they carry, aircraft types to classes, nationalities to codes, times (with
the zone of those written without an offset), coordinates and counts.

The importer (``evidence.flights.flightlog``), the ranking and the demo case use these
same rules. A value that does not fit raises ValueError with the reason, worded for
the person who sent the file.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

from evidence.models import FlightObservation

COMPASS = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW")
COMPASS += ("NW", "NNW")
MAX_COUNT = 32767  # PositiveSmallIntegerField
NATIONALITIES = {
    "ru": "RU",
    "rus": "RU",
    "russia": "RU",
    "russian": "RU",
    "sy": "SY",
    "syr": "SY",
    "syria": "SY",
    "syrian": "SY",
    "unknown": "unknown",
}
NAIVE_TIME = "written without a UTC offset, and no time zone was given for the file"


@lru_cache(maxsize=4096)  # a log repeats a few dozen headings; the cache only saves time
def heading_degrees(raw: str) -> int | None:
    """Degrees 0-359 from a number or a compass point of 4, 8 or 16 winds (N=0,
    NNE=23: half-degrees round up); None if blank. Raises ValueError otherwise."""
    text = raw.strip().upper().removesuffix("°").strip()
    if not text:
        return None
    if text in COMPASS:
        return int(COMPASS.index(text) * 22.5 + 0.5) % 360
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(
            f"{raw.strip()!r} is neither degrees 0-359 nor a compass point (N, NNE, NE, … NNW)"
        ) from None
    if not value.is_finite() or not 0 <= value < 360:
        raise ValueError(f"{raw.strip()} is not within 0-359 degrees")
    return int(value.to_integral_value(ROUND_HALF_UP)) % 360


def heading_tolerance(raw: str) -> float:
    """Half the resolution of a heading as written: a compass point of 4, 8 or 16
    winds stands for a sector 90°, 45° or 22.5° wide; degrees are taken as ±10°."""
    text = raw.strip().upper()
    if text in COMPASS:
        index = COMPASS.index(text)
        return 45.0 if index % 4 == 0 else 22.5 if index % 2 == 0 else 11.25
    return 10.0


_SQUEEZE = re.compile(r"[\s\-_./]+")


@lru_cache(maxsize=4096)
def aircraft_class(aircraft_type: str) -> str:
    """The class of an aircraft type as written: jet, helicopter, drone or unknown."""
    text = aircraft_type.strip().lower()
    squeezed = _SQUEEZE.sub("", text)  # "Mi 8", "MI-8" and "mi8" alike
    if re.match(r"(mi|ka)\d", squeezed) or "heli" in text:
        return FlightObservation.AircraftClass.HELICOPTER
    if any(word in text for word in ("drone", "uav", "orlan", "shahed", "forpost")):
        return FlightObservation.AircraftClass.DRONE
    if re.match(r"(su|mig|yak|tu|l)\d", squeezed) or "jet" in text:
        return FlightObservation.AircraftClass.JET
    return FlightObservation.AircraftClass.UNKNOWN


def nationality_code(raw: str) -> str:
    """RU, SY or unknown from a code or a word (``Russian``, ``Syria``); blank is
    unknown. Raises ValueError for anything else."""
    text = " ".join(raw.split()).lower()
    if not text:
        return "unknown"
    try:
        return NATIONALITIES[text]
    except KeyError:
        raise ValueError(
            f"{raw.strip()!r} is not one of RU, SY, unknown (or Russian, Syrian)"
        ) from None


def country_code(text: str) -> str | None:
    """RU or SY for a country or force name that names Russia or Syria, else None."""
    lowered = text.lower()
    if "russia" in lowered:
        return "RU"
    if "syria" in lowered:
        return "SY"
    return NATIONALITIES.get(lowered.strip()) if lowered.strip() != "unknown" else None


def parse_time(raw: str, zone: ZoneInfo | None) -> datetime:
    """An aware datetime from ISO 8601 text; naive text is local time of ``zone``.
    Raises ValueError with the reason."""
    text = raw.strip()
    if re.fullmatch(r"\d{4}-?\d{2}-?\d{2}", text):
        raise ValueError(f"{text} has a date but no time")
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        if str(exc).startswith("Invalid isoformat"):
            raise ValueError(
                f"{text!r} is not an ISO 8601 date and time (e.g. 2019-05-13T09:42:00+03:00)"
            ) from None
        raise ValueError(f"{text} is not a real date and time ({exc})") from None
    if value.tzinfo is not None:
        return value
    if zone is None:
        raise ValueError(NAIVE_TIME)
    earlier, later = value.replace(tzinfo=zone, fold=0), value.replace(tzinfo=zone, fold=1)
    if earlier.utcoffset() != later.utcoffset():
        if earlier.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
            raise ValueError(f"{text} does not exist in {zone.key} (the clocks went forward)")
        raise ValueError(
            f"{text} happened twice in {zone.key} (the clocks went back): write its UTC offset"
        )
    return earlier


@lru_cache(maxsize=4096)
def parse_coordinate(raw: str, limit: int) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise ValueError(f"{raw.strip()!r} is not a number in decimal degrees") from None
    if not value.is_finite() or not -limit <= value <= limit:
        raise ValueError(f"{raw.strip()} is outside -{limit} to {limit}")
    return value.quantize(Decimal("0.000001"), ROUND_HALF_UP)


def parse_count(raw: str) -> int:
    text = raw.strip()
    if not text:
        return 1
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_COUNT:
        raise ValueError(f"{text!r} is not a whole number of at least 1")
    return int(text)
