"""The adversary of ``test_adversary_grades.py``, continued: "grade differs" in every
output, four eyes and the submission time, the stale-proposal check, a place moved, and
hostile input to the decision."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction
from django.urls import reverse

from evidence.corroboration import decisions, rules
from evidence.models import (
    GradeProposal,
)
from tests.security.pages import messages_of
from tests.security.test_adversary_grades import (  # the shared builders and fixtures
    SECRET,
    G,
    client_of,
    digest,
    grade_url,
    incident,
    incident_by,
    photo,
    restricted,
    unchanged,
)
from tracker import workflow
from tracker.models import Incident, ReviewEvent, ReviewStatus
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db
__all__ = ["incident", "restricted"]  # fixtures, used by name


# --- (5) "Grade differs" in every output -------------------------------------------------


def test_grade_differs_counts_no_restricted_incident(restricted, incident, researcher):
    rules.store([restricted.pk, incident.pk])
    assert set(decisions.differs(Incident.objects.all())) == {restricted, incident}
    client = client_of(researcher)
    outputs = [
        client.get(reverse("incidents:list"), {"grade_differs": "true"}),
        client.get(reverse("admin:tracker_incident_changelist"), {"grade_differs": "true"}),
        client.get(reverse("incidents:export_csv"), {"grade_differs": "true"}),
        client.get(reverse("incidents:export_geojson"), {"grade_differs": "true"}),
        client.get(reverse("map"), {"grade_differs": "true"}),
        client.get(reverse("api:incident-list"), {"grade_differs": "true"}),
        client.get(reverse("api:incident-export-csv"), {"grade_differs": "true"}),
    ]
    for response in outputs:
        assert response.status_code == 200
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert incident.code.encode() in body or response.request["PATH_INFO"] == reverse("map")
        assert restricted.code.encode() not in body and SECRET.encode() not in body
    api = client.get(reverse("api:incident-list"), {"grade_differs": "true"}).json()
    assert [row["code"] for row in api["results"]] == [incident.code]


# --- (6) Four eyes and the submission time -------------------------------------------------


def test_a_decision_over_http_is_no_edit_and_moves_no_submission(incident, researcher, reviewer):
    workflow.transition(incident, "submit", by=researcher)
    submitted = workflow.last_submitted_at(incident)
    client_of(reviewer).post(
        grade_url(incident.pk), {"grade": "confirmed", "seen": digest(incident)}
    )
    incident.refresh_from_db()
    assert incident.civilian_harm == G.CONFIRMED
    assert workflow.last_submitted_at(incident) == submitted
    assert workflow.changes_since_submission(incident, reviewer) == []
    assert incident.status == ReviewStatus.SUBMITTED  # a decision moves no state
    workflow.transition(incident, "verify", by=reviewer)  # still a second pair of eyes


# --- (7) The stale-proposal check ----------------------------------------------------------


def test_a_stale_proposal_is_refused_however_the_grade_is_sent(incident, reviewer):
    shown = digest(incident)
    photo(incident, source="Channel C", captured_at=datetime(2019, 5, 1, tzinfo=UTC))
    client = client_of(reviewer)
    for data in (
        {"grade": G.CONFIRMED, "seen": shown},
        {"grade": G.CONTESTED, "seen": shown},  # the new proposal, on the old page
        {"grade": G.FAIR, "seen": shown, "reason": "whatever"},
        {"grade": G.CONFIRMED, "seen": "0" * 64},
    ):
        response = client.post(grade_url(incident.pk), data, follow=True)
        assert any("changed since it was shown" in m for m in messages_of(response)), data
        unchanged(incident)
    assert GradeProposal.objects.get(incident=incident).grade == G.CONTESTED


def test_a_place_moved_asks_for_the_proposal_again(
    researcher, reviewer, django_capture_on_commit_callbacks
):
    """The rules read the site from the incident's place (``facts._site``) and a recording's
    from its ``captured_place``; ``decisions.connect`` listens to no ``Place``. A reviewer
    accepts "fair"; the town is moved 200 km: the proposal is now "contested", but no job
    runs, the stored proposal keeps "fair", and "grade differs" (admin, workspace, API)
    never lists the incident, though docs/corroboration.md promises it finds it."""
    place = f.PlaceFactory(latitude="35.8", longitude="36.6")
    moved = incident_by(researcher, latitude=None, longitude=None, place=place)
    photo(moved, captured_latitude="35.8", captured_longitude="36.6")
    rules.store([moved.pk])
    client_of(reviewer).post(grade_url(moved.pk), {"grade": G.FAIR, "seen": digest(moved)})
    moved.refresh_from_db()
    assert moved.civilian_harm == G.FAIR
    connection = transaction.get_connection()  # the fixtures' callback, never run
    connection.run_on_commit = []
    with django_capture_on_commit_callbacks(execute=True):
        place.latitude = "34.0"
        place.save()
    assert rules.proposals([moved.pk])[moved.pk].grade == G.CONTESTED
    assert GradeProposal.objects.get(incident=moved).grade == G.CONTESTED
    assert list(decisions.differs(Incident.objects.filter(pk=moved.pk))) == [moved]


# --- (8) Hostile input to the decision --------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"grade": "confirmed", "reason": "x" * 2001},
        {"grade": "confirmed", "reason": "a\x00b"},
        {"grade": "confirmed\x00"},
        {"grade": "CONFIRMED"},
        {"grade": ["confirmed", "nonsense"]},
        {"grade": ""},
        {"reason": "no grade"},
        {"grade": "fair", "seen": "x" * 65},
        {"grade": "fair", "seen": "a\x00"},
    ],
    ids=["long", "nul-reason", "nul-grade", "case", "array", "empty", "none", "seen", "nul"],
)
def test_hostile_decisions_are_4xx_and_write_nothing(incident, reviewer, data):
    data = {"seen": digest(incident), **data}
    response = client_of(reviewer).post(grade_url(incident.pk), data)
    assert 400 <= response.status_code < 500, response.status_code
    unchanged(incident)
    assert not GradeProposal.objects.filter(incident=incident).exists()


def test_undecodable_bytes_are_4xx_and_long_text_goes_through(incident, reviewer):
    client, url = client_of(reviewer), grade_url(incident.pk)
    body = f"grade=%ED%A0%80&seen={digest(incident)}&reason=%ED%A0%80%FF"
    for response in (
        client.post(url, body, content_type="application/x-www-form-urlencoded"),
        client.post(url, {"grade": G.CONFIRMED}, content_type="application/json"),
    ):
        assert 400 <= response.status_code < 500, response.status_code
    unchanged(incident)
    reason = "ﷺ" + "ع" * 1999  # 2000 characters, not ASCII
    client.post(url, {"grade": G.WEAK, "seen": digest(incident), "reason": reason})
    incident.refresh_from_db()
    assert incident.civilian_harm == G.WEAK
    assert ReviewEvent.objects.get(action="set_grade").comment.endswith(reason)
