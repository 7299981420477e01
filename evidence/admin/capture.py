"""The "Capture a link" page (``/admin/capture/``): links, one a line, each asked for as a
background capture (``evidence.capture.capturing``) by whoever may add evidence; opened
from the evidence list and from an incident's page (``?incident=<code>``)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from evidence.capture import capturing, fetching
from evidence.files.local import printable
from evidence.forms import CaptureForm
from tracker.access import visible_incidents
from tracker.admin.kit import admin_form

ADD = "evidence.add_evidenceitem"


def capture_page(request):
    if not request.user.has_perm(ADD):
        raise PermissionDenied
    initial = {}
    if code := request.GET.get("incident", "").strip().upper():
        found = visible_incidents(request.user).filter(code=code).first()
        initial = {"incident": found.pk} if found else {}
    form = CaptureForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        incident = form.cleaned_data["incident"]
        for url in form.cleaned_data["urls"]:
            shown = printable(url)[:200]
            try:
                job = capturing.capture_later(url, by=request.user, incident=incident)
            except fetching.Refused as exc:
                messages.error(request, f"Refused {shown}: {exc}")
                continue
            messages.info(request, f"Capture of {job.arguments['url']} asked for: job {job.pk}.")
        return HttpResponseRedirect(reverse("admin:tracker_job_changelist"))
    context = {
        **admin.site.each_context(request),
        "title": "Capture a link",
        "form": form,
        "adminform": admin_form(form),
    }
    return TemplateResponse(request, "admin/evidence/capture.html", context)
