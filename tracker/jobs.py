"""Background work: ask for it, run it once, retry it, and never lose it.

Every face (upload, tray, commands, admin) asks for slow work with ``submit``; a
worker runs it with ``run``; each worker's clock calls ``tick``. The ``Job`` row is the
truth; the task backend (Django's Tasks API: the database queue, or RQ on Redis) only
carries "run job N" to a worker, so that:

- **asking twice is asking once**: one unfinished job per key (a unique index), so the
  same work asked for 100 times is one job;
- **one run at a time**: a worker claims a job by a conditional update (queued to
  running, with a fresh run token); another worker given the same job finds it claimed
  and does nothing; the work itself is idempotent, so a second run after the first
  changes nothing;
- **nothing is lost**: if the queue cannot be reached (Redis down or slow), the job
  stays queued in the database and the clock hands it over again; if a worker dies
  mid-job (SIGKILL), its lease lapses and the clock queues the job again;
- **failures are seen**: a job that raises is tried again (``TRACKER_JOB_ATTEMPTS`` in
  all, waiting longer each time), then marked failed with its error; an editor may
  try it again from the jobs page. A handler that raises ``Refused`` fails at once
  (no retry: the work is not allowed, or its input is bad).

Handlers are registered by kind (``@handler(Job.Kind.DERIVATIVES)``) in the apps
that own the work (``evidence.jobs``); a handler gets the claimed job and returns
what it did, in words for the jobs page.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tasks import task

from tracker.models import Job

log = logging.getLogger(__name__)

Handler = Callable[[Job], str]
HANDLERS: dict[str, Handler] = {}
# Periodic work: kind -> (how often, in hours, read from settings at each tick).
PERIODIC: dict[str, Callable[[], timedelta]] = {}
# A queued job handed to the queue this long ago and still not started is handed over
# again (the queue lost it: Redis restarted without its data, a task row deleted).
STALE_HAND_OVER = timedelta(minutes=10)
# What one ``tick`` looks at, at most, per kind of look (the rest waits for the next).
TICK_BATCH = 500


MANAGE = "tracker.manage_job"  # every job, and trying a failed one again (Editors)


def visible_jobs(user, queryset):
    """``queryset`` of jobs as ``user`` may see them, on every face: their own jobs, or
    every job for holders of ``MANAGE`` (the visibility policy, applied by the admin kit,
    hides those of hidden items and incidents from both)."""
    if user.has_perm(MANAGE):
        return queryset
    return queryset.filter(requested_by=user.pk)


class Refused(Exception):
    """The work is not allowed or cannot be done with this input: fail, do not retry.

    The message is shown on the jobs page: it names codes, never titles."""


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


def every(kind: str, period: Callable[[], timedelta]) -> None:
    """Run a ``kind`` job (with no target) every ``period()``, counted from the last one's
    creation."""
    PERIODIC[kind] = period


# --- asking ----------------------------------------------------------------------------


def submit(
    kind: str,
    target: str = "",
    *,
    by=None,
    arguments: dict | None = None,
    key: str | None = None,
    max_attempts: int | None = None,
) -> Job:
    """The unfinished job for this work, made if there is none; handed to the queue when
    the caller's transaction commits (a rollback asks for nothing)."""
    key = key or f"{kind}:{target}"
    job = _unfinished(key)
    if job is not None:
        return job
    try:
        with transaction.atomic():
            job = Job.objects.create(
                kind=kind,
                target=target,
                key=key,
                arguments=arguments or {},
                requested_by=by,
                max_attempts=max_attempts or settings.TRACKER_JOB_ATTEMPTS,
            )
    except IntegrityError:  # asked for at the same moment elsewhere
        job = _unfinished(key)
        if job is None:
            raise
        return job
    job_id = job.pk

    def hand_over_after_commit() -> None:  # named: Django logs a robust callback by name
        hand_over(job_id)

    transaction.on_commit(hand_over_after_commit, robust=True)
    return job


def name_target(job: Job, code: str) -> None:
    """A job asked for without a target (a capture or a flight log of no incident) names
    the item it made, so that the visibility policy hides the job, its message naming
    that item, with the item if it is hidden later."""
    Job.objects.filter(pk=job.pk, target="").update(target=code)


def _unfinished(key: str) -> Job | None:
    return Job.objects.filter(key=key, state__in=Job.UNFINISHED).first()


def hand_over(job_id: int) -> bool:
    """Give "run job N" to the task backend; False (and the job stays queued for the
    clock) if the queue cannot be reached.

    The job is marked handed over first: a backend that runs the job at once (the
    immediate one), or a fast worker, may queue it again for a retry before ``enqueue``
    returns, and that must stay unmarked for the clock."""
    now = timezone.now()
    Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(handed_over_at=now)
    try:
        result = run_job.enqueue(job_id)
    except Exception as exc:  # Redis down, slow (a timeout), the database queue locked
        Job.objects.filter(pk=job_id, handed_over_at=now).update(handed_over_at=None)
        log.warning("job %s stays queued: the task queue did not take it (%s)", job_id, exc)
        return False
    Job.objects.filter(pk=job_id, handed_over_at=now).update(task_id=str(result.id)[:64])
    return True


# --- running ---------------------------------------------------------------------------


@task()
def run_job(job_id: int) -> str:
    """The one task of the Tasks API: run job ``job_id`` (see ``run``)."""
    return run(job_id)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def lease() -> timedelta:
    return timedelta(seconds=settings.TRACKER_JOB_LEASE_SECONDS)


def claim(job_id: int) -> Job | None:
    """Take job ``job_id`` for this run, or None if it is not queued and due (finished,
    running elsewhere, gone, or waiting before a retry)."""
    now = timezone.now()
    token = uuid.uuid4().hex
    taken = (
        Job.objects.filter(pk=job_id, state=Job.State.QUEUED)
        .filter(Q(run_after__isnull=True) | Q(run_after__lte=now))
        .update(
            state=Job.State.RUNNING,
            run_token=token,
            worker=worker_name(),
            attempts=F("attempts") + 1,
            started_at=now,
            lease_until=now + lease(),
        )
    )
    return Job.objects.get(pk=job_id) if taken else None


def run(job_id: int) -> str:
    """Claim job ``job_id`` and run its handler; record the outcome. Returns what was
    done, in words (also when nothing was: the job was not there to claim)."""
    job = claim(job_id)
    if job is None:
        return f"job {job_id}: nothing to do (finished, running elsewhere, or not yet due)"
    handle = HANDLERS.get(job.kind)
    try:
        if handle is None:
            raise Refused(f"No worker knows how to do {job.kind!r}.")
        message = handle(job)
    except Refused as exc:
        _finish(job, Job.State.FAILED, error=str(exc))
        log.warning("job %s (%s) refused: %s", job.pk, job.key, exc)
        return str(exc)
    except Exception as exc:
        log.exception(
            "job %s (%s %s) failed on attempt %s", job.pk, job.kind, job.target, job.attempts
        )
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if job.attempts < job.max_attempts:
            _retry_later(job, error)
        else:
            _finish(job, Job.State.FAILED, error=error)
        return error
    _finish(job, Job.State.DONE, message=message or "")
    log.info("job %s (%s): %s", job.pk, job.key, message or "done")
    return message or ""


def backoff(attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1``: 30 s, 2 min, 8 min ... at most an hour."""
    return timedelta(seconds=min(3600, 30 * 4 ** max(0, attempts - 1)))


def _retry_later(job: Job, error: str) -> None:
    Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, run_token=job.run_token).update(
        state=Job.State.QUEUED,
        run_after=timezone.now() + backoff(job.attempts),
        handed_over_at=None,
        lease_until=None,
        error=error,
    )


def _finish(job: Job, state: str, *, message: str = "", error: str = "") -> None:
    """Record the end of this run, unless the job was taken from it (its lease lapsed
    and another run holds it: that run records its own end)."""
    changes: dict = {"state": state, "finished_at": timezone.now(), "lease_until": None}
    if message:
        changes["message"] = message[:5000]
    if error or state == Job.State.FAILED:
        changes["error"] = error
    Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, run_token=job.run_token).update(
        **changes
    )


def progress(job: Job, done: int, total: int) -> None:
    """Record how far a long job is, and renew its lease (call it at least once per
    lease period)."""
    Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, run_token=job.run_token).update(
        done_count=done, total_count=total, lease_until=timezone.now() + lease()
    )


def holds(job: Job) -> bool:
    """Does this run still hold ``job``? (Its lease may have lapsed and been given away.)"""
    return Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, run_token=job.run_token).exists()


# --- the clock -------------------------------------------------------------------------


def tick(now=None) -> dict[str, int]:
    """Queue again what a dead worker held, hand over what is due and not in the queue,
    start periodic work that is due, and delete outputs that expired. Safe to run from
    several workers at once: each step is a conditional update or an idempotent ask."""
    now = now or timezone.now()
    done = {"requeued": 0, "failed": 0, "handed_over": 0, "started": 0, "expired": 0}
    lapsed = Job.objects.filter(state=Job.State.RUNNING, lease_until__lt=now)
    for job in lapsed.only("pk", "attempts", "max_attempts", "run_token")[:TICK_BATCH]:
        held = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, run_token=job.run_token)
        note = f"The worker running attempt {job.attempts} stopped without finishing it."
        if job.attempts >= job.max_attempts:
            done["failed"] += held.update(
                state=Job.State.FAILED, finished_at=now, lease_until=None, error=note
            )
        else:
            done["requeued"] += held.update(
                state=Job.State.QUEUED, handed_over_at=None, lease_until=None, error=note
            )
    due = Job.objects.filter(state=Job.State.QUEUED).filter(
        Q(run_after__isnull=True) | Q(run_after__lte=now)
    )
    waiting = due.filter(
        Q(handed_over_at__isnull=True) | Q(handed_over_at__lt=now - STALE_HAND_OVER)
    )
    for job_id in waiting.order_by("pk").values_list("pk", flat=True)[:TICK_BATCH]:
        done["handed_over"] += hand_over(job_id)
    for kind, period in PERIODIC.items():
        last = Job.objects.filter(kind=kind, target="").order_by("-created_at").first()
        if last is None or last.created_at <= now - period():
            submit(kind)
            done["started"] += 1
    done["expired"] = expire_outputs(now)
    return done


# Deletes a job's output file (``OUTPUT_REMOVERS[kind](key)``), set by the app that
# stores it (evidence keeps court bundles with its files).
OUTPUT_REMOVERS: dict[str, Callable[[str], None]] = {}


def expire_outputs(now=None) -> int:
    now = now or timezone.now()
    expired = Job.objects.filter(expires_at__lte=now).exclude(output="")
    count = 0
    for job in expired.only("pk", "kind", "output")[:TICK_BATCH]:
        remove = OUTPUT_REMOVERS.get(job.kind)
        if remove is not None:
            remove(job.output)
        count += Job.objects.filter(pk=job.pk, output=job.output).update(output="")
    return count


# --- an editor's hand ------------------------------------------------------------------


def retry(job: Job) -> bool:
    """Queue a failed job again with its attempts restored; False if it is not failed or
    the same work was asked for again since (that job does it)."""
    if job.state != Job.State.FAILED or _unfinished(job.key) is not None:
        return False
    try:
        with transaction.atomic():
            again = Job.objects.filter(pk=job.pk, state=Job.State.FAILED).update(
                state=Job.State.QUEUED,
                attempts=0,
                run_after=None,
                handed_over_at=None,
                finished_at=None,
            )
    except IntegrityError:  # the same work was asked for at this moment
        return False
    if again:
        job_id = job.pk

        def hand_over_after_commit() -> None:
            hand_over(job_id)

        transaction.on_commit(hand_over_after_commit, robust=True)
    return bool(again)
