"""Responsibility benchmarks (issue: chains of command and dossiers).

Data (full scale, the issue's sizes): 5,000 officials, 20,000 postings, two forces
whose unit trees are 8 levels deep, 100,000 incidents each attributed to a unit; one
official commands a unit whose subtree holds 2,000 incidents during the posting.
Quick scale: 500 officials, 2,000 postings, 10,000 incidents, the same 2,000-incident
dossier.

Figures, each against the naive version (one query per level, per posting, per
incident) measured in the same run:
- ``chain_of_command`` for an incident attributed to a unit 7 levels down (target
  < 10 ms on SQLite), and its query count at depths 1, 4 and 7 (constant);
- the dossier of the official with 2,000 incidents under command (target < 300 ms),
  and the whole dossier page rendered (HTML, through the test client).
"""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, date, datetime, timedelta

from django.db import connection

from bench.harness import Figure, Report, time_it

DATABASE_BOUND = True
SIZES = {
    "quick": {"officials": 500, "postings": 2_000, "incidents": 10_000, "branching": 2},
    "full": {"officials": 5_000, "postings": 20_000, "incidents": 100_000, "branching": 3},
}
DEPTH = 8
DOSSIER_INCIDENTS = 2_000
DOSSIER_DEPTH = 3  # the commanded unit's level; its subtree reaches the leaves
FORCE_NAME = "Bench responsibility force {}"
PRECISIONS = ["minute"] * 14 + ["hour", "day", "day", "month", "year"]


def _tree(force, branching: int) -> list[list]:
    """Units level by level (index = depth)."""
    from tracker.models import Unit
    from tracker.responsibility.names import keys_field, loose_key, search_key

    levels: list[list] = []
    parents = [None]
    for depth in range(DEPTH):
        rows = []
        for p, parent in enumerate(parents):
            for k in range(1 if depth == 0 else branching):
                name = f"{force.name} L{depth} P{p} U{k}"
                rows.append(
                    Unit(
                        force=force,
                        parent=parent,
                        name=name,
                        search_keys=keys_field([search_key(name)]),
                        loose_keys=keys_field([loose_key(name)]),
                    )
                )
        parents = Unit.objects.bulk_create(rows, batch_size=2000)
        levels.append(parents)
    return levels


def _subtree(levels: list[list], root) -> set[int]:
    ids = {root.pk}
    for level in levels:
        for unit in level:
            if unit.parent_id in ids:
                ids.add(unit.pk)
    return ids


def _local(day: date, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), tzinfo=UTC)


def _truncate(moment: datetime, precision: str) -> datetime:
    if precision == "hour":
        return moment.replace(minute=0)
    if precision == "day":
        return moment.replace(hour=0, minute=0)
    if precision == "month":
        return moment.replace(day=1, hour=0, minute=0)
    if precision == "year":
        return moment.replace(month=1, day=1, hour=0, minute=0)
    return moment


def build(scale: str) -> dict:
    """Create the data once per database; return what the benchmarks need."""
    from django.contrib.auth.models import User

    from evidence.models import EvidenceItem
    from tracker.models import (
        Attribution,
        Force,
        Incident,
        Official,
        OfficialAlias,
        Position,
        TargetType,
        Unit,
    )
    from tracker.responsibility.names import loose_key, search_key

    size = SIZES[scale]
    rng = random.Random(9)
    user, _ = User.objects.get_or_create(
        username="bench-responsibility", defaults={"is_staff": True, "is_superuser": True}
    )
    marker = FORCE_NAME.format(0)
    if Force.objects.filter(name=marker).exists():
        forces = list(Force.objects.filter(name__startswith=FORCE_NAME.format("")))
        levels_by_force = []
        for force in forces:
            units = list(Unit.objects.filter(force=force).order_by("id"))
            levels = [[u for u in units if f" L{d} " in u.name] for d in range(DEPTH)]
            levels_by_force.append(levels)
    else:
        forces = [Force.objects.create(name=FORCE_NAME.format(n)) for n in range(2)]
        levels_by_force = [_tree(force, size["branching"]) for force in forces]
    levels = levels_by_force[0]
    commanded = levels[DOSSIER_DEPTH][0]
    subtree = _subtree(levels, commanded)
    commander = Official.objects.filter(name="Bench Dossier Commander").first()
    if commander is not None:
        return _targets(levels_by_force, commander, user)

    all_units = [u for levels_ in levels_by_force for level in levels_ for u in level]
    deep = [u for levels_ in levels_by_force for level in levels_[4:] for u in level]
    outside = [u for u in deep if u.pk not in subtree]
    inside = [u for u in all_units if u.pk in subtree]

    officials = Official.objects.bulk_create(
        [
            Official(
                name=f"Bench Official {n} al-Hassan",
                name_key=search_key(f"Bench Official {n} al-Hassan"),
                loose_key=loose_key(f"Bench Official {n} al-Hassan"),
            )
            for n in range(size["officials"] - 1)
        ],
        batch_size=2000,
    )
    commander = Official.objects.create(name="Bench Dossier Commander")
    OfficialAlias.objects.bulk_create(
        [
            OfficialAlias(
                official=o, name=f"Бенч {o.pk}", script="cyrillic", key=search_key(f"Бенч {o.pk}")
            )
            for o in [*officials, commander]
        ],
        batch_size=2000,
    )
    postings = [
        Position(
            official=commander,
            unit=commanded,
            title="Commander",
            start=date(2019, 1, 1),
            start_precision="month",
            end=date(2020, 12, 1),
            end_precision="month",
        )
    ]
    for n in range(size["postings"] - 1):
        start = date(2008, 1, 1) + timedelta(days=rng.randrange(15 * 365))
        precision = rng.choice(["day", "day", "month", "year"])
        if precision == "month":
            start = start.replace(day=1)
        elif precision == "year":
            start = start.replace(month=1, day=1)
        end = None if rng.random() < 0.15 else start + timedelta(days=rng.randrange(200, 1500))
        postings.append(
            Position(
                official=officials[n % len(officials)],
                unit=rng.choice(all_units),
                title=rng.choice(["Commander", "Commander", "Commander", "Deputy Commander"]),
                is_command=rng.random() < 0.8,
                is_acting=rng.random() < 0.05,
                start=start,
                start_precision=precision,
                end=end,
            )
        )
    Position.objects.bulk_create(postings, batch_size=2000)

    targets = list(TargetType.objects.all())
    incidents, attributed = [], []
    for n in range(size["incidents"]):
        mine = n < DOSSIER_INCIDENTS
        first = date(2019, 1, 1) if mine else date(2012, 1, 1)
        span = 700 if mine else 12 * 365
        precision = rng.choice(PRECISIONS)
        when = _truncate(_local(first + timedelta(days=rng.randrange(span)), rng), precision)
        low = rng.randrange(6)
        incidents.append(
            Incident(
                code=f"BR-{n:07d}",
                title=f"Bench strike {n}",
                occurred_start=when,
                start_precision=precision,
                killed_min=low,
                killed_max=low + rng.randrange(4),
                civilian_harm=rng.choice(["confirmed", "fair", "weak"]),
            )
        )
        attributed.append(rng.choice(inside if mine else outside))
    incidents = Incident.objects.bulk_create(incidents, batch_size=2000)
    through = Incident.target_types.through
    through.objects.bulk_create(
        [through(incident_id=i.pk, targettype_id=rng.choice(targets).pk) for i in incidents],
        batch_size=5000,
    )
    attributions = Attribution.objects.bulk_create(
        [
            Attribution(incident=i, unit=u, role="direct", confidence="medium")
            for i, u in zip(incidents, attributed, strict=True)
        ]
        + [
            Attribution(incident=i, official=commander, role="ordered")
            for i in incidents[DOSSIER_INCIDENTS : DOSSIER_INCIDENTS + 20]
        ],
        batch_size=2000,
    )
    items = EvidenceItem.objects.bulk_create(
        [
            EvidenceItem(code=f"BRE-{n:07d}", kind="photo", title=f"Bench photo {n}")
            for n in range(2 * DOSSIER_INCIDENTS)
        ],
        batch_size=2000,
    )
    links = Attribution.supporting_evidence.through
    links.objects.bulk_create(
        [
            links(attribution_id=a.pk, evidenceitem_id=items[2 * n + k].pk)
            for n, a in enumerate(attributions[:DOSSIER_INCIDENTS])
            for k in range(2)
        ],
        batch_size=5000,
    )
    targets = _targets(levels_by_force, commander, user)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # planner statistics, as a live database has them
    return targets


def _targets(levels_by_force, commander, user) -> dict:
    """An incident attributed at depth 1, 4 and 7 of the first force, with command
    postings (of another official than the dossier's) at every level above it."""
    from tracker.models import Attribution, Incident, Official, Position

    levels = levels_by_force[0]
    leaf = levels[DEPTH - 1][-1]
    chain = [leaf]
    while chain[-1].parent_id is not None:
        chain.append(next(u for lv in levels for u in lv if u.pk == chain[-1].parent_id))
    targets = {}
    for depth in (1, 4, 7):
        unit = chain[DEPTH - 1 - depth]
        code = f"BRC-{depth}"
        incident = Incident.objects.filter(code=code).first()
        if incident is None:
            incident = Incident.objects.create(
                code=code,
                title=f"Bench chain depth {depth}",
                occurred_start=datetime(2019, 5, 3, 6, 50, tzinfo=UTC),
                start_precision="day",
            )
            Attribution.objects.create(incident=incident, unit=unit, role="direct")
        targets[depth] = incident
    chief, _ = Official.objects.get_or_create(name="Bench Chain Commander")
    for level_unit in chain:
        if not Position.objects.filter(unit=level_unit, title="Bench chain commander").exists():
            Position.objects.create(
                official=chief,
                unit=level_unit,
                title="Bench chain commander",
                start=date(2018, 1, 1),
                start_precision="year",
            )
    return {"incidents": targets, "commander": commander, "user": user}


# --- The naive versions -------------------------------------------------------------------


def naive_chain(incident) -> list:
    """Walk up one parent at a time; one query per level, per posting's official."""
    from tracker.models import Position
    from tracker.responsibility.chain import assess

    entries = []
    for attribution in incident.attributions.filter(unit__isnull=False):
        unit, depth = attribution.unit, 0
        while unit is not None:
            for position in Position.objects.filter(unit=unit, is_command=True):
                verdict = assess(position, incident)
                if verdict:
                    entries.append((depth, unit.name, position.official.name, *verdict))
            unit, depth = unit.parent, depth + 1
    return entries


def naive_dossier(official) -> list:
    """Children one unit at a time, then each unit's attributions, each incident's
    targets and each attribution's evidence by its own query."""
    from tracker.responsibility.chain import assess

    rows = []
    aliases = list(official.aliases.all())
    for position in official.positions.filter(is_command=True):
        frontier, units = [position.unit], []
        while frontier:
            units.extend(frontier)
            frontier = [child for unit in frontier for child in unit.children.all()]
        for unit in units:
            for attribution in unit.attributions.all():
                incident = attribution.incident
                verdict = assess(position, incident)
                if verdict:
                    targets = [t.name for t in incident.target_types.all()]
                    codes = [e.code for e in attribution.supporting_evidence.all()]
                    rows.append((incident.code, verdict, targets, codes))
    for attribution in official.attributions.all():
        incident = attribution.incident
        rows.append((incident.code, [t.name for t in incident.target_types.all()]))
    return [aliases, rows]


class QueryCounter:
    """Counts every query (CaptureQueriesContext keeps only the last 9,000)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def count_queries(fn) -> int:
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        fn()
    return counter.count


def run(report: Report, *, scale: str) -> None:
    from django.test import Client
    from django.test.utils import setup_test_environment

    from tracker.responsibility.chain import chain_of_command
    from tracker.responsibility.dossier import dossier

    data = build(scale)
    incidents, commander = data["incidents"], data["commander"]

    from tracker.models import Incident, Official, Position, Unit

    print(
        f"data: {Official.objects.count()} officials, {Position.objects.count()} postings, "
        f"{Unit.objects.count()} units in trees {DEPTH} levels deep, "
        f"{Incident.objects.count()} incidents",
        flush=True,
    )
    counts = {}
    for depth, incident in incidents.items():
        entries = chain_of_command(incident)
        naive = naive_chain(incident)
        assert len(naive) == len(entries), (depth, len(naive), len(entries))
        counts[depth] = (
            count_queries(lambda i=incident: chain_of_command(i)),
            len(entries),
            count_queries(lambda i=incident: naive_chain(i)),
        )
    for depth, (ours, n, naive) in counts.items():
        report.add(
            Figure(
                f"chain_of_command: queries, unit {depth} levels down ({n} entries)",
                ours,
                "q",
                baseline=naive,
                baseline_name="queries naive per level",
                target="constant",
            )
        )
    deepest = incidents[7]
    ours = time_it(lambda: chain_of_command(deepest), runs=25, warmup=3)
    slow = time_it(lambda: naive_chain(deepest), runs=25, warmup=3)
    report.add(
        Figure(
            "chain_of_command: one incident, unit 7 levels down",
            ours.median * 1000,
            "ms",
            baseline=slow.median * 1000,
            baseline_name="ms naive per level",
            target="< 10 ms (SQLite)",
            timing=ours,
        )
    )

    found = dossier(commander)
    chain_links = sum(1 for e in found.incidents for link in e.links if link.position)
    n_queries = count_queries(lambda: dossier(commander))
    n_naive = count_queries(lambda: naive_dossier(commander))
    ours = time_it(lambda: dossier(commander), runs=7, warmup=1)
    slow = time_it(lambda: naive_dossier(commander), runs=3, warmup=1)
    report.add(
        Figure(
            f"dossier: {len(found.incidents)} incidents ({chain_links} by command chain)",
            ours.median * 1000,
            "ms",
            baseline=slow.median * 1000,
            baseline_name="ms naive",
            target="< 300 ms",
            timing=ours,
        )
    )
    report.add(Figure("dossier: queries", n_queries, "q", baseline=n_naive, baseline_name="naive"))

    with contextlib.suppress(RuntimeError):  # another benchmark did it already
        setup_test_environment()  # lets the test client in (ALLOWED_HOSTS)
    client = Client()
    client.force_login(data["user"])
    url = f"/officials/{commander.pk}/"

    def page() -> None:
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    html = time_it(page, runs=5, warmup=1)
    csv_page = time_it(lambda: client.get(url + "dossier.csv"), runs=5, warmup=1)
    report.add(
        Figure(
            "dossier page: HTML, rendered",
            html.median * 1000,
            "ms",
            baseline=ours.median * 1000,
            baseline_name="ms selector alone",
            timing=html,
        )
    )
    report.add(Figure("dossier page: CSV", csv_page.median * 1000, "ms", timing=csv_page))
