"""Dates known to a precision, read as periods.

A time is stored as the first moment of its period plus a precision ("May 2019" is
2019-05-01 with precision ``month``). Here such a value becomes the half-open period
[earliest, latest) it stands for, in the case's local time (naive datetimes), so
that an incident's time and a posting's dates can be compared.

An unknown or missing precision is read as ``year``: the widest precision the
tracker records, so nothing is claimed more exactly than it was written.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeGuard

from django.utils import timezone

from tracker.models import DatePrecision

P = DatePrecision
EARLIEST = datetime.min
LATEST = datetime.max
WIDEST = P.YEAR
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


# The years a date typed into the tracker may have. Outside them a date is a typing
# slip, and computing its period (a day after 31 December 9999, local midnight of
# 1 January 0001 in UTC) overflows Python's or the database's range.
FIRST_YEAR, LAST_YEAR = 1900, 2100
YEAR_OUT_OF_RANGE = f"Give a date between {FIRST_YEAR} and {LAST_YEAR}."


def year_in_range(value: date | datetime | None) -> bool:
    return value is None or FIRST_YEAR <= value.year <= LAST_YEAR


def check_year(value: date | datetime | None) -> None:
    """A form validator: refuses a date outside FIRST_YEAR..LAST_YEAR."""
    from django.core.exceptions import ValidationError

    if not year_in_range(value):
        raise ValidationError(YEAR_OUT_OF_RANGE, code="year_out_of_range")


# A date typed for something that happened (an incident, a capture, an interview) cannot
# be later than now. What a file claims (a camera's clock, a spotter's log) is evidence
# even when wrong, and is not refused by this rule.
IN_FUTURE = "This is in the future: give when it happened (the case's local time)."


def check_not_future(value: date | datetime | None, *, now: datetime | None = None) -> None:
    """Refuses a date or time later than ``now`` (a date: later than today, locally)."""
    from django.core.exceptions import ValidationError

    if value is None:
        return
    now = now or timezone.now()
    if isinstance(value, datetime):
        late = value > now if timezone.is_aware(value) else value > local(now)
    else:
        late = value > local(now).date()
    if late:
        raise ValidationError(IN_FUTURE, code="in_future")


_KNOWN = frozenset(P.values)


def known(precision: str | None) -> TypeGuard[str]:
    return precision in _KNOWN


def add_precision(moment: datetime, precision: str | None) -> datetime:
    """The first moment after the period that starts at ``moment``."""
    precision = precision if known(precision) else WIDEST
    try:
        if precision == P.MINUTE:
            return moment + timedelta(minutes=1)
        if precision == P.HOUR:
            return moment + timedelta(hours=1)
        if precision == P.DAY:
            return moment + timedelta(days=1)
        if precision == P.MONTH:
            year, month = divmod(moment.month, 12)
            return _replace_month(moment, moment.year + year, month + 1)
        return _replace_month(moment, moment.year + 1, moment.month)
    except (OverflowError, ValueError):
        return LATEST


def _replace_month(moment: datetime, year: int, month: int) -> datetime:
    # 31 January + one month is the end of February, not an error. A year outside
    # Python's range raises ValueError (add_precision reads it as unbounded).
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


@dataclass(frozen=True)
class Period:
    """[earliest, latest) in local time; ``EARLIEST``/``LATEST`` when unbounded."""

    earliest: datetime
    latest: datetime

    def overlaps(self, other: Period) -> bool:
        return self.earliest < other.latest and other.earliest < self.latest

    def covers(self, other: Period) -> bool:
        return self.earliest <= other.earliest and other.latest <= self.latest


def local(moment: datetime) -> datetime:
    """An aware datetime as a naive one in the case's local time (the project's time
    zone, whatever zone is active)."""
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment, timezone.get_default_timezone())
    return moment.replace(tzinfo=None)


def start_of(moment: datetime, precision: str | None) -> datetime:
    """The local first moment of the period of ``precision`` stored as ``moment``. A day
    whose midnight the clocks skipped (Asia/Damascus, 29 March 2019) begins at 01:00;
    as the start of a day (or month, or year) that moment reads as its midnight, so the
    period still ends at a midnight, not an hour into the next day."""
    wall = local(moment)
    if precision in (P.MINUTE, P.HOUR) or not timezone.is_aware(moment):
        return wall
    day = midnight(wall.date())
    # make_aware reads a skipped wall time with the offset before the change; such a
    # time compares unequal to every other (PEP 495), hence the timestamps.
    if wall != day and to_aware(day).timestamp() == moment.timestamp():
        return day
    return wall


def to_aware(moment: datetime) -> datetime:
    """A naive local datetime as an aware one (the inverse of ``local``), clamped."""
    moment = min(max(moment, datetime(1, 1, 2)), datetime(9999, 12, 30))
    return timezone.make_aware(moment, timezone.get_default_timezone())


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def incident_period(start: datetime, precision: str | None, end: datetime | None) -> Period:
    """When an incident may have happened: the period of its start, stretched to its
    recorded end for attacks that lasted."""
    earliest = start_of(start, precision)
    latest = add_precision(earliest, precision)
    if end is not None:
        latest = max(latest, local(end))
    return Period(earliest, latest)


@dataclass(frozen=True)
class Tenure:
    """When a posting was held. A posting holds for whole days: from its first day to
    the end of its last day. ``possible`` is as wide as its dates allow, ``sure`` as
    narrow (from the last day it may have begun, to the first day it may have ended).
    No start means unknown (possible from any time, never sure); no end means still
    in post."""

    possible: Period
    sure: Period

    @classmethod
    def of(
        cls,
        start: date | None,
        start_precision: str | None,
        end: date | None,
        end_precision: str | None,
    ) -> Tenure:
        if start is None:
            possible_from, sure_from = EARLIEST, LATEST
        else:
            possible_from = midnight(start)
            # Began on the last day of its start period at the latest.
            sure_from = add_precision(possible_from, _days(start_precision)) - timedelta(days=1)
        if end is None:
            possible_to = sure_to = LATEST
        else:
            first_day = midnight(end)
            possible_to = add_precision(first_day, _days(end_precision))
            sure_to = first_day + timedelta(days=1)
        return cls(Period(possible_from, possible_to), Period(sure_from, max(sure_to, sure_from)))


def _days(precision: str | None) -> str:
    """Posting dates are days at the finest."""
    if precision in (P.MINUTE, P.HOUR):
        return P.DAY
    return precision if known(precision) else WIDEST


def format_partial(value: date | datetime | None, precision: str | None) -> str:
    """``2019``, ``2019-05``, ``2019-05-14`` (``… 09:40`` for incident times); "" if None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local(value)
    precision = precision if known(precision) else WIDEST
    if precision == P.YEAR:
        return f"{value.year:04d}"
    if precision == P.MONTH:
        return f"{value.year:04d}-{value.month:02d}"
    if precision == P.DAY or not isinstance(value, datetime):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if precision == P.HOUR:
        return value.strftime("%Y-%m-%d %H h")
    return value.strftime("%Y-%m-%d %H:%M")


# The precisions that place a date in one month; anything else (a year, or a precision
# not recorded) only in its year.
MONTH_OR_FINER = (P.MINUTE, P.HOUR, P.DAY, P.MONTH)


def month_of(value: date | datetime, precision: str | None) -> str:
    """The month a date falls in, for counts by month: ``2019-05``; ``2019 (month
    unknown)`` for a date known only to its year, never put in January."""
    if precision in MONTH_OR_FINER:
        return format_partial(value, P.MONTH)
    return f"{format_partial(value, P.YEAR)} (month unknown)"


def parse_partial(text: str) -> tuple[date, str]:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` -> (first day, precision); ValueError if not."""
    match = _PARTIAL_DATE.match(text.strip())
    if not match:
        raise ValueError("expected YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = match.groups()
    if year == "0000":
        raise ValueError("there is no year 0000")
    try:
        value = date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ValueError(f"{text.strip()} is not a date in the calendar") from None
    precision = P.DAY if day else P.MONTH if month else P.YEAR
    return value, precision
