"""Import of units and postings from CSV (``docs/formats/postings-csv.md``, version 1).

``import_postings(files, by=user)`` reads every file completely and checks every row
before writing anything: if any row is wrong it raises ``ImportRejected`` with all the
errors (``line <n>, <column>: <reason>``) and the database is untouched. Otherwise
everything is written in one transaction.

Identity rules:
- a force is found by name (case, accents and punctuation ignored) or created;
- a unit is found in its force by name, the same way, or created; a unit that exists
  gets the file's aliases added, and its parent and source set when the file gives them;
- a posting names its unit by name or alias, in this file or in the tracker, and must
  name exactly one;
- an official is found by name (same spelling) or created. Two spellings in the file
  are one official only when one is listed among the other's aliases; a spelling is an
  official already in the tracker when it is their name, when the file lists their name
  among its aliases, or when they have it as an alias. A group matching two officials
  in the tracker is refused rather than guessed;
- a posting identical to one on record (official, unit, title, dates and precisions)
  is not added again, so a file can be imported twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from tracker.models import DatePrecision, Force, Official, OfficialAlias, Position, Unit
from tracker.responsibility.chain import find_loop
from tracker.responsibility.names import search_key
from tracker.responsibility.periods import Tenure, format_partial, parse_partial
from tracker.responsibility.postings_csv import Reader, Row, RowError, script_of, split_aliases


class ImportRejected(Exception):
    """Nothing was imported; ``errors`` says why, row by row."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} errors; nothing was imported.")
        self.errors = errors


@dataclass
class ImportResult:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def summary(self) -> str:
        order = (
            "forces created",
            "units created",
            "units updated",
            "officials created",
            "officials found",
            "aliases added",
            "postings created",
            "postings already recorded",
        )
        return ", ".join(f"{self.counts.get(name, 0)} {name}" for name in order)


# --- Checking and writing ---------------------------------------------------------------------


@dataclass
class _PlannedUnit:
    row: Row
    force_key: str
    key: str
    existing: Unit | None
    parent_key: str = ""


@dataclass
class _PlannedPosting:
    row: Row
    unit: Unit | _PlannedUnit
    is_command: bool
    start: tuple | None
    end: tuple | None


class _Import:
    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.forces = {search_key(f.name): f for f in Force.objects.all()}
        self.planned_forces: dict[str, str] = {}  # key -> name, for forces to create
        self.units: dict[tuple[str, str], _PlannedUnit] = {}
        self.postings: list[_PlannedPosting] = []

    def error(self, row: Row, column: str, reason: str) -> None:
        self.reader.error(row.file, row.line, column, reason)

    # Units

    def plan_units(self, rows: list[Row]) -> None:
        db_units = defaultdict(dict)  # force key -> unit key -> Unit
        self.all_db_units = list(Unit.objects.select_related("force"))
        for unit in self.all_db_units:
            db_units[search_key(unit.force.name)][search_key(unit.name)] = unit
        self.db_units = db_units
        for row in rows:
            force_key = search_key(row["force"])
            if not force_key:
                self.error(row, "force", "has no letters or digits")
                continue
            if force_key not in self.forces:
                self.planned_forces.setdefault(force_key, row["force"])
            key = search_key(row["unit"])
            if not key:
                self.error(row, "unit", "has no letters or digits")
                continue
            if (force_key, key) in self.units:
                other = self.units[(force_key, key)].row
                self.error(row, "unit", f"{row['unit']!r} is already on line {other.line}")
                continue
            existing = db_units[force_key].get(key)
            self.units[(force_key, key)] = _PlannedUnit(row, force_key, key, existing)
        for planned in self.units.values():
            row = planned.row
            if not row["parent"]:
                continue
            parent_key = search_key(row["parent"])
            force_key = planned.force_key
            if (force_key, parent_key) not in self.units and parent_key not in db_units[force_key]:
                self.error(
                    row,
                    "parent",
                    f"no unit named {row['parent']!r} in {row['force']!r}, in this file or "
                    "in the tracker",
                )
                continue
            planned.parent_key = parent_key
        self._check_loops()

    def _check_loops(self) -> None:
        """The tree as it would be after the import must have no loop."""
        forces = {p.force_key for p in self.units.values()}
        node: dict[tuple[str, str], int] = {}
        parents: dict[int, int | None] = {}
        names: dict[int, str] = {}

        def node_of(force_key: str, key: str) -> int:
            return node.setdefault((force_key, key), len(node))

        by_id = {}
        for force_key in forces:
            for key, unit in self.db_units[force_key].items():
                by_id[unit.pk] = (force_key, key)
        for force_key in forces:
            for key, unit in self.db_units[force_key].items():
                n = node_of(force_key, key)
                names[n] = unit.name
                parents[n] = node_of(*by_id[unit.parent_id]) if unit.parent_id in by_id else None
        for planned in self.units.values():
            n = node_of(planned.force_key, planned.key)
            names[n] = planned.row["unit"]
            if planned.parent_key:
                parents[n] = node_of(planned.force_key, planned.parent_key)
        reported: set[frozenset] = set()
        for planned in self.units.values():
            loop = find_loop(parents, node_of(planned.force_key, planned.key))
            if loop and frozenset(loop) not in reported:
                reported.add(frozenset(loop))
                path = " → ".join(names[n] for n in loop)
                self.error(planned.row, "parent", f"the parent chain loops: {path}")

    # Postings

    def plan_postings(self, rows: list[Row]) -> None:
        # Every name and alias of every unit, in the file or on record, to what it names.
        by_name: dict[str, dict[int, Unit | _PlannedUnit]] = defaultdict(dict)
        planned_for = {p.existing.pk: p for p in self.units.values() if p.existing}
        for unit in self.all_db_units:
            target = planned_for.get(unit.pk, unit)
            for key in unit.search_keys.strip("|").split("|"):
                by_name[key][id(target)] = target
        for planned in self.units.values():
            keys = {planned.key, *(search_key(a) for a in split_aliases(planned.row["aliases"]))}
            for key in keys:
                by_name[key][id(planned)] = planned
        for row in rows:
            found = list(by_name.get(search_key(row["unit"]), {}).values())
            if not found:
                self.error(
                    row, "unit", f"no unit named {row['unit']!r} in this file or the tracker"
                )
                continue
            if len(found) > 1:
                forces = sorted({_force_name(u) for u in found})
                self.error(
                    row,
                    "unit",
                    f"{row['unit']!r} names {len(found)} units (in {', '.join(forces)}); "
                    "use the name that is unique",
                )
                continue
            is_command = "commander" in row["title"].lower()
            if row["is_command"]:
                answer = row["is_command"].lower()
                if answer not in ("yes", "no"):
                    self.error(row, "is_command", "expected yes or no")
                    continue
                is_command = answer == "yes"
            dates = {}
            for column in ("start", "end"):
                if row[column]:
                    try:
                        dates[column] = parse_partial(row[column])
                    except ValueError as exc:
                        self.error(row, column, f"{row[column]!r}: {exc}")
            if len(dates) < sum(1 for c in ("start", "end") if row[c]):
                continue
            if "start" in dates and "end" in dates and not self._dates_ok(row, dates):
                continue
            self.postings.append(
                _PlannedPosting(row, found[0], is_command, dates.get("start"), dates.get("end"))
            )

    def _dates_ok(self, row: Row, dates: dict) -> bool:
        (start, start_p), (end, end_p) = dates["start"], dates["end"]
        held = Tenure.of(start, start_p, end, end_p)
        began, ended = format_partial(start, start_p), format_partial(end, end_p)
        if held.possible.latest <= held.possible.earliest:
            self.error(row, "end", f"the posting ends ({ended}) before it starts ({began})")
            return False
        if end < start:
            self.error(
                row,
                "end",
                f"an end known only to {ended} cannot be recorded with a start in {began}; "
                "give the end as precisely as the start",
            )
            return False
        return True

    # Officials

    def plan_officials(self) -> list[list[_PlannedPosting]]:
        """Postings grouped by official, per the alias rule (see the module docstring)."""
        parent: dict[str, str] = {}

        def find(key: str) -> str:
            while parent.setdefault(key, key) != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        names = {search_key(p.row["official"]) for p in self.postings}
        for posting in self.postings:
            own = search_key(posting.row["official"])
            find(own)
            for alias in split_aliases(posting.row["aliases"]):
                other = search_key(alias)
                if other in names and other != own:
                    parent[find(other)] = find(own)
        groups: dict[str, list[_PlannedPosting]] = defaultdict(list)
        for posting in self.postings:
            groups[find(search_key(posting.row["official"]))].append(posting)
        return list(groups.values())

    def match_official(self, group: list[_PlannedPosting]) -> Official | None | bool:
        """The official on record that ``group`` is, None for a new one, False if refused."""
        spellings = {search_key(p.row["official"]) for p in group}
        listed = {search_key(a) for p in group for a in split_aliases(p.row["aliases"])}
        matches = {
            *Official.objects.filter(name_key__in=spellings | listed),
            *Official.objects.filter(aliases__key__in=spellings),
        }
        if len(matches) > 1:
            found = ", ".join(sorted(f"{o.name} (#{o.pk})" for o in matches))
            self.error(
                group[0].row,
                "official",
                f"{group[0].row['official']!r} matches several officials in the tracker: "
                f"{found}; record the spelling as an alias of one of them first",
            )
            return False
        return matches.pop() if matches else None


def _force_name(unit: Unit | _PlannedUnit) -> str:
    return unit.force.name if isinstance(unit, Unit) else unit.row["force"]


def import_postings(files: list[tuple[str, bytes]], *, by) -> ImportResult:
    """Import units and postings from ``files`` (name, content) as user ``by``; raise
    ``ImportRejected`` with every row error, in which case nothing is written."""
    reader = Reader()
    for name, data in files:
        reader.read(name, data)
    plan = _Import(reader)
    plan.plan_units([r for r in reader.rows if r.kind == "unit"])
    plan.plan_postings([r for r in reader.rows if r.kind == "posting"])
    groups = plan.plan_officials()
    matched = [(group, plan.match_official(group)) for group in groups]
    if reader.errors:
        order = {name: n for n, (name, _) in enumerate(files)}
        raise ImportRejected(sorted(reader.errors, key=lambda e: (order[e.file], e.line)))
    with transaction.atomic():
        return _write(plan, matched, by)


def _saved(obj, row: Row, exclude: list[str] | None = None):
    """Validate and save; a rule the checks before writing do not know stops the whole
    import (the transaction rolls back) with the row's line."""
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise ImportRejected(
            [RowError(row.file, row.line, "row", message) for message in exc.messages]
        ) from None
    obj.save()
    return obj


def _write(plan: _Import, matched, by) -> ImportResult:
    result = ImportResult()
    counts = result.counts
    forces = dict(plan.forces)
    first_row = {p.force_key: p.row for p in reversed(plan.units.values())}
    for key, name in plan.planned_forces.items():
        forces[key] = _saved(Force(name=name), first_row[key])
        counts["forces created"] += 1
    units: dict[tuple[str, str], Unit] = {}
    updated: set[tuple[str, str]] = set()
    for (force_key, key), planned in plan.units.items():
        row = planned.row
        unit = planned.existing
        aliases = split_aliases(row["aliases"])
        if unit is None:
            unit = Unit(force=forces[force_key], name=row["unit"], source=row["source"])
            unit.aliases = "\n".join(aliases)
            counts["units created"] += 1
        else:
            known = set(unit.aliases.splitlines()) | {unit.name}
            new = [a for a in aliases if a not in known]
            if new or (row["source"] and row["source"] != unit.source):
                updated.add((force_key, key))
            unit.aliases = "\n".join([*unit.aliases.splitlines(), *new])
            unit.source = row["source"] or unit.source
        units[(force_key, key)] = _saved(unit, row, exclude=["parent"])
    for (force_key, key), planned in plan.units.items():
        if planned.parent_key:
            unit = units[(force_key, key)]
            parent = units.get((force_key, planned.parent_key))
            parent = parent or plan.db_units[force_key][planned.parent_key]
            if unit.parent_id != parent.pk:
                unit.parent = parent
                _saved(unit, planned.row)
                if planned.existing is not None:
                    updated.add((force_key, key))
    if updated:
        counts["units updated"] = len(updated)

    found: set[int] = set()
    for group, official in matched:
        first = group[0].row
        if official is None:
            official = Official(name=first["official"], created_by=by, updated_by=by)
            official._history_user = by  # simple_history: who, outside a request
            _saved(official, first, exclude=["name_key", "loose_key"])
            counts["officials created"] += 1
        else:
            found.add(official.pk)
        have = set(official.aliases.values_list("name", flat=True)) | {official.name}
        recorded = set(
            official.positions.values_list(
                "unit_id", "title", "start", "start_precision", "end", "end_precision"
            )
        )
        for posting in group:
            row = posting.row
            for name in [row["official"], *split_aliases(row["aliases"])]:
                if name not in have:
                    have.add(name)
                    alias = OfficialAlias(official=official, name=name, script=script_of(name))
                    _saved(alias, row, exclude=["key", "loose_key"])
                    counts["aliases added"] += 1
        for posting in group:
            row = posting.row
            target = posting.unit
            unit = target if isinstance(target, Unit) else units[(target.force_key, target.key)]
            start, start_p = posting.start or (None, DatePrecision.DAY)
            end, end_p = posting.end or (None, DatePrecision.DAY)
            identity = (unit.pk, row["title"], start, start_p, end, end_p)
            if identity in recorded:
                counts["postings already recorded"] += 1
                continue
            recorded.add(identity)
            position = Position(
                official=official,
                unit=unit,
                title=row["title"],
                rank=row["rank"],
                is_command=posting.is_command,
                is_acting="acting" in row["title"].lower(),
                start=start,
                start_precision=start_p,
                end=end,
                end_precision=end_p,
                source=row["source"],
            )
            _saved(position, row)
            counts["postings created"] += 1
    if found:
        counts["officials found"] = len(found)
    return result
