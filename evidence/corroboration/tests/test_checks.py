"""The consistency checks of relied-on evidence (evidence.corroboration.checks)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from evidence.corroboration import checks, facts
from evidence.corroboration.checks import CONTRADICTION, NOTE, SUPPORT
from evidence.corroboration.facts import GPS_KM, PLACE_KM, SITE_KM, Point
from evidence.corroboration.sources import independent
from evidence.models import (
    EvidenceItem,
    EvidenceLink,
    FlightLog,
    FlightMatch,
    FlightObservation,
    SatelliteImage,
    Witness,
)
from evidence.models import Testimony as Statement  # a "Test*" name is collected
from tracker.models import DatePrecision, Incident, LocationPrecision, Place

K, P, L = EvidenceItem.Kind, DatePrecision, LocationPrecision
SITE = (Decimal("35.812300"), Decimal("36.601200"))
KM_PER_DEGREE = 6371.0088 * math.pi / 180  # of latitude, as km_between measures it
pytestmark = pytest.mark.django_db
C, S, N = CONTRADICTION, SUPPORT, NOTE

# --- Builders -----------------------------------------------------------------------------


def at(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.get_default_timezone())


STRIKE = at(2019, 5, 5, 14, 0)


def make_incident(*, site=SITE, precision=L.EXACT, start=STRIKE, end=None, place=None):
    return Incident.objects.create(
        title="Strike on the market",
        occurred_start=start,
        start_precision=P.MINUTE,
        occurred_end=end,
        latitude=site[0] if site else None,
        longitude=site[1] if site else None,
        location_precision=precision,
        place=place,
    )


def add(incident, kind=K.PHOTO, *, relied_on=True, killed=(None, None), **fields):
    item = EvidenceItem.objects.create(kind=kind, title=f"A {kind}", **fields)
    low, high = killed
    link = {"relied_on": relied_on, "killed_min": low, "killed_max": high}
    EvidenceLink.objects.create(item=item, incident=incident, **link)
    return item


def photo(incident, taken, precision=P.MINUTE, **fields):
    return add(incident, captured_at=taken, captured_precision=precision, **fields)


def north(km: float, origin=SITE) -> tuple[Decimal, Decimal]:
    """A point ``km`` north of ``origin``, checked with km_between after rounding."""
    latitude = (Decimal(origin[0]) + Decimal(km / KM_PER_DEGREE)).quantize(Decimal("0.000001"))
    a, b = Point(float(latitude), float(origin[1]), 0), Point(*map(float, origin), 0)
    assert checks.km_between(a, b) == pytest.approx(km, abs=0.001)
    return latitude, Decimal(origin[1])


def gps(incident, km: float, origin=SITE, kind=K.PHOTO, **fields):
    lat, lon = north(km, origin)
    return add(incident, kind, captured_latitude=lat, captured_longitude=lon, **fields)


def make_place(name: str, point) -> Place:
    return Place.objects.create(name=name, governorate="I", latitude=point[0], longitude=point[1])


def scene(incident, taken, *, before=None, covering=True):
    west, east = ("36.5", "36.7") if covering else ("37", "37.2")
    bounds = {"west": west, "south": "35.7", "east": east, "north": "35.9"}
    item = add(incident, K.SATELLITE)
    return SatelliteImage.objects.create(item=item, captured_at=taken, before=before, **bounds)


def flight_log(incident, *scores, relied_on=True, matched=None):
    item = add(incident, K.FLIGHT_LOG, relied_on=relied_on)
    log = FlightLog.objects.create(item=item)
    confirmer = User.objects.get_or_create(username="confirmer")[0]
    for n, score in enumerate(scores):
        row = {"raw": "row", "observed_at": STRIKE, "station": "S", "aircraft_type": "Su-24"}
        seen = FlightObservation.objects.create(log=log, line_number=n + 2, **row)
        by = {"reasons": "r", "confirmed_by": confirmer, "confirmed_at": timezone.now()}
        FlightMatch.objects.create(
            observation=seen, incident=matched or incident, score=score, **by
        )
    return item


def interview(incident, witness=None, role=Witness.Role.EYEWITNESS, **fields):
    item = add(incident, K.TESTIMONY, **fields)
    if witness is None:
        witness = Witness.objects.create(pseudonym=f"Witness {item.pk}", role=role)
    Statement.objects.create(
        item=item, witness=witness, interview_date=date(2019, 5, 20), interviewer="M", summary="S"
    )
    return item


def load(incident):
    return facts.load([incident.pk])[incident.pk]


def run(check, incident):
    return check(load(incident))


def casualties(incident):
    case = load(incident)
    source_of = {i.id: n for n, s in enumerate(independent(case)) for i in s.items}
    return checks.casualties(case, source_of)


def verdicts(reasons) -> list[str]:
    return [r.verdict for r in reasons]


# --- Time ---------------------------------------------------------------------------------


def test_a_photo_taken_two_days_before_the_strike_contradicts_it():
    incident = make_incident()
    item = photo(incident, STRIKE - timedelta(days=2))
    [reason] = run(checks.time, incident)
    assert (reason.check, reason.verdict, reason.item) == ("time", CONTRADICTION, item.code)
    assert f"{item.code} was recorded 2019-05-03 14:00, 2 days before the strike" in reason.text
    assert "(2019-05-05 14:00)" in reason.text


@pytest.mark.parametrize(
    ("taken", "precision", "verdict", "words"),
    [
        # A contradiction iff the capture's period ends at or before the strike - 30 minutes.
        (STRIKE - timedelta(minutes=31), P.MINUTE, C, "13:29, 31 minutes before the strike"),
        (STRIKE - timedelta(minutes=30), P.MINUTE, S, "13:30, within the strike's time"),
        (STRIKE - timedelta(minutes=29), P.MINUTE, S, "within the strike's time"),
        (STRIKE - timedelta(hours=2), P.HOUR, C, "2 hours before"),  # 12:00-13:00
        (STRIKE - timedelta(hours=1), P.HOUR, S, "within"),  # 13:00-14:00 ends after 13:30
        # Known only to the strike's day (or month) at 14:00: no contradiction.
        (at(2019, 5, 5), P.DAY, S, "recorded 2019-05-05, within the strike's time"),
        (at(2019, 5, 1), P.MONTH, S, "recorded 2019-05, within the strike's time"),
        (at(2019, 5, 4), P.DAY, C, "recorded 2019-05-04, 1 day 14 hours before the strike"),
    ],
)
def test_the_clock_slack_and_the_captures_precision(taken, precision, verdict, words):
    incident = make_incident()
    photo(incident, taken, precision)
    [reason] = run(checks.time, incident)
    assert (reason.verdict, words in reason.text) == (verdict, True), reason.text


def test_a_capture_within_the_strike_supports_it():
    incident = make_incident(end=STRIKE + timedelta(minutes=20))
    item = photo(incident, STRIKE + timedelta(minutes=10), kind=K.VIDEO)
    [reason] = run(checks.time, incident)
    assert (reason.verdict, reason.item) == (SUPPORT, item.code)
    assert reason.text == f"{item.code} was recorded 2019-05-05 14:10, within the strike's time."


@pytest.mark.parametrize(
    ("after", "verdict", "words"),
    [
        (timedelta(days=6), S, "6 days after the strike's time."),
        (timedelta(days=7) - timedelta(minutes=1), S, "6 days 23 hours after"),
        (timedelta(days=7), N, "7 days after the strike's time: it may show the damage"),
        (timedelta(days=30), N, "30 days after"),
    ],
)
def test_the_aftermath_is_seven_days(after, verdict, words):
    end = STRIKE + timedelta(minutes=20)
    incident = make_incident(end=end)
    photo(incident, end + after)
    [reason] = run(checks.time, incident)
    assert reason.verdict == verdict
    assert words in reason.text


def test_only_recordings_with_a_capture_time_are_checked_for_time():
    incident = make_incident()
    for kind in (K.DOCUMENT, K.SATELLITE, K.TESTIMONY, K.WEB_CAPTURE):
        add(incident, kind, captured_at=STRIKE - timedelta(days=30))
    assert run(checks.time, incident) == []
    photo(incident, None)
    assert [r.text for r in run(checks.time, incident)] == [
        "No photo, video or audio has a capture time."
    ]


# --- Place --------------------------------------------------------------------------------


def test_a_photo_forty_km_away_contradicts_the_site():
    incident = make_incident(precision=L.TOWN)
    item = gps(incident, 40.0)
    [reason] = run(checks.place, incident)
    assert (reason.check, reason.verdict, reason.item) == ("place", CONTRADICTION, item.code)
    assert reason.text == f"{item.code} was recorded 40.0 km from the site, farther than 7.1 km."


@pytest.mark.parametrize("precision", list(SITE_KM))
def test_the_place_boundary_is_site_plus_gps_plus_view(precision):
    allowed = SITE_KM[precision] + GPS_KM + checks.VIEW_KM
    incident = make_incident(precision=precision)
    inside, outside = gps(incident, allowed - 0.01), gps(incident, allowed + 0.01)
    by_item = {r.item: r.verdict for r in run(checks.place, incident)}
    assert by_item == {inside.code: SUPPORT, outside.code: CONTRADICTION}


def test_an_item_placed_only_by_its_town_is_allowed_the_towns_extent():
    incident = make_incident()  # exact: 0.05 km
    allowed = SITE_KM[L.EXACT] + PLACE_KM + checks.VIEW_KM  # 7.05 km
    near, far = make_place("Near", north(allowed - 0.02)), make_place("Far", north(allowed + 0.02))
    by_near = add(incident, captured_place=near)
    by_far = add(incident, captured_place=far)
    by_gps = gps(incident, allowed - 0.02)  # the camera's own fix is narrower
    by_both = gps(incident, 40.0, captured_place=make_place("Site", SITE))  # GPS comes first
    by_item = {r.item: r.verdict for r in run(checks.place, incident)}
    assert by_item == {by_near.code: S, by_far.code: C, by_gps.code: C, by_both.code: C}


@pytest.mark.parametrize("precision", [L.EXACT, L.TOWN, L.DISTRICT])
def test_an_incident_without_coordinates_is_placed_at_its_town(precision):
    town_point = (Decimal("35.900000"), Decimal("36.700000"))
    incident = make_incident(site=None, place=make_place("Town", town_point), precision=precision)
    # The town's extent, or the precision's when wider.
    allowed = max(SITE_KM[precision], PLACE_KM) + GPS_KM + checks.VIEW_KM
    inside = gps(incident, allowed - 0.02, origin=town_point)
    outside = gps(incident, allowed + 0.02, origin=town_point)
    at_town = gps(incident, 0.0, origin=town_point)
    far = gps(incident, 40.0, origin=town_point)
    reasons = {r.item: r for r in run(checks.place, incident)}
    verdict = {code: r.verdict for code, r in reasons.items()}
    assert verdict == {inside.code: S, outside.code: C, at_town.code: S, far.code: C}
    assert "recorded 0.0 km from the site" in reasons[at_town.code].text
    assert "recorded 40.0 km from the site" in reasons[far.code].text


def test_no_coordinates_at_all_is_a_note():
    incident = make_incident(site=None)
    gps(incident, 1.0)
    [reason] = run(checks.place, incident)
    assert (reason.verdict, reason.text) == (N, "The incident has no coordinates to compare with.")


def test_only_recordings_with_a_place_are_checked_for_place():
    incident = make_incident()
    gps(incident, 40.0, kind=K.DOCUMENT)
    gps(incident, 40.0, kind=K.SATELLITE)
    add(incident, K.PHOTO)
    assert run(checks.place, incident) == []


# --- Satellite ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before_day", "after_day", "wrong", "text"),
    [
        (1, 4, "after", "{} is an 'after' scene dated 2019-05-04, before the strike"),
        (6, 8, "before", "{} is a 'before' scene dated 2019-05-06, after the strike"),
    ],
)
def test_a_scene_on_the_wrong_side_of_the_strike_contradicts_it(before_day, after_day, wrong, text):
    incident = make_incident()
    before = scene(incident, at(2019, 5, before_day, 10))
    scenes = {"before": before, "after": scene(incident, at(2019, 5, after_day), before=before)}
    reasons = run(checks.satellite, incident)
    assert [r.text for r in reasons if r.verdict == CONTRADICTION] == [
        text.format(scenes[wrong].item.code) + " (2019-05-05 14:00)."
    ]


def test_a_footprint_not_covering_the_site_contradicts_it():
    incident = make_incident()
    before = scene(incident, at(2019, 5, 1))
    off = scene(incident, at(2019, 5, 8), before=before, covering=False)
    reasons = run(checks.satellite, incident)
    assert (CONTRADICTION, f"{off.item.code}'s footprint does not cover the site.") in [
        (r.verdict, r.text) for r in reasons
    ]
    assert verdicts(reasons)[-1] == NOTE  # the scene off the site brackets nothing


def test_a_before_and_an_after_scene_over_the_site_bracket_the_strike():
    incident = make_incident()
    before = scene(incident, at(2019, 5, 1))
    after = scene(incident, at(2019, 5, 8), before=before)
    reasons = run(checks.satellite, incident)
    text = f"{before.item.code} (2019-05-01) and {after.item.code} (2019-05-08) bracket the"
    assert [(r.verdict, r.text) for r in reasons] == [(S, f"{text} strike over the site.")]


def test_the_bracket_is_the_latest_before_and_the_earliest_after():
    incident = make_incident()
    scenes = [scene(incident, at(2019, 5, day)) for day in (1, 3, 7, 9)]
    before, after = checks.bracket(load(incident))
    assert (before.code, after.code) == (scenes[1].item.code, scenes[2].item.code)


@pytest.mark.parametrize("taken", [at(2019, 5, 1), at(2019, 5, 8), None])
def test_a_single_scene_is_a_note(taken):
    incident = make_incident()
    lone = scene(incident, taken)
    reasons = run(checks.satellite, incident)
    assert CONTRADICTION not in verdicts(reasons)
    assert reasons[-1].verdict == NOTE
    assert reasons[-1].text.startswith("No two scenes over the site bracket the strike")
    if taken is None:
        assert (NOTE, f"{lone.item.code} has no date.") == (reasons[0].verdict, reasons[0].text)


def test_no_scene_and_no_flight_log_give_no_reason():
    incident = make_incident()
    photo(incident, STRIKE)
    assert (run(checks.satellite, incident), run(checks.flight, incident)) == ([], [])


# --- Flight -------------------------------------------------------------------------------


@pytest.mark.parametrize(("score", "verdict"), [(0.5, S), (0.49, N), (0.8, S), (0.0, N)])
def test_a_confirmed_flight_supports_from_the_threshold(score, verdict):
    incident = make_incident()
    item = flight_log(incident, score)
    [reason] = run(checks.flight, incident)
    assert (reason.check, reason.verdict) == ("flight", verdict)
    assert reason.text.startswith(f"{item.code}: ")
    assert f"{score:.2f}" in reason.text


def test_the_best_match_of_a_log_counts():
    incident = make_incident()
    flight_log(incident, 0.3, 0.7, 0.2)
    [reason] = run(checks.flight, incident)
    assert reason.verdict == SUPPORT
    assert "scored 0.70" in reason.text


def test_a_flight_log_with_no_match_for_this_incident_is_a_note():
    incident, other = make_incident(), make_incident()
    item = flight_log(incident)
    matched_elsewhere = flight_log(incident, 0.9, matched=other)
    reasons = run(checks.flight, incident)
    assert [(r.verdict, r.text) for r in reasons] == [
        (NOTE, f"{item.code}: no flight of it is confirmed for the strike."),
        (NOTE, f"{matched_elsewhere.code}: no flight of it is confirmed for the strike."),
    ]


# --- Testimony ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "verdict"),
    [
        *((role, S) for role in ("eyewitness", "survivor", "rescuer", "medical")),
        *((role, N) for role in ("relative", "other")),
    ],
)
def test_testimony_supports_when_its_witness_was_at_the_place(role, verdict):
    incident = make_incident()
    item = interview(incident, role=role)
    [reason] = run(checks.testimony, incident)
    assert (reason.check, reason.verdict) == ("testimony", verdict)
    where = "at the place" if verdict == SUPPORT else "not at the place"
    assert reason.text == f"{item.code}: testimony of {Witness.Role(role).label}, {where}."


def test_no_testimony_is_a_note():
    incident = make_incident()
    photo(incident, STRIKE)
    interview(incident, relied_on=False)
    assert [(r.verdict, r.text) for r in run(checks.testimony, incident)] == [
        (NOTE, "No testimony is relied on.")
    ]
    item = add(incident, K.TESTIMONY)  # its witness not recorded
    assert [(r.verdict, r.text) for r in run(checks.testimony, incident)] == [
        (NOTE, f"{item.code}: no witness recorded.")
    ]


# --- Casualties ---------------------------------------------------------------------------

MISS = "{0} reports %s killed, {1} %s: the figures do not meet."
MEET = "The killed figures of %d items agree (%s)."


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        ([("A", (4, 6)), ("B", (11, 14))], [(C, MISS % ("4–6", "11–14"))]),
        ([("A", (4, 6)), ("B", (6, 9))], [(S, MEET % (2, "6"))]),  # touching meet
        ([("A", (10, None)), ("B", (None, 5))], [(C, MISS % ("at least 10", "up to 5"))]),
        ([("A", (None, 5)), ("B", (10, None))], [(C, MISS % ("up to 5", "at least 10"))]),
        ([("A", (5, None)), ("B", (None, 5))], [(S, MEET % (2, "5"))]),
        ([("A", (3, None)), ("B", (7, 9))], [(S, MEET % (2, "7–9"))]),
        (
            [("A", (4, 6)), ("A", (11, 14))],
            [(NOTE, "{} reports 4–6 killed, {} 11–14, both of one source.")],
        ),  # one witness: a note, no contradiction
        ([("A", (4, 6))], []),
        (
            [("A", (4, 8)), ("B", (6, 10)), ("C", (5, None)), ("D", (None, None))],
            [(S, MEET % (3, "6–8"))],
        ),
    ],
)
def test_the_killed_figures_of_different_sources(figures, expected):
    incident = make_incident()
    witnesses = {key: Witness.objects.get_or_create(pseudonym=key)[0] for key, _ in figures}
    codes = [interview(incident, witnesses[key], killed=killed).code for key, killed in figures]
    found = [(r.check, r.verdict, r.text) for r in casualties(incident)]
    assert found == [("casualties", verdict, text.format(*codes)) for verdict, text in expected]


def test_figures_not_relied_on_are_not_compared():
    incident = make_incident()
    interview(incident, killed=(4, 6))
    interview(incident, killed=(50, 60), relied_on=False)
    assert casualties(incident) == []


def test_no_agreed_range_is_claimed_when_one_sources_figures_do_not_meet():
    """One witness said 4–6 then 11–14; another 5–12 meets each, so nothing contradicts.
    The figures have no range in common: the support must not name an empty one."""
    incident = make_incident()
    witness = Witness.objects.create(pseudonym="Witness K-14", role=Witness.Role.SURVIVOR)
    interview(incident, witness, killed=(4, 6))
    interview(incident, witness, killed=(11, 14))
    interview(incident, killed=(5, 12))
    texts = [r.text for r in casualties(incident)]
    assert not any("(11–6)" in text for text in texts), texts


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (0, "0 minutes"),
        (1, "1 minute"),
        (59, "59 minutes"),
        (60, "1 hour"),
        (119, "1 hour"),
        (1439, "23 hours"),
        (1440, "1 day"),
        (1500, "1 day 1 hour"),
        (2 * 1440 + 23 * 60, "2 days 23 hours"),
    ],
)
def test_a_span_in_words(minutes, words):
    assert checks.span(timedelta(minutes=minutes)) == words


def test_scenes_with_footprints_bracket_nothing_where_the_site_is_unknown():
    incident = make_incident(site=None)
    before = scene(incident, STRIKE - timedelta(days=3))
    scene(incident, STRIKE + timedelta(days=3), before=before)
    case = load(incident)
    assert case.site is None and checks.bracket(case) is None
    assert verdicts(checks.satellite(case)) == [NOTE]
