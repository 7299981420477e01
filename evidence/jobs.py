"""The evidence work that runs in the background (``tracker.jobs``): each handler takes
its claimed job and returns what it did, in words for the jobs page. Each is idempotent:
run twice, the second run changes nothing."""

from __future__ import annotations

from typing import BinaryIO

from evidence import intake
from evidence.files import derivation, storage
from evidence.flights import flightlog
from evidence.models import EvidenceItem, FlightLog
from tracker import jobs
from tracker.models import Incident, Job, SourceType


@jobs.handler(Job.Kind.DERIVATIVES)
def derivatives(job: Job) -> str:
    """An item's thumbnails, preview and perceptual hash, asked for by intake."""
    item = EvidenceItem.objects.filter(code=job.target).first()
    if item is None:
        return f"{job.target} no longer exists: nothing to do."
    if not derivation.needed(item):
        return f"{item.code}: derivatives already made."
    if derivation.derive(item, by=job.requested_by):
        return f"{item.code}: thumbnail, preview and perceptual hash made."
    return f"{item.code}: no derivative ({item.derivative_problem})."


# --- a large flight log, imported in the background ---------------------------------------

# What the import needs besides the file, as the upload form gives it.
FLIGHT_LOG_OPTIONS = (
    "time_zone",
    "skip_invalid",
    "relevance",
    "title",
    "received_from",
    "description",
    "source_name",
    "is_protected",
)


def import_flight_log_later(
    stream: BinaryIO,
    *,
    filename: str,
    by,
    incident: Incident | None = None,
    source_type: SourceType | None = None,
    **options,
) -> Job:
    """Keep the upload for a background import (``flight_log`` below) and ask for it.
    The job names the incident, if any, as its target, so it is hidden with it."""
    unknown = set(options) - set(FLIGHT_LOG_OPTIONS)
    if unknown:
        raise TypeError(f"unknown flight-log options: {', '.join(sorted(unknown))}")
    name, sha256, size = storage.keep_for_job(stream)
    arguments = {
        "input": name,
        "sha256": sha256,
        "size": size,
        "filename": filename,
        "incident": incident.code if incident is not None else "",
        "source_type": source_type.pk if source_type is not None else None,
        **options,
    }
    target = incident.code if incident is not None else ""
    return jobs.submit(
        Job.Kind.FLIGHT_LOG, target, by=by, key=f"flight_log:{name}", arguments=arguments
    )


@jobs.handler(Job.Kind.FLIGHT_LOG)
def flight_log(job: Job) -> str:
    given = dict(job.arguments)
    path = storage.job_input(given.pop("input"))
    sha256, filename = given.pop("sha256"), given.pop("filename")
    given.pop("size", None)
    if not path.exists():  # an earlier run imported it and removed the input
        held = FlightLog.objects.filter(item__sha256=sha256).select_related("item").first()
        if held is not None:
            return f"{held.item.code}: imported by an earlier run ({held.row_count} rows)."
        raise jobs.Refused("The uploaded file is no longer there: upload it again.")
    user = job.requested_by
    if user is None or not user.is_active:
        path.unlink(missing_ok=True)
        raise jobs.Refused("The account that uploaded this log is no longer active.")
    code = given.pop("incident")
    incident = Incident.objects.filter(code=code).first() if code else None
    if code and incident is None:
        path.unlink(missing_ok=True)
        raise jobs.Refused(f"No incident with code {code}.")
    source_type = SourceType.objects.filter(pk=given.pop("source_type")).first()

    def progress(phase: str, done: int, total: int) -> None:
        jobs.progress(job, done, total)

    try:
        with path.open("rb") as stream:
            result = flightlog.import_flight_log(
                stream,
                filename=filename,
                by=user,
                incident=incident,
                source_type=source_type,
                progress=progress,
                **given,
            )
    except (flightlog.FlightLogRefused, intake.IntakeError) as exc:
        path.unlink(missing_ok=True)
        found = [str(problem) for problem in getattr(exc, "problems", ())[:5]]
        said = "; ".join([str(exc), *found])
        if given.get("is_protected"):  # its file name may name the person it protects
            said = said.replace(filename, "the file")
        raise jobs.Refused(said) from None
    path.unlink(missing_ok=True)
    if result.duplicate:
        return f"Already held as {result.item.code}; nothing imported."
    skipped = f"; {result.skipped_rows} invalid rows skipped" if result.skipped_rows else ""
    return f"Stored as {result.item.code}: {result.imported} observations{skipped}."
