"""tracker.workspace.charts: one rule for grid lines, one set of time buckets, for the
case report's chart and the timeline alike."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.tests.factories import IncidentFactory
from tracker.workspace import charts


@pytest.mark.parametrize(
    ("peak", "step", "top"),
    [(0, 1, 1), (1, 1, 1), (5, 1, 5), (6, 2, 6), (7, 2, 8), (10, 2, 10), (11, 5, 15),
     (26, 10, 30), (100, 20, 100), (101, 50, 150), (4_321, 1_000, 5_000)],
)  # fmt: skip
def test_grid_lines_step_by_one_two_or_five_times_a_power_of_ten(peak, step, top):
    axis = charts.value_axis(peak)
    assert (axis.step, axis.top) == (step, top)
    assert list(axis.values) == list(range(0, top + 1, step))


@given(st.integers(min_value=0, max_value=10**9))
def test_at_most_five_grid_lines_above_zero_and_no_smaller_step_would_do(peak):
    axis = charts.value_axis(peak)
    assert axis.top >= peak and len(axis.values) - 1 <= charts.MOST_GRID_LINES
    smaller = [s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500) if s < axis.step]
    assert all(peak > charts.MOST_GRID_LINES * s for s in smaller)


@given(
    st.sampled_from(charts.BUCKETS),
    st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31)),
    st.integers(min_value=0, max_value=800),
)
def test_buckets_cover_the_span_and_their_count_is_their_number(kind, first, days):
    last = first + timedelta(days=days)
    starts = charts.bucket_starts(kind, first, last)
    assert len(starts) == charts.bucket_count(kind, first, last)
    assert starts[0] <= first and charts.next_bucket(kind, starts[-1]) > last
    assert all(charts.next_bucket(kind, a) == b for a, b in zip(starts, starts[1:], strict=False))


def test_bucket_names_and_axis_labels():
    assert charts.bucket_name("month", date(2019, 5, 1)) == "May 2019"
    assert charts.bucket_name("week", date(2019, 5, 6)) == "week of 6 May 2019"
    assert charts.bucket_name("day", date(2019, 5, 6)) == "6 May 2019"
    assert charts.axis_label("month", date(2019, 5, 1), None) == "May 2019"
    assert charts.axis_label("month", date(2019, 6, 1), date(2019, 5, 1)) == "Jun"
    assert charts.axis_label("day", date(2020, 1, 1), date(2019, 12, 31)) == "1 Jan 2020"


def test_every_month_fills_the_empty_months_and_labels_them_as_partial_dates():
    months = charts.every_month({date(2019, 11, 1): 2, date(2020, 2, 1): 1})
    assert [(m.label, m.n) for m in months] == [
        ("2019-11", 2),
        ("2019-12", 0),
        ("2020-01", 0),
        ("2020-02", 1),
    ]
    assert charts.every_month({}) == []


@pytest.mark.django_db
def test_the_report_and_the_timeline_draw_the_same_grid_lines(client, researcher):
    for day in range(7):  # seven incidents in one day, one month, one week
        IncidentFactory(occurred_start=datetime(2019, 5, 6, 9 + day, tzinfo=UTC))
    client.force_login(researcher)
    report = client.get("/reports/case/").context["chart"]
    timeline = client.get("/timeline/", {"bucket": "month"}).context["chart"]
    assert [value for _, value in report.ticks] == [0, 2, 4, 6, 8]
    assert [line["value"] for line in timeline["gridlines"]] == [0, 2, 4, 6, 8]
