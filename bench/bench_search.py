"""Incident text search at scale (issue: scale, item 3): full-text search
(tracker/workspace/search.py: a tsvector column with a GIN index on PostgreSQL, FTS5 on SQLite)
against the LIKE search the admin used before, measured in the same run on the same data.

First the admin page without a search (rendering 50 rows and the filters: the floor
under every search page), then for each text two figures:
- the admin changelist page with ``?q=`` through the real admin view (target: a median
  under 100 ms at 100,000 incidents), against the same page with Django's LIKE search
  over code, title and narrative;
- the search's own queries, as the admin issues them (the matching count and page 1's
  50 keys), against the same two queries with LIKE.

The texts range from words in most incidents (the generator draws titles and
narratives from 22 words) to a place in a tenth of them, one code and a word found
nowhere. With so few distinct words, PostgreSQL's statistics rate a prefix missing from
them at 2% of the rows, so a LIMIT query for one walks the date index (see README).
"""

from __future__ import annotations

from unittest import mock

from django.db import connection
from django.db.models import Q

from bench.harness import Figure, Report, ready_for_queries, superuser_client, time_it

DATABASE_BOUND = True
TEXTS = [
    ("common words", "hospital school"),
    ("prefixes", "hosp idlib"),
    ("a place", "khan sheikhoun"),
    ("a code", "INC-0042"),
    ("no match", "zanzibar"),
]


def _like(queryset, text: str):
    """Django's admin search before full text: every word in any field, LIKE '%word%'."""
    for word in text.split():
        queryset = queryset.filter(
            Q(code__icontains=word) | Q(title__icontains=word) | Q(narrative__icontains=word)
        )
    return queryset


def _page_queries(search, text: str) -> tuple[int, list[int]]:
    """What the admin asks of a search: how many match, and page 1's keys."""
    from tracker.models import Incident

    found = search(Incident.objects.all(), text)
    return found.count(), list(found.order_by("-occurred_start", "-id").values_list("pk")[:50])


def _ready_for_queries() -> None:
    """Planner statistics, and on PostgreSQL the GIN index's pending list merged, as
    autovacuum leaves a live database a minute after a bulk load."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM tracker_incident")
    ready_for_queries()


def run(report: Report, *, scale: str) -> None:
    from django.contrib import admin
    from django.urls import reverse

    from bench.bench_admin import SIZES
    from tracker.admin.case import IncidentAdmin
    from tracker.models import Incident
    from tracker.workspace.search import search_incidents

    client = superuser_client(scale, SIZES, "bench-search")
    _ready_for_queries()
    total = Incident.objects.count()
    url = reverse("admin:tracker_incident_changelist")

    def page(text: str) -> None:
        response = client.get(url, {"q": text})
        assert response.status_code == 200, response.status_code

    plain = time_it(lambda: page(""), runs=7)
    report.add(  # what any page of 50 incidents costs before searching: the floor
        Figure("search: the admin page without a search", plain.median * 1000, "ms", timing=plain)
    )
    like_admin = mock.patch.object(
        IncidentAdmin, "get_search_results", admin.ModelAdmin.get_search_results
    )
    for label, text in TEXTS:
        matches = search_incidents(Incident.objects.all(), text).count()
        like_matches = _like(Incident.objects.all(), text).count()  # substrings: INC-00420 too
        ours = time_it(lambda t=text: page(t), runs=7)
        with like_admin:
            before = time_it(lambda t=text: page(t), runs=5)
        report.add(
            Figure(
                f'search "{text}" ({label}: {matches:,} of {total:,}, LIKE {like_matches:,}): '
                "admin page",
                ours.median * 1000,
                "ms",
                baseline=before.median * 1000,
                baseline_name="ms LIKE search",
                target="< 100 ms",
                timing=ours,
            )
        )
        queries = time_it(lambda t=text: _page_queries(search_incidents, t), runs=7)
        like = time_it(lambda t=text: _page_queries(_like, t), runs=5)
        report.add(
            Figure(
                f'search "{text}": count + page 1 keys',
                queries.median * 1000,
                "ms",
                baseline=like.median * 1000,
                baseline_name="ms LIKE",
                timing=queries,
            )
        )
