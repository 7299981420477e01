"""The one way a file becomes evidence: stream, hash, sniff, store, record.

Used by the admin, the commands, the demo loader and any later API. Order:
0. refuse a locked incident (verified, published, rejected: ``tracker.locks``);
1. stage the bytes while hashing (constant memory), before any processing;
2. refuse empty files and types not allowed for the kind (decided from content);
3. a file already held (same SHA-256) is linked, not stored twice; if the sender
   may not see the item that holds it, nothing is linked: the copy is set aside
   for an editor (``IngestResult.withheld``), and the sender learns nothing of it;
4. in one transaction: the item row, its details, custody events, and the
   promotion of the file to its content address; if the transaction fails, a
   file this call created is removed again, so no row points at a missing file
   and no new file is left without a row.
"""

from __future__ import annotations

import contextlib
import logging
import unicodedata
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from evidence import access, links
from evidence.files import custody, imaging, recordings, sniffing, storage
from evidence.models import (
    CustodyEvent,
    EvidenceItem,
    PhotoMetadata,
    SatelliteImage,
)
from tracker import jobs, locks, notifications
from tracker.models import Incident, Job

log = logging.getLogger(__name__)

EMPTY_FILE = "The file is empty (0 bytes)."
UNKNOWN_FORMAT = "This file's format is not one the tracker accepts."
# What the sender of a withheld copy is told, after its file name: the same words
# whichever item holds the bytes, and nothing of that item.
SET_ASIDE = "received; it is set aside for an editor to decide where it belongs."
# A copy sent as protected and set aside: its file name is not written on the held item.
WITHHELD_SENT_PROTECTED = "(withheld: sent as protected)"


NO_SUCH_INCIDENT = "No such incident."


class IntakeError(Exception):
    """A file was refused; the message is meant for the person who sent it."""


@dataclass
class IngestResult:
    # None when ``withheld``: no caller can show what the sender may not know.
    item: EvidenceItem | None
    duplicate: bool
    # Where the received bytes can be read now: the stored original, or, until a
    # caller's transaction commits and the file is promoted, the staged copy.
    received: Path | None = None
    # The bytes are held in an item the sender may not see (``access.visible_items``):
    # nothing was linked or stored; the item's custody log records the copy and those
    # who may see it are told. The sender is told ``SET_ASIDE``, nothing more.
    withheld: bool = False


def clean_filename(name: str) -> str:
    """The client's file name as metadata: control characters replaced, length capped.

    It is never used to build a path."""
    cleaned = "".join("\ufffd" if unicodedata.category(ch).startswith("C") else ch for ch in name)
    return cleaned[:255]


def default_title(filename: str, kind: str, sha256: str, fields: dict) -> str:
    """The title of an item sent without one: its file name, except for a protected
    item, whose file name may carry the name of the person it protects."""
    if fields.get("is_protected"):
        return f"Protected {EvidenceItem.Kind(kind).label.lower()} {sha256[:12]}"
    return clean_filename(filename)[:200] or sha256[:12]


def ingest(
    stream: BinaryIO,
    *,
    filename: str,
    kind: str | None,
    by,
    title: str = "",
    incident: Incident | None = None,
    relevance: str = "",
    received_from: str = "",
    **fields: Any,
) -> IngestResult:
    """Store ``stream`` as an evidence item of ``kind`` (see module docstring).

    With ``kind=None`` the kind follows from the content (an image is a photo).
    An ``incident`` that ``by`` may not see, or a locked one, is refused before the
    stream is read."""
    if kind is not None and kind not in sniffing.ALLOWED:
        raise IntakeError(f"Unknown evidence kind {kind!r}.")
    if incident is not None:
        from evidence.visibility import may_see  # the policy imports this app's models

        if by is not None and not may_see(by, incident):  # as an unknown incident
            raise IntakeError(NO_SUCH_INCIDENT)
        try:
            locks.check_incident_open(incident.pk, "evidence")
        except locks.Locked as exc:
            raise IntakeError(" ".join(exc.messages)) from None
    try:
        staged = storage.stage(stream)
    except storage.TooLarge as exc:
        raise IntakeError(str(exc)) from None
    try:
        return _store(
            staged,
            filename=filename,
            kind=kind,
            by=by,
            title=title,
            incident=incident,
            relevance=relevance,
            received_from=received_from,
            fields=fields,
        )
    finally:
        if not staged.handed_over:
            staged.discard()


def _held_file(item: EvidenceItem) -> Path | None:
    return storage.path_of(item.original_path) if item.original_path else None


def _inside_callers_transaction() -> bool:
    """Is ingest running inside someone else's transaction? A test case's own
    wrapping transaction does not count (as for Django's durable atomic blocks)."""
    return any(not block._from_testcase for block in connection.atomic_blocks)  # type: ignore[attr-defined]


def _promote_after_commit(staged: storage.StagedFile) -> None:
    try:
        storage.promote(staged)
    except BaseException:
        # The row is committed but its file could not be put in place: the staged
        # copy is kept (never swept), verify_evidence reports the item MISSING and
        # check_storage names the kept copy to put back.
        where = staged.path
        with contextlib.suppress(OSError):
            where = staged.keep()
        log.critical(
            "could not store the original %s after commit; the received bytes are in %s",
            staged.sha256,
            where,
        )
        raise
    staged.discard()


def _link(item: EvidenceItem, incident: Incident | None, relevance: str, by) -> None:
    if incident is None:
        return
    try:
        links.link(item, incident, by=by, relevance=relevance)
    except locks.Refused as exc:  # a held item cited where the link would hide it
        raise IntakeError(" ".join(exc.messages)) from None


def _already_held(
    existing: EvidenceItem,
    staged: storage.StagedFile,
    *,
    filename: str,
    by,
    incident: Incident | None,
    relevance: str,
    protected: bool = False,
) -> IngestResult:
    """The bytes are held in ``existing``: linked to ``incident``, or set aside if the
    sender may not see the item (a link to an incident they see would show it to all)."""
    if access.visible_items(by, EvidenceItem.objects.filter(pk=existing.pk)).exists():
        _link(existing, incident, relevance, by)
        return IngestResult(existing, duplicate=True, received=_held_file(existing))
    # The file name goes under the key that access.custody_details withholds for a
    # protected item: the sender may have named the person it protects. Sent as
    # protected, it is not written at all: the held item may be an open one, whose log
    # the whole team reads.
    details = {"filename": WITHHELD_SENT_PROTECTED if protected else clean_filename(filename)}
    if incident is not None:
        details["incident"] = incident.code
    with transaction.atomic():
        custody.record(
            existing,
            CustodyEvent.Action.DUPLICATE,
            actor=by,
            observed_sha256=staged.sha256,
            details=details,
        )

        def notify() -> None:  # named, not a partial: see derive() below
            notifications.duplicate_set_aside(existing, by=by)

        # A mail that cannot be sent is logged, never raised into the upload.
        transaction.on_commit(notify, robust=True)
    # No code here: the ingest command shows this log at -v 2.
    log.info("set aside a copy of a held item (%s) for an editor", staged.sha256)
    return IngestResult(None, duplicate=True, withheld=True)


def _store(staged, *, filename, kind, by, title, incident, relevance, received_from, fields):
    if staged.size == 0:
        raise IntakeError(EMPTY_FILE)
    media_type = sniffing.sniff(staged.head, kind=kind or "")
    if kind is None:
        if media_type is None:
            raise IntakeError(UNKNOWN_FORMAT)
        kind = sniffing.default_kind(media_type)
    if media_type is None or media_type not in sniffing.ALLOWED[kind]:
        found = media_type or "an unrecognised or disallowed format"
        raise IntakeError(
            f"{'An' if kind[0] in 'aeiou' else 'A'} {kind.replace('_', ' ')} must be one of "
            f"{', '.join(sorted(sniffing.ALLOWED[kind]))}; this file is {found}."
        )

    held = partial(
        _already_held,
        staged=staged,
        filename=filename,
        by=by,
        incident=incident,
        relevance=relevance,
        protected=bool(fields.get("is_protected")),
    )
    existing = EvidenceItem.objects.filter(sha256=staged.sha256).first()
    if existing is not None:
        return held(existing)

    is_image = media_type.startswith("image/")
    try:
        facts = imaging.read_photo_facts(staged.path) if is_image else None
    except imaging.ImageRefused as exc:
        raise IntakeError(str(exc)) from None
    scene = imaging.read_scene_facts(staged.path) if kind == EvidenceItem.Kind.SATELLITE else None
    is_recording = recordings.is_recording(media_type)
    # In the limited child (FFmpeg reads hostile bytes): None if it cannot read them.
    recorded = recordings.read_facts(staged.path, at_intake=True) if is_recording else None
    now = timezone.now()
    key = storage.original_key(staged.sha256)
    # Set just before promotion: if anything fails from there on, a file that was
    # not there before is ours to remove (the row for this hash is held by this
    # transaction, so no other request can be promoting the same file).
    promoting = existed = False
    # Inside a caller's transaction, the file is promoted when that transaction
    # commits: if the caller rolls back, no original is left without its row.
    deferred = _inside_callers_transaction()
    try:
        with transaction.atomic():
            item = EvidenceItem(
                kind=kind,
                title=title or default_title(filename, kind, staged.sha256, fields),
                original_filename=clean_filename(filename),
                original_path=key,
                size=staged.size,
                media_type=media_type,
                sha256=staged.sha256,
                acquired_at=fields.pop("acquired_at", now),
                acquired_by=by,
                created_by=by,
                updated_by=by,
                **fields,
            )
            fills = access.claims_fill_capture(item)
            if fills and facts and facts.taken_at and not item.captured_at:
                item.captured_at = facts.taken_at
            if (
                fills
                and facts
                and facts.gps_latitude is not None
                and item.captured_latitude is None
            ):
                item.captured_latitude = facts.gps_latitude
                item.captured_longitude = facts.gps_longitude
            claims = recordings.metadata(item, recorded) if recorded else None
            if claims is not None and fills:
                if claims.recorded_at and not item.captured_at:
                    item.captured_at = claims.recorded_at
                if claims.latitude is not None and item.captured_latitude is None:
                    item.captured_latitude = claims.latitude
                    item.captured_longitude = claims.longitude
            # Not the hash: a request that stored the same bytes since the look-up above
            # must meet the unique index at save (IntegrityError, linked below), not a
            # ValidationError here. The code is assigned by save().
            item.full_clean(exclude=["code", "sha256"])
            item._history_user = by  # type: ignore[attr-defined]  # django-simple-history: who made this version
            item.save()
            _link(item, incident, relevance, by)
            if facts and kind == EvidenceItem.Kind.PHOTO:
                PhotoMetadata.objects.create(item=item, **facts.__dict__)
            if scene is not None:
                SatelliteImage.objects.create(item=item, **scene.__dict__)
            if claims is not None:
                claims.item = item
                claims.save()
            custody.record(
                item,
                CustodyEvent.Action.ACQUIRED,
                actor=by,
                at=item.acquired_at,
                details={"from": received_from, "filename": item.original_filename},
            )
            custody.record(
                item,
                CustodyEvent.Action.RECEIVED,
                actor=by,
                observed_sha256=staged.sha256,
                details={"size": staged.size, "media_type": media_type},
            )
            if not deferred:
                existed = storage.path_of(key).exists()
                promoting = True
                storage.promote(staged)
    except IntegrityError:
        if promoting and not existed:
            storage.remove_new_original(key)
        # Another request stored the same file a moment ago: link to it.
        existing = EvidenceItem.objects.filter(sha256=staged.sha256).first()
        if existing is None:
            raise
        return held(existing)
    except BaseException:
        if promoting and not existed:
            storage.remove_new_original(key)
        raise
    received = storage.path_of(key)
    if deferred:
        staged.handed_over = True
        received = staged.path
        transaction.on_commit(partial(_promote_after_commit, staged))
    log.info("ingested %s (%s, %d bytes)", item.code, media_type, staged.size)
    if is_image or is_recording:
        # Background work (its handler is in evidence.jobs), handed to the queue after
        # the commit (of the caller's transaction, if there is one), so a rollback asks
        # for nothing and the upload does not wait for the thumbnails; the item's pages
        # say "derivatives pending" until they exist.
        jobs.submit(Job.Kind.DERIVATIVES, item.code, by=by)
    if is_recording:
        jobs.submit(Job.Kind.PLAYABLE, item.code, by=by)
    return IngestResult(item, duplicate=False, received=received)
