"""What the corroboration checks and rules promise, in exact words and values: reasons as
dictionaries, distances, footprints, the kinds each check reads, figures and the grade's
standing (evidence.corroboration.checks, rules)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from evidence.corroboration import checks, facts, rules
from evidence.corroboration.checks import CONTRADICTION, NOTE, SUPPORT, Reason
from evidence.corroboration.facts import Point, Scene
from evidence.models import EvidenceItem, EvidenceLink, GradeProposal
from tracker.models import DatePrecision, Incident, LocationPrecision
from tracker.responsibility import periods

K, G = EvidenceItem.Kind, Incident.HarmGrade
C, S, N = CONTRADICTION, SUPPORT, NOTE
EARTH_KM = 6371.0088  # the mean radius km_between uses

# --- Builders (plain values: facts.Item and facts.Case are dataclasses) -------------------

STRIKE = datetime(2019, 5, 5, 14, 0)  # local and naive, as facts reads it
SITE = Point(35.8123, 36.6012, 1.0)
BOUNDS = (36.5, 35.7, 36.7, 35.9)  # west, south, east, north: over SITE


def item(pk: int, kind: str = K.PHOTO, **fields) -> facts.Item:
    values = {
        "code": f"E-{pk}",
        "verified": False,
        "source": "",
        "source_name": "",
        "addresses": frozenset(),
        "captured": None,
        "captured_text": "",
        "point": None,
        "killed": None,
    }
    return facts.Item(id=pk, kind=kind, **{**values, **fields})


def case(*items: facts.Item, site: Point | None = SITE) -> facts.Case:
    strike = periods.Period(STRIKE, STRIKE + timedelta(minutes=1))
    return facts.Case(1, "I-1", strike, "2019-05-05 14:00", site, list(items))


def scene(pk: int, taken: datetime | None, bounds=BOUNDS, kind: str = K.SATELLITE, **fields):
    return item(pk, kind, scene=Scene(100 + pk, None, taken, bounds), **fields)


def minute(moment: datetime) -> periods.Period:
    return periods.Period(moment, moment + timedelta(minutes=1))


def said(reasons) -> list[tuple[str, str, str]]:
    return [(r.check, r.verdict, r.text) for r in reasons]


def great_circle(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The distance (km) by the angle between the points' unit vectors, not haversine."""

    def unit(latitude: float, longitude: float) -> tuple[float, float, float]:
        la, lo = math.radians(latitude), math.radians(longitude)
        return (math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la))

    (ux, uy, uz), (vx, vy, vz) = unit(*a), unit(*b)
    cross = (uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx)
    return EARTH_KM * math.atan2(math.hypot(*cross), ux * vx + uy * vy + uz * vz)


# --- Reasons as dictionaries --------------------------------------------------------------


def test_a_reason_as_a_dictionary_has_its_check_verdict_and_text_only():
    reason = Reason("place", CONTRADICTION, "E-1 was recorded far away.", "E-1")
    found = reason.as_dict()
    assert found == {
        "check": "place",
        "verdict": "contradiction",
        "text": "E-1 was recorded far away.",
    }
    assert list(found) == ["check", "verdict", "text"]
    assert "item" not in found


# --- Distances ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [
        ((35.8, 36.6), (35.8, 37.1), 45.093),  # only the longitude differs
        ((35.8, 37.1), (35.8, 36.6), 45.093),
        ((35.8, 36.6), (36.1, 37.1), 56.022),  # diagonal
        ((35.8123, 36.6012), (35.75, 36.62), 7.132),  # diagonal, short
        ((35.8, 36.6), (35.3, 36.6), 55.598),  # only the latitude differs
        ((35.8, 36.6), (35.8, 36.6), 0.0),
    ],
)
def test_the_distance_is_the_great_circle_one(a, b, km):
    found = checks.km_between(Point(*a, 0), Point(*b, 0))
    assert found == pytest.approx(great_circle(a, b), abs=1e-6)
    assert found == pytest.approx(km, abs=0.01)


def test_a_degree_of_longitude_is_shorter_by_the_cosine_of_the_latitude():
    along = checks.km_between(Point(35.8, 36.6, 0), Point(35.8, 36.61, 0))
    per_degree = EARTH_KM * math.pi / 180
    assert along == pytest.approx(0.01 * per_degree * math.cos(math.radians(35.8)), rel=1e-6)


# --- Footprints ---------------------------------------------------------------------------

EDGES = {  # a site exactly on each edge of BOUNDS, and one just beyond it
    "west": (Point(35.8, 36.5, 1), Point(35.8, 36.4999, 1)),
    "east": (Point(35.8, 36.7, 1), Point(35.8, 36.7001, 1)),
    "south": (Point(35.7, 36.6, 1), Point(35.6999, 36.6, 1)),
    "north": (Point(35.9, 36.6, 1), Point(35.9001, 36.6, 1)),
}


@pytest.mark.parametrize("edge", list(EDGES))
def test_a_footprint_covers_a_site_on_its_edge_and_not_beyond(edge):
    on, beyond = EDGES[edge]
    lone = scene(1, STRIKE)
    assert (checks.covers(lone, on), checks.covers(lone, beyond)) == (True, False)


@pytest.mark.parametrize("edge", list(EDGES))
def test_scenes_whose_edge_is_the_site_bracket_the_strike(edge):
    on, beyond = EDGES[edge]
    before, after = scene(1, STRIKE - timedelta(days=2)), scene(2, STRIKE + timedelta(days=2))
    assert checks.bracket(case(before, after, site=on)) == (before, after)
    assert checks.bracket(case(before, after, site=beyond)) is None
    reasons = checks.satellite(case(before, after, site=on))
    assert said(reasons) == [
        ("satellite", S, "E-1 (2019-05-03) and E-2 (2019-05-07) bracket the strike over the site.")
    ]


def test_a_scene_without_a_footprint_or_a_site_never_covers():
    assert checks.covers(scene(1, STRIKE, bounds=None), SITE) is False
    assert checks.covers(scene(1, STRIKE), None) is False
    assert checks.covers(item(1, K.SATELLITE), SITE) is False


def test_two_dated_scenes_without_footprints_do_not_bracket_the_strike():
    before = scene(1, STRIKE - timedelta(days=2), bounds=None)
    after = scene(2, STRIKE + timedelta(days=2), bounds=None)
    assert checks.bracket(case(before, after)) is None
    assert said(checks.satellite(case(before, after))) == [
        (
            "satellite",
            N,
            "No two scenes over the site bracket the strike (one before it, one after).",
        )
    ]
    with_footprints = case(
        scene(1, STRIKE - timedelta(days=2)), scene(2, STRIKE + timedelta(days=1))
    )
    assert checks.bracket(with_footprints) is not None


# --- Satellite: scenes are satellite items ------------------------------------------------


@pytest.mark.parametrize("kind", [K.DOCUMENT, K.PHOTO, K.WEB_CAPTURE])
def test_a_scene_on_an_item_of_another_kind_is_ignored(kind):
    off_site = scene(1, STRIKE - timedelta(days=2), bounds=(37.0, 35.7, 37.2, 35.9), kind=kind)
    undated = scene(2, None, kind=kind)
    assert checks.satellite(case(off_site)) == []
    assert checks.satellite(case(undated)) == []
    assert checks.satellite(case(off_site, undated)) == []
    # The same scenes as satellite items are read.
    assert said(checks.satellite(case(scene(2, None)))) == [
        ("satellite", N, "E-2 has no date."),
        (
            "satellite",
            N,
            "No two scenes over the site bracket the strike (one before it, one after).",
        ),
    ]


# --- Flight -------------------------------------------------------------------------------


def test_every_flight_log_after_another_kind_of_item_gets_its_reason():
    reasons = checks.flight(
        case(
            item(1, K.PHOTO),
            item(2, K.FLIGHT_LOG),
            item(3, K.DOCUMENT),
            item(4, K.FLIGHT_LOG, flight_score=0.8),
            item(5, K.FLIGHT_LOG, flight_score=0.3),
        )
    )
    assert said(reasons) == [
        ("flight", N, "E-2: no flight of it is confirmed for the strike."),
        ("flight", S, "E-4: a confirmed flight scored 0.80 (at least 0.50)."),
        (
            "flight",
            N,
            "E-5: its confirmed flight scored 0.30, under 0.50: it does not corroborate the "
            "strike.",
        ),
    ]
    assert {r.check for r in reasons} == {"flight"}


def test_two_unconfirmed_flight_logs_after_a_photo_are_both_noted():
    reasons = checks.flight(case(item(1), item(2, K.FLIGHT_LOG), item(3, K.FLIGHT_LOG)))
    assert said(reasons) == [
        ("flight", N, "E-2: no flight of it is confirmed for the strike."),
        ("flight", N, "E-3: no flight of it is confirmed for the strike."),
    ]


# --- Testimony ----------------------------------------------------------------------------


def test_every_testimony_gets_its_reason_whatever_comes_before_it():
    reasons = checks.testimony(
        case(
            item(1, K.PHOTO),
            item(2, K.TESTIMONY),  # its witness not recorded
            item(3, K.TESTIMONY, witness=(7, "eyewitness", "Witness A")),
            item(4, K.DOCUMENT),
            item(5, K.TESTIMONY, witness=(8, "bystander", "Witness B")),  # not a Role
            item(6, K.TESTIMONY, witness=(9, "relative", "Witness C")),
        )
    )
    assert said(reasons) == [
        ("testimony", N, "E-2: no witness recorded."),
        ("testimony", S, "E-3: testimony of eyewitness, at the place."),
        ("testimony", N, "E-5: testimony of witness, not at the place."),
        ("testimony", N, "E-6: testimony of relative of a victim, not at the place."),
    ]


def test_two_testimonies_without_a_witness_are_both_noted():
    reasons = checks.testimony(case(item(1, K.TESTIMONY), item(2, K.TESTIMONY)))
    assert said(reasons) == [
        ("testimony", N, "E-1: no witness recorded."),
        ("testimony", N, "E-2: no witness recorded."),
    ]


def test_no_testimony_relied_on_is_a_testimony_note():
    assert said(checks.testimony(case(item(1, K.PHOTO)))) == [
        ("testimony", N, "No testimony is relied on.")
    ]
    assert said(checks.testimony(case())) == [("testimony", N, "No testimony is relied on.")]


# --- Casualties ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "agreed"),
    [
        ((None, 3), (0, 0), "0"),  # "up to 3" starts at none killed
        ((0, 0), (None, 3), "0"),
        ((None, 3), (0, 2), "0–2"),
        ((None, 3), (None, 5), "0–3"),
    ],
)
def test_a_figure_with_only_a_maximum_starts_at_none_killed(first, second, agreed):
    a, b = item(1, killed=first), item(2, killed=second)
    reasons = checks.casualties(case(a, b), {1: 0, 2: 1})
    assert said(reasons) == [("casualties", S, f"The killed figures of 2 items agree ({agreed}).")]


def test_a_figure_with_only_a_maximum_does_not_meet_one_above_it():
    a, b = item(1, killed=(None, 3)), item(2, killed=(4, 4))
    assert said(checks.casualties(case(a, b), {1: 0, 2: 1})) == [
        ("casualties", C, "E-1 reports up to 3 killed, E-2 4: the figures do not meet.")
    ]


# --- Standing: the exact words ------------------------------------------------------------

BOTH = {("time", "E-1"), ("place", "E-1")}
AT = "testimony of a witness at the place"
NOT_AT = "its witness was not at the place"
FLOWN = "a flight of it is confirmed with a score of at least 0.50"
UNFLOWN = "no flight of it is confirmed with a score of at least 0.50"
AGREE = "its capture time and place agree with the strike"
DISAGREE = "not verified, and its capture time and place do not both agree"
WITNESS = {role: (7, role, "Witness W") for role in ("survivor", "relative")}


@pytest.mark.parametrize(
    ("subject", "agreed", "ok", "words"),
    [
        (item(1, K.TESTIMONY, witness=WITNESS["survivor"]), set(), True, AT),
        (item(1, K.TESTIMONY, witness=WITNESS["relative"]), BOTH, False, NOT_AT),
        (item(1, K.TESTIMONY, verified=True), set(), False, NOT_AT),
        (item(1, K.FLIGHT_LOG, flight_score=0.5), set(), True, FLOWN),
        (item(1, K.FLIGHT_LOG, flight_score=0.49), set(), False, UNFLOWN),
        (item(1, K.FLIGHT_LOG, verified=True), set(), False, UNFLOWN),
        (item(1, K.PHOTO, verified=True), set(), True, "verified by a reviewer"),
        (item(1, K.PHOTO), BOTH, True, AGREE),
        (item(1, K.VIDEO), BOTH, True, AGREE),
        (item(1, K.AUDIO), {("time", "E-1")}, False, DISAGREE),
        (item(1, K.PHOTO), {("place", "E-1"), ("time", "E-2")}, False, DISAGREE),
        (item(1, K.DOCUMENT), BOTH, False, "not verified"),
        (item(1, K.DOCUMENT, verified=True), set(), True, "verified by a reviewer"),
    ],
)
def test_the_words_of_each_standing(subject, agreed, ok, words):
    assert rules.standing(subject, None, agreed) == (ok, words)


def test_the_words_of_a_scenes_standing():
    before, after = scene(1, STRIKE - timedelta(days=2)), scene(2, STRIKE + timedelta(days=2))
    other = scene(3, STRIKE + timedelta(days=3), verified=True)
    pair = (before, after)
    bracketing = "one of two scenes bracketing the strike over the site"
    assert rules.standing(before, pair, set()) == (True, bracketing)
    assert rules.standing(after, pair, set()) == (True, bracketing)
    assert rules.standing(other, pair, set()) == (False, f"not {bracketing}")
    assert rules.standing(before, None, set()) == (False, f"not {bracketing}")


# --- Proposals ----------------------------------------------------------------------------


def test_figures_of_two_sources_that_do_not_meet_make_the_proposal_contested():
    proposal = rules.propose(
        case(
            item(1, K.DOCUMENT, verified=True, source="hospital", killed=(4, 6)),
            item(2, K.DOCUMENT, verified=True, source="civil defence", killed=(11, 14)),
        )
    )
    assert (proposal.grade, proposal.rule) == (G.CONTESTED, "contradiction")
    assert proposal.reasons[-1] == {
        "check": "casualties",
        "verdict": C,
        "text": "E-1 reports 4–6 killed, E-2 11–14: the figures do not meet.",
    }
    assert proposal.sources == [
        {"items": ["E-1"], "why": [], "reliable": True, "because": "E-1: verified by a reviewer"},
        {"items": ["E-2"], "why": [], "reliable": True, "because": "E-2: verified by a reviewer"},
    ]


def test_figures_of_one_source_that_do_not_meet_do_not_contest_the_proposal():
    proposal = rules.propose(
        case(
            item(1, K.DOCUMENT, source="hospital", source_name="Hospital", killed=(4, 6)),
            item(2, K.DOCUMENT, source="hospital", source_name="Hospital", killed=(11, 14)),
        )
    )
    assert (proposal.grade, proposal.rule) == (G.WEAK, "none reliable")
    assert proposal.sources == [
        {
            "items": ["E-1", "E-2"],
            "why": ["E-1 and E-2: the same source (Hospital)"],
            "reliable": False,
            "because": "E-1: not verified; E-2: not verified",
        }
    ]


def test_each_source_of_a_proposal_has_exactly_its_four_keys():
    proposal = rules.propose(case(item(1, K.DOCUMENT), item(2, K.TESTIMONY)))
    assert [set(source) for source in proposal.sources] == [
        {"items", "why", "reliable", "because"}
    ] * 2
    assert all(set(reason) == {"check", "verdict", "text"} for reason in proposal.reasons)


def test_a_recording_whose_time_contradicts_the_strike_is_not_reliable_by_its_place():
    at_site = Point(SITE.latitude, SITE.longitude, facts.GPS_KM)
    early = STRIKE - timedelta(days=2)
    recording = item(1, captured=minute(early), captured_text="2019-05-03 14:00", point=at_site)
    proposal = rules.propose(case(recording))
    verdicts = {
        r["check"]: r["verdict"] for r in proposal.reasons if r["check"] in {"time", "place"}
    }
    assert verdicts == {"time": C, "place": S}
    assert (proposal.grade, proposal.rule) == (G.CONTESTED, "contradiction")
    [source] = proposal.sources
    assert source["reliable"] is False
    assert source["because"] == (
        "E-1: not verified, and its capture time and place do not both agree"
    )


def test_a_recording_whose_time_and_place_support_the_strike_is_reliable():
    at_site = Point(SITE.latitude, SITE.longitude, facts.GPS_KM)
    later = STRIKE + timedelta(minutes=10)
    recording = item(1, captured=minute(later), captured_text="2019-05-05 14:10", point=at_site)
    proposal = rules.propose(case(recording))
    assert (proposal.grade, proposal.rule) == (G.FAIR, "one reliable")
    assert proposal.sources == [
        {
            "items": ["E-1"],
            "why": [],
            "reliable": True,
            "because": "E-1: its capture time and place agree with the strike",
        }
    ]


# --- Storing them all ---------------------------------------------------------------------


@pytest.mark.django_db
def test_store_all_reports_its_progress_batch_by_batch(monkeypatch):
    strike = timezone.make_aware(STRIKE)
    incidents = [
        Incident.objects.create(
            title=f"Strike {n}",
            occurred_start=strike,
            start_precision=DatePrecision.MINUTE,
            latitude=Decimal("35.812300"),
            longitude=Decimal("36.601200"),
            location_precision=LocationPrecision.NEIGHBOURHOOD,
        )
        for n in range(5)
    ]
    document = EvidenceItem.objects.create(kind=K.DOCUMENT, title="A report")
    EvidenceLink.objects.create(item=document, incident=incidents[0], relied_on=True)
    assert Incident.objects.count() == 5
    monkeypatch.setattr(rules, "BATCH", 2)
    seen: list[tuple[int, int]] = []
    assert rules.store_all(lambda done, total: seen.append((done, total))) == 5
    assert seen == [(2, 5), (4, 5), (5, 5)]
    stored = dict(GradeProposal.objects.values_list("incident_id", "grade"))
    assert stored == {i.pk: (G.WEAK if i == incidents[0] else "") for i in incidents}
    assert rules.store_all() == 5  # again, without a callback: the same rows, updated
    assert GradeProposal.objects.count() == 5
