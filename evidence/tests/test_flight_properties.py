"""Flight ranking's rules as properties (Hypothesis): what holds for any flight.

``flights.score`` is pure (a strike and an observation in, a score and reasons out),
so these run without a database, on observations that are never saved.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from evidence import flights
from evidence.models import FlightObservation
from tracker.models import DatePrecision, Weapon

LOCAL = ZoneInfo("Asia/Damascus")
AT = datetime(2019, 5, 13, 12, 0, tzinfo=LOCAL)
SITE = (35.80, 36.60)
Class = FlightObservation.AircraftClass


def strike(*, minutes: int = 0, site=SITE, platform=Weapon.Platform.FIXED_WING, nations=None):
    return flights.Strike(
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
platforms = st.one_of(st.none(), st.sampled_from(list(flights.FIT)))


@given(leads, leads, headings, stations, classes, nations)
def test_the_score_never_rises_as_the_lead_grows(a, b, heading, station, cls, nation):
    near, far = sorted((a, b))
    common = {"heading": heading, "station": station, "cls": cls, "nation": nation}
    s = strike()
    assert (
        flights.score(s, observation(lead=near, **common))[0]
        >= (flights.score(s, observation(lead=far, **common))[0])
    )


@given(leads)
def test_the_time_component_is_full_until_15_minutes_and_none_from_120(lead):
    value, _ = flights._time(strike(), AT - timedelta(minutes=lead))
    if lead <= flights.FULL_LEAD:
        assert value == 1.0
    elif lead >= flights.ZERO_LEAD:
        assert value == 0.0
    else:  # a straight line between the two
        assert abs(value - (120 - lead) / 105) < 1e-9


@given(st.floats(min_value=0.01, max_value=24 * 60))
def test_after_the_strike_the_score_falls_to_none_at_30_minutes(lag):
    value, reason = flights._time(strike(), AT + timedelta(minutes=lag))
    assert abs(value - max(0.0, 0.5 * (1 - lag / 30))) < 1e-6  # times are to the microsecond
    assert reason.endswith("after the strike")


@given(leads, headings, stations, classes, nations, platforms, st.integers(0, 120))
def test_every_score_is_between_0_and_1_with_a_reason_per_judged_part(
    lead, heading, station, cls, nation, platform, minutes
):
    value, reasons = flights.score(
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
    value, _ = flights.score(s, observation(lead=lead, cls=cls, nation=""))
    time, _ = flights._time(s, AT - timedelta(minutes=lead))
    expected = flights.WEIGHTS["time"] * time + flights.UNKNOWN * (1 - flights.WEIGHTS["time"])
    assert abs(value - round(expected, 4)) < 1e-9


@given(st.floats(min_value=0, max_value=180), st.floats(min_value=0, max_value=180))
def test_a_heading_further_off_the_bearing_never_scores_higher(a, b):
    station = (35.60, 36.40)  # about 28 km south-west of the site
    towards = flights.bearing(station, SITE)
    scores = []
    for off in sorted((a, b)):
        heading = round(towards + off) % 360
        value, _ = flights._heading(
            strike(), observation(heading=heading, station=station), station, 28.0
        )
        scores.append(value)
    assert scores[0] >= scores[1]


@given(st.floats(min_value=0, max_value=500), st.floats(min_value=0, max_value=500))
def test_a_station_further_from_the_site_never_scores_higher(a, b):
    near, far = sorted((a, b))
    s = strike()
    assert flights._distance(s, None, near)[0] >= flights._distance(s, None, far)[0]


@given(st.floats(0, 360), st.floats(0, 360))
def test_the_angle_between_two_directions_is_symmetric_and_at_most_180(a, b):
    angle = flights.angle_between(a, b)
    assert 0 <= angle <= 180
    assert abs(angle - flights.angle_between(b, a)) < 1e-9
