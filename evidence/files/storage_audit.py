"""What is on disk against what the database says about it.

``scan()`` walks ``originals/``, ``derivatives/`` and ``staging/`` one directory at
a time and the evidence rows in primary-key batches, yielding each finding as it
goes, so a store of a million files is checked in bounded memory: the only set
held is the hashes (or derivative paths) of one top-level ``ab/`` prefix, read
from the database when the walk reaches that directory.

Findings (``Finding.kind``):

- ``orphan``: a file under ``originals/`` or ``derivatives/`` that no row points
  at and, for an original, that no custody event names. Intake never leaves one
  on a failure it sees; a process killed between storing a file and committing
  its row does (harmless: nothing refers to it).
- ``logged-only``: an original no row points at but whose hash a custody event
  names (``observed_sha256``). The custody log, not the row, is the reference
  (``evidence/files/fixity.py``): such a file is most likely the real original of an
  item whose row was pointed at another file, so it is never an orphan and never
  removed. The finding names the item (the one whose ``received`` event names
  the hash, if any); ``verify_evidence`` reports that item's row.
- ``missing``: an evidence row whose original is not on disk.
- ``missing-derivative``: a thumbnail or preview row whose file is not on disk.
- ``stale-staging``: an upload's staged copy older than
  ``storage.STAGING_MAX_AGE``: a killed upload or a caller's rolled-back
  transaction left it.
- ``staging``: a younger staged copy; most likely an upload in progress, so it is
  listed but not counted as a problem.
- ``removed``: an orphan or stale staged file deleted by this scan.

A staged file that holds the bytes of an item whose original is missing (a
promotion that failed after its commit), or bytes a custody log names whose
original is missing, is never removed: its finding names the item, and it is
the copy to put back.

Removal happens only when asked (``delete_orphans``), only for files older than
``min_age`` seconds (default ``storage.STAGING_MAX_AGE``: a younger file may
belong to an ingest whose transaction has not committed yet, or to an upload in
progress), and for a stored file only after the database is asked once more,
just before the unlink, whether a row now points at it or a custody event names
it. Every removal is logged.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from evidence.files import custody, storage
from evidence.models import CustodyEvent, Derivative, EvidenceItem
from tracker.batches import batches

log = logging.getLogger(__name__)

BATCH = 2000

ORPHAN = "orphan"
LOGGED_ONLY = "logged-only"
MISSING = "missing"
MISSING_DERIVATIVE = "missing-derivative"
STALE_STAGING = "stale-staging"
STAGING = "staging"
REMOVED = "removed"
PROBLEMS = frozenset({ORPHAN, LOGGED_ONLY, MISSING, MISSING_DERIVATIVE, STALE_STAGING})


@dataclass(frozen=True)
class Finding:
    kind: str
    key: str  # storage key, or staging/<name>
    code: str = ""  # the evidence code, for rows

    def __str__(self) -> str:
        line = " ".join(part for part in (self.kind.upper(), self.code, self.key) if part)
        if self.kind == LOGGED_ONLY:
            line += f" (named by the custody log of {self.code}, not by its row)"
        return line


@dataclass
class Report:
    """The findings of one scan, kept in a list: for tests and small stores."""

    findings: list[Finding] = field(default_factory=list)

    def of(self, kind: str) -> list[Finding]:
        return [finding for finding in self.findings if finding.kind == kind]

    @property
    def counts(self) -> Counter[str]:
        return Counter(finding.kind for finding in self.findings)

    @property
    def problems(self) -> int:
        return sum(1 for finding in self.findings if finding.kind in PROBLEMS)


def audit(**options) -> Report:
    """``scan(**options)`` collected into a Report."""
    return Report(list(scan(**options)))


def scan(
    *,
    delete_orphans: bool = False,
    min_age: float = storage.STAGING_MAX_AGE,
    now: float | None = None,
) -> Iterator[Finding]:
    """Yield every finding (see the module docstring); remove orphans and stale
    staged files older than ``min_age`` seconds if ``delete_orphans``."""
    now = time.time() if now is None else now
    removable_before = now - min_age if delete_orphans else None
    yield from _orphans("originals", _held_originals, removable_before, _logged_original)
    yield from _orphans("derivatives", _held_derivatives, removable_before)
    yield from _missing_originals()
    yield from _missing_derivatives()
    yield from _staging(now, removable_before)


# --- Files without rows ------------------------------------------------------------


def _held_originals(prefix: str) -> set[str]:
    hashes = EvidenceItem.objects.filter(sha256__startswith=prefix).values_list("sha256", flat=True)
    return {storage.original_key(sha256) for sha256 in hashes.iterator(chunk_size=BATCH)}


def _held_derivatives(prefix: str) -> set[str]:
    paths = Derivative.objects.filter(path__startswith=f"derivatives/{prefix}/")
    return set(paths.values_list("path", flat=True).iterator(chunk_size=BATCH))


def _logged_original(key: str) -> str:
    """The code of an item whose custody log names the original ``key`` ("" if none).

    Asked only for a file no row points at, and only for a well-formed key (the
    log's hashes are not indexed: a scan each, fine for the few such files)."""
    try:
        storage.path_of(key)
    except ValueError:
        return ""
    codes = custody.items_naming(Path(key).name)
    return codes[0] if codes else ""


def _still_unreferenced(key: str) -> bool:
    """Asked again just before a removal: a row (with its custody events) may have
    been committed since the prefix's set was read."""
    if key.startswith("originals/"):
        sha256 = Path(key).name
        return not (
            EvidenceItem.objects.filter(sha256=sha256).exists()
            or CustodyEvent.objects.filter(observed_sha256=sha256).exists()
        )
    return not Derivative.objects.filter(path=key).exists()


def _orphans(
    area: str,
    held_in: Callable[[str], set[str]],
    removable_before: float | None,
    logged_in: Callable[[str], str] | None = None,
) -> Iterator[Finding]:
    base = storage.root() / area
    if not base.is_dir():
        return
    for top in storage.entries(base):
        if top.is_dir(follow_symlinks=False):
            held, found = held_in(top.name), storage.walk_files(top.path)
        else:
            held, found = set(), iter([top])
        for entry in found:
            key = Path(entry.path).relative_to(storage.root()).as_posix()
            if key in held:
                continue
            if logged_in is not None and (code := logged_in(key)):
                yield Finding(LOGGED_ONLY, key, code)
                continue
            if _removable(entry, key, removable_before) and _still_unreferenced(key):
                Path(entry.path).unlink(missing_ok=True)
                log.warning("check_storage removed %s, which no row points at", key)
                yield Finding(REMOVED, key)
            else:
                yield Finding(ORPHAN, key)


def _removable(entry: os.DirEntry, key: str, removable_before: float | None) -> bool:
    """Only well-formed storage keys are removed: anything else under the store
    was put there by hand and is left for a person to look at."""
    if removable_before is None or entry.is_dir(follow_symlinks=False):
        return False
    try:
        storage.path_of(key)
    except ValueError:
        return False
    return entry.stat(follow_symlinks=False).st_mtime < removable_before


# --- Rows without files ------------------------------------------------------------


def _on_disk(key: str) -> bool:
    try:
        return storage.path_of(key).is_file()
    except ValueError:  # not a storage key: nothing valid can be there
        return False


def _missing_originals() -> Iterator[Finding]:
    items = EvidenceItem.objects.exclude(sha256="").values_list("pk", "code", "original_path")
    for batch in batches(items, BATCH):
        for _pk, code, key in batch:
            if not _on_disk(key):
                yield Finding(MISSING, key, code)


def _missing_derivatives() -> Iterator[Finding]:
    rows = Derivative.objects.values_list("pk", "item__code", "path")
    for batch in batches(rows, BATCH):
        for _pk, code, key in batch:
            if not _on_disk(key):
                yield Finding(MISSING_DERIVATIVE, key, code)


# --- Staged uploads ----------------------------------------------------------------


def _staging(now: float, removable_before: float | None) -> Iterator[Finding]:
    folder = storage.root() / "staging"
    if not folder.is_dir():
        return
    stale_before = now - storage.STAGING_MAX_AGE
    for entry in storage.entries(folder):
        key = f"staging/{entry.name}"
        mtime = entry.stat(follow_symlinks=False).st_mtime
        kind = STALE_STAGING if mtime < stale_before else STAGING
        if removable_before is None or mtime >= removable_before:
            yield Finding(kind, key)
        elif code := _missing_original_held_in(Path(entry.path)):
            yield Finding(kind, key, code)  # the only copy left of that item's file
        else:
            Path(entry.path).unlink(missing_ok=True)
            log.warning("check_storage removed the stale staged upload %s", key)
            yield Finding(REMOVED, key)


def _missing_original_held_in(path: Path) -> str:
    """The code of an item whose original is missing and whose bytes ``path``
    holds: what a promotion failing after its commit leaves (see intake). An item
    whose custody log names those bytes counts too, whatever its row says."""
    sha256 = storage.sha256_of(path)
    item = EvidenceItem.objects.filter(sha256=sha256).only("code", "original_path").first()
    if item is not None and not _on_disk(item.original_path):
        return item.code
    if _on_disk(storage.original_key(sha256)):
        return ""
    codes = custody.items_naming(sha256)
    return codes[0] if codes else ""
