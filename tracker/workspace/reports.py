"""The case report at /reports/case/?<filters>: the filtered incidents as a printable
investigation report (cover, figures, chart, map, one section per incident, officials).

The incidents are those of the incident browser for the same query string
(``workspace.incident_filter``). The figures (``tracker.workspace.figures``) are
computed by the database over the whole filtered set; the sections show at most
``MAX_INCIDENTS`` of them and the page says how many were left out. The page costs the
same number of queries for 1 or 500 incidents.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from evidence.access import VIEW_EVIDENCE
from evidence.models import EvidenceItem
from tracker import findings
from tracker.access import requires_browse
from tracker.models import (
    Attribution,
    Incident,
    Official,
    Position,
    ReviewStatus,
    TargetType,
)
from tracker.responsibility.chain import assess, tenure, walk
from tracker.responsibility.dossier import BASIS_CHAIN, BASIS_DIRECT, Link
from tracker.responsibility.periods import format_partial
from tracker.workspace.browser import filter_messages, incident_filter, query_without
from tracker.workspace.charts import month_chart
from tracker.workspace.exports import detail_prefix
from tracker.workspace.figures import by_force, by_month, by_status, by_target_type, figures
from tracker.workspace.filters import SORTS
from tracker.workspace.maps import map_config

# Sections beyond this make a page no one prints; the figures still cover everything.
MAX_INCIDENTS = 500
# Without a ``sort`` parameter a report reads in time order, oldest first.
REPORT_SORT = "date"
VIEW_OFFICIAL = "tracker.view_official"


# --- The incidents shown, and the officials linked to them ----------------------------------


def report_incidents(incidents: QuerySet[Incident], limit: int) -> list[Incident]:
    """The first ``limit`` incidents with everything a section shows: five queries. Only
    the attributions and evidence links presented with each incident are loaded
    (``tracker.findings``); supporting items are sorted out by ``supporting``."""
    supporting_items = EvidenceItem.objects.only("id", "code", "status").order_by("code")
    attributions = (
        findings.attributions()
        .select_related("force", "unit", "unit__force", "official")
        .prefetch_related(Prefetch("supporting_evidence", queryset=supporting_items))
        .order_by("id")
    )
    evidence = (
        findings.evidence_links()
        .select_related("item")
        .only(
            "id",
            "incident",
            "relied_on",
            "item__code",
            "item__kind",
            "item__sha256",
            "item__status",
        )
        .order_by("item__code")
    )
    return list(
        incidents.select_related("place", "attack_type", "weapon").prefetch_related(
            Prefetch("target_types", queryset=TargetType.objects.order_by("name")),
            Prefetch("evidence_links", queryset=evidence),
            Prefetch("attributions", queryset=attributions),
        )[:limit]
    )


def supporting(attribution: Attribution, incident: Incident) -> list[EvidenceItem]:
    """The prefetched supporting items of ``attribution`` presented with ``incident``: a
    published incident's attribution is shown with its checked items only."""
    return [
        item
        for item in attribution.supporting_evidence.all()
        if findings.stands(item.status, incident.status)
    ]


@dataclass
class LinkedOfficial:
    official: Official
    links: list[tuple[Incident, Link]] = field(default_factory=list)


def linked_officials(incidents: list[Incident]) -> list[LinkedOfficial]:
    """The officials tied to ``incidents`` the way their dossiers tie them: named by an
    attribution presented with the incident, or in command (on the incident's date) of an
    attributed unit or a unit above it. Rejected incidents are left out, as in the
    dossier. Reads the prefetched attributions of ``report_incidents``; two queries
    whatever their number."""
    live = [i for i in incidents if i.status != ReviewStatus.REJECTED]
    unit_ids = {a.unit_id for i in live for a in i.attributions.all() if a.unit_id}
    above = walk(unit_ids, "up")
    reached = {unit_id for units in above.values() for unit_id in units}
    postings: dict[int, list] = defaultdict(list)
    if reached:
        for position in (
            Position.objects.filter(unit_id__in=reached, is_command=True)
            .select_related("official", "unit")
            .order_by("start", "official__name", "id")
        ):
            postings[position.unit_id].append((position, tenure(position)))

    found: dict[int, LinkedOfficial] = {}
    seen: set[tuple] = set()

    def add(official: Official, incident: Incident, link: Link, key: tuple) -> None:
        if key not in seen:
            seen.add(key)
            found.setdefault(official.pk, LinkedOfficial(official)).links.append((incident, link))

    for incident in live:
        for a in incident.attributions.all():
            items = supporting(a, incident)
            codes = tuple(item.code for item in items)
            states = tuple((item.code, item.status) for item in items)
            if a.official_id:
                link = Link(BASIS_DIRECT, a, codes, evidence_states=states)
                add(a.official, incident, link, ("direct", a.pk))
            if not a.unit_id:
                continue
            for unit_id, depth in sorted(above[a.unit_id].items(), key=lambda item: item[1]):
                for position, held in postings.get(unit_id, ()):
                    verdict = assess(position, incident, held)
                    if verdict is not None:
                        link = Link(
                            BASIS_CHAIN, a, codes, *verdict, position, depth, evidence_states=states
                        )
                        add(
                            position.official, incident, link, (incident.pk, position.pk, a.unit_id)
                        )
    return sorted(found.values(), key=lambda entry: entry.official.name.casefold())


# --- Presentation helpers -------------------------------------------------------------------


def incident_when(incident: Incident) -> str:
    """The start to its precision, and the end when the attack lasted."""
    start = format_partial(incident.occurred_start, incident.start_precision)
    if incident.occurred_end:
        return f"{start} to {format_partial(incident.occurred_end, 'minute')}"
    return start


@dataclass(frozen=True)
class Section:
    incident: Incident
    url: str
    when: str
    latitude: object
    longitude: object
    # (attribution, its supporting items) presented with the incident
    attributions: list[tuple[Attribution, list[EvidenceItem]]]


def section(incident: Incident, pages: str) -> Section:
    """What an incident's section shows beyond its fields; ``pages`` is the incident pages'
    URL prefix."""
    place = incident.place
    latitude = (
        incident.latitude if incident.latitude is not None else getattr(place, "latitude", None)
    )
    longitude = (
        incident.longitude if incident.longitude is not None else getattr(place, "longitude", None)
    )
    return Section(
        incident,
        f"{pages}{incident.code}/",
        incident_when(incident),
        latitude,
        longitude,
        [(a, supporting(a, incident)) for a in incident.attributions.all()],
    )


def geojson_url(query: str) -> str:
    return reverse("incidents:export_geojson") + (f"?{query}" if query else "")


# --- The page -------------------------------------------------------------------------------


@require_safe
@requires_browse
def case_report(request: HttpRequest) -> HttpResponse:
    found = incident_filter(request)
    filter_messages(request, found)
    errors = found.filter_errors()
    # By id: a filter may make the queryset DISTINCT, which aggregates would wrap in a
    # subquery where the correlated EXISTS of ``figures`` cannot reach the incident.
    matching = Incident.objects.filter(pk__in=found.qs.values("pk"))
    sort = found.sort_key if request.GET.get("sort") else REPORT_SORT
    total = figures(matching)
    shown = report_incidents(matching.order_by(*SORTS[sort][1]), MAX_INCIDENTS)
    months = by_month(matching)
    officials = linked_officials(shown)
    pages = detail_prefix()
    can_see_officials = request.user.has_perm(VIEW_OFFICIAL)
    query = query_without(request, "page")
    context = {
        "section": "report",
        "query": query,
        "organization": settings.TRACKER_ORGANIZATION,
        "generated": timezone.localtime(),
        "generated_by": request.user.get_full_name() or request.user.get_username(),
        "active": found.active(),
        "sort_label": SORTS[sort][0],
        "figures": total,
        "tallies": [("Killed", total.killed), ("Injured", total.injured)],
        "statuses": by_status(matching),
        "target_types": by_target_type(matching),
        "forces": by_force(matching),
        "months": months,
        "chart": month_chart(months.counts),
        "sections": [section(incident, pages) for incident in shown],
        "left_out": total.incidents - len(shown),
        "limit": MAX_INCIDENTS,
        "officials": [
            (
                entry,
                reverse("officials:dossier", args=[entry.official.pk]) if can_see_officials else "",
            )
            for entry in officials
        ],
        "can_list_evidence": request.user.has_perm(VIEW_EVIDENCE),
        # The map draws the GeoJSON export of the same filters: every matching incident.
        "map_config": None if errors else map_config(geojson=geojson_url(query)),
        "basis_direct": BASIS_DIRECT,
    }
    return render(request, "tracker/case_report.html", context)
