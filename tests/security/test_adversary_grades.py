"""An adversary against the proposed civilian-harm grade and the reviewer's decision
(``evidence.corroboration``, ``tracker.admin.grade``), attacks (1)-(9) of the review: side
doors, locks, what the reasons say, jobs, "grade differs", four eyes, staleness, input."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse

from evidence import intake
from evidence.access import hidden_item_ids
from evidence.corroboration import rules
from evidence.corroboration.decisions import _Recompute
from evidence.models import (
    CapturePart,
    EvidenceItem,
    EvidenceLink,
    FlightMatch,
    GradeProposal,
    SatelliteImage,
    WebCapture,
)
from evidence.tests.files import make_jpeg
from evidence.tests.test_restricted_items import named
from tests.security.pages import messages_of, page_text, save_page
from tracker import workflow
from tracker.admin.tests.test_admin_forms import incident_post
from tracker.models import Incident, Job, ReviewEvent, ReviewStatus, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db
G = Incident.HarmGrade
STRIKE = datetime(2019, 5, 5, 9, 40, tzinfo=UTC)
SECRET = "SECRET strike on the clinic"
# A scene over the site, taken two weeks after the strike.
OVER_SITE = {"captured_at": datetime(2019, 5, 20, 8, tzinfo=UTC), "west": "36.5", "south": "35.7"}
OVER_SITE |= {"east": "36.7", "north": "35.9"}


def incident_by(author, **fields) -> Incident:
    fields.setdefault("latitude", "35.8123")
    fields.setdefault("longitude", "36.6012")
    fields.setdefault("title", "Strike on the market")
    incident = Incident(occurred_start=STRIKE, created_by=author, **fields)
    incident._history_user = author
    incident.save()
    return incident


def photo(incident, *, source="", status=ReviewStatus.VERIFIED, **fields) -> EvidenceItem:
    item = EvidenceItem.objects.create(
        kind=EvidenceItem.Kind.PHOTO, title="Crater", status=status, source_name=source, **fields
    )
    EvidenceLink.objects.create(item=item, incident=incident)
    return item


def digest(incident) -> str:
    return rules.proposals([incident.pk])[incident.pk].digest


def grade_url(pk) -> str:
    return reverse("admin:tracker_incident_grade", args=[pk])


def change_url(pk) -> str:
    return reverse("admin:tracker_incident_change", args=[pk])


def client_of(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def unchanged(incident, grade="") -> None:
    incident.refresh_from_db()
    assert incident.civilian_harm == grade
    assert not ReviewEvent.objects.filter(action__in=workflow.GRADE_ACTIONS).exists()


@pytest.fixture
def incident(researcher):
    """A researcher's draft, proposed "confirmed": two verified photos, two sources."""
    incident = incident_by(researcher)
    photo(incident, source="Channel A")
    photo(incident, source="Channel B")
    return incident


@pytest.fixture
def restricted(other_researcher):
    named(other_researcher)
    incident = incident_by(other_researcher, title=SECRET, sensitivity=Sensitivity.RESTRICTED)
    photo(incident, source="Channel S")
    return incident


# --- (1) Nobody sets the grade another way ---------------------------------------------


def test_the_change_form_ignores_a_posted_grade(incident, researcher, reviewer):
    for user in (researcher, reviewer):  # the author in draft, a reviewer once submitted
        response = save_page(
            client_of(user),
            change_url(incident.pk),
            lambda data: data.update(civilian_harm=[G.DISCOUNTED], title=["Edited"]),
        )
        assert response.status_code == 302
        unchanged(incident)
        if incident.status == ReviewStatus.DRAFT:
            workflow.transition(incident, "submit", by=researcher)
    assert incident.title == "Edited"  # the form was saved, the grade was not in it


def test_the_add_form_ignores_a_posted_grade(researcher):
    response = incident_post(client_of(researcher), civilian_harm=G.CONFIRMED, title="New")
    assert response.status_code == 302
    assert Incident.objects.get(title="New").civilian_harm == ""


def test_the_author_and_a_researcher_cannot_decide(
    incident, researcher, other_researcher, reviewer
):
    own = incident_by(reviewer)  # a reviewer's own incident
    photo(own, source="Channel A")
    for user, record in ((researcher, incident), (other_researcher, incident), (reviewer, own)):
        data = {"grade": G.WEAK, "seen": digest(record), "reason": "mine"}
        response = client_of(user).post(grade_url(record.pk), data, follow=True)
        assert any(w in " ".join(messages_of(response)) for w in ("Four eyes", "Only a"))
        unchanged(record)


def test_history_pages_do_not_revert_a_grade(incident, reviewer, researcher):
    client_of(reviewer).post(
        grade_url(incident.pk), {"grade": G.CONFIRMED, "seen": digest(incident)}
    )
    incident.refresh_from_db()
    assert incident.civilian_harm == G.CONFIRMED
    first = incident.history.order_by("history_id").first()
    url = reverse("admin:tracker_incident_simple_history", args=[incident.pk, first.history_id])
    response = client_of(researcher).post(url, {"title": "x", "_save": "Save"})
    assert response.status_code == 405
    incident.refresh_from_db()
    assert incident.civilian_harm == G.CONFIRMED


@pytest.mark.parametrize("method", ["patch", "put", "post"])
def test_the_api_never_writes_the_grade(incident, researcher, reviewer, method):
    for user in (researcher, reviewer):
        client = client_of(user)
        base = reverse("api:incident-detail", args=[incident.code])
        for url in (base, reverse("api:incident-list")):
            response = getattr(client, method)(
                url, {"civilian_harm": G.DISCOUNTED, "title": "x"}, content_type="application/json"
            )
            assert response.status_code in (400, 403, 404, 405), (url, response.status_code)
        for action in workflow.GRADE_ACTIONS:  # the review actions' endpoint knows no grade
            response = client.post(
                reverse("api:incident-transitions", args=[incident.code]),
                {"action": action, "comment": "x"},
                content_type="application/json",
            )
            assert response.status_code in (400, 403), response.status_code
        unchanged(incident)


# --- (2) A reviewer decides only what the rules allow -------------------------------------


@pytest.mark.parametrize(
    "status", [ReviewStatus.VERIFIED, ReviewStatus.PUBLISHED, ReviewStatus.REJECTED]
)
def test_a_locked_incident_is_refused_over_http(incident, reviewer, editor, status):
    Incident.objects.filter(pk=incident.pk).update(status=status)
    for user in (reviewer, editor):
        client = client_of(user)
        response = client.post(
            grade_url(incident.pk), {"grade": G.CONFIRMED, "seen": digest(incident)}, follow=True
        )
        assert any("reopen it" in m for m in messages_of(response))
        unchanged(incident)


def test_a_restricted_incident_is_404_by_its_key(restricted, reviewer, editor):
    biggest = Incident.objects.order_by("-pk").values_list("pk", flat=True).first()
    for user in (reviewer, editor):
        client = client_of(user)
        for pk in (restricted.pk, biggest + 10, "99999999999999999999", "abc"):
            response = client.post(
                grade_url(pk),
                {"grade": G.CONFIRMED, "seen": digest(restricted), "reason": "guess"},
            )
            assert response.status_code == 404, (pk, response.status_code)
            assert SECRET not in response.content.decode()
        unchanged(restricted)
        together = reverse("admin:tracker_incident_review_together", args=[restricted.pk])
        assert client.get(together).status_code == 404


def test_an_admin_key_with_an_escaped_newline_is_no_server_error(incident, researcher):
    """``grade_view`` reverses the change page's URL from the unquoted key before looking
    the incident up: the admin's escape ``_0A`` is a newline, no URL holds it, and
    ``reverse`` raises NoReverseMatch: a 500 for any staff account, GET or POST."""
    client = client_of(researcher)
    for key in ("_0A", f"{incident.pk}_0A"):
        for send in (client.get, client.post):
            response = send(f"/admin/tracker/incident/{key}/grade/")
            assert response.status_code < 500, (key, send, response.status_code)
    unchanged(incident)


# --- (3) What the proposal says to whoever sees the incident ------------------------------


def test_protected_identity_stays_out_of_the_proposal(researcher, identity_holder, reviewer):
    visible = incident_by(reviewer)
    protected = intake.ingest(
        io.BytesIO(make_jpeg(make="SECRETCAM", model="SECRETMODEL")),
        filename="interview_Jane_Roe.jpg",
        kind="photo",
        by=identity_holder,
        incident=visible,
        is_protected=True,
    ).item
    witness = f.WitnessFactory(pseudonym="W-77", real_name="Jane Roe", contact="+963 111")
    f.TestimonyFactory(witness=witness, item__title="Interview")
    EvidenceLink.objects.create(item=witness.testimonies.get().item, incident=visible)
    second = f.TestimonyFactory(witness=witness, item__title="Interview again").item
    EvidenceLink.objects.create(item=second, incident=visible)
    rules.store([visible.pk])
    stored = GradeProposal.objects.get(incident=visible)
    said = repr((stored.reasons, stored.sources))
    text = page_text(client_of(researcher).get(change_url(visible.pk)))
    assert protected.code in said, said  # it is counted, by its code
    for secret in ("SECRETCAM", "SECRETMODEL", "Jane", "+963", "interview_"):
        assert secret not in said and secret not in text, secret
    assert "km from the site" not in said  # its EXIF GPS never placed it
    assert "W-77" in said  # the pseudonym names the witness grouping


def test_a_hidden_after_scene_does_not_show_in_the_team_proposal(
    researcher, other_researcher, reviewer, restricted
):
    """A scene the team sees, taken after the strike, counts for the open incident. A
    restricted incident's scene (an item hidden from the team) names it as its "before"
    image, which ``check_before`` allows (the "before" is visible). ``facts.load`` reads
    ``after__id`` of every scene, hidden ones included, so the open incident's proposal
    turns "contested": "EV-… is a 'before' scene dated …, after the strike", a comparison
    the team cannot find anywhere: the hidden item's existence shows on the open page."""
    visible = incident_by(reviewer, title="Open strike")
    seen_item = EvidenceItem.objects.create(kind="satellite", title="After, open")
    EvidenceLink.objects.create(item=seen_item, incident=visible)
    scene = SatelliteImage.objects.create(item=seen_item, provider="P", **OVER_SITE)
    rules.store([visible.pk])
    before = GradeProposal.objects.get(incident=visible)
    hidden_item = EvidenceItem.objects.create(kind="satellite", title="SECRET scene")
    EvidenceLink.objects.create(item=hidden_item, incident=restricted)
    SatelliteImage.objects.create(item=hidden_item, provider="P", before=scene, **OVER_SITE)
    assert EvidenceItem.objects.filter(pk__in=hidden_item_ids(), pk=hidden_item.pk).exists()
    rules.store([visible.pk])  # as the next change of the open incident's evidence would
    after = GradeProposal.objects.get(incident=visible)
    text = page_text(client_of(researcher).get(change_url(visible.pk)))
    assert "'before' scene" not in text
    assert (after.grade, after.reasons) == (before.grade, before.reasons)


def test_items_standing_only_behind_a_restricted_incident_are_not_named(
    restricted, researcher, reviewer, other_researcher
):
    visible = incident_by(reviewer, title="Open strike")
    shown = photo(visible, source="Channel A")
    page = EvidenceItem.objects.create(
        kind="web_capture", title="Page", status=ReviewStatus.VERIFIED
    )
    EvidenceLink.objects.create(item=page, incident=visible)
    capture = WebCapture.objects.create(
        item=page, url="https://example.org/post", captured_at=STRIKE
    )
    rules.store([visible.pk])
    before = GradeProposal.objects.get(incident=visible)
    hidden = [photo(restricted, source="Channel A") for _ in range(3)]
    shown.near_duplicates.add(hidden[0])  # the same photo, re-posted
    CapturePart.objects.create(capture=capture, item=hidden[1], role="screenshot")
    seen_flight = f.FlightObservationFactory(log=f.FlightLogFactory(item=hidden[2]))
    confirmed = {"score": 0.9, "reasons": "x", "confirmed_by": reviewer, "confirmed_at": STRIKE}
    FlightMatch.objects.create(observation=seen_flight, incident=visible, **confirmed)
    assert set(EvidenceItem.objects.filter(pk__in=hidden_item_ids())) >= set(hidden)
    rules.store([visible.pk])
    after = GradeProposal.objects.get(incident=visible)
    text = page_text(client_of(researcher).get(change_url(visible.pk)))
    assert (after.digest, after.grade) == (before.digest, before.grade)
    for item in hidden:
        assert item.code not in text


# --- (4) and (9) Jobs and the review log beside restricted incidents ----------------------


def test_a_grade_job_of_a_restricted_incident_is_hidden(
    restricted, incident, editor, django_capture_on_commit_callbacks
):
    connection = transaction.get_connection()  # the fixtures' callback, never run
    connection.run_on_commit = [
        entry for entry in connection.run_on_commit if not isinstance(entry[1], _Recompute)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        photo(restricted, source="Channel T")
        photo(incident, source="Channel C")
    jobs = Job.objects.filter(kind=Job.Kind.GRADE)
    assert set(jobs.values_list("target", flat=True)) >= {restricted.code, incident.code}
    client = client_of(editor)
    listing = client.get(reverse("admin:tracker_job_changelist") + "?kind__exact=grade").content
    assert incident.code.encode() in listing and restricted.code.encode() not in listing
    found = client.get(reverse("admin:tracker_job_changelist") + f"?q={restricted.code}")
    assert list(found.context["cl"].result_list) == []  # the box echoes the code asked
    api = client.get(reverse("api:job-list"), {"kind": "grade"}).content
    assert restricted.code.encode() not in api
    job = jobs.get(target=restricted.code)
    assert client.get(reverse("admin:tracker_job_change", args=[job.pk])).status_code in (302, 404)


def test_a_decision_mails_nobody_and_its_log_follows_the_incident(
    restricted, other_researcher, reviewer, researcher
):
    named(reviewer)
    mail.outbox.clear()
    client_of(reviewer).post(
        grade_url(restricted.pk),
        {"grade": G.DISCOUNTED, "seen": digest(restricted), "reason": "SECRET-REASON"},
    )
    restricted.refresh_from_db()
    assert restricted.civilian_harm == G.DISCOUNTED
    assert mail.outbox == []
    event = ReviewEvent.objects.get(action="set_grade")
    assert "SECRET-REASON" in event.comment
    client = client_of(researcher)
    log = client.get(reverse("admin:tracker_reviewevent_changelist")).content.decode()
    assert "set_grade" not in log
    event_page = reverse("admin:tracker_reviewevent_change", args=[event.pk])
    assert client.get(event_page).status_code in (302, 404)
    assert client.get(reverse("incidents:detail", args=[restricted.code])).status_code == 404
