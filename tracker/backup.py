"""Backups of a whole instance, and their restore into an empty one.

A backup is a directory::

    data.jsonl            every row of every model (sessions aside), one JSON object a line
    originals/ab/cd/<sha256>            each evidence original, by its hash
    derivatives/ab/cd/<sha256>.<kind>.jpg   thumbnails, previews, keyframes (keyframe-<n>)
    derivatives/ab/cd/<sha256>.playable.mp4 a video's or audio file's playable copy
    backup.json           counts per model, migrations, versions, time, database vendor
    manifest-sha256.txt   "<sha256>  <path>" for every other file (``sha256sum -c`` reads it)

The database goes through Django's own serializer rather than ``pg_dump`` or
SQLite's backup API: the same file restores on SQLite and on PostgreSQL, in
either direction, and it is read and written a line at a time. The JSON
encoder keeps microseconds (Django's drops them, and custody event hashes
cover their times to the microsecond). Rows are read inside one snapshot
(PostgreSQL: a REPEATABLE READ, READ ONLY transaction; SQLite: a deferred
transaction, which in WAL mode reads one snapshot without blocking writers),
so the dump, the originals and the derivatives agree with each other.

Restore refuses anything but an empty instance (a migrated database holding only
what the migrations seed, and no stored file), a backup whose files do not
match its manifest or that has files the manifest does not list, and a backup
made at other migrations. It then, in one transaction: empties the seeded
tables, loads every row as it was (primary keys included, so every reference,
content type and custody chain is unchanged), checks the counts against
``backup.json``, and puts the originals (read-only, 0440) and derivatives in
place, each checked against its row's hash; any failure rolls the database back
and removes the files it placed. Custody events are only inserted, which the
append-only triggers allow: nothing is updated or deleted, and the triggers
and their guard row are never touched.

The backup holds everything, witnesses' protected identities included: keep it
encrypted and as guarded as the database itself (its files are 0600, its
directories 0700).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import django
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Prefetch
from django.utils import timezone

from evidence.files import storage
from evidence.models import Derivative, EvidenceItem
from tracker.batches import batches

FORMAT = 1
DATA = "data.jsonl"
INFO = "backup.json"
MANIFEST = "manifest-sha256.txt"
BATCH = 2000
# Not backed up: logins in progress end with the instance they belong to.
EXCLUDED = frozenset({"sessions.session"})
# Filled by the migrations of a new database; a restore replaces them with the backup's.
SEEDED = frozenset(
    {
        "contenttypes.contenttype",
        "auth.permission",
        "auth.group",
        "tracker.attacktype",
        "tracker.weapon",
        "tracker.targettype",
        "tracker.sourcetype",
        "tracker.codecounter",
    }
)
_MANIFEST_LINE = re.compile(
    r"^([0-9a-f]{64})  ((?:originals|derivatives)/[0-9a-f/.a-z-]+|[a-z.]+)$"
)


class BackupError(Exception):
    """A backup or restore was refused or failed; the message says why."""


class FullPrecisionEncoder(DjangoJSONEncoder):
    """Django's encoder, but times keep their microseconds."""

    def default(self, o):
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


@dataclass
class Summary:
    counts: dict[str, int]
    originals: int = 0
    derivatives: int = 0
    # Files the source could not provide: evidence code or path -> "missing" / "mismatch".
    unavailable: dict[str, str] = field(default_factory=dict)


def dumped_models() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy and model._meta.label_lower not in EXCLUDED
    ]


def applied_migrations() -> list[str]:
    return sorted(
        f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations()
    )


# --- Files -----------------------------------------------------------------------------


def _private_dirs(path: Path) -> None:
    """``path`` and any missing parents, each 0700 (``mkdir(parents=True)`` would
    give the parents the default mode)."""
    if not path.is_dir():
        _private_dirs(path.parent)
        path.mkdir(mode=0o700, exist_ok=True)


def _create(path: Path, mode: str = "wb"):
    """A new private file, opened for writing; refuses to replace one."""
    _private_dirs(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"}))


def _copy(source: Path, target: Path) -> str:
    """Copy ``source`` to a new file ``target`` and return the SHA-256 of what was written."""
    with source.open("rb") as stream, _create(target) as out:
        return storage.copy_hashed(stream, out).sha256


def _link(source: Path, target: Path) -> str:
    _private_dirs(target.parent)
    os.link(source, target)
    return storage.sha256_of(target)


# --- Backup ----------------------------------------------------------------------------


@contextmanager
def _snapshot() -> Iterator[None]:
    """One consistent read of the database (see the module docstring)."""
    connection.ensure_connection()
    if connection.in_atomic_block:  # a caller's transaction is the snapshot
        yield
        return
    if connection.vendor == "sqlite":
        mode, connection.transaction_mode = connection.transaction_mode, "DEFERRED"
        try:
            with transaction.atomic():
                yield
        finally:
            connection.transaction_mode = mode
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _rows(model: type[models.Model]) -> models.QuerySet:
    rows = model._base_manager.order_by(model._meta.pk.name)
    many = [
        Prefetch(f.name, queryset=f.related_model._base_manager.only("pk"))
        for f in model._meta.many_to_many
        if f.remote_field.through._meta.auto_created
    ]
    return rows.prefetch_related(*many) if many else rows


def _counted(rows, counts: Counter, label: str):
    for row in rows.iterator(chunk_size=BATCH):
        counts[label] += 1
        yield row


def _dump(path: Path) -> dict[str, int]:
    counts: Counter[str] = Counter()
    with _create(path, "w") as out:
        for model in dumped_models():
            label = model._meta.label_lower
            counts[label] += 0
            rows = _counted(_rows(model), counts, label)
            serializers.serialize("jsonl", rows, stream=out, cls=FullPrecisionEncoder)
        out.flush()
        os.fsync(out.fileno())
    return dict(counts)


def _copy_files(out_dir: Path, rows, manifest, link: bool, summary: Summary) -> int:
    """Copy each (pk, name, key, sha256) row's file; unavailable ones go in ``summary``."""
    copied = 0
    for batch in batches(rows, BATCH):
        for _pk, name, key, sha256 in batch:
            target = out_dir / key
            try:
                source = storage.path_of(key)
                written = (_link if link else _copy)(source, target)
            except (FileNotFoundError, ValueError):
                summary.unavailable[name] = "missing"
                continue
            if written != sha256:
                target.unlink()
                summary.unavailable[name] = "mismatch"
                continue
            manifest.write(f"{written}  {key}\n")
            copied += 1
    return copied


def backup(out_dir: Path, *, link: bool = False) -> Summary:
    """Write a backup of this instance to ``out_dir`` (new, or an empty directory).

    ``link`` hard-links originals instead of copying them (same filesystem only;
    a link protects against the database's loss, not the disk's)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise BackupError(f"{out_dir} must be a new or empty directory.")
    _private_dirs(out_dir)
    out_dir.chmod(0o700)
    try:
        return _write_backup(out_dir, link)
    except BaseException:
        for entry in out_dir.iterdir():  # it was empty: all of this is ours
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        raise


def _write_backup(out_dir: Path, link: bool) -> Summary:
    partial = out_dir / f".{MANIFEST}.partial"
    with _snapshot(), _create(partial, "w") as manifest:
        summary = Summary(counts=_dump(out_dir / DATA))
        manifest.write(f"{storage.sha256_of(out_dir / DATA)}  {DATA}\n")
        items = EvidenceItem.objects.exclude(sha256="").values_list(
            "pk", "code", "original_path", "sha256"
        )
        summary.originals = _copy_files(out_dir, items, manifest, link, summary)
        derivatives = Derivative.objects.values_list("pk", "path", "path", "sha256")
        summary.derivatives = _copy_files(out_dir, derivatives, manifest, False, summary)
        info = {
            "format": FORMAT,
            "created_at": timezone.now().isoformat(),
            "database_vendor": connection.vendor,
            "django": django.get_version(),
            "python": platform.python_version(),
            "migrations": applied_migrations(),
            "counts": summary.counts,
            "originals": summary.originals,
            "derivatives": summary.derivatives,
            "unavailable": summary.unavailable,
        }
        with _create(out_dir / INFO) as out:
            out.write(json.dumps(info, indent=2, sort_keys=True).encode())
        manifest.write(f"{storage.sha256_of(out_dir / INFO)}  {INFO}\n")
        manifest.flush()
        os.fsync(manifest.fileno())
    partial.rename(out_dir / MANIFEST)  # last: a backup without it is incomplete
    return summary


# --- Restore ---------------------------------------------------------------------------


def verify(in_dir: Path) -> dict:
    """Check every file of the backup against its manifest; return backup.json.

    Refuses a missing manifest, a file that is missing or differs, a line that is
    not ``<sha256>  <path>`` of a file a backup writes, and any file (or link)
    the manifest does not list."""
    in_dir = Path(in_dir)
    manifest = in_dir / MANIFEST
    if not manifest.is_file():
        raise BackupError(f"{in_dir} is not a complete backup: it has no {MANIFEST}.")
    listed = 0
    with manifest.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            match = _MANIFEST_LINE.match(line.rstrip("\n"))
            if not match or ".." in match[2]:
                raise BackupError(f"{MANIFEST} line {number} is damaged.")
            path = in_dir / match[2]
            if not path.is_file() or path.is_symlink() or storage.sha256_of(path) != match[1]:
                raise BackupError(
                    f"The backup is damaged: {match[2]} does not match its checksum "
                    f"in {MANIFEST}. Nothing was restored."
                )
            listed += 1
    found = 0
    for entry in storage.walk_files(in_dir):
        if not entry.is_file(follow_symlinks=False):
            raise BackupError(f"The backup holds something that is not a file: {entry.name}.")
        found += 1
    if found != listed + 1:  # the manifest itself
        raise BackupError(
            f"The backup holds {found - 1} files but its manifest lists {listed}: "
            "files were added or the manifest was cut short. Nothing was restored."
        )
    info = json.loads((in_dir / INFO).read_text(encoding="utf-8"))
    if info.get("format") != FORMAT:
        raise BackupError(f"This backup's format ({info.get('format')}) is not {FORMAT}.")
    return info


def holdings() -> list[str]:
    """What this instance holds beyond what its migrations seed (empty: may be restored into)."""
    held = []
    for area in ("originals", "derivatives"):
        folder = storage.root() / area
        if folder.is_dir() and next(storage.walk_files(folder), None) is not None:
            held.append(f"files under {area}/")
    held += [
        str(model._meta.verbose_name_plural)
        for model in apps.get_models()
        if model._meta.managed
        and not model._meta.proxy
        and model._meta.label_lower not in SEEDED
        and model._base_manager.exists()
    ]
    return held


def restore(in_dir: Path) -> Summary:
    """Restore the backup in ``in_dir`` into this (empty) instance."""
    in_dir = Path(in_dir)
    info = verify(in_dir)
    if info["migrations"] != applied_migrations():
        differ = sorted(set(info["migrations"]) ^ set(applied_migrations()))
        raise BackupError(
            "The backup was made at other migrations than this database's "
            f"({len(differ)} differ, e.g. {differ[0]}): run the tracker version that "
            "made it, migrate, and restore again. Nothing was restored."
        )
    placed: list[str] = []
    try:
        with transaction.atomic():
            held = holdings()
            if held:
                more = f" and {len(held) - 5} more" if len(held) > 5 else ""
                raise BackupError(
                    "Restore needs an empty instance (a freshly migrated database and an "
                    f"empty data directory); this one already holds {', '.join(held[:5])}"
                    f"{more}. Nothing was restored."
                )
            # Only seeded rows are here; the backup has the source's own.
            call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
            counts = _load(in_dir / DATA)
            if counts != {label: n for label, n in info["counts"].items() if n}:
                raise BackupError(
                    "The data loaded does not match the counts in backup.json. Nothing was "
                    "restored."
                )
            summary = Summary(counts=counts, unavailable=info["unavailable"])
            summary.originals = _place_originals(in_dir, summary.unavailable, placed)
            summary.derivatives = _place_derivatives(in_dir, summary.unavailable, placed)
    except BaseException:
        for key in placed:
            storage.path_of(key).unlink(missing_ok=True)
        raise
    finally:
        ContentType.objects.clear_cache()
    return summary


def _load(path: Path) -> dict[str, int]:
    """Insert every row of the data file, primary keys included; history is not
    written again (the backup holds it)."""
    counts: Counter[str] = Counter()
    loaded: set[type[models.Model]] = set()
    record = None
    try:
        with path.open(encoding="utf-8") as stream, connection.constraint_checks_disabled():
            for record in serializers.deserialize("jsonl", stream):
                record.object.skip_history_when_saving = True  # django-simple-history
                record.save()
                loaded.add(type(record.object))
                counts[record.object._meta.label_lower] += 1
        connection.check_constraints(table_names=[model._meta.db_table for model in loaded])
    except (serializers.base.DeserializationError, DatabaseError) as exc:
        # Named by model and key only: a value could be a protected identity.
        where = f" after {record.object._meta.label_lower} {record.object.pk}" if record else ""
        raise BackupError(
            f"The data could not be loaded{where} ({type(exc).__name__}). Nothing was restored."
        ) from exc
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(loaded)):
            cursor.execute(sql)
    return dict(counts)


def _place_originals(in_dir: Path, unavailable: dict[str, str], placed: list[str]) -> int:
    count = 0
    items = EvidenceItem.objects.exclude(sha256="").values_list("pk", "code", "sha256")
    for batch in batches(items, BATCH):
        for _pk, code, sha256 in batch:
            if code in unavailable:
                continue
            source = in_dir / storage.original_key(sha256)
            if not source.is_file():
                raise BackupError(f"The backup lacks the original of {code}.")
            with source.open("rb") as stream:
                staged = storage.stage(stream, max_bytes=source.stat().st_size)
            try:
                if staged.sha256 != sha256:
                    raise BackupError(f"The backup's original of {code} is not its file.")
                key, created = storage.promote(staged)
                if not created:
                    raise BackupError(f"The original of {code} is already in place.")
                placed.append(key)
            finally:
                staged.discard()
            count += 1
    return count


def _place_derivatives(in_dir: Path, unavailable: dict[str, str], placed: list[str]) -> int:
    count = 0
    for batch in batches(Derivative.objects.values_list("pk", "path", "sha256"), BATCH):
        for _pk, key, sha256 in batch:
            if key in unavailable:
                continue
            if not (in_dir / key).is_file():
                raise BackupError(f"The backup lacks {key}.")
            data = (in_dir / key).read_bytes()  # a preview: at most 1600 px
            if hashlib.sha256(data).hexdigest() != sha256:
                raise BackupError(f"The backup's {key} is not the derivative on record.")
            storage.write_derivative(key, data)
            placed.append(key)
            count += 1
    return count
