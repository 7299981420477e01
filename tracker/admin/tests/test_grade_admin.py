"""The proposed grade on an incident's admin page (``tracker.admin.grade``), the decision
posted from it with every hostile input, the grade read-only in the incident's form, and
the filter "grade differs from proposal" in the workspace and the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from evidence.corroboration import rules
from evidence.models import EvidenceItem, EvidenceLink, PhotoMetadata
from tracker.api.tests.calls import token_client
from tracker.models import Incident, ReviewEvent, ReviewStatus, Sensitivity

pytestmark = pytest.mark.django_db
G = Incident.HarmGrade
STRIKE = datetime(2019, 5, 5, 9, 40, tzinfo=UTC)


def incident_by(author, **fields) -> Incident:
    fields.setdefault("title", "Strike on the market")
    return Incident.objects.create(
        occurred_start=STRIKE,
        start_precision="minute",
        latitude=Decimal("35.645"),
        longitude=Decimal("36.671"),
        location_precision="exact",
        created_by=author,
        **fields,
    )


def item(incident, *, source, status=ReviewStatus.VERIFIED, **fields) -> EvidenceItem:
    made = EvidenceItem.objects.create(
        kind="photo", title="Crater", source_name=source, status=status, **fields
    )
    EvidenceLink.objects.create(item=made, incident=incident)
    return made


@pytest.fixture
def incident(researcher):
    incident = incident_by(researcher)
    item(incident, source="Channel A")
    item(incident, source="Channel B", captured_at=STRIKE - timedelta(days=2))
    rules.store([incident.pk])
    return incident  # contested: a photo recorded two days before the strike


def change(incident) -> str:
    return reverse("admin:tracker_incident_change", args=[incident.pk])


def decide(incident) -> str:
    return reverse("admin:tracker_incident_grade", args=[incident.pk])


def digest(incident) -> str:
    return rules.proposals([incident.pk])[incident.pk].digest


def test_the_page_shows_the_proposal_its_contradiction_and_sources(client, reviewer, incident):
    client.force_login(reviewer)
    html = client.get(change(incident)).content.decode()
    assert 'Proposed: <strong class="grade-proposed">contested</strong>' in html
    assert "A check finds a contradiction." in html
    assert "2 days before the strike" in html
    assert "Independent sources (2)" in html
    assert "Accept the proposal: contested" in html
    assert f'value="{digest(incident)}"' in html


def test_one_who_may_not_decide_sees_why_and_no_form(client, researcher, incident):
    client.force_login(researcher)
    html = client.get(change(incident)).content.decode()
    assert "Only a reviewer decides an incident&#x27;s grade." in html
    assert "Accept the proposal" not in html
    assert f'action="{decide(incident)}"' not in html


def test_accepting_from_the_page(client, reviewer, incident):
    client.force_login(reviewer)
    response = client.post(decide(incident), {"grade": "contested", "seen": digest(incident)})
    assert response.status_code == 302 and response.url.endswith("#grade")
    incident.refresh_from_db()
    assert incident.civilian_harm == G.CONTESTED
    page = client.get(change(incident)).content.decode()
    assert "accepted the proposed grade" in page


def test_another_grade_without_a_reason_is_refused_with_the_reason(client, reviewer, incident):
    client.force_login(reviewer)
    response = client.post(
        decide(incident), {"grade": "confirmed", "seen": digest(incident)}, follow=True
    )
    assert "needs a reason" in response.content.decode()
    incident.refresh_from_db()
    assert incident.civilian_harm == "" and not ReviewEvent.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"grade": "excellent", "seen": "x"},
        {"grade": "fair"},
        {"grade": "fair", "seen": "x" * 65, "reason": "r"},
        {"grade": "fair", "seen": "x", "reason": "r" * 2001},
        {"grade": ["fair", "weak"], "seen": "x", "reason": "r"},
    ],
    ids=["empty", "unknown grade", "no digest", "long digest", "long reason", "two grades"],
)
def test_bad_input_is_a_400_and_changes_nothing(client, reviewer, incident, data):
    client.force_login(reviewer)
    response = client.post(decide(incident), data)
    assert response.status_code in (302, 400)
    incident.refresh_from_db()
    assert incident.civilian_harm == "" and not ReviewEvent.objects.exists()
    if response.status_code == 400:
        assert response.content.decode().startswith("The grade was not set:")


def test_a_stale_digest_is_refused(client, reviewer, incident):
    client.force_login(reviewer)
    response = client.post(decide(incident), {"grade": "contested", "seen": "0" * 64}, follow=True)
    assert "changed since it was shown" in response.content.decode()
    incident.refresh_from_db()
    assert incident.civilian_harm == ""


def test_get_redirects_and_a_restricted_incident_is_404(client, reviewer, incident):
    client.force_login(reviewer)
    assert client.get(decide(incident)).status_code == 302
    Incident.objects.filter(pk=incident.pk).update(sensitivity=Sensitivity.RESTRICTED)
    response = client.post(decide(incident), {"grade": "contested", "seen": digest(incident)})
    assert response.status_code == 404
    missing = reverse("admin:tracker_incident_grade", args=[999999])
    assert client.post(missing, {"grade": "fair", "seen": "x"}).status_code == 404


def test_the_grade_is_not_in_the_incidents_form(client, editor, incident):
    client.force_login(editor)
    html = client.get(change(incident)).content.decode()
    assert 'name="civilian_harm"' not in html


def test_a_protected_photos_exif_place_is_never_a_reason(researcher):
    incident = incident_by(researcher)
    secret = item(incident, source="Witness K", is_protected=True)
    PhotoMetadata.objects.create(
        item=secret, gps_latitude=Decimal("36.2"), gps_longitude=Decimal("37.1")
    )
    proposal = rules.proposals([incident.pk])[incident.pk]
    text = repr(proposal.reasons) + repr(proposal.sources)
    assert "km" not in text and "36.2" not in text


def test_the_workspace_and_api_filter_grade_differs(client, researcher, reviewer, incident):
    agreed = incident_by(researcher, title="Agreed")
    item(agreed, source="Channel C")
    rules.store([agreed.pk])
    Incident.objects.filter(pk=agreed.pk).update(civilian_harm=G.FAIR)
    client.force_login(researcher)
    page = client.get(reverse("incidents:list"), {"grade_differs": "true"}).content.decode()
    assert incident.code in page and agreed.code not in page
    assert "Grade differs from proposal: <bdi>yes</bdi>" in page
    assert '<label class="tick" for="id_grade_differs"><input type="checkbox"' in page
    both = client.get(reverse("incidents:list")).content.decode()
    assert "Grade differs from proposal:" not in both
    assert incident.code in both and agreed.code in both
    for hostile in ("garbage", "", "\u202e", "1" * 200):
        assert client.get(reverse("incidents:list"), {"grade_differs": hostile}).status_code == 200
    api = token_client(researcher)
    listed = api.get("/api/incidents/", {"grade_differs": "true"}).json()
    codes = [row["code"] for row in listed["results"]]
    assert codes == [incident.code]


def test_the_incident_list_filters_grade_differs(client, researcher, incident):
    agreed = incident_by(researcher, title="Agreed")
    item(agreed, source="Channel C")
    rules.store([agreed.pk])
    Incident.objects.filter(pk=agreed.pk).update(civilian_harm=G.FAIR)
    client.force_login(researcher)
    listed = reverse("admin:tracker_incident_changelist")
    page = client.get(listed, {"grade_differs": "true"}).content.decode()
    assert incident.code in page and agreed.code not in page
    assert client.get(listed, {"grade_differs": "\x00"}).status_code in (200, 400)


def test_review_with_its_evidence_shows_the_proposal(client, researcher, reviewer, incident):
    from tracker.workflow import transition

    transition(incident, "submit", by=researcher)
    client.force_login(reviewer)
    page = reverse("admin:tracker_incident_review_together", args=[incident.pk])
    html = client.get(page).content.decode()
    assert "Civilian-harm grade" in html and "2 days before the strike" in html
    assert "Accept the proposal: contested" in html
