"""The workspace's pages, included at the site's root by ``tracker.project.urls``."""

from django.urls import include, path

from tracker.workspace import (
    browser,
    exports,
    incident_page,
    maps,
    officials,
    reports,
    timeline,
)

# The incident browser and what it exports, all driven by tracker.workspace.filters.
incidents = [
    path("", browser.incident_list, name="list"),
    path("export.csv", exports.incidents_csv, name="export_csv"),
    path("export.geojson", exports.incidents_geojson, name="export_geojson"),
    path("<str:code>/", incident_page.incident_detail, name="detail"),
    path("<str:code>/flights/", incident_page.incident_flights, name="flights"),
]

dossiers = [
    path("", officials.official_search, name="search"),
    path("<int:pk>/", officials.official_dossier, name="dossier"),
    path("<int:pk>/print/", officials.official_dossier_print, name="dossier_print"),
    path("<int:pk>/dossier.csv", officials.official_dossier_csv, name="dossier_csv"),
]

urlpatterns = [
    path("incidents/", include((incidents, "incidents"))),
    path("map/", maps.incident_map, name="map"),
    path("timeline/", timeline.timeline, name="timeline"),
    path("officials/", include((dossiers, "officials"))),
    path("reports/case/", reports.case_report, name="case_report"),
]
