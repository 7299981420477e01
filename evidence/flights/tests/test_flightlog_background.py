"""A large flight log is imported in the background (evidence.jobs.flight_log): the
upload answers once the file is kept, the job imports it as the form would have, and a
refusal, a second run, a requester gone inactive or a restricted incident are handled."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence.files import storage
from evidence.flights.tests.flightlog_helpers import EXAMPLE, HEADER, row
from evidence.models import CustodyEvent, FlightLog, FlightObservation
from tracker import jobs
from tracker.models import Job, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

ADD = reverse("admin:evidence_flightlog_add")


@pytest.fixture(autouse=True)
def every_log_is_large(settings):
    settings.TRACKER_FLIGHTLOG_BACKGROUND_BYTES = 10


def upload(client, text: str, **fields):
    data = {"file": SimpleUploadedFile("spotters.csv", text.encode(), "text/csv"), **fields}
    return client.post(ADD, data)


def job_inputs() -> list:
    folder = storage.root() / storage.JOB_INPUTS
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_large_log_is_kept_and_imported_by_a_job(client, researcher):
    client.force_login(researcher)
    incident = f.IncidentFactory(created_by=researcher)
    response = upload(client, EXAMPLE, time_zone="Asia/Damascus", incident=incident.code)
    job = Job.objects.get(kind=Job.Kind.FLIGHT_LOG)
    assert response.status_code == 302
    assert response.url == reverse("admin:tracker_job_change", args=[job.pk])
    assert not FlightLog.objects.exists() and len(job_inputs()) == 1  # not yet imported
    assert (job.target, job.requested_by) == (incident.code, researcher)

    jobs.run(job.pk)
    job.refresh_from_db()
    log = FlightLog.objects.select_related("item").get()
    assert job.state == Job.State.DONE
    assert job.message == f"Stored as {log.item.code}: 2 observations."
    assert list(log.item.incidents.all()) == [incident]
    assert log.assumed_time_zone == "Asia/Damascus" and log.item.acquired_by == researcher
    assert job_inputs() == []  # the kept upload is removed once imported
    page = client.get(reverse("admin:tracker_job_change", args=[job.pk]))
    assert log.item.code in page.text and "spotters.csv" not in page.text  # no arguments


def test_from_the_tray_the_upload_returns_to_the_incident(client, researcher):
    client.force_login(researcher)
    incident = f.IncidentFactory(created_by=researcher)
    response = client.post(
        f"{ADD}?incident={incident.code}",
        {
            "file": SimpleUploadedFile("spotters.csv", EXAMPLE.encode(), "text/csv"),
            "time_zone": "Asia/Damascus",
            "incident": incident.code,
        },
    )
    back = reverse("admin:tracker_incident_change", args=[incident.pk])
    assert response.url == f"{back}#tray"


def test_a_refused_log_fails_its_job_with_the_problems_and_keeps_nothing(client, researcher):
    client.force_login(researcher)
    upload(client, f"{HEADER}\n{row()}\n{row(heading='400')}\n")
    job = Job.objects.get()
    jobs.run(job.pk)
    job.refresh_from_db()
    assert (job.state, job.attempts) == (Job.State.FAILED, 1)  # refused: not retried
    assert "line 3, heading: 400 is not within 0-359 degrees" in job.error
    assert not FlightObservation.objects.exists() and job_inputs() == []


def test_a_second_run_imports_nothing_again(client, researcher):
    client.force_login(researcher)
    upload(client, EXAMPLE, time_zone="UTC")
    job = Job.objects.get()
    jobs.run(job.pk)
    events = CustodyEvent.objects.count()
    Job.objects.filter(pk=job.pk).update(state=Job.State.QUEUED)  # handed over twice
    assert "imported by an earlier run (2 rows)" in jobs.run(job.pk)
    assert FlightObservation.objects.count() == 2 and CustodyEvent.objects.count() == events


def test_a_requester_made_inactive_before_the_run_imports_nothing(client, researcher):
    client.force_login(researcher)
    upload(client, EXAMPLE, time_zone="UTC")
    researcher.is_active = False
    researcher.save()
    job = Job.objects.get()
    jobs.run(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "no longer active" in job.error
    assert not FlightLog.objects.exists() and job_inputs() == []


def test_an_incident_made_restricted_before_the_run_is_not_linked(client, researcher):
    client.force_login(researcher)
    incident = f.IncidentFactory(created_by=researcher)
    upload(client, EXAMPLE, time_zone="UTC", incident=incident.code)
    incident.sensitivity = Sensitivity.RESTRICTED
    incident.save()
    job = Job.objects.get()
    jobs.run(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.error == "No such incident."
    assert not FlightLog.objects.exists()


def test_a_protected_logs_refusal_does_not_repeat_its_file_name(client, researcher):
    client.force_login(researcher)
    data = {
        "file": SimpleUploadedFile("log-of-Spotter-Name.csv", b"not,a,log\n1,2\n", "text/csv"),
        "is_protected": "on",
    }
    client.post(ADD, data)
    job = Job.objects.get()
    jobs.run(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.error
    assert "Spotter-Name" not in job.error
