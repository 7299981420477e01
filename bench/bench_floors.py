"""Our pages against their floors (issue 22): the same rows rendered by Django's own
``ModelAdmin`` with the same fields, inlines and widgets and nothing of ours (no review
panel, tray, badges, policy, history), with ``DEBUG`` off and the cached template
loader, in the same run, by the same superuser:

- the incident change page (target: ours <= 1.5x its floor);
- every admin list of the case and its evidence, page 1 (target: <= 1.5x): the floor
  shows as many columns, our columns that are the model's own fields and then its
  other plain fields, as many rows a page;
- the workspace's incident list (page 1, 50 rows) and an incident's page, against a
  plain view and a plain template showing the same rows and columns (no layout, filter
  form, map, sort links or policy): how far above the floor our page is, and its server
  time (target: <= 15 ms at quick scale);

each with its query count, ours and the floor's. ``python -m bench.bench_floors``
prints where the change page's time goes (cProfile, the 40 costliest calls), against
the database the environment names (the demo case of ``make run``, say).
"""

from __future__ import annotations

import statistics
import time

from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from bench.harness import Figure, Report, Timing, server_client

DATABASE_BOUND = True
floor_site = admin.AdminSite(name="floor")


def _register_floors() -> None:
    """Django's own admins for the same models, as the first version of a project writes
    them: plain columns, the same fieldsets and inlines, the same autocompletes."""
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

    class FloorIncident(plain_list(Incident, admin.site._registry[Incident])):
        autocomplete_fields = IncidentAdmin.autocomplete_fields
        readonly_fields = ("code", "created_at", "updated_at", "created_by", "updated_by")
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f not in own]})
            for name, options in IncidentAdmin.fieldsets
        ]
        inlines = (Attributions, Relations)

    floor_site.register(Incident, FloorIncident)
    for model, ours in admin.site._registry.items():
        if model._meta.app_label in ("tracker", "evidence") and model not in floor_site._registry:
            floor_site.register(model, plain_list(model, ours))


def plain_list(model, ours) -> type[admin.ModelAdmin]:
    """A plain list of ``model`` as wide as ``ours``: our columns that are its own
    fields, then its other plain fields; no method, badge or count of ours."""
    own = {f.name: f for f in model._meta.concrete_fields}
    shown = [name for name in ours.list_display if name in own]
    shown += [
        name
        for name, f in own.items()
        if name not in shown and not f.is_relation and f.name != "id"
    ]
    width = max(len(ours.list_display), 1)
    related = [name for name in shown[:width] if own[name].is_relation]
    options = {
        "list_display": shown[:width] or ["__str__"],
        "list_select_related": related,
        "list_per_page": ours.list_per_page,
        "search_fields": ours.search_fields,
    }
    return type(f"Floor{model.__name__}", (admin.ModelAdmin,), options)


LIST_TEMPLATE = """<table>{% for i in incidents %}<tr><td><a href="/incidents/{{ i.code }}/">
{{ i.code }}</a></td><td>{{ i.title }}</td><td>{{ i.occurred_start|date:"Y-m-d" }}</td>
<td>{{ i.place.name }}</td><td>{% for t in i.target_types.all %}{{ t.name }} {% endfor %}</td>
<td>{{ i.killed_min }}-{{ i.killed_max }}</td><td>{{ i.get_civilian_harm_display }}</td>
<td>{{ i.get_status_display }}</td><td>{{ i.evidence_count }}</td></tr>{% endfor %}</table>"""
PAGE_TEMPLATE = """<h1>{{ i.code }} {{ i.title }}</h1><p>{{ i.narrative|linebreaks }}</p>
<p>{{ i.occurred_start }} {{ i.place.name }} {{ i.attack_type.name }} {{ i.weapon.name }}</p>
<ul>{% for link in i.evidence_links.all %}<li>{{ link.item.code }} {{ link.item.title }}
{{ link.relevance }}</li>{% endfor %}</ul>
<ul>{% for a in i.attributions.all %}<li>{{ a.force.name }} {{ a.unit.name }}
{{ a.official.name }} {{ a.get_role_display }} {{ a.basis }}</li>{% endfor %}</ul>"""


def floor_list(request):
    """The workspace's first page of incidents as a first Django view shows them."""
    from django.http import HttpResponse
    from django.template import engines

    from evidence.models import EvidenceLink
    from tracker.admin.kit import count_of
    from tracker.models import Incident

    rows = (
        Incident.objects.select_related("place")
        .prefetch_related("target_types")
        .annotate(evidence_count=count_of(EvidenceLink.objects, "incident"))
        .order_by("-occurred_start", "-id")[:50]
    )
    page = engines["django"].from_string(LIST_TEMPLATE)
    return HttpResponse(page.render({"incidents": rows}, request))


def floor_page(request, code: str):
    """An incident's page as a first Django view shows it: its fields, links, actors."""
    from django.http import HttpResponse
    from django.shortcuts import get_object_or_404
    from django.template import engines

    from tracker.models import Incident

    found = Incident.objects.select_related("place", "attack_type", "weapon").prefetch_related(
        "evidence_links__item",
        "attributions__force",
        "attributions__unit",
        "attributions__official",
    )
    incident = get_object_or_404(found, code=code)
    page = engines["django"].from_string(PAGE_TEMPLATE)
    return HttpResponse(page.render({"i": incident}, request))


def page_pair(client, ours: str, floor: str, runs: int = 5):
    """Time and queries of our page and of its floor, DEBUG off, asked as a server is
    (``server_client``), one after the other in turn: a shared machine's slow moments
    fall on both alike."""
    client = server_client(client)

    def get(url: str) -> float:
        started = time.perf_counter()
        response = client.get(url)
        took = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        return took

    with override_settings(DEBUG=False):
        get(ours), get(floor)  # warm: templates compiled and cached
        samples: tuple[list[float], list[float]] = ([], [])
        for _ in range(runs):
            samples[0].append(get(ours))
            samples[1].append(get(floor))
        mine, base = (Timing(statistics.median(s), min(s), max(s), runs) for s in samples)
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
        )
    ]
    pages += [
        ("workspace incident list, 50 rows", "/incidents/", "/floor-pages/incidents/"),
        (
            "workspace incident page",
            f"/incidents/{incident.code}/",
            f"/floor-pages/incidents/{incident.code}/",
        ),
    ]
    for model in sorted(floor_site._registry, key=lambda m: m._meta.label):
        meta = model._meta
        where = f"{meta.app_label}/{meta.model_name}/"
        pages.append((f"list of {meta.verbose_name_plural}", f"/admin/{where}", f"/floor/{where}"))
    for name, ours, floor in pages:
        mine, base, (our_queries, floor_queries) = page_pair(client, ours, floor, runs=9)
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
