from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from evidence.admin.capture import capture_page
from evidence.admin.fixity import fixity_page
from tracker.accounts import otp
from tracker.admin import kit
from tracker.admin.attribution import add_commander
from tracker.admin.queues import my_work, ready_to_publish, review_queue

admin.site.site_header = "Accountability evidence tracker"
admin.site.site_title = "Evidence tracker"
admin.site.index_title = "Case, evidence and review"

# Refused requests (too many files or fields, a foreign Host) get a readable page.
handler400 = "tracker.accounts.security.bad_request"
# Under /api/ every error is a problem (JSON), never an HTML page.
handler404 = "tracker.accounts.security.not_found"
handler500 = "tracker.accounts.security.server_error"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="incidents:list", permanent=False)),
    path("admin/review/queue/", admin.site.admin_view(review_queue), name="review_queue"),
    path("admin/review/mine/", admin.site.admin_view(my_work), name="my_work"),
    path("admin/review/ready/", admin.site.admin_view(ready_to_publish), name="ready_to_publish"),
    path("admin/fixity/", admin.site.admin_view(fixity_page), name="fixity"),
    path("admin/capture/", admin.site.admin_view(capture_page), name="capture"),
    path(
        "admin/tracker/incident/<int:pk>/add-commander/",
        admin.site.admin_view(add_commander),
        name="incident_add_commander",
    ),
    # The second factor after the password (tracker.accounts.otp), before the admin's
    # catch-all.
    path("admin/otp/setup/", admin.site.admin_view(otp.setup), name=otp.SETUP),
    path("admin/otp/verify/", admin.site.admin_view(otp.verify), name=otp.VERIFY),
    # Before the admin's own "view on site" redirect, which would confirm any id exists.
    path(
        "admin/r/<int:content_type_id>/<path:object_id>/",
        admin.site.admin_view(kit.view_on_site),
        name="admin_view_on_site",
    ),
    path("admin/", admin.site.urls),
    path("api/", include("tracker.api.urls")),
    path("", include("tracker.workspace.urls")),
    path("evidence/", include("evidence.urls")),
]
