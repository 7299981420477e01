"""Command responsibility: who commanded the unit an incident is attributed to, and
everything that falls under one official's command.

Both directions read the same facts the same way: the unit tree (walked by one
recursive query, whatever its depth), the command postings with their uncertain
dates (``tracker.responsibility.periods``) and the incident's uncertain time. A posting that
surely covers the whole period in which the incident may have happened is
``certain``; one that covers only part of it is ``possible``, with the reason.

Rejected attributions and rejected incidents are left out: a reviewer ruled them out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL

from tracker import findings, locks
from tracker.display import summed_range
from tracker.models import (
    Attribution,
    Incident,
    Official,
    OfficialAlias,
    Position,
    ReviewStatus,
    Sensitivity,
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
    month_of,
    to_aware,
)

CERTAIN = "certain"
POSSIBLE = "possible"
BASIS_DIRECT = "direct attribution"
BASIS_CHAIN = "command chain"
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


def chain_of_command(incident: Incident) -> list[ChainEntry]:
    """The officials in command of each unit ``incident`` is attributed to, and of every
    unit above it, on the incident's date: per attributed unit (in the order attributed),
    from the unit upward, then by the posting's start. Three queries, whatever the depth."""
    attributed: dict[int, Unit] = {}
    for attribution in (
        incident.attributions.filter(unit__isnull=False)
        .exclude(status=ReviewStatus.REJECTED)
        .select_related("unit")
        .order_by("id")
    ):
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


# --- The dossier of an official -------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """Why an incident is in a dossier: an attribution naming the official, or an
    attribution to a unit the official commanded (or that was below one they did)."""

    basis: str
    attribution: Attribution
    evidence: tuple[str, ...]
    certainty: str = ""
    reason: str = ""
    position: Position | None = None
    depth: int | None = None
    # (code, review state) of each item in ``evidence``, so that those still in review
    # are shown with their state
    evidence_states: tuple[tuple[str, str], ...] = ()

    @property
    def is_finding(self) -> bool:
        """True if the attribution it rests on was checked (verified or published)."""
        return findings.is_checked(self.attribution.status)

    @property
    def evidence_in_review(self) -> tuple[tuple[str, str], ...]:
        """(code, review state) of the supporting items not verified or published."""
        return tuple(pair for pair in self.evidence_states if not findings.is_checked(pair[1]))

    @property
    def description(self) -> str:
        """One line: the role, or the posting and where its unit sits above the attributed one."""
        a = self.attribution
        if self.basis == BASIS_DIRECT:
            return f"{a.get_role_display()}, {a.get_confidence_display()} confidence"
        assert self.position is not None
        return f"{posting_label(self.position)}, {levels_above(self.depth, a.unit)}"


def posting_label(position: Position) -> str:
    acting = " (acting)" if position.is_acting else ""
    return f"{position.title}{acting} of {position.unit}"


def levels_above(depth: int | None, unit: Unit | None) -> str:
    if not depth:
        return "the unit the incident is attributed to"
    return f"{depth} level{'s' if depth > 1 else ''} above {unit}, to which it is attributed"


@dataclass
class DossierIncident:
    """An incident linked to the official. It is a *finding* if at least one link rests on
    a checked attribution; the others are leads still in review, listed with their
    states and never counted."""

    incident: Incident
    target_types: list[str]
    links: list[Link] = field(default_factory=list)

    @property
    def is_finding(self) -> bool:
        return any(link.is_finding for link in self.links)

    @property
    def date(self) -> str:
        return incident_date(self.incident)

    @property
    def bases(self) -> list[str]:
        return sorted({link.basis for link in self.links})

    @property
    def evidence(self) -> list[str]:
        return sorted({code for link in self.links for code in link.evidence})

    @property
    def certain(self) -> bool:
        """A finding link names the official, or gives them command surely on the date."""
        return any(
            link.is_finding and (link.basis == BASIS_DIRECT or link.certainty == CERTAIN)
            for link in self.links
        )


@dataclass(frozen=True)
class Totals:
    incidents: int
    certain: int
    killed_min: int
    killed_max: int
    without_count: int
    by_target_type: list[tuple[str, int]]
    by_month: list[tuple[str, int]]

    @property
    def killed(self) -> str:
        return summed_range(self.killed_min, self.killed_max, self.without_count, self.incidents)


@dataclass
class Dossier:
    official: Official
    aliases: list[OfficialAlias]
    postings: list[Position]
    incidents: list[DossierIncident]  # every linked incident, findings and leads in review
    totals: Totals  # of the findings only

    @property
    def findings(self) -> list[DossierIncident]:
        return [entry for entry in self.incidents if entry.is_finding]

    @property
    def in_review(self) -> list[DossierIncident]:
        return [entry for entry in self.incidents if not entry.is_finding]


def dossier(official: Official, *, include_restricted: bool = True) -> Dossier:
    """Everything on record against ``official``: names, postings, and every incident
    attributed to them or to a unit under their command on its date. A fixed number of
    queries (seven), however many incidents up to ``CHUNK``.

    Attributions still in review are listed with their state; the totals count findings
    only: incidents linked by a verified or published attribution (``tracker.findings``).

    ``include_restricted=False`` leaves out restricted incidents (and their totals) for
    readers without ``tracker.view_restricted_incident`` (see tracker.access)."""
    aliases = list(official.aliases.order_by("script", "name"))
    postings = list(
        official.positions.select_related("unit", "unit__force").order_by("start", "id")
    )
    command = [(p, tenure(p)) for p in postings if p.is_command]
    below = walk({p.unit_id for p, _ in command}, "down")

    rows = _dossier_attributions(official, command, below)
    if not include_restricted:
        rows = [a for a in rows if a.incident.sensitivity != Sensitivity.RESTRICTED]
    targets: dict[int, list[str]] = defaultdict(list)
    evidence: dict[int, list[tuple[str, str]]] = defaultdict(list)
    incident_ids = sorted({a.incident_id for a in rows})
    # Sorted here, not by ORDER BY: ordering by the joined name or code leads SQLite to
    # walk that table's index and probe the id list for every row.
    for chunk in _chunks(incident_ids):
        for incident_id, name in Incident.target_types.through.objects.filter(
            incident_id__in=chunk
        ).values_list("incident_id", "targettype__name"):
            targets[incident_id].append(name)
    for chunk in _chunks(sorted(a.pk for a in rows)):
        for attribution_id, code, status in Attribution.supporting_evidence.through.objects.filter(
            attribution_id__in=chunk
        ).values_list("attribution_id", "evidenceitem__code", "evidenceitem__status"):
            evidence[attribution_id].append((code, status))
    for names in (*targets.values(), *evidence.values()):
        names.sort()

    by_incident: dict[int, DossierIncident] = {}
    for a in rows:
        entry = by_incident.get(a.incident_id)
        if entry is None:
            entry = DossierIncident(a.incident, targets.get(a.incident_id, []))
        states = tuple(evidence.get(a.pk, ()))
        codes = tuple(code for code, _ in states)
        if a.official_id == official.pk:
            entry.links.append(Link(BASIS_DIRECT, a, codes, evidence_states=states))
        if a.unit_id is not None:
            for position, held in command:
                depth = below[position.unit_id].get(a.unit_id)
                verdict = assess(position, a.incident, held) if depth is not None else None
                if verdict is not None:
                    link = Link(
                        BASIS_CHAIN, a, codes, *verdict, position, depth, evidence_states=states
                    )
                    entry.links.append(link)
        if entry.links:
            by_incident[a.incident_id] = entry
    incidents = list(by_incident.values())
    counted = [entry for entry in incidents if entry.is_finding]
    return Dossier(official, aliases, postings, incidents, totals(counted))


# Ids per IN list: far below SQLite's 32,766 variables; one query up to this many rows.
CHUNK = 10_000


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[n : n + CHUNK] for n in range(0, len(ids), CHUNK)]


def _dossier_attributions(
    official: Official, command: list[tuple[Position, Tenure]], below: dict[int, dict[int, int]]
) -> list[Attribution]:
    """Attributions naming ``official``, and attributions to units under their command
    posts dated near the posts' periods (the exact test is ``assess``): two indexed
    queries, in the order of the incidents' time."""
    live = Attribution.objects.exclude(status=ReviewStatus.REJECTED).exclude(
        incident__status=ReviewStatus.REJECTED
    )
    related = ("incident", "incident__place", "unit")
    rows = {a.pk: a for a in live.filter(official=official).select_related(*related)}
    if command:
        dated = Q(pk__in=[])
        for _, held in command:
            when, in_window = held.possible, Q()
            if when.latest != LATEST:
                end = to_aware(when.latest + timedelta(days=2))
                in_window &= Q(incident__occurred_start__lt=end)
            if when.earliest != EARLIEST:
                # An incident may begin up to a year before its period ends, or last into it.
                start = to_aware(when.earliest - timedelta(days=368))
                end = to_aware(when.earliest - timedelta(days=2))
                in_window &= Q(incident__occurred_start__gte=start) | Q(
                    incident__occurred_end__gte=end
                )
            dated |= in_window
        under = live.filter(dated, unit_id__in=subtree_sql(sorted(below)))
        for a in under.select_related(*related):
            rows.setdefault(a.pk, a)
    return sorted(rows.values(), key=lambda a: (a.incident.occurred_start, a.incident_id, a.pk))


def totals(incidents: list[DossierIncident]) -> Totals:
    killed_min = killed_max = without = 0
    by_target: Counter[str] = Counter()
    by_month: Counter[str] = Counter()
    for entry in incidents:
        i = entry.incident
        if i.killed_min is None and i.killed_max is None:
            without += 1
        low = i.killed_min if i.killed_min is not None else 0
        killed_min += low
        killed_max += i.killed_max if i.killed_max is not None else low
        by_target.update(entry.target_types or ["(no target type)"])
        by_month[month_of(i.occurred_start, i.start_precision)] += 1
    return Totals(
        incidents=len(incidents),
        certain=sum(1 for e in incidents if e.certain),
        killed_min=killed_min,
        killed_max=killed_max,
        without_count=without,
        by_target_type=sorted(by_target.items(), key=lambda item: (-item[1], item[0])),
        by_month=sorted(by_month.items()),
    )
