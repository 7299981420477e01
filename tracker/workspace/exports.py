"""Exports of the filtered incidents: CSV for spreadsheets, GeoJSON for QGIS and the map.

Both take exactly the browser's filters (``incident_filter``), hold only incidents the
user may see and only the public columns below (no sensitivity detail, no witness, no
person who entered the record). A verified or published incident's row names and counts
only verified or published attributions and items (``tracker.findings``), so an export
filtered to those states holds nothing still in review. Both stream in chunks: 100,000
incidents are written without holding them in memory. A filter value that does not parse
makes the export refuse (400) rather than silently export more than was asked for.

GeoJSON follows RFC 7946: WGS84 longitude-latitude, properties flat (strings, numbers,
null), one Feature per incident with a location; ``geometry`` is null for incidents
without coordinates so that the file holds the same incidents as the CSV.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from tracker import findings
from tracker.access import requires_browse
from tracker.admin.kit import count_of
from tracker.models import Incident, LocationPrecision
from tracker.workspace.browser import incident_filter
from tracker.workspace.filters import IncidentFilter

CHUNK = 2000
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection),
# also after leading blanks, which some spreadsheets drop when they import.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
BLANKS = " \t\r\n\u00a0"

# (column, meaning): the documented properties of both exports, in order.
COLUMNS = (
    ("code", "incident code, e.g. INC-0042"),
    ("title", "short title"),
    ("date", "start, ISO 8601 in the case's time zone"),
    ("date_precision", "minute, hour, day, month or year"),
    ("end", "end, ISO 8601, empty if not recorded"),
    ("place", "place name from the gazetteer"),
    ("district", "district of the place"),
    ("governorate", "governorate of the place"),
    ("latitude", "WGS84 degrees (the incident's, else its place's)"),
    ("longitude", "WGS84 degrees"),
    ("location_precision", "exact, 100m, neighbourhood, town, district or governorate"),
    ("attack_type", "attack type"),
    ("weapon", "weapon, if identified"),
    ("target_types", "target types, separated by '; '"),
    ("killed_min", "lowest credible count of people killed"),
    ("killed_max", "highest credible count of people killed"),
    ("injured_min", "lowest credible count of people injured"),
    ("injured_max", "highest credible count of people injured"),
    ("children_killed", "children among the killed"),
    ("women_killed", "women among the killed"),
    ("civilian_harm", "civilian-harm grade"),
    ("status", "review status"),
    (
        "attributed_to",
        "forces, units and officials of attributions not rejected, '; ' (of a verified or "
        "published incident: of verified or published attributions only)",
    ),
    (
        "evidence_items",
        "number of evidence items linked and not rejected (of a verified or published "
        "incident: verified or published items only)",
    ),
    ("url", "the incident's page in the tracker"),
)
NUMERIC = {
    "latitude",
    "longitude",
    "killed_min",
    "killed_max",
    "injured_min",
    "injured_max",
    "children_killed",
    "women_killed",
    "evidence_items",
}


def neutralise(value: object) -> str:
    """A cell a spreadsheet shows as text: a leading ``= + - @`` (or tab, CR, LF), also
    after blanks, gets a quote."""
    text = "" if value is None else str(value)
    starts = text.startswith(FORMULA_START) or text.lstrip(BLANKS).startswith(FORMULA_START)
    return "'" + text if starts else text


FINER_THAN_TOWN = {
    LocationPrecision.EXACT,
    LocationPrecision.WITHIN_100M,
    LocationPrecision.NEIGHBOURHOOD,
}

# The columns an export reads: plain values, not model instances (3x cheaper per row).
FIELDS = (
    "pk",
    "code",
    "title",
    "occurred_start",
    "start_precision",
    "occurred_end",
    "place__name",
    "place__district",
    "place__governorate",
    "place__latitude",
    "place__longitude",
    "latitude",
    "longitude",
    "location_precision",
    "attack_type__name",
    "weapon__name",
    "killed_min",
    "killed_max",
    "injured_min",
    "injured_max",
    "children_killed",
    "women_killed",
    "civilian_harm",
    "status",
    "evidence_count",
)


def export_rows(found: IncidentFilter) -> QuerySet:
    """The filtered incidents as dicts of ``FIELDS``, in the page's order."""
    return (
        found.ordered()
        .annotate(evidence_count=count_of(findings.evidence_links(), "incident"))
        .values(*FIELDS)
    )


def details(ids: list[int]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Target type names and attributed parties of these incidents, in two queries. The
    parties are those of the attributions presented with each incident (``tracker.findings``).

    Looked up per chunk by id rather than with prefetch_related, whose per-object
    bookkeeping costs more than the rows themselves at export sizes."""
    targets: dict[int, list[str]] = defaultdict(list)
    through = Incident.target_types.through.objects.filter(incident_id__in=ids)
    for incident_id, name in through.order_by("targettype__name").values_list(
        "incident_id", "targettype__name"
    ):
        targets[incident_id].append(name)
    parties: dict[int, list[str]] = defaultdict(list)
    standing = findings.attributions().filter(incident_id__in=ids)
    for incident_id, *names in standing.order_by("id").values_list(
        "incident_id", "force__name", "unit__name", "official__name"
    ):
        for name in names:
            if name and name not in parties[incident_id]:
                parties[incident_id].append(name)
    return targets, parties


def local_iso(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


def record(row: dict, targets: list[str], parties: list[str], pages: str) -> dict[str, object]:
    """One incident (a dict of ``FIELDS``) as a flat dict of the documented columns, None
    for unknown; ``pages`` is the incident pages' URL prefix."""
    latitude, longitude = row["latitude"], row["longitude"]
    precision = row["location_precision"]
    if latitude is None:  # located by its place: no finer than the town
        latitude, longitude = row["place__latitude"], row["place__longitude"]
        if precision in FINER_THAN_TOWN:
            precision = LocationPrecision.TOWN
    return {
        "code": row["code"],
        "title": row["title"],
        "date": local_iso(row["occurred_start"]),
        "date_precision": row["start_precision"],
        "end": local_iso(row["occurred_end"]),
        "place": row["place__name"],
        "district": row["place__district"] or None,
        "governorate": row["place__governorate"],
        "latitude": float(latitude) if latitude is not None else None,
        "longitude": float(longitude) if longitude is not None else None,
        "location_precision": precision,
        "attack_type": row["attack_type__name"],
        "weapon": row["weapon__name"],
        "target_types": "; ".join(targets) or None,
        "killed_min": row["killed_min"],
        "killed_max": row["killed_max"],
        "injured_min": row["injured_min"],
        "injured_max": row["injured_max"],
        "children_killed": row["children_killed"],
        "women_killed": row["women_killed"],
        "civilian_harm": row["civilian_harm"] or None,
        "status": row["status"],
        "attributed_to": "; ".join(parties) or None,
        "evidence_items": row["evidence_count"],
        "url": f"{pages}{row['code']}/",
    }


def detail_prefix() -> str:
    """The incident pages' common URL prefix (one reverse() per export, not per row)."""
    return reverse("incidents:detail", args=["X"])[:-2]


def records(found: IncidentFilter) -> Iterator[dict[str, object]]:
    rows = export_rows(found).iterator(chunk_size=CHUNK)
    pages = detail_prefix()
    while chunk := list(islice(rows, CHUNK)):
        targets, parties = details([row["pk"] for row in chunk])
        for row in chunk:
            yield record(row, targets[row["pk"]], parties[row["pk"]], pages)


class _Line:
    """A file-like object whose write() returns what was written (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[dict[str, object]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    # The BOM makes spreadsheet programs read the file as UTF-8 (Arabic, Cyrillic).
    yield "\ufeff" + writer.writerow([name for name, _ in COLUMNS])
    for row in rows:
        yield writer.writerow(
            [
                row[name] if name in NUMERIC and row[name] is not None else neutralise(row[name])
                for name, _ in COLUMNS
            ]
        )


def geojson_chunks(rows: Iterable[dict[str, object]]) -> Iterator[str]:
    yield '{"type":"FeatureCollection","features":['
    separator = ""
    for row in rows:
        geometry = None
        if row["latitude"] is not None and row["longitude"] is not None:
            geometry = {"type": "Point", "coordinates": [row["longitude"], row["latitude"]]}
        feature = {"type": "Feature", "id": row["code"], "geometry": geometry, "properties": row}
        yield separator + json.dumps(feature, ensure_ascii=False, separators=(",", ":"))
        separator = ",\n"
    yield "]}\n"


def refused(found: IncidentFilter) -> HttpResponse | None:
    errors = found.filter_errors()
    if not errors:
        return None
    text = "Export refused: these filter values did not parse.\n" + "\n".join(errors) + "\n"
    return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


def streamed(chunks: Iterator[str], content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse((c.encode("utf-8") for c in chunks), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")


@require_safe
@requires_browse
def incidents_csv(request: HttpRequest) -> HttpResponse:
    found = incident_filter(request)
    return refused(found) or streamed(
        csv_lines(records(found)), "text/csv; charset=utf-8", f"incidents-{stamp()}.csv"
    )


@require_safe
@requires_browse
def incidents_geojson(request: HttpRequest) -> HttpResponse:
    found = incident_filter(request)
    return refused(found) or streamed(
        geojson_chunks(records(found)), "application/geo+json", f"incidents-{stamp()}.geojson"
    )
