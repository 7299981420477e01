"""Protected file serving: originals as downloads, derivatives inline, to allowed users only.

Nothing under TRACKER_DATA_DIR has a public URL; these views are the only way
out. Every refusal is logged to ``evidence.access`` (who, which code, which
rule), never with the item's content. Downloading an original is a custody
event; a thumbnail or preview is not (it is not the evidence), except when only
the uploader exception lets the viewer see a protected item. An original is
only handed out as the bytes its custody log says were received (``original``).
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from evidence import access
from evidence.files import anchoring, custody, fixity, sniffing, storage
from evidence.models import CustodyEvent, Derivative, EvidenceItem
from tracker.accounts.security import client_ip

log = logging.getLogger("evidence.access")
# Bytes that do not match the custody log: tampering, or a failing disk.
custody_log = logging.getLogger("evidence.files.custody")

OCTET_STREAM = "application/octet-stream"
USER_AGENT_LIMIT = 200
# Originals must never be rendered by the browser, whatever their bytes (a PNG
# that is also HTML); the sandbox stops scripts should a browser try anyway.
ORIGINAL_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}
# Derivatives are ours (re-encoded, metadata stripped) and shown in lists: a short
# private cache spares refetching fifty thumbnails per page. The session
# middleware adds "Vary: Cookie", so another login in the same browser refetches.
DERIVATIVE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, max-age=600",
}
WITHHELD = (
    "This original is withheld: it does not match what its custody log says was "
    "received. This has been logged for the administrators.\n"
)
INLINE_TYPES = {"image/jpeg", "image/png", "image/webp", "video/mp4", "audio/mp4"}


def download_name(code: str, media_type: str, suffix: str = "") -> str:
    """``EV-000001.jpg``: the item's code and an extension for the media type.

    The name the file arrived with is never used: it may name a source, and it is
    the client's text."""
    stem = re.sub(r"[^A-Za-z0-9-]", "_", code) or "evidence"
    return f"{stem}{suffix}.{sniffing.EXTENSIONS.get(media_type, 'bin')}"


def _log_refusal(request: HttpRequest, code: str, what: str, reason: str) -> None:
    user = request.user
    log.warning(
        "refused %s of %r to user %s (%r) from %s: %s",
        what,
        code,  # as requested: %r keeps a hostile code on one line
        user.pk,
        user.get_username(),
        request.META.get("REMOTE_ADDR", "-"),
        reason,
    )


def _viewable_item(request: HttpRequest, code: str, what: str) -> EvidenceItem:
    """The item ``code`` if the user may open its files; else 403 (404 for an
    unknown code), logged."""
    # Anyone who may open no file at all is refused before the lookup: they learn
    # nothing, not even whether a code exists.
    if reason := access.account_refusal(request.user):
        _log_refusal(request, code, what, reason)
        raise PermissionDenied
    item = access.visible_items(request.user, EvidenceItem.objects.filter(code=code)).first()
    if item is None:
        # An item of restricted incidents only is answered as an unknown code; the
        # log, for the administrator, tells the two apart (a query on this path only).
        exists = EvidenceItem.objects.filter(code=code).exists()
        reason = "item of restricted incidents only" if exists else "unknown code"
        _log_refusal(request, code, what, reason)
        raise Http404("No evidence item has this code.")
    reason = access.refusal(request.user, item)
    if reason is not None:
        _log_refusal(request, code, what, reason)
        raise PermissionDenied
    return item


def _stored_file(item: EvidenceItem, key: str, what: str) -> Path:
    """The file behind ``key``; a missing one is a fixity problem: logged, then 404."""
    try:
        path = storage.path_of(key)
    except ValueError:
        log.error("%s of %s has an invalid storage key", what, item.code)
        raise Http404(f"The {what} cannot be found.") from None
    if not path.is_file():
        log.error("%s missing: %s (%s); run verify_evidence", what, item.code, key)
        raise Http404(f"The {what} cannot be found.")
    return path


def _open(path: Path, item: EvidenceItem, what: str):
    try:
        return path.open("rb")
    except FileNotFoundError:  # removed between the check and the open
        log.error("%s missing: %s; run verify_evidence", what, item.code)
        raise Http404(f"The {what} cannot be found.") from None


def _withhold(request: HttpRequest, item: EvidenceItem, problem: str) -> HttpResponse:
    """Log that ``item``'s original does not match its custody log; answer 409
    with a short text, never the file."""
    user = request.user
    custody_log.critical(
        "original of %s withheld from user %s (%r): %s; run verify_evidence",
        item.code,
        user.pk,
        user.get_username(),
        problem,
    )
    return HttpResponse(WITHHELD, status=409, content_type="text/plain; charset=utf-8")


def attachment(response: HttpResponseBase, filename: str) -> HttpResponseBase:
    """``response`` with the headers of every file handed out whole (originals, court
    bundles): a download named ``filename``, never rendered, never cached."""
    response["Content-Disposition"] = content_disposition_header(True, filename)
    for name, value in ORIGINAL_HEADERS.items():
        response[name] = value
    return response


def _as_attachment(response: HttpResponseBase, item: EvidenceItem) -> HttpResponseBase:
    """``response`` with the headers of every original: a download, never rendered."""
    return attachment(response, download_name(item.code, item.media_type))


def _download_recorder(request: HttpRequest, item: EvidenceItem, delivery: str):
    """A function recording one DOWNLOADED custody event for this request, with
    who, from where, how, and what ``result`` (plus any other details)."""
    base = {
        "remote_addr": client_ip(request) or "",
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LIMIT],
        "delivery": delivery,
    }

    def record_download(result: str, observed_sha256: str = "", **details) -> None:
        custody.record(
            item,
            CustodyEvent.Action.DOWNLOADED,
            actor=request.user,
            observed_sha256=observed_sha256,
            details={**base, "result": result, **details},
        )

    return record_download


def _through_nginx(
    request: HttpRequest, item: EvidenceItem, path: Path, prefix: str
) -> HttpResponseBase:
    """Hash the whole file here, then let nginx send it only if it matches.

    The cost: every download reads the file twice, once here (before the first
    byte leaves, so a large video waits as long as reading it takes; a worker
    thread is busy meanwhile) and once by nginx. That is the price of checking
    what leaves: nginx cannot check a hash. What is left unchecked is the moment
    between the two reads; ``verify_evidence`` and the write-once, read-only
    store are what cover it.
    """
    if request.method == "GET":  # HEAD hands out no bytes: nothing to check or record
        try:
            served = storage.sha256_of(path)
        except FileNotFoundError:  # removed since it was found
            log.error("original missing: %s; run verify_evidence", item.code)
            raise Http404("The original cannot be found.") from None
        if served != item.sha256:
            problem = f"its file hashes to {served}, its custody log received {item.sha256}"
            return _withhold(request, item, problem)
        _download_recorder(request, item, "x-accel-redirect")("verified", served)
    response = HttpResponse(content_type=OCTET_STREAM)
    response["X-Accel-Redirect"] = f"{prefix}/{item.original_path}"
    return _as_attachment(response, item)


def _streamed(
    request: HttpRequest, item: EvidenceItem, path: Path, received: str
) -> HttpResponseBase:
    """The file through a ``fixity.VerifiedStream``: its hash is checked before its
    last chunk leaves. What the custody event says (``result``):

    - ``verified``: every byte was read and hashed to what the log received;
      ``observed_sha256`` is that hash, recorded before the last chunk is sent.
    - ``aborted``: the bytes hash to something else (``observed_sha256``); the
      transfer was cut before its last chunk (``sent`` bytes went out) and the
      problem logged at CRITICAL.
    - ``interrupted``: the response was closed before the end of the file (the
      client went away); ``sent`` says how far it got, nothing was verified.
    """
    stream = _open(path, item, "original")
    size = os.fstat(stream.fileno()).st_size
    record_download = _download_recorder(request, item, "direct")
    recording = request.method == "GET"  # HEAD hands out no bytes

    def failed(served: str, sent: int) -> None:
        custody_log.critical(
            "download of %s by user %s (%r) cut after %d of %d bytes: the bytes served "
            "hash to %s, its custody log received %s; run verify_evidence",
            item.code,
            request.user.pk,
            request.user.get_username(),
            sent,
            size,
            served,
            received,
        )
        if recording:
            record_download("aborted", served, sent=sent)

    body = fixity.VerifiedStream(
        stream,
        expected=(item.sha256, received),
        on_verified=(lambda served: record_download("verified", served)) if recording else None,
        on_failed=failed,
        on_interrupted=(lambda sent: record_download("interrupted", sent=sent))
        if recording
        else None,
    )
    response = StreamingHttpResponse(body, content_type=OCTET_STREAM)
    response["Content-Length"] = str(size)
    return _as_attachment(response, item)


@require_safe
def original(request: HttpRequest, code: str) -> HttpResponseBase:
    """The original file as a download, checked against and recorded in the
    item's custody log.

    The custody log is the reference (``evidence/files/fixity.py``): if the row names
    another hash than the log's ``received`` event, the file is withheld (409,
    logged at CRITICAL). Otherwise the bytes are hashed as they are served and
    the ``downloaded`` event records that hash (``observed_sha256``); bytes that
    do not match are cut off before their end (see ``_streamed``).

    With TRACKER_X_ACCEL_REDIRECT_PREFIX set, nginx sends the bytes: the file is
    hashed here first and the response names the storage key in
    ``X-Accel-Redirect`` only if it matches (see ``_through_nginx`` for the
    cost). A HEAD request reads no bytes and records nothing."""
    item = _viewable_item(request, code, "original")
    if not item.original_path:
        raise Http404("This item has no file.")
    received = custody.received_sha256(item)
    if not item.sha256 or fixity.row_and_log_disagree(item, received):
        return _withhold(
            request,
            item,
            f"its row names {item.sha256 or '-'}, its custody log received {received or '-'}",
        )
    path = _stored_file(item, item.original_path, "original")
    if prefix := settings.TRACKER_X_ACCEL_REDIRECT_PREFIX:
        return _through_nginx(request, item, path, prefix)
    return _streamed(request, item, path, received)


# One range, each bound at most 18 digits (an int, not a 5,000-digit number to parse).
RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")


def _byte_range(request: HttpRequest, size: int) -> tuple[int, int] | None:
    """The one satisfiable range asked for as (first, last) byte; None for the whole
    file (no Range, a HEAD, several ranges, or one that cannot be read: RFC 9110 says to
    ignore those). Raises ``ValueError`` for a range that starts beyond the end."""
    asked = RANGE.match(request.headers.get("Range", "").strip())
    if request.method != "GET" or not asked or not (asked[1] or asked[2]):
        return None
    if asked[1]:
        start = int(asked[1])
        end = min(int(asked[2]), size - 1) if asked[2] else size - 1
        if asked[2] and int(asked[2]) < start:
            return None  # last before first: not a range
        if start >= size:
            raise ValueError("range not satisfiable")
        return start, end
    if int(asked[2]) == 0:
        raise ValueError("range not satisfiable")
    return max(0, size - int(asked[2])), size - 1  # the last N bytes


def _ranged(stream, size: int, media_type: str, span: tuple[int, int] | None):
    """The whole file (200), or the bytes of ``span`` (206), so that a ``<video>`` can
    seek."""
    if span is None:
        response: HttpResponseBase = FileResponse(stream, content_type=media_type)
        response["Accept-Ranges"] = "bytes"
        return response
    start, end = span
    stream.seek(start)
    left = end - start + 1

    def chunks():
        nonlocal left
        try:
            while left > 0:
                chunk = stream.read(min(storage.CHUNK, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk
        finally:
            stream.close()

    response = StreamingHttpResponse(chunks(), status=206, content_type=media_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response


@require_safe
def derivative(request: HttpRequest, code: str, kind: str, position: int = 0) -> HttpResponseBase:
    """The item's thumbnail, preview, ``position``-th keyframe or playable copy, shown
    inline (a playable copy in byte ranges too); 404 when none was made.

    A protected item opened by its uploader alone (``access.opens_as_uploader``) is an
    exception to the protection: each such opening is a ``viewed`` custody event, and the
    browser keeps no copy, so every look is recorded."""
    item = _viewable_item(request, code, kind)
    found = Derivative.objects.filter(item=item, kind=kind, position=position)
    found = found.only("path", "media_type").first()
    if found is None:
        raise Http404(f"This item has no {kind}.")
    path = _stored_file(item, found.path, kind)
    media_type = found.media_type if found.media_type in INLINE_TYPES else OCTET_STREAM
    first = 0  # the first byte served: a look starts at 0, a player's seek does not
    response: HttpResponseBase
    if prefix := settings.TRACKER_X_ACCEL_REDIRECT_PREFIX:
        # nginx sends the bytes (and a player's ranges) from its derivatives/ location.
        if kind == Derivative.Kind.PLAYABLE:
            try:
                span = _byte_range(request, path.stat().st_size)
                first = span[0] if span else 0
            except FileNotFoundError:  # removed since it was found
                log.error("%s missing: %s; run verify_evidence", kind, item.code)
                raise Http404(f"The {kind} cannot be found.") from None
            except ValueError:
                first = -1  # beyond the end: nginx answers 416, nothing is seen
            if request.headers.get("If-Range"):
                first = 0  # nginx may send the whole copy (a stale If-Range): a look
        response = HttpResponse(content_type=media_type)
        response["X-Accel-Redirect"] = f"{prefix}/{found.path}"
    elif kind == Derivative.Kind.PLAYABLE:
        stream = _open(path, item, kind)
        size = os.fstat(stream.fileno()).st_size
        try:
            span = _byte_range(request, size)
        except ValueError:
            stream.close()
            refused = HttpResponse(status=416)
            refused["Content-Range"] = f"bytes */{size}"
            return refused
        first = span[0] if span else 0
        response = _ranged(stream, size, media_type, span)
    else:
        response = FileResponse(_open(path, item, kind), content_type=media_type)
    response["Content-Disposition"] = content_disposition_header(
        False, download_name(item.code, media_type, f"-{kind}")
    )
    for name, value in DERIVATIVE_HEADERS.items():
        response[name] = value
    if access.opens_as_uploader(request.user, item):  # nginx keeps Cache-Control
        response["Cache-Control"] = "private, no-store"
        # HEAD shows nothing; a player's further ranges of one copy are the same look.
        if request.method == "GET" and first == 0:
            try:
                custody.record(
                    item,
                    CustodyEvent.Action.VIEWED,
                    actor=request.user,
                    details={
                        "derivative": kind,
                        "position": position,
                        "basis": "uploader of a protected item",
                        "remote_addr": client_ip(request) or "",
                        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LIMIT],
                    },
                )
            except BaseException:
                response.close()
                raise
    return response


def bundle_download(request: HttpRequest, path: Path, key: str, filename: str) -> HttpResponseBase:
    """A court bundle (``evidence.files.bundles``) as a download, by the caller who has
    checked that ``request.user`` may have it: through nginx when
    TRACKER_X_ACCEL_REDIRECT_PREFIX is set (its ``exports/`` location), else streamed."""
    log.info(
        "court bundle %s handed to user %s (%r)", key, request.user.pk, request.user.get_username()
    )
    if prefix := settings.TRACKER_X_ACCEL_REDIRECT_PREFIX:
        response: HttpResponseBase = HttpResponse(content_type=OCTET_STREAM)
        response["X-Accel-Redirect"] = f"{prefix}/{key}"
        return attachment(response, filename)
    try:
        stream = path.open("rb")
    except FileNotFoundError:  # expired and deleted since it was looked up
        raise Http404("This bundle is no longer kept.") from None
    return attachment(FileResponse(stream, content_type=OCTET_STREAM), filename)


@require_safe
def anchor_proof(request: HttpRequest, code: str) -> HttpResponseBase:
    """The item's newest anchored chain head and its inclusion proof, as a JSON download,
    for a user who may see the item and every detail of its custody log
    (``anchoring.proof_for``)."""
    if reason := access.account_refusal(request.user):
        _log_refusal(request, code, "anchor proof", reason)
        raise PermissionDenied
    item = access.visible_items(request.user, EvidenceItem.objects.filter(code=code)).first()
    if item is None:
        raise Http404("No evidence item has this code.")
    try:
        found = anchoring.proof_for(request.user, item)
    except anchoring.ProofWithheld as exc:
        return HttpResponse(f"{exc}\n", status=403, content_type="text/plain; charset=utf-8")
    if found is None:
        raise Http404("This item's custody has not been anchored yet.")
    body = json.dumps(found, indent=2, ensure_ascii=False) + "\n"
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    return attachment(response, f"{item.code}-custody-anchor.json")
