"""Background work through the API: a court bundle and a capture asked for as jobs (by the
services the admin's buttons call, with their refusals), the caller's jobs as the jobs
page shows them, and a bundle's download for the one who asked for it only."""

from __future__ import annotations

import io
import zipfile

import pytest

from evidence import intake
from evidence.files import bagging
from evidence.tests.files import make_jpeg
from tracker.api.tests.calls import problem, token_client
from tracker.models import Job, ReviewStatus, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db
BUNDLES = "/api/jobs/bundles/"
CAPTURES = "/api/jobs/captures/"


def ask(client, path: str, body: dict, capture=None):
    if capture is None:
        return client.post(path, body, content_type="application/json")
    with capture(execute=True):
        return client.post(path, body, content_type="application/json")


def test_a_bundle_is_a_job_and_its_zip_is_for_the_one_who_asked(
    researcher, other_researcher, editor, django_capture_on_commit_callbacks
):
    incident = f.IncidentFactory()
    intake.ingest(
        io.BytesIO(make_jpeg()), filename="a.jpg", kind="photo", by=researcher, incident=incident
    )
    client = token_client(researcher)
    response = ask(
        client, BUNDLES, {"incidents": [incident.code]}, django_capture_on_commit_callbacks
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == body["url"]
    assert type(response["Location"]) is str  # WSGI servers refuse a subclass (a 500)
    job = Job.objects.get(pk=body["id"])
    assert job.kind == Job.Kind.BUNDLE and job.requested_by == researcher
    done = client.get(body["url"]).json()
    assert done["state"] == "done", done["error"]
    assert done["download"].endswith(f"/api/jobs/{job.pk}/download/")

    got = client.get(done["download"])
    assert got.status_code == 200
    assert got["Content-Disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(b"".join(got.streaming_content))) as bundle:
        assert any(name.endswith("bagit.txt") for name in bundle.namelist())

    for other in (other_researcher, editor):  # nobody else, editors included
        someone = token_client(other)
        assert someone.get(f"/api/jobs/{job.pk}/download/").status_code == 404
        shown = someone.get(f"/api/jobs/{job.pk}/")
        assert shown.status_code == (200 if other == editor else 404)
        if other == editor:
            assert shown.json()["download"] is None


def test_asking_twice_is_the_same_unfinished_job(researcher):
    incident = f.IncidentFactory()
    client = token_client(researcher)
    first = ask(client, BUNDLES, {"incidents": [incident.code]}).json()
    again = ask(client, BUNDLES, {"incidents": [incident.code]}).json()
    assert first["id"] == again["id"] and Job.objects.count() == 1


def test_a_restricted_incident_is_refused_as_an_unknown_one(researcher):
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    client = token_client(researcher)
    hidden = problem(ask(client, BUNDLES, {"incidents": [restricted.code]}))
    unknown = problem(ask(client, BUNDLES, {"incidents": ["INC-9999"]}))
    assert hidden["status"] == unknown["status"] == 400
    assert hidden["errors"]["incidents"][0].replace(restricted.code, "X") == unknown["errors"][
        "incidents"
    ][0].replace("INC-9999", "X")
    assert not Job.objects.exists()


def test_protected_identity_in_a_bundle_needs_the_permission(researcher, identity_holder):
    incident = f.IncidentFactory()
    body = {"incidents": [incident.code], "include_protected": True}
    refused = ask(token_client(researcher), BUNDLES, body)
    assert refused.status_code == 403
    assert problem(refused)["detail"] == bagging.PROTECTED_REFUSED
    assert ask(token_client(identity_holder), BUNDLES, body).status_code == 202


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"incidents": []},
        {"incidents": "INC-0001"},
        {"incidents": [f"INC-{n:04d}" for n in range(101)]},
        {"incidents": ["INC-0001"], "include_protected": "perhaps"},
        {"incidents": ["INC-0001"], "everything": True},
    ],
)
def test_a_bad_bundle_request_is_a_400(researcher, body):
    f.IncidentFactory(code="INC-0001")
    response = ask(token_client(researcher), BUNDLES, body)
    assert response.status_code == 400 and problem(response)["errors"]
    assert not Job.objects.exists()


def test_a_capture_is_a_job_linked_to_the_incident(researcher):
    incident = f.IncidentFactory()
    body = {"url": "https://example.org/post/1", "incident": incident.code}
    response = ask(token_client(researcher), CAPTURES, body)  # not run: no network here
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.kind == Job.Kind.CAPTURE and job.requested_by == researcher
    assert job.arguments == {"url": "https://example.org/post/1", "incident": incident.code}


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "javascript:alert(1)", "https://", "gopher://example.org/"]
)
def test_a_link_that_will_not_be_fetched_is_refused_with_the_reason(researcher, url):
    response = ask(token_client(researcher), CAPTURES, {"url": url})
    assert response.status_code == 400 and problem(response)["errors"]["url"]
    assert not Job.objects.exists()


def test_a_capture_for_a_locked_or_hidden_incident_is_refused(researcher):
    client = token_client(researcher)
    locked = f.IncidentFactory(status=ReviewStatus.VERIFIED)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    url = "https://example.org/"
    assert ask(client, CAPTURES, {"url": url, "incident": locked.code}).status_code == 400
    hidden = problem(ask(client, CAPTURES, {"url": url, "incident": restricted.code}))
    assert hidden["errors"]["incident"] == [f"No incident with code {restricted.code}."]
    assert not Job.objects.exists()


def test_an_account_that_may_not_add_evidence_cannot_ask_for_a_capture(db):
    from django.contrib.auth.models import Permission

    reader = f.UserFactory(username="reader")
    reader.user_permissions.add(Permission.objects.get(codename="view_evidenceitem"))
    response = ask(token_client(reader), CAPTURES, {"url": "https://example.org/"})
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_each_sees_their_own_jobs_and_editors_every_job_they_may_know_of(
    researcher, other_researcher, editor
):
    mine = ask(token_client(researcher), CAPTURES, {"url": "https://example.org/a"}).json()
    theirs = ask(token_client(other_researcher), CAPTURES, {"url": "https://example.org/b"})
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    Job.objects.create(kind=Job.Kind.CAPTURE, target=restricted.code, key="capture:hidden")

    listed = token_client(researcher).get("/api/jobs/").json()["results"]
    assert [job["id"] for job in listed] == [mine["id"]]
    assert token_client(researcher).get(theirs.json()["url"]).status_code == 404
    every = {job["id"] for job in token_client(editor).get("/api/jobs/").json()["results"]}
    assert every == {mine["id"], theirs.json()["id"]}  # not the restricted incident's


def test_a_write_only_token_asks_but_does_not_read_jobs(researcher):
    client = token_client(researcher, ["write"])
    assert ask(client, CAPTURES, {"url": "https://example.org/"}).status_code == 202
    assert client.get("/api/jobs/").status_code == 403
