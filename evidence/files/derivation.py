"""Thumbnails, previews and perceptual hashes for image evidence.

Intake asks for this as background work (``evidence.jobs``) once the item's
transaction has committed, so the upload answers as soon as the original is stored and
hashed, a failure here never undoes the intake and a rollback leaves no derivative.
A damaged image stays evidence, flagged with the reason.
"""

from __future__ import annotations

import hashlib
import logging

from django.db import transaction
from django.db.models import Q

from evidence.files import custody, imaging, storage
from evidence.models import CustodyEvent, Derivative, EvidenceItem

log = logging.getLogger(__name__)

NEAR_DUPLICATE_BITS = 3  # the four 16-bit bands find every pair within 3 bits


def bands(dhash: str) -> dict[str, str]:
    return {f"phash_band_{n}": dhash[4 * n : 4 * n + 4] for n in range(4)}


def similar_items(item: EvidenceItem, dhash: str) -> list[EvidenceItem]:
    """Items whose perceptual hash is within NEAR_DUPLICATE_BITS of ``dhash``."""
    candidates = Q()
    for field, value in bands(dhash).items():
        candidates |= Q(**{field: value})
    found = EvidenceItem.objects.filter(candidates).exclude(pk=item.pk).only("perceptual_hash")
    return [
        other
        for other in found
        if other.perceptual_hash
        and imaging.hamming(other.perceptual_hash, dhash) <= NEAR_DUPLICATE_BITS
    ]


def needed(item: EvidenceItem) -> bool:
    """Are derivatives still to be made for ``item`` (an image without all of them, not
    flagged as impossible)? The background job asks this first, so a second run changes
    nothing."""
    if not item.media_type.startswith("image/") or item.derivative_problem:
        return False
    made = {kind for kind, path in item.derivatives.values_list("kind", "path") if path}
    return not item.perceptual_hash or made != set(Derivative.Kind.values)


PENDING = "derivatives pending"


def pending(item: EvidenceItem, has_thumbnail: bool) -> bool:
    """Do the item's pages say "derivatives pending"? An image with no thumbnail yet and
    no problem recorded (the background job has not made them yet). No query."""
    return (
        item.media_type.startswith("image/") and not has_thumbnail and not item.derivative_problem
    )


def derive(item: EvidenceItem, *, by=None) -> bool:
    """Make the item's derivatives; return False (and flag the item) if impossible."""
    path = storage.path_of(item.original_path)
    try:
        made = imaging.make_derivatives(path)
    except (imaging.DerivativeFailed, imaging.ImageRefused) as exc:
        return flag(item, str(exc))
    written: list[str] = []
    try:
        store(item, made, written, by)
    except OSError as exc:  # disk full, permissions: the item stays, flagged; no orphan left
        for key in written:
            if not Derivative.objects.filter(path=key).exists():
                storage.path_of(key).unlink(missing_ok=True)
        return flag(item, f"no derivative: could not store it ({exc.strerror or exc})")
    return True


def flag(item: EvidenceItem, problem: str) -> bool:
    item.derivative_problem = problem[:300]
    item.save(update_fields=["derivative_problem"])
    log.warning("%s: %s", item.code, item.derivative_problem)
    return False


def store(item: EvidenceItem, made, written: list[str], by) -> None:
    """Write the renditions and their rows in one transaction, noting each file written."""
    with transaction.atomic():
        for rendition in made.renditions:
            key = storage.derivative_key(item.sha256, rendition.kind)
            written.append(key)
            storage.write_derivative(key, rendition.data)
            digest = hashlib.sha256(rendition.data).hexdigest()
            Derivative.objects.update_or_create(
                item=item,
                kind=rendition.kind,
                defaults={
                    "path": key,
                    "width": rendition.width,
                    "height": rendition.height,
                    "sha256": digest,
                },
            )
            custody.record(
                item,
                CustodyEvent.Action.DERIVATIVE,
                actor=by,
                observed_sha256=item.sha256,
                details={
                    "kind": rendition.kind,
                    "sha256": digest,
                    "width": rendition.width,
                    "height": rendition.height,
                },
            )
        item.perceptual_hash = made.dhash
        for field, value in bands(made.dhash).items():
            setattr(item, field, value)
        item.derivative_problem = ""
        item.save(update_fields=["perceptual_hash", "derivative_problem", *bands(made.dhash)])
        similar = similar_items(item, made.dhash)
        if similar:
            item.near_duplicates.add(*similar)
