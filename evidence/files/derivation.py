"""Thumbnails, previews and perceptual hashes of image evidence; posters, keyframes,
waveforms and playable copies of video and audio (``recordings``); near-duplicates.

Intake asks for this as background work (``evidence.jobs``) once the item's
transaction has committed, so the upload answers as soon as the original is stored and
hashed, a failure here never undoes the intake and a rollback leaves no derivative.
A damaged image stays evidence, flagged with the reason.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from functools import partial
from pathlib import Path

from django.db import transaction
from django.db.models import Q

from evidence.files import custody, imaging, media, recordings, storage
from evidence.models import CustodyEvent, Derivative, EvidenceItem

log = logging.getLogger(__name__)

NEAR_DUPLICATE_BITS = 3  # the four 16-bit bands find every pair within 3 bits
# Two videos are the same clip when this many keyframes of one (all, if it has fewer)
# each have a keyframe of the other within NEAR_DUPLICATE_BITS.
SAME_CLIP_FRAMES = 3
# A keyframe hash with fewer bits set is plain (see ``plain``): kept, never matched.
PLAIN_BITS = 8


def bands(dhash: str) -> dict[str, str]:
    return {f"phash_band_{n}": dhash[4 * n : 4 * n + 4] for n in range(4)}


def _band_match(dhashes: list[str], prefix: str) -> Q:
    found = Q()
    for dhash in dhashes:
        for n in range(4):
            found |= Q(**{f"{prefix}{n}": dhash[4 * n : 4 * n + 4]})
    return found


def plain(dhash: str) -> bool:
    """Is this the hash of a frame with next to no detail (black, white, one colour: few
    pixels brighter than their neighbour)? Every such frame looks like every other."""
    return int(dhash, 16).bit_count() < PLAIN_BITS


def similar_items(item: EvidenceItem, dhash: str) -> set[int]:
    """The ids of items whose perceptual hash is within NEAR_DUPLICATE_BITS of ``dhash``,
    and of the videos that hold a keyframe that close (a photo that is a frame of one;
    not for a plain picture)."""
    found = EvidenceItem.objects.filter(_band_match([dhash], "phash_band_")).exclude(pk=item.pk)
    similar = {
        pk
        for pk, other in found.values_list("pk", "perceptual_hash")
        if other and imaging.hamming(other, dhash) <= NEAR_DUPLICATE_BITS
    }
    if plain(dhash):
        return similar
    frames = Derivative.objects.filter(_band_match([dhash], "band_"), kind=Derivative.Kind.KEYFRAME)
    for other_id, frame in frames.exclude(item=item).values_list("item_id", "dhash"):
        if imaging.hamming(frame, dhash) <= NEAR_DUPLICATE_BITS:
            similar.add(other_id)
    return similar


def similar_recordings(item: EvidenceItem, dhash: str = "") -> set[int]:
    """The ids of a video's near-duplicates, by its keyframes that are not plain: videos
    sharing at least ``SAME_CLIP_FRAMES`` of them (each within NEAR_DUPLICATE_BITS; all
    of them if it has fewer), so a clip re-encoded, resized, trimmed or marked with a
    logo is found; and pictures whose perceptual hash is that close to one of them (a
    photo that is a frame of the clip). ``dhash`` is not used: a video has no hash of
    its own (its poster is one of its keyframes)."""
    mine = [
        frame
        for frame in item.derivatives.filter(kind=Derivative.Kind.KEYFRAME).values_list(
            "dhash", flat=True
        )
        if frame and not plain(frame)
    ]
    if not mine:
        return set()
    matched: dict[int, set[int]] = {}
    frames = Derivative.objects.filter(_band_match(mine, "band_"), kind=Derivative.Kind.KEYFRAME)
    for other_id, frame in frames.exclude(item=item).values_list("item_id", "dhash"):
        for index, own in enumerate(mine):
            if imaging.hamming(own, frame) <= NEAR_DUPLICATE_BITS:
                matched.setdefault(other_id, set()).add(index)
    enough = min(SAME_CLIP_FRAMES, len(mine))
    similar = {other_id for other_id, indexes in matched.items() if len(indexes) >= enough}
    pictures = EvidenceItem.objects.filter(_band_match(mine, "phash_band_")).exclude(pk=item.pk)
    for pk, other in pictures.values_list("pk", "perceptual_hash"):
        if other and any(imaging.hamming(other, own) <= NEAR_DUPLICATE_BITS for own in mine):
            similar.add(pk)
    return similar


def _wanted(item: EvidenceItem) -> set[str]:
    """The derivative kinds the item's job makes: an image's thumbnail and preview; a
    video's poster (thumbnail, preview) and keyframes; an audio file's waveform (its
    thumbnail and preview). Nothing for other files."""
    if item.media_type.startswith("video/") and recordings.has_picture(item):
        return {Derivative.Kind.THUMBNAIL, Derivative.Kind.PREVIEW, Derivative.Kind.KEYFRAME}
    if item.media_type.startswith(("image/", *recordings.RECORDING_TYPES)):
        return {Derivative.Kind.THUMBNAIL, Derivative.Kind.PREVIEW}
    return set()


def needed(item: EvidenceItem) -> bool:
    """Are derivatives still to be made for ``item`` (an image, video or audio file
    without all of them, not flagged as impossible)? The background job asks this
    first, so a second run changes nothing."""
    wanted = _wanted(item)
    if not wanted or item.derivative_problem:
        return False
    made = {kind for kind, path in item.derivatives.values_list("kind", "path") if path}
    if not wanted <= made:
        return True
    return item.media_type.startswith("image/") and not item.perceptual_hash


def playable_needed(item: EvidenceItem) -> bool:
    """Is a playable copy still to be made (a video or audio file without one, not
    flagged as impossible)?"""
    return (
        recordings.is_recording(item.media_type)
        and not item.playable_problem
        and not item.derivatives.filter(kind=Derivative.Kind.PLAYABLE).exists()
    )


PENDING = "derivatives pending"


def pending(item: EvidenceItem, has_thumbnail: bool) -> bool:
    """Do the item's pages say "derivatives pending"? An image, video or audio file with
    no thumbnail yet and no problem recorded (the background job has not made them
    yet). No query."""
    return (
        item.media_type.startswith(("image/", *recordings.RECORDING_TYPES))
        and not has_thumbnail
        and not item.derivative_problem
    )


def derive(item: EvidenceItem, *, by=None, waiting=None) -> bool:
    """Make the item's derivatives; return False (and flag the item) if impossible.
    ``waiting`` is called every few seconds while a video is decoded."""
    path = storage.path_of(item.original_path)
    with tempfile.TemporaryDirectory(prefix="tracker-media-") as work:
        similar = similar_items
        try:
            if recordings.is_recording(item.media_type):
                made = recordings.make_derivatives(item, path, Path(work), waiting)
                similar = similar_recordings
            else:
                made = imaging.make_derivatives(path)
        except (imaging.DerivativeFailed, imaging.ImageRefused) as exc:
            return flag(item, str(exc))
        except media.MediaFailed as exc:
            return flag(item, f"no derivative: {exc}")
        return _kept(item, made, by, similar, "derivative_problem")


def playable(item: EvidenceItem, *, by=None, waiting=None) -> bool:
    """Make the item's playable copy; return False (and note why on the item) if
    impossible."""
    path = storage.path_of(item.original_path)
    with tempfile.TemporaryDirectory(prefix="tracker-media-") as work:
        try:
            copy = recordings.make_playable(path, Path(work), waiting)
        except media.MediaFailed as exc:
            return flag(item, f"no playable copy: {exc}", field="playable_problem")
        made = imaging.Derivatives(renditions=[copy], dhash="")
        return _kept(item, made, by, None, "playable_problem")


def _remove_unheld(keys: list[str]) -> None:
    """Remove the derivative files no row points at (any more)."""
    for key in keys:
        if not Derivative.objects.filter(path=key).exists():
            storage.path_of(key).unlink(missing_ok=True)


def _kept(item: EvidenceItem, made, by, similar, problem_field: str) -> bool:
    written: list[str] = []
    try:
        store(item, made, written, by, similar=similar, problem_field=problem_field)
    except BaseException as exc:  # whatever stopped it, no file is left without its row
        _remove_unheld(written)
        if not isinstance(exc, OSError):
            raise
        # Disk full, permissions: the item stays, flagged.
        reason = f"could not store it ({exc.strerror or exc})"
        return flag(item, f"no derivative: {reason}", field=problem_field)
    return True


def flag(item: EvidenceItem, problem: str, field: str = "derivative_problem") -> bool:
    setattr(item, field, problem[:300])
    item.save(update_fields=[field])
    log.warning("%s: %s", item.code, problem[:300])
    return False


def store(
    item: EvidenceItem,
    made,
    written: list[str],
    by,
    *,
    similar=None,
    problem_field: str = "derivative_problem",
) -> None:
    """Write the renditions and their rows in one transaction, noting each file written;
    ``made.dhash`` (if any) becomes the item's perceptual hash, and the items
    ``similar(item, dhash)`` finds (``similar_items`` by default) its near-duplicates."""
    with transaction.atomic():
        frames = [r.position for r in made.renditions if r.kind == Derivative.Kind.KEYFRAME]
        if frames:  # a run that chose fewer keyframes than an earlier one: no stale rows
            stale = item.derivatives.filter(kind=Derivative.Kind.KEYFRAME)
            stale = stale.exclude(position__in=frames)
            gone = list(stale.values_list("path", flat=True))
            stale.delete()
            transaction.on_commit(partial(_remove_unheld, gone))
        for rendition in made.renditions:
            key = storage.derivative_key(item.sha256, rendition.kind, rendition.position)
            written.append(key)
            storage.write_derivative(key, rendition.data)
            digest = (
                storage.sha256_of(storage.path_of(key))
                if isinstance(rendition.data, Path)
                else hashlib.sha256(rendition.data).hexdigest()
            )
            extra: dict = {}
            if rendition.dhash:
                extra = {"seconds": rendition.seconds, "dhash": rendition.dhash}
                if not plain(rendition.dhash):  # a plain frame is never looked up
                    extra.update(
                        {f"band_{n}": rendition.dhash[4 * n : 4 * n + 4] for n in range(4)}
                    )
            Derivative.objects.update_or_create(
                item=item,
                kind=rendition.kind,
                position=rendition.position,
                defaults={
                    "path": key,
                    "width": rendition.width,
                    "height": rendition.height,
                    "sha256": digest,
                    "media_type": rendition.media_type,
                    **extra,
                },
            )
            details = {
                "kind": rendition.kind,
                "sha256": digest,
                "width": rendition.width,
                "height": rendition.height,
            }
            if rendition.kind == Derivative.Kind.KEYFRAME:
                details.update(position=rendition.position, seconds=rendition.seconds)
            custody.record(
                item,
                CustodyEvent.Action.DERIVATIVE,
                actor=by,
                observed_sha256=item.sha256,
                details=details,
            )
        setattr(item, problem_field, "")
        fields = [problem_field]
        if made.dhash:
            item.perceptual_hash = made.dhash
            for field, value in bands(made.dhash).items():
                setattr(item, field, value)
            fields += ["perceptual_hash", *bands(made.dhash)]
        item.save(update_fields=fields)
        if similar is None and made.dhash:
            similar = similar_items
        found = similar(item, made.dhash) if similar is not None else set()
        if found:
            item.near_duplicates.add(*found)
