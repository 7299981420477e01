"""An adversary's review of the API's newer endpoints: streamed uploads, jobs (bundles,
captures, the list, a bundle's download), flight observations and a reviewer's
confirmation, postings, attributions and an incident's chain of command.

Each test asserts the safe behaviour: one named ``test_hole_…`` failed when it was
written (a hole); the others confirmed a rule that held."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Permission, User

from evidence import jobs as evidence_jobs
from evidence.flights.tests.flightlog_helpers import EXAMPLE
from evidence.models import CustodyEvent, EvidenceItem, EvidenceLink, FlightMatch
from evidence.tests.files import make_jpeg
from evidence.tests.test_restricted_items import named
from tracker.api.tests.calls import problem, stored, token_client
from tracker.models import Job, ReviewStatus, Sensitivity
from tracker.tests import factories as f
from tracker.tests.seed import ensure_seed_data

pytestmark = pytest.mark.django_db
BUNDLES = "/api/jobs/bundles/"
CAPTURES = "/api/jobs/captures/"
JOBS = "/api/jobs/"
STREAM = "/api/evidence/stream/"
OBSERVATIONS = "/api/flight-observations/"
ATTRIBUTIONS = "/api/attributions/"
WITNESS = "Amal Haddad"


def ask(client, path: str, body: dict):
    return client.post(path, body, content_type="application/json")


def streamed(client, data: bytes, name: str, **fields):
    query = urlencode({"filename": name, **fields})
    return client.post(f"{STREAM}?{query}", data, content_type="application/octet-stream")


def staff_with(*perms: str, username: str = "narrow") -> User:
    """An active staff account an administrator gave only ``perms`` ("app.codename")."""
    ensure_seed_data()
    user = User.objects.create_user(username, password="x", is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    return user


# --- HOLE: a bundle of several incidents is a job named by its first code only ---------------


def test_hole_a_bundle_job_names_a_restricted_incident_to_editors(
    researcher, other_researcher, editor, django_capture_on_commit_callbacks
):
    """The admin makes a bundle of one incident (its target: that incident, hidden with
    it). The API takes many: the job's target is the first code only, so a named
    colleague's bundle of an open and a restricted incident is listed to every Editor
    (``manage_job``), its message naming the restricted incident's code."""
    named(other_researcher)
    open_incident = f.IncidentFactory()
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    assert open_incident.code < restricted.code  # the open one is the job's target
    stored(make_jpeg(), by=other_researcher, incident=restricted)
    with django_capture_on_commit_callbacks(execute=True):
        asked = ask(
            token_client(other_researcher),
            BUNDLES,
            {"incidents": [open_incident.code, restricted.code]},
        )
    assert asked.status_code == 202, asked.content
    job = Job.objects.get(pk=asked.json()["id"])
    assert job.state == Job.State.DONE, job.error
    assert restricted.code in job.message  # (the jobs page's words)

    client = token_client(editor)
    listed = client.get(JOBS)
    assert restricted.code not in listed.content.decode()
    shown = client.get(f"{JOBS}{job.pk}/")
    assert shown.status_code == 404 or restricted.code not in shown.content.decode()


# --- HOLE: the jobs API skips the admin's view permission on jobs ----------------------------


def test_hole_jobs_are_listed_to_an_account_without_view_job(db):
    """The jobs page needs ``tracker.view_job`` (every role has it); an account an
    administrator gave only what a capture needs reads its jobs through the API."""
    user = staff_with("evidence.view_evidenceitem", "evidence.add_evidenceitem")
    client = token_client(user)
    asked = ask(client, CAPTURES, {"url": "https://example.org/"})
    assert asked.status_code == 202  # as the admin's capture page allows
    assert client.get(JOBS).status_code == 403
    assert client.get(f"{JOBS}{asked.json()['id']}/").status_code in (403, 404)


# --- HOLE: a court bundle without the permission to view incidents --------------------------


def test_hole_a_bundle_of_incidents_for_an_account_that_may_not_view_incidents(db):
    """The admin's bundle button is on an incident's page (``tracker.view_incident``);
    the API bundles incidents by code for an account that may view evidence only, and
    its 400 for an unknown code against 202 for a real one tells which codes exist."""
    user = staff_with("evidence.view_evidenceitem")
    incident = f.IncidentFactory()
    response = ask(token_client(user), BUNDLES, {"incidents": [incident.code]})
    assert response.status_code == 403, response.content
    assert not Job.objects.exists()


# --- HOLE: the chain of command names the attributed units without view_attribution ---------


def test_hole_chain_of_command_shows_attributions_to_an_account_without_view_attribution(db):
    """The admin shows the chain of command in the attributions inline only (which needs
    ``tracker.view_attribution``); the API's record gives it for ``view_position``, and
    each entry names the attributed unit: the attribution itself."""
    user = staff_with("tracker.view_incident", "tracker.view_position")
    brigade = f.UnitFactory(name="42nd Brigade")
    f.PositionFactory(
        official=f.OfficialFactory(name="Chief"), unit=brigade, start=date(2018, 1, 1)
    )
    incident = f.IncidentFactory(
        occurred_start=datetime(2019, 5, 13, 7, 0, tzinfo=UTC), start_precision="day"
    )
    f.AttributionFactory(incident=incident, unit=brigade)
    body = token_client(user, ["read"]).get(f"/api/incidents/{incident.code}/").json()
    assert "attributions" not in body
    assert "42nd Brigade" not in json.dumps(body), body.get("chain_of_command")


# --- HOLE: a set-aside copy's protected file name in the held item's custody log -------------


def test_hole_a_streamed_protected_copy_of_a_hidden_item_puts_its_file_name_in_the_open(
    researcher, other_researcher
):
    """A researcher streams a protected file (its name names the witness) whose bytes are
    held in an item behind a restricted incident: set aside (202), and its file name is
    written to the held item's custody log under "filename". The held item is not
    protected, so the named colleague (no ``view_protected_identity``) reads the witness's
    name in that log."""
    named(other_researcher)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    data = make_jpeg(make="Canon")
    held = stored(data, by=other_researcher, incident=restricted)
    assert not held.is_protected
    response = streamed(
        token_client(researcher), data, f"interview {WITNESS}.jpg", is_protected="true"
    )
    assert response.status_code == 202, response.content
    assert CustodyEvent.objects.filter(item=held, action=CustodyEvent.Action.DUPLICATE).exists()

    custody = token_client(other_researcher).get(f"/api/evidence/{held.code}/custody/")
    assert custody.status_code == 200
    assert WITNESS not in custody.content.decode()


# --- HOLE?: a job with no target whose message names an item hidden since ------------------


def test_hole_a_flight_log_job_names_an_item_that_is_hidden_since(
    researcher, other_researcher, editor, django_capture_on_commit_callbacks
):
    """A flight log imported with no incident is a job with no target, its message
    "Stored as EV-…". Once a named colleague links the log to a restricted incident
    only, the item is hidden from the team; the job still names it to its requester and
    to every Editor."""
    named(other_researcher)
    with django_capture_on_commit_callbacks(execute=True):
        job = evidence_jobs.import_flight_log_later(
            io.BytesIO(EXAMPLE.encode()),
            filename="spotters.csv",
            by=other_researcher,
            time_zone="Asia/Damascus",
        )
    job.refresh_from_db()
    assert job.state == Job.State.DONE, job.error
    log_item = EvidenceItem.objects.get(kind=EvidenceItem.Kind.FLIGHT_LOG)
    assert log_item.code in job.message
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    EvidenceLink.objects.create(item=log_item, incident=restricted)
    assert token_client(editor).get(f"/api/evidence/{log_item.code}/").status_code == 404

    assert log_item.code not in token_client(editor).get(JOBS).content.decode()


# --- What held ---------------------------------------------------------------------------------


def test_a_capture_job_for_a_restricted_incident_is_absent_for_the_team(
    researcher, other_researcher, editor
):
    named(other_researcher)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    asked = ask(
        token_client(other_researcher),
        CAPTURES,
        {"url": "https://example.org/x", "incident": restricted.code},
    )
    assert asked.status_code == 202
    job_id = asked.json()["id"]
    for user in (editor, researcher):
        client = token_client(user)
        assert restricted.code not in client.get(JOBS).content.decode()
        assert client.get(f"{JOBS}{job_id}/").status_code == 404
        assert client.get(f"{JOBS}{job_id}/download/").status_code == 404
    # Restricted first in a bundle: the job is hidden with it.
    open_incident = f.IncidentFactory()
    assert restricted.code < open_incident.code
    bundle = ask(
        token_client(other_researcher),
        BUNDLES,
        {"incidents": [open_incident.code, restricted.code]},
    )
    assert token_client(editor).get(f"{JOBS}{bundle.json()['id']}/").status_code == 404


def test_a_bundle_naming_open_and_hidden_codes_reads_as_one_with_an_unknown(researcher):
    open_incident = f.IncidentFactory()
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    client = token_client(researcher)
    hidden = problem(ask(client, BUNDLES, {"incidents": [open_incident.code, restricted.code]}))
    unknown = problem(ask(client, BUNDLES, {"incidents": [open_incident.code, "INC-9999"]}))
    assert hidden["errors"]["incidents"][0].replace(restricted.code, "X") == unknown["errors"][
        "incidents"
    ][0].replace("INC-9999", "X")
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        [],
        "INC-0001",
        {"incidents": [None]},
        {"incidents": [""]},
        {"incidents": ["x" * 21]},
        {"incidents": ["INC-0001"], "include_protected": None},
        {"incidents": [["INC-0001"]]},
    ],
)
def test_odd_bundle_bodies_are_a_400(researcher, body):
    f.IncidentFactory(code="INC-0001")
    response = token_client(researcher).post(BUNDLES, body, content_type="application/json")
    assert response.status_code == 400, response.content
    problem(response)
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        f"{JOBS}99999999999999999999999/",
        f"{JOBS}-1/",
        f"{JOBS}abc/",
        f"{JOBS}99999999999999999999999/download/",
        f"{OBSERVATIONS}99999999999999999999999/",
        f"{ATTRIBUTIONS}99999999999999999999999/",
        "/api/postings/99999999999999999999999/",
        f"{OBSERVATIONS}?observed_after=yesterday",
        f"{OBSERVATIONS}?log={'x' * 21}",
        f"{ATTRIBUTIONS}?official=abc",
        f"{ATTRIBUTIONS}?status=bogus",
        f"{ATTRIBUTIONS}?incident={'x' * 21}",
        "/api/postings/?unit=0",
        f"{JOBS}?cursor=forged",
        f"{OBSERVATIONS}?cursor=forged",
    ],
)
def test_bad_ids_and_filters_are_4xx_never_500(researcher, path):
    response = token_client(researcher).get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code)
    problem(response)


def test_a_hidden_log_is_unknown_in_the_observations(researcher, other_researcher):
    named(other_researcher)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    hidden = f.FlightObservationFactory()
    EvidenceLink.objects.create(item=hidden.log.item, incident=restricted)
    seen = f.FlightObservationFactory()
    client = token_client(researcher)
    listed = client.get(OBSERVATIONS).json()["results"]
    assert [o["id"] for o in listed] == [seen.pk]
    by_hidden = client.get(OBSERVATIONS, {"log": hidden.log.item.code})
    by_unknown = client.get(OBSERVATIONS, {"log": "EV-99999"})
    assert by_hidden.status_code == by_unknown.status_code == 200
    assert by_hidden.json() == by_unknown.json() == {"next": None, "results": []}
    assert client.get(f"{OBSERVATIONS}{hidden.pk}/").status_code == 404
    assert token_client(other_researcher).get(f"{OBSERVATIONS}{hidden.pk}/").status_code == 200


def test_attributions_of_a_restricted_incident_are_absent(researcher, other_researcher):
    named(other_researcher)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    hidden = f.AttributionFactory(incident=restricted, basis="Secret intercept")
    shown = f.AttributionFactory()
    client = token_client(researcher)
    listed = client.get(ATTRIBUTIONS)
    assert [a["id"] for a in listed.json()["results"]] == [shown.pk]
    assert "Secret intercept" not in listed.content.decode()
    assert client.get(ATTRIBUTIONS, {"incident": restricted.code}).json()["results"] == []
    assert client.get(f"{ATTRIBUTIONS}{hidden.pk}/").status_code == 404
    assert token_client(other_researcher).get(f"{ATTRIBUTIONS}{hidden.pk}/").status_code == 200


def test_a_visible_attribution_lists_only_the_support_the_caller_may_know(
    researcher, other_researcher
):
    named(other_researcher)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    incident = f.IncidentFactory()
    item = stored(make_jpeg(), by=other_researcher, incident=incident)
    EvidenceLink.objects.create(item=item, incident=restricted)
    attribution = f.AttributionFactory(incident=incident)
    attribution.supporting_evidence.add(item)
    body = token_client(researcher).get(f"{ATTRIBUTIONS}{attribution.pk}/").json()
    assert body["supporting_evidence"] == [item.code]  # visible: linked to an open incident
    assert restricted.code not in json.dumps(body)


def test_confirming_a_flight_keeps_the_rules(researcher, reviewer, other_researcher):
    named(other_researcher)
    incident = f.IncidentFactory(
        occurred_start=datetime(2019, 5, 13, 6, 45, tzinfo=UTC), start_precision="minute"
    )
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    hidden = f.FlightObservationFactory()
    EvidenceLink.objects.create(item=hidden.log.item, incident=restricted)
    seen = f.FlightObservationFactory()
    url = f"/api/incidents/{incident.code}/flights/confirm/"

    # Scopes and the reviewer's permission.
    assert (
        ask(token_client(reviewer, ["read", "write"]), url, {"observation": seen.pk}).status_code
        == 403
    )
    assert ask(token_client(researcher), url, {"observation": seen.pk}).status_code == 403
    client = token_client(reviewer, ["review"])
    # A hidden log's line is unknown; a restricted incident is 404.
    hidden_answer = problem(ask(client, url, {"observation": hidden.pk}))
    unknown_answer = problem(ask(client, url, {"observation": 10**9}))
    assert hidden_answer == unknown_answer
    assert (
        ask(
            client, f"/api/incidents/{restricted.code}/flights/confirm/", {"observation": seen.pk}
        ).status_code
        == 404
    )
    # An attribution of a restricted incident is another incident's.
    other = f.AttributionFactory(incident=restricted)
    assert ask(client, url, {"observation": seen.pk, "attribution": other.pk}).status_code == 400
    assert not FlightMatch.objects.exists()

    assert ask(client, url, {"observation": seen.pk}).status_code == 201
    again = ask(client, url, {"observation": seen.pk})
    assert again.status_code == 400 and problem(again)
    assert FlightMatch.objects.count() == 1


def test_confirming_a_flight_for_a_locked_incident_writes_nothing(reviewer):
    incident = f.IncidentFactory(status=ReviewStatus.VERIFIED)
    seen = f.FlightObservationFactory()
    response = ask(
        token_client(reviewer, ["review"]),
        f"/api/incidents/{incident.code}/flights/confirm/",
        {"observation": seen.pk, "note": "n"},
    )
    assert 400 <= response.status_code < 500
    problem(response)
    assert not FlightMatch.objects.exists()
    assert not EvidenceLink.objects.filter(incident=incident).exists()


def test_a_streamed_protected_file_keeps_its_name_from_the_team(researcher, editor):
    response = streamed(
        token_client(researcher), make_jpeg(), f"interview {WITNESS}.jpg", is_protected="true"
    )
    assert response.status_code == 201, response.content
    code = response.json()["code"]
    client = token_client(editor)
    for path in (
        f"/api/evidence/{code}/",
        "/api/evidence/",
        JOBS,
        f"/api/evidence/{code}/custody/",
    ):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert WITNESS not in answer.content.decode(), path


def test_a_streamed_upload_to_a_hidden_or_locked_incident_stores_nothing(researcher):
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    locked = f.IncidentFactory(status=ReviewStatus.VERIFIED)
    client = token_client(researcher)
    hidden = problem(streamed(client, make_jpeg(), "a.jpg", incident=restricted.code))
    unknown = problem(streamed(client, make_jpeg(), "a.jpg", incident="INC-9999"))
    assert hidden["status"] == unknown["status"] == 400
    assert hidden["errors"]["incident"][0].replace(restricted.code, "X") == unknown["errors"][
        "incident"
    ][0].replace("INC-9999", "X")
    assert streamed(client, make_jpeg(), "a.jpg", incident=locked.code).status_code == 400
    assert streamed(client, make_jpeg(), "a\x00.jpg").status_code == 400
    assert not EvidenceItem.objects.exists() and not Job.objects.exists()


def test_a_write_only_token_learns_nothing_of_a_hidden_duplicate(researcher, other_researcher):
    named(other_researcher)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    data = make_jpeg(make="Fuji")
    held = stored(data, by=other_researcher, incident=restricted)
    answer = streamed(token_client(researcher, ["write"]), data, "copy.jpg")
    fresh = streamed(token_client(researcher, ["write"]), make_jpeg(make="Sony"), "new.jpg")
    assert answer.status_code == 202 and held.code not in answer.content.decode()
    assert fresh.status_code == 201 and set(fresh.json()) == {"code", "duplicate"}


def test_the_jobs_of_a_hidden_item_are_absent_for_the_team(
    researcher, other_researcher, editor, django_capture_on_commit_callbacks
):
    named(other_researcher)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    with django_capture_on_commit_callbacks(execute=True):
        hidden = stored(make_jpeg(), by=other_researcher, incident=restricted)
    job = Job.objects.get(kind=Job.Kind.DERIVATIVES, target=hidden.code)
    for user in (editor, researcher):
        client = token_client(user)
        assert hidden.code not in client.get(JOBS).content.decode()
        assert client.get(f"{JOBS}{job.pk}/").status_code == 404
    assert token_client(other_researcher).get(f"{JOBS}{job.pk}/").status_code == 200


def test_a_streamed_detail_given_twice_is_refused(researcher):
    client = token_client(researcher)
    query = "filename=a.jpg&is_protected=true&is_protected=false"
    response = client.post(
        f"{STREAM}?{query}", make_jpeg(), content_type="application/octet-stream"
    )
    assert response.status_code == 400 and problem(response)["errors"]["is_protected"]
    assert not EvidenceItem.objects.exists()
