"""The proposed grade: the rule table, read top to bottom, the first rule that holds
giving the grade (``RULES``, written out in ``docs/corroboration.md``), and proposals
computed and stored for many incidents in a constant number of queries per batch.

"Discounted" (ruled out) is never proposed: only a reviewer rules an incident out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from evidence.corroboration import checks, facts
from evidence.corroboration.checks import CONTRADICTION, Reason
from evidence.corroboration.facts import Case, Item
from evidence.corroboration.sources import Source, independent
from evidence.models import GradeProposal
from tracker.batches import batches
from tracker.models import Incident

G = Incident.HarmGrade
K = checks.K
BATCH = 500


@dataclass(frozen=True)
class Evidence:
    """What the rules read: the independent sources, how many are reliable, and the
    reasons of the checks."""

    sources: list[Source]
    reliable: int
    reasons: list[Reason]

    @property
    def contradictions(self) -> list[Reason]:
        return [r for r in self.reasons if r.verdict == CONTRADICTION]


@dataclass(frozen=True)
class Rule:
    name: str
    when: str  # as docs/corroboration.md writes it
    grade: str  # "" proposes nothing
    holds: Callable[[Evidence], bool]


RULES: tuple[Rule, ...] = (
    Rule("nothing", "No evidence is relied on.", "", lambda e: not e.sources),
    Rule(
        "contradiction",
        "A check finds a contradiction.",
        G.CONTESTED,
        lambda e: bool(e.contradictions),
    ),
    Rule(
        "two reliable",
        "Two or more independent sources are reliable.",
        G.CONFIRMED,
        lambda e: e.reliable >= 2,
    ),
    Rule("one reliable", "One independent source is reliable.", G.FAIR, lambda e: e.reliable == 1),
    Rule(
        "none reliable", "Sources are relied on, none of them reliable yet.", G.WEAK, lambda e: True
    ),
)


def standing(
    item: Item, pair: tuple[Item, Item] | None, agreed: set[tuple[str, str]]
) -> tuple[bool, str]:
    """Does ``item`` make its source reliable, and why or why not (each kind's condition,
    as docs/corroboration.md lists them)."""
    if item.kind == K.TESTIMONY:
        if checks.at_place(item):
            return True, "testimony of a witness at the place"
        return False, "its witness was not at the place"
    if item.kind == K.SATELLITE:
        if pair is not None and item in pair:
            return True, "one of two scenes bracketing the strike over the site"
        return False, "not one of two scenes bracketing the strike over the site"
    if item.kind == K.FLIGHT_LOG:
        if (item.flight_score or 0) >= checks.FLIGHT_SCORE:
            return (
                True,
                f"a flight of it is confirmed with a score of at least {checks.FLIGHT_SCORE:.2f}",
            )
        return (
            False,
            f"no flight of it is confirmed with a score of at least {checks.FLIGHT_SCORE:.2f}",
        )
    if item.verified:
        return True, "verified by a reviewer"
    if item.kind in checks.RECORDINGS:
        if {("time", item.code), ("place", item.code)} <= agreed:
            return True, "its capture time and place agree with the strike"
        return False, "not verified, and its capture time and place do not both agree"
    return False, "not verified"


def reliability(source: Source, pair, agreed: set[tuple[str, str]]) -> tuple[bool, str]:
    """Is ``source`` reliable, and why (or why not), in words."""
    refusals = []
    for item in source.items:
        ok, why = standing(item, pair, agreed)
        if ok:
            return True, f"{item.code}: {why}"
        refusals.append(f"{item.code}: {why}")
    return False, "; ".join(refusals)


@dataclass(frozen=True)
class Proposal:
    grade: str
    rule: str
    reasons: list[dict]
    sources: list[dict]

    @property
    def digest(self) -> str:
        body = json.dumps([self.grade, self.rule, self.reasons, self.sources], sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()

    def row(self, incident_id: int, computed_at=None) -> GradeProposal:
        """The proposal as the row that keeps it (unsaved)."""
        return GradeProposal(
            incident_id=incident_id,
            grade=self.grade,
            rule=self.rule,
            reasons=self.reasons,
            sources=self.sources,
            digest=self.digest,
            computed_at=computed_at,
        )


def propose(case: Case) -> Proposal:
    """The grade the table gives ``case``, with its sources and reasons."""
    sources = independent(case)
    source_of = {item.id: n for n, source in enumerate(sources) for item in source.items}
    pair = checks.bracket(case)
    reasons = [reason for check in checks.CHECKS for reason in check(case)]
    reasons += checks.casualties(case, source_of)
    agreed = {(r.check, r.item) for r in reasons if r.verdict == checks.SUPPORT and r.item}
    judged = [reliability(source, pair, agreed) for source in sources]
    evidence = Evidence(sources, sum(ok for ok, _ in judged), reasons)
    rule = next(rule for rule in RULES if rule.holds(evidence))
    return Proposal(
        grade=rule.grade,
        rule=rule.name,
        reasons=[r.as_dict() for r in reasons],
        sources=[
            {"items": source.codes, "why": source.why, "reliable": ok, "because": because}
            for source, (ok, because) in zip(sources, judged, strict=True)
        ],
    )


def proposals(incident_ids: Iterable[int]) -> dict[int, Proposal]:
    """The proposals of ``incident_ids``, read in a constant number of queries."""
    return {pk: propose(case) for pk, case in facts.load(incident_ids).items()}


def store(incident_ids: Iterable[int]) -> int:
    """Compute and keep the proposals of ``incident_ids`` (one transaction); how many."""
    found = proposals(incident_ids)
    now = timezone.now()
    rows = [p.row(pk, now) for pk, p in found.items()]
    with transaction.atomic():
        GradeProposal.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["incident"],
            update_fields=["grade", "rule", "reasons", "sources", "digest", "computed_at"],
        )
    return len(rows)


def store_all(progress: Callable[[int, int], None] | None = None) -> int:
    """Proposals for every incident, in primary-key batches."""
    total = Incident.objects.count()
    done = 0
    for batch in batches(Incident.objects.values_list("pk"), BATCH):
        done += store(pk for (pk,) in batch)
        if progress:
            progress(done, total)
    return done
