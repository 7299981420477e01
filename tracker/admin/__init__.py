"""The case in Django's admin: incidents, attributions, vocabularies (``case``),
the attribution form and its commander helper (``attribution``), the review
panel, queue and "My work" (``review``) and the shared admin kit every admin and
inline derives from (``kit``: the visibility policy, lookups, badges). A face: it
calls the services (workflow, responsibility, visibility) and is imported by
nothing but the URLs."""

from django.contrib import admin
from django_tasks_db.models import DBTaskResult

from tracker.admin import (
    case,  # noqa: F401 - registers the case's admins
    jobs,  # noqa: F401 - the jobs page
    tokens,  # noqa: F401 - API tokens
)

# The task backend's own rows carry only "run job N": the jobs page shows the work.
admin.site.unregister(DBTaskResult)
