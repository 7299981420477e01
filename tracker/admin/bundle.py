"""Court bundles on an incident's admin page: "Export court bundle" asks for one as a
background job (``evidence.jobs.bundle_later``), and the page shows how the latest one
this person asked for stands (queued, running, ready to download, failed and why).

Only the person who asked may download a bundle, from the jobs page or from here; the
bundle is deleted when TRACKER_EXPORT_KEEP_HOURS have passed."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html

from evidence import jobs as evidence_jobs
from evidence.files import bagging
from tracker.admin.jobs import download_link
from tracker.admin.review import incident_page
from tracker.models import Incident, Job


def job_page(job: Job) -> str:
    """The jobs page, showing this job alone."""
    return f"{reverse('admin:tracker_job_changelist')}?id__exact={job.pk}"


def latest_bundle(incident: Incident, user) -> Job | None:
    """The latest court bundle ``user`` asked for of ``incident`` (alone or first of several)."""
    return (
        Job.objects.filter(kind=Job.Kind.BUNDLE, target=incident.code, requested_by=user.pk)
        .order_by("-created_at", "-pk")
        .first()
    )


def bundle_context(incident: Incident, user) -> dict:
    job = latest_bundle(incident, user)
    return {
        "incident": incident,
        "may_export": evidence_jobs.bundle_refusal(user, include_protected=False) is None,
        "may_include_protected": bagging.can_include_protected(user),
        "url": reverse("admin:tracker_incident_bundle", args=[incident.pk]),
        "job": job,
        "job_page": job_page(job) if job else "",
        "download": download_link(job, user.pk) if job else "",
    }


class BundleMixin:
    """For the incident's ModelAdmin: the bundle's URL, and its box on the change page."""

    def get_urls(self):
        return [
            path(
                "<path:object_id>/bundle/",
                self.admin_site.admin_view(self.bundle_view),
                name="tracker_incident_bundle",
            ),
            *super().get_urls(),
        ]

    def change_page_extras(self, request, obj) -> dict:
        def render() -> str:
            context = bundle_context(obj, request.user)
            return render_to_string("admin/tracker/bundle.html", context, request)

        return {**super().change_page_extras(request, obj), "bundle": SimpleLazyObject(render)}

    def bundle_view(self, request: HttpRequest, object_id: str):
        change = incident_page(object_id)
        if request.method != "POST":
            return HttpResponseRedirect(change)
        # Through get_queryset, as every admin page: a restricted incident is not there.
        incident = self.get_object(request, unquote(object_id))
        if incident is None:
            raise Http404("No such incident.")
        if not self.has_view_permission(request, incident):
            raise PermissionDenied
        protected = request.POST.get("include_protected") == "yes"
        try:
            job = evidence_jobs.bundle_later(
                [incident], by=request.user, include_protected=protected
            )
        except bagging.ExportError as exc:  # no button offers what is refused here
            raise PermissionDenied(str(exc)) from exc
        self.message_user(
            request,
            format_html(
                'Court bundle of {}{}: <a href="{}">job {}</a>, {}. It is listed on your jobs '
                "page, with its download once it is ready.",
                incident.code,
                " with protected identity" if protected else "",
                job_page(job),
                job.pk,
                job.get_state_display(),
            ),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(f"{change}#bundle")
