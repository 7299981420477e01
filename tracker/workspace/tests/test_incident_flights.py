"""An incident's ranked flights on the workspace: asked for when the page's section opens
(on-demand.js fetches ``?part=1``), a page of its own when its link is followed; the
ranking is evidence.flights.ranking's, as the admin ranks them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from tracker.models import Sensitivity
from tracker.tests.factories import FlightObservationFactory, IncidentFactory

pytestmark = pytest.mark.django_db

STRIKE = datetime(2019, 5, 13, 6, 45, tzinfo=UTC)  # 09:45 in Damascus


def flights_of(incident) -> str:
    return reverse("incidents:flights", args=[incident.code])


def test_a_date_too_imprecise_to_rank_flights_says_why(client, researcher, db):
    incident = IncidentFactory(start_precision="month", occurred_start=STRIKE)
    client.force_login(researcher)
    flights = client.get(flights_of(incident), {"part": "1"}).context["flights"]
    assert flights["refused"] and not flights["candidates"]


def test_the_best_flight_candidates_are_shown_with_a_link_to_all(client, researcher, db):
    incident = IncidentFactory(occurred_start=STRIKE, start_precision="minute")
    for minutes in range(12):
        FlightObservationFactory(observed_at=STRIKE.replace(minute=30 + minutes))
    client.force_login(researcher)
    response = client.get(flights_of(incident), {"part": "1"})
    flights = response.context["flights"]
    assert (flights["total"], len(flights["candidates"]), flights["hidden"]) == (12, 10, 2)
    scores = [row["candidate"].score for row in flights["candidates"]]
    assert scores == sorted(scores, reverse=True)
    url = reverse("admin:evidence_flightobservation_candidates", args=[incident.pk])
    assert f'href="{url}">All 12 candidates' in response.content.decode()


def test_ranked_flights_are_a_section_when_asked_for_and_a_page_when_followed(
    client, researcher, db
):
    incident = IncidentFactory(occurred_start=STRIKE, start_precision="minute")
    FlightObservationFactory(observed_at=STRIKE.replace(minute=35), station="Spotter Kafranbel")
    client.force_login(researcher)
    part = client.get(flights_of(incident), {"part": "1"}).content.decode()
    assert "Spotter Kafranbel" in part and "<html" not in part
    page = client.get(flights_of(incident)).content.decode()  # the link, without the script
    assert "Spotter Kafranbel" in page and "<html" in page and incident.code in page
    assert client.get(flights_of(incident), {"part": "x"}).content.decode().count("<html") == 1
    assert client.post(flights_of(incident), {"part": "1"}).status_code == 405


def test_ranked_flights_of_an_incident_one_may_not_see_do_not_exist(client, researcher, db):
    restricted = IncidentFactory(sensitivity=Sensitivity.RESTRICTED, occurred_start=STRIKE)
    client.force_login(researcher)
    assert client.get(flights_of(restricted), {"part": "1"}).status_code == 404
    assert client.get("/incidents/INC-<script>/flights/", {"part": "1"}).status_code == 404
