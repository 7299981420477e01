"""The proposed grade on an incident's admin page (``templates/admin/tracker/grade.html``,
beside the review panel): the grade the evidence supports, its reasons and
contradictions, the independent sources counted, and the reviewer's decision: accept
the proposal, or set another grade with a reason (``evidence.corroboration.decisions``).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBadRequest, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.functional import SimpleLazyObject

from evidence.corroboration import decisions, rules
from evidence.models import GradeProposal
from tracker.admin.review import incident_page
from tracker.models import Incident

G = Incident.HarmGrade


class GradeForm(forms.Form):
    grade = forms.ChoiceField(choices=G.choices)
    reason = forms.CharField(
        required=False,
        max_length=decisions.MOST_REASON,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Needed when the grade is not the one proposed.",
    )
    seen = forms.CharField(max_length=64, widget=forms.HiddenInput)


def shown_proposal(incident: Incident) -> tuple[GradeProposal, bool]:
    """The stored proposal, or one computed now (not kept) if there is none yet."""
    stored = GradeProposal.objects.filter(incident=incident).first()
    if stored is not None:
        return stored, True
    return rules.proposals([incident.pk])[incident.pk].row(incident.pk), False


def grade_context(incident: Incident, user) -> dict:
    proposal, stored = shown_proposal(incident)
    when = {rule.name: rule.when for rule in rules.RULES}
    verdicts = {"contradiction": [], "support": [], "note": []}
    for reason in proposal.reasons:
        verdicts.setdefault(reason.get("verdict", "note"), []).append(reason.get("text", ""))
    refusal = decisions.refusal(incident, user)
    return {
        "incident": incident,
        "proposal": proposal,
        "stored": stored,
        "proposed": decisions.label(proposal.grade) if proposal.grade else "",
        "rule": when.get(proposal.rule, proposal.rule),
        "current": decisions.label(incident.civilian_harm) if incident.civilian_harm else "",
        "differs": bool(proposal.grade) and proposal.grade != incident.civilian_harm,
        "contradictions": verdicts["contradiction"],
        "supports": verdicts["support"],
        "notes": verdicts["note"],
        "refusal": refusal,
        "form": None
        if refusal
        else GradeForm(initial={"grade": proposal.grade or None, "seen": proposal.digest}),
        "url": reverse("admin:tracker_incident_grade", args=[incident.pk]),
    }


class GradeMixin:
    """For the incident's ModelAdmin: the decision's URL, and the box on the change page."""

    def get_urls(self):
        return [
            path(
                "<path:object_id>/grade/",
                self.admin_site.admin_view(self.grade_view),
                name="tracker_incident_grade",
            ),
            *super().get_urls(),
        ]

    def change_page_extras(self, request, obj) -> dict:
        def render() -> str:
            return render_to_string(
                "admin/tracker/grade.html", grade_context(obj, request.user), request
            )

        return {**super().change_page_extras(request, obj), "grade": SimpleLazyObject(render)}

    def grade_view(self, request: HttpRequest, object_id: str):
        change = incident_page(object_id)
        if request.method != "POST":
            return HttpResponseRedirect(change)
        # Through get_queryset, as every admin page: a restricted incident is not there.
        incident = self.get_object(request, unquote(object_id))
        if incident is None:
            raise Http404("No such incident.")
        if not self.has_view_permission(request, incident):
            raise PermissionDenied
        form = GradeForm(request.POST)
        if not form.is_valid():
            problems = "; ".join(
                f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()
            )
            return HttpResponseBadRequest(
                f"The grade was not set: {problems}", content_type="text/plain"
            )
        data = form.cleaned_data
        try:
            event = decisions.decide(
                incident,
                by=request.user,
                grade=data["grade"],
                seen=data["seen"],
                reason=data["reason"],
            )
        except decisions.Refused as exc:
            self.message_user(request, f"Refused: {exc}", messages.ERROR)
        else:
            self.message_user(request, f"{incident.code}: {event.comment}", messages.SUCCESS)
        return HttpResponseRedirect(f"{change}#grade")


class GradeDiffersFilter(admin.SimpleListFilter):
    """The incident list's "grade differs from proposal", as the workspace's filter."""

    title = "grade and proposal"
    parameter_name = "grade_differs"

    def lookups(self, request, model_admin):
        return [("true", "grade differs from proposal")]

    def queryset(self, request, queryset):
        return decisions.differs(queryset) if self.value() == "true" else queryset
