"""The incident's admin page with its evidence tray (issue 17), against the page it
replaced, on the same incident in the same run: the change page with the evidence
links as an inline (one form row and autocomplete widget per item) and the review
panel, as it was before the tray.

Figures: server time of the change page (rendered, superuser, ``DEBUG`` as the run
has it) at 50 and 500 linked items, ours / before, and the query count of each.
Target: ours within 1.3x of before at 50 items. The tray shows 48 cards a page
(thumbnails lazy-loaded by the browser), so 500 items cost what 50 do.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.harness import Figure, Report, time_it

DATABASE_BOUND = True
SIZES = (50, 500)

before_site = admin.AdminSite(name="before")


def _register_before() -> None:
    from evidence.models import EvidenceLink
    from tracker.admin import kit
    from tracker.admin.attribution import AttributionInline
    from tracker.admin.case import IncidentAdmin, IncidentRelationInline
    from tracker.admin.review import LockedWithParentInline, ReviewAdminMixin
    from tracker.models import Incident

    if Incident in before_site._registry:
        return

    class EvidenceLinkInline(LockedWithParentInline, kit.TabularInline):
        """The inline the tray replaced, as it was."""

        model = EvidenceLink
        fk_name = "incident"
        extra = 0
        autocomplete_fields = ("item",)
        fields = ("item", "relevance", "relied_on")

        def get_queryset(self, request):
            return super().get_queryset(request).select_related("item", "incident")

    class IncidentBefore(IncidentAdmin):
        inlines = (EvidenceLinkInline, AttributionInline, IncidentRelationInline)
        change_form_template = "admin/tracker/review_change_form.html"

        def change_page_extras(self, request, obj) -> dict:
            return ReviewAdminMixin.change_page_extras(self, request, obj)  # no tray

    before_site.register(Incident, IncidentBefore)


def _incident_with(n: int):
    """An incident with ``n`` linked photos, each with a thumbnail row."""
    from evidence.models import Derivative, EvidenceItem, EvidenceLink
    from tracker.models import Incident

    incident = Incident.objects.create(
        title=f"Bench strike with {n} items",
        occurred_start=datetime(2019, 5, 13, 6, 50, tzinfo=UTC),
    )
    start = EvidenceItem.objects.count()
    items = EvidenceItem.objects.bulk_create(
        EvidenceItem(code=f"EV-P{start + i:07d}", kind="photo", title=f"Photo {i}")
        for i in range(n)
    )
    EvidenceLink.objects.bulk_create(EvidenceLink(item=i, incident=incident) for i in items)
    Derivative.objects.bulk_create(
        Derivative(item=i, kind="thumbnail", path="x.jpg", sha256="0" * 64, width=1, height=1)
        for i in items
    )
    return incident


def run(report: Report, *, scale: str) -> None:
    import contextlib

    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import clear_url_caches

    with contextlib.suppress(RuntimeError):  # another benchmark set it up already
        setup_test_environment()  # lets the test client in (ALLOWED_HOSTS)
    _register_before()
    settings.ROOT_URLCONF = "bench.bench_admin_urls"
    clear_url_caches()
    user, _ = User.objects.get_or_create(username="bench-page", defaults={"is_staff": True})
    user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)

    def get(url):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    for n in SIZES:
        incident = _incident_with(n)
        ours = f"/admin/tracker/incident/{incident.pk}/change/"
        before = f"/before/tracker/incident/{incident.pk}/change/"
        mine = time_it(lambda u=ours: get(u), runs=5)
        then = time_it(lambda u=before: get(u), runs=5)
        counts = []
        for url in (ours, before):
            with CaptureQueriesContext(connection) as queries:
                get(url)
            counts.append(len(queries))
        report.add(
            Figure(
                f"incident change page with its tray, {n} items",
                mine.median * 1000,
                "ms",
                baseline=then.median * 1000,
                baseline_name="ms the page before the tray (links inline)",
                target="ratio <= 1.3" if n == 50 else "",
                timing=mine,
            )
        )
        print(f"  queries: ours {counts[0]}, before {counts[1]}")
