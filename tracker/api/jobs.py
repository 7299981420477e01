"""Background work through the API, by the services the admin's buttons call: a court
bundle asked for as a job (``evidence.jobs.bundle_later``), a capture of a link
(``evidence.capture.capturing.capture_later``), and the caller's jobs as the jobs page
shows them (``tracker.jobs.visible_jobs`` and the visibility policy), with a bundle's
download for the one who asked for it while it is kept (``evidence.jobs.bundle_file``)."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from evidence import jobs as evidence_jobs
from evidence import views as evidence_views
from evidence.capture import capturing, fetching
from evidence.files import bagging
from evidence.visibility import visible_to
from tracker import jobs
from tracker.api.base import ApiViews
from tracker.api.evidence import EvidenceViews
from tracker.api.serializers import Strict, VisibleIncident
from tracker.models import Job

VIEW = "tracker.view_job"


class JobSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:job-detail")
    requested_by = serializers.CharField(
        source="requested_by.username", read_only=True, allow_null=True
    )
    download = serializers.SerializerMethodField(
        help_text="A court bundle's file, for the one who asked for it while it is kept."
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "url",
            "kind",
            "target",
            "state",
            "attempts",
            "max_attempts",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "done_count",
            "total_count",
            "message",
            "error",
            "output_size",
            "expires_at",
            "download",
        ]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download(self, job: Job) -> str | None:
        request = self.context["request"]
        if not evidence_jobs.download_offered(job, request.user.pk):  # no query a row
            return None
        return request.build_absolute_uri(reverse("api:job-download", args=[job.pk]))


class BundleSerializer(Strict):
    """The incidents of a court bundle, by code, and whether it holds protected identity."""

    incidents = serializers.ListField(
        child=serializers.CharField(max_length=20),
        min_length=1,
        max_length=evidence_jobs.MOST_INCIDENTS,
        help_text="Incident codes.",
    )
    include_protected = serializers.BooleanField(
        default=False, help_text="Needs evidence.view_protected_identity."
    )


class CaptureSerializer(Strict):
    """A link to keep as it is now, linked to an incident or to none."""

    url = serializers.CharField(max_length=2100, help_text="An http or https address.")
    incident = VisibleIncident(help_text="Link the capture to it (its code).")


def accepted(job: Job, request) -> Response:
    """202 with the job that will do the work, and where to follow it."""
    body = JobSerializer(job, context={"request": request}).data
    where = str(body["url"])  # a plain str: WSGI takes no subclass (DRF's Hyperlink)
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": where})


class JobViews(mixins.ListModelMixin, ApiViews):
    """The jobs the caller may see, as the jobs page lists them, newest first."""

    queryset = Job.objects.none()  # the model, for the description; rows: get_queryset
    serializer_class = JobSerializer
    filter_backends: list = []

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.action in ("list", "retrieve", "download") and not request.user.has_perm(VIEW):
            raise exceptions.PermissionDenied("This account may not view jobs.")

    def get_queryset(self):
        user = self.request.user
        found = jobs.visible_jobs(user, Job.objects.select_related("requested_by"))
        return visible_to(user, found).order_by("-pk")

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], pagination_class=None)
    def download(self, request, pk=None):
        """A court bundle's zip, for the one who asked for it, until it expires; 404 for
        anyone else and after."""
        job = self.get_object()
        found = evidence_jobs.bundle_file(job, request.user)
        if found is None:
            raise Http404("No such file.")
        name = evidence_jobs.download_name(job)
        return evidence_views.bundle_download(request._request, found, job.output, name)

    @extend_schema(request=BundleSerializer, responses={202: JobSerializer})
    @action(detail=False, methods=["post"])
    def bundles(self, request):
        """Ask for a court bundle of incidents (a job; its download when it is done)."""
        asked = BundleSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        protected = asked.validated_data["include_protected"]
        if reason := evidence_jobs.bundle_refusal(request.user, include_protected=protected):
            raise exceptions.PermissionDenied(reason)
        try:
            incidents = bagging.incidents_by_code(
                asked.validated_data["incidents"], by=request.user
            )
            job = evidence_jobs.bundle_later(
                incidents, by=request.user, include_protected=protected
            )
        except bagging.ExportError as exc:  # an unknown or hidden code, named as unknown
            raise exceptions.ValidationError({"incidents": [str(exc)]}) from None
        return accepted(job, request)

    @extend_schema(request=CaptureSerializer, responses={202: JobSerializer})
    @action(detail=False, methods=["post"])
    def captures(self, request):
        """Ask for a capture of a link (a job; the web capture item when it is done)."""
        EvidenceViews.may_add(request)
        asked = CaptureSerializer(data=request.data, context={"request": request})
        asked.is_valid(raise_exception=True)
        try:
            job = capturing.capture_later(
                asked.validated_data["url"],
                by=request.user,
                incident=asked.validated_data.get("incident"),
            )
        except fetching.Refused as exc:
            raise exceptions.ValidationError({"url": [str(exc)]}) from None
        return accepted(job, request)
