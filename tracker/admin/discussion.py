"""The discussion under a record's page in the admin (incidents, evidence items): its
assignees and its comment thread, each change its own small form outside the record's
form, through ``tracker.discussion``."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.functional import SimpleLazyObject

from tracker import discussion
from tracker.admin.kit import primary_key
from tracker.admin.review import change_url
from tracker.models import Comment


class AssignedToMeFilter(admin.SimpleListFilter):
    title = "assigned"
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("me", "Assigned to me")]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(discussion.assigned_to(request.user, queryset.model))
        return queryset


class DiscussionMixin:
    """For a ModelAdmin whose change page extends ``review_change_form.html``."""

    def get_urls(self):
        meta = self.model._meta
        return [
            path(
                "<path:object_id>/discussion/",
                self.admin_site.admin_view(self.discussion_view),
                name=f"{meta.app_label}_{meta.model_name}_discussion",
            ),
            *super().get_urls(),
        ]

    def timeline_comments(self, obj) -> list:
        return list(discussion.thread(obj))

    def timeline_assignments(self, obj) -> list:
        return list(discussion.assignments(obj))

    def change_page_extras(self, request, obj) -> dict:
        def render() -> str:
            meta = obj._meta
            people = discussion.assignees(obj)
            context = {
                "record": obj,
                "comments": discussion.thread(obj),
                "assignees": people,
                "team": [u for u in discussion.team_for(obj) if u not in people],
                "may_assign": self.has_change_permission(request) or request.user.is_superuser,
                "url": reverse(
                    f"admin:{meta.app_label}_{meta.model_name}_discussion", args=[obj.pk]
                ),
                "max_length": Comment.MAX_LENGTH,
            }
            return render_to_string("admin/tracker/discussion.html", context, request)

        return {**super().change_page_extras(request, obj), "discussion": SimpleLazyObject(render)}

    def discussion_view(self, request: HttpRequest, object_id: str):
        record = self.get_object(request, unquote(object_id))
        if record is None:  # not there, or hidden: the same answer
            raise Http404("No such record.")
        if request.method != "POST" or not self.has_view_permission(request, record):
            raise PermissionDenied
        action = request.POST.get("action", "")
        try:
            if action == "comment":
                discussion.comment(record, by=request.user, body=request.POST.get("body", ""))
                said = "Comment added."
            elif action in ("assign", "unassign"):
                if not (self.has_change_permission(request) or request.user.is_superuser):
                    raise PermissionDenied
                change = discussion.assign if action == "assign" else discussion.unassign
                change(record, primary_key(request.POST.get("user")), by=request.user)
                said = "Assigned." if action == "assign" else "No longer assigned."
            else:
                raise ValidationError(f"Unknown action {action[:40]!r}.")
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, said)
        return HttpResponseRedirect(change_url(record) + "#discussion")
