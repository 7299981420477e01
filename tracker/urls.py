from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Accountability evidence tracker"
admin.site.site_title = "Evidence tracker"
admin.site.index_title = "Case, evidence and review"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("evidence/", include("evidence.urls")),
]
