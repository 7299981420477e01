"""The evidence work that runs in the background (``tracker.jobs``): each handler takes
its claimed job and returns what it did, in words for the jobs page. Each is idempotent:
run twice, the second run changes nothing."""

from __future__ import annotations

from evidence.files import derivation
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
