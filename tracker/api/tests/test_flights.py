"""Flight observations through the API: the list (a hidden log's lines absent), and a
reviewer's confirmation of a ranked flight through ``ranking.confirm`` with its refusals
(not a reviewer, a locked incident, another incident's attribution, a hidden log, twice)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from evidence.flights import ranking
from evidence.models import FlightMatch
from evidence.tests.test_restricted_items import named
from tracker.api.tests.calls import problem, token_client
from tracker.models import ReviewStatus, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db
STRIKE_AT = datetime(2019, 5, 13, 7, 0, tzinfo=UTC)


@pytest.fixture
def strike(db):
    incident = f.IncidentFactory(occurred_start=STRIKE_AT, start_precision="minute")
    seen = f.FlightObservationFactory(observed_at=datetime(2019, 5, 13, 6, 50, tzinfo=UTC))
    return incident, seen


def confirm(client, incident, **body):
    url = f"/api/incidents/{incident.code}/flights/confirm/"
    return client.post(url, body, content_type="application/json")


def test_observations_are_listed_by_time_and_filtered_by_log(researcher, strike):
    _, seen = strike
    later = f.FlightObservationFactory(observed_at=datetime(2019, 5, 14, 9, 0, tzinfo=UTC))
    client = token_client(researcher)
    rows = client.get("/api/flight-observations/").json()["results"]
    assert [row["id"] for row in rows] == [seen.pk, later.pk]
    by_log = client.get(f"/api/flight-observations/?log={later.log.item.code}").json()
    assert [row["id"] for row in by_log["results"]] == [later.pk]
    after = client.get("/api/flight-observations/?observed_after=2019-05-14T00:00:00Z").json()
    assert [row["id"] for row in after["results"]] == [later.pk]
    bad = client.get("/api/flight-observations/?observed_after=yesterday")
    assert bad.status_code == 400 and "observed_after" in problem(bad)["errors"]


def test_a_hidden_logs_lines_are_not_listed_nor_confirmable(reviewer, other_researcher, strike):
    incident, _ = strike
    named(other_researcher)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    hidden = f.FlightObservationFactory(observed_at=datetime(2019, 5, 13, 6, 55, tzinfo=UTC))
    f.EvidenceLinkFactory(item=hidden.log.item, incident=restricted)
    client = token_client(reviewer)
    listed = [row["id"] for row in client.get("/api/flight-observations/").json()["results"]]
    assert hidden.pk not in listed
    assert client.get(f"/api/flight-observations/{hidden.pk}/").status_code == 404
    refused = confirm(client, incident, observation=hidden.pk)
    assert problem(refused)["errors"]["observation"] == ["No such flight observation."]
    assert not FlightMatch.objects.exists()


def test_a_reviewer_confirms_a_flight_and_its_log_supports_the_attribution(reviewer, strike):
    incident, seen = strike
    attribution = f.AttributionFactory(incident=incident)
    client = token_client(reviewer)
    response = confirm(client, incident, observation=seen.pk, attribution=attribution.pk, note="n")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["incident"] == incident.code and body["log"] == seen.log.item.code
    assert body["confirmed_by"] == "reviewer" and 0 <= body["score"] <= 1
    assert incident.evidence_links.filter(item=seen.log.item).exists()
    assert attribution.supporting_evidence.filter(pk=seen.log.item.pk).exists()
    again = confirm(client, incident, observation=seen.pk)
    assert again.status_code == 400 and problem(again)["detail"] == ranking.ALREADY_CONFIRMED
    ranked = client.get(f"/api/incidents/{incident.code}/flights/").json()
    assert ranked[0]["confirmed"] is True


def test_only_a_reviewer_with_the_review_scope_confirms(researcher, reviewer, strike):
    incident, seen = strike
    refused = confirm(token_client(researcher), incident, observation=seen.pk)
    assert refused.status_code == 403 and problem(refused)["detail"] == ranking.NOT_REVIEWER
    scoped = confirm(token_client(reviewer, ["read", "write"]), incident, observation=seen.pk)
    assert scoped.status_code == 403
    assert not FlightMatch.objects.exists()


def test_a_locked_incident_or_another_incidents_attribution_is_refused(reviewer, strike):
    incident, seen = strike
    other = f.AttributionFactory(incident=f.IncidentFactory())
    client = token_client(reviewer)
    wrong = confirm(client, incident, observation=seen.pk, attribution=other.pk)
    assert problem(wrong)["errors"]["attribution"] == [ranking.OTHER_INCIDENT]
    incident.status = ReviewStatus.VERIFIED
    incident.save()
    locked = confirm(client, incident, observation=seen.pk)
    assert locked.status_code == 400 and incident.code in problem(locked)["detail"]
    assert not FlightMatch.objects.exists()


@pytest.mark.parametrize(
    "body", [{}, {"observation": "one"}, {"observation": 0}, {"observation": 1, "score": 1}]
)
def test_a_bad_confirmation_is_a_400(reviewer, strike, body):
    incident, _ = strike
    response = confirm(token_client(reviewer), incident, **body)
    assert response.status_code == 400 and problem(response)["errors"]
    assert not FlightMatch.objects.exists()
