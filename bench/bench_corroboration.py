"""Corroboration (the proposed grade, issue 24), on the generated case (10,000 incidents
and 100,000 items at quick scale; 100,000 and 1,000,000 at full):

- proposals for every incident (``rules.store_all``: read in batches of 500, stored
  with one upsert a batch), total time against reading the same relied-on links alone;
- queries for a batch of 50 and of 500 incidents: the same number (constant in the
  batch, so per incident it falls as the batch grows);
- the admin incident page's extra cost: the grade box rendered (its stored proposal
  read, the reviewer's refusal asked), target < 10 ms, against the page's review panel.
"""

from __future__ import annotations

import time

from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext

from bench.bench_admin import SIZES
from bench.harness import Figure, Report, superuser_client, time_it

DATABASE_BOUND = True


def run(report: Report, *, scale: str) -> None:
    from django.contrib.auth.models import User
    from django.template.loader import render_to_string

    from evidence.corroboration import rules
    from evidence.models import EvidenceLink, GradeProposal
    from tracker.admin.case import IncidentAdmin
    from tracker.admin.grade import grade_context
    from tracker.models import Incident

    superuser_client(scale, SIZES)
    total = Incident.objects.count()
    start = time.perf_counter()
    rules.store_all()
    took = time.perf_counter() - start
    links = time_it(
        lambda: sum(1 for _ in EvidenceLink.objects.filter(relied_on=True).values_list(
            "incident_id", "item__kind", "item__status", "item__captured_at").iterator(10_000)),
        runs=1, warmup=0,
    )  # fmt: skip
    report.add(
        Figure(
            f"corroboration: proposals for all {total:,} incidents (stored)",
            took, "s", baseline=links.median, baseline_name="s reading their relied-on links alone",
        )
    )  # fmt: skip
    assert GradeProposal.objects.count() == total
    ids = list(Incident.objects.order_by("pk").values_list("pk", flat=True)[:500])
    counts = {}
    for size in (50, 500):
        reset_queries()  # a full query log (DEBUG) would count nothing
        with CaptureQueriesContext(connection) as queries:
            rules.proposals(ids[:size])
        counts[size] = len(queries)
    report.add(
        Figure(
            "corroboration: queries for 500 incidents' proposals",
            counts[500], "n", baseline=counts[50], baseline_name="for 50 (constant)",
        )
    )  # fmt: skip
    report.add(
        Figure(
            "corroboration: queries per incident in a batch of 500",
            counts[500] / 500, "n",
        )
    )  # fmt: skip

    user = User.objects.get(username="bench-admin")
    reviewer, _ = User.objects.get_or_create(username="bench-grade", defaults={"is_staff": True})
    incident = Incident.objects.get(pk=ids[len(ids) // 2])
    box = time_it(
        lambda: render_to_string("admin/tracker/grade.html", grade_context(incident, reviewer)),
        runs=50,
    )
    admin_site_admin = IncidentAdmin(Incident, None)
    panel = time_it(lambda: admin_site_admin.review_panel(incident, user), runs=50)
    report.add(
        Figure(
            "corroboration: admin incident page's grade box (extra cost)",
            box.median * 1000, "ms", baseline=panel.median * 1000,
            baseline_name="ms the review panel beside it", target="< 10 ms", timing=box,
        )
    )  # fmt: skip
