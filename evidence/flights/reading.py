"""A flight log's CSV read row by row (``docs/formats/flightlog-csv.md``): its
columns, the refusals of a file as a whole (not UTF-8 CSV text, no header, broken
quoting, an endless line), and each row with its values or its problems
(``line <n>, <column>: <reason>``).

``Reader`` holds one row, the header and the stations' last known positions, and hashes
the bytes as it reads them; the values follow ``evidence.flights.normalise``.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from evidence import intake
from evidence.files import sniffing
from evidence.flights.normalise import (
    aircraft_class,
    heading_degrees,
    nationality_code,
    parse_coordinate,
    parse_count,
    parse_time,
)

# In the order docs/formats/flightlog-csv.md lists them (the demo's log is written so).
COLUMNS = (
    "observed_at",
    "station",
    "station_lat",
    "station_lon",
    "aircraft_type",
    "aircraft_count",
    "nationality",
    "origin",
    "heading",
    "callsign",
    "activity",
    "notes",
)
REQUIRED = ("observed_at", "station", "aircraft_type")
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
MAX_LINE_BYTES = 64 * 1024  # a longer physical line is not a spotter's row

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
BAD_ZONE = "Unknown time zone {zone!r}: use an IANA name such as Asia/Damascus or UTC."


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


def parse_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; raises FlightLogRefused with BAD_ZONE if there is none."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise FlightLogRefused(BAD_ZONE.format(zone=name)) from None


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
