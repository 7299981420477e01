"""Court bundles: a bag (``evidence.files.bagging``) packed as one zip file under
``exports/`` in TRACKER_DATA_DIR, for the one person who asked for it to download
until it expires (``evidence.jobs`` makes it, the jobs page hands it out).

A bundle is written where nobody looks for it (a hidden ``.partial`` folder of
``exports/``): the bag, then its zip, streamed file by file (never a whole file in
memory). The finished zip is renamed to ``exports/<job>-<random>.zip`` in the
transaction that records the bag's "exported" custody events, and ``delivered(key,
size)`` is called there too (to set the job's output): either the bundle, its events
and its job's output all exist, or none does. A run killed half-way leaves only a
``.partial`` folder, never a file that could be taken for a bundle.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from evidence.files import bagging, storage
from tracker.models import Incident

EXPORTS = "exports"
_KEY = re.compile(r"^exports/[0-9]{1,12}-[0-9a-f]{32}\.zip$")
# Originals are mostly compressed already (JPEG, video): stored as they are.
STORED_UNDER = "data/originals/"
PARTIAL_MAX_AGE = 24 * 3600  # seconds; an older .partial folder is a killed run's


def folder() -> Path:
    path = storage.root() / EXPORTS
    path.mkdir(mode=0o750, parents=True, exist_ok=True)
    return path


def path_of(key: str) -> Path:
    """The file of a bundle's storage key; refuses anything but a bundle's key."""
    if not _KEY.match(key or ""):
        raise ValueError(f"not a bundle's key: {key!r}")
    return storage.root() / key


def exists(key: str) -> bool:
    try:
        return path_of(key).is_file()
    except ValueError:
        return False


def remove(key: str) -> None:
    """Delete a bundle (``tracker.jobs.expire_outputs``): only a bundle's own key."""
    try:
        path = path_of(key)
    except ValueError:
        return
    path.unlink(missing_ok=True)


def make(
    incidents: Iterable[Incident],
    *,
    job_id: int,
    by,
    include_protected: bool,
    progress: Callable[[int, int], None],
    delivered: Callable[[str, int], None],
) -> tuple[str, int]:
    """Export ``incidents`` as a bag, pack it as a zip and put it in place. Returns its
    storage key and size. ``delivered(key, size)`` is called in the transaction of the
    custody events; if it raises, nothing stays (file, events)."""
    name = f"{int(job_id)}-{uuid.uuid4().hex}"
    key = f"{EXPORTS}/{name}.zip"
    target = path_of(key)
    sweep_partial()
    work = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=folder()))
    packed = work / f"{name}.zip"
    size = 0

    def pack(bag: Path) -> None:
        zip_tree(bag, packed, top=name, progress=progress)

    def deliver() -> None:
        nonlocal size
        size = packed.stat().st_size
        os.replace(packed, target)  # the same file system: atomic
        delivered(key, size)

    try:
        bagging.export_bag(
            incidents,
            work / name,
            by=by,
            include_protected=include_protected,
            progress=progress,
            sealed=pack,
            recorded=deliver,
        )
    except BaseException:
        target.unlink(missing_ok=True)  # moved in, then the transaction rolled back
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return key, size


def zip_tree(root: Path, out: Path, *, top: str, progress: Callable[[int, int], None]) -> None:
    """Write every file under ``root`` into a new zip ``out``, under the folder ``top``,
    one file at a time (zipfile reads and writes in chunks). Links are not followed
    (a bag has none: bagging writes every file itself)."""
    files = [Path(entry.path) for entry in storage.walk_files(root)]
    with zipfile.ZipFile(out, "x", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as bundle:
        for done, path in enumerate(files):
            if path.is_symlink() or not path.is_file():
                raise bagging.ExportError(f"Unexpected file in the bag: {path.name!r}.")
            inside = path.relative_to(root).as_posix()
            stored = inside.startswith(STORED_UNDER)
            bundle.write(
                path,
                f"{top}/{inside}",
                compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED,
            )
            progress(done, len(files))
    with open(out, "rb") as written:
        os.fsync(written.fileno())


def sweep_partial(now: float | None = None) -> int:
    """Remove ``.partial`` folders older than PARTIAL_MAX_AGE: what a killed run left."""
    base = storage.root() / EXPORTS
    if not base.is_dir():
        return 0
    limit = (now or time.time()) - PARTIAL_MAX_AGE
    removed = 0
    for entry in storage.entries(base):
        if (
            entry.name.startswith(".")
            and entry.name.endswith(".partial")
            and entry.is_dir(follow_symlinks=False)
            and entry.stat(follow_symlinks=False).st_mtime < limit
        ):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed
