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

import hashlib
import re
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.utils import timezone

from evidence import access, intake
from evidence.capture import capturing
from evidence.corroboration import decisions
from evidence.files import (
    anchoring,
    bagging,
    bundles,
    derivation,
    fixity_runs,
    recordings,
    storage,
)
from evidence.flights import flightlog
from evidence.models import EvidenceItem, FlightLog
from tracker import jobs
from tracker.models import Incident, Job, SourceType

# A bundle's incidents, as its job names them (``arguments["incidents"]``).
INCIDENT_CODE = re.compile(r"^[A-Z]{1,8}-[0-9]{1,12}$")
MOST_INCIDENTS = 100
VIEW_INCIDENT = "tracker.view_incident"
# The lease is renewed at most this often while a bundle is written (seconds).
RENEW_EVERY = 5.0


def _check_stored(item: EvidenceItem) -> None:
    if not storage.path_of(item.original_path).exists():
        # Not a damaged file (that is flagged for good): storage not there yet (a
        # volume not mounted), so the job is tried again, and fails visibly at last.
        raise FileNotFoundError(f"{item.code}: its original is not in storage")


def _renewing(job: Job):
    """Called every few seconds while media is decoded: the job's lease is renewed."""
    return lambda: jobs.progress(job, 0, 0)


@jobs.handler(Job.Kind.DERIVATIVES)
def derivatives(job: Job) -> str:
    """An item's thumbnails and preview (and a video's keyframes), and its perceptual
    hash, asked for by intake."""
    item = EvidenceItem.objects.filter(code=job.target).first()
    if item is None:
        return f"{job.target} no longer exists: nothing to do."
    claims = ""
    if recordings.is_recording(item.media_type) and not recordings.claimed(item):
        _check_stored(item)  # stored before the tracker read recordings' tags
        path = storage.path_of(item.original_path)
        read = recordings.claim_later(item, path, job.requested_by, waiting=_renewing(job))
        claims = "tags read; " if read else ""
    if not derivation.needed(item):
        return f"{item.code}: {claims}derivatives already made."
    _check_stored(item)
    if derivation.derive(item, by=job.requested_by, waiting=_renewing(job)):
        frames = item.derivatives.filter(kind="keyframe").count()
        if frames:
            return f"{item.code}: {claims}poster and {frames} keyframes made."
        return f"{item.code}: {claims}thumbnail, preview and perceptual hash made."
    return f"{item.code}: {claims}{item.derivative_problem}."


@jobs.handler(Job.Kind.PLAYABLE)
def playable(job: Job) -> str:
    """A video's or audio file's small copy without metadata, asked for by intake."""
    item = EvidenceItem.objects.filter(code=job.target).first()
    if item is None:
        return f"{job.target} no longer exists: nothing to do."
    if not derivation.playable_needed(item):
        return f"{item.code}: playable copy already made."
    _check_stored(item)
    if derivation.playable(item, by=job.requested_by, waiting=_renewing(job)):
        return f"{item.code}: playable copy made."
    return f"{item.code}: {item.playable_problem}."


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
    jobs.name_target(job, result.item.code)
    if result.duplicate:
        return f"Already held as {result.item.code}; nothing imported."
    skipped = f"; {result.skipped_rows} invalid rows skipped" if result.skipped_rows else ""
    return f"Stored as {result.item.code}: {result.imported} observations{skipped}."


# --- Court bundles ------------------------------------------------------------------------


def bundle_refusal(user, *, include_protected: bool) -> str | None:
    """Why ``user`` may not have a court bundle made at all, or None. The incidents
    themselves are checked by ``bagging.incidents_by_code`` (hidden ones are unknown)."""
    if reason := access.account_refusal(user):
        return f"A court bundle needs an account that may open evidence files ({reason})."
    if not user.has_perm(VIEW_INCIDENT):
        return "A court bundle needs an account that may view incidents."
    if include_protected and not bagging.can_include_protected(user):
        return bagging.PROTECTED_REFUSED
    return None


def bundle_later(incidents: Iterable[Incident], *, by, include_protected: bool = False) -> Job:
    """Ask for a court bundle of ``incidents`` for ``by`` (one unfinished job per person,
    incidents and choice: asking again returns that job). Raises ``bagging.ExportError``
    with a message for the person when they may not have it."""
    codes = sorted({incident.code for incident in incidents})
    if not codes:
        raise bagging.ExportError(bagging.NO_INCIDENTS)
    if len(codes) > MOST_INCIDENTS:
        raise bagging.ExportError(f"At most {MOST_INCIDENTS} incidents in one bundle.")
    if reason := bundle_refusal(by, include_protected=include_protected):
        raise bagging.ExportError(reason)
    bagging.incidents_by_code(codes, by=by)  # each one visible to them, or refused
    named = ",".join(codes)
    if len(named) > 150:  # the key's column holds 250 characters
        named = hashlib.sha256(named.encode()).hexdigest()
    return jobs.submit(
        Job.Kind.BUNDLE,
        codes[0],
        by=by,
        arguments={"incidents": codes, "include_protected": bool(include_protected)},
        key=f"bundle:{by.pk}:{named}:{'protected' if include_protected else 'plain'}",
    )


def bundle_codes(job: Job) -> list[str]:
    """The incident codes a bundle job names; Refused unless they are a list of codes
    (the job's arguments are data, whoever wrote them)."""
    codes = job.arguments.get("incidents") if isinstance(job.arguments, dict) else None
    if codes is None and job.target:
        codes = [job.target]
    if (
        not isinstance(codes, list)
        or not 0 < len(codes) <= MOST_INCIDENTS
        or not all(isinstance(code, str) and INCIDENT_CODE.match(code) for code in codes)
    ):
        raise jobs.Refused(
            "This bundle's job does not name its incidents by code; nothing was exported."
        )
    return codes


@jobs.handler(Job.Kind.BUNDLE)
def bundle(job: Job) -> str:
    """Make the court bundle of ``job``: checked again as its requester now stands (they
    may have lost an incident, their account or a permission since they asked)."""
    if job.output and bundles.exists(job.output):  # an earlier run made it: done
        return f"Court bundle ready ({job.output_size:,} bytes)."
    codes = bundle_codes(job)
    protected = isinstance(job.arguments, dict) and job.arguments.get("include_protected") is True
    user = job.requested_by
    if user is None or not user.is_active:
        raise jobs.Refused(
            f"The person who asked for the bundle of {', '.join(codes)} no longer has an "
            "active account; nothing was exported."
        )
    if reason := bundle_refusal(user, include_protected=protected):
        raise jobs.Refused(reason)
    try:
        incidents = bagging.incidents_by_code(codes, by=user)
    except bagging.ExportError as exc:  # names the codes only
        raise jobs.Refused(str(exc)) from exc

    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        if time.monotonic() - last >= RENEW_EVERY:
            jobs.progress(job, done, total)
            last = time.monotonic()

    def delivered(key: str, size: int) -> None:
        """In the custody events' transaction: the job's output, if this run holds it."""
        kept = Job.objects.filter(
            pk=job.pk, state=Job.State.RUNNING, run_token=job.run_token
        ).update(
            output=key,
            output_size=size,
            expires_at=timezone.now() + timedelta(hours=settings.TRACKER_EXPORT_KEEP_HOURS),
        )
        if not kept:  # the lease lapsed and another run holds the job: it makes its own
            raise jobs.Refused("This run no longer holds the job; its bundle was discarded.")

    jobs.progress(job, 0, 0)
    try:
        key, size = bundles.make(
            incidents,
            job_id=job.pk,
            by=user,
            include_protected=protected,
            progress=progress,
            delivered=delivered,
        )
    except bagging.ExportError as exc:
        if isinstance(exc.__cause__, OSError):  # a full disk, say: tried again later
            raise
        raise jobs.Refused(str(exc)) from exc
    jobs.progress(job, 1, 1)
    kept = settings.TRACKER_EXPORT_KEEP_HOURS
    return (
        f"Court bundle of {', '.join(codes)} ready ({size:,} bytes), "
        f"kept {kept} hour{'s' if kept != 1 else ''}."
    )


jobs.OUTPUT_REMOVERS[Job.Kind.BUNDLE] = bundles.remove


def download_offered(job: Job, user_id: int | None) -> bool:
    """May a page offer ``job``'s file to user ``user_id``, without reading anything: they
    asked for it, it is made, and it is kept still. The download checks the rest again
    (``bundle_file``: their incidents, their permissions), so a list pays no query a row."""
    if user_id is None or job.requested_by_id != user_id or not job.output:
        return False
    return job.expires_at is not None and job.expires_at > timezone.now()


def bundle_file(job: Job | None, user) -> Path | None:
    """The file of ``job``'s court bundle if ``user`` may download it now: they asked
    for it (nobody else, editors included), it is made and not expired, and they may
    still see every incident in it (and protected identity, if it holds any); else None."""
    if job is None or job.kind != Job.Kind.BUNDLE or user.pk is None:
        return None
    if job.requested_by_id != user.pk or not job.output:
        return None
    if job.expires_at is None or job.expires_at <= timezone.now():
        return None
    protected = isinstance(job.arguments, dict) and job.arguments.get("include_protected") is True
    if bundle_refusal(user, include_protected=protected):
        return None
    try:
        bagging.incidents_by_code(bundle_codes(job), by=user)
        path = bundles.path_of(job.output)
    except (bagging.ExportError, jobs.Refused, ValueError):
        return None
    return path if path.is_file() else None


def download_name(job: Job) -> str:
    """``court-bundle-INC-0001-job-12.zip``: codes and the job's number, nothing else."""
    codes = bundle_codes(job)
    named = codes[0] + (f"-and-{len(codes) - 1}-more" if len(codes) > 1 else "")
    return f"court-bundle-{named}-job-{job.pk}.zip"


# --- Scheduled fixity ---------------------------------------------------------------------

STARTED_ARGUMENT = "pass_started"  # a continuation's argument: its pass's start (ISO 8601)


def fixity_period() -> timedelta:
    return timedelta(hours=settings.TRACKER_FIXITY_EVERY_HOURS)


jobs.every(Job.Kind.FIXITY, fixity_period)


@jobs.handler(Job.Kind.FIXITY)
def fixity(job: Job) -> str:
    """One run of a fixity pass: the pass the job continues, or a new one starting when
    the job was asked for. Each run also sweeps the staging area of what no request
    finished with (a form's file held after an error and never sent again)."""
    storage.sweep_staging()
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


# --- Custody anchors ----------------------------------------------------------------------


def anchor_period() -> timedelta:
    return timedelta(hours=settings.TRACKER_ANCHOR_EVERY_HOURS)


jobs.every(Job.Kind.ANCHOR, anchor_period)


@jobs.handler(Job.Kind.ANCHOR)
def anchor(job: Job) -> str:
    """Anchor the chain heads that changed, then ask the TSAs for what they have not
    signed yet. A TSA that failed fails the job (after the anchor is kept), so it is
    tried again later and, at the last attempt, shown failed on the jobs page."""
    return anchor_now()


def anchor_now() -> str:
    """One anchoring run, in words (the job and ``manage.py anchor_custody``)."""
    made = anchoring.anchor()
    heads = made.size - 1 if made else 0
    done = (
        f"{made.code}: {heads} chain head{'s' * (heads != 1)} anchored"
        if made
        else "nothing changed"
    )
    failures = anchoring.timestamp()
    if failures:
        raise anchoring.NotTimestamped(f"{done}; not timestamped: " + "; ".join(failures))
    if not settings.TRACKER_TSA_URLS:
        return f"{done} (no TSA configured: not timestamped)."
    return f"{done}; every anchor timestamped."


# --- Proposed grades -------------------------------------------------------------------------


@jobs.handler(Job.Kind.GRADE)
def grade(job: Job) -> str:
    """The incident's proposed grade computed again (``evidence.corroboration``); its own
    grade, the reviewer's decision, is not touched."""
    incident = Incident.objects.filter(code=job.target).first()
    if incident is None:
        return f"{job.target}: no such incident any more."
    return decisions.recompute_now(incident)


# --- Capture by link ------------------------------------------------------------------------


@jobs.handler(Job.Kind.CAPTURE)
def capture(job: Job) -> str:
    """A web page kept as it was (``evidence.capture.capturing``)."""
    return capturing.capture(job)
