"""Command postings seen from an incident or a unit: who is already attributed as an
incident's commander, and which command postings of one unit may overlap.

Overlap reads each posting's dates as periods (``tracker.responsibility.periods``:
"2019-05" ends some day in May; an unknown start or end may be anything), as the
chain of command does: two commanders at once happen, so an overlap is allowed and
only flagged for a researcher to check the sources.
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import TruncMonth, TruncYear
from django.db.models.lookups import Exact, In, IsNull, LessThanOrEqual

from tracker.models import Attribution, Incident, Position

_DAYS = ["minute", "hour", "day"]


def attributed_commanders(incident: Incident) -> set[int]:
    """The officials ``incident`` is already attributed to as commander (their ids)."""
    return set(
        Attribution.objects.filter(
            incident=incident, role=Attribution.Role.COMMANDER, official__isnull=False
        ).values_list("official_id", flat=True)
    )


def _with_periods(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(
        p_start_month=TruncMonth("start"),
        p_start_year=TruncYear("start"),
        p_end_month=TruncMonth("end"),
        p_end_year=TruncYear("end"),
    )


def _starts_before_end(start, end, precision) -> Q:
    """A posting starting at ``start`` began before the end of the period that starts at
    ``end`` with ``precision`` (tuples of day, month and year expressions; see
    ``tracker.responsibility.periods``: an unknown precision reads as a year)."""
    (day, month, year), (end_day, end_month, end_year) = start, end
    return (
        Q(In(precision, _DAYS), LessThanOrEqual(day, end_day))
        | Q(Exact(precision, "month"), LessThanOrEqual(month, end_month))
        | (~Q(In(precision, [*_DAYS, "month"])) & Q(LessThanOrEqual(year, end_year)))
    )


def _command_overlap() -> Exists:
    """For a Position queryset from ``_with_periods``: another command posting of the
    same unit whose dates may overlap this one's."""
    inner = (F("start"), F("p_start_month"), F("p_start_year"))
    inner_end = (F("end"), F("p_end_month"), F("p_end_year"))
    outer = (OuterRef("start"), OuterRef("p_start_month"), OuterRef("p_start_year"))
    outer_end = (OuterRef("end"), OuterRef("p_end_month"), OuterRef("p_end_year"))
    others = _with_periods(
        Position.objects.filter(unit=OuterRef("unit"), is_command=True).exclude(pk=OuterRef("pk"))
    ).filter(
        Q(start__isnull=True)
        | Q(IsNull(OuterRef("end"), True))
        | _starts_before_end(inner, outer_end, OuterRef("end_precision")),
        Q(end__isnull=True)
        | Q(IsNull(OuterRef("start"), True))
        | _starts_before_end(outer, inner_end, F("end_precision")),
    )
    return Exists(others)


def positions_with_overlap(positions: QuerySet) -> QuerySet:
    """``positions``, each annotated ``overlaps_command``: another command posting of
    its unit may overlap it (whether or not it is a command posting itself)."""
    return _with_periods(positions).annotate(overlaps_command=_command_overlap())


def units_with_overlap(units: QuerySet) -> QuerySet:
    """``units``, each annotated ``overlaps_command``: two of its command postings may
    overlap."""
    postings = _with_periods(Position.objects.filter(unit=OuterRef("pk"), is_command=True))
    return units.annotate(overlaps_command=Exists(postings.filter(_command_overlap())))
