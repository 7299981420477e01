"""Reading the units and postings CSV files (``docs/formats/postings-csv.md``): every
row of every file checked and kept as a ``Row``, or reported as a ``RowError``; nothing
is looked up or written here (``tracker.responsibility.postings`` does that)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from tracker.models import OfficialAlias

UNIT_COLUMNS = ("unit", "force", "parent", "aliases", "source")
POSTING_COLUMNS = (
    "official",
    "aliases",
    "unit",
    "title",
    "rank",
    "is_command",
    "start",
    "end",
    "source",
)
REQUIRED = {"unit": ("unit", "force"), "posting": ("official", "unit", "title")}
RECORD_KINDS = {"unit": "unit", "units": "unit", "posting": "posting", "postings": "posting"}
MAX_LENGTH = {
    ("unit", "unit"): 150,
    ("unit", "force"): 150,
    ("unit", "parent"): 150,
    ("posting", "official"): 200,
    ("posting", "unit"): 150,
    ("posting", "title"): 120,
    ("posting", "rank"): 80,
}
ALIAS_LENGTH = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.reason}"


@dataclass
class Row:
    file: str
    line: int
    kind: str  # "unit" or "posting"
    values: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.values.get(column, "")


def script_of(name: str) -> str:
    if _ARABIC.search(name):
        return OfficialAlias.Script.ARABIC
    if _CYRILLIC.search(name):
        return OfficialAlias.Script.CYRILLIC
    if _LATIN.search(name):
        return OfficialAlias.Script.LATIN
    return OfficialAlias.Script.OTHER


def split_aliases(text: str) -> list[str]:
    seen, aliases = set(), []
    for alias in (a.strip() for a in text.split("|")):
        if alias and alias not in seen:
            seen.add(alias)
            aliases.append(alias)
    return aliases


# --- Reading ----------------------------------------------------------------------------------


class Reader:
    def __init__(self) -> None:
        self.errors: list[RowError] = []
        self.rows: list[Row] = []

    def error(self, file: str, line: int, column: str, reason: str) -> None:
        self.errors.append(RowError(file, line, column, reason))

    def read(self, name: str, data: bytes) -> None:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            self.error(name, line, "file", "not UTF-8 text")
            return
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        header: list[str] | None = None
        kind = ""
        end_of_previous = 0
        try:
            for cells in reader:
                line, end_of_previous = end_of_previous + 1, reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue
                if header is None:
                    header, kind = self._header(name, line, cells)
                    if header is None:
                        return
                    continue
                self._row(name, line, header, kind, cells)
        except csv.Error as exc:
            self.error(name, reader.line_num, "file", f"not readable as CSV: {exc}")
            return
        if header is None:
            self.error(name, 1, "file", "empty: expected a header row")

    def _header(self, name: str, line: int, cells: list[str]) -> tuple[list[str] | None, str]:
        header = [cell.strip().lower() for cell in cells]
        duplicates = sorted({c for c in header if c and header.count(c) > 1})
        if duplicates:
            self.error(name, line, duplicates[0], "appears twice in the header")
            return None, ""
        if "record" in header:
            kind = "mixed"
        elif "official" in header:
            kind = "posting"
        elif "force" in header:
            kind = "unit"
        else:
            self.error(
                name,
                line,
                "header",
                "expected unit columns (unit, force) or posting columns "
                "(official, unit, title), or a record column",
            )
            return None, ""
        kinds = ("unit", "posting") if kind == "mixed" else (kind,)
        missing = [(k, c) for k in kinds for c in REQUIRED[k] if c not in header]
        for k, column in missing:
            self.error(name, line, column, f"missing column (required for {k} rows)")
        return (None, "") if missing else (header, kind)

    def _row(self, name: str, line: int, header: list[str], kind: str, cells: list[str]) -> None:
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            self.error(name, line, "row", f"{len(cells)} cells but the header has {len(header)}")
            return
        values = {col: cell.strip() for col, cell in zip(header, cells, strict=False) if col}
        if kind == "mixed":
            record = values.get("record", "").lower()
            if record not in RECORD_KINDS:
                self.error(name, line, "record", 'expected "unit" or "posting"')
                return
            kind = RECORD_KINDS[record]
        row = Row(name, line, kind, values)
        ok = True
        for column in REQUIRED[kind]:
            if not row[column]:
                self.error(name, line, column, "required")
                ok = False
        for column, value in values.items():
            # A citation may run over several lines; nothing else may.
            text = value.replace("\r", " ").replace("\n", " ") if column == "source" else value
            if _CONTROL.search(text):
                self.error(name, line, column, "contains a line break or control character")
                ok = False
            limit = MAX_LENGTH.get((kind, column))
            if limit and len(value) > limit:
                self.error(name, line, column, f"longer than {limit} characters")
                ok = False
        for alias in split_aliases(row["aliases"]):
            if len(alias) > ALIAS_LENGTH:
                self.error(
                    name, line, "aliases", f"an alias is longer than {ALIAS_LENGTH} characters"
                )
                ok = False
                break
        if ok:
            self.rows.append(row)
