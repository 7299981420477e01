"""The workspace at scale (issue: workspace): the incident browser's first page and a deep
page with and without filters, the GeoJSON export of 10,000 incidents and the case report
for 50 incidents, through the real views, each against a baseline in the same run:

- naive browser: the same page the way a first Django view is written: OFFSET paging,
  the place, target types and evidence count fetched per row, a full COUNT;
- tuned OFFSET: our view's queries (joins, prefetch, counts by subquery) with plain
  OFFSET paging instead of the deferred join: the best alternative tuning;
- naive export: the same GeoJSON built from a queryset without joins or prefetching;
- naive report: the report's incidents with their evidence and attributions per row.

Targets: page 1 within 1.3x of the tuned variant and >= 3x faster than naive; a deep page
no more than 2x page 1.
"""

from __future__ import annotations

import json

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.bench_admin import SIZES
from bench.harness import Figure, Report, superuser_client, time_it

DATABASE_BOUND = True
PER_PAGE = 50


def _naive_page(params: dict, page: int) -> str:
    """A first-draft list page: OFFSET paging and a query per row for its details."""
    from django.core.paginator import Paginator
    from django.template import engines

    from tracker.models import Incident

    qs = Incident.objects.order_by("-occurred_start", "-id")
    if params.get("civilian_harm"):
        qs = qs.filter(civilian_harm=params["civilian_harm"])
    rows = Paginator(qs, PER_PAGE).page(page)
    template = engines["django"].from_string(
        "{% for i in rows %}<tr><td>{{ i.code }}</td><td>{{ i.place.name }}</td>"
        "<td>{% for t in i.target_types.all %}{{ t.name }}{% endfor %}</td>"
        "<td>{{ i.evidence_links.count }}</td><td>{{ i.title }}</td></tr>{% endfor %}"
        "{{ count }}"
    )
    return template.render({"rows": rows, "count": rows.paginator.count})


def _naive_geojson(query: str) -> str:
    """The same file built the obvious way: model instances, a query per related list."""
    from tracker.models import Incident

    rows = []
    cutoff = query.split("=", 1)[1]
    for i in Incident.objects.filter(occurred_start__date__gte=cutoff).order_by("-occurred_start"):
        place = i.place
        longitude = i.longitude if i.longitude is not None else getattr(place, "longitude", None)
        latitude = i.latitude if i.latitude is not None else getattr(place, "latitude", None)
        geometry = None  # as in the real export: a feature without a location
        if longitude is not None and latitude is not None:
            geometry = {"type": "Point", "coordinates": [float(longitude), float(latitude)]}
        rows.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "code": i.code,
                    "title": i.title,
                    "date": i.occurred_start.isoformat(),
                    "place": place.name if place else None,
                    "target_types": "; ".join(t.name for t in i.target_types.all()),
                    "attributed_to": "; ".join(str(a) for a in i.attributions.all()),
                    "evidence_items": i.evidence_links.count(),
                    "killed_max": i.killed_max,
                },
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": rows})


def _naive_report(codes: list[str]) -> int:
    from tracker.models import Incident

    size = 0
    for incident in Incident.objects.filter(code__in=codes).order_by("occurred_start"):
        for link in incident.evidence_links.all():
            size += len(link.item.code) + len(link.item.sha256)
        for attribution in incident.attributions.all():
            size += len(str(attribution.force or attribution.unit or attribution.official))
        size += len(str(incident.place)) + sum(1 for _ in incident.target_types.all())
    return size


def run(report: Report, *, scale: str) -> None:
    from tracker.models import Incident

    client = superuser_client(scale, SIZES)

    def get(url: str):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        if response.streaming:
            return b"".join(response.streaming_content)
        return response.content

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            get(url)
        return len(captured)

    total = Incident.objects.count()
    deep = max(2, min(1000, total // PER_PAGE))
    for label, params in (("no filter", {}), ("filtered", {"civilian_harm": "confirmed"})):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        url = f"/incidents/?{query}"
        first = time_it(lambda u=url: get(u), runs=5)
        naive = time_it(lambda p=params: _naive_page(p, 1), runs=3)
        report.add(
            Figure(
                f"browser {label}: page 1",
                first.median * 1000,
                "ms",
                baseline=naive.median * 1000,
                baseline_name="ms naive view",
                target="ratio <= 0.33",
                timing=first,
            )
        )
        print(f"  queries: {queries(url)}")
        pages = max(2, min(deep, Incident.objects.filter(**params).count() // PER_PAGE))
        deep_url = f"{url}&page={pages}"
        deep_time = time_it(lambda u=deep_url: get(u), runs=3)
        report.add(
            Figure(
                f"browser {label}: page {pages}",
                deep_time.median * 1000,
                "ms",
                baseline=first.median * 1000,
                baseline_name="ms page 1",
                target="ratio <= 2",
                timing=deep_time,
            )
        )
        print(f"  queries: {queries(deep_url)}")
        tuned = _tuned_offset(client, url, pages)
        report.add(
            Figure(
                f"browser {label}: page {pages}, tuned OFFSET paging",
                tuned.median * 1000,
                "ms",
                baseline=deep_time.median * 1000,
                baseline_name="ms ours",
                target="ours <= 1.3x tuned",
                timing=tuned,
            )
        )

    # The newest 10,000 incidents, chosen by a date filter as a researcher would.
    limit = min(10_000, total)
    cutoff = (
        Incident.objects.order_by("-occurred_start")
        .values_list("occurred_start", flat=True)[limit - 1]
        .date()
    )
    chosen = Incident.objects.filter(occurred_start__date__gte=cutoff).count()
    export_url = f"/incidents/export.geojson?occurred_after={cutoff}"
    export = time_it(lambda: get(export_url), runs=3)
    naive_export = time_it(lambda: _naive_geojson(f"occurred_after={cutoff}"), runs=1, warmup=0)
    report.add(
        Figure(
            f"GeoJSON export of {chosen} incidents (streamed)",
            export.median * 1000,
            "ms",
            baseline=naive_export.median * 1000,
            baseline_name="ms naive build",
            timing=export,
        )
    )
    print(f"  queries: {queries(export_url)}")
    _report_figures(report, get, queries)


def _tuned_offset(client: Client, url: str, page: int):
    """Our view with a plain OFFSET paginator instead of the deferred join."""
    from django.core.paginator import Paginator

    from tracker.workspace import browser

    original = browser.DeferredJoinPaginator
    browser.DeferredJoinPaginator = Paginator
    try:
        return time_it(lambda: client.get(f"{url}&page={page}"), runs=3)
    finally:
        browser.DeferredJoinPaginator = original


def _report_figures(report: Report, get, queries) -> None:
    from django.urls import NoReverseMatch, reverse

    from tracker.models import Incident

    try:
        base = reverse("case_report")
    except NoReverseMatch:
        print("case report: not built yet")
        return
    fifty = list(
        Incident.objects.filter(civilian_harm="confirmed")
        .order_by("occurred_start")
        .values_list("occurred_start", flat=True)[:50]
    )
    after, before = fifty[0].date(), fifty[-1].date()
    url = f"{base}?civilian_harm=confirmed&occurred_after={after}&occurred_before={before}"
    codes = list(
        Incident.objects.filter(
            civilian_harm="confirmed",
            occurred_start__date__gte=after,
            occurred_start__date__lte=before,
        ).values_list("code", flat=True)
    )
    ours = time_it(lambda: get(url), runs=3)
    naive = time_it(lambda: _naive_report(codes), runs=3)
    report.add(
        Figure(
            f"case report, {len(codes)} incidents",
            ours.median * 1000,
            "ms",
            baseline=naive.median * 1000,
            baseline_name="ms naive per-row queries (no rendering)",
            timing=ours,
        )
    )
    print(f"  queries: {queries(url)}")
