"""URLs for the admin benchmarks: the project's URLs plus the naive admin baseline and
the incident page as it was before its tray, and the floors (Django's own admins)."""

from django.urls import path

from bench.bench_admin import naive_site
from bench.bench_floors import floor_list, floor_page, floor_site
from bench.bench_incident_page import before_site
from tracker.project.urls import urlpatterns as project_urls

urlpatterns = [
    path("naive/", naive_site.urls),
    path("before/", before_site.urls),
    path("floor/", floor_site.urls),
    path("floor-pages/incidents/", floor_list),
    path("floor-pages/incidents/<str:code>/", floor_page),
    *project_urls,
]
