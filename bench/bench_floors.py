"""Our pages against their floors (issue 22): the same rows rendered by Django's own
``ModelAdmin`` with the same fields, inlines and widgets and nothing of ours (no review
panel, tray, badges, policy, history), with ``DEBUG`` off and the cached template
loader, in the same run, by the same superuser:

- the incident change page (target: ours <= 1.5x its floor);
- the incident and evidence lists, page 1 of 100 rows (target: <= 1.5x);

each with its query count, ours and the floor's. ``python -m bench.bench_floors``
prints where the change page's time goes (cProfile, the 40 costliest calls), against
the database the environment names (the demo case of ``make run``, say).
"""

from __future__ import annotations

from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from bench.harness import Figure, Report, time_it

DATABASE_BOUND = True
floor_site = admin.AdminSite(name="floor")


def _register_floors() -> None:
    """Django's own admins for the same models, as the first version of a project writes
    them: plain columns, the same fieldsets and inlines, the same autocompletes."""
    from evidence.models import EvidenceItem
    from tracker.admin.attribution import AttributionInline
    from tracker.admin.case import IncidentAdmin, IncidentRelationInline
    from tracker.models import Attribution, Incident, IncidentRelation

    if Incident in floor_site._registry:
        return
    own = {"status_badge", "flight_candidates"}  # our displays: no model field

    class Attributions(admin.StackedInline):
        model = Attribution
        extra = 0
        autocomplete_fields = AttributionInline.autocomplete_fields
        fields = (
            ("force", "unit", "official"),
            ("role", "confidence"),
            "relied_on",
            "basis",
            "supporting_evidence",
        )

    class Relations(admin.TabularInline):
        model = IncidentRelation
        fk_name = IncidentRelationInline.fk_name
        extra = 0
        autocomplete_fields = IncidentRelationInline.autocomplete_fields

    class FloorIncident(admin.ModelAdmin):
        list_display = (
            "code",
            "title",
            "occurred_start",
            "place",
            "killed_min",
            "killed_max",
            "civilian_harm",
            "status",
            "sensitivity",
        )
        list_select_related = ("place",)
        list_per_page = 100
        search_fields = ("code", "title")
        autocomplete_fields = IncidentAdmin.autocomplete_fields
        readonly_fields = ("code", "created_at", "updated_at", "created_by", "updated_by")
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f not in own]})
            for name, options in IncidentAdmin.fieldsets
        ]
        inlines = (Attributions, Relations)

    class FloorItem(admin.ModelAdmin):
        list_display = (
            "code",
            "title",
            "kind",
            "status",
            "media_type",
            "size",
            "created_at",
            "created_by",
            "is_protected",
        )
        list_select_related = ("created_by",)
        list_per_page = 100
        search_fields = ("code", "title")

    floor_site.register(Incident, FloorIncident)
    floor_site.register(EvidenceItem, FloorItem)
    # The autocompletes' targets (Django checks each has an admin with a search).
    for model in (
        "tracker.Place",
        "tracker.AttackType",
        "tracker.Weapon",
        "tracker.TargetType",
        "tracker.Force",
        "tracker.Unit",
        "tracker.Official",
    ):
        from django.apps import apps

        floor_site.register(apps.get_model(model), search_fields=("name",))


def page_pair(client, ours: str, floor: str, runs: int = 5):
    """Time and queries of our page and of its floor, DEBUG off."""

    def get(url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    with override_settings(DEBUG=False):
        get(ours), get(floor)  # warm: templates compiled and cached
        mine = time_it(lambda: get(ours), runs=runs)
        base = time_it(lambda: get(floor), runs=runs)
        counts = []
        for url in (ours, floor):
            with CaptureQueriesContext(connection) as queries:
                get(url)
            counts.append(len(queries))
    return mine, base, counts


def run(report: Report, *, scale: str) -> None:
    from django.conf import settings
    from django.urls import clear_url_caches

    from bench.bench_admin import SIZES
    from bench.harness import superuser_client
    from tracker.models import Incident

    client = superuser_client(scale, SIZES)
    _register_floors()
    settings.ROOT_URLCONF = "bench.bench_admin_urls"
    clear_url_caches()
    incident = (
        Incident.objects.filter(attributions__isnull=False).order_by("pk").first()
        or Incident.objects.order_by("pk").first()
    )
    pages = [
        (
            "incident change page",
            f"/admin/tracker/incident/{incident.pk}/change/",
            f"/floor/tracker/incident/{incident.pk}/change/",
        ),
        ("incident list, 100 rows", "/admin/tracker/incident/", "/floor/tracker/incident/"),
        (
            "evidence list, 100 rows",
            "/admin/evidence/evidenceitem/",
            "/floor/evidence/evidenceitem/",
        ),
    ]
    for name, ours, floor in pages:
        mine, base, (our_queries, floor_queries) = page_pair(client, ours, floor)
        report.add(
            Figure(
                f"floor: {name} ({our_queries} queries; floor {floor_queries})",
                mine.median * 1000,
                "ms",
                baseline=base.median * 1000,
                baseline_name="ms Django's own ModelAdmin",
                target="ratio <= 1.5",
                timing=mine,
            )
        )


if __name__ == "__main__":
    import cProfile
    import os
    import pstats

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.project.settings")
    django.setup()
    from django.contrib.auth.models import User
    from django.test import Client

    from tracker.models import Incident

    visitor = Client(HTTP_HOST="127.0.0.1")
    visitor.force_login(User.objects.filter(is_superuser=True).order_by("pk").first())
    shown = Incident.objects.filter(attributions__isnull=False).order_by("pk").first()
    url = f"/admin/tracker/incident/{shown.pk}/change/"
    with override_settings(DEBUG=False):
        visitor.get(url)
        profile = cProfile.Profile()
        profile.runcall(lambda: [visitor.get(url) for _ in range(5)])
    pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
