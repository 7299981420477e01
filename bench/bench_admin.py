"""Admin changelists at scale (issue: scale): the real admin views, page 1 and a
deep page, with a filter and a search, against two baselines in the same run:

- naive: the same list with a per-row related count, no select_related and the
  full result count (what a first admin usually looks like);
- the page's own queries alone (the filtered count and the page's rows with
  their counts by correlated subquery), without rendering: the database's share.

Targets: page 1 >= 3x faster than naive; a deep page no more than 2x page 1;
query counts constant (pinned in the test suite).
"""

from __future__ import annotations

from django.contrib import admin
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from bench.harness import Figure, Report, superuser_client, time_it

DATABASE_BOUND = True
SIZES = {
    "quick": {"incidents": 10_000, "evidence": 100_000, "observations": 100_000, "officials": 500},
    "full": {
        "incidents": 100_000,
        "evidence": 1_000_000,
        "observations": 1_000_000,
        "officials": 5000,
    },
}

naive_site = admin.AdminSite(name="naive")


def _naive_admins():
    from evidence.models import CustodyEvent, EvidenceItem, FlightObservation
    from tracker.models import Incident, Official

    class NaiveIncident(admin.ModelAdmin):
        list_display = ("code", "title", "occurred_start", "place", "n_evidence", "status")
        list_filter = ("status", "civilian_harm")
        search_fields = ("code", "title", "narrative")

        @admin.display(description="evidence")
        def n_evidence(self, obj):
            return obj.evidence_links.count()  # a query per row

    class NaiveItem(admin.ModelAdmin):
        list_display = ("code", "title", "kind", "status", "n_incidents")
        list_filter = ("kind", "status")
        search_fields = ("code", "title")

        @admin.display(description="incidents")
        def n_incidents(self, obj):
            return obj.links.count()

    naive_site.register(Incident, NaiveIncident)
    naive_site.register(EvidenceItem, NaiveItem)
    naive_site.register(FlightObservation, list_display=("observed_at", "station", "log"))
    naive_site.register(Official, list_display=("name",), search_fields=("name",))
    naive_site.register(CustodyEvent, list_display=("at", "item", "action", "actor"))


def _tuned_incidents(params):
    """The page's own queries, no rendering: the floor for the incident list."""
    from evidence.models import EvidenceLink
    from tracker.admin.kit import count_of
    from tracker.models import Incident

    qs = Incident.objects.all()
    if params.get("status__exact"):
        qs = qs.filter(status=params["status__exact"])
    if params.get("q"):
        qs = qs.filter(title__icontains=params["q"])
    total = qs.count()
    page = int(params.get("p", 1))
    rows = list(
        qs.select_related("place")
        .annotate(n=count_of(EvidenceLink.objects, "incident"))
        .order_by("-occurred_start", "-id")[(page - 1) * 50 : page * 50]
    )
    return total, rows


def _policy(report: Report, as_superuser, lists) -> None:
    """The visibility policy's cost (evidence.visibility): page 1 of each list as a
    researcher, who sees no restricted incident and nothing standing only behind one,
    against the same page as a superuser (no filtering), with 1% of incidents restricted."""
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from tracker.models import Incident, Sensitivity

    restricted = list(Incident.objects.order_by("pk").values_list("pk", flat=True)[::100])
    Incident.objects.filter(pk__in=restricted).update(sensitivity=Sensitivity.RESTRICTED)
    try:
        user, _ = User.objects.get_or_create(username="bench-researcher", is_staff=True)
        user.groups.add(Group.objects.get(name="Researcher"))
        client = Client()
        client.force_login(user)

        def as_researcher(url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        for name, ours, _naive in lists:
            if name == "officials":
                continue  # not governed by the policy
            mine = time_it(lambda u=ours: as_researcher(u), runs=5)
            everything = time_it(lambda u=ours: as_superuser(u), runs=5)
            report.add(
                Figure(
                    f"admin {name}: page 1 as a researcher ({len(restricted)} restricted)",
                    mine.median * 1000,
                    "ms",
                    baseline=everything.median * 1000,
                    baseline_name="ms as superuser (unfiltered)",
                    timing=mine,
                )
            )
    finally:
        Incident.objects.filter(pk__in=restricted).update(sensitivity=Sensitivity.NORMAL)


def run(report: Report, *, scale: str) -> None:
    from django.conf import settings

    from tracker.models import Incident

    client = superuser_client(scale, SIZES)
    _naive_admins()
    settings.ROOT_URLCONF = "bench.bench_admin_urls"
    from django.urls import clear_url_caches

    clear_url_caches()

    def get(url):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    lists = [
        ("incidents", "/admin/tracker/incident/", "/naive/tracker/incident/"),
        ("evidence items", "/admin/evidence/evidenceitem/", "/naive/evidence/evidenceitem/"),
        (
            "flight observations",
            "/admin/evidence/flightobservation/",
            "/naive/evidence/flightobservation/",
        ),
        ("officials", "/admin/tracker/official/", "/naive/tracker/official/"),
        ("custody events", "/admin/evidence/custodyevent/", "/naive/evidence/custodyevent/"),
    ]
    for name, ours, naive in lists:
        total = naive_site._registry[
            next(m for m in naive_site._registry if m._meta.model_name in naive)
        ].model.objects.count()
        deep = max(2, min(500, total // 50))  # ?p= counts pages from 1
        first = time_it(lambda u=ours: get(u), runs=5)
        slow = time_it(lambda u=naive: get(u), runs=3)
        with CaptureQueriesContext(connection) as queries:
            get(ours)
        report.add(
            Figure(
                f"admin {name}: page 1",
                first.median * 1000,
                "ms",
                baseline=slow.median * 1000,
                baseline_name="ms naive admin",
                target="ratio <= 0.33",
                timing=first,
            )
        )
        print(f"  queries: {len(queries)}")
        deep_page = time_it(lambda u=ours, d=deep: get(f"{u}?p={d}"), runs=3)
        report.add(
            Figure(
                f"admin {name}: page {deep}",
                deep_page.median * 1000,
                "ms",
                baseline=first.median * 1000,
                baseline_name="ms page 1",
                target="ratio <= 2",
                timing=deep_page,
            )
        )
        if name == "incidents":
            floor = time_it(lambda: _tuned_incidents({}), runs=5)
            report.add(
                Figure(
                    "admin incidents: page 1 vs its queries alone",
                    first.median * 1000,
                    "ms",
                    baseline=floor.median * 1000,
                    baseline_name="ms database share",
                    timing=first,
                )
            )
            for label, query in (
                ("filtered", "?status__exact=submitted"),
                ("search", "?q=hospital+school"),
            ):
                t = time_it(lambda q=query, u=ours: get(u + q), runs=3)
                report.add(
                    Figure(
                        f"admin incidents: {label}",
                        t.median * 1000,
                        "ms",
                        baseline=first.median * 1000,
                        baseline_name="ms page 1",
                        timing=t,
                    )
                )
    _policy(report, get, lists)
    # The trap the issue measured: grouping every row before paging.
    grouped = time_it(
        lambda: list(
            Incident.objects.annotate(n=Count("evidence_links")).order_by("-occurred_start")[:50]
        ),
        runs=3,
    )
    floor = time_it(lambda: _tuned_incidents({}), runs=3)
    report.add(
        Figure(
            "incidents: annotate(Count()) page",
            grouped.median * 1000,
            "ms",
            baseline=floor.median * 1000,
            baseline_name="ms subquery page",
            timing=grouped,
        )
    )
