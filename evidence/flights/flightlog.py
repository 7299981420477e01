"""Flight-spotter logs in: read, check and normalise the CSV described in
``docs/formats/flightlog-csv.md``, store the file through ``evidence.intake``
and create one ``FlightObservation`` per row.

The import reads the file twice and never holds it in memory:

1. a checking pass parses every row, collects every problem (``line <n>,
   <column>: <reason>``) and hashes the bytes; a file already held is reported
   with its item code and nothing is imported; problems refuse the whole file
   unless ``skip_invalid``;
2. only then does the file go through the intake (hashed again, stored, custody
   events), and a second pass reads the *stored original*, so the observations
   are exactly what the hashed evidence says, inserted in batches in the same
   transaction as the item.

A refused file therefore leaves nothing behind: no item, no stored file, no rows.
Each pass reads rows with ``evidence.flights.reading``; what a value means (compass
points, aircraft classes, nationalities, times) is ``evidence.flights.normalise``, one
rule each, which the ranking and the demo case use too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from django.db import transaction
from django.utils import timezone

from evidence import access, intake
from evidence.files import storage
from evidence.flights.reading import FlightLogRefused, Problem, Reader, check_head, parse_zone
from evidence.models import EvidenceItem, FlightLog, FlightObservation
from tracker.models import Incident

BATCH = 2000  # rows per INSERT: large enough to amortise, small enough to stay in memory
MAX_PROBLEMS = 1000  # kept and reported in full; beyond this they are counted
NO_VALID_ROWS = "No row of the file is valid; nothing imported."
CHANGED = "The file changed while it was being imported; nothing imported."
HELD_OTHERWISE = "This file is already held as {code} ({kind}), not as a flight log."


@dataclass
class ImportResult:
    item: EvidenceItem
    log: FlightLog
    imported: int = 0
    duplicate: bool = False  # the file was already held as a flight log: nothing imported
    skipped: tuple[Problem, ...] = ()  # problems of the rows left out (skip_invalid)
    skipped_rows: int = 0
    more_problems: int = 0  # problems of skipped rows beyond those kept in ``skipped``


Progress = Callable[
    [str, int, int], None
]  # (phase, done, total): "checking" bytes, "importing" rows


def _no_progress(phase: str, done: int, total: int) -> None:
    pass


def _size(stream: BinaryIO) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


@dataclass
class _Checked:
    """What the checking pass found."""

    sha256: str
    valid: int
    invalid: int
    problems: list[Problem]  # the first MAX_PROBLEMS
    more: int  # problems beyond those


def _check_all(stream: BinaryIO, *, zone, now, progress: Progress) -> _Checked:
    size = _size(stream)
    check_head(stream.read(storage.HEAD_BYTES))
    stream.seek(0)
    reader = Reader(stream, zone=zone, now=now)
    checked = _Checked("", 0, 0, [], 0)
    for row in reader:
        if row.problems:
            checked.invalid += 1
            room = MAX_PROBLEMS - len(checked.problems)
            checked.problems += row.problems[:room]
            checked.more += max(len(row.problems) - room, 0)
        else:
            checked.valid += 1
        if (checked.valid + checked.invalid) % BATCH == 0:
            progress("checking", reader.bytes_read, size)
    progress("checking", size, size)
    checked.sha256 = reader.digest.hexdigest()
    return checked


def import_flight_log(
    stream: BinaryIO,
    *,
    filename: str,
    by,
    time_zone: str = "",
    skip_invalid: bool = False,
    incident: Incident | None = None,
    relevance: str = "",
    title: str = "",
    received_from: str = "",
    progress: Progress = _no_progress,
    **fields,
) -> ImportResult:
    """Import a flight-log CSV from the seekable ``stream`` (see the module docstring).

    ``time_zone`` is the IANA zone of times written without an offset. ``fields``
    go to the evidence item (``description``, ``source_type``, ``is_protected``…).
    Raises FlightLogRefused when nothing was imported; a file already held as a
    flight log is not an error: the result says ``duplicate`` and names the item."""
    zone = parse_zone(time_zone) if time_zone.strip() else None
    now = timezone.now()
    checked = _check_all(stream, zone=zone, now=now, progress=progress)

    held = EvidenceItem.objects.filter(sha256=checked.sha256).select_related("flight_log").first()
    held_here = EvidenceItem.objects.filter(pk=held.pk) if held is not None else None
    if held_here is not None and not access.visible_items(by, held_here).exists():
        # Held in an item this user may not know exists: the intake sets the copy aside
        # (custody event, word to those who may see it) and the sender learns nothing.
        stream.seek(0)
        intake.ingest(stream, filename=filename, kind=held.kind, by=by, incident=incident)
        raise FlightLogRefused(f"{filename}: {intake.SET_ASIDE}")
    if held is not None and hasattr(held, "flight_log"):
        if incident is not None:
            stream.seek(0)  # the intake links the held item to the incident
            intake.ingest(
                stream,
                filename=filename,
                kind=held.kind,
                by=by,
                incident=incident,
                relevance=relevance,
            )
        return ImportResult(held, held.flight_log, duplicate=True)
    if held is not None and held.kind != EvidenceItem.Kind.FLIGHT_LOG:
        raise FlightLogRefused(HELD_OTHERWISE.format(code=held.code, kind=held.get_kind_display()))
    total = len(checked.problems) + checked.more
    if checked.invalid and not skip_invalid:
        raise FlightLogRefused(
            f"Nothing imported: {total:,} {'problem' if total == 1 else 'problems'} in "
            f"{checked.invalid:,} of {checked.valid + checked.invalid:,} rows.",
            tuple(checked.problems),
            checked.more,
        )
    if not checked.valid:
        raise FlightLogRefused(NO_VALID_ROWS, tuple(checked.problems), checked.more)

    stream.seek(0)
    new_key = ""
    try:
        # A held flight-log item stored without its rows (by a plain upload) gets them now.
        with transaction.atomic():
            stored = intake.ingest(
                stream,
                filename=filename,
                kind=EvidenceItem.Kind.FLIGHT_LOG,
                by=by,
                title=title,
                incident=incident,
                relevance=relevance,
                received_from=received_from,
                **fields,
            )
            if stored.withheld:  # held meanwhile in an item this user may not see
                raise FlightLogRefused(f"{filename}: {intake.SET_ASIDE}")
            if not stored.duplicate:
                new_key = stored.item.original_path
            if stored.item.sha256 != checked.sha256:
                raise FlightLogRefused(CHANGED)
            if stored.duplicate and (done := FlightLog.objects.filter(item=stored.item).first()):
                return ImportResult(stored.item, done, duplicate=True)  # imported meanwhile
            log = FlightLog(
                item=stored.item, assumed_time_zone=zone.key if zone else "", imported_at=now
            )
            log.full_clean()
            log.save()
            log.row_count = _insert_rows(
                log, stored.received, zone=zone, expected=checked.valid, progress=progress
            )
            log.save(update_fields=["row_count"])
    except BaseException:
        if new_key:
            # The intake promoted the file inside this transaction, which did not commit.
            storage.remove_new_original(new_key)
        raise
    return ImportResult(
        stored.item,
        log,
        imported=log.row_count,
        skipped=tuple(checked.problems),
        skipped_rows=checked.invalid,
        more_problems=checked.more,
    )


def _insert_rows(log: FlightLog, source, *, zone, expected: int, progress: Progress) -> int:
    """Read the received file again (the bytes that were hashed and are stored)
    and insert its valid rows in batches."""
    batch: list[FlightObservation] = []
    imported = 0
    with source.open("rb") as original:
        for row in Reader(original, zone=zone, now=log.imported_at):
            if row.problems:
                continue
            batch.append(FlightObservation(log_id=log.pk, **row.values))
            if len(batch) == BATCH:
                FlightObservation.objects.bulk_create(batch)
                imported += len(batch)
                batch.clear()
                progress("importing", imported, expected)
    if batch:
        FlightObservation.objects.bulk_create(batch)
        imported += len(batch)
    progress("importing", imported, expected)
    if imported != expected:  # same bytes, same rules: a difference is a bug, not bad data
        raise RuntimeError(f"checked {expected} valid rows but read {imported} when importing")
    return imported
