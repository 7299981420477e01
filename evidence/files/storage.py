"""Content-addressed, write-once storage of originals under TRACKER_DATA_DIR.

An original lives at ``originals/ab/cd/<sha256>`` and is never overwritten:
it is linked into place with ``os.link``, which fails if the name exists, and
made read-only (0440). Incoming bytes are first *staged* in a private
directory while they are hashed; only a fully received, hashed file is
promoted. Nothing here is reachable through a URL.

The one way bytes are hashed and copied is here too: ``sha256_of`` hashes a file,
``copy_hashed`` copies a stream while hashing it (staging, backups and bags all
use it), and ``entries``/``walk_files`` walk a tree (the storage audit, backups).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

CHUNK = 1024 * 1024
HEAD_BYTES = 8192
_KEY = re.compile(
    r"^(originals/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}"
    r"|derivatives/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}"
    r"\.(thumbnail\.jpg|preview\.jpg|keyframe-[0-9]{1,3}\.jpg|playable\.mp4))$"
)


class TooLarge(Exception):
    pass


# --- Hashing and hashed copying ---------------------------------------------------------


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks into one reused buffer."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as stream:
        while size := stream.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


@dataclass(frozen=True)
class Copied:
    sha256: str
    size: int
    head: bytes  # the first ``head_bytes`` bytes


def copy_hashed(
    source: BinaryIO, out: BinaryIO, *, max_bytes: int | None = None, head_bytes: int = 0
) -> Copied:
    """Copy ``source`` into ``out`` in 1 MiB chunks, hashing each on the way, in
    constant memory, then flush and fsync ``out``. Past ``max_bytes`` raises TooLarge
    (the caller removes what was written); the first ``head_bytes`` are kept."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise TooLarge(f"The file is larger than the limit of {max_bytes:,} bytes.")
        if len(head) < head_bytes:
            head += chunk[: head_bytes - len(head)]
        digest.update(chunk)
        out.write(chunk)
    out.flush()
    os.fsync(out.fileno())
    return Copied(sha256=digest.hexdigest(), size=size, head=head)


# --- Walking a tree ------------------------------------------------------------------


def entries(folder: Path | str) -> list[os.DirEntry]:
    """One directory's entries in name order (a few dozen at most in a two-level hash tree)."""
    with os.scandir(folder) as found:
        return sorted(found, key=lambda entry: entry.name)


def walk_files(folder: Path | str) -> Iterator[os.DirEntry]:
    """Everything below ``folder`` that is not a directory, depth first in name order.
    Links are not followed: a link is yielded as it is, for the caller to judge."""
    for entry in entries(folder):
        if entry.is_dir(follow_symlinks=False):
            yield from walk_files(entry.path)
        else:
            yield entry


STAGING_MAX_AGE = 6 * 3600  # seconds; older staged files are leftovers of rolled-back work


@dataclass
class StagedFile:
    path: Path
    sha256: str
    size: int
    head: bytes  # the first bytes, for type sniffing without re-reading
    handed_over: bool = False  # promotion deferred to a commit; not ours to discard now

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

    def keep(self) -> Path:
        """Mark the staged copy as the only copy of committed evidence (its promotion
        failed after the commit): ``sweep_staging`` never removes it, ``check_storage``
        names its item. Returns where it is."""
        kept = self.path.with_name(self.sha256 + KEPT)
        os.replace(self.path, kept)
        self.path = kept
        return kept


# What ``stage`` names a file (a uuid4, hex).
_STAGED_NAME = re.compile(r"[0-9a-f]{32}")

# The suffix of a staged copy that holds the bytes of a committed item.
KEPT = ".kept"


def sweep_staging(now: float | None = None) -> int:
    """Remove staged files older than STAGING_MAX_AGE: what a rolled-back caller's
    transaction left behind (they never became evidence). Returns how many.

    A kept copy (``StagedFile.keep``) stays: only check_storage, which asks the
    database whether its item's original is back in place, may remove it."""
    folder = root() / "staging"
    if not folder.is_dir():
        return 0
    limit = (now or time.time()) - STAGING_MAX_AGE
    removed = 0
    for entry in entries(folder):
        if entry.name.endswith(KEPT):
            continue
        if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < limit:
            Path(entry.path).unlink(missing_ok=True)
            removed += 1
    return removed


def root() -> Path:
    return Path(settings.DATA_DIR)


# --- a background job's input: an upload kept until its job has used it -----------------

JOB_INPUTS = "job-inputs"


def keep_for_job(stream: BinaryIO) -> tuple[str, str, int]:
    """Copy ``stream`` (hashing it, within the upload limit) into ``job-inputs/``, which
    is never swept: the job that reads it removes it. Returns its name, SHA-256, size."""
    staged = stage(stream)
    target = _private_dir(root() / JOB_INPUTS) / staged.path.name
    os.replace(staged.path, target)
    return target.name, staged.sha256, staged.size


def job_input(name: str) -> Path:
    """The path of the job input ``name``; refuses anything ``keep_for_job`` never names."""
    if not _STAGED_NAME.fullmatch(name):
        raise ValueError(f"not a job input: {name!r}")
    return root() / JOB_INPUTS / name


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o750, parents=True, exist_ok=True)
    return path


def original_key(sha256: str) -> str:
    return f"originals/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def derivative_key(sha256: str, kind: str, position: int = 0) -> str:
    """Where a derivative of the original ``sha256`` is kept: its thumbnail, preview,
    ``position``-th keyframe, or playable copy."""
    if kind == "keyframe":
        return f"derivatives/{sha256[:2]}/{sha256[2:4]}/{sha256}.keyframe-{position}.jpg"
    suffix = "mp4" if kind == "playable" else "jpg"
    return f"derivatives/{sha256[:2]}/{sha256[2:4]}/{sha256}.{kind}.{suffix}"


def path_of(key: str) -> Path:
    """The filesystem path of a storage key; refuses anything but a well-formed key."""
    if not _KEY.match(key):
        raise ValueError(f"not a storage key: {key!r}")
    return root() / key


def write_derivative(key: str, data: bytes | Path) -> None:
    """Write a derivative (its bytes, or a file made elsewhere) atomically (temp file,
    then rename); derivatives can be remade from the original, so replacing one is
    allowed, unlike originals."""
    target = path_of(key)
    _private_dir(target.parent)
    temp = target.with_name(f".{uuid.uuid4().hex}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(data, Path):
                with data.open("rb") as source:
                    shutil.copyfileobj(source, out, CHUNK)
            else:
                out.write(data)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def stage(stream: BinaryIO, *, max_bytes: int | None = None) -> StagedFile:
    """Copy ``stream`` into the staging area, hashing as it goes, in constant memory."""
    limit = settings.TRACKER_MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    sweep_staging()
    target = _private_dir(root() / "staging") / uuid.uuid4().hex
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            copied = copy_hashed(stream, out, max_bytes=limit, head_bytes=HEAD_BYTES)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return StagedFile(path=target, sha256=copied.sha256, size=copied.size, head=copied.head)


def promote(staged: StagedFile) -> tuple[str, bool]:
    """Put a staged file in its content address. Returns (key, created).

    ``created`` is False when the same content was already stored, in which
    case the existing file is left untouched.
    """
    key = original_key(staged.sha256)
    target = root() / key
    _private_dir(target.parent)
    try:
        os.link(staged.path, target)
    except FileExistsError:
        return key, False
    try:
        os.chmod(target, 0o440)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return key, True


def remove_new_original(key: str) -> None:
    """Undo a promotion whose database transaction failed (never used on held evidence)."""
    path_of(key).unlink(missing_ok=True)
