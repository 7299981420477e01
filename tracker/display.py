"""How the tracker writes a count known as a range, and a time with its zone, on every
page and in every file.

An incident's killed and injured are each a lowest and a highest credible count, either
of which may be missing. ``count_range`` is the one rendering of such a pair: the admin,
the incident browser and page, the map, the case report and the dossier all show it (in
templates through the ``count_range`` filter of ``tracker.templatetags.display``; dates
known to a precision have theirs in ``tracker.responsibility.periods.format_partial``
and the ``partial_date`` filter). The exports keep the two numbers apart, as numbers.

====================  ============
lowest, highest       written
====================  ============
none, none            unknown
3, 3                  3
3, none               at least 3
none, 5               up to 5
3, 5                  3–5
====================  ============

A moment is written with the zone it is written in (``time_with_zone``): converted to
the case's zone it says so ("2019-05-14 14:05 Damascus time (UTC+03:00)"), in a zone
a file recorded it names that zone ("… UTC+03:00", "… UTC"), and a clock reading whose
zone nobody recorded is written as read, "(zone not recorded)", never converted as if
it were known. Templates use the ``with_zone`` filter.

A time in a recording (a keyframe's, a clip's length) is a clock reading from its start
(``clock``): ``0:42``, ``1:02:03``, ``0:05.5`` to the tenth.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from django.utils import timezone

from tracker.models import DatePrecision
from tracker.responsibility.periods import format_partial

UNKNOWN = "unknown"
ZONE_NOT_RECORDED = "(zone not recorded)"
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "GMT", "Etc/GMT"})


def count_range(low: int | None, high: int | None) -> str:
    """``3``, ``3–5``, ``at least 3``, ``up to 5`` or ``unknown``."""
    if low is None and high is None:
        return UNKNOWN
    if high is None:
        return f"at least {low}"
    if low is None:
        return f"up to {high}"
    return str(low) if low == high else f"{low}–{high}"


def summed_range(low: int, high: int, unknown: int, incidents: int) -> str:
    """A count summed over ``incidents`` incidents (``low`` and ``high`` the sums of their
    lowest and highest counts, ``unknown`` of them without any): ``unknown`` when no
    incident has a count, else as ``count_range`` writes it."""
    return UNKNOWN if unknown == incidents else count_range(low, high)


def clock(seconds: float | None, *, tenths: bool = False) -> str:
    """A time in a recording, from its start: ``0:42``, ``1:02:03``; with ``tenths``
    ``0:05.5`` (a keyframe's time). ``-`` for None."""
    if seconds is None:
        return "-"
    scale = 10 if tenths else 1
    units = round(max(0.0, seconds) * scale)
    minutes, rest = divmod(units, 60 * scale)
    hours, minutes = divmod(minutes, 60)
    second = f"{rest / scale:04.1f}" if tenths else f"{rest:02d}"
    return f"{hours}:{minutes:02d}:{second}" if hours else f"{minutes}:{second}"


def utc_offset(offset: timedelta | None) -> str:
    """``UTC+03:00``, ``UTC-04:30``, ``UTC+00:00``."""
    offset = offset or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def zone_label(zone: tzinfo, moment: datetime) -> str:
    """How ``zone`` is named at ``moment`` (aware, or a wall time in ``zone``): ``Damascus
    time (UTC+03:00)`` for a named zone, with that moment's offset (summer time counts);
    ``UTC``; a bare offset (``UTC+03:00``) for a zone known only by its offset."""
    if moment.tzinfo is None:
        offset = zone.utcoffset(moment)
    else:
        offset = moment.astimezone(zone).utcoffset()
    key = zone.key if isinstance(zone, ZoneInfo) else None
    if key in _UTC_NAMES or (key is None and not offset):
        return "UTC"
    if key is None:
        return utc_offset(offset)
    place = key.rsplit("/", 1)[-1].replace("_", " ")
    return f"{place} time ({utc_offset(offset)})"


def time_with_zone(
    moment: datetime | None,
    *,
    precision: str = DatePrecision.MINUTE,
    zone: tzinfo | None = None,
) -> str:
    """``moment`` written in ``zone`` (the case's zone if None), naming it: ``2019-05-14
    14:05 Damascus time (UTC+03:00)``, with its seconds when it has any; to
    ``precision`` (``2019-05-14 Damascus time (UTC+03:00)`` for a day; ``2019-05`` for a
    month or a year, without a zone). A naive ``moment`` is a clock reading whose zone
    was not recorded: written as read, ``2019-05-14 09:40:12 (zone not recorded)``.
    "" for None."""
    if moment is None:
        return ""
    if timezone.is_naive(moment):
        return f"{_written(moment, precision)} {ZONE_NOT_RECORDED}"
    zone = zone or timezone.get_default_timezone()
    wall = moment.astimezone(zone)
    written = _written(wall.replace(tzinfo=None), precision)
    if precision in (DatePrecision.MONTH, DatePrecision.YEAR):
        return written  # no zone moves a month or a year but at its edges
    return f"{written} {zone_label(zone, wall)}"


def _written(wall: datetime, precision: str) -> str:
    text = format_partial(wall, precision)  # naive: written as it is, not converted
    if precision == DatePrecision.MINUTE and wall.second:
        text += f":{wall.second:02d}"
    return text
