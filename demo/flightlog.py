"""The demo case's flight-spotter log: observations around strike days, written
in the tracker's CSV format (docs/formats/flightlog-csv.md). The demo imports
it through ``evidence.flights.flightlog`` like any spotter network's file, so the
normalisations (aircraft class, nationality, heading) follow the importer's rules
(``evidence.flights.normalise``).

Deterministic: each strike day has its own seeded ``random.Random``.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from demo import data
from evidence.flights.normalise import COMPASS
from evidence.flights.normalise import (
    heading_degrees as heading_degrees,  # the one rule, re-exported
)
from evidence.flights.ranking import bearing
from evidence.flights.reading import COLUMNS


def compass_point(degrees: float, winds: int = 16) -> str:
    step = 360 / winds
    return COMPASS[(round(degrees / step) % winds) * (16 // winds)]


@dataclass(frozen=True)
class Strike:
    """What the flight log needs to know about one strike day."""

    key: str
    at: datetime  # aware, local
    site: tuple[float, float]
    place: str
    actor: str  # "RU" or "SY"
    helicopter: bool
    guided: bool
    follow_up_at: datetime | None = None


@dataclass(frozen=True)
class Sighting:
    observed_at: datetime  # aware
    station: str
    aircraft_type: str
    aircraft_count: int
    nationality_raw: str
    origin: str
    heading_raw: str
    callsign: str
    activity: str
    notes: str


def _nearest_stations(site: tuple[float, float]) -> list[str]:
    def distance(station):
        return (float(station[1]) - site[0]) ** 2 + (float(station[2]) - site[1]) ** 2

    return [code for code, _, _ in sorted(data.STATIONS, key=distance)]


def _aircraft(strike: Strike, rng: random.Random) -> tuple[str, int, str]:
    """Type, count and base of departure of the aircraft that made ``strike``."""
    if strike.helicopter:
        return rng.choice(("Mi-8", "Mi-17", "helicopter")), rng.choice((1, 2)), "Hama"
    if strike.actor == "RU":
        return ("Su-34" if strike.guided else "Su-24"), 2, "Hmeimim"
    return rng.choice(("Su-22", "L-39", "MiG-23")), 1, rng.choice(("Hama", "Shayrat"))


def _strike_sightings(strike: Strike) -> list[Sighting]:
    rng = random.Random(f"flights:{strike.key}")
    near, relay = _nearest_stations(strike.site)[:2]
    kind, count, origin = _aircraft(strike, rng)
    # Some posts write "RU"/"SY", others the adjective.
    written = {"RU": "Russian", "SY": "Syrian"}[strike.actor]
    nat = strike.actor if near in ("KFN-1", "MAN-2", "KHS-1") else written
    inbound = bearing(data.BASES[origin], strike.site)
    outbound = (inbound + 180) % 360
    callsign = f"{rng.choice(('Falcon', 'Cedar', 'Kite', 'Ridge'))}-{rng.randint(2, 9)}"
    planned = Sighting(strike.at, near, kind, count, nat, origin, "", "", "", "")
    out: list[Sighting] = []

    def seen(minutes: int, station: str, activity: str, notes: str = "", **changes) -> None:
        moment = strike.at + timedelta(minutes=minutes)
        out.append(
            replace(
                planned,
                observed_at=moment,
                station=station,
                activity=activity,
                notes=notes,
                **changes,
            )
        )

    towards = f"heading towards {strike.place}"
    seen(
        -rng.randint(18, 28),
        relay,
        "passing",
        towards,
        heading_raw=compass_point(inbound, rng.choice((8, 16))),
    )
    seen(
        -rng.randint(6, 10),
        near,
        "circling",
        f"circling over {strike.place}",
        heading_raw=f"{round(inbound) % 360:03d}",
        callsign=callsign if rng.random() < 0.4 else "",
    )
    seen(-1, near, "diving", "diving, engines loud")
    seen(0, near, "striking", f"explosions reported in {strike.place}, smoke visible")
    seen(rng.randint(3, 6), near, "departing", heading_raw=compass_point(outbound))
    if strike.follow_up_at is not None:
        back = int((strike.follow_up_at - strike.at).total_seconds() // 60)
        seen(back - 4, near, "circling", "returned over the same site", callsign=callsign)
        seen(back, near, "striking", "second strike on the same site, rescuers present")
        seen(back + 5, near, "departing", heading_raw=compass_point(outbound, 8))
    unidentified = {"aircraft_count": 1, "nationality_raw": "unknown", "origin": ""}
    if rng.random() < 0.5:
        seen(
            -rng.randint(40, 70),
            near,
            "circling",
            "reconnaissance drone, high",
            aircraft_type="drone",
            **unidentified,
        )
    seen(
        -rng.randint(90, 150),
        rng.choice(data.STATIONS)[0],
        "passing",
        "high altitude, no strike",
        aircraft_type="unknown jet",
        heading_raw=rng.choice(COMPASS),
        **unidentified,
    )
    return out


def plan_sightings(strikes: Sequence[Strike]) -> list[Sighting]:
    """Observations before, during and after each strike, ordered by time."""
    sightings = [s for strike in strikes for s in _strike_sightings(strike)]
    return sorted(sightings, key=lambda s: (s.observed_at, s.station))


def _station_coordinates() -> dict[str, tuple[str, str]]:
    return {code: (lat, lon) for code, lat, lon in data.STATIONS}


def flight_log_csv(sightings: Sequence[Sighting]) -> bytes:
    """The CSV (format: docs/formats/flightlog-csv.md), one line per sighting.

    A station's coordinates are written on its first row only; posts listed in
    ``NAIVE_TIME_STATIONS`` write local times without an offset."""
    coordinates = _station_coordinates()
    located: set[str] = set()
    header = ",".join(COLUMNS)
    lines = [header]
    for s in sightings:
        lat, lon = ("", "") if s.station in located else coordinates[s.station]
        located.add(s.station)
        if s.station in data.NAIVE_TIME_STATIONS:
            when = s.observed_at.strftime("%Y-%m-%d %H:%M")
        else:
            when = s.observed_at.isoformat(timespec="seconds")
        row = [when, s.station, lat, lon, s.aircraft_type, str(s.aircraft_count)]
        row += [s.nationality_raw, s.origin, s.heading_raw, s.callsign, s.activity, s.notes]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(row)
        lines.append(buffer.getvalue())
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
