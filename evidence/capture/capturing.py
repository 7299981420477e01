"""A capture by link as background work: asked for (``capture_later``) by the admin, the
``capture`` command or the API, made by a worker (``capture``, the ``capture`` job's
handler in ``evidence.jobs``).

One capture is, so far, the WARC of the plain HTTP exchange (every redirect and the
final answer, ``fetching``) stored through intake as a ``web_capture`` item, with a
``WebCapture`` row saying what was asked for, what was reached, when, the server's
answer, the page's title and the tools' versions, and which parts of a full capture it
does not hold yet (the page rendered in Chromium: WACZ, screenshot, PDF, media).
Capturing a URL again makes a new capture: pages change.
"""

from __future__ import annotations

import html
import platform
import re
import tempfile
import uuid
from importlib.metadata import version
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from warcio.warcwriter import WARCWriter

from evidence import intake
from evidence.capture import fetching
from evidence.models import EvidenceItem, WebCapture
from tracker import jobs, locks
from tracker.access import visible_incidents
from tracker.models import Incident, Job

NOT_MADE = (
    "the page as a browser shows it (WACZ, screenshot, PDF) and its media: not made by "
    "this version, which keeps the plain HTTP exchange"
)
TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def capture_later(url: str, *, by, incident: Incident | None = None) -> Job:
    """Ask for a capture of ``url`` for ``by`` (linked to ``incident``). Raises
    ``fetching.Refused`` for an address that will not be fetched (scheme, no host),
    ``locks.Locked`` for a locked incident; the addresses it resolves to are checked
    when it is fetched."""
    found = fetching.target(url)
    if incident is not None:
        locks.check_incident_open(incident.pk, "evidence")
    arguments = {"url": found.url, "incident": incident.code if incident else ""}
    return jobs.submit(
        Job.Kind.CAPTURE,
        incident.code if incident else "",
        by=by,
        key=f"capture:{uuid.uuid4().hex}",  # every request is a capture of its own
        arguments=arguments,
    )


def tools() -> dict[str, str]:
    return {
        "fetcher": "evidence.capture.fetching (http.client)",
        "warcio": version("warcio"),
        "python": platform.python_version(),
    }


def page_title(body: Path) -> str:
    """The ``<title>`` of an HTML page (its first 64 KiB), as plain text."""
    with body.open("rb") as stream:
        head = stream.read(64 * 1024)
    found = TITLE.search(head)
    if not found:
        return ""
    text = html.unescape(found[1].decode("utf-8", "replace"))
    return " ".join(text.split())[:300]


def capture(job: Job) -> str:
    """Fetch the job's URL, keep its WARC through intake, record what was seen."""
    url = str(job.arguments.get("url", "")) if isinstance(job.arguments, dict) else ""
    user = job.requested_by
    if user is None or not user.is_active:
        raise jobs.Refused("The account that asked for this capture is no longer active.")
    code = job.arguments.get("incident", "") if isinstance(job.arguments, dict) else ""
    incident = visible_incidents(user).filter(code=code).first() if code else None
    if code and incident is None:
        raise jobs.Refused(f"No incident with code {code}.")
    with tempfile.TemporaryDirectory(prefix="tracker-capture-") as work:
        archive, body = Path(work) / "capture.warc", Path(work) / "body"
        at = timezone.now()
        try:
            with archive.open("wb") as out:
                fetched = fetching.fetch(url, body, warc=WARCWriter(out, gzip=False))
        except fetching.Refused as exc:
            raise jobs.Refused(str(exc)) from None
        target = fetching.target(fetched.final_url)
        with transaction.atomic(), archive.open("rb") as stream:
            try:
                result = intake.ingest(
                    stream,
                    filename=f"{target.host}.warc",
                    kind=EvidenceItem.Kind.WEB_CAPTURE,
                    by=user,
                    title=f"Capture of {target.shown_host}{target.path}"[:200],
                    incident=incident,
                    received_from="captured by the tracker",
                    source_url=fetched.url[:500],
                    acquired_at=at,
                )
            except intake.IntakeError as exc:
                raise jobs.Refused(str(exc)) from None
            item = result.item
            if item is None or result.duplicate:  # the same bytes twice: not a new capture
                return "The same bytes are already held; nothing new was stored."
            WebCapture.objects.create(
                item=item,
                url=fetched.url[:2000],
                final_url=fetched.final_url[:2000],
                captured_at=at,
                http_status=fetched.status,
                http_headers=[[name, value[:2000]] for name, value in fetched.headers[:200]],
                redirects=[[status, location[:2000]] for status, location in fetched.redirects],
                page_title=page_title(body),
                server_address=fetched.address or None,
                tools=tools(),
                not_made=NOT_MADE,
            )
    return f"{item.code}: captured {fetched.final_url} ({fetched.status}, {fetched.size:,} bytes)."
