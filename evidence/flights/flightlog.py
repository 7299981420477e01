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
The normalisers (compass points, aircraft classes, nationalities) are public:
the demo case uses them too, so there is one rule for each.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone

from evidence import access, intake
from evidence.files import sniffing, storage
from evidence.models import EvidenceItem, FlightLog, FlightObservation
from tracker.models import Incident

COMPASS = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW")
COMPASS += ("NW", "NNW")
REQUIRED = ("observed_at", "station", "aircraft_type")
OPTIONAL = (
    "station_lat",
    "station_lon",
    "aircraft_count",
    "nationality",
    "origin",
    "heading",
    "callsign",
    "activity",
    "notes",
)
COLUMNS = (*REQUIRED, *OPTIONAL)
# Longest value of each text column (the model's max_length).
LIMITS = {
    "station": 50,
    "aircraft_type": 60,
    "nationality": 30,
    "origin": 80,
    "heading": 10,
    "callsign": 60,
    "activity": 100,
}
BATCH = 2000  # rows per INSERT: large enough to amortise, small enough to stay in memory
MAX_LINE_BYTES = 64 * 1024  # a longer physical line is not a spotter's row
MAX_PROBLEMS = 1000  # kept and reported in full; beyond this they are counted
MAX_COUNT = 32767  # PositiveSmallIntegerField
NATIONALITIES = {
    "ru": "RU",
    "rus": "RU",
    "russia": "RU",
    "russian": "RU",
    "sy": "SY",
    "syr": "SY",
    "syria": "SY",
    "syrian": "SY",
    "unknown": "unknown",
}

UTF16 = (
    "This file is UTF-16 text; flight logs are read as UTF-8. "
    "Save it as “CSV UTF-8” and import it again."
)
WORKBOOK = (
    "This file is a spreadsheet workbook, not CSV text. Save it as “CSV UTF-8” and import it again."
)
NOT_CSV = "This file is not CSV text (it looks like {found}); a flight log is a UTF-8 CSV file."
NOT_TEXT = "This file is not UTF-8 CSV text; a flight log is a UTF-8 CSV file."
EMPTY = intake.EMPTY_FILE
NO_ROWS = "The file has a header but no rows."
NO_VALID_ROWS = "No row of the file is valid; nothing imported."
BAD_ZONE = "Unknown time zone {zone!r}: use an IANA name such as Asia/Damascus or UTC."
NAIVE_TIME = "written without a UTC offset, and no time zone was given for the file"
CHANGED = "The file changed while it was being imported; nothing imported."
HELD_OTHERWISE = "This file is already held as {code} ({kind}), not as a flight log."


class FlightLogRefused(Exception):
    """Nothing was imported. The message is for the person who sent the file;
    ``problems`` lists what is wrong line by line, ``more`` counts those not kept."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = (), more: int = 0):
        super().__init__(message)
        self.problems = problems
        self.more = more


@dataclass(frozen=True)
class Problem:
    line: int
    column: str  # empty for a problem with the whole row
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}, {self.column}" if self.column else f"line {self.line}"
        return f"{where}: {self.reason}"


@dataclass
class ImportResult:
    item: EvidenceItem
    log: FlightLog
    imported: int = 0
    duplicate: bool = False  # the file was already held as a flight log: nothing imported
    skipped: tuple[Problem, ...] = ()  # problems of the rows left out (skip_invalid)
    skipped_rows: int = 0
    more_problems: int = 0  # problems of skipped rows beyond those kept in ``skipped``


# --- Normalisation: one rule each, shared with the demo case -----------------------------


@lru_cache(maxsize=4096)  # a log repeats a few dozen headings; the cache only saves time
def heading_degrees(raw: str) -> int | None:
    """Degrees 0-359 from a number or a compass point of 4, 8 or 16 winds (N=0,
    NNE=23: half-degrees round up); None if blank. Raises ValueError otherwise."""
    text = raw.strip().upper().removesuffix("°").strip()
    if not text:
        return None
    if text in COMPASS:
        return int(COMPASS.index(text) * 22.5 + 0.5) % 360
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(
            f"{raw.strip()!r} is neither degrees 0-359 nor a compass point (N, NNE, NE, … NNW)"
        ) from None
    if not value.is_finite() or not 0 <= value < 360:
        raise ValueError(f"{raw.strip()} is not within 0-359 degrees")
    return int(value.to_integral_value(ROUND_HALF_UP)) % 360


def heading_tolerance(raw: str) -> float:
    """Half the resolution of a heading as written: a compass point of 4, 8 or 16
    winds stands for a sector 90°, 45° or 22.5° wide; degrees are taken as ±10°."""
    text = raw.strip().upper()
    if text in COMPASS:
        index = COMPASS.index(text)
        return 45.0 if index % 4 == 0 else 22.5 if index % 2 == 0 else 11.25
    return 10.0


_SQUEEZE = re.compile(r"[\s\-_./]+")


@lru_cache(maxsize=4096)
def aircraft_class(aircraft_type: str) -> str:
    """The class of an aircraft type as written: jet, helicopter, drone or unknown."""
    text = aircraft_type.strip().lower()
    squeezed = _SQUEEZE.sub("", text)  # "Mi 8", "MI-8" and "mi8" alike
    if re.match(r"(mi|ka)\d", squeezed) or "heli" in text:
        return FlightObservation.AircraftClass.HELICOPTER
    if any(word in text for word in ("drone", "uav", "orlan", "shahed", "forpost")):
        return FlightObservation.AircraftClass.DRONE
    if re.match(r"(su|mig|yak|tu|l)\d", squeezed) or "jet" in text:
        return FlightObservation.AircraftClass.JET
    return FlightObservation.AircraftClass.UNKNOWN


def nationality_code(raw: str) -> str:
    """RU, SY or unknown from a code or a word (``Russian``, ``Syria``); blank is
    unknown. Raises ValueError for anything else."""
    text = " ".join(raw.split()).lower()
    if not text:
        return "unknown"
    try:
        return NATIONALITIES[text]
    except KeyError:
        raise ValueError(
            f"{raw.strip()!r} is not one of RU, SY, unknown (or Russian, Syrian)"
        ) from None


def country_code(text: str) -> str | None:
    """RU or SY for a country or force name that names Russia or Syria, else None."""
    lowered = text.lower()
    if "russia" in lowered:
        return "RU"
    if "syria" in lowered:
        return "SY"
    return NATIONALITIES.get(lowered.strip()) if lowered.strip() != "unknown" else None


def parse_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; raises FlightLogRefused with BAD_ZONE if there is none."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise FlightLogRefused(BAD_ZONE.format(zone=name)) from None


def parse_time(raw: str, zone: ZoneInfo | None) -> datetime:
    """An aware datetime from ISO 8601 text; naive text is local time of ``zone``.
    Raises ValueError with the reason."""
    text = raw.strip()
    if re.fullmatch(r"\d{4}-?\d{2}-?\d{2}", text):
        raise ValueError(f"{text} has a date but no time")
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        if str(exc).startswith("Invalid isoformat"):
            raise ValueError(
                f"{text!r} is not an ISO 8601 date and time (e.g. 2019-05-13T09:42:00+03:00)"
            ) from None
        raise ValueError(f"{text} is not a real date and time ({exc})") from None
    if value.tzinfo is not None:
        return value
    if zone is None:
        raise ValueError(NAIVE_TIME)
    earlier, later = value.replace(tzinfo=zone, fold=0), value.replace(tzinfo=zone, fold=1)
    if earlier.utcoffset() != later.utcoffset():
        if earlier.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
            raise ValueError(f"{text} does not exist in {zone.key} (the clocks went forward)")
        raise ValueError(
            f"{text} happened twice in {zone.key} (the clocks went back): write its UTC offset"
        )
    return earlier


@lru_cache(maxsize=4096)
def parse_coordinate(raw: str, limit: int) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise ValueError(f"{raw.strip()!r} is not a number in decimal degrees") from None
    if not value.is_finite() or not -limit <= value <= limit:
        raise ValueError(f"{raw.strip()} is outside -{limit} to {limit}")
    return value.quantize(Decimal("0.000001"), ROUND_HALF_UP)


def parse_count(raw: str) -> int:
    text = raw.strip()
    if not text:
        return 1
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_COUNT:
        raise ValueError(f"{text!r} is not a whole number of at least 1")
    return int(text)


# --- Reading ---------------------------------------------------------------------------


@dataclass
class Row:
    line: int  # where the row starts (the header is line 1)
    raw: str  # the row as written, without its line ending
    values: dict = field(default_factory=dict)  # FlightObservation fields, if no problems
    problems: list[Problem] = field(default_factory=list)


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 without a byte-order mark: text with a NUL in every other byte."""
    even, odd = head[0::2], head[1::2]
    return len(head) >= 4 and (even.count(0) > len(even) * 0.6 or odd.count(0) > len(odd) * 0.6)


def check_head(head: bytes) -> None:
    """Refuse, with a message that says what to do, a file that is not UTF-8 CSV text."""
    if not head:
        raise FlightLogRefused(EMPTY)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FlightLogRefused(UTF16)
    found = sniffing.sniff(head, kind="flight_log")
    if found == "text/csv":
        return
    if found is not None and "spreadsheetml" in found:
        raise FlightLogRefused(WORKBOOK)
    if found is not None:
        raise FlightLogRefused(NOT_CSV.format(found=found))
    raise FlightLogRefused(UTF16 if _looks_utf16(head) else NOT_TEXT)


def _csv_reason(exc: csv.Error) -> str:
    text = str(exc)
    if "new-line" in text:
        return "a carriage return (\\r) inside a row; lines must end with \\n or \\r\\n."
    if "field limit" in text:
        return "a field longer than 131,072 characters (is a quote left open?)."
    return f"the CSV quoting is broken ({text}); nothing after it can be read reliably."


class Reader:
    """Rows of a flight log, one at a time, each with its problems.

    Holds one row, the header and the stations' last known positions; hashes
    the bytes as it reads them. A problem with the file as a whole (header,
    broken quoting, an endless line) raises FlightLogRefused."""

    def __init__(self, stream: BinaryIO, *, zone: ZoneInfo | None, now: datetime) -> None:
        self.stream = stream
        self.zone = zone
        self.latest = now + timedelta(days=1)  # allows for a spotter's clock a little ahead
        self.digest = hashlib.sha256()
        self.bytes_read = 0
        self._lines: list[tuple[int, str]] = []  # physical lines of the row being parsed
        self._undecodable: set[int] = set()
        self._stations: dict[str, tuple[Decimal, Decimal]] = {}
        self._known: list[tuple[str, int]] = []  # (column, position) of the known columns
        self._extra: list[tuple[str, int]] = []  # (name as written, position) of the others
        self._notes: int | None = None

    def _physical_lines(self) -> Iterator[str]:
        number = 0
        while chunk := self.stream.readline(MAX_LINE_BYTES + 1):
            number += 1
            self.digest.update(chunk)
            self.bytes_read += len(chunk)
            if len(chunk) > MAX_LINE_BYTES:
                raise FlightLogRefused(
                    f"line {number}: longer than {MAX_LINE_BYTES:,} bytes; "
                    "this is not a flight log CSV."
                )
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError:
                self._undecodable.add(number)
                text = chunk.decode("utf-8", errors="replace")
            if number == 1:
                text = text.removeprefix("\ufeff")
            self._lines.append((number, text))
            yield text

    def __iter__(self) -> Iterator[Row]:
        reader = csv.reader(self._physical_lines(), strict=True)
        header = self._header(reader)
        self._known = [(name, n) for n, name in enumerate(header) if name in COLUMNS]
        self._extra = [(name[6:], n) for n, name in enumerate(header) if name.startswith("extra:")]
        self._notes = header.index("notes") if "notes" in header else None
        count = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                line = self._lines[0][0] if self._lines else reader.line_num
                raise FlightLogRefused(f"line {line}: {_csv_reason(exc)}") from None
            line = self._lines[0][0]
            raw = "".join(text for _, text in self._lines).removesuffix("\n").removesuffix("\r")
            undecodable = any(number in self._undecodable for number, _ in self._lines)
            self._lines.clear()
            if not cells:
                continue  # a blank line
            count += 1
            row = Row(line, raw)
            if undecodable:
                row.problems.append(Problem(line, "", "not UTF-8 text"))
            elif len(cells) != len(header):
                row.problems.append(
                    Problem(line, "", f"{len(cells)} fields where the header has {len(header)}")
                )
            else:
                self._check(row, cells)
            yield row
        if count == 0:
            raise FlightLogRefused(NO_ROWS)

    def _header(self, reader) -> list[str]:
        try:
            names = next(reader)
        except StopIteration:
            raise FlightLogRefused(EMPTY) from None
        except csv.Error as exc:
            raise FlightLogRefused(f"line 1: the header is not CSV ({exc}).") from None
        if 1 in self._undecodable:
            raise FlightLogRefused(NOT_TEXT)
        self._lines.clear()
        header: list[str] = []
        problems: list[Problem] = []
        seen: set[str] = set()
        for position, name in enumerate(names, start=1):
            key = name.strip().lower()
            if not key:
                problems.append(Problem(1, f"column {position}", "has no name"))
            elif key in seen:
                problems.append(Problem(1, name.strip(), "appears twice"))
            seen.add(key)
            header.append(key if key in COLUMNS else f"extra:{name.strip()}")
        problems += [
            Problem(1, c, "required column is missing") for c in REQUIRED if c not in header
        ]
        if problems:
            raise FlightLogRefused(
                f"The header (line 1) does not describe a flight log; expected the columns "
                f"{', '.join(COLUMNS)}.",
                tuple(problems),
            )
        return header

    def _check(self, row: Row, cells: list[str]) -> None:
        problems, line = row.problems, row.line
        values: dict = {"line_number": line, "raw": row.raw}

        def check(column: str, parse: Callable[[str], object], text: str):
            try:
                return parse(text)
            except ValueError as exc:
                problems.append(Problem(line, column, str(exc)))
                return None

        texts = dict.fromkeys(COLUMNS, "")
        for name, n in self._known:
            texts[name] = cells[n].strip()
        for column in REQUIRED:
            if not texts[column]:
                problems.append(Problem(line, column, "required, but empty"))
        for column, limit in LIMITS.items():
            if len(texts[column]) > limit:
                problems.append(Problem(line, column, f"longer than {limit} characters"))
        if texts["observed_at"]:
            observed = check(
                "observed_at", lambda t: parse_time(t, self.zone), texts["observed_at"]
            )
            if observed is not None and observed > self.latest:
                problems.append(
                    Problem(line, "observed_at", f"{texts['observed_at']} is in the future")
                )
            values["observed_at"] = observed
        values["station_latitude"], values["station_longitude"] = self._position(
            texts, problems, line
        )
        values["aircraft_count"] = check("aircraft_count", parse_count, texts["aircraft_count"])
        values["nationality"] = check("nationality", nationality_code, texts["nationality"])
        values["heading"] = check("heading", heading_degrees, texts["heading"])
        if problems:
            return
        values.update(
            station=texts["station"],
            aircraft_type=texts["aircraft_type"],
            aircraft_class=aircraft_class(texts["aircraft_type"]),
            nationality_raw=texts["nationality"],
            origin=texts["origin"],
            heading_raw=texts["heading"],
            callsign=texts["callsign"],
            activity=texts["activity"],
            notes="" if self._notes is None else cells[self._notes],  # exactly as written
            extra={name: cells[n] for name, n in self._extra},
        )
        row.values = values

    def _position(self, texts: dict[str, str], problems: list[Problem], line: int):
        """The station's position: this row's, or the last one given for the station."""
        lat_text, lon_text = texts["station_lat"], texts["station_lon"]
        if not lat_text and not lon_text:
            return self._stations.get(texts["station"], (None, None))
        if not lat_text or not lon_text:
            missing = "station_lat" if not lat_text else "station_lon"
            problems.append(
                Problem(line, missing, "give both station_lat and station_lon, or neither")
            )
            return None, None
        found = len(problems)
        lat = lon = None
        try:
            lat = parse_coordinate(lat_text, 90)
        except ValueError as exc:
            problems.append(Problem(line, "station_lat", str(exc)))
        try:
            lon = parse_coordinate(lon_text, 180)
        except ValueError as exc:
            problems.append(Problem(line, "station_lon", str(exc)))
        if len(problems) == found:
            self._stations[texts["station"]] = (lat, lon)
        return lat, lon


# --- Import ----------------------------------------------------------------------------

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
