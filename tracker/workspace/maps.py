"""The map of the filtered incidents (issue #6, item 2).

It reads the incidents through ``incident_filter`` (the browser's FilterSet over what
the user may see), so one filtered link shows the same incidents in the browser, on the
map, on the timeline, in the case report and in the exports.

The page is a shell: its counts and legend (``tracker.workspace.legend``) come from two
aggregate queries, and ``map.js`` draws the incidents from the GeoJSON export of the
same query string (one serializer for the map and for QGIS). ``map_config`` gives any
page a map (the incident page, the case report).
"""

from __future__ import annotations

import math

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from tracker.access import requires_browse
from tracker.models import LocationPrecision
from tracker.workspace.browser import (
    OWN_PARAMETERS,
    filter_messages,
    incident_filter,
    page_query,
    query_without,
)
from tracker.workspace.legend import NO_TYPE, counts_by_type, legend_of, target_types

# Radius in metres of the circle drawn for a location known only to this precision.
# "exact" and "100m" are drawn as a marker (a point symbol sized by casualties).
PRECISION_RADIUS_M = {
    LocationPrecision.NEIGHBOURHOOD: 500,
    LocationPrecision.TOWN: 2_000,
    LocationPrecision.DISTRICT: 15_000,
    LocationPrecision.GOVERNORATE: 40_000,
}
# Marker radius in pixels: unknown casualties smallest, then growing with the square
# root of killed (max), so the area, not the radius, follows the count.
MARKER_SIZE = {"unknown": 4, "base": 5, "scale": 2.2, "max": 20}


def marker_radius(killed: int | None) -> float:
    """The marker radius map.js draws for ``killed`` (the same formula, from MARKER_SIZE)."""
    if killed is None:
        return MARKER_SIZE["unknown"]
    size = MARKER_SIZE["base"] + MARKER_SIZE["scale"] * math.sqrt(killed)
    return min(round(size, 1), MARKER_SIZE["max"])


def map_config(
    *, geojson: str | None = None, features: dict | None = None, types: list[dict] | None = None
) -> dict:
    """What ``map.js`` needs to draw incidents: pass it to a template with ``json_script``
    and point an element's ``data-map`` at the script's id. Give the URL of a GeoJSON
    FeatureCollection (``geojson``) or one inline (``features``: Features whose
    properties are ``tracker.workspace.exports.record`` rows)."""
    config = {
        "tiles": settings.TRACKER_MAP_TILE_URL,
        "attribution": settings.TRACKER_MAP_ATTRIBUTION,
        "types": [
            {"name": t["name"], "colour": t["colour"]}
            for t in (types if types is not None else target_types())
        ],
        "noType": NO_TYPE["colour"],
        "radii": dict(PRECISION_RADIUS_M),
        "size": MARKER_SIZE,
    }
    if geojson is not None:
        config["geojson"] = geojson
    if features is not None:
        config["features"] = features
    return config


def size_legend() -> list[dict]:
    """Sample markers for the legend, each in a box just big enough for it."""
    sizes = []
    for label, killed in (("unknown", None), ("1", 1), ("10", 10), ("50", 50)):
        radius = marker_radius(killed)
        box = math.ceil(2 * radius + 4)
        sizes.append({"label": label, "r": radius, "box": box, "c": box / 2})
    return sizes


@require_safe
@requires_browse
def incident_map(request: HttpRequest) -> HttpResponse:
    found = incident_filter(request)
    filter_messages(request, found)
    summary = found.qs.aggregate(
        total=Count("pk"),
        unlocated=Count("pk", filter=Q(latitude__isnull=True, place__isnull=True)),
    )
    types = target_types()
    # The map shows what the page says it shows: values that did not parse are left out
    # of the GeoJSON link as the page leaves them out (the export would refuse them).
    data_query = query_without(request, *OWN_PARAMETERS, *found.form.errors)
    geojson = reverse("incidents:export_geojson") + ("?" + data_query if data_query else "")
    context = {
        "section": "map",
        "active": found.active(),
        "query": page_query(request),
        "total": summary["total"],
        "unlocated": summary["unlocated"],
        "legend": legend_of(types, counts_by_type(found.qs, summary["total"])),
        "sizes": size_legend(),
        "areas": [
            {"label": LocationPrecision(p).label, "metres": m}
            for p, m in PRECISION_RADIUS_M.items()
        ],
        "map_config": map_config(geojson=geojson, types=types),
        "tiles": bool(settings.TRACKER_MAP_TILE_URL),
    }
    return render(request, "tracker/map.html", context)
