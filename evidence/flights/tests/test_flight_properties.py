"""Flight ranking's rules as properties (Hypothesis): what holds for any flight.

``ranking.score`` is pure (a strike and an observation in, a score and reasons out),
so these run without a database, on observations that are never saved.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence.flights import ranking
from evidence.models import FlightObservation
from tracker.models import DatePrecision, Weapon

LOCAL = ZoneInfo("Asia/Damascus")
AT = datetime(2019, 5, 13, 12, 0, tzinfo=LOCAL)
SITE = (35.80, 36.60)
Class = FlightObservation.AircraftClass


def strike(*, minutes: int = 0, site=SITE, platform=Weapon.Platform.FIXED_WING, nations=None):
    return ranking.Strike(
        code="INC-0001",
        start=AT,
        end=AT + timedelta(minutes=minutes),
        precision=DatePrecision.MINUTE if not minutes else DatePrecision.HOUR,
        site=site,
        site_note="",
        platform=platform,
        weapon="Unguided bomb",
        nationalities={"RU": "Russian Aerospace Forces"} if nations is None else nations,
    )


def observation(*, lead: float = 10, heading=None, station=None, cls=Class.JET, nation="RU"):
    """An observation ``lead`` minutes before the strike (negative: after it)."""
    lat, lon = station if station else (None, None)
    return FlightObservation(
        observed_at=AT - timedelta(minutes=lead),
        station_latitude=lat,
        station_longitude=lon,
        heading=heading,
        heading_raw="" if heading is None else str(heading),
        aircraft_type="Su-24" if cls == Class.JET else "type",
        aircraft_class=cls,
        nationality=nation,
    )


leads = st.floats(min_value=0.01, max_value=24 * 60, allow_nan=False)
headings = st.one_of(st.none(), st.integers(min_value=0, max_value=359))
stations = st.one_of(
    st.none(),
    st.tuples(
        st.floats(min_value=34.0, max_value=37.5).map(lambda v: round(v, 4)),
        st.floats(min_value=35.0, max_value=38.5).map(lambda v: round(v, 4)),
    ),
)
classes = st.sampled_from(list(Class.values))
nations = st.sampled_from(["RU", "SY", "", "unknown"])
platforms = st.one_of(st.none(), st.sampled_from(list(ranking.FIT)))


@given(leads, leads, headings, stations, classes, nations)
def test_the_score_never_rises_as_the_lead_grows(a, b, heading, station, cls, nation):
    near, far = sorted((a, b))
    common = {"heading": heading, "station": station, "cls": cls, "nation": nation}
    s = strike()
    assert (
        ranking.score(s, observation(lead=near, **common))[0]
        >= (ranking.score(s, observation(lead=far, **common))[0])
    )


@given(leads)
def test_the_time_component_is_full_until_15_minutes_and_none_from_120(lead):
    value, _ = ranking._time(strike(), AT - timedelta(minutes=lead))
    if lead <= ranking.FULL_LEAD:
        assert value == 1.0
    elif lead >= ranking.ZERO_LEAD:
        assert value == 0.0
    else:  # a straight line between the two
        assert abs(value - (120 - lead) / 105) < 1e-9


@given(st.floats(min_value=0.01, max_value=24 * 60))
def test_after_the_strike_the_score_falls_to_none_at_30_minutes(lag):
    value, reason = ranking._time(strike(), AT + timedelta(minutes=lag))
    assert abs(value - max(0.0, 0.5 * (1 - lag / 30))) < 1e-6  # times are to the microsecond
    assert reason.endswith("after the strike")


@given(leads, headings, stations, classes, nations, platforms, st.integers(0, 120))
def test_every_score_is_between_0_and_1_with_a_reason_per_judged_part(
    lead, heading, station, cls, nation, platform, minutes
):
    value, reasons = ranking.score(
        strike(minutes=minutes, platform=platform), observation(
            lead=lead, heading=heading, station=station, cls=cls, nation=nation
        )
    )  # fmt: skip
    assert 0.0 <= value <= 1.0
    assert len(reasons) >= 4  # time, heading, aircraft, nationality (distance if a station)
    assert all(reason.strip() for reason in reasons)


@given(leads, classes)
def test_what_cannot_be_judged_counts_as_an_even_half(lead, cls):
    """No site, no weapon, no attribution, no nationality: those parts are 0.5 each."""
    s = strike(site=None, platform=None, nations={})
    value, _ = ranking.score(s, observation(lead=lead, cls=cls, nation=""))
    time, _ = ranking._time(s, AT - timedelta(minutes=lead))
    expected = ranking.WEIGHTS["time"] * time + ranking.UNKNOWN * (1 - ranking.WEIGHTS["time"])
    assert abs(value - round(expected, 4)) < 1e-9


@given(st.floats(min_value=0, max_value=180), st.floats(min_value=0, max_value=180))
def test_a_heading_further_off_the_bearing_never_scores_higher(a, b):
    station = (35.60, 36.40)  # about 28 km south-west of the site
    towards = ranking.bearing(station, SITE)
    scores = []
    for off in sorted((a, b)):
        heading = round(towards + off) % 360
        value, _ = ranking._heading(
            strike(), observation(heading=heading, station=station), station, 28.0
        )
        scores.append(value)
    assert scores[0] >= scores[1]


@given(st.floats(min_value=0, max_value=500), st.floats(min_value=0, max_value=500))
def test_a_station_further_from_the_site_never_scores_higher(a, b):
    near, far = sorted((a, b))
    s = strike()
    assert ranking._distance(s, None, near)[0] >= ranking._distance(s, None, far)[0]


@given(st.floats(0, 360), st.floats(0, 360))
def test_the_angle_between_two_directions_is_symmetric_and_at_most_180(a, b):
    angle = ranking.angle_between(a, b)
    assert 0 <= angle <= 180
    assert abs(angle - ranking.angle_between(b, a)) < 1e-9


# --- Mutation survivors (make mutate): each rule with its numbers -----------------------

SOUTH = (35.55, 36.60)  # due south of the site, about 28 km: the bearing to it is exactly 0°


def test_minutes_of_an_hour_or_more_are_written_in_hours_and_minutes():
    assert ranking._time(strike(), AT - timedelta(minutes=59))[1] == "59 min before the strike"
    assert ranking._time(strike(), AT - timedelta(minutes=90))[1] == "1 h 30 min before the strike"
    assert ranking._time(strike(), AT + timedelta(minutes=45))[1] == "45 min after the strike"


def test_a_flight_two_hours_early_is_said_to_be_too_early():
    value, reason = ranking._time(strike(), AT - timedelta(minutes=125))
    assert (value, reason) == (0.0, "2 h 5 min before the strike: too early to be its aircraft")
    assert ranking._time(strike(), AT - timedelta(minutes=119))[1] == "1 h 59 min before the strike"


def test_at_the_minute_of_the_strike_the_time_is_fully_consistent():
    assert ranking._time(strike(), AT) == (1.0, "at the time of the strike")


def test_within_the_period_given_for_the_strike_the_time_scores_0_7_from_its_start_to_its_end():
    within = "within the hour given for the strike (order unknown)"
    for minutes in (0, 30, 60):
        assert ranking._time(strike(minutes=60), AT + timedelta(minutes=minutes)) == (0.7, within)
    assert ranking._time(strike(minutes=60), AT + timedelta(minutes=61))[0] < 0.5


def heading_score(heading, *, raw=None, at=AT, minutes=0, distance=28.0):
    obs = observation(heading=heading, station=SOUTH)
    obs.observed_at = at
    if raw is not None:
        obs.heading_raw = raw
    return ranking._heading(strike(minutes=minutes), obs, SOUTH, distance)


def test_the_heading_curve_full_within_10_degrees_then_down_to_nothing_45_degrees_further():
    assert ranking.bearing(SOUTH, SITE) == 0.0
    scores = {h: heading_score(h)[0] for h in (0, 10, 20, 32, 350, 340, 55, 90, 180)}
    assert scores[0] == scores[10] == scores[350] == 1.0
    assert scores[20] == scores[340] == pytest.approx(0.7778, abs=1e-4)  # 10° beyond: 1 - 10/45
    assert scores[32] == pytest.approx(0.5111, abs=1e-4)  # 22° beyond
    assert scores[55] == scores[90] == scores[180] == 0.0
    assert heading_score(20)[1] == "heading 20°, 20° off the bearing to the site (0°)"


def test_a_compass_point_is_judged_within_its_sector():
    assert heading_score(45, raw="NE")[0] == pytest.approx(0.5)  # ±22.5°: 22.5° beyond
    assert heading_score(45, raw="N")[0] == 1.0  # N of 4 winds: ±45°
    assert heading_score(45, raw="NE")[1] == "heading NE, 45° off the bearing to the site (0°)"


def test_within_3_km_of_the_site_the_heading_is_not_scored():
    assert heading_score(0, distance=2.9) == (
        None,
        "station within 3 km of the site: heading says little",
    )
    assert heading_score(0, distance=3.0)[0] == 1.0


def test_at_the_minute_of_the_strike_the_heading_is_judged_against_the_bearing_to_the_site():
    value, reason = heading_score(180)  # leaving: the way back from the site
    assert value == 0.0
    assert reason == "heading 180°, 180° off the bearing to the site (0°)"
    assert heading_score(180, at=AT + timedelta(minutes=1)) == (
        1.0,
        "heading 180°, 0° off the way back from the site (180°)",
    )


def test_within_the_period_of_the_strike_the_better_of_both_ways_counts():
    away = "heading 180°, 0° off the way back from the site (180°)"
    for minutes in (0, 30, 60):  # its start, its middle, its end
        assert heading_score(180, at=AT + timedelta(minutes=minutes), minutes=60) == (1.0, away)
    assert heading_score(0, at=AT + timedelta(minutes=30), minutes=60)[0] == 1.0
    before = heading_score(180, at=AT - timedelta(minutes=5), minutes=60)
    assert before == (0.0, "heading 180°, 180° off the bearing to the site (0°)")


def test_within_the_period_a_heading_fitting_neither_way_is_told_against_the_bearing_to_the_site():
    value, reason = heading_score(90, at=AT + timedelta(minutes=30), minutes=60)
    assert (value, reason) == (0.0, "heading 90°, 90° off the bearing to the site (0°)")


def test_the_distance_curve_full_to_20_km_then_down_to_nothing_at_150():
    s = strike()
    assert ranking._distance(s, None, 20.0) == (1.0, "station 20 km from the site")
    assert ranking._distance(s, None, 21.0)[0] == pytest.approx(0.99231, abs=1e-5)
    assert ranking._distance(s, None, 85.0)[0] == pytest.approx(0.5, abs=1e-9)
    assert ranking._distance(s, None, 149.0)[0] == pytest.approx(0.00769, abs=1e-5)
    assert ranking._distance(s, None, 150.0)[0] == 0.0
    assert ranking._distance(s, None, 400.0)[0] == 0.0


def test_nationality_fits_1_contradicts_0_unknown_is_not_judged():
    s = strike()  # attributed to the Russian Aerospace Forces
    assert ranking._nationality(s, observation(nation="RU")) == (
        1.0,
        "RU fits the attribution to Russian Aerospace Forces",
    )
    assert ranking._nationality(s, observation(nation="SY")) == (
        0.0,
        "SY does not fit the attribution to Russian Aerospace Forces",
    )
    assert ranking._nationality(s, observation(nation="unknown")) == (None, "nationality not known")


def test_a_contradicting_nationality_costs_its_whole_weight():
    s = strike(site=None, platform=None)
    fits, _ = ranking.score(s, observation(lead=5, nation="RU"))
    contradicts, reasons = ranking.score(s, observation(lead=5, nation="SY"))
    assert (fits, contradicts) == (0.725, 0.625)  # 0.35 time + 0.55 x 0.5 unknown, + 0.10 or 0
    assert "SY does not fit the attribution to Russian Aerospace Forces" in reasons


def test_what_cannot_be_judged_counts_as_a_half_and_scores_are_given_to_four_decimals():
    s = strike(site=None, platform=None, nations={})
    assert ranking.score(s, observation(lead=5, nation=""))[0] == 0.675  # 0.35 + 0.65 x 0.5
    # 20 minutes before: time 1 - 5/105; 0.325 + 0.35 x 0.952381 = 0.658333...
    assert ranking.score(s, observation(lead=20, nation=""))[0] == 0.6583


def test_a_great_circle_along_a_parallel_starts_towards_the_pole():
    # Same latitude φ, 90° apart: tan(bearing) = sin 90° / (sin φ (1 - cos 90°)) = 1 / sin 60°.
    assert ranking.bearing((60, 0), (60, 90)) == pytest.approx(49.1066, abs=1e-4)
    assert ranking.bearing((60, 90), (60, 0)) == pytest.approx(360 - 49.1066, abs=1e-4)
    assert ranking.bearing((35, 36), (35, 46)) < 90  # Syria, 10° of longitude east
