"""What the tests of flight correlation share: a strike at SITE at STRIKE, incidents made
for it, and flights observed from STATION around it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from evidence.flights.ranking import bearing, candidates
from evidence.models import FlightObservation
from tracker.models import Force, Incident, Weapon
from tracker.tests import factories as f

LOCAL = ZoneInfo("Asia/Damascus")
SITE = (35.80, 36.60)
STATION = (35.72, 36.50)  # about 12.7 km south-west of the site
STRIKE = datetime(2019, 5, 13, 12, 0, tzinfo=LOCAL)
TOWARDS = round(bearing(STATION, SITE))
WEAPONS = {  # as seeded by tracker's migration 0002
    Weapon.Platform.FIXED_WING: "Air-launched missile",
    Weapon.Platform.HELICOPTER: "Barrel bomb",
    Weapon.Platform.UNKNOWN: "Unknown",
}


def make_incident(*, platform=Weapon.Platform.FIXED_WING, force_country="Russia", **fields):
    weapon, _ = Weapon.objects.get_or_create(
        name=WEAPONS[platform], defaults={"platform": platform}
    )
    values = {
        "occurred_start": STRIKE,
        "start_precision": "minute",
        "latitude": Decimal(str(SITE[0])),
        "longitude": Decimal(str(SITE[1])),
        "weapon": weapon,
    }
    values.update(fields)
    incident = f.IncidentFactory(**values)
    if force_country is not None:
        force, _ = Force.objects.get_or_create(
            name=f"Aerospace forces of {force_country}", defaults={"country": force_country}
        )
        f.AttributionFactory(incident=incident, force=force, unit=None)
    return Incident.objects.select_related("weapon", "place").get(pk=incident.pk)


def observe(log, minutes: float, **fields) -> FlightObservation:
    """An observation ``minutes`` after the strike (negative: before) from STATION,
    by default an Su-34 (RU) heading for the site."""
    values = {
        "observed_at": STRIKE + timedelta(minutes=minutes),
        "station": "OBS-1",
        "station_latitude": Decimal(str(STATION[0])),
        "station_longitude": Decimal(str(STATION[1])),
        "aircraft_type": "Su-34",
        "aircraft_class": "jet",
        "nationality": "RU",
        "heading_raw": str((TOWARDS + 5) % 360),
        "heading": (TOWARDS + 5) % 360,
    }
    values.update(fields)
    return f.FlightObservationFactory(log=log, **values)


def ranked(incident, **window) -> list[FlightObservation]:
    return [c.observation for c in candidates(incident, viewer=None, **window)]
