"""Fixtures of the capture tests: the loopback web (``site``) and a capture made now,
through the whole job (``capture_later``, the job run on commit)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from evidence.capture import capturing
from evidence.capture.tests import site
from tracker.models import Incident, Job


@pytest.fixture
def incident():
    return Incident.objects.create(
        title="Airstrike on the market", occurred_start=datetime(2019, 5, 5, 7, 30, tzinfo=UTC)
    )


@pytest.fixture
def server(settings):
    settings.TRACKER_CAPTURE_ALLOW_PRIVATE = True  # the test's own web is on loopback
    with site.serving() as base:
        yield base


@pytest.fixture
def captured(researcher, django_capture_on_commit_callbacks):
    """Capture a URL now (the job runs on commit); the job, refreshed."""

    def run(url: str, incident=None) -> Job:
        with django_capture_on_commit_callbacks(execute=True):
            job = capturing.capture_later(url, by=researcher, incident=incident)
        job.refresh_from_db()
        return job

    return run
