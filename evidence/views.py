"""Protected file serving: originals as downloads, derivatives inline, to allowed users only.

Nothing under TRACKER_DATA_DIR has a public URL; these views are the only way
out. Every refusal is logged to ``evidence.access`` (who, which code, which
rule), never with the item's content. Downloading an original is a custody
event; a thumbnail or preview is not (it is not the evidence).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from evidence import access, custody, storage
from evidence.models import CustodyEvent, Derivative, EvidenceItem
from tracker.security import client_ip

log = logging.getLogger("evidence.access")

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
INLINE_TYPES = {"image/jpeg", "image/png", "image/webp"}
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/tiff": "tif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/csv": "csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}


def download_name(code: str, media_type: str, suffix: str = "") -> str:
    """``EV-000001.jpg``: the item's code and an extension for the media type.

    The name the file arrived with is never used: it may name a source, and it is
    the client's text."""
    stem = re.sub(r"[^A-Za-z0-9-]", "_", code) or "evidence"
    return f"{stem}{suffix}.{EXTENSIONS.get(media_type, 'bin')}"


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


@require_safe
def original(request: HttpRequest, code: str) -> HttpResponseBase:
    """The original file as a download, recorded in the item's custody log.

    With TRACKER_X_ACCEL_REDIRECT_PREFIX set, nginx sends the bytes: the
    response is empty and names the storage key in ``X-Accel-Redirect``.
    The custody event records that the file was handed out, not that the
    client received every byte."""
    item = _viewable_item(request, code, "original")
    if not item.original_path:
        raise Http404("This item has no file.")
    path = _stored_file(item, item.original_path, "original")
    prefix = settings.TRACKER_X_ACCEL_REDIRECT_PREFIX
    disposition = content_disposition_header(True, download_name(item.code, item.media_type))
    response: HttpResponseBase
    if prefix:
        response = HttpResponse(content_type=OCTET_STREAM)
        response["X-Accel-Redirect"] = f"{prefix}/{item.original_path}"
    else:
        response = FileResponse(_open(path, item, "original"), content_type=OCTET_STREAM)
    response["Content-Disposition"] = disposition
    for name, value in ORIGINAL_HEADERS.items():
        response[name] = value
    if request.method == "GET":  # HEAD hands out no bytes
        try:
            custody.record(
                item,
                CustodyEvent.Action.DOWNLOADED,
                actor=request.user,
                details={
                    "remote_addr": client_ip(request) or "",
                    "user_agent": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LIMIT],
                    "delivery": "x-accel-redirect" if prefix else "direct",
                },
            )
        except BaseException:
            response.close()
            raise
    return response


@require_safe
def derivative(request: HttpRequest, code: str, kind: str) -> HttpResponseBase:
    """The item's thumbnail or preview, shown inline; 404 when none was made."""
    item = _viewable_item(request, code, kind)
    found = Derivative.objects.filter(item=item, kind=kind).only("path", "media_type").first()
    if found is None:
        raise Http404(f"This item has no {kind}.")
    path = _stored_file(item, found.path, kind)
    media_type = found.media_type if found.media_type in INLINE_TYPES else OCTET_STREAM
    response = FileResponse(_open(path, item, kind), content_type=media_type)
    response["Content-Disposition"] = content_disposition_header(
        False, download_name(item.code, media_type, f"-{kind}")
    )
    for name, value in DERIVATIVE_HEADERS.items():
        response[name] = value
    return response
