"""Command responsibility: the unit tree, who commanded the unit an incident is attributed
to (the chain of command), and the attribution services built on it. Everything that
falls under one official's command, the other direction, is their dossier
(``tracker.responsibility.dossier``).

Both directions read the same facts the same way: the unit tree (walked by one
recursive query, whatever its depth), the command postings with their uncertain
dates (``tracker.responsibility.periods``) and the incident's uncertain time. A posting that
surely covers the whole period in which the incident may have happened is
``certain``; one that covers only part of it is ``possible``, with the reason.

Rejected attributions and rejected incidents are left out: a reviewer ruled them out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL

from tracker import locks
from tracker.models import (
    Attribution,
    Incident,
    Official,
    Position,
    ReviewStatus,
    Unit,
)
from tracker.responsibility.periods import (
    EARLIEST,
    LATEST,
    Period,
    Tenure,
    format_partial,
    incident_period,
    known,
)

CERTAIN = "certain"
POSSIBLE = "possible"
# A unit tree deeper than this is a loop left in the data by a raw write; the walk stops.
MAX_DEPTH = 64
LOOP_MESSAGE = "A unit cannot be below itself; this parent makes a loop: {path}."
NO_EVIDENCE = "An attribution cannot be verified without at least one supporting evidence item."
NOT_IN_CHAIN = "{official} held no command over {unit} on the incident's date."
UNKNOWN_PRECISION = "the incident's date precision is not recorded (read as up to a year)"


# --- The unit tree ------------------------------------------------------------------------


def _tree_sql(direction: str, count: int, columns: str) -> str:
    """A recursive walk from ``count`` starting units, up (to parents) or down (to
    children), selecting ``columns`` of (origin, unit_id, depth). Standard SQL, for
    SQLite and PostgreSQL alike. Only the table name (from the model) and placeholders
    are formatted in; unit ids are passed as parameters."""
    table = connection.ops.quote_name(Unit._meta.db_table)
    join = "u.id = w.parent_id" if direction == "up" else "u.parent_id = w.unit_id"
    placeholders = ", ".join(["%s"] * count)
    return (
        "WITH RECURSIVE unit_walk(origin, unit_id, parent_id, depth) AS ("  # noqa: S608
        f" SELECT id, id, parent_id, 0 FROM {table} WHERE id IN ({placeholders})"
        " UNION ALL"
        f" SELECT w.origin, u.id, u.parent_id, w.depth + 1 FROM {table} u"
        f" JOIN unit_walk w ON {join} WHERE w.depth < {MAX_DEPTH}"
        f") SELECT {columns} FROM unit_walk"
    )


def walk(unit_ids: Iterable[int], direction: str) -> dict[int, dict[int, int]]:
    """For each starting unit, the units above it (``"up"``, itself included) or below
    it (``"down"``), each with its distance: ``{origin: {unit_id: depth}}``. One query."""
    ids = sorted(set(unit_ids))
    result: dict[int, dict[int, int]] = {origin: {} for origin in ids}
    if not ids:
        return result
    with connection.cursor() as cursor:
        cursor.execute(_tree_sql(direction, len(ids), "origin, unit_id, depth"), ids)
        for origin, unit_id, depth in cursor.fetchall():
            reached = result[origin]
            if unit_id not in reached or depth < reached[unit_id]:
                reached[unit_id] = depth
    return result


def subtree_sql(unit_ids: list[int]) -> RawSQL:
    """The ids of these units and every unit below them, as a subquery for ``__in``."""
    return RawSQL(_tree_sql("down", len(unit_ids), "unit_id"), unit_ids)  # noqa: S611


def find_loop(parents: dict[int, int | None], start: int) -> list[int]:
    """The ids around a loop met walking up from ``start`` in ``{unit: parent}``, from
    ``start`` back to it; [] if the walk reaches the top."""
    path = [start]
    seen = {start}
    current = parents.get(start)
    while current is not None:
        path.append(current)
        if current == start:
            return path
        if current in seen:  # a loop above start, not through it
            return []
        seen.add(current)
        current = parents.get(current)
    return []


def parent_loop_message(unit: Unit) -> str | None:
    """Why ``unit``'s parent would make a loop (for ``Unit.clean``), or None. A unit as
    its own parent is left to the ``unit_not_own_parent`` constraint and its message."""
    if unit.parent_id is None or unit.pk is None or unit.parent_id == unit.pk:
        return None
    above = walk([unit.parent_id], "up")[unit.parent_id]
    if unit.pk not in above:
        return None
    chain = sorted(above, key=above.get)
    chain = chain[: chain.index(unit.pk) + 1]
    names = dict(Unit.objects.filter(pk__in=chain).values_list("pk", "name"))
    names[unit.pk] = unit.name
    return LOOP_MESSAGE.format(path=" → ".join(names[pk] for pk in [unit.pk, *chain]))


# --- Certainty ------------------------------------------------------------------------------


def tenure(position: Position) -> Tenure:
    return Tenure.of(position.start, position.start_precision, position.end, position.end_precision)


def period_of(incident: Incident) -> Period:
    return incident_period(incident.occurred_start, incident.start_precision, incident.occurred_end)


def incident_date(incident: Incident) -> str:
    return format_partial(incident.occurred_start, incident.start_precision)


def assess(
    position: Position, incident: Incident, held: Tenure | None = None
) -> tuple[str, str] | None:
    """(``certain`` or ``possible``, reason) if ``position`` may have been held while
    ``incident`` happened, None if it cannot have been. ``held`` is the position's
    tenure when the caller has it already."""
    held, when = held or tenure(position), period_of(incident)
    if not held.possible.overlaps(when):
        return None
    if held.sure.covers(when):
        return CERTAIN, ""
    reasons = []
    dated = incident_date(incident)
    if position.start is None:
        reasons.append("the posting's start is not recorded")
    elif held.sure.earliest > when.earliest:
        began = format_partial(position.start, position.start_precision)
        reasons.append(f"the posting began {began}, possibly after the incident ({dated})")
    if position.end is not None and held.sure.latest < when.latest:
        ended = format_partial(position.end, position.end_precision)
        reasons.append(f"the posting ended {ended}, possibly before the incident ({dated})")
    if not known(incident.start_precision):
        reasons.append(UNKNOWN_PRECISION)
    return POSSIBLE, "; ".join(reasons)


def _posting_window(when: Period) -> Q:
    """A coarse filter for postings that may overlap ``when`` (the exact test is ``assess``)."""
    q = Q()
    if when.latest != LATEST:
        q &= Q(start__isnull=True) | Q(start__lt=when.latest.date() + timedelta(days=1))
    if when.earliest != EARLIEST:
        # An end known only to the year may run to the year's last day.
        q &= Q(end__isnull=True) | Q(end__gte=when.earliest.date() - timedelta(days=367))
    return q


# --- Chain of command ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChainEntry:
    attributed_unit: Unit  # the unit the incident is attributed to
    unit: Unit  # the unit commanded: the attributed one (depth 0) or one above it
    depth: int
    official: Official
    position: Position
    certainty: str
    reason: str

    @property
    def started(self) -> str:
        return format_partial(self.position.start, self.position.start_precision)

    @property
    def ended(self) -> str:
        return format_partial(self.position.end, self.position.end_precision)


def chain_of_command(
    incident: Incident, attributions: Iterable[Attribution] | None = None
) -> list[ChainEntry]:
    """The officials in command of each unit ``incident`` is attributed to, and of every
    unit above it, on the incident's date: per attributed unit (in the order attributed),
    from the unit upward, then by the posting's start. Three queries, whatever the depth;
    two when the caller holds the incident's ``attributions`` (with their units) already."""
    if attributions is None:
        attributions = incident.attributions.select_related("unit")
    attributed: dict[int, Unit] = {}
    for attribution in sorted(attributions, key=lambda a: a.pk):
        if attribution.unit_id is not None and attribution.status != ReviewStatus.REJECTED:
            attributed.setdefault(attribution.unit_id, attribution.unit)
    if not attributed:
        return []
    above = walk(attributed, "up")
    unit_ids = {unit_id for reached in above.values() for unit_id in reached}
    when = period_of(incident)
    postings_by_unit: dict[int, list[Position]] = defaultdict(list)
    for position in (
        Position.objects.filter(unit_id__in=unit_ids, is_command=True)
        .filter(_posting_window(when))
        .select_related("official", "unit")
        .order_by("start", "official__name", "id")
    ):
        postings_by_unit[position.unit_id].append(position)

    entries = []
    for origin, unit in attributed.items():
        for unit_id, depth in sorted(above[origin].items(), key=lambda item: item[1]):
            for position in postings_by_unit.get(unit_id, ()):
                verdict = assess(position, incident)
                if verdict is not None:
                    held_by, held = position.official, position.unit
                    entries.append(ChainEntry(unit, held, depth, held_by, position, *verdict))
    return entries


# --- Attributions ---------------------------------------------------------------------------


def can_verify_attribution(attribution: Attribution) -> str | None:
    """Why ``attribution`` cannot be verified now, or None if it can."""
    if attribution.pk is None or not attribution.supporting_evidence.exists():
        return NO_EVIDENCE
    return None


def attribute_command(
    incident: Incident, *, official: Official, unit: Unit, by
) -> tuple[Attribution, bool]:
    """Attribute ``incident`` to ``official`` with role "commander" because they held
    command over ``unit`` (an attributed unit) or a unit above it on the incident's date.

    Returns (attribution, created); an existing commander attribution of the official
    is returned as it is. Raises ValueError if the chain does not hold the official, and
    ``tracker.locks.Locked`` if the incident is locked (verified, published, rejected)."""
    locks.check_incident_open(incident.pk, "attributions")
    entries = [
        e
        for e in chain_of_command(incident)
        if e.official.pk == official.pk and e.attributed_unit.pk == unit.pk
    ]
    if not entries:
        raise ValueError(NOT_IN_CHAIN.format(official=official, unit=unit))
    entry = min(entries, key=lambda e: (e.certainty != CERTAIN, e.depth))
    with transaction.atomic():
        existing = (
            Attribution.objects.select_for_update()
            .filter(incident=incident, official=official, role=Attribution.Role.COMMANDER)
            .first()
        )
        if existing is not None:
            return existing, False
        held = f"{entry.started or 'start unknown'} to {entry.ended or 'still in post'}"
        basis = (
            f"Command chain: {entry.position.title} of {entry.unit} ({held}), "
            f"{entry.depth} level(s) above the attributed unit {unit}; {entry.certainty}"
            + (f" ({entry.reason})" if entry.reason else "")
            + " on the incident's date."
        )
        attribution = Attribution(
            incident=incident,
            official=official,
            unit=None,
            role=Attribution.Role.COMMANDER,
            confidence=Attribution.Confidence.LOW,
            basis=basis,
            created_by=by,
            updated_by=by,
        )
        attribution.full_clean()
        attribution._history_user = by  # four eyes reads who added it
        attribution.save()
    return attribution, True
