"""The jobs page: the background work (``tracker.jobs``) as its people see it.

Everyone with a role sees the jobs they asked for; Editors (``tracker.manage_job``) see
every job the visibility policy lets them know of, and may try a failed one again."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from tracker import jobs
from tracker.admin.kit import ReadOnlyAdmin
from tracker.models import Job

MANAGE = "tracker.manage_job"
# The review states' badge colours, by what they mean: waiting, in hand, good, bad.
BADGES = {
    Job.State.QUEUED: "draft",
    Job.State.RUNNING: "submitted",
    Job.State.DONE: "verified",
    Job.State.FAILED: "rejected",
}


# Not the arguments: a flight log's file name may name the person it protects.
HIDDEN = ("run_token", "arguments")


def visible_jobs(user, queryset):
    """``queryset`` as ``user`` may see it: their own jobs, or every job for Editors."""
    if user.has_perm(MANAGE):
        return queryset
    return queryset.filter(requested_by=user.pk)


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "kind",
        "target",
        "state_shown",
        "attempts_shown",
        "requested_by",
        "created_at",
        "finished_at",
        "outcome",
    )
    list_display_links = ("pk",)
    list_filter = ("state", "kind")
    search_fields = ("=target",)
    list_per_page = 100
    # The count of a large table is read once (Django's count of the filtered rows).
    show_full_result_count = False
    actions = ["try_again"]
    readonly_fields = [field.name for field in Job._meta.fields if field.name not in HIDDEN]
    exclude = HIDDEN

    def get_queryset(self, request):
        return visible_jobs(request.user, super().get_queryset(request)).select_related(
            "requested_by"
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm(MANAGE):
            actions.pop("try_again", None)
        return actions

    @admin.display(description="state", ordering="state")
    def state_shown(self, job: Job) -> str:
        badge = BADGES[Job.State(job.state)]
        return format_html(
            '<span class="status-badge status-{}">{}</span>', badge, job.get_state_display()
        )

    @admin.display(description="attempts")
    def attempts_shown(self, job: Job) -> str:
        return f"{job.attempts} of {job.max_attempts}"

    @admin.display(description="what happened")
    def outcome(self, job: Job) -> str:
        if job.state == Job.State.RUNNING and job.total_count:
            return f"{job.done_count} of {job.total_count} done"
        if job.state == Job.State.QUEUED and job.error:
            when = timezone.localtime(job.run_after).strftime("%H:%M") if job.run_after else ""
            return f"{job.error} (tried again {'at ' + when if when else 'soon'})"
        return job.error if job.state == Job.State.FAILED else job.message

    @admin.action(description="Try the selected failed jobs again", permissions=["manage"])
    def try_again(self, request, queryset) -> None:
        again = [job for job in queryset if jobs.retry(job)]
        if again:
            self.message_user(request, f"{len(again)} job(s) queued again.", messages.SUCCESS)
        skipped = queryset.count() - len(again)
        if skipped:
            self.message_user(
                request,
                f"{skipped} job(s) not queued again: only failed jobs are, and only when the "
                "same work is not already queued.",
                messages.WARNING,
            )

    def has_manage_permission(self, request) -> bool:
        return request.user.has_perm(MANAGE)
