"""The review workflow in the admin: buttons, bulk actions, locking (the queue pages are
``tracker.admin.queues``).

Every state change goes through tracker.workflow.transition(), one record at a
time, so each record gets its own ReviewEvent and refusal message.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.functional import SimpleLazyObject

from tracker import locks, workflow
from tracker.models import ReviewStatus
from tracker.workflow import RULES, Action, TransitionError


class CommentForm(forms.Form):
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        required=False,
        help_text="Required to request changes, reject or reopen: say what and why.",
    )


def change_url(record) -> str:
    """The admin page of ``record`` (an incident, an item, an attribution...)."""
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])


def incident_page(object_id: str) -> str:
    """An incident's change page for a key as an admin URL carries it; a key no URL can
    hold (an escaped newline, ``_0A``) names no incident: 404, not a failed reverse."""
    try:
        return reverse("admin:tracker_incident_change", args=[unquote(object_id)])
    except NoReverseMatch:
        raise Http404("No such incident.") from None


class LockCheckedInlineFormSet(BaseInlineFormSet):
    """Puts what ``tracker.locks`` refuses next to the rows, where a model's ``clean()``
    cannot: removing a row (a row ticked for deletion is not validated; its delete would
    meet the lock only at save time) and changing a row's many-to-many values (set after
    the row is saved)."""

    def clean(self) -> None:
        super().clean()
        many = {field.name for field in self.model._meta.many_to_many}
        refused: list[str] = []
        for form in self.initial_forms:
            if form.instance.pk is None:
                continue
            deleting = self.can_delete and self._should_delete_form(form)
            if not deleting and not many & set(form.changed_data):
                continue  # the model's clean() has checked it
            try:
                locks.check(form.instance, deleting=True)
            except locks.Locked as exc:
                if deleting:
                    refused += exc.messages
                else:
                    form.add_error(None, exc)
        if refused:
            raise ValidationError([f"Not removed: {message}" for message in refused])


_LOCK_CHECKED: dict[type, type] = {}


def lock_checked(formset: type[BaseInlineFormSet]) -> type[BaseInlineFormSet]:
    """``formset`` with the checks of ``LockCheckedInlineFormSet`` (for an inline that
    declares a formset of its own)."""
    if issubclass(formset, LockCheckedInlineFormSet):
        return formset
    if formset not in _LOCK_CHECKED:
        name = f"LockChecked{formset.__name__}"
        _LOCK_CHECKED[formset] = type(name, (LockCheckedInlineFormSet, formset), {})
    return _LOCK_CHECKED[formset]


class LockedWithParentInline:
    """Inlines of a record the user may not edit (locked, or someone else's) are read-only;
    in the others, rows that ``tracker.locks`` keeps are refused with a form error."""

    formset = LockCheckedInlineFormSet

    def get_formset(self, request, obj=None, **kwargs):
        kwargs.setdefault("formset", lock_checked(self.formset))
        return super().get_formset(request, obj, **kwargs)

    def _parent_editable(self, request, obj) -> bool:
        return obj is None or workflow.can_edit(obj, request.user)

    def has_add_permission(self, request, obj=None) -> bool:
        return self._parent_editable(request, obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._parent_editable(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._parent_editable(request, obj) and super().has_delete_permission(request, obj)


class LockRefusals:
    """For a ModelAdmin whose writes may meet a rule (``tracker.locks.Refused``) after its
    forms were valid: a delete whose cascade would remove a locked record's link,
    attribution or relation, a save that meets a record locked meanwhile, or one that
    would leave a hidden item named by a record the team sees (``evidence.visibility``).
    The page answers with the rule's message and the record's page, not an error; the
    view's transaction has rolled back whatever it wrote."""

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except locks.Refused as exc:
            return self._lock_refused(request, exc, object_id, "Not deleted")

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except locks.Refused as exc:
            return self._lock_refused(request, exc, object_id, "Not saved")

    def _lock_refused(self, request, exc: locks.Refused, object_id, what: str):
        self.message_user(request, f"{what}: {' '.join(exc.messages)}", messages.ERROR)
        if object_id is None:
            return HttpResponseRedirect(request.get_full_path())
        meta = self.model._meta
        url = reverse(
            f"admin:{meta.app_label}_{meta.model_name}_change", args=[quote(unquote(object_id))]
        )
        return HttpResponseRedirect(url)


class ReviewAdminMixin(LockRefusals):
    """For the ModelAdmin of a model with a ``status`` under review."""

    change_form_template = "admin/tracker/review_change_form.html"

    # --- Locking ------------------------------------------------------------------------

    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or workflow.can_edit(obj, request.user))

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting is for drafts only; anything reviewed stays on record.
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.status == ReviewStatus.DRAFT)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deletion must be one audited record at a time
        return actions

    def has_review_permission(self, request) -> bool:
        return workflow.is_reviewer(request.user, self.model)

    def has_publish_permission(self, request) -> bool:
        return workflow.is_editor(request.user, self.model)

    # --- The review panel on the change page -------------------------------------------------

    def review_panel(self, obj, user) -> str:
        """The record's state, the buttons this user may press, and its review timeline."""
        meta = obj._meta
        review = f"admin:{meta.app_label}_{meta.model_name}_review"
        available, blocked = workflow.actions(obj, user)
        context = {
            "status": obj.status,
            "buttons": [
                (reverse(review, args=[obj.pk, action]), Action(action).label)
                for action in available
            ],
            "more": self.more_review_links(obj, user),
            "blocked": [(Action(action).label, reason) for action, reason in blocked],
            "timeline": sorted(
                [
                    *(
                        {"at": e.at, "event": e, "action": a}
                        for e, a in workflow.review_events(obj)
                    ),
                    *({"at": c.created_at, "comment": c} for c in self.timeline_comments(obj)),
                    *(
                        {"at": a.assigned_at, "assignment": a}
                        for a in self.timeline_assignments(obj)
                    ),
                ],
                key=lambda entry: entry["at"],
            ),
            "history_url": reverse(
                f"admin:{meta.app_label}_{meta.model_name}_history", args=[obj.pk]
            ),
        }
        return render_to_string("admin/tracker/review_panel.html", context)

    def timeline_comments(self, obj) -> list:
        """The team's comments on the record, shown in its review timeline: none here
        (``tracker.admin.discussion.DiscussionMixin`` gives them)."""
        return []

    def timeline_assignments(self, obj) -> list:
        """Who was assigned to the record, by whom and when, shown in its review
        timeline: none here (``DiscussionMixin`` gives them)."""
        return []

    def more_review_links(self, obj, user) -> list[tuple[str, str]]:
        """Other review pages for this record, as (url, label): none by default."""
        return []

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        extras = self.change_page_extras(request, obj) if obj is not None else {}
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), **extras}
        )

    def change_page_extras(self, request, obj) -> dict:
        """What the change page shows beside the form; each rendered when the page is,
        not for a save that redirects."""
        return {"review_panel": SimpleLazyObject(lambda: self.review_panel(obj, request.user))}

    # --- One record: the intermediate page and the transition --------------------------------

    def get_urls(self):
        meta = self.model._meta
        name = f"{meta.app_label}_{meta.model_name}_review"
        return [
            path(
                "<path:object_id>/review/<str:action>/",
                self.admin_site.admin_view(self.review_view),
                name=name,
            ),
            *super().get_urls(),
        ]

    def review_view(self, request: HttpRequest, object_id: str, action: str):
        # Through get_queryset, as every admin page: a restricted incident is not there.
        record = self.get_object(request, unquote(object_id))
        if record is None:
            raise Http404("No such record.")
        if not self.has_view_permission(request, record):
            raise PermissionDenied
        if action not in RULES:
            self.message_user(request, f"Unknown action {action!r}.", messages.ERROR)
            return HttpResponseRedirect(change_url(record))
        form = CommentForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            try:
                workflow.transition(
                    record, action, by=request.user, comment=form.cleaned_data["comment"]
                )
            except TransitionError as exc:
                self.message_user(request, f"Refused: {exc}", messages.ERROR)
                if "comment" in str(exc):
                    return self._confirm(request, [record], action, form)
            else:
                self.message_user(
                    request,
                    f"{workflow.label(record)}: {Action(action).label.lower()} — now "
                    f"{ReviewStatus(record.status).label}.",
                )
            return HttpResponseRedirect(change_url(record))
        return self._confirm(request, [record], action, form)

    def _confirm(self, request, records, action, form, *, bulk=False):
        context = {
            **self.admin_site.each_context(request),
            "title": f"{Action(action).label}: confirm",
            "opts": self.model._meta,
            "records": records,
            "action": action,
            "action_label": Action(action).label,
            "needs_comment": RULES[action].needs_comment,
            "form": form,
            "bulk": bulk,
            "checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/tracker/review_confirm.html", context)

    # --- Bulk actions ---------------------------------------------------------------------

    def _bulk(self, request, queryset, action):
        if "apply" not in request.POST:
            return self._confirm(request, list(queryset), action, CommentForm(), bulk=True)
        form = CommentForm(request.POST)
        form.is_valid()
        comment = form.cleaned_data.get("comment", "")
        done, refused = [], []
        for record in queryset:
            try:
                workflow.transition(record, action, by=request.user, comment=comment)
                done.append(workflow.label(record))
            except TransitionError as exc:
                refused.append(f"{workflow.label(record)}: {exc}")
        if done:
            self.message_user(
                request, f"{Action(action).label} done for {len(done)}: {', '.join(done)}."
            )
        for reason in refused:
            self.message_user(request, f"Refused — {reason}", messages.ERROR)
        return None

    @admin.action(description="Submit selected for review")
    def submit_selected(self, request, queryset):
        return self._bulk(request, queryset, Action.SUBMIT)

    @admin.action(description="Request changes on selected", permissions=["review"])
    def request_changes_selected(self, request, queryset):
        return self._bulk(request, queryset, Action.REQUEST_CHANGES)

    @admin.action(description="Verify selected", permissions=["review"])
    def verify_selected(self, request, queryset):
        return self._bulk(request, queryset, Action.VERIFY)

    @admin.action(description="Reject selected", permissions=["review"])
    def reject_selected(self, request, queryset):
        return self._bulk(request, queryset, Action.REJECT)

    @admin.action(description="Publish selected", permissions=["publish"])
    def publish_selected(self, request, queryset):
        return self._bulk(request, queryset, Action.PUBLISH)

    @admin.action(description="Reopen selected", permissions=["publish"])
    def reopen_selected(self, request, queryset):
        return self._bulk(request, queryset, Action.REOPEN)

    actions = (
        "submit_selected",
        "request_changes_selected",
        "verify_selected",
        "reject_selected",
        "publish_selected",
        "reopen_selected",
    )
