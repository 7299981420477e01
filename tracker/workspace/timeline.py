"""The timeline of the filtered incidents (issue #6, item 3): bars per day, week or
month, stacked by first target type (``tracker.workspace.legend``), with the flight
observations of the same periods for those who may see them.

It reads the incidents through ``incident_filter``, as the browser and the map do. The
counts are aggregated in the database (``Trunc`` in the case's time zone, GROUP BY
bucket and target type) and drawn here as inline SVG (grid lines and buckets from
``tracker.workspace.charts``): the page costs the same few queries at 50 or 100,000
incidents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, DateTimeField, Max, Min, Q, QuerySet
from django.db.models.functions import Trunc
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from evidence.models import FlightObservation
from tracker.access import requires_browse
from tracker.models import DatePrecision, Incident
from tracker.responsibility.periods import MONTH_OR_FINER
from tracker.workspace.browser import OWN_PARAMETERS, filter_messages, incident_filter, page_query
from tracker.workspace.charts import (
    BUCKETS,
    axis_label,
    bucket_count,
    bucket_name,
    bucket_starts,
    next_bucket,
    value_axis,
)
from tracker.workspace.filters import local_midnight
from tracker.workspace.legend import first_targets, legend_of, target_types

VIEW_FLIGHTS = "evidence.view_flightobservation"
MAX_BARS = 400
PRECISE = (DatePrecision.MINUTE, DatePrecision.HOUR, DatePrecision.DAY)
# The dates precise enough to stand in one bar of each bucket; coarser ones are counted
# and named under the chart instead of piling up on the first day of their month.
DRAWN = {"day": PRECISE, "week": PRECISE, "month": MONTH_OR_FINER}
BAD_BUCKET = "Bucket must be day, week or month (got {raw!r}); showing by {bucket}."
TOO_MANY_BARS = (
    "By {asked} the chart would need {bars} bars (at most {limit}); showing by {bucket}."
)

# Chart geometry, in SVG user units (the SVG scales to the page's width).
WIDTH, LEFT, RIGHT, TOP = 960, 44, 8, 10
BARS_HEIGHT, AXIS_HEIGHT, FLIGHTS_GAP, FLIGHTS_HEIGHT = 200, 26, 22, 46


@dataclass
class Bucket:
    """One bar of the timeline: its incidents per first target type, and flights."""

    start: date
    end: date  # the first day of the next bucket
    name: str
    counts: dict[int | None, int] = field(default_factory=dict)
    flights: int = 0
    href: str = ""
    cells: list[int] = field(default_factory=list)  # counts in the legend's order

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


def default_bucket(first: date, last: date) -> str:
    """Days for up to three months, weeks for up to two years, then months."""
    span = (last - first).days + 1
    return "day" if span <= 92 else "week" if span <= 2 * 366 else "month"


def choose_bucket(raw: str, first: date, last: date) -> tuple[str, str | None]:
    """The bucket to draw by and, when it is not the one asked for, why."""
    chosen = default_bucket(first, last)
    if not raw:
        return chosen, None
    if raw not in BUCKETS:
        return chosen, BAD_BUCKET.format(raw=raw[:20], bucket=chosen)
    for kind in BUCKETS[BUCKETS.index(raw) :]:
        bars = bucket_count(kind, first, last)
        if bars <= MAX_BARS or kind == "month":
            if kind == raw:
                return kind, None
            asked = bucket_count(raw, first, last)
            return kind, TOO_MANY_BARS.format(asked=raw, bars=asked, limit=MAX_BARS, bucket=kind)
    raise AssertionError("unreachable: month is always drawn")


def bar_links(request: HttpRequest, found, periods: list[Bucket]) -> None:
    """Each bar opens the incident browser on its period, within the page's own dates."""
    cleaned = getattr(found.form, "cleaned_data", {})
    after, before = cleaned.get("occurred_after"), cleaned.get("occurred_before")
    params = request.GET.copy()
    for name in (*OWN_PARAMETERS, "occurred_after", "occurred_before"):
        params.pop(name, None)
    base = reverse("incidents:list")
    for period in periods:
        params["occurred_after"] = max(period.start, after or period.start).isoformat()
        params["occurred_before"] = min(period.last_day, before or period.last_day).isoformat()
        period.href = f"{base}?{params.urlencode()}"


def draw(kind: str, periods: list[Bucket], legend: list[dict], flights: bool) -> dict:
    """The stacked bars, gridlines and labels of the chart, in SVG coordinates."""
    plot = WIDTH - LEFT - RIGHT
    step = plot / len(periods)
    width = max(step * 0.8, 1.0) if step > 3 else step
    baseline = TOP + BARS_HEIGHT
    axis = value_axis(max(p.total for p in periods))
    scale = BARS_HEIGHT / axis.top
    flights_top = baseline + AXIS_HEIGHT + FLIGHTS_GAP
    flights_scale = FLIGHTS_HEIGHT / max([p.flights for p in periods] + [1])
    every = max(1, math.ceil(len(periods) / 12))
    bars, labels, previous = [], [], None
    for i, period in enumerate(periods):
        x = LEFT + i * step + (step - width) / 2
        segments, y = [], baseline
        for entry in legend:
            n = period.counts.get(entry["id"], 0)
            if n:
                y -= n * scale
                segments.append({"y": round(y, 2), "h": round(n * scale, 2), **entry, "n": n})
        parts = [f"{e['name']} {e['n']}" for e in segments]
        title = f"{period.name.capitalize()}: {period.total} incident" + (
            "s" if period.total != 1 else ""
        )
        title += f" ({', '.join(parts)})" if parts else ""
        if flights:
            title += f"; {period.flights} flight observation" + ("s" if period.flights != 1 else "")
        flight_h = round(period.flights * flights_scale, 2)
        bars.append(
            {
                "period": period,
                "x": round(x, 2),
                "w": round(width, 2),
                "segments": segments,
                "title": title,
                "flight_y": round(flights_top + FLIGHTS_HEIGHT - flight_h, 2),
                "flight_h": flight_h,
            }
        )
        if i % every == 0:
            labels.append(
                {"x": round(x + width / 2, 2), "text": axis_label(kind, period.start, previous)}
            )
            previous = period.start
    return {
        "width": WIDTH,
        "height": (flights_top + FLIGHTS_HEIGHT + 4) if flights else baseline + AXIS_HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "baseline": baseline,
        "label_y": baseline + 16,
        "bars": bars,
        "labels": labels,
        "gridlines": [{"y": round(baseline - v * scale, 2), "value": v} for v in axis.values],
        "flights_top": flights_top,
        "flights_baseline": flights_top + FLIGHTS_HEIGHT,
        "flights_max": max(p.flights for p in periods),
        "hit_top": TOP,
        "hit_h": BARS_HEIGHT,
    }


def flight_counts(kind: str, first: date, end: date) -> dict[date, int]:
    """Spotter observations per period from ``first`` up to ``end`` (one indexed range
    scan on observed_at, grouped in the database)."""
    zone = timezone.get_current_timezone()
    rows = (
        FlightObservation.objects.filter(
            observed_at__gte=local_midnight(first), observed_at__lt=local_midnight(end)
        )
        .annotate(period=Trunc("observed_at", kind, output_field=DateTimeField(), tzinfo=zone))
        .values("period")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {timezone.localtime(row["period"], zone).date(): row["n"] for row in rows}


def incident_counts(incidents: QuerySet[Incident], kind: str) -> dict[date, dict]:
    """Incidents drawn by ``kind`` per period and first target type (None: no target
    type): the totals per period and the typed ones, each in one GROUP BY."""
    zone = timezone.get_current_timezone()
    drawn = incidents.filter(start_precision__in=DRAWN[kind])
    totals = (
        drawn.annotate(
            period=Trunc("occurred_start", kind, output_field=DateTimeField(), tzinfo=zone)
        )
        .values("period")
        .annotate(n=Count("pk"))
        .order_by()
    )
    typed = (
        first_targets(drawn)
        .annotate(
            period=Trunc(
                "incident__occurred_start", kind, output_field=DateTimeField(), tzinfo=zone
            )
        )
        .values("period", "targettype")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[date, dict] = {}
    for row in typed:
        day = timezone.localtime(row["period"], zone).date()
        counts.setdefault(day, {})[row["targettype"]] = row["n"]
    for row in totals:
        day = timezone.localtime(row["period"], zone).date()
        per_type = counts.setdefault(day, {})
        if untyped := row["n"] - sum(per_type.values()):
            per_type[None] = untyped
    return counts


def span_of(incidents: QuerySet[Incident]) -> dict:
    """Count, and first and last dates of the incidents a day or a month can place."""
    month = Q(start_precision=DatePrecision.MONTH)
    precise = Q(start_precision__in=PRECISE)
    return incidents.aggregate(
        total=Count("pk"),
        first=Min("occurred_start", filter=precise),
        last=Max("occurred_start", filter=precise),
        first_month=Min("occurred_start", filter=precise | month),
        last_month=Max("occurred_start", filter=precise | month),
        by_month=Count("pk", filter=month),
        by_year=Count("pk", filter=Q(start_precision=DatePrecision.YEAR)),
    )


def undrawn_note(by_month: int, by_year: int, kind: str) -> str:
    """Why some incidents are not in the bars, e.g. "3 dated only to the month and 1 only
    to the year: too coarse to place in one week"."""
    parts = [f"{by_month} dated only to the month"] if by_month else []
    if by_year:
        parts.append(f"{by_year} {'only' if by_month else 'dated only'} to the year")
    return " and ".join(parts) + f": too coarse to place in one {kind}"


def local_day(moment) -> date | None:
    return timezone.localtime(moment).date() if moment else None


@require_safe
@requires_browse
def timeline(request: HttpRequest) -> HttpResponse:
    found = incident_filter(request)
    filter_messages(request, found)
    span = span_of(found.qs)
    first = local_day(span["first"] or span["first_month"])
    last = local_day(span["last"] or span["last_month"])
    context = {
        "section": "timeline",
        "active": found.active(),
        "query": page_query(request),
        "total": span["total"],
        "zone": settings.TIME_ZONE,
        "buckets": BUCKETS,
        "by_year": span["by_year"],
    }
    if first is None:
        return render(request, "tracker/timeline.html", context)
    kind, problem = choose_bucket(request.GET.get("bucket", ""), first, last)
    if problem:
        messages.warning(request, problem)
    if kind == "month":
        first, last = local_day(span["first_month"]), local_day(span["last_month"])
    counts = incident_counts(found.qs, kind)
    periods = [
        Bucket(start, next_bucket(kind, start), bucket_name(kind, start), counts.get(start, {}))
        for start in bucket_starts(kind, first, last)
    ]
    with_flights = request.user.has_perm(VIEW_FLIGHTS)
    if with_flights:
        flights = flight_counts(kind, periods[0].start, periods[-1].end)
        for period in periods:
            period.flights = flights.get(period.start, 0)
        with_flights = any(p.flights for p in periods)
    bar_links(request, found, periods)
    totals: dict[int | None, int] = {}
    for period in periods:
        for key, n in period.counts.items():
            totals[key] = totals.get(key, 0) + n
    legend = legend_of(target_types(), totals)
    for period in periods:
        period.cells = [period.counts.get(entry["id"], 0) for entry in legend]
    by_month = span["by_month"] if kind != "month" else 0
    context.update(
        {
            "bucket": kind,
            "chart": draw(kind, periods, legend, with_flights),
            "legend": legend,
            "rows": [p for p in periods if p.total or p.flights],
            "drawn": sum(totals.values()),
            "undrawn": undrawn_note(by_month, span["by_year"], kind)
            if by_month or span["by_year"]
            else "",
            "by_month": by_month,
            "with_flights": with_flights,
            "flights_total": sum(p.flights for p in periods),
        }
    )
    return render(request, "tracker/timeline.html", context)
