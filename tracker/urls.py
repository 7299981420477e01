from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from tracker.review_admin import my_work, review_queue

admin.site.site_header = "Accountability evidence tracker"
admin.site.site_title = "Evidence tracker"
admin.site.index_title = "Case, evidence and review"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/review/queue/", admin.site.admin_view(review_queue), name="review_queue"),
    path("admin/review/mine/", admin.site.admin_view(my_work), name="my_work"),
    path("admin/", admin.site.urls),
    path("evidence/", include("evidence.urls")),
]
