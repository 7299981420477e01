"""The case report's figures: counts over the whole filtered set, each computed by the
database in one query (incidents, casualty ranges summed, by target type, review status,
attributed force and month), so they cost the same for 1 or 100,000 incidents.

Casualties are summed as ranges (``Tally``) and written as ``tracker.display`` writes
every range; months are counted in the case's time zone, and an incident dated only to
a year is counted apart, never put in January (``periods.month_of``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth

from tracker import findings
from tracker.display import summed_range
from tracker.models import Force, Incident, ReviewStatus
from tracker.responsibility.periods import MONTH_OR_FINER, local, month_of
from tracker.workspace.charts import MonthCount, every_month
from tracker.workspace.legend import safe_colour


@dataclass(frozen=True)
class Tally:
    """A count known per incident as a range, summed: at least ``low``, at most ``high``.

    An incident with a lower figure and no upper one adds its lower figure to both
    (``open_ended`` says how many); one with no figure at all adds nothing
    (``unknown``)."""

    low: int
    high: int
    unknown: int
    open_ended: int
    incidents: int  # summed over

    def __str__(self) -> str:
        return summed_range(self.low, self.high, self.unknown, self.incidents)


@dataclass(frozen=True)
class Figures:
    incidents: int
    killed: Tally
    injured: Tally
    without_target_type: int
    without_force: int


def _tally(prefix: str) -> dict[str, object]:
    low, high = f"{prefix}_min", f"{prefix}_max"
    return {
        f"{prefix}_low": Coalesce(Sum(low), 0),
        f"{prefix}_high": Coalesce(Sum(Coalesce(high, low)), 0),
        f"{prefix}_unknown": Count(
            "pk", filter=Q(**{f"{low}__isnull": True, f"{high}__isnull": True})
        ),
        f"{prefix}_open": Count(
            "pk", filter=Q(**{f"{low}__isnull": False, f"{high}__isnull": True})
        ),
    }


def _tallied(row: dict[str, int], prefix: str) -> Tally:
    low, high = row[f"{prefix}_low"], row[f"{prefix}_high"]
    return Tally(low, high, row[f"{prefix}_unknown"], row[f"{prefix}_open"], incidents=row["n"])


def figures(incidents: QuerySet[Incident]) -> Figures:
    """Counts and casualty ranges of ``incidents``: one query."""
    target_types = Incident.target_types.through.objects.filter(incident=OuterRef("pk"))
    forces = findings.attributions().filter(
        Q(force__isnull=False) | Q(unit__isnull=False), incident=OuterRef("pk")
    )
    row = incidents.order_by().aggregate(
        n=Count("pk"),
        no_target=Count("pk", filter=~Q(Exists(target_types))),
        no_force=Count("pk", filter=~Q(Exists(forces))),
        **_tally("killed"),
        **_tally("injured"),
    )
    return Figures(
        incidents=row["n"],
        killed=_tallied(row, "killed"),
        injured=_tallied(row, "injured"),
        without_target_type=row["no_target"],
        without_force=row["no_force"],
    )


def by_target_type(incidents: QuerySet[Incident]) -> list[dict[str, object]]:
    """Incidents per target type (an incident with two types counts for each): one query."""
    through = Incident.target_types.through.objects.filter(
        incident__in=incidents.order_by().values("pk")
    )
    rows = (
        through.values(name=F("targettype__name"), colour=F("targettype__colour"))
        .annotate(n=Count("incident_id"))
        .order_by("-n", "name")
    )
    return [{**row, "colour": safe_colour(row["colour"])} for row in rows]


def by_status(incidents: QuerySet[Incident]) -> list[tuple[str, int]]:
    """Incidents per review status, in the workflow's order: one query."""
    counts = dict(incidents.order_by().values_list("status").annotate(n=Count("pk")))
    return [(label, counts[value]) for value, label in ReviewStatus.choices if value in counts]


def by_force(incidents: QuerySet[Incident]) -> list[tuple[Force, int]]:
    """Incidents with an attribution presented with them (``tracker.findings``) to each
    force, directly or through one of its units: one query. An incident attributed to two
    forces counts for each."""
    counted = (
        findings.attributions()
        .filter(
            Q(force=OuterRef("pk")) | Q(unit__force=OuterRef("pk")),
            incident__in=incidents.order_by().values("pk"),
        )
        .order_by()
        .annotate(n=Func("incident", function="COUNT", template="COUNT(DISTINCT %(expressions)s)"))
        .values("n")
    )
    forces = Force.objects.annotate(n=Subquery(counted, output_field=IntegerField()))
    return sorted(((f, f.n) for f in forces if f.n), key=lambda pair: (-pair[1], pair[0].name))


@dataclass(frozen=True)
class Months:
    counts: list[MonthCount]  # every month from the first to the last, empty ones too
    month_unknown: list[tuple[int, int]]  # (year, incidents dated only to that year)

    @property
    def years(self) -> list[tuple[str, int]]:
        """(``2019 (month unknown)``, incidents) of ``month_unknown``."""
        return [(month_of(date(year, 1, 1), None), n) for year, n in self.month_unknown]


def by_month(incidents: QuerySet[Incident]) -> Months:
    """Incidents per month of their start in the case's time zone: one query. Incidents
    dated only to a year are counted per year apart, never put in January."""
    year_only = Case(
        When(start_precision__in=MONTH_OR_FINER, then=Value(False)),
        default=Value(True),
        output_field=BooleanField(),
    )
    rows = (
        incidents.order_by()
        .annotate(month=TruncMonth("occurred_start"), year_only=year_only)
        .values_list("month", "year_only")
        .annotate(n=Count("pk"))
    )
    months: dict[date, int] = defaultdict(int)
    years: dict[int, int] = defaultdict(int)
    for month, is_year_only, n in rows:
        first = local(month).date() if isinstance(month, datetime) else month
        if is_year_only:
            years[first.year] += n
        else:
            months[first.replace(day=1)] += n
    return Months(every_month(months), sorted(years.items()))
