from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from tracker import adminkit, exports, incident_page, maps, otp, reports, views, workspace
from tracker.attribution_admin import add_commander
from tracker.review_admin import my_work, review_queue

admin.site.site_header = "Accountability evidence tracker"
admin.site.site_title = "Evidence tracker"
admin.site.index_title = "Case, evidence and review"

officials = [
    path("", views.official_search, name="search"),
    path("<int:pk>/", views.official_dossier, name="dossier"),
    path("<int:pk>/print/", views.official_dossier_print, name="dossier_print"),
    path("<int:pk>/dossier.csv", views.official_dossier_csv, name="dossier_csv"),
]

# The workspace: pages for the team outside the admin, all driven by tracker.filters.
incidents = [
    path("", workspace.incident_list, name="list"),
    path("export.csv", exports.incidents_csv, name="export_csv"),
    path("export.geojson", exports.incidents_geojson, name="export_geojson"),
    path("<str:code>/", incident_page.incident_detail, name="detail"),
]

# Refused requests (too many files or fields, a foreign Host) get a readable page.
handler400 = "tracker.security.bad_request"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="incidents:list", permanent=False)),
    path("admin/review/queue/", admin.site.admin_view(review_queue), name="review_queue"),
    path("admin/review/mine/", admin.site.admin_view(my_work), name="my_work"),
    path(
        "admin/tracker/incident/<int:pk>/add-commander/",
        admin.site.admin_view(add_commander),
        name="incident_add_commander",
    ),
    # The second factor after the password (tracker.otp), before the admin's catch-all.
    path("admin/otp/setup/", admin.site.admin_view(otp.setup), name=otp.SETUP),
    path("admin/otp/verify/", admin.site.admin_view(otp.verify), name=otp.VERIFY),
    # Before the admin's own "view on site" redirect, which would confirm any id exists.
    path(
        "admin/r/<int:content_type_id>/<path:object_id>/",
        admin.site.admin_view(adminkit.view_on_site),
        name="admin_view_on_site",
    ),
    path("admin/", admin.site.urls),
    path("incidents/", include((incidents, "incidents"))),
    path("map/", maps.incident_map, name="map"),
    path("timeline/", maps.timeline, name="timeline"),
    path("officials/", include((officials, "officials"))),
    path("reports/case/", reports.case_report, name="case_report"),
    path("evidence/", include("evidence.urls")),
]
