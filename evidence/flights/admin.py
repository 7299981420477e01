"""Flight-spotter logs in the admin: upload through the importer
(``evidence.flights.forms``), browse the observations (``evidence.flights.filters``
and a per-day timeline next to incidents, ``evidence.flights.timeline``), and the
ranked flights of a strike (``evidence.flights.candidates``) with a reviewer's
confirmation."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe

from evidence import intake
from evidence import jobs as background
from evidence.flights import flightlog, ranking, timeline
from evidence.flights.candidates import candidates_html
from evidence.flights.filters import (
    NationalityFilter,
    ObservedOnFilter,
    OriginFilter,
    StationFilter,
)
from evidence.flights.forms import FlightLogUploadForm
from evidence.models import FlightLog, FlightObservation
from evidence.visibility import visible_to
from tracker.access import visible_incidents
from tracker.admin import kit
from tracker.admin.kit import DeferredJoinPaginator, ReadOnlyAdmin
from tracker.display import time_with_zone
from tracker.models import Job

REVIEW = "tracker.review_incident"
VIEW_INCIDENT = timeline.VIEW_INCIDENT
SHOWN_PROBLEMS = 200  # problems listed under the upload form (the command lists them all)
NO_OBSERVATION = "Choose an observation to confirm."


# --- Upload ------------------------------------------------------------------------------


@admin.register(FlightLog)
class FlightLogAdmin(kit.ModelAdmin):
    show_full_result_count = False
    list_display = ("item", "assumed_time_zone", "imported", "row_count", "observations")
    list_select_related = ("item",)
    readonly_fields = ("item", "assumed_time_zone", "imported", "row_count", "observations")

    @admin.display(description="imported at", ordering="imported_at")
    def imported(self, obj: FlightLog) -> str:
        return time_with_zone(obj.imported_at) or "–"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # The upload creates an evidence item and observations as well as the log.
        user = request.user
        return super().has_add_permission(request) and all(
            user.has_perm(f"evidence.add_{name}") for name in ("evidenceitem", "flightobservation")
        )

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # what the import recorded; a corrected log is a new file

    @admin.display(description="observations")
    def observations(self, obj: FlightLog) -> str:
        url = reverse("admin:evidence_flightobservation_changelist")
        return format_html('<a href="{}?log__id__exact={}">{} rows</a>', url, obj.pk, obj.row_count)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        """Adding a log means uploading its file: it goes through flightlog.import_flight_log."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        # Opened from an incident's tray (?incident=INC-0042): that incident is chosen, and
        # the import comes back to it.
        from_incident = str(request.GET.get("incident", ""))[:20]
        form = FlightLogUploadForm(
            request.POST or None,
            request.FILES or None,
            user=request.user,
            initial={"incident": from_incident} if from_incident else None,
        )
        problems: list[str] = []
        more = 0
        if request.method == "POST" and form.is_valid():
            try:
                if form.size() > settings.TRACKER_FLIGHTLOG_BACKGROUND_BYTES:
                    job = self._import_later(request, form)
                    form.release()
                    incident = form.cleaned_data.get("incident")
                    if from_incident and incident is not None:
                        back = reverse("admin:tracker_incident_change", args=[incident.pk])
                        return HttpResponseRedirect(f"{back}#tray")
                    return HttpResponseRedirect(reverse("admin:tracker_job_change", args=[job.pk]))
                result = self._import(request, form)
            except ValidationError as exc:  # the file held was released meanwhile
                form.add_error("file", exc)
            except (flightlog.FlightLogRefused, intake.IntakeError) as exc:
                form.add_error("file", str(exc))
                found = getattr(exc, "problems", ())
                problems = [str(p) for p in found[:SHOWN_PROBLEMS]]
                more = len(found) - len(problems) + getattr(exc, "more", 0)
            else:
                form.release()
                incident = form.cleaned_data.get("incident")
                if from_incident and incident is not None:
                    back = reverse("admin:tracker_incident_change", args=[incident.pk])
                    return HttpResponseRedirect(f"{back}#tray")
                return HttpResponseRedirect(
                    reverse("admin:evidence_flightlog_change", args=[result.log.pk])
                )
        if request.method == "POST":
            form.keep_file()  # shown again with the file: it need not be chosen again
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a flight log",
            "form": form,
            "adminform": kit.admin_form(form),
            "problems": problems,
            "more_problems": more,
            "opts": self.model._meta,
            "has_view_permission": self.has_view_permission(request),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/evidence/flightlog_upload.html", context)

    @staticmethod
    def _options(form: FlightLogUploadForm) -> dict:
        """What the import takes besides the file, as the form gives it (the same for
        an import now and one in the background)."""
        data = form.cleaned_data
        names = ("incident", "source_type", *background.FLIGHT_LOG_OPTIONS)
        return {name: data[name] for name in names}

    def _import_later(self, request: HttpRequest, form: FlightLogUploadForm) -> Job:
        """A large log: kept for a background import (``evidence.jobs.flight_log``)."""
        with form.source() as (upload, name):
            job = background.import_flight_log_later(
                upload, filename=name, by=request.user, **self._options(form)
            )
        self.message_user(
            request,
            f"{name} is large: it is imported in the background (job {job.pk}); the jobs "
            "page says when it is done.",
        )
        return job

    def _import(self, request: HttpRequest, form: FlightLogUploadForm) -> flightlog.ImportResult:
        with form.source() as (upload, name):
            result = flightlog.import_flight_log(
                upload, filename=name, by=request.user, **self._options(form)
            )
        item = result.item
        if result.duplicate:
            self.message_user(
                request,
                f"{name} is already held as {item.code} and its "
                f"{result.log.row_count} observations were imported then; nothing imported.",
                messages.WARNING,
            )
            return result
        self.message_user(request, f"Stored {name} as {item.code}: {result.imported} observations.")
        if result.skipped_rows:
            shown = "; ".join(str(p) for p in result.skipped[:SHOWN_PROBLEMS])
            rest = len(result.skipped) - SHOWN_PROBLEMS + result.more_problems
            self.message_user(
                request,
                f"{result.skipped_rows} invalid rows skipped: {shown}"
                + (f" … and {rest} more problems." if rest > 0 else ""),
                messages.WARNING,
            )
        return result


# --- Observations: filters, timeline, candidates, confirmation ------------------------


@admin.register(FlightObservation)
class FlightObservationAdmin(ReadOnlyAdmin):
    """Observations are what an imported file says: read-only, added only by import."""

    paginator = DeferredJoinPaginator

    list_display = (
        "observed",
        "station",
        "aircraft_type",
        "aircraft_class",
        "aircraft_count",
        "nationality",
        "origin",
        "heading_shown",
        "activity",
        "log_item",
    )
    list_select_related = ("log__item",)
    list_filter = (
        ObservedOnFilter,
        StationFilter,
        "aircraft_class",
        NationalityFilter,
        OriginFilter,
    )
    search_fields = ("station", "aircraft_type", "origin", "callsign")
    extra_lookups = ("log__id__exact",)  # the "N rows" link of a flight log
    show_full_result_count = False
    change_list_template = "admin/evidence/flightobservation_change_list.html"
    fields = (
        ("log", "line_number"),
        "raw",
        "observed",
        "station",
        ("station_latitude", "station_longitude"),
        ("aircraft_type", "aircraft_class", "aircraft_count"),
        ("nationality_raw", "nationality"),
        "origin",
        ("heading_raw", "heading"),
        "callsign",
        "activity",
        "notes",
        "extra",
        "confirmed_for",
    )
    readonly_fields = flatten(fields)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("timeline/", view(self.timeline_view), name="evidence_flightobservation_timeline"),
            path(
                "candidates/<int:incident_id>/",
                view(self.candidates_view),
                name="evidence_flightobservation_candidates",
            ),
            path(
                "confirm/<int:incident_id>/",
                view(self.confirm_view),
                name="evidence_flightobservation_confirm",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="observed at", ordering="observed_at")
    def observed(self, obj: FlightObservation) -> str:
        return time_with_zone(obj.observed_at)

    @admin.display(description="heading", ordering="heading")
    def heading_shown(self, obj: FlightObservation) -> str:
        if obj.heading is None:
            return "–"
        if obj.heading_raw.strip().isalpha():
            return f"{obj.heading_raw} ({obj.heading}°)"
        return f"{obj.heading}°"

    @admin.display(description="log")
    def log_item(self, obj: FlightObservation) -> str:
        return format_html(
            '<a href="{}">{}</a> line {}',
            reverse("admin:evidence_evidenceitem_change", args=[obj.log.item_id]),
            obj.log.item.code,
            obj.line_number,
        )

    @admin.display(description="confirmed for")
    def confirmed_for(self, obj: FlightObservation) -> str:
        matches = obj.matches.select_related("incident", "confirmed_by")
        if not matches:
            return "no incident"
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a> by {} on {} (score {})',
            (
                (
                    reverse("admin:tracker_incident_change", args=[m.incident_id]),
                    m.incident.code,
                    m.confirmed_by,
                    time_with_zone(m.confirmed_at),
                    f"{m.score:.2f}",
                )
                for m in matches
            ),
        )

    def timeline_view(self, request: HttpRequest) -> HttpResponse:
        """A day of flights next to its strikes (``evidence.flights.timeline``)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        day = timeline.day_timeline(request.user, timeline.parse_day(request.GET.get("day", "")))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Flights and strikes on {day.day:%A %d %B %Y}",
            "opts": self.model._meta,
            **vars(day),
        }
        return TemplateResponse(request, "admin/evidence/flight_timeline.html", context)

    # --- Ranked candidates and confirmation ----------------------------------------------

    def candidates_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        if not (self.has_view_permission(request) and request.user.has_perm(VIEW_INCIDENT)):
            raise PermissionDenied
        incident = get_object_or_404(
            visible_incidents(request.user).select_related("weapon", "place"), pk=incident_id
        )
        before = _minutes(request.GET.get("before"), ranking.DEFAULT_BEFORE)
        after = _minutes(request.GET.get("after"), ranking.DEFAULT_AFTER)
        if request.GET.get("part") == "1":  # the incident page's section, opened
            shown = candidates_html(
                incident, viewer=request.user, can_confirm=request.user.has_perm(REVIEW)
            )
            return HttpResponse(shown)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Flights consistent with {incident.code}",
            "opts": self.model._meta,
            "incident": incident,
            "before": before,
            "after": after,
            "candidates": candidates_html(
                incident,
                viewer=request.user,
                can_confirm=request.user.has_perm(REVIEW),
                before=before,
                after=after,
                limit=None,
            ),
        }
        return TemplateResponse(request, "admin/evidence/flight_candidates_page.html", context)

    def confirm_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(REVIEW):
            raise PermissionDenied(ranking.NOT_REVIEWER)
        incident = get_object_or_404(visible_incidents(request.user), pk=incident_id)
        back = request.META.get("HTTP_REFERER", "")
        if not url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = reverse("admin:evidence_flightobservation_candidates", args=[incident.pk])
        observation = (
            visible_to(request.user, FlightObservation.objects.select_related("log__item"))
            .filter(pk=_integer(request.POST.get("flight_match_observation")))
            .first()
        )
        if observation is None:
            self.message_user(request, NO_OBSERVATION, messages.ERROR)
            return HttpResponseRedirect(back)
        attribution_id = _integer(request.POST.get("flight_match_attribution"))
        attribution = None
        if attribution_id is not None:
            attribution = incident.attributions.filter(pk=attribution_id).first()
            if attribution is None:
                self.message_user(request, ranking.OTHER_INCIDENT, messages.ERROR)
                return HttpResponseRedirect(back)
        try:
            match = ranking.confirm(
                observation=observation,
                incident=incident,
                by=request.user,
                note=request.POST.get("flight_match_note", "").strip(),
                attribution=attribution,
            )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(back)
        text = (
            f"Confirmed observation {observation.pk} ({observation.aircraft_type}, "
            f"{observation.station}, score {match.score:.2f}) for {incident.code}; "
            f"{observation.log.item.code} is linked to the incident"
        )
        if attribution is not None:
            text += f" and supports the attribution to {attribution}"
        self.message_user(request, text + ".")
        return HttpResponseRedirect(back)


def _integer(text) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _minutes(text, default: int) -> int:
    value = _integer(text)
    return value if value is not None and 0 <= value <= ranking.MAX_MINUTES else default
