"""Which observed flights are candidates for a strike (``evidence.flights.ranking``): the
window around the incident's time and the precision of that time, the order of equal
scores, and the queries it takes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from evidence.flights import ranking
from evidence.flights.ranking import CorrelationRefused, candidates
from evidence.flights.tests.correlation_helpers import LOCAL, STRIKE, make_incident, observe, ranked
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


# --- The window and the precision of the incident's time -------------------------------------


def test_default_window_is_60_minutes_before_to_10_after(log):
    incident = make_incident()
    inside = [observe(log, -60), observe(log, 0), observe(log, 10)]
    observe(log, -61)
    observe(log, 11)

    assert set(ranked(incident)) == set(inside)
    assert len(ranked(incident, before=61, after=11)) == 5


def test_time_known_to_the_hour_covers_the_whole_hour(log):
    incident = make_incident(start_precision="hour")  # 12:00-13:00
    inside = [observe(log, -60), observe(log, 45), observe(log, 70)]
    observe(log, 71)

    result = candidates(incident, viewer=None)

    assert {c.observation for c in result} == set(inside)
    within = next(c for c in result if c.observation == inside[1])
    assert "within the hour given for the strike (order unknown)" in within.reasons


def test_time_known_to_the_day_covers_the_whole_local_day(log):
    midnight = datetime(2019, 5, 13, tzinfo=LOCAL)
    incident = make_incident(start_precision="day", occurred_start=midnight)
    late = observe(log, 0, observed_at=midnight + timedelta(hours=23, minutes=30))
    observe(log, 0, observed_at=midnight - timedelta(hours=2))
    observe(log, 0, observed_at=midnight + timedelta(hours=24, minutes=20))

    assert ranked(incident) == [late]


@pytest.mark.parametrize("precision", ["month", "year"])
def test_time_known_only_to_the_month_or_year_is_refused(log, precision):
    incident = make_incident(start_precision=precision)
    with pytest.raises(CorrelationRefused, match=f"is dated only to the {precision}"):
        candidates(incident, viewer=None)


def test_window_beyond_a_day_is_refused(log):
    with pytest.raises(CorrelationRefused, match="between 0 and 1440"):
        candidates(make_incident(), viewer=None, before=1441)


def test_query_count_is_pinned_and_does_not_grow_with_candidates(log, django_assert_num_queries):
    incident = make_incident()
    observe(log, -5)
    with django_assert_num_queries(2):  # the attributions, then the window's observations
        assert len(candidates(incident, viewer=None)) == 1
    for minutes in range(-50, 10, 3):
        observe(f.FlightLogFactory(), minutes)
    with django_assert_num_queries(2):
        assert len(candidates(incident, viewer=None)) == 21


# --- Mutation survivors (make mutate) --------------------------------------------------------


def test_the_refusal_of_an_imprecise_time_names_the_incident(log):
    incident = make_incident(start_precision="month")
    with pytest.raises(CorrelationRefused) as refused:
        candidates(incident, viewer=None)
    assert str(refused.value) == (
        f"{incident.code} is dated only to the month: record at least the day of the strike "
        "before ranking flights (a month of observations would match by chance)."
    )


@pytest.mark.parametrize(("before", "after"), [(0, 0), (1440, 1440), (0, 1440), (1440, 0)])
def test_window_bounds_0_and_1440_minutes_are_accepted(log, before, after):
    incident = make_incident()
    edges = {-before, after}  # observations exactly at the window's start and end
    inside = {observe(log, m) for m in edges}
    observe(log, -before - 1)
    observe(log, after + 1)
    assert set(ranked(incident, before=before, after=after)) == inside


@pytest.mark.parametrize(("before", "after"), [(1441, 10), (60, 1441), (-1, 10), (60, -1)])
def test_window_beyond_a_day_or_negative_is_refused(log, before, after):
    with pytest.raises(CorrelationRefused, match="^Minutes before and after must be between 0 and"):
        candidates(make_incident(), viewer=None, before=before, after=after)


def test_same_score_nearer_to_the_strike_first_then_the_older_row(log):
    incident = make_incident()
    far = observe(log, -10)  # both fully consistent in time (up to 15 min before)
    near = observe(log, -5)
    near_too = observe(log, -5)
    result = candidates(incident, viewer=None)
    assert [c.observation for c in result] == [near, near_too, far]
    assert result[0].score == result[1].score == result[2].score == 1.0
    assert near.pk < near_too.pk


def test_the_incidents_end_widens_the_window(log):
    incident = make_incident(occurred_end=STRIKE + timedelta(hours=2))
    inside = {observe(log, 60), observe(log, 130)}  # within it, and 10 minutes after its end
    observe(log, 131)
    result = candidates(incident, viewer=None)
    assert {c.observation for c in result} == inside
    assert "within the minute given for the strike (order unknown)" in result[0].reasons


def test_an_end_before_the_end_of_the_period_does_not_shorten_it(log):
    incident = make_incident(start_precision="hour", occurred_end=STRIKE + timedelta(minutes=20))
    late = observe(log, 70)  # the hour's end plus 10 minutes
    assert ranked(incident) == [late]


def test_an_incident_of_two_days_is_ranked_and_a_longer_one_refused(log):
    two_days = make_incident(occurred_end=STRIKE + timedelta(days=2))
    observe(log, -5)
    assert len(candidates(two_days, viewer=None)) == 1
    longer = make_incident(occurred_end=STRIKE + timedelta(days=2, minutes=1))
    with pytest.raises(CorrelationRefused) as refused:
        candidates(longer, viewer=None)
    assert str(refused.value) == (
        f"{longer.code} lasted more than two days; rank flights against a shorter period."
    )


def test_candidates_carry_their_logs_item_code_but_not_the_extra_columns(
    log, django_assert_num_queries
):
    incident = make_incident()
    observe(log, -5, extra={"spotter": "long free text"})
    observe(f.FlightLogFactory(), -6)
    with django_assert_num_queries(2):
        result = candidates(incident, viewer=None)
        codes = [c.observation.log.item.code for c in result]
    assert codes[0] == log.item.code and all(codes)
    assert all("extra" in c.observation.get_deferred_fields() for c in result)


# The local day, and the days the clocks change in Asia/Damascus: 29 March 2019 had 23
# hours (its midnight was skipped: the day began at 01:00), 24 October 2019 had 25.


@pytest.mark.parametrize(
    ("day", "hours"), [((2019, 5, 13), 24), ((2019, 3, 29), 23), ((2019, 10, 24), 25)]
)
def test_a_time_known_to_the_day_covers_the_local_day_when_the_clocks_change(log, day, hours):
    first, last = (moment.astimezone(UTC) for moment in ranking.day_bounds(date(*day)))
    start = datetime(*day, tzinfo=LOCAL).astimezone(UTC)  # the day's first moment
    assert (first, last) == (start, start + timedelta(hours=hours))
    assert timezone.localtime(last).strftime("%d %H:%M") == f"{day[2] + 1:02d} 00:00"
    incident = make_incident(start_precision="day", occurred_start=start)
    at_start = observe(log, 0, observed_at=start)
    at_end = observe(log, 0, observed_at=start + timedelta(hours=hours))
    observe(log, 0, observed_at=start + timedelta(hours=hours, minutes=1))
    observe(log, 0, observed_at=start - timedelta(minutes=1))

    assert set(ranked(incident, before=0, after=0)) == {at_start, at_end}


def test_the_day_is_the_projects_local_day_whatever_time_zone_is_active(log):
    midnight = datetime(2019, 5, 13, tzinfo=LOCAL)
    incident = make_incident(start_precision="day", occurred_start=midnight)
    late = observe(log, 0, observed_at=midnight + timedelta(hours=23, minutes=30))
    with timezone.override(ZoneInfo("America/New_York")):
        assert ranked(incident, before=0, after=0) == [late]
        assert ranking.day_bounds(midnight.date()) == (midnight, midnight + timedelta(days=1))
