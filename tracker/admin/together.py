"""An incident's review with the parts it relies on (``tracker.parts``), in the admin.

- Submitting an incident shows what it relies on that is still a draft, and submits it
  with them when the author agrees (one transaction).
- "Review with its evidence": a reviewer judges the incident and its submitted evidence
  and attributions on one page, each record with its own choice and comment. Nothing is
  applied while any choice is invalid; then each goes through ``workflow.transition``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse

from evidence import access
from evidence.models import CustodyEvent, Derivative, EvidenceItem
from tracker import parts, workflow
from tracker.admin.grade import grade_context
from tracker.admin.review import CommentForm, change_url
from tracker.models import Incident, ReviewStatus
from tracker.workflow import RULES, Action, TransitionError


class SubmitForm(CommentForm):
    with_parts = forms.BooleanField(
        required=False,
        initial=True,
        label="Submit them with it",
        help_text="Each is submitted as if you had submitted it on its own page.",
    )


def _key(record) -> str:
    return "incident" if isinstance(record, Incident) else f"{record._meta.model_name}-{record.pk}"


class ReviewTogetherForm(forms.Form):
    """One choice and one comment per record on the page, offered only the actions the
    reviewer may take on it now (an action outside them is an invalid choice)."""

    def __init__(self, *args, rows, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            key = row["key"]
            self.fields[f"action-{key}"] = forms.ChoiceField(
                choices=[("", "Leave as it is"), *((a, Action(a).label) for a in row["actions"])],
                required=False,
                widget=forms.RadioSelect,
                label=f"Decision on {row['label']}",
            )
            self.fields[f"comment-{key}"] = forms.CharField(
                required=False,
                widget=forms.Textarea(attrs={"rows": 2, "cols": 50}),
                label=f"Comment on {row['label']}",
            )
            row["action_field"] = f"action-{key}"
            row["comment_field"] = f"comment-{key}"

    def clean(self):
        data = super().clean()
        for row in self.rows:
            action = data.get(row["action_field"])
            comment = data.get(row["comment_field"], "")
            if action and RULES[action].needs_comment and not comment.strip():
                self.add_error(
                    row["comment_field"],
                    f"'{Action(action).label.lower()}' needs a comment saying why.",
                )
        return data

    def decisions(self) -> list[parts.Decision]:
        return [
            parts.Decision(
                row["record"],
                self.cleaned_data[row["action_field"]],
                self.cleaned_data[row["comment_field"]],
            )
            for row in self.rows
            if self.cleaned_data.get(row["action_field"])
        ]


def _item_details(items: list[EvidenceItem]) -> dict[int, dict]:
    """For each item: has it a thumbnail, how many custody events, its place. Two
    queries whatever the number of items."""
    ids = [item.pk for item in items]
    rows = EvidenceItem.objects.filter(pk__in=ids).annotate(
        has_thumbnail=Exists(
            Derivative.objects.filter(item=OuterRef("pk"), kind=Derivative.Kind.THUMBNAIL)
        ),
    )
    custody = dict(
        CustodyEvent.objects.filter(item_id__in=ids)
        .values("item_id")
        .annotate(n=Count("pk"))
        .values_list("item_id", "n")
    )
    return {
        row.pk: {"has_thumbnail": row.has_thumbnail, "custody_events": custody.get(row.pk, 0)}
        for row in rows
    }


class ReviewTogetherMixin:
    """For the incident's ModelAdmin (before ``ReviewAdminMixin``)."""

    def get_urls(self):
        return [
            path(
                "<path:object_id>/review-together/",
                self.admin_site.admin_view(self.review_together_view),
                name="tracker_incident_review_together",
            ),
            *super().get_urls(),
        ]

    def more_review_links(self, obj, user) -> list[tuple[str, str]]:
        if workflow.is_reviewer(user, obj) and (
            obj.status == ReviewStatus.SUBMITTED or parts.under_review(obj, user)
        ):
            url = reverse("admin:tracker_incident_review_together", args=[obj.pk])
            return [(url, "Review with its evidence")]
        return []

    def _incident(self, request, object_id) -> Incident:
        # Through get_queryset, as every admin page: a restricted incident is not there.
        incident = self.get_object(request, unquote(object_id))
        if incident is None:
            raise Http404("No such record.")
        if not self.has_view_permission(request, incident):
            raise PermissionDenied
        return incident

    # --- Submitting with the drafts it relies on ------------------------------------------

    def review_view(self, request: HttpRequest, object_id: str, action: str):
        if action != Action.SUBMIT:
            return super().review_view(request, object_id, action)
        incident = self._incident(request, object_id)
        drafts = parts.unsubmitted(incident)
        if not drafts:
            return super().review_view(request, object_id, action)
        form = SubmitForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            self._submit(request, incident, form.cleaned_data)
            return HttpResponseRedirect(change_url(incident))
        rows = [
            {
                "record": part,
                "label": workflow.label(part),
                "url": change_url(part),
                "may_submit": workflow.refusal(part, Action.SUBMIT, request.user) is None,
            }
            for part in drafts
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Submit {incident.code} for review",
            "opts": Incident._meta,
            "incident": incident,
            "rows": rows,
            "form": form,
        }
        return TemplateResponse(request, "admin/tracker/submit_together.html", context)

    def _submit(self, request, incident: Incident, data) -> None:
        comment = data["comment"]
        try:
            if data["with_parts"]:
                done = parts.submit_together(incident, by=request.user, comment=comment)
            else:
                done = []
                workflow.transition(incident, Action.SUBMIT, by=request.user, comment=comment)
        except TransitionError as exc:
            self.message_user(request, f"Refused: {exc}", messages.ERROR)
            return
        said = f"{incident.code}: submitted for review"
        if done:
            said += f", with {len(done)} of the records it relies on: {', '.join(done)}"
        self.message_user(request, said + ".")
        if left := parts.unsubmitted(incident):
            self.message_user(
                request,
                f"{incident.code} relies on records not yet submitted: "
                f"{', '.join(workflow.label(p) for p in left)}. It cannot be verified "
                "until they are submitted and verified.",
                messages.WARNING,
            )

    # --- One pass of review ---------------------------------------------------------------

    def review_together_view(self, request: HttpRequest, object_id: str):
        incident = self._incident(request, object_id)
        user = request.user
        rows = []
        under_review = parts.under_review(incident, user)
        details = _item_details([p for p in under_review if isinstance(p, EvidenceItem)])
        for part in under_review:
            row = {"record": part, "key": _key(part), "label": workflow.label(part)}
            row["actions"] = parts.part_actions(part, user)
            row["blocked"] = workflow.refusal(part, Action.VERIFY, user, comment="(comment)")
            row["url"] = change_url(part)
            if isinstance(part, EvidenceItem):
                row.update(details.get(part.pk, {}))
                row["may_open"] = access.can_view_item(user, part)
                if row["may_open"] and row.get("has_thumbnail"):
                    row["thumbnail"] = reverse("evidence:thumbnail", args=[part.code])
            rows.append(row)
        if incident.status == ReviewStatus.SUBMITTED and workflow.is_reviewer(user, incident):
            row = {"record": incident, "key": "incident", "label": incident.code}
            row["actions"] = parts.incident_actions(incident, user)
            row["blocked"] = workflow.refusal(incident, Action.VERIFY, user, comment="(comment)")
            row["url"] = change_url(incident)
            rows.append(row)
        form = ReviewTogetherForm(request.POST if request.method == "POST" else None, rows=rows)
        if form.is_bound and form.is_valid():
            done, refused = parts.review_together(form.decisions(), by=user)
            if done:
                self.message_user(request, "Done: " + "; ".join(done) + ".")
            for reason in refused:
                self.message_user(request, f"Refused — {reason}", messages.ERROR)
            if not done and not refused:
                self.message_user(request, "Nothing was chosen: nothing changed.", messages.INFO)
            return HttpResponseRedirect(change_url(incident))
        for row in rows:
            row["action_bound"] = form[row["action_field"]]
            row["comment_bound"] = form[row["comment_field"]]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Review {incident.code} with its evidence",
            "opts": Incident._meta,
            "incident": incident,
            "rows": rows,
            "form": form,
            # The proposed grade and the decision, as on the incident's page.
            "grade": render_to_string(
                "admin/tracker/grade.html", grade_context(incident, user), request
            ),
        }
        return TemplateResponse(request, "admin/tracker/review_together.html", context)
