"""Which observed flights are consistent with a strike: candidates, ranked, with reasons.

For an incident, the candidates are the observations made from ``before`` minutes
before to ``after`` minutes after its time (60 and 10 by default), one indexed
query on ``observed_at``. The window is widened by the precision of the
incident's time: a time known to the hour covers its whole hour (the same as
±30 minutes around its middle), a time known to the day covers the whole local
day. A time known only to the month or year is refused: a month of observations
would rank thousands of flights on coincidence alone.

Each candidate gets a score in [0, 1], the weighted sum of five components:

    time before the strike              0.35
    heading against the bearing         0.25
    aircraft class against the weapon   0.20
    nationality against the attribution 0.10
    distance from station to site       0.10

A component that cannot be judged (no heading, no station position, no weapon,
no attribution, unknown class) counts as an even 0.5 and its reason says what is
missing, so a flight with missing data ranks below one whose data agree and above
one whose data contradict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from evidence import links
from evidence.flights.normalise import country_code, heading_tolerance
from evidence.models import FlightMatch, FlightObservation
from evidence.visibility import may_see, visible_to
from tracker.locks import LOCKED
from tracker.models import Attribution, DatePrecision, Incident, ReviewStatus, Weapon
from tracker.responsibility import periods

HIDDEN_OBSERVATION = "No such flight observation."
DEFAULT_BEFORE = 60  # minutes
DEFAULT_AFTER = 10
MAX_MINUTES = 24 * 60  # --before / --after beyond a day stop being a window
WEIGHTS = {"time": 0.35, "heading": 0.25, "aircraft": 0.20, "nationality": 0.10, "distance": 0.10}
UNKNOWN = 0.5  # the score of a component that cannot be judged
EARTH_RADIUS_KM = 6371.0088
FULL_LEAD = 15  # minutes before the strike that score fully; the score falls to 0 at 120
ZERO_LEAD = 120
CLOSE_KM = 3  # nearer than this, a heading says little about where the aircraft went
PERIODS = {
    DatePrecision.MINUTE: timedelta(0),
    DatePrecision.HOUR: timedelta(hours=1),
    DatePrecision.DAY: timedelta(days=1),
}
# How well an aircraft class fits the platform that delivers the weapon.
FIT = {
    Weapon.Platform.HELICOPTER: {"helicopter": 1.0, "jet": 0.0, "drone": 0.0},
    Weapon.Platform.FIXED_WING: {"jet": 1.0, "helicopter": 0.0, "drone": 0.1},
    Weapon.Platform.AIRCRAFT: {"jet": 1.0, "helicopter": 1.0, "drone": 0.3},
    Weapon.Platform.DRONE: {"drone": 1.0, "jet": 0.2, "helicopter": 0.2},
    Weapon.Platform.GROUND: {"drone": 0.0, "jet": 0.0, "helicopter": 0.0},
}

IMPRECISE = (
    "{code} is dated only to the {precision}: record at least the day of the strike "
    "before ranking flights (a {precision} of observations would match by chance)."
)
TOO_LONG = "{code} lasted more than two days; rank flights against a shorter period."
BAD_WINDOW = "Minutes before and after must be between 0 and 1440."
NOT_REVIEWER = "Only reviewers (permission tracker.review_incident) can confirm a flight."
LOCKED_INCIDENT = "{code} is {status}: an editor must reopen it before a flight is confirmed."
OTHER_INCIDENT = "That attribution belongs to another incident."
ALREADY_CONFIRMED = "This observation is already confirmed for this incident."


class CorrelationRefused(Exception):
    """Flights cannot be ranked for this incident; the message says why."""


# --- Geometry ----------------------------------------------------------------------------


def haversine_km(start: tuple[float, float], end: tuple[float, float]) -> float:
    """Great-circle distance in km between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*start, *end))
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bearing(start: tuple[float, float], end: tuple[float, float]) -> float:
    """Initial great-circle bearing in degrees (0-360) from ``start`` to ``end`` (lat, lon)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*start, *end))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return math.degrees(math.atan2(y, x)) % 360


def angle_between(a: float, b: float) -> float:
    """The smaller angle (0-180) between two directions in degrees."""
    return abs((a - b + 180) % 360 - 180)


# --- The strike as the ranking sees it ---------------------------------------------------


@dataclass(frozen=True)
class Strike:
    code: str
    start: datetime  # the strike happened between start and end, as precisely as known
    end: datetime
    precision: str
    site: tuple[float, float] | None
    site_note: str  # where the site comes from, or why there is none
    platform: str | None  # Weapon.Platform of the weapon, None if not recorded
    weapon: str
    nationalities: dict[str, str]  # RU/SY -> the attribution it comes from

    @property
    def exact(self) -> bool:
        return self.start == self.end


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


@dataclass
class Candidate:
    observation: FlightObservation
    score: float
    reasons: list[str]
    confirmed: bool = False


def _local_period_end(start: datetime, precision: str) -> datetime:
    """The end of the period beginning at ``start``: a day ends at the next local
    midnight (a day is 23 or 25 hours when the clocks change;
    ``tracker.responsibility.periods``)."""
    if precision != DatePrecision.DAY:
        return start + PERIODS[precision]
    return periods.to_aware(periods.incident_period(start, precision, None).latest)


def strike_of(incident: Incident) -> Strike:
    """What the ranking needs of ``incident``: one query for its attributions (its
    weapon and place are read through the relations; load them with
    ``select_related("weapon", "place")``). Raises CorrelationRefused."""
    precision = incident.start_precision
    if precision not in PERIODS:
        raise CorrelationRefused(
            IMPRECISE.format(code=incident.code, precision=DatePrecision(precision).name.lower())
        )
    start = incident.occurred_start
    end = _local_period_end(start, precision)
    if incident.occurred_end and incident.occurred_end > end:
        end = incident.occurred_end
    if end - start > timedelta(days=2):
        raise CorrelationRefused(TOO_LONG.format(code=incident.code))

    if incident.latitude is not None:
        site, note = (float(incident.latitude), float(incident.longitude)), ""
    elif incident.place_id is not None:
        place = incident.place
        site, note = (float(place.latitude), float(place.longitude)), f"site taken from {place}"
    else:
        site, note = None, "the incident has no location"

    nationalities: dict[str, str] = {}
    attributions = (
        incident.attributions.exclude(status=ReviewStatus.REJECTED)
        .select_related("force", "unit__force", "official")
        .order_by("pk")
    )
    for attribution in attributions:
        for code, who in _attributed_nationalities(attribution):
            nationalities.setdefault(code, who)
    weapon = incident.weapon if incident.weapon_id else None
    platform = weapon.platform if weapon and weapon.platform != Weapon.Platform.UNKNOWN else None
    return Strike(
        code=incident.code,
        start=start,
        end=end,
        precision=precision,
        site=site,
        site_note=note,
        platform=platform,
        weapon=weapon.name if weapon else "",
        nationalities=nationalities,
    )


def _attributed_nationalities(attribution: Attribution):
    forces = [attribution.force, attribution.unit.force if attribution.unit else None]
    for force in forces:
        if force is not None:
            code = country_code(force.country) or country_code(force.name)
            if code:
                yield code, force.name
    if attribution.official and (code := country_code(attribution.official.nationality)):
        yield code, attribution.official.name


def window_for(strike: Strike, *, before: int, after: int) -> Window:
    if not (0 <= before <= MAX_MINUTES and 0 <= after <= MAX_MINUTES):
        raise CorrelationRefused(BAD_WINDOW)
    return Window(strike.start - timedelta(minutes=before), strike.end + timedelta(minutes=after))


# --- Scoring -----------------------------------------------------------------------------


def _minutes(delta: timedelta) -> str:
    total = round(delta.total_seconds() / 60)
    hours, minutes = divmod(total, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _time(strike: Strike, observed: datetime) -> tuple[float, str]:
    if observed < strike.start:
        lead = (strike.start - observed).total_seconds() / 60
        score = (
            1.0 if lead <= FULL_LEAD else max(0.0, 1 - (lead - FULL_LEAD) / (ZERO_LEAD - FULL_LEAD))
        )
        reason = f"{_minutes(strike.start - observed)} before the strike"
        return score, reason + (": too early to be its aircraft" if score == 0 else "")
    if observed <= strike.end:
        if strike.exact:
            return 1.0, "at the time of the strike"
        return 0.7, f"within the {strike.precision} given for the strike (order unknown)"
    lag = (observed - strike.end).total_seconds() / 60
    return max(0.0, 0.5 * (1 - lag / 30)), f"{_minutes(observed - strike.end)} after the strike"


def _position(obs: FlightObservation) -> tuple[float, float] | None:
    if obs.station_latitude is None or obs.station_longitude is None:
        return None
    return float(obs.station_latitude), float(obs.station_longitude)


def _heading(strike: Strike, obs: FlightObservation, station, distance) -> tuple[float | None, str]:
    if strike.site is None:
        return None, "heading not scored: " + strike.site_note
    if station is None:
        return None, "no station position: heading and distance not scored"
    if obs.heading is None:
        return None, "no heading recorded"
    if distance < CLOSE_KM:
        return None, f"station within {CLOSE_KM} km of the site: heading says little"
    written = obs.heading_raw if obs.heading_raw.strip().upper().isalpha() else f"{obs.heading}°"
    tolerance = heading_tolerance(obs.heading_raw)
    towards = bearing(station, strike.site)
    away = bearing(strike.site, station)  # an aircraft leaving the site over the station

    def fit(direction: float) -> tuple[float, float]:
        off = angle_between(obs.heading, direction)
        return max(0.0, 1 - max(0.0, off - tolerance) / 45), off

    inbound, inbound_off = fit(towards)
    outbound, outbound_off = fit(away)
    after = obs.observed_at > strike.end
    during = not strike.exact and strike.start <= obs.observed_at <= strike.end
    if after or (during and outbound > inbound):
        return outbound, (
            f"heading {written}, {outbound_off:.0f}° off the way back from the site ({away:.0f}°)"
        )
    return inbound, (
        f"heading {written}, {inbound_off:.0f}° off the bearing to the site ({towards:.0f}°)"
    )


def _distance(strike: Strike, obs: FlightObservation, distance) -> tuple[float | None, str]:
    if distance is None:
        return None, ""  # the heading's reason already says what is missing
    score = 1.0 if distance <= 20 else max(0.0, 1 - (distance - 20) / 130)
    reason = f"station {distance:.0f} km from the site"
    return score, f"{reason} ({strike.site_note})" if strike.site_note else reason


def _aircraft(strike: Strike, obs: FlightObservation) -> tuple[float | None, str]:
    label = FlightObservation.AircraftClass(obs.aircraft_class).label
    if strike.platform is None:
        return None, "weapon not identified: aircraft not scored"
    if obs.aircraft_class == FlightObservation.AircraftClass.UNKNOWN:
        return None, f"aircraft class unknown ({obs.aircraft_type})"
    score = FIT[strike.platform][obs.aircraft_class]
    platform = Weapon.Platform(strike.platform).label
    verb = "fits" if score >= 0.5 else "does not fit"
    return score, f"{label} {verb} {strike.weapon.lower()} ({platform})"


def _nationality(strike: Strike, obs: FlightObservation) -> tuple[float | None, str]:
    if not strike.nationalities:
        return None, "no attribution to a Russian or Syrian force: nationality not scored"
    if obs.nationality not in ("RU", "SY"):
        return None, "nationality not known"
    if obs.nationality in strike.nationalities:
        return (
            1.0,
            f"{obs.nationality} fits the attribution to {strike.nationalities[obs.nationality]}",
        )
    named = ", ".join(strike.nationalities.values())
    return 0.0, f"{obs.nationality} does not fit the attribution to {named}"


def score(strike: Strike, obs: FlightObservation) -> tuple[float, list[str]]:
    """The score of ``obs`` against ``strike`` and its reasons in words."""
    station = _position(obs)
    distance = haversine_km(station, strike.site) if station and strike.site else None
    parts = {
        "time": _time(strike, obs.observed_at),
        "heading": _heading(strike, obs, station, distance),
        "aircraft": _aircraft(strike, obs),
        "nationality": _nationality(strike, obs),
        "distance": _distance(strike, obs, distance),
    }
    total = sum(WEIGHTS[n] * (UNKNOWN if s is None else s) for n, (s, _) in parts.items())
    return round(min(1.0, max(0.0, total)), 4), [reason for _, reason in parts.values() if reason]


# --- Ranking -----------------------------------------------------------------------------


def candidates(
    incident: Incident, *, viewer, before: int = DEFAULT_BEFORE, after: int = DEFAULT_AFTER
) -> list[Candidate]:
    """The observations in the incident's window, best first (see the module docstring).

    ``viewer``: the user they are ranked for, who sees only observations of logs they may
    know exist (``evidence.visibility``); ``None`` for the operator's own command.

    Two queries for an incident loaded with ``select_related("weapon", "place")``:
    its attributions, then the observations (with whether each is confirmed).
    Raises CorrelationRefused."""
    strike = strike_of(incident)
    window = window_for(strike, before=before, after=after)
    seen = FlightObservation.objects.all()
    if viewer is not None:
        seen = visible_to(viewer, seen)
    observations = (
        seen.filter(observed_at__gte=window.start, observed_at__lte=window.end)
        .select_related("log__item")
        .only(
            *(f.name for f in FlightObservation._meta.concrete_fields if f.name != "extra"),
            "log__id",
            "log__item__id",
            "log__item__code",
        )
        .annotate(
            confirmed=Exists(
                FlightMatch.objects.filter(incident=incident, observation=OuterRef("pk"))
            )
        )
        .order_by()
    )
    ranked = []
    for obs in observations:
        value, reasons = score(strike, obs)
        ranked.append(Candidate(obs, value, reasons, obs.confirmed))
    centre = strike.start
    ranked.sort(
        key=lambda c: (
            -c.score,
            abs((c.observation.observed_at - centre).total_seconds()),
            c.observation.pk,
        )
    )
    return ranked


def load_incident(code: str) -> Incident | None:
    """The incident with ``code`` (any case), with what the ranking reads."""
    return (
        Incident.objects.select_related("weapon", "place").filter(code=code.strip().upper()).first()
    )


def line(candidate: Candidate) -> str:
    """One candidate as ``correlate_flights`` prints it (tab-separated)."""
    obs = candidate.observation
    when = timezone.localtime(obs.observed_at).isoformat()
    fields = [str(obs.pk), when, obs.aircraft_type, f"{candidate.score:.2f}"]
    fields.append("; ".join(candidate.reasons))
    return "\t".join(_one_line(f) for f in fields)


def _one_line(text: str) -> str:
    """Tabs and line breaks (and other control characters) would break the format."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


# --- Confirming a candidate --------------------------------------------------------------


def confirm(
    *,
    observation: FlightObservation,
    incident: Incident,
    by,
    note: str = "",
    attribution: Attribution | None = None,
) -> FlightMatch:
    """Record that ``observation`` is consistent with ``incident``, confirmed by ``by``.

    The flight log's evidence item is linked to the incident, and given as support
    of ``attribution`` if one is named. Raises PermissionDenied or ValidationError."""
    if not by.has_perm("tracker.review_incident"):
        raise PermissionDenied(NOT_REVIEWER)
    if incident.status in LOCKED:
        status = ReviewStatus(incident.status).label
        raise ValidationError(LOCKED_INCIDENT.format(code=incident.code, status=status))
    if attribution is not None and attribution.incident_id != incident.pk:
        raise ValidationError(OTHER_INCIDENT)
    if not may_see(by, observation):  # linking it would show a hidden log to the team
        raise ValidationError(HIDDEN_OBSERVATION)
    try:
        value, reasons = score(strike_of(incident), observation)
    except CorrelationRefused:
        value, reasons = 0.0, ["not ranked: the incident's time is too imprecise"]
    item = observation.log.item
    match = FlightMatch(
        observation=observation,
        incident=incident,
        score=value,
        reasons="; ".join(reasons),
        confirmed_by=by,
        confirmed_at=timezone.now(),
        note=note,
    )
    match.full_clean()
    try:
        with transaction.atomic():
            match.save()
            links.link(
                item,
                incident,
                by=by,
                relevance=f"Spotter log line {observation.line_number}: {observation} "
                "(flight confirmed by a reviewer).",
            )
            if attribution is not None:
                attribution._history_user = by
                attribution.supporting_evidence.add(item)
    except IntegrityError:
        # Another reviewer confirmed the same flight a moment ago.
        raise ValidationError(ALREADY_CONFIRMED) from None
    return match


def day_bounds(day) -> tuple[datetime, datetime]:
    """The first moment of local ``day`` and of the day after."""
    zone = timezone.get_default_timezone()
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    return start, _local_period_end(start, DatePrecision.DAY)
