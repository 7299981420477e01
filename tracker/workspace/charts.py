"""Charts of incidents over time, drawn as inline SVG by their templates: the case
report's bars by month (``month_chart``) and the timeline's stacked bars
(``tracker.workspace.timeline``).

Both take their grid lines from one rule (``value_axis``) and count incidents in the
same time buckets: days, ISO weeks and months, each starting where the database's
``Trunc`` starts it in the case's time zone (a week on Monday, as ``TruncWeek``), so
counts grouped there fall in the right bucket. A month is written as dates known to the
month are (``periods.format_partial``: ``2019-05``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from tracker.models import DatePrecision
from tracker.responsibility.periods import format_partial

# --- The value axis -------------------------------------------------------------------------

MOST_GRID_LINES = 5  # above zero


def tick_step(peak: int) -> int:
    """1, 2, 5, 10, 20, 50...: the smallest step that draws at most ``MOST_GRID_LINES``
    grid lines above zero for bars up to ``peak``."""
    magnitude = 1
    while True:
        for mantissa in (1, 2, 5):
            if peak <= MOST_GRID_LINES * mantissa * magnitude:
                return mantissa * magnitude
        magnitude *= 10


@dataclass(frozen=True)
class Axis:
    step: int
    top: int  # the highest grid line: the first at or above the peak

    @property
    def values(self) -> range:
        """The values of the grid lines, from zero."""
        return range(0, self.top + 1, self.step)


def value_axis(peak: int) -> Axis:
    step = tick_step(peak)
    return Axis(step, step * max(1, math.ceil(peak / step)))


# --- Time buckets ---------------------------------------------------------------------------

BUCKETS = ("day", "week", "month")


def bucket_start(kind: str, day: date) -> date:
    if kind == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday, as TruncWeek
    if kind == "month":
        return day.replace(day=1)
    return day


def next_bucket(kind: str, start: date) -> date:
    if kind == "day":
        return start + timedelta(days=1)
    if kind == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def bucket_starts(kind: str, first: date, last: date) -> list[date]:
    """Every bucket from the one holding ``first`` to the one holding ``last``, empty
    ones too."""
    starts, current = [], bucket_start(kind, first)
    while current <= last:
        starts.append(current)
        current = next_bucket(kind, current)
    return starts


def bucket_count(kind: str, first: date, last: date) -> int:
    """``len(bucket_starts(kind, first, last))``, without building the list."""
    if kind == "day":
        return (last - first).days + 1
    if kind == "week":
        return (bucket_start("week", last) - bucket_start("week", first)).days // 7 + 1
    return (last.year - first.year) * 12 + last.month - first.month + 1


def bucket_name(kind: str, start: date) -> str:
    """``May 2019``, ``week of 6 May 2019``, ``6 May 2019``."""
    if kind == "month":
        return f"{start:%B %Y}"
    day = f"{start.day} {start:%b %Y}"
    return f"week of {day}" if kind == "week" else day


def axis_label(kind: str, start: date, previous: date | None) -> str:
    """A bucket's label under the axis: its year only where the year changes."""
    if kind == "month":
        return f"{start:%b}" if previous and previous.year == start.year else f"{start:%b %Y}"
    label = f"{start.day} {start:%b}"
    return label if previous and previous.year == start.year else f"{label} {start:%Y}"


# --- The case report's bars by month --------------------------------------------------------


@dataclass(frozen=True)
class MonthCount:
    month: date
    n: int

    @property
    def label(self) -> str:
        return format_partial(self.month, DatePrecision.MONTH)


def every_month(counts: dict[date, int]) -> list[MonthCount]:
    """``counts`` (first day of a month -> incidents) for every month from the first to
    the last, empty months included."""
    if not counts:
        return []
    months = bucket_starts("month", min(counts), max(counts))
    return [MonthCount(month, counts.get(month, 0)) for month in months]


@dataclass(frozen=True)
class ChartBar:
    x: float
    y: float
    width: float
    height: float
    label: str
    n: int
    show_label: bool

    @property
    def middle(self) -> float:
        return round(self.x + self.width / 2, 2)

    @property
    def above(self) -> float:
        return round(self.y - 4, 2)


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    baseline: int
    bars: list[ChartBar]
    ticks: list[tuple[float, int]]  # (y, value) of the horizontal grid lines
    values: bool  # few enough bars to write each one's count above it


CHART_WIDTH, CHART_HEIGHT = 760, 230
CHART_MARGIN = {"left": 40, "right": 8, "top": 16, "bottom": 46}
VALUE_LABELS = 24  # bars up to which each count is written above its bar
MOST_AXIS_LABELS = 12


def month_chart(counts: list[MonthCount]) -> Chart | None:
    """Bar geometry for the month counts, in SVG user units (the template draws it)."""
    if not counts:
        return None
    left, top = CHART_MARGIN["left"], CHART_MARGIN["top"]
    plot_width = CHART_WIDTH - left - CHART_MARGIN["right"]
    baseline = CHART_HEIGHT - CHART_MARGIN["bottom"]
    plot_height = baseline - top
    axis = value_axis(max(c.n for c in counts))
    slot = plot_width / len(counts)
    every = max(1, math.ceil(len(counts) / MOST_AXIS_LABELS))
    bars = []
    for index, count in enumerate(counts):
        height = plot_height * count.n / axis.top
        bars.append(
            ChartBar(
                x=round(left + index * slot + slot * 0.1, 2),
                y=round(baseline - height, 2),
                width=round(max(slot * 0.8, 0.5), 2),
                height=round(height, 2),
                label=count.label,
                n=count.n,
                show_label=index % every == 0,
            )
        )
    ticks = [(round(baseline - plot_height * value / axis.top, 2), value) for value in axis.values]
    return Chart(CHART_WIDTH, CHART_HEIGHT, left, baseline, bars, ticks, len(bars) <= VALUE_LABELS)
