"""A capture by link as background work: asked for (``capture_later``) by the admin, the
``capture`` command or the API, made by a worker (``capture``, the ``capture`` job's
handler in ``evidence.jobs``).

One capture is the page loaded in Chromium (``browser``: every request fetched and
checked by ``fetching`` and recorded as WARC), packaged as a WACZ (``wacz``) and stored
through intake as a ``web_capture`` item, with a ``WebCapture`` row saying what was
asked for and reached, when, the server's answer, the page's title and visible text,
the requests refused, the tools' versions, and whether the content (visible text and
media) differs from the last capture of the same address. The full-page screenshot, the
PDF print and the media on the page (large images, video and audio sources) are items
of their own (``CapturePart``), so a video found on a page gets its keyframes and
metadata as any video. Without Chromium a capture keeps the plain HTTP exchange, in a
WACZ too, and says what it could not make. Capturing a URL again makes a new capture.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
import json
import platform
import re
import tempfile
import uuid
from importlib.metadata import version
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from warcio.warcwriter import WARCWriter

from evidence import intake
from evidence.capture import browser, fetching, ytdlp
from evidence.files import sniffing
from evidence.models import CapturePart, EvidenceItem, WebCapture
from tracker import jobs, locks
from tracker.access import visible_incidents
from tracker.models import Incident, Job

NO_BROWSER = "the page as a browser shows it (screenshot, PDF, visible text, media)"
TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
MEDIA_KINDS = {"photo", "video", "audio"}
TEXT_KEPT = 1_000_000  # characters of visible text kept on the row (all of it is in the WACZ)


def shown_to(user, items):
    """Items of a capture that ``user`` may be shown: visible, and not a protected item
    they may not open (the same rule as near-duplicates)."""
    from evidence.access import openable_items
    from evidence.visibility import visible_to

    return visible_to(user, openable_items(user, items))


def same_address(user, web: WebCapture):
    """Every capture of ``web``'s address that ``user`` may see, oldest first."""
    items = shown_to(user, EvidenceItem.objects.filter(web__url=web.url))
    return (
        WebCapture.objects.filter(item__in=items.values("pk"))
        .select_related("item")
        .order_by("captured_at", "pk")
    )


def history(user, web: WebCapture) -> list[tuple[WebCapture, bool | None]]:
    """Every capture of ``web``'s address ``user`` may see, oldest first, each with
    whether its content differs from the one before it that ``user`` may see (None for
    the first): a capture hidden from them is neither listed nor compared with."""
    earlier = None
    shown = []
    for capture in same_address(user, web):
        changed = None if earlier is None else capture.content_digest != earlier
        shown.append((capture, changed))
        earlier = capture.content_digest
    return shown


def parts_shown(user, web: WebCapture):
    """``web``'s parts that ``user`` may be shown, screenshot and PDF first."""
    items = shown_to(user, EvidenceItem.objects.filter(capture_parts__capture=web))
    return web.parts.filter(item__in=items.values("pk")).select_related("item").order_by("pk")


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


def tools(page: browser.Loaded) -> dict[str, str]:
    made = {
        "fetcher": "evidence.capture.fetching (http.client)",
        "warcio": version("warcio"),
        "wacz": version("wacz"),
        "yt-dlp": version("yt-dlp"),
        "python": platform.python_version(),
    }
    if page.version:
        made |= {"chromium": page.version, "playwright": version("playwright")}
    return made


def page_title(body: Path) -> str:
    """The ``<title>`` of an HTML page (its first 64 KiB), as plain text."""
    with body.open("rb") as stream:
        head = stream.read(64 * 1024)
    found = TITLE.search(head)
    if not found:
        return ""
    text = html.unescape(found[1].decode("utf-8", "replace"))
    return " ".join(text.split())[:300]


def plain(url: str, work: Path, warc: WARCWriter, budget: fetching.Budget, why: str):
    """The page without a browser: its HTTP exchange (redirects followed), as Loaded."""
    fetched = fetching.fetch(
        url, work / "body", warc=warc, max_bytes=budget.max_bytes, timeout=budget.left()
    )
    return browser.Loaded(
        url=fetched.url,
        final_url=fetched.final_url,
        status=fetched.status,
        headers=fetched.headers,
        redirects=fetched.redirects,
        address=fetched.address,
        title=page_title(fetched.body),
        requests=len(fetched.redirects) + 1,
        not_made=[f"{NO_BROWSER}: {why}"],
    )


def package(warc: Path, page: browser.Loaded, into: Path) -> Path:
    """The WARC as a WACZ (``wacz create``) whose page list names the page, its title
    and visible text (ReplayWeb.page opens it there and searches the text)."""
    from wacz.main import main as wacz

    pages = into / "pages.jsonl"
    entry = {"url": page.final_url, "title": page.title or page.final_url, "text": page.text}
    header = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
    pages.write_text(json.dumps(header) + "\n" + json.dumps(entry) + "\n")
    out = into / "capture.wacz"
    with contextlib.redirect_stdout(io.StringIO()) as said:
        failed = wacz(["create", "-o", str(out), str(warc), "-p", str(pages)])
    if failed:
        raise jobs.Refused(f"The web archive could not be packaged: {said.getvalue()[-300:]}")
    return out


def digest(text: str, media_hashes: list[str]) -> str:
    """What two captures of an address compare: the visible text (whitespace folded)
    and the hashes of the media on the page."""
    content = " ".join(text.split()) + "\n" + "\n".join(sorted(media_hashes))
    return hashlib.sha256(content.encode()).hexdigest()


def capture(job: Job) -> str:
    """The capture job: load the job's URL for the user who asked, keep what it showed."""
    url = str(job.arguments.get("url", "")) if isinstance(job.arguments, dict) else ""
    user = job.requested_by
    if user is None or not user.is_active:
        raise jobs.Refused("The account that asked for this capture is no longer active.")
    code = job.arguments.get("incident", "") if isinstance(job.arguments, dict) else ""
    incident = visible_incidents(user).filter(code=code).first() if code else None
    if code and incident is None:
        raise jobs.Refused(f"No incident with code {code}.")
    return capture_now(url, by=user, incident=incident, job=job)


def capture_now(url: str, *, by, incident: Incident | None = None, job: Job | None = None) -> str:
    """Load ``url``, keep what it showed through intake (as ``by``, linked to
    ``incident``), record what was seen; what was done, in words. Raises
    ``jobs.Refused`` when the page itself is refused or cannot be fetched."""
    budget = fetching.Budget(
        max_bytes=settings.TRACKER_CAPTURE_MAX_MB * 1024 * 1024,
        timeout=settings.TRACKER_CAPTURE_SECONDS,
    )
    with tempfile.TemporaryDirectory(prefix="tracker-capture-") as folder:
        work = Path(folder)
        archive = work / "capture.warc.gz"
        at = timezone.now()
        try:
            with archive.open("wb") as out:
                warc = WARCWriter(out, gzip=True)
                try:
                    page = browser.load(url, work, warc, budget)
                except browser.Unavailable as exc:
                    page = plain(url, work, warc, budget, str(exc))
        except fetching.Refused as exc:
            raise jobs.Refused(str(exc)) from None
        if not page.final_url:  # the page itself was refused or never answered
            why = next((why for asked, why in page.refused), "; ".join(page.not_made))
            raise jobs.Refused(why or "The page could not be fetched.")
        videos, problems = ytdlp.download(page.final_url, work / "yt-dlp", budget)
        page.media += [
            browser.Media("video", page.final_url, path, name=path.name) for path in videos
        ]
        page.not_made += [f"yt-dlp: {problem}" for problem in problems]
        wacz = package(archive, page, work)
        if job is not None:
            jobs.progress(job, 1, 2)  # a fresh lease for storing
        with transaction.atomic():
            item = _store(page, wacz, at=at, user=by, incident=incident)
    if item is None:
        return "The same bytes are already held; nothing new was stored."
    if job is not None:
        jobs.name_target(job, item.code)
    parts = parts_shown(by, item.web).count()  # not one the requester may not open
    return (
        f"{item.code}: captured {page.final_url} ({page.status}, {page.requests} requests, "
        f"{parts} part{'s' if parts != 1 else ''})."
    )


def _store(page: browser.Loaded, wacz: Path, *, at, user, incident) -> EvidenceItem | None:
    found = fetching.target(page.final_url)
    where = _no_nul(fetching.readable(found.url).split("://", 1)[1])  # host as people write it
    common = {
        "by": user,
        "incident": incident,
        "received_from": "captured by the tracker",
        "source_url": page.url[:500],
        "acquired_at": at,
    }
    try:
        with wacz.open("rb") as stream:
            result = intake.ingest(
                stream,
                filename=f"{found.host}.wacz",
                kind=EvidenceItem.Kind.WEB_CAPTURE,
                title=f"Capture of {where}"[:200],
                **common,
            )
    except intake.IntakeError as exc:
        raise jobs.Refused(str(exc)) from None
    item = result.item
    if item is None or result.duplicate:  # the same bytes twice: not a new capture
        return None
    not_made = list(page.not_made)
    parts: list[tuple[EvidenceItem, str, str]] = []
    found_files = [  # (file, kind, role, address, name)
        (page.screenshot, "web_capture", CapturePart.Role.SCREENSHOT, "", "screenshot.png"),
        (page.pdf, "web_capture", CapturePart.Role.PDF, "", "page.pdf"),
    ]
    for media in page.media:
        kind, why = _media_kind(media)
        if kind is None:
            not_made.append(f"{media.url[:200]}: {why}")
        else:
            found_files.append((media.body, kind, CapturePart.Role.MEDIA, media.url, media.name))
    for path, kind, role, source, name in found_files:
        if path is None:
            continue
        part, problem = _part(path, kind, name, f"{name} from {where}", common, source)
        if part is not None:
            parts.append((part, role, source or page.final_url))
        elif problem != intake.SET_ASIDE:
            not_made.append(f"{source or name}: {problem}")
        # A part set aside (its bytes held in an item the requester may not see) is not
        # named here, where every viewer of the capture would read it; intake records
        # the copy in that item's custody log and tells those who may see it.
    media_hashes = [p.sha256 for p, role, _ in parts if role == CapturePart.Role.MEDIA]
    content = digest(page.text, media_hashes)
    web = WebCapture.objects.create(
        item=item,
        url=page.url[:2000],
        final_url=page.final_url[:2000],
        captured_at=at,
        http_status=page.status,
        http_headers=[[_no_nul(name), _no_nul(value)[:2000]] for name, value in page.headers[:200]],
        redirects=[[status, _no_nul(location)[:2000]] for status, location in page.redirects],
        page_title=_no_nul(page.title)[:300],
        server_address=page.address or None,
        tools=tools(page),
        not_made=_no_nul("\n".join(not_made)),
        text=_no_nul(page.text[:TEXT_KEPT]),
        content_digest=content,
        requests=page.requests,
        refused=[[_no_nul(asked)[:2000], _no_nul(why)[:300]] for asked, why in page.refused]
        + ([["", f"{page.refused_more} more, not listed"]] if page.refused_more else []),
    )
    CapturePart.objects.bulk_create(
        [
            CapturePart(capture=web, item=part, role=role, url=url[:2000])
            for part, role, url in {p.pk: (p, r, u) for p, r, u in parts}.values()
        ]
    )
    return item


def _part(
    path: Path, kind: str, name: str, title: str, common: dict, source: str
) -> tuple[EvidenceItem | None, str]:
    """A file the capture made or found, through intake as an item of its own; None
    and why when it is not kept apart (refused, or set aside: the bytes are held in an
    item the requester may not see)."""
    fields = common | ({"source_url": source[:500]} if source else {})
    with path.open("rb") as stream:
        try:
            result = intake.ingest(
                stream, filename=_no_nul(name), kind=kind, title=_no_nul(title)[:200], **fields
            )
        except intake.IntakeError as exc:
            return None, str(exc)
    return result.item, intake.SET_ASIDE


def _no_nul(text: str) -> str:
    """``text`` as a database keeps it: no NUL (PostgreSQL refuses it in text and JSON)."""
    return text.replace("\x00", "\ufffd")


def _media_kind(media: browser.Media) -> tuple[str | None, str]:
    """The evidence kind of a file found on the page, from its content (a server's
    Content-Type may lie): a photo, video or audio, or None and why not."""
    if media.body is None:
        return None, "not fetched"
    with media.body.open("rb") as stream:
        found = sniffing.sniff(stream.read(4096))
    kind = sniffing.default_kind(found) if found else None
    if kind not in MEDIA_KINDS:
        served = media.content_type or "no type"
        return None, f"not an image, video or audio file (served as {served}): not kept apart"
    return kind, ""
