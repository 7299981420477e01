"""The rule table, reliability per kind, the proposal and its storage
(evidence.corroboration.rules)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evidence.corroboration import checks, facts, rules
from evidence.corroboration.checks import Reason
from evidence.corroboration.rules import RULES, Evidence
from evidence.corroboration.sources import Source
from evidence.models import (
    CapturePart,
    EvidenceItem,
    EvidenceLink,
    FlightLog,
    FlightMatch,
    FlightObservation,
    GradeProposal,
    SatelliteImage,
    WebCapture,
    Witness,
)
from evidence.models import Testimony as Statement  # a "Test*" name is collected
from tracker.models import DatePrecision, Incident, LocationPrecision, ReviewStatus

K, G, R = EvidenceItem.Kind, Incident.HarmGrade, ReviewStatus
SITE = (Decimal("35.812300"), Decimal("36.601200"))
pytestmark = pytest.mark.django_db

# --- Builders -----------------------------------------------------------------------------


def at(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.get_default_timezone())


STRIKE = at(2019, 5, 5, 14, 0)


def make_incident(**fields) -> Incident:
    return Incident.objects.create(
        title=fields.pop("title", "Strike on the market"),
        occurred_start=STRIKE,
        start_precision=DatePrecision.MINUTE,
        latitude=SITE[0],
        longitude=SITE[1],
        location_precision=LocationPrecision.NEIGHBOURHOOD,
        **fields,
    )


def add(incident, kind=K.PHOTO, status=R.DRAFT, *, relied_on=True, **fields) -> EvidenceItem:
    item = EvidenceItem.objects.create(kind=kind, title=f"A {kind}", status=status, **fields)
    EvidenceLink.objects.create(item=item, incident=incident, relied_on=relied_on)
    return item


def photo(incident, status=R.DRAFT, *, taken=True, placed=True, **fields) -> EvidenceItem:
    """A photo whose capture time (10 minutes in) and GPS (at the site) agree, if given."""
    if taken:
        fields.setdefault("captured_at", STRIKE + timedelta(minutes=10))
    if placed:
        fields.setdefault("captured_latitude", SITE[0])
        fields.setdefault("captured_longitude", SITE[1])
    return add(incident, K.PHOTO, status, **fields)


def interview(incident, role=Witness.Role.EYEWITNESS, status=R.DRAFT) -> EvidenceItem:
    item = add(incident, K.TESTIMONY, status)
    witness = Witness.objects.create(pseudonym=f"Witness {item.pk}", role=role)
    Statement.objects.create(
        item=item, witness=witness, interview_date=date(2019, 5, 20), interviewer="M", summary="S"
    )
    return item


def scene(incident, taken, before=None, status=R.DRAFT) -> SatelliteImage:
    bounds = {"west": "36.5", "south": "35.7", "east": "36.7", "north": "35.9"}
    item = add(incident, K.SATELLITE, status)
    return SatelliteImage.objects.create(item=item, captured_at=taken, before=before, **bounds)


def scene_pair(incident) -> tuple[SatelliteImage, SatelliteImage]:
    before = scene(incident, at(2019, 5, 1))
    return before, scene(incident, at(2019, 5, 8), before=before)


def flight_log(incident, score=None, status=R.DRAFT) -> EvidenceItem:
    item = add(incident, K.FLIGHT_LOG, status)
    log = FlightLog.objects.create(item=item)
    if score is not None:
        row = {"raw": "row", "observed_at": STRIKE, "station": "S", "aircraft_type": "Su-24"}
        seen = FlightObservation.objects.create(log=log, line_number=2, **row)
        by = User.objects.get_or_create(username="confirmer")[0]
        FlightMatch.objects.create(
            observation=seen,
            incident=incident,
            score=score,
            reasons="r",
            confirmed_by=by,
            confirmed_at=timezone.now(),
        )
    return item


def corroborated(incident) -> dict[str, EvidenceItem]:
    """A verified photo (and a re-post of it), an eyewitness, a bracketing pair of scenes,
    a flight scoring 0.8 and a web capture with its screenshot."""
    shown = photo(incident, R.VERIFIED, source_name="Civil Defence")
    repost = photo(incident, source_name="Reposter")
    shown.near_duplicates.add(repost)
    page = add(incident, K.WEB_CAPTURE, source_url="https://example.com/strike")
    web = WebCapture.objects.create(item=page, url=page.source_url, captured_at=timezone.now())
    CapturePart.objects.create(capture=web, item=add(incident, K.PHOTO), role="screenshot")
    before, after = scene_pair(incident)
    return {
        "photo": shown,
        "testimony": interview(incident),
        "before": before.item,
        "after": after.item,
        "flight": flight_log(incident, 0.8),
    }


def propose(incident) -> rules.Proposal:
    return rules.proposals([incident.pk])[incident.pk]


def standing_of(incident) -> dict[str, tuple[bool, str]]:
    case = facts.load([incident.pk])[incident.pk]
    pair = checks.bracket(case)
    reasons = [reason for check in checks.CHECKS for reason in check(case)]
    agreed = {(r.check, r.item) for r in reasons if r.verdict == checks.SUPPORT and r.item}
    return {item.code: rules.standing(item, pair, agreed) for item in case.items}


# --- The table ----------------------------------------------------------------------------


def test_the_table_is_read_in_its_order_with_its_grades():
    assert [(rule.name, rule.grade) for rule in RULES] == [
        ("nothing", ""),
        ("contradiction", G.CONTESTED),
        ("two reliable", G.CONFIRMED),
        ("one reliable", G.FAIR),
        ("none reliable", G.WEAK),
    ]
    assert G.DISCOUNTED not in {rule.grade for rule in RULES}


def test_the_thresholds_are_those_documented():
    """docs/corroboration.md writes them out; the checks' tests compute from them."""
    L = LocationPrecision
    times = (checks.CLOCK_SLACK, checks.AFTERMATH)
    assert times == (timedelta(minutes=30), timedelta(days=7))
    distances = (checks.VIEW_KM, checks.FLIGHT_SCORE, facts.GPS_KM, facts.PLACE_KM)
    assert distances == (2, 0.5, 0.1, 5)
    site = dict(facts.SITE_KM)
    assert site == {
        L.EXACT: 0.05,
        L.WITHIN_100M: 0.1,
        L.NEIGHBOURHOOD: 1,
        L.TOWN: 5,
        L.DISTRICT: 25,
        L.GOVERNORATE: 75,
    }
    roles = set(checks.AT_PLACE)
    assert roles == {"survivor", "eyewitness", "rescuer", "medical"}


ONE = [Source([], [])]
AGAINST = [Reason("time", checks.CONTRADICTION, "x")]
FOR = [Reason("time", checks.SUPPORT, "y"), Reason("testimony", checks.NOTE, "z")]


@pytest.mark.parametrize(
    ("sources", "reliable", "reasons", "rule"),
    [
        ([], 0, AGAINST, "nothing"),  # nothing relied on, whatever else
        (ONE * 3, 3, FOR + AGAINST, "contradiction"),  # before any count of reliable
        (ONE * 3, 2, FOR, "two reliable"),
        (ONE * 3, 3, [], "two reliable"),
        (ONE * 2, 1, FOR, "one reliable"),
        (ONE * 2, 0, FOR, "none reliable"),
    ],
)
def test_the_first_rule_that_holds_gives_the_grade(sources, reliable, reasons, rule):
    evidence = Evidence(sources, reliable, reasons)
    assert next(r.name for r in RULES if r.holds(evidence)) == rule


def test_nothing_relied_on_proposes_no_grade():
    incident = make_incident()
    photo(incident, R.VERIFIED, relied_on=False)
    proposal = propose(incident)
    assert (proposal.grade, proposal.rule, proposal.sources) == ("", "nothing", [])


def test_a_well_corroborated_incident_is_confirmed():
    incident = make_incident()
    items = corroborated(incident)
    proposal = propose(incident)
    assert (proposal.grade, proposal.rule) == (G.CONFIRMED, "two reliable")
    assert not [r for r in proposal.reasons if r["verdict"] == checks.CONTRADICTION]
    reliable = {s["items"][0]: s["because"] for s in proposal.sources if s["reliable"]}
    code = {key: item.code for key, item in items.items()}
    assert reliable == {
        code["photo"]: f"{code['photo']}: verified by a reviewer",
        code["testimony"]: f"{code['testimony']}: testimony of a witness at the place",
        code["before"]: f"{code['before']}: one of two scenes bracketing the strike over the site",
        code["flight"]: f"{code['flight']}: a flight of it is confirmed with a score of at "
        "least 0.50",
    }
    assert len(proposal.sources) == 5  # and the capture with its screenshot, unverified


def test_any_contradiction_makes_it_contested():
    incident = make_incident()
    corroborated(incident)
    photo(incident, captured_at=STRIKE - timedelta(days=2), placed=False)
    proposal = propose(incident)
    assert (proposal.grade, proposal.rule) == (G.CONTESTED, "contradiction")


def test_ten_reposts_of_one_verified_photo_alone_are_fair_not_confirmed():
    incident = make_incident()
    photos = [photo(incident, R.VERIFIED, source_name=f"Channel {n}") for n in range(10)]
    photos[0].near_duplicates.add(*photos[1:])
    proposal = propose(incident)
    assert (proposal.grade, proposal.rule) == (G.FAIR, "one reliable")
    assert [s["items"] for s in proposal.sources] == [[p.code for p in photos]]


def test_two_verified_photos_from_independent_sources_are_confirmed():
    incident = make_incident()
    photo(incident, R.VERIFIED, source_name="Civil Defence")
    photo(incident, R.PUBLISHED, source_name="Local council")
    assert propose(incident).grade == G.CONFIRMED


# --- Reliability per kind -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "grade", "because"),
    [
        (lambda i: photo(i), G.FAIR, "its capture time and place agree with the strike"),
        (lambda i: photo(i, placed=False), G.WEAK, "not verified, and its capture time and"),
        (lambda i: photo(i, taken=False), G.WEAK, "not verified, and its capture time and"),
        (lambda i: photo(i, R.PUBLISHED, taken=False), G.FAIR, "verified by a reviewer"),
        (lambda i: add(i, K.VIDEO, R.SUBMITTED), G.WEAK, "not verified, and"),
        (lambda i: add(i, K.DOCUMENT, R.VERIFIED), G.FAIR, "verified by a reviewer"),
        (lambda i: add(i, K.DOCUMENT), G.WEAK, "not verified"),
        (lambda i: add(i, K.WEB_CAPTURE, R.REJECTED), G.WEAK, "not verified"),
        (lambda i: interview(i), G.FAIR, "testimony of a witness at the place"),
        (lambda i: interview(i, "relative", R.VERIFIED), G.WEAK, "its witness was not at the"),
        (lambda i: interview(i, "other", R.PUBLISHED), G.WEAK, "its witness was not at the"),
        (lambda i: add(i, K.TESTIMONY, R.VERIFIED), G.WEAK, "its witness was not at the"),
        (lambda i: scene(i, at(2019, 5, 8), status=R.VERIFIED), G.WEAK, "not one of two"),
        (lambda i: scene_pair(i), G.FAIR, "one of two scenes bracketing the strike"),
        (lambda i: flight_log(i, 0.5), G.FAIR, "confirmed with a score of at least 0.50"),
        (lambda i: flight_log(i, 0.49, R.VERIFIED), G.WEAK, "no flight of it is confirmed"),
        (lambda i: flight_log(i, None, R.VERIFIED), G.WEAK, "no flight of it is confirmed"),
    ],
)
def test_what_makes_a_single_source_reliable(build, grade, because):
    incident = make_incident()
    build(incident)
    proposal = propose(incident)
    [source] = proposal.sources
    assert (proposal.grade, source["reliable"]) == (grade, grade == G.FAIR)
    assert because in source["because"]


def test_one_reliable_item_makes_its_source_reliable():
    incident = make_incident()
    draft = add(incident, K.DOCUMENT, source_name="Hospital")
    verified = add(incident, K.DOCUMENT, R.VERIFIED, source_name="hospital")
    [source] = propose(incident).sources
    assert source["reliable"] is True
    assert source["because"] == f"{verified.code}: verified by a reviewer"
    EvidenceItem.objects.filter(pk=verified.pk).update(status=R.DRAFT)
    [source] = propose(incident).sources
    assert source["because"] == f"{draft.code}: not verified; {verified.code}: not verified"


def test_a_satellite_scene_counts_only_in_the_bracketing_pair():
    incident = make_incident()
    early = scene(incident, at(2019, 5, 1), status=R.VERIFIED)
    before = scene(incident, at(2019, 5, 3), status=R.VERIFIED)
    after = scene(incident, at(2019, 5, 7), before=before)
    late = scene(incident, at(2019, 5, 9), status=R.VERIFIED)
    standing = standing_of(incident)
    assert {code: ok for code, (ok, _) in standing.items()} == {
        early.item.code: False,
        before.item.code: True,
        after.item.code: True,
        late.item.code: False,
    }


def test_a_recording_counts_when_both_its_time_and_place_agree():
    incident = make_incident()
    both = photo(incident)
    time_only = photo(incident, placed=False)
    place_only = photo(incident, taken=False)
    far = photo(incident, captured_latitude=SITE[0] + 1)  # time agrees, place contradicts
    standing = standing_of(incident)
    assert {code: ok for code, (ok, _) in standing.items()} == {
        both.code: True,
        time_only.code: False,
        place_only.code: False,
        far.code: False,
    }


# --- Storage ------------------------------------------------------------------------------


def test_store_keeps_one_proposal_per_incident_and_never_the_grade():
    incident = make_incident(civilian_harm=G.DISCOUNTED)
    ungraded = make_incident()
    document = add(incident, K.DOCUMENT)
    add(ungraded, K.DOCUMENT, R.VERIFIED)
    assert rules.store([incident.pk, ungraded.pk]) == 2
    first = GradeProposal.objects.get(incident=incident)
    assert (first.grade, first.rule) == (G.WEAK, "none reliable")
    assert first.digest == propose(incident).digest
    EvidenceItem.objects.filter(pk=document.pk).update(status=R.VERIFIED)
    assert rules.store([incident.pk]) == 1
    assert GradeProposal.objects.filter(incident=incident).count() == 1
    second = GradeProposal.objects.get(incident=incident)
    assert (second.pk, second.grade, second.rule) == (first.pk, G.FAIR, "one reliable")
    assert second.digest != first.digest
    assert second.computed_at >= first.computed_at
    assert second.sources == propose(incident).sources
    assert GradeProposal.objects.get(incident=ungraded).grade == G.FAIR
    values = Incident.objects.filter(pk__in=[incident.pk, ungraded.pk]).values_list
    assert dict(values("pk", "civilian_harm")) == {incident.pk: G.DISCOUNTED, ungraded.pk: ""}


def test_store_of_an_incident_relying_on_nothing_keeps_an_empty_proposal():
    incident = make_incident()
    rules.store([incident.pk, 10**9])  # one that does not exist is left out
    proposal = GradeProposal.objects.get()
    assert (proposal.incident_id, proposal.grade, proposal.rule) == (incident.pk, "", "nothing")


# --- Queries ------------------------------------------------------------------------------


def queries(work, ids) -> int:
    with CaptureQueriesContext(connection) as context:
        work(ids)
    return len(context.captured_queries)


def test_proposals_take_a_constant_number_of_queries_per_batch():
    incidents = [make_incident(title=f"Strike {n}") for n in range(25)]
    for incident in incidents:
        corroborated(incident)
    few, many = [i.pk for i in incidents[:5]], [i.pk for i in incidents]
    assert queries(rules.proposals, few) == queries(rules.proposals, many) == 8
    assert queries(rules.store, few) == queries(rules.store, many)
    assert all(p.grade == G.CONFIRMED for p in rules.proposals(many).values())


# --- The digest ---------------------------------------------------------------------------


def test_the_digest_is_stable_while_the_reasons_are():
    incident = make_incident()
    corroborated(incident)
    digest = propose(incident).digest
    assert propose(incident).digest == digest
    other = make_incident()
    corroborated(other)
    assert rules.proposals([other.pk, incident.pk])[incident.pk].digest == digest
    Incident.objects.filter(pk=incident.pk).update(title="Another title", narrative="More")
    EvidenceItem.objects.filter(links__incident=incident).update(title="Renamed")
    assert propose(incident).digest == digest


def test_the_digest_changes_when_a_reason_changes():
    incident = make_incident()
    shown = photo(incident, R.VERIFIED)
    before = propose(incident)
    EvidenceItem.objects.filter(pk=shown.pk).update(captured_at=STRIKE + timedelta(days=2))
    after = propose(incident)
    assert (after.grade, after.rule, after.sources) == (before.grade, before.rule, before.sources)
    assert after.reasons != before.reasons
    assert after.digest != before.digest
