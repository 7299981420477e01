"""The evidence work that runs in the background (``tracker.jobs``): each handler takes
its claimed job and returns what it did, in words for the jobs page. Each is idempotent:
run twice, the second run changes nothing.

Fixity is periodic: the clock starts a pass every ``TRACKER_FIXITY_EVERY_HOURS``
(counted from the last fixity job asked for); each run re-hashes for at most
``TRACKER_FIXITY_BUDGET_SECONDS`` (``evidence.files.fixity_runs``) and, if items of the
pass are left, asks for the next run of the same pass at once (key
``fixity:continue:<job>``, the pass's start in its arguments). A run repeated (a retry
after a worker died) checks nothing already checked in its pass; a new pass starts only
when the clock says one is due.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from evidence.files import derivation, fixity_runs
from evidence.models import EvidenceItem
from tracker import jobs
from tracker.models import Job


def derive_later(item: EvidenceItem, *, by=None) -> Job:
    """Ask for ``item``'s thumbnails, preview and perceptual hash (after the caller's
    transaction commits; the item page says "derivatives pending" until they exist)."""
    return jobs.submit(Job.Kind.DERIVATIVES, item.code, by=by)


@jobs.handler(Job.Kind.DERIVATIVES)
def derivatives(job: Job) -> str:
    item = EvidenceItem.objects.filter(code=job.target).first()
    if item is None:
        return f"{job.target} no longer exists: nothing to do."
    if not derivation.needed(item):
        return f"{item.code}: derivatives already made."
    if derivation.derive(item, by=job.requested_by):
        return f"{item.code}: thumbnail, preview and perceptual hash made."
    return f"{item.code}: no derivative ({item.derivative_problem})."


STARTED_ARGUMENT = "pass_started"  # a continuation's argument: its pass's start (ISO 8601)


def fixity_period() -> timedelta:
    return timedelta(hours=settings.TRACKER_FIXITY_EVERY_HOURS)


jobs.every(Job.Kind.FIXITY, fixity_period)


@jobs.handler(Job.Kind.FIXITY)
def fixity(job: Job) -> str:
    """One run of a fixity pass: the pass the job continues, or a new one starting when
    the job was asked for."""
    given = job.arguments.get(STARTED_ARGUMENT)
    started = datetime.fromisoformat(given) if given else job.created_at
    summary = fixity_runs.run(
        started=started, budget=settings.TRACKER_FIXITY_BUDGET_SECONDS, job=job
    )
    message = str(summary)
    # A run that checked nothing does not ask again (no chain of empty runs).
    if summary.remaining and summary.checked:
        following = jobs.submit(
            Job.Kind.FIXITY,
            key=f"fixity:continue:{job.pk}",
            arguments={STARTED_ARGUMENT: started.isoformat()},
        )
        message += f"; continued by job {following.pk}"
    return message
