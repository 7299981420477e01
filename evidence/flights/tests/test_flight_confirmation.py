"""Confirming an observed flight for an incident (``evidence.flights.ranking.confirm``):
who may, what is stored and linked, what is refused, and how a confirmed candidate is
marked.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from evidence.flights import ranking
from evidence.flights.ranking import candidates
from evidence.flights.tests.correlation_helpers import STRIKE, make_incident, observe
from evidence.models import EvidenceLink, FlightMatch
from tracker.models import Incident, ReviewStatus, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


# --- Confirming a candidate ------------------------------------------------------------------


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


def test_confirmed_candidates_are_marked(log, reviewer):
    incident = make_incident()
    obs = observe(log, -5)
    ranking.confirm(observation=obs, incident=incident, by=reviewer)

    (only,) = candidates(incident, viewer=None)

    assert only.confirmed


# --- Mutation survivors (make mutate) --------------------------------------------------------


def test_only_the_observation_confirmed_for_this_incident_is_marked(log, reviewer):
    incident = make_incident()
    other = make_incident(occurred_start=STRIKE + timedelta(days=3))
    confirmed, for_other, plain = observe(log, -5), observe(log, -6), observe(log, -7)
    ranking.confirm(observation=confirmed, incident=incident, by=reviewer)
    ranking.confirm(observation=for_other, incident=other, by=reviewer)

    marked = {c.observation: c.confirmed for c in candidates(incident, viewer=None)}

    assert marked == {confirmed: True, for_other: False, plain: False}


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
