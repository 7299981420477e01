"""Background work (tracker.jobs): asked for once, run once, retried with a limit, never
lost, shown to whom it concerns. The queue here runs the work where it is handed over
(the immediate backend); test_jobs_queues.py runs it through the real queues."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from evidence.files import custody
from evidence.models import CustodyEvent, Derivative, EvidenceItem
from evidence.tests.files import make_jpeg
from evidence.tests.intake_helpers import ingest
from tracker import jobs
from tracker.models import Incident, Job, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def work(monkeypatch):
    """A kind of work of this test's own, whose handler does what ``plan`` says, in turn
    (a value is returned, an exception raised) and records each run."""
    state = {"runs": [], "plan": []}

    def handle(job: Job) -> str:
        state["runs"].append(job.attempts)
        outcome = state["plan"].pop(0) if state["plan"] else "done"
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setitem(jobs.HANDLERS, "test", handle)
    monkeypatch.setattr(jobs, "PERIODIC", {})  # no fixity pass started by these ticks
    return state


def due_now(job: Job) -> None:
    """Let a retry's wait pass."""
    Job.objects.filter(pk=job.pk).update(run_after=timezone.now() - timedelta(seconds=1))


def test_the_same_work_asked_for_100_times_is_one_job_run_once(
    work, researcher, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        asked = {jobs.submit("test", "EV-000001", by=researcher).pk for _ in range(100)}
    assert len(asked) == 1
    job = Job.objects.get()
    assert (job.state, job.attempts, job.message) == (Job.State.DONE, 1, "done")
    assert work["runs"] == [1]
    # Finished: the same work asked for again is a new job.
    with django_capture_on_commit_callbacks(execute=True):
        again = jobs.submit("test", "EV-000001", by=researcher)
    assert again.pk not in asked and Job.objects.count() == 2


def test_a_job_asked_for_in_a_transaction_that_rolls_back_is_not_asked_for(work):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        jobs.submit("test", "EV-000001")
        raise RuntimeError("the upload failed")
    assert not Job.objects.exists() and work["runs"] == []


def test_a_job_is_claimed_by_one_run_only(work):
    job = jobs.submit("test")
    first = jobs.claim(job.pk)
    assert first is not None and first.state == Job.State.RUNNING and first.run_token
    assert jobs.claim(job.pk) is None  # a second worker given the same job
    assert "nothing to do" in jobs.run(job.pk)
    assert work["runs"] == []


def test_a_job_that_raises_is_retried_then_failed_with_its_error(
    work, django_capture_on_commit_callbacks
):
    work["plan"] = [OSError("disk busy"), OSError("disk busy"), OSError("disk gone")]
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit("test")
    job.refresh_from_db()
    assert (job.state, job.attempts, job.error) == (Job.State.QUEUED, 1, "OSError: disk busy")
    assert job.run_after > timezone.now() + timedelta(seconds=20)  # it waits (backoff)
    assert jobs.tick()["handed_over"] == 0  # not yet due
    due_now(job)
    assert jobs.tick()["handed_over"] == 1  # the clock hands it over; it fails again
    job.refresh_from_db()
    assert (job.state, job.attempts) == (Job.State.QUEUED, 2)
    due_now(job)
    jobs.tick()
    job.refresh_from_db()
    assert (job.state, job.attempts, job.error) == (Job.State.FAILED, 3, "OSError: disk gone")
    assert job.finished_at is not None
    assert work["runs"] == [1, 2, 3]
    due_now(job)
    jobs.tick()
    assert work["runs"] == [1, 2, 3]  # failed is final: never run again by itself


def test_backoff_grows_and_is_bounded():
    waits = [jobs.backoff(n).total_seconds() for n in range(1, 8)]
    assert waits[:3] == [30, 120, 480]
    assert waits == sorted(waits) and max(waits) == 3600


def test_a_refused_job_fails_at_once_without_retry(work, django_capture_on_commit_callbacks):
    work["plan"] = [jobs.Refused("INC-0007 is not yours to export.")]
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit("test")
    job.refresh_from_db()
    assert (job.state, job.attempts) == (Job.State.FAILED, 1)
    assert job.error == "INC-0007 is not yours to export."


def test_an_unknown_kind_fails_with_a_clear_error(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit("no-such-work")
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "no-such-work" in job.error


def test_a_job_whose_worker_died_is_queued_again_and_finished(work):
    job = jobs.submit("test")
    jobs.claim(job.pk)  # a worker took it, then was killed: its lease lapses
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    done = jobs.tick()
    assert done["requeued"] == 1 and done["handed_over"] == 1
    job.refresh_from_db()
    assert (job.state, job.attempts) == (Job.State.DONE, 2)
    assert work["runs"] == [2]


def test_a_running_job_within_its_lease_is_left_alone(work):
    job = jobs.submit("test")
    jobs.claim(job.pk)
    assert jobs.tick()["requeued"] == 0
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING


def test_a_dead_workers_last_attempt_fails_the_job(work):
    job = jobs.submit("test", max_attempts=1)
    jobs.claim(job.pk)
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert jobs.tick()["failed"] == 1
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "stopped without finishing" in job.error


def test_a_run_whose_lease_was_taken_records_nothing(work):
    """A slow run whose lease lapsed and was given to another run: its end is not
    recorded over the other run's (run tokens)."""
    job = jobs.submit("test")
    slow = jobs.claim(job.pk)
    Job.objects.filter(pk=job.pk).update(state=Job.State.QUEUED)
    fresh = jobs.claim(job.pk)
    assert slow.run_token != fresh.run_token
    jobs._finish(slow, Job.State.DONE, message="slow")
    assert not jobs.holds(slow) and jobs.holds(fresh)
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING and job.message == ""


def test_progress_renews_the_lease_of_the_holding_run_only(work):
    job = jobs.submit("test")
    run = jobs.claim(job.pk)
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now())
    jobs.progress(run, 3, 10)
    job.refresh_from_db()
    assert (job.done_count, job.total_count) == (3, 10)
    assert job.lease_until > timezone.now() + timedelta(seconds=60)


def test_a_queue_that_cannot_be_reached_loses_nothing(
    work, settings, django_capture_on_commit_callbacks
):
    """Redis down: the job stays queued in the database; the clock hands it over when the
    queue answers again (test_jobs_queues.py stops and starts a real Redis)."""
    immediate = settings.TASKS
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0?socket_connect_timeout=1"}}
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit("test")
    job.refresh_from_db()
    assert (job.state, job.handed_over_at) == (Job.State.QUEUED, None)
    assert jobs.tick()["handed_over"] == 0  # still down
    settings.TASKS = immediate
    assert jobs.tick()["handed_over"] == 1
    job.refresh_from_db()
    assert (job.state, job.message) == (Job.State.DONE, "done")


def test_a_job_the_queue_lost_is_handed_over_again(work):
    job = jobs.submit("test")
    Job.objects.filter(pk=job.pk).update(handed_over_at=timezone.now())
    assert jobs.tick()["handed_over"] == 0  # handed over a moment ago: the queue has it
    Job.objects.filter(pk=job.pk).update(
        handed_over_at=timezone.now() - jobs.STALE_HAND_OVER - timedelta(seconds=1)
    )
    assert jobs.tick()["handed_over"] == 1
    job.refresh_from_db()
    assert job.state == Job.State.DONE


def test_periodic_work_starts_once_per_period(work, monkeypatch):
    monkeypatch.setattr(jobs, "PERIODIC", {"test": lambda: timedelta(hours=24)})
    assert jobs.tick()["started"] == 1
    assert jobs.tick()["started"] == 0
    Job.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert jobs.tick()["started"] == 1
    assert Job.objects.filter(kind="test", target="").count() == 2


def test_an_editor_tries_a_failed_job_again(work, django_capture_on_commit_callbacks):
    work["plan"] = [jobs.Refused("not now")]
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit("test")
    job.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.retry(job)
    job.refresh_from_db()
    assert (job.state, job.attempts, job.message) == (Job.State.DONE, 1, "done")
    assert not jobs.retry(job)  # only a failed job


def test_a_failed_job_is_not_tried_again_beside_a_newer_one(work):
    failed = Job.objects.create(kind="test", key="test:", state=Job.State.FAILED)
    jobs.submit("test")  # the same work, asked for again
    assert not jobs.retry(failed)
    failed.refresh_from_db()
    assert failed.state == Job.State.FAILED


# --- derivatives, the first work moved off the request -----------------------------------


def test_an_upload_answers_before_its_thumbnails_which_say_pending(researcher):
    """Without the commit's callbacks run, the item is stored and hashed, its
    derivatives job queued, and its pages say so."""
    item = ingest(make_jpeg(), by=researcher).item
    assert not Derivative.objects.filter(item=item).exists()
    job = Job.objects.get(kind=Job.Kind.DERIVATIVES, target=item.code)
    assert job.state == Job.State.QUEUED and job.requested_by == researcher
    jobs.run(job.pk)
    item.refresh_from_db()
    assert set(item.derivatives.values_list("kind", flat=True)) == {"thumbnail", "preview"}
    assert item.perceptual_hash


def test_the_item_page_shows_derivatives_pending_with_the_job(client, researcher):
    item = ingest(make_jpeg(), by=researcher).item
    client.force_login(researcher)
    page = client.get(reverse("admin:evidence_evidenceitem_change", args=[item.pk]))
    job = Job.objects.get(target=item.code)
    assert f"derivatives pending: job {job.pk}, queued" in page.text
    jobs.run(job.pk)
    page = client.get(reverse("admin:evidence_evidenceitem_change", args=[item.pk]))
    assert "derivatives pending" not in page.text and "evidence-preview" in page.text


def test_the_tray_and_the_incident_page_say_thumbnail_pending(client, researcher):
    incident = f.IncidentFactory(created_by=researcher)
    item = ingest(make_jpeg(), by=researcher, incident=incident).item
    client.force_login(researcher)
    tray = client.get(reverse("admin:tracker_incident_change", args=[incident.pk]))
    assert "thumbnail pending" in tray.text
    page = client.get(f"/incidents/{incident.code}/")
    assert "thumbnail pending" in page.text
    jobs.run(Job.objects.get(target=item.code).pk)
    assert "thumbnail pending" not in client.get(f"/incidents/{incident.code}/").text


def test_derivatives_made_twice_change_nothing_the_second_time(
    researcher, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        item = ingest(make_jpeg(), by=researcher).item
    made = list(Derivative.objects.filter(item=item).values_list("kind", "sha256", "created_at"))
    events = CustodyEvent.objects.filter(item=item).count()
    with django_capture_on_commit_callbacks(execute=True):
        second = jobs.submit(Job.Kind.DERIVATIVES, item.code)
    second.refresh_from_db()
    assert second.state == Job.State.DONE and "already made" in second.message
    assert (
        list(Derivative.objects.filter(item=item).values_list("kind", "sha256", "created_at"))
        == made
    )
    assert CustodyEvent.objects.filter(item=item).count() == events
    assert custody.verify_chain(item) == []


def test_a_job_for_an_item_that_is_not_there_is_nothing_to_do():
    """Items are never deleted (their custody log protects them), but a job may name
    one that is not there (a typed code, a restored older database)."""
    job = jobs.submit(Job.Kind.DERIVATIVES, "EV-999999")
    assert not EvidenceItem.objects.filter(code="EV-999999").exists()
    assert "no longer exists" in jobs.run(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.DONE


# --- the jobs page -----------------------------------------------------------------------


def jobs_page(client, user, query: str = ""):
    client.force_login(user)
    return client.get(reverse("admin:tracker_job_changelist") + query)


def test_each_role_sees_its_own_jobs_and_editors_every_job(client, researcher, reviewer, editor):
    mine = jobs.submit("fixity", "EV-000101", by=researcher)
    theirs = jobs.submit("fixity", "EV-000202", by=reviewer)
    page = jobs_page(client, researcher)
    assert "EV-000101" in page.text and "EV-000202" not in page.text
    other = reverse("admin:tracker_job_change", args=[theirs.pk])
    assert client.get(other).status_code == 302  # Django's "does not exist" for the admin
    page = jobs_page(client, editor)
    assert "EV-000101" in page.text and "EV-000202" in page.text
    assert mine.pk != theirs.pk


def test_jobs_of_a_restricted_incidents_items_are_hidden_from_the_team(client, researcher, editor):
    secret = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=researcher)
    item = ingest(make_jpeg(), by=None, incident=secret).item  # asked for by nobody
    jobs.submit("bundle", secret.code, by=editor)
    page = jobs_page(client, editor)
    assert item.code not in page.text and secret.code not in page.text
    assert Incident.objects.filter(code=secret.code).exists()


def test_only_editors_may_try_failed_jobs_again(client, researcher, editor):
    job = Job.objects.create(
        kind="fixity", key="x", state=Job.State.FAILED, requested_by=researcher, error="boom"
    )
    data = {"action": "try_again", "_selected_action": [job.pk]}
    jobs_page(client, researcher)
    client.post(reverse("admin:tracker_job_changelist"), data)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    jobs_page(client, editor)
    client.post(reverse("admin:tracker_job_changelist"), data)
    job.refresh_from_db()
    assert job.state != Job.State.FAILED


def test_a_job_cannot_be_added_changed_or_deleted_by_hand(client, editor):
    job = jobs.submit("fixity", by=editor)
    client.force_login(editor)
    assert client.get(reverse("admin:tracker_job_add")).status_code == 403
    assert client.post(reverse("admin:tracker_job_delete", args=[job.pk])).status_code == 403
    page = client.post(reverse("admin:tracker_job_change", args=[job.pk]), {"state": "done"})
    assert page.status_code == 403
    job.refresh_from_db()
    assert job.state == Job.State.QUEUED


def test_the_jobs_page_costs_the_same_queries_for_many_jobs(client, editor):
    client.force_login(editor)

    def queries() -> int:
        with CaptureQueriesContext(connection) as seen:
            assert client.get(reverse("admin:tracker_job_changelist")).status_code == 200
        return len(seen)

    Job.objects.bulk_create(Job(kind="fixity", key=f"a{n}", requested_by=editor) for n in range(3))
    few = queries()
    Job.objects.bulk_create(
        Job(kind="fixity", key=f"b{n}", requested_by=editor, state=Job.State.DONE)
        for n in range(500)
    )
    assert queries() == few
