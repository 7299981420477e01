from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from tracker import views
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

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/review/queue/", admin.site.admin_view(review_queue), name="review_queue"),
    path("admin/review/mine/", admin.site.admin_view(my_work), name="my_work"),
    path(
        "admin/tracker/incident/<int:pk>/add-commander/",
        admin.site.admin_view(add_commander),
        name="incident_add_commander",
    ),
    path("admin/", admin.site.urls),
    path("officials/", include((officials, "officials"))),
    path("evidence/", include("evidence.urls")),
]
