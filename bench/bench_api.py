"""The API's incident list at scale (issue 21), through the real views, each figure
against a baseline in the same run:

- page 1 of ``/api/incidents/?page_size=50`` against the workspace's incident browser
  page 1 (the same 50 rows; target <= 1x);
- a deep page (row 99,901 on at full scale: page 1,000 of 100) by its cursor, against
  page 1 (target: about the same) and against DRF's own ``PageNumberPagination`` at
  the same depth (OFFSET; target: ours >= 5x faster).

Not measured yet: an upload of 256 MiB through the API against the ``ingest`` command.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core import signing
from django.test import Client

from bench.bench_admin import SIZES
from bench.harness import Figure, Report, superuser_client, time_it

DATABASE_BOUND = True


def run(report: Report, *, scale: str) -> None:
    from rest_framework.pagination import PageNumberPagination

    from tracker.api import incidents
    from tracker.api.pagination import SALT
    from tracker.models import ApiToken, Incident

    browser = superuser_client(scale, SIZES)  # the generated case, and its superuser
    admin = User.objects.get(username="bench-admin")
    key = ApiToken.issue(admin, name="bench", scopes=["read"])[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(client, url: str) -> bytes:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        return response.content

    first = time_it(lambda: get(api, "/api/incidents/?page_size=50"), runs=5)
    workspace = time_it(lambda: get(browser, "/incidents/"), runs=5)
    report.add(
        Figure(
            "API incidents: page 1 of 50",
            first.median * 1000,
            "ms",
            baseline=workspace.median * 1000,
            baseline_name="ms workspace page 1",
            target="ratio <= 1",
            timing=first,
        )
    )

    size = 100
    total = Incident.objects.count()
    page = max(2, min(1000, total // size))
    order = incidents.API_SORTS["-date"]
    last = Incident.objects.order_by(*order).only("occurred_start")[(page - 1) * size - 1]
    values = [last.occurred_start.isoformat(), last.id]
    cursor = signing.dumps({"order": list(order), "values": values}, salt=SALT)
    top = time_it(lambda: get(api, f"/api/incidents/?page_size={size}"), runs=5)
    deep = time_it(lambda: get(api, f"/api/incidents/?page_size={size}&cursor={cursor}"), runs=5)
    report.add(
        Figure(
            f"API incidents: page {page} of {size} (keyset)",
            deep.median * 1000,
            "ms",
            baseline=top.median * 1000,
            baseline_name=f"ms page 1 of {size}",
            target="ratio about 1",
            timing=deep,
        )
    )

    class Numbered(PageNumberPagination):
        page_size_query_param = "page_size"
        max_page_size = 500

    original = incidents.IncidentViews.pagination_class
    incidents.IncidentViews.pagination_class = Numbered
    try:
        offset = time_it(lambda: get(api, f"/api/incidents/?page_size={size}&page={page}"), runs=3)
    finally:
        incidents.IncidentViews.pagination_class = original
    report.add(
        Figure(
            f"API incidents: page {page} of {size}, DRF PageNumberPagination",
            offset.median * 1000,
            "ms",
            baseline=deep.median * 1000,
            baseline_name="ms ours (keyset)",
            target="ratio >= 5",
            timing=offset,
        )
    )
