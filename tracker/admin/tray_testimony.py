"""A testimony added to an incident from its tray, in one form (``evidence.forms.
NewTestimonyForm``, stored by ``evidence.testimony.record``): the transcript, the witness
and the consent together, instead of an upload, a witness pop-up and a testimony form.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from evidence import intake, testimony
from evidence.forms import NewTestimonyForm
from tracker.models import Incident

SECTIONS = (
    ("Transcript", ("transcript", "is_protected")),
    ("Witness", ("witness", "pseudonym", "role", "real_name", "contact")),
    ("Interview", ("interview_date", "method", "language", "interviewer", "summary")),
    ("Consent", ("consent_given", "consent_quote", "consent_name", "consent_share_courts")),
)


class TrayTestimonyMixin:
    """For the incident's ModelAdmin, beside ``tracker.admin.tray.TrayMixin``."""

    PERMS = ("evidence.add_evidenceitem", "evidence.add_testimony")

    def get_urls(self):
        return [
            path(
                "<path:object_id>/tray/testimony/",
                self.admin_site.admin_view(self.tray_testimony),
                name="tracker_incident_tray_testimony",
            ),
            *super().get_urls(),
        ]

    def tray_testimony(self, request: HttpRequest, object_id: str):
        incident: Incident = self._tray_incident(request, object_id, self.PERMS[0])
        if not request.user.has_perm(self.PERMS[1]):
            raise PermissionDenied
        post = request.method == "POST"
        form = NewTestimonyForm(
            request.POST if post else None, request.FILES if post else None, user=request.user
        )
        if post and form.is_valid():
            try:
                with form.source() as (transcript, name):
                    item = testimony.record(
                        transcript,
                        filename=name,
                        by=request.user,
                        incident=incident,
                        witness=form.cleaned_data["witness"],
                        new_witness=form.new_witness(),
                        interview=form.interview(),
                        is_protected=form.cleaned_data["is_protected"],
                    )
            except intake.IntakeError as exc:  # the file itself: not kept to be sent again
                form.release()
                form.add_error("transcript", str(exc))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                form.release()
                self.message_user(
                    request, f"Testimony stored as {item.code} and linked to {incident.code}."
                )
                url = reverse("admin:tracker_incident_change", args=[incident.pk])
                return HttpResponseRedirect(f"{url}#tray")
        if post:
            if "transcript" not in form.errors or form.kept is not None:
                form.keep_file()  # shown again with the file: it need not be chosen again
            self.message_user(request, "Nothing was stored: see below.", messages.ERROR)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Add a testimony to {incident.code}",
            "opts": Incident._meta,
            "incident": incident,
            "form": form,
            "sections": [(title, [form[name] for name in names]) for title, names in SECTIONS],
        }
        return TemplateResponse(request, "admin/tracker/tray_testimony.html", context)
