"""The jobs page: the background work (``tracker.jobs``) as its people see it.

Everyone with a role sees the jobs they asked for; Editors (``tracker.manage_job``) see
every job the visibility policy lets them know of, and may try a failed one again. A
court bundle is downloaded from here by the one person who asked for it (nobody else,
Editors included), until it expires (``evidence.jobs.bundle_file``)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpRequest
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from evidence import jobs as evidence_jobs
from evidence import views as evidence_views
from tracker import jobs
from tracker.admin.kit import ReadOnlyAdmin, primary_key
from tracker.display import time_with_zone
from tracker.models import Job

MANAGE = jobs.MANAGE
# The review states' badge colours, by what they mean: waiting, in hand, good, bad.
BADGES = {
    Job.State.QUEUED: "draft",
    Job.State.RUNNING: "submitted",
    Job.State.DONE: "verified",
    Job.State.FAILED: "rejected",
}


# Not the arguments: a flight log's file name may name the person it protects.
HIDDEN = ("run_token", "arguments")


def download_link(job: Job, viewer) -> str:
    """A link to download ``job``'s file, for the one who asked for it while it is kept."""
    if not evidence_jobs.download_offered(job, viewer):
        return ""
    until = timezone.localtime(job.expires_at).strftime("%Y-%m-%d %H:%M")
    return format_html(
        '<a class="button" href="{}">Download</a> ({} bytes, until {})',
        reverse("admin:tracker_job_output", args=[job.pk]),
        f"{job.output_size:,}",
        until,
    )


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "kind",
        "target",
        "state_shown",
        "attempts_shown",
        "requested_by",
        "asked_at",
        "outcome",
    )
    list_display_links = ("number",)
    # The link from an incident's page to its court bundle's job.
    extra_lookups = ("id__exact",)
    list_filter = ("state", "kind")
    search_fields = ("=target",)
    list_per_page = 100
    # The count of a large table is read once (Django's count of the filtered rows).
    show_full_result_count = False
    actions = ["try_again"]
    readonly_fields = [field.name for field in Job._meta.fields if field.name not in HIDDEN]
    exclude = HIDDEN

    def get_queryset(self, request):
        return jobs.visible_jobs(request.user, super().get_queryset(request)).select_related(
            "requested_by"
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/output/",
                self.admin_site.admin_view(self.output_view),
                name="tracker_job_output",
            ),
            *super().get_urls(),
        ]

    def get_list_display(self, request):
        """The columns, and last a "file" column with the download link of each bundle
        this user asked for (per request: the admin is shared by every thread)."""
        viewer = request.user.pk

        @admin.display(description="file")
        def download(job: Job) -> str:
            return download_link(job, viewer)

        return (*super().get_list_display(request), download)

    def output_view(self, request: HttpRequest, object_id: str):
        """The job's file (a court bundle) for the one who asked for it; 404 for anyone
        else, whether or not the job exists, and once it has expired."""
        job_id = primary_key(unquote(object_id))
        job = self.get_queryset(request).filter(pk=job_id).first() if job_id else None
        found = evidence_jobs.bundle_file(job, request.user)
        if job is None or found is None:
            raise Http404("No such file.")
        return evidence_views.bundle_download(
            request, found, job.output, evidence_jobs.download_name(job)
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm(MANAGE):
            actions.pop("try_again", None)
        return actions

    @admin.display(description="job", ordering="-pk")
    def number(self, job: Job) -> str:
        return f"#{job.pk}"

    @admin.display(description="state", ordering="state")
    def state_shown(self, job: Job) -> str:
        badge = BADGES[Job.State(job.state)]
        return format_html(
            '<span class="status-badge status-{}">{}</span>', badge, job.get_state_display()
        )

    @admin.display(description="created at", ordering="created_at")
    def asked_at(self, job: Job) -> str:
        return time_with_zone(job.created_at)

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
