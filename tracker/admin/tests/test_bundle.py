"""Court bundles in the admin (tracker.admin.bundle, the jobs page's download): asked for
from the incident's page, shown there as they stand, downloaded by their requester only."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from evidence import intake
from evidence.files import bundles
from evidence.tests.files import make_jpeg
from tracker import jobs
from tracker.models import Job, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(researcher):
    incident = f.IncidentFactory(created_by=researcher, title="Strike on the market")
    intake.ingest(
        io.BytesIO(make_jpeg()), filename="crater.jpg", kind="photo", by=researcher,
        incident=incident,
    )  # fmt: skip
    return incident


def bundle_url(incident) -> str:
    return reverse("admin:tracker_incident_bundle", args=[incident.pk])


def change_url(incident) -> str:
    return reverse("admin:tracker_incident_change", args=[incident.pk])


def output_url(job) -> str:
    return reverse("admin:tracker_job_output", args=[job.pk])


def bundles_of(user) -> list[Job]:
    return list(Job.objects.filter(kind=Job.Kind.BUNDLE, requested_by=user))


@pytest.fixture
def made(client, researcher, incident, django_capture_on_commit_callbacks) -> Job:
    """A court bundle the researcher asked for with the button, made."""
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(bundle_url(incident))
    (job,) = bundles_of(researcher)
    assert job.state == Job.State.DONE, job.error
    client.logout()
    return job


# --- Asking ----------------------------------------------------------------------------


def test_the_button_is_on_the_incident_page_protected_only_for_the_allowed(
    client, researcher, identity_holder, incident
):
    client.force_login(researcher)
    page = client.get(change_url(incident)).content.decode()
    assert f'action="{bundle_url(incident)}"' in page
    assert "Export court bundle</button>" in page
    assert "with protected identity</button>" not in page
    assert "csrfmiddlewaretoken" in page.split(bundle_url(incident))[1][:400]

    client.force_login(identity_holder)
    page = client.get(change_url(incident)).content.decode()
    assert 'name="include_protected" value="yes"' in page


def test_asking_makes_one_job_and_asking_twice_returns_it(client, researcher, incident):
    client.force_login(researcher)
    first = client.post(bundle_url(incident), follow=True)
    second = client.post(bundle_url(incident))

    (job,) = bundles_of(researcher)
    assert job.state == Job.State.QUEUED  # run on commit: the test's transaction never does
    assert job.target == incident.code
    assert job.arguments == {"incidents": [incident.code], "include_protected": False}
    assert second.status_code == 302 and second.url == change_url(incident) + "#bundle"
    page = first.content.decode()
    link = f"{reverse('admin:tracker_job_changelist')}?id__exact={job.pk}"
    assert f'href="{link}"' in page and f"job {job.pk}" in page
    assert "Your court bundle:" in page and "queued" in page
    # The link opens the jobs page on that job.
    listing = client.get(link)
    assert listing.status_code == 200 and list(listing.context["cl"].result_list) == [job]


def test_protected_identity_without_the_permission_is_refused(client, researcher, incident):
    client.force_login(researcher)
    answer = client.post(bundle_url(incident), {"include_protected": "yes"})
    assert answer.status_code == 403
    assert bundles_of(researcher) == []


def test_identity_holder_may_ask_for_protected_identity(client, identity_holder, incident):
    client.force_login(identity_holder)
    client.post(bundle_url(incident), {"include_protected": "yes"})
    (job,) = bundles_of(identity_holder)
    assert job.arguments["include_protected"] is True


def test_a_restricted_incident_is_not_there_and_a_get_asks_nothing(
    client, researcher, other_researcher
):
    hidden = f.IncidentFactory(created_by=other_researcher, sensitivity=Sensitivity.RESTRICTED)
    client.force_login(researcher)
    assert client.post(bundle_url(hidden)).status_code == 404
    assert client.get(bundle_url(hidden)).status_code == 302
    assert Job.objects.filter(kind=Job.Kind.BUNDLE).count() == 0


# --- The state on the incident's page and the jobs page ----------------------------------


def test_the_incident_page_shows_the_bundle_ready_with_its_download(
    client, researcher, editor, incident, made
):
    client.force_login(researcher)
    page = client.get(change_url(incident)).content.decode()
    assert "Your court bundle:" in page and "ready" in page
    assert f'href="{output_url(made)}"' in page

    client.force_login(editor)  # not theirs: no state, no link
    page = client.get(change_url(incident)).content.decode()
    assert output_url(made) not in page and "Your court bundle:" not in page


def test_the_incident_page_says_why_a_bundle_failed(client, researcher, incident):
    Job.objects.create(
        kind=Job.Kind.BUNDLE,
        target=incident.code,
        key="k",
        requested_by=researcher,
        state=Job.State.FAILED,
        error=f"No incident with code {incident.code}; nothing was exported.",
    )
    client.force_login(researcher)
    page = client.get(change_url(incident)).content.decode()
    assert f"failed: No incident with code {incident.code}" in page


def test_the_jobs_page_offers_the_download_to_the_requester_only(client, researcher, editor, made):
    listing = reverse("admin:tracker_job_changelist")
    client.force_login(researcher)
    assert f'href="{output_url(made)}"' in client.get(listing).content.decode()
    client.force_login(editor)  # sees every job, downloads none but their own
    page = client.get(listing).content.decode()
    assert f"{made.pk}</a>" in page and output_url(made) not in page


# --- Downloading -------------------------------------------------------------------------


def test_the_requester_downloads_the_zip_as_an_attachment(client, researcher, made):
    client.force_login(researcher)
    answer = client.get(output_url(made))

    assert answer.status_code == 200
    body = b"".join(answer.streaming_content)
    assert body == bundles.path_of(made.output).read_bytes()
    assert zipfile.ZipFile(io.BytesIO(body)).testzip() is None
    assert answer["Content-Type"] == "application/octet-stream"
    assert answer["Content-Disposition"] == (
        f'attachment; filename="court-bundle-{made.target}-job-{made.pk}.zip"'
    )
    assert answer["X-Content-Type-Options"] == "nosniff"
    # The admin's never_cache adds its own words to the file's "private, no-store".
    assert {"private", "no-store"} <= set(answer["Cache-Control"].split(", "))
    assert answer["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_behind_nginx_the_bundle_is_handed_over_by_its_key(client, researcher, made, settings):
    settings.TRACKER_X_ACCEL_REDIRECT_PREFIX = "/protected"
    client.force_login(researcher)
    answer = client.get(output_url(made))
    assert answer.status_code == 200 and answer.content == b""
    assert answer["X-Accel-Redirect"] == f"/protected/{made.output}"
    assert answer["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize("persona", ["other_researcher", "editor", "reviewer"])
def test_anyone_else_gets_404(request, client, made, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(output_url(made)).status_code == 404
    assert client.get(reverse("admin:tracker_job_output", args=[999999])).status_code == 404


def test_anonymous_goes_to_the_login_page(client, made):
    answer = client.get(output_url(made))
    assert answer.status_code == 302 and answer.url.startswith(reverse("admin:login"))


def test_an_expired_bundle_is_gone(client, researcher, made):
    client.force_login(researcher)
    Job.objects.filter(pk=made.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(output_url(made)).status_code == 404  # before the clock deletes it

    path = bundles.path_of(made.output)
    assert jobs.tick()["expired"] == 1
    assert not path.exists()
    assert client.get(output_url(made)).status_code == 404


def test_a_bundle_of_an_incident_now_restricted_is_not_handed_out(
    client, researcher, incident, made
):
    incident.sensitivity = Sensitivity.RESTRICTED
    incident.save()
    client.force_login(researcher)
    assert client.get(output_url(made)).status_code == 404
