"""Ranking observed flights against a strike (``evidence.flights.ranking``,
``correlate_flights``)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from evidence.flights import ranking
from evidence.flights.ranking import CorrelationRefused, bearing, candidates, haversine_km
from evidence.models import EvidenceLink, FlightMatch, FlightObservation
from tracker.models import Force, Incident, ReviewStatus, Sensitivity, Weapon
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

LOCAL = ZoneInfo("Asia/Damascus")
SITE = (35.80, 36.60)
STATION = (35.72, 36.50)  # about 12.7 km south-west of the site
STRIKE = datetime(2019, 5, 13, 12, 0, tzinfo=LOCAL)
TOWARDS = round(bearing(STATION, SITE))
WEAPONS = {  # as seeded by tracker's migration 0002
    Weapon.Platform.FIXED_WING: "Air-launched missile",
    Weapon.Platform.HELICOPTER: "Barrel bomb",
    Weapon.Platform.UNKNOWN: "Unknown",
}


def make_incident(*, platform=Weapon.Platform.FIXED_WING, force_country="Russia", **fields):
    weapon, _ = Weapon.objects.get_or_create(
        name=WEAPONS[platform], defaults={"platform": platform}
    )
    values = {
        "occurred_start": STRIKE,
        "start_precision": "minute",
        "latitude": Decimal(str(SITE[0])),
        "longitude": Decimal(str(SITE[1])),
        "weapon": weapon,
    }
    values.update(fields)
    incident = f.IncidentFactory(**values)
    if force_country is not None:
        force, _ = Force.objects.get_or_create(
            name=f"Aerospace forces of {force_country}", defaults={"country": force_country}
        )
        f.AttributionFactory(incident=incident, force=force, unit=None)
    return Incident.objects.select_related("weapon", "place").get(pk=incident.pk)


@pytest.fixture
def log(db):
    return f.FlightLogFactory()


def observe(log, minutes: float, **fields) -> FlightObservation:
    """An observation ``minutes`` after the strike (negative: before) from STATION,
    by default an Su-34 (RU) heading for the site."""
    values = {
        "observed_at": STRIKE + timedelta(minutes=minutes),
        "station": "OBS-1",
        "station_latitude": Decimal(str(STATION[0])),
        "station_longitude": Decimal(str(STATION[1])),
        "aircraft_type": "Su-34",
        "aircraft_class": "jet",
        "nationality": "RU",
        "heading_raw": str((TOWARDS + 5) % 360),
        "heading": (TOWARDS + 5) % 360,
    }
    values.update(fields)
    return f.FlightObservationFactory(log=log, **values)


def ranked(incident, **window) -> list[FlightObservation]:
    return [c.observation for c in candidates(incident, viewer=None, **window)]


# --- Geometry ------------------------------------------------------------------------------


def test_great_circle_bearing_and_distance():
    assert bearing((0, 0), (0, 1)) == pytest.approx(90)
    assert bearing((0, 0), (1, 0)) == pytest.approx(0)
    assert bearing((0, 0), (-1, 0)) == pytest.approx(180)
    assert bearing((0, 1), (0, 0)) == pytest.approx(270)
    assert haversine_km((0, 0), (1, 0)) == pytest.approx(111.2, abs=0.1)
    # Damascus to Aleppo, about 305 km north-north-east.
    assert haversine_km((33.5138, 36.2765), (36.2021, 37.1343)) == pytest.approx(308, abs=5)
    assert bearing((33.5138, 36.2765), (36.2021, 37.1343)) == pytest.approx(15, abs=2)
    assert ranking.angle_between(350, 10) == 20 and ranking.angle_between(90, 270) == 180


# --- The synthetic case of the "Done when" -----------------------------------------


def test_the_true_flight_ranks_above_every_decoy(log):
    incident = make_incident()
    true = observe(log, -5)  # 5 minutes before, heading 5 degrees off the bearing
    wrong_heading = observe(log, -4, heading=(TOWARDS + 180) % 360, heading_raw="")
    three_hours_early = observe(log, -180)
    other_day = observe(log, -5 + 24 * 60)
    helicopter = observe(log, -5, aircraft_type="Mi-8", aircraft_class="helicopter")

    default = candidates(incident, viewer=None)
    assert [c.observation for c in default][0] == true
    assert {c.observation for c in default} == {true, wrong_heading, helicopter}
    assert default[0].score > max(c.score for c in default[1:])

    wide = ranked(incident, before=240)
    assert wide[0] == true
    assert three_hours_early in wide and other_day not in wide
    assert wide.index(three_hours_early) > 0


def test_reasons_say_why_in_words(log):
    incident = make_incident()
    observe(log, -5)
    observe(log, -5, aircraft_type="Mi-8", aircraft_class="helicopter", nationality="SY")

    best, helicopter = candidates(incident, viewer=None)

    assert best.score == pytest.approx(1.0)
    assert best.reasons == [
        "5 min before the strike",
        f"heading {(TOWARDS + 5) % 360}°, 5° off the bearing to the site ({TOWARDS}°)",
        "fixed-wing jet fits air-launched missile (fixed-wing aircraft)",
        "RU fits the attribution to Aerospace forces of Russia",
        "station 13 km from the site",
    ]
    assert "helicopter does not fit air-launched missile" in "; ".join(helicopter.reasons)
    assert "SY does not fit the attribution to Aerospace forces of Russia" in helicopter.reasons
    assert 0 <= helicopter.score < best.score <= 1


def test_missing_position_or_heading_is_scored_on_what_is_known(log):
    incident = make_incident()
    agreeing = observe(log, -5)
    contradicting = observe(log, -5, heading=(TOWARDS + 180) % 360)
    no_heading = observe(log, -5, heading=None, heading_raw="")
    no_position = observe(log, -5, station_latitude=None, station_longitude=None)

    result = {c.observation: c for c in candidates(incident, viewer=None)}

    assert "no heading recorded" in result[no_heading].reasons
    assert "no station position: heading and distance not scored" in result[no_position].reasons
    assert result[agreeing].score > result[no_heading].score > result[contradicting].score
    assert result[no_heading].score > result[no_position].score > result[contradicting].score


def test_unjudgeable_components_say_what_is_missing(log):
    incident = make_incident(
        platform=Weapon.Platform.UNKNOWN, force_country=None, latitude=None, longitude=None
    )
    incident.place = None
    observe(log, -5, nationality="unknown", aircraft_class="unknown", aircraft_type="aircraft")

    (only,) = candidates(incident, viewer=None)

    assert only.reasons == [
        "5 min before the strike",
        "heading not scored: the incident has no location",
        "weapon not identified: aircraft not scored",
        "no attribution to a Russian or Syrian force: nationality not scored",
    ]
    assert only.score == pytest.approx(0.675)  # time full (0.35), the rest unknown (0.65 x 0.5)


def test_site_from_the_place_when_the_incident_has_no_coordinates(log):
    place = f.PlaceFactory(name="Kafr Nabl", latitude=Decimal("35.80"), longitude=Decimal("36.60"))
    incident = make_incident(latitude=None, longitude=None, place=place)
    observe(log, -5)

    (only,) = candidates(incident, viewer=None)

    assert "station 13 km from the site (site taken from Kafr Nabl, Ariha, Idlib)" in only.reasons


def test_after_the_strike_a_heading_away_from_the_site_fits(log):
    incident = make_incident()
    leaving = observe(log, 5, heading=round(bearing(SITE, STATION)))
    arriving = observe(log, 5, heading=TOWARDS)

    result = {c.observation: c for c in candidates(incident, viewer=None)}

    assert result[leaving].score > result[arriving].score
    assert any("off the way back from the site" in r for r in result[leaving].reasons)


def test_compass_point_heading_is_judged_within_its_sector(log):
    incident = make_incident()  # bearing to the site is about 45 degrees
    ne = observe(log, -5, heading_raw="NE", heading=45)
    n = observe(log, -5, heading_raw="N", heading=0)

    result = {c.observation: c for c in candidates(incident, viewer=None)}

    assert any(r.startswith("heading NE, ") for r in result[ne].reasons)
    assert result[ne].score > result[n].score


# --- The window and the precision of the incident's time -------------------------------


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


def test_confirmed_candidates_are_marked(log, reviewer):
    incident = make_incident()
    obs = observe(log, -5)
    ranking.confirm(observation=obs, incident=incident, by=reviewer)

    (only,) = candidates(incident, viewer=None)

    assert only.confirmed


# --- correlate_flights -------------------------------------------------------------------


def correlate(*args: str) -> tuple[int, list[str], str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("correlate_flights", *args, stdout=out, stderr=err)
        status = 0
    except CommandError as exc:
        status = exc.returncode
        err.write(f"CommandError: {exc}\n")
    return status, out.getvalue().splitlines(), err.getvalue()


def test_command_prints_one_tab_separated_line_per_candidate_best_first(log):
    incident = make_incident()
    true = observe(log, -5)
    observe(log, -4, heading=(TOWARDS + 180) % 360)
    tabbed = observe(log, -5, aircraft_type="Mi-8\tfake column", aircraft_class="helicopter")

    status, lines, err = correlate(incident.code.lower())

    assert status == 0, err
    fields = [line.split("\t") for line in lines]
    assert all(len(f_) == 5 for f_ in fields)  # a tab in a value cannot add a column
    assert fields[0][:4] == [str(true.pk), "2019-05-13T11:55:00+03:00", "Su-34", "1.00"]
    assert fields[0][4].startswith("5 min before the strike; heading ")
    scores = [float(f_[3]) for f_ in fields]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert next(f_ for f_ in fields if f_[0] == str(tabbed.pk))[2] == "Mi-8 fake column"
    assert "3 candidate observations" in err


def test_command_window_options(log):
    incident = make_incident()
    observe(log, -90)

    assert correlate(incident.code)[1] == []
    assert len(correlate(incident.code, "--before", "120")[1]) == 1


def test_command_unknown_code_exits_1_with_a_clear_message(db):
    status, lines, err = correlate("INC-9999")
    assert status == 1 and lines == []
    assert "No incident with code 'INC-9999'." in err


def test_command_refuses_an_incident_dated_to_the_month(log):
    incident = make_incident(start_precision="month")
    status, _, err = correlate(incident.code)
    assert status == 1 and "is dated only to the month" in err


# --- Confirming a candidate ----------------------------------------------------------------


def test_reviewer_confirms_with_who_when_and_support_for_an_attribution(log, reviewer):
    incident = make_incident()
    obs = observe(log, -5)
    attribution = incident.attributions.get()

    match = ranking.confirm(
        observation=obs,
        incident=incident,
        by=reviewer,
        note="Callsign heard",
        attribution=attribution,
    )

    stored = FlightMatch.objects.get()
    assert stored == match
    assert (stored.confirmed_by, stored.note, stored.score) == (reviewer, "Callsign heard", 1.0)
    assert stored.confirmed_at is not None
    assert stored.reasons.startswith("5 min before the strike; heading")
    assert EvidenceLink.objects.filter(item=log.item, incident=incident).exists()
    assert list(attribution.supporting_evidence.all()) == [log.item]


def test_researcher_cannot_confirm(log, researcher):
    incident = make_incident()
    with pytest.raises(PermissionDenied, match="Only reviewers"):
        ranking.confirm(observation=observe(log, -5), incident=incident, by=researcher)
    assert not FlightMatch.objects.exists()


def test_same_flight_cannot_be_confirmed_twice(log, reviewer):
    incident = make_incident()
    obs = observe(log, -5)
    ranking.confirm(observation=obs, incident=incident, by=reviewer)

    with pytest.raises(ValidationError, match="already confirmed for this incident"):
        ranking.confirm(observation=obs, incident=incident, by=reviewer)


def test_locked_incident_and_foreign_attribution_are_refused(log, reviewer):
    incident = make_incident()
    other = make_incident(occurred_start=STRIKE + timedelta(days=3))
    obs = observe(log, -5)

    with pytest.raises(ValidationError, match="That attribution belongs to another incident"):
        ranking.confirm(
            observation=obs, incident=incident, by=reviewer, attribution=other.attributions.get()
        )
    Incident.objects.filter(pk=incident.pk).update(status=ReviewStatus.VERIFIED)
    incident.refresh_from_db()
    with pytest.raises(ValidationError, match="is verified: an editor must reopen it"):
        ranking.confirm(observation=obs, incident=incident, by=reviewer)
    assert not FlightMatch.objects.exists()


# --- The curves and constants, stated (issue 15: only the order and one score were pinned) --


def time_score(log, incident, minutes: float) -> float:
    """The time component of an observation ``minutes`` after the strike (negative:
    before), read through ``score`` with every other component made unknown."""
    obs = observe(
        log,
        minutes,
        station_latitude=None,
        station_longitude=None,
        aircraft_class="unknown",
        nationality="",
    )
    value, _ = ranking.score(ranking.strike_of(incident), obs)
    # The four unknown components weigh 0.65 at 0.5 each: what is left is the time's.
    return round((value - 0.65 * 0.5) / 0.35, 3)


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (-5, 1.0),
        (-15, 1.0),  # up to 15 minutes before: fully consistent
        (-67.5, 0.5),  # then linearly down ...
        (-120, 0.0),  # ... to nothing at two hours
        (-300, 0.0),
        (0, 1.0),  # at the minute of the strike
        (15, 0.25),  # after it: from a half, down to nothing at half an hour
        (30, 0.0),
    ],
)
def test_the_time_curve(log, minutes, expected):
    incident = make_incident(force_country=None)
    assert time_score(log, incident, minutes) == pytest.approx(expected, abs=0.002)


def test_the_score_never_rises_as_the_lead_grows(log):
    incident = make_incident(force_country=None)
    scores = [time_score(log, incident, -m) for m in range(0, 181, 5)]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[-1]


def test_a_station_with_one_coordinate_is_a_station_without_a_position(log):
    incident = make_incident()
    obs = observe(log, -5, station_longitude=None)
    value, reasons = ranking.score(ranking.strike_of(incident), obs)
    assert "no station position: heading and distance not scored" in reasons
    assert 0 < value < 1


@pytest.mark.parametrize(("km", "expected"), [(10, 1.0), (20, 1.0), (85, 0.5), (150, 0.0)])
def test_the_distance_curve(log, km, expected):
    """Full up to 20 km from the site, nothing from 150 km (the reason names the km)."""
    incident = make_incident(force_country=None)
    north = SITE[0] - km / 111.2  # a station due south of the site, ``km`` away
    obs = observe(
        log,
        -5,
        station_latitude=Decimal(f"{north:.5f}"),
        station_longitude=Decimal(str(SITE[1])),
        heading=None,
        heading_raw="",
        aircraft_class="unknown",
        nationality="",
    )
    value, reasons = ranking.score(ranking.strike_of(incident), obs)
    distance = round((value - 0.35 - 0.55 * 0.5) / 0.10, 2)  # time full, three unknown
    assert distance == pytest.approx(expected, abs=0.02)
    assert f"station {km:.0f} km from the site" in reasons


def test_a_rejected_attribution_says_nothing_of_nationality(log):
    incident = make_incident(force_country="Russia")
    incident.attributions.update(status=ReviewStatus.REJECTED)
    obs = observe(log, -5, nationality="SY")
    _, reasons = ranking.score(ranking.strike_of(incident), obs)
    assert "no attribution to a Russian or Syrian force: nationality not scored" in reasons


# --- Mutation survivors (make mutate) ------------------------------------------------------


def test_the_strike_as_the_ranking_sees_it(db):
    incident = make_incident(start_precision="hour")
    strike = ranking.strike_of(incident)
    assert strike == ranking.Strike(
        code=incident.code,
        start=STRIKE,
        end=STRIKE + timedelta(hours=1),
        precision="hour",
        site=SITE,
        site_note="",
        platform=Weapon.Platform.FIXED_WING,
        weapon="Air-launched missile",
        nationalities={"RU": "Aerospace forces of Russia"},
    )
    bare = make_incident(weapon=None, force_country=None, latitude=None, longitude=None, place=None)
    strike = ranking.strike_of(bare)
    assert (strike.site, strike.site_note) == (None, "the incident has no location")
    assert (strike.platform, strike.weapon, strike.nationalities) == (None, "", {})


def test_an_incident_without_a_weapon_leaves_the_aircraft_unscored(log):
    incident = make_incident(weapon=None)
    observe(log, -5)
    (only,) = candidates(incident, viewer=None)
    assert "weapon not identified: aircraft not scored" in only.reasons


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


def attributed(**attribution) -> Incident:
    incident = make_incident(force_country=None)
    f.AttributionFactory(incident=incident, **attribution)
    return incident


def test_nationality_from_the_force_its_unit_or_the_official(log):
    syrian = Force.objects.create(name="Syrian Arab Air Force", country="")  # by its name
    russian = Force.objects.create(name="VKS", country="Russia")  # by its country
    cases = {
        "SY fits the attribution to Syrian Arab Air Force": attributed(force=syrian, unit=None),
        "RU fits the attribution to VKS": attributed(force=russian, unit=None),
        "SY fits the attribution to Syrian Arab Air Force ": attributed(
            force=None, unit=f.UnitFactory(force=syrian)
        ),
        "RU fits the attribution to Gen. Example": attributed(
            force=None,
            unit=None,
            official=f.OfficialFactory(name="Gen. Example", nationality="Russian"),
        ),
    }
    for expected, incident in cases.items():
        obs = observe(log, -5, nationality=expected[:2])
        _, reasons = ranking.score(ranking.strike_of(incident), obs)
        assert expected.strip() in reasons


def test_the_attributions_are_read_in_one_query_whatever_they_name(log, django_assert_num_queries):
    incident = make_incident()
    f.AttributionFactory(
        incident=incident,
        force=None,
        unit=f.UnitFactory(force=Force.objects.create(name="Syrian Arab Air Force")),
        official=f.OfficialFactory(nationality="Syrian"),
    )
    with django_assert_num_queries(1):
        strike = ranking.strike_of(incident)
    assert set(strike.nationalities) == {"RU", "SY"}


def test_the_command_loads_what_the_ranking_reads_with_the_incident(log, django_assert_num_queries):
    place = f.PlaceFactory(name="Kafr Nabl", latitude=Decimal("35.80"), longitude=Decimal("36.60"))
    code = make_incident(latitude=None, longitude=None, place=place).code
    observe(log, -5)
    incident = ranking.load_incident(f"  {code.lower()} ")
    with django_assert_num_queries(2):  # the attributions, then the window's observations
        (only,) = candidates(incident, viewer=None)
    assert "fixed-wing jet fits air-launched missile (fixed-wing aircraft)" in only.reasons


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


def test_only_the_observation_confirmed_for_this_incident_is_marked(log, reviewer):
    incident = make_incident()
    other = make_incident(occurred_start=STRIKE + timedelta(days=3))
    confirmed, for_other, plain = observe(log, -5), observe(log, -6), observe(log, -7)
    ranking.confirm(observation=confirmed, incident=incident, by=reviewer)
    ranking.confirm(observation=for_other, incident=other, by=reviewer)

    marked = {c.observation: c.confirmed for c in candidates(incident, viewer=None)}

    assert marked == {confirmed: True, for_other: False, plain: False}


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


def test_confirming_without_a_note_stores_no_note(log, reviewer):
    incident = make_incident()
    match = ranking.confirm(observation=observe(log, -5), incident=incident, by=reviewer)
    assert FlightMatch.objects.get(pk=match.pk).note == ""


def test_a_reviewer_cannot_confirm_an_observation_of_a_log_hidden_from_them(log, reviewer):
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    f.EvidenceLinkFactory(item=log.item, incident=restricted)  # the log's only incident
    incident = make_incident()
    with pytest.raises(ValidationError) as refused:
        ranking.confirm(observation=observe(log, -5), incident=incident, by=reviewer)
    assert refused.value.messages == ["No such flight observation."]
    assert not FlightMatch.objects.exists()
    assert not EvidenceLink.objects.filter(incident=incident).exists()


def test_confirming_for_an_imprecise_incident_records_that_it_was_not_ranked(log, reviewer):
    incident = make_incident(start_precision="month")
    match = ranking.confirm(observation=observe(log, -5), incident=incident, by=reviewer)
    stored = FlightMatch.objects.get(pk=match.pk)
    assert (stored.score, stored.reasons) == (
        0.0,
        "not ranked: the incident's time is too imprecise",
    )


def test_the_link_made_by_confirming_says_which_line_and_who_made_it(log, reviewer):
    incident = make_incident()
    attribution = incident.attributions.get()
    obs = observe(log, -5)
    ranking.confirm(observation=obs, incident=incident, by=reviewer, attribution=attribution)

    link = EvidenceLink.objects.get(item=log.item, incident=incident)
    assert link.relevance == (
        f"Spotter log line {obs.line_number}: {obs} (flight confirmed by a reviewer)."
    )
    assert link.history.get().history_user == reviewer
    assert attribution.history.latest().history_user == reviewer


def test_a_confirmation_racing_another_is_refused_as_already_confirmed(log, reviewer, monkeypatch):
    """Another reviewer confirms the same flight between our check and our save."""
    incident = make_incident()
    obs = observe(log, -5)
    checked = FlightMatch.full_clean

    def check_then_the_other_reviewer_saves(match, *args, **kwargs):
        checked(match, *args, **kwargs)
        FlightMatch.objects.create(
            observation=obs,
            incident=incident,
            score=1,
            confirmed_by=reviewer,
            confirmed_at=timezone.now(),
        )

    monkeypatch.setattr(FlightMatch, "full_clean", check_then_the_other_reviewer_saves)
    with pytest.raises(ValidationError) as refused:
        ranking.confirm(observation=obs, incident=incident, by=reviewer)
    assert refused.value.messages == ["This observation is already confirmed for this incident."]
    assert FlightMatch.objects.count() == 1
