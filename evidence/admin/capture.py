"""The "Capture a link" page (``/admin/capture/``): links, one a line, each asked for as a
background capture (``evidence.capture.capturing``) by whoever may add evidence; opened
from the evidence list and from an incident's page (``?incident=<code>``). And what an
item's page shows of captures: the capture that made a part, a web archive's screenshot
as its preview, each as far as the viewer may see it."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from evidence.capture import capturing, fetching
from evidence.files.local import printable
from evidence.forms import CaptureForm
from evidence.models import CapturePart, Derivative, EvidenceItem
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


def made_by(viewer, item: EvidenceItem) -> str:
    """Links to the captures that made ``item`` (a screenshot, PDF or media file) that
    ``viewer`` may see."""
    captures = capturing.shown_to(viewer, EvidenceItem.objects.filter(web__parts__item=item))
    links = ((reverse("admin:evidence_evidenceitem_change", args=[c.pk]), c.code) for c in captures)
    return format_html_join(", ", '<a href="{}">{}</a>', links) or "–"


def screenshot_preview(viewer, item: EvidenceItem) -> str:
    """A web archive's preview: its capture's screenshot, if ``viewer`` may open it and
    its thumbnail is made; "" if not."""
    if not hasattr(item, "web"):
        return ""
    shots = capturing.parts_shown(viewer, item.web).filter(role=CapturePart.Role.SCREENSHOT)
    shot = next((part.item for part in shots), None)
    if shot is None or not shot.derivatives.filter(kind=Derivative.Kind.THUMBNAIL).exists():
        return ""
    return format_html(
        '<a href="{}"><img class="evidence-preview" src="{}" alt="{}"></a>'
        '<p class="help">The capture\'s screenshot ({}); the page itself is in the web '
        "archive (WACZ: ReplayWeb.page opens it offline).</p>",
        reverse("admin:evidence_evidenceitem_change", args=[shot.pk]),
        reverse("evidence:thumbnail", args=[shot.code]),
        f"Screenshot {shot.code}",
        shot.code,
    )
