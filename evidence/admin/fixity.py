"""The Fixity page (``/admin/fixity/``, Editors: ``tracker.manage_job``): the scheduled
pass (``evidence.files.fixity_runs``) as its state, the last fixity job, and the recent
failures, each item named by its code and linked to its page. A fixed number of
queries however many items there are (counts and aggregates on indexes)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from evidence.files import fixity_runs
from evidence.models import FixityCheck
from tracker import jobs
from tracker.models import Job

MANAGE = jobs.MANAGE  # the Editors' right over background work
FAILURES = 100  # recent failures shown


def fixity_page(request):
    if not request.user.has_perm(MANAGE):
        raise PermissionDenied
    failures = (
        FixityCheck.objects.exclude(result__in=FixityCheck.SOUND)
        .select_related("item")
        .only("checked_at", "result", "problems", "latest", "item__code")
        .order_by("-checked_at", "-pk")[:FAILURES]
    )
    context = {
        **admin.site.each_context(request),
        "title": "Fixity",
        "state": fixity_runs.state(),
        "last_job": Job.objects.filter(kind=Job.Kind.FIXITY).order_by("-created_at").first(),
        "failures": list(failures),
        "limit": FAILURES,
    }
    return TemplateResponse(request, "admin/evidence/fixity.html", context)
