"""Writing a case for the chain-of-command tests: an incident at a local time (with
an attribution to a unit), a posting with its dates written as in the CSV, and the
chain read back as (depth, unit, official, certainty)."""

from datetime import datetime

from django.utils import timezone

from tracker.models import Position, Unit
from tracker.tests import factories as f


def local(text: str) -> datetime:
    """A local (case time zone) moment, as stored: aware."""
    return timezone.make_aware(datetime.fromisoformat(text))


def incident(when: str, precision: str = "minute", unit: Unit | None = None, **fields):
    found = f.IncidentFactory(occurred_start=local(when), start_precision=precision, **fields)
    if unit is not None:
        f.AttributionFactory(incident=found, unit=unit)
    return found


def posting(official_name: str, unit: Unit, start="", end="", **fields) -> Position:
    """A posting with dates written as in the CSV: "2019", "2019-05" or "2019-05-14"."""
    from tracker.responsibility.periods import parse_partial

    values = {"start": None, "end": None}
    for name, text in (("start", start), ("end", end)):
        if text:
            values[name], values[f"{name}_precision"] = parse_partial(text)
    official = f.OfficialFactory(name=official_name)
    return f.PositionFactory(official=official, unit=unit, **values, **fields)


def summary(entries) -> list[tuple]:
    return [(e.depth, e.unit.name, e.official.name, e.certainty) for e in entries]
