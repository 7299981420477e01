"""The dossier of an official: everything on record against them. Names, postings, and
every incident attributed to them or to a unit under their command on its date, each
with the link that ties it to them (``Link``): the chain of command
(``tracker.responsibility.chain``) read the other way, from the official down.

Attributions still in review are listed with their state; the totals count findings
only (``tracker.findings``). Rejected attributions and rejected incidents are left out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q

from tracker import findings
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
from tracker.responsibility.chain import (
    CERTAIN,
    assess,
    incident_date,
    subtree_sql,
    tenure,
    walk,
)
from tracker.responsibility.periods import EARLIEST, LATEST, Tenure, month_of, to_aware

# Why an incident is in a dossier.
BASIS_DIRECT = "direct attribution"
BASIS_CHAIN = "command chain"


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
