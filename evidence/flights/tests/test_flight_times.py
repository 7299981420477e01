"""A spotter's time is shown converted to the case's zone, and every page that converts it
says which zone (``tracker.display.time_with_zone``): the observations list and page, the
ranked candidates, a confirmed match, the day timeline and the incident page."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence.flights.candidates import candidates_html
from evidence.flights.tests.correlation_helpers import make_incident, observe
from evidence.flights.tests.flightlog_helpers import HEADER, row
from evidence.models import FlightObservation
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

# Written by the spotter in UTC: 06:42 UTC is 09:42 in Damascus on 13 May 2019.
SHOWN = "2019-05-13 09:42 Damascus time (UTC+03:00)"


def words_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def utc_observation(client, researcher) -> FlightObservation:
    text = f"{HEADER}\n{row(observed_at='2019-05-13T06:42:00Z')}\n"
    client.force_login(researcher)
    client.post(
        reverse("admin:evidence_flightlog_add"),
        {"file": SimpleUploadedFile("log.csv", text.encode(), content_type="text/csv")},
    )
    return FlightObservation.objects.get()


def test_the_observations_list_and_page_name_the_zone(client, utc_observation):
    listing = client.get(reverse("admin:evidence_flightobservation_changelist"))
    page = client.get(reverse("admin:evidence_flightobservation_change", args=[utc_observation.pk]))

    assert SHOWN in words_of(listing.content.decode())
    assert SHOWN in words_of(page.content.decode())


def test_the_timeline_says_which_zone_its_times_are_in(client, utc_observation):
    page = client.get(reverse("admin:evidence_flightobservation_timeline"), {"day": "2019-05-13"})

    words = words_of(page.content.decode())
    assert "Times in Damascus time (UTC+03:00)." in words
    assert "time (Damascus time (UTC+03:00))" in words  # the events table's heading
    assert "09:42 1 × Su-24" in words


def test_on_a_day_the_clocks_change_the_timeline_names_both_offsets(client, researcher):
    # Damascus skipped from midnight to 01:00 on 29 March 2019 (UTC+02:00 to +03:00).
    client.force_login(researcher)
    page = client.get(reverse("admin:evidence_flightobservation_timeline"), {"day": "2019-03-29"})
    assert "Times in Damascus time (UTC+02:00), then UTC+03:00." in words_of(page.content.decode())


def test_ranked_and_confirmed_flights_name_the_zone(client, reviewer):
    log = f.FlightLogFactory()
    incident = make_incident()  # 12:00 in Damascus
    flight = observe(log, -5)
    client.force_login(reviewer)
    client.post(
        reverse("admin:evidence_flightobservation_confirm", args=[incident.pk]),
        {"flight_match_observation": flight.pk},
    )

    ranked = words_of(candidates_html(incident, viewer=reviewer))
    detail = words_of(
        client.get(reverse("incidents:detail", args=[incident.code])).content.decode()
    )
    flights = reverse("incidents:flights", args=[incident.code])
    ranked_section = words_of(client.get(flights, {"part": "1"}).content.decode())

    observed = "2019-05-13 11:55 Damascus time (UTC+03:00)"
    assert ranked.count(observed) == 2  # its row, and the confirmed match
    assert detail.count(observed) == 1  # the confirmed match (the ranking when opened)
    assert ranked_section.count(observed) == 1
    confirmed = r"confirmed by reviewer on [\d-]{10} [\d:]{5,8} Damascus time \(UTC[+-][\d:]{5}\)"
    assert re.search(confirmed, ranked)
