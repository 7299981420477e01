"""A day of flights next to its strikes, and the local days, months and years that
observations are browsed by.

``day_timeline`` lays out one local day: the observations a viewer may see in one lane
per station, the incidents of that day (for a viewer who may see incidents) as marks,
and both as events in time order. Positions are percentages of the day, so a page
draws them with ``data-left`` (the Content-Security-Policy allows no inline styles).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from evidence.flights import ranking
from evidence.models import FlightObservation
from evidence.visibility import visible_to
from tracker.access import visible_incidents
from tracker.display import utc_offset, zone_label
from tracker.models import Incident
from tracker.responsibility import periods

LIMIT = 2000  # observations drawn for one day
VIEW_INCIDENT = "tracker.view_incident"
HOURS = range(0, 24, 2)  # the hours marked on the scale


@dataclass(frozen=True)
class DayTimeline:
    day: date
    hours: list[tuple[int, float]]  # (hour, position)
    incident_marks: list[tuple[float, Incident]]  # (position, incident)
    lanes: list[tuple[str, list[tuple[float, FlightObservation]]]]  # by station
    events: list[tuple[datetime, str, Incident | FlightObservation]]  # "incident" first
    truncated: bool  # more than LIMIT observations: the first LIMIT are drawn
    limit: int
    previous_day: date | None  # the nearest days with observations the viewer may see
    next_day: date | None
    zone: str  # the zone the times of the day are written in, named (tracker.display)


def parse_day(text: str) -> date | None:
    """The day ``text`` names (2019-05-13), if it is one and within the years a date
    may have; None otherwise."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return day if periods.year_in_range(day) else None


def local_period(text: str) -> tuple[datetime, datetime] | None:
    """The first moment, in local time, of the day (2019-05-13), month (2019-05) or
    year (2019) ``text`` names, and of the one after it; None if it names none."""
    found = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", text)
    if not found:
        return None
    year, month, day = (int(g) if g else None for g in found.groups())
    if not periods.FIRST_YEAR <= year <= periods.LAST_YEAR:
        return None
    try:
        if day is not None:
            return ranking.day_bounds(date(year, month, day))
        if month is not None:
            first, after = date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)
        else:
            first, after = date(year, 1, 1), date(year + 1, 1, 1)
    except ValueError:
        return None
    zone = timezone.get_default_timezone()
    return (
        datetime(first.year, first.month, first.day, tzinfo=zone),
        datetime(after.year, after.month, after.day, tzinfo=zone),
    )


def day_timeline(viewer, day: date | None = None) -> DayTimeline:
    """Local ``day`` as ``viewer`` may see it (``evidence.visibility``); without a day,
    the latest day with observations (today if there are none)."""
    seen = visible_to(viewer, FlightObservation.objects.all())
    if day is None:
        latest = seen.order_by("-observed_at").first()
        day = timezone.localtime(latest.observed_at).date() if latest else timezone.localdate()
    start, end = ranking.day_bounds(day)
    minutes = (end - start).total_seconds() / 60

    def at(moment: datetime) -> float:
        return round(100 * (moment - start).total_seconds() / 60 / minutes, 3)

    observations = list(
        seen.filter(observed_at__gte=start, observed_at__lt=end)
        .select_related("log__item")
        .order_by("observed_at", "pk")[: LIMIT + 1]
    )
    truncated = len(observations) > LIMIT
    observations = observations[:LIMIT]
    incidents = _incidents(viewer, start, end) if viewer.has_perm(VIEW_INCIDENT) else []
    lanes: dict[str, list[tuple[float, FlightObservation]]] = {}
    for obs in observations:
        lanes.setdefault(obs.station, []).append((at(obs.observed_at), obs))
    events: list[tuple[datetime, str, Incident | FlightObservation]] = [
        (i.occurred_start, "incident", i) for i in incidents
    ]
    events += [(o.observed_at, "observation", o) for o in observations]
    events.sort(key=lambda e: (e[0], e[1] != "incident"))
    before = seen.filter(observed_at__lt=start).order_by("-observed_at").first()
    after = seen.filter(observed_at__gte=end).order_by("observed_at").first()
    return DayTimeline(
        day=day,
        hours=[(hour, round(100 * hour * 60 / minutes, 3)) for hour in HOURS],
        incident_marks=[(at(i.occurred_start), i) for i in incidents],
        lanes=sorted(lanes.items()),
        events=events,
        truncated=truncated,
        limit=LIMIT,
        previous_day=timezone.localtime(before.observed_at).date() if before else None,
        next_day=timezone.localtime(after.observed_at).date() if after else None,
        zone=_zone_of(start, end),
    )


def _zone_of(start: datetime, end: datetime) -> str:
    """The case's zone on a day, named; on a day the clocks change, both its offsets."""
    zone = timezone.get_default_timezone()
    last = (end - timedelta(seconds=1)).astimezone(zone)
    first = zone_label(zone, start)
    return (
        first
        if first == zone_label(zone, last)
        else f"{first}, then {utc_offset(last.utcoffset())}"
    )


def _incidents(viewer, start: datetime, end: datetime) -> list[Incident]:
    """The incidents ``viewer`` may see that started within the day, dated precisely
    enough to be drawn (``ranking.PERIODS``)."""
    return list(
        visible_incidents(viewer)
        .filter(
            occurred_start__gte=start, occurred_start__lt=end, start_precision__in=ranking.PERIODS
        )
        .select_related("weapon", "place")
        .order_by("occurred_start", "pk")
    )
