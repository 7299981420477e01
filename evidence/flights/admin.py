"""Flight-spotter logs in the admin: upload through the importer, browse the
observations (filters and a per-day timeline next to incidents), and the ranked
flights of a strike with a reviewer's confirmation.

``candidates_html(incident, viewer=user)`` is the ranked list as HTML, for the incident's
admin page (a read-only field) and this module's candidates page. Its confirm
buttons post to ``confirm_view`` with ``formaction``, so they work inside the
incident's change form, whose CSRF token they send along.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe

from evidence import intake
from evidence.flights import flightlog, ranking
from evidence.models import FlightLog, FlightMatch, FlightObservation
from evidence.visibility import visible_to
from tracker.access import visible_incidents
from tracker.admin import kit
from tracker.admin.kit import DeferredJoinPaginator, ReadOnlyAdmin
from tracker.locks import LOCKED
from tracker.models import DatePrecision, Incident, SourceType
from tracker.responsibility import periods

REVIEW = "tracker.review_incident"
VIEW_INCIDENT = "tracker.view_incident"
SHOWN_CANDIDATES = 20  # on the incident's page; the candidates page and the command show all
TIMELINE_LIMIT = 2000  # observations drawn for one day
SHOWN_PROBLEMS = 200  # problems listed under the upload form (the command lists them all)
NO_OBSERVATION = "Choose an observation to confirm."


# --- Upload ------------------------------------------------------------------------------


class FlightLogUploadForm(forms.Form):
    file = forms.FileField(
        help_text="A flight log in the tracker's CSV format (UTF-8). It is hashed and stored as "
        "an evidence item, then every row is checked before any is imported."
    )
    time_zone = forms.CharField(
        max_length=64,
        required=False,
        help_text="Zone of times written without a UTC offset, e.g. Asia/Damascus. Leave empty "
        "if every time has its offset; a time without one then refuses the file.",
    )
    skip_invalid = forms.BooleanField(
        required=False,
        help_text="Import the valid rows and list the others, instead of refusing the whole file.",
    )
    incident = forms.CharField(
        max_length=16, required=False, help_text="Incident code (INC-…) to link the log to."
    )
    relevance = forms.CharField(max_length=300, required=False)
    title = forms.CharField(
        max_length=200, required=False, help_text="Leave empty to use the file's name."
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    source_type = forms.ModelChoiceField(SourceType.objects.filter(active=True), required=False)
    source_name = forms.CharField(
        max_length=200, required=False, help_text="A pseudonym: spotters are protected sources."
    )
    received_from = forms.CharField(
        max_length=200, required=False, help_text="How it reached the team (custody log)."
    )
    is_protected = forms.BooleanField(
        label="protected",
        required=False,
        initial=False,
        help_text="Only if the file itself could endanger a source (a spotter named in it): "
        "a protected file opens only for its uploader and holders of the identity permission, "
        "and only they can verify it.",
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        if name:
            try:
                flightlog.parse_zone(name)
            except flightlog.FlightLogRefused as exc:
                raise ValidationError(str(exc)) from None
        return name

    def clean_incident(self) -> Incident | None:
        code = self.cleaned_data["incident"].strip().upper()
        if not code:
            return None
        # A restricted incident the user may not see is answered as an unknown code.
        incident = visible_incidents(self.user).filter(code=code).first()
        if incident is None:
            raise ValidationError(f"No incident with code {code}.")
        return incident


@admin.register(FlightLog)
class FlightLogAdmin(kit.ModelAdmin):
    show_full_result_count = False
    list_display = ("item", "assumed_time_zone", "imported_at", "row_count", "observations")
    list_select_related = ("item",)
    readonly_fields = ("item", "assumed_time_zone", "imported_at", "row_count", "observations")

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
        form = FlightLogUploadForm(request.POST or None, request.FILES or None, user=request.user)
        problems: list[str] = []
        more = 0
        if request.method == "POST" and form.is_valid():
            try:
                result = self._import(request, form)
            except (flightlog.FlightLogRefused, intake.IntakeError) as exc:
                form.add_error("file", str(exc))
                found = getattr(exc, "problems", ())
                problems = [str(p) for p in found[:SHOWN_PROBLEMS]]
                more = len(found) - len(problems) + getattr(exc, "more", 0)
            else:
                return HttpResponseRedirect(
                    reverse("admin:evidence_flightlog_change", args=[result.log.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a flight log",
            "form": form,
            "problems": problems,
            "more_problems": more,
            "opts": self.model._meta,
            "has_view_permission": self.has_view_permission(request),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/evidence/flightlog_upload.html", context)

    def _import(self, request: HttpRequest, form: FlightLogUploadForm) -> flightlog.ImportResult:
        data = form.cleaned_data
        upload = data["file"]
        result = flightlog.import_flight_log(
            upload,
            filename=upload.name,
            by=request.user,
            time_zone=data["time_zone"],
            skip_invalid=data["skip_invalid"],
            incident=data["incident"],
            relevance=data["relevance"],
            title=data["title"],
            received_from=data["received_from"],
            description=data["description"],
            source_type=data["source_type"],
            source_name=data["source_name"],
            is_protected=data["is_protected"],
        )
        item = result.item
        if result.duplicate:
            self.message_user(
                request,
                f"{upload.name} is already held as {item.code} and its "
                f"{result.log.row_count} observations were imported then; nothing imported.",
                messages.WARNING,
            )
            return result
        self.message_user(
            request, f"Stored {upload.name} as {item.code}: {result.imported} observations."
        )
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


class ObservedOnFilter(admin.ListFilter):
    """A day (2019-05-13), month (2019-05) or year (2019), in local time; the range
    is an indexed comparison on observed_at. (Django's date filter offers only
    today, the past 7 days, this month and this year: no help for past logs.)"""

    title = "date observed"
    parameter_name = "observed_on"
    template = "admin/evidence/flight_text_filter.html"
    placeholder = "2019-05-13 or 2019-05"

    def __init__(self, request, params, model, model_admin) -> None:
        super().__init__(request, params, model, model_admin)
        value = params.pop(self.parameter_name, [""])
        self.value = (value[-1] if isinstance(value, list) else value).strip()

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return [self.parameter_name]

    def period(self) -> tuple[datetime, datetime] | None:
        found = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", self.value)
        if not found:
            return None
        year, month, day = (int(g) if g else None for g in found.groups())
        if not periods.FIRST_YEAR <= year <= periods.LAST_YEAR:
            return None
        try:
            if day is not None:
                return ranking.day_bounds(date(year, month, day))
            if month is not None:
                first, after = date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)
            else:
                first, after = date(year, 1, 1), date(year + 1, 1, 1)
        except ValueError:
            return None
        zone = timezone.get_default_timezone()
        return (
            datetime(first.year, first.month, first.day, tzinfo=zone),
            datetime(after.year, after.month, after.day, tzinfo=zone),
        )

    def queryset(self, request, queryset):
        if not self.value:
            return queryset
        bounds = self.period()
        if bounds is None:
            messages.warning(
                request, f"Not a date: {self.value!r}. Write 2019-05-13, 2019-05 or 2019."
            )
            return queryset
        return queryset.filter(observed_at__gte=bounds[0], observed_at__lt=bounds[1])

    def choices(self, changelist: ChangeList):
        yield {
            "value": self.value,
            "hidden": [
                (key, value)
                for key, values in changelist.params.items()
                if key not in (self.parameter_name, "p")
                for value in (values if isinstance(values, list) else [values])
            ],
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
            "name": self.parameter_name,
            "placeholder": self.placeholder,
        }


class TypedValueFilter(ObservedOnFilter):
    """A box to type an exact value (a station code, a base): listing every value
    would cost a DISTINCT over a million observations on each page load."""

    field_name = ""

    def queryset(self, request, queryset):
        return (
            queryset.filter(**{f"{self.field_name}__iexact": self.value})
            if self.value
            else queryset
        )


class StationFilter(TypedValueFilter):
    title = "station"
    parameter_name = field_name = "station"
    placeholder = "KFN-1"


class OriginFilter(TypedValueFilter):
    title = "origin"
    parameter_name = field_name = "origin"
    placeholder = "Hmeimim"


class NationalityFilter(admin.SimpleListFilter):
    """Fixed values, so the filter costs no query over the whole table."""

    title = "nationality"
    parameter_name = "nationality"

    def lookups(self, request, model_admin):
        return (("RU", "RU"), ("SY", "SY"), ("unknown", "unknown"))

    def queryset(self, request, queryset):
        return queryset.filter(nationality=self.value()) if self.value() else queryset


@admin.register(FlightObservation)
class FlightObservationAdmin(ReadOnlyAdmin):
    """Observations are what an imported file says: read-only, added only by import."""

    paginator = DeferredJoinPaginator

    list_display = (
        "observed_at",
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
        "observed_at",
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
                    timezone.localtime(m.confirmed_at).strftime("%Y-%m-%d %H:%M"),
                    f"{m.score:.2f}",
                )
                for m in matches
            ),
        )

    # --- Per-day timeline ----------------------------------------------------------------

    def timeline_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        # Only observations of logs this user may know exist (evidence.visibility).
        seen = visible_to(request.user, FlightObservation.objects.all())
        day = _day(request.GET.get("day", ""))
        if day is None:
            latest = seen.order_by("-observed_at").first()
            day = timezone.localtime(latest.observed_at).date() if latest else timezone.localdate()
        start, end = ranking.day_bounds(day)
        minutes = (end - start).total_seconds() / 60
        observations = list(
            seen.filter(observed_at__gte=start, observed_at__lt=end)
            .select_related("log__item")
            .order_by("observed_at", "pk")[: TIMELINE_LIMIT + 1]
        )
        truncated = len(observations) > TIMELINE_LIMIT
        observations = observations[:TIMELINE_LIMIT]
        incidents = []
        if request.user.has_perm(VIEW_INCIDENT):
            incidents = list(
                visible_incidents(request.user)
                .filter(
                    occurred_start__gte=start,
                    occurred_start__lt=end,
                    start_precision__in=ranking.PERIODS,
                )
                .select_related("weapon", "place")
                .order_by("occurred_start", "pk")
            )

        def at(moment: datetime) -> float:
            return round(100 * (moment - start).total_seconds() / 60 / minutes, 3)

        lanes: dict[str, list] = {}
        for obs in observations:
            lanes.setdefault(obs.station, []).append((at(obs.observed_at), obs))
        events = [(i.occurred_start, "incident", i) for i in incidents]
        events += [(o.observed_at, "observation", o) for o in observations]
        events.sort(key=lambda e: (e[0], e[1] != "incident"))
        before = seen.filter(observed_at__lt=start).order_by("-observed_at").first()
        after = seen.filter(observed_at__gte=end).order_by("observed_at").first()
        context = {
            **self.admin_site.each_context(request),
            "title": f"Flights and strikes on {day:%A %d %B %Y}",
            "opts": self.model._meta,
            "day": day,
            "hours": [(h, round(100 * h * 60 / minutes, 3)) for h in range(0, 24, 2)],
            "incident_marks": [(at(i.occurred_start), i) for i in incidents],
            "lanes": sorted(lanes.items()),
            "events": events,
            "truncated": truncated,
            "limit": TIMELINE_LIMIT,
            "previous_day": timezone.localtime(before.observed_at).date() if before else None,
            "next_day": timezone.localtime(after.observed_at).date() if after else None,
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


def _day(text: str) -> date | None:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return day if periods.year_in_range(day) else None


def candidates_html(
    incident: Incident,
    *,
    viewer,
    can_confirm: bool = False,
    before: int = ranking.DEFAULT_BEFORE,
    after: int = ranking.DEFAULT_AFTER,
    limit: int | None = SHOWN_CANDIDATES,
) -> SafeString:
    """The flights consistent with ``incident`` that ``viewer`` may see, best first, as
    an HTML table.

    With ``can_confirm`` (give it ``request.user.has_perm("tracker.review_incident")``)
    each unconfirmed row has a Confirm button posting to ``confirm_view``; the view
    checks the permission again. Costs three queries for an incident loaded with
    ``select_related("weapon", "place")`` (attributions, candidates, confirmed
    matches), and one more with ``can_confirm`` (the attributions to support)."""
    refused = ""
    ranked: list[ranking.Candidate] = []
    try:
        ranked = ranking.candidates(incident, viewer=viewer, before=before, after=after)
    except ranking.CorrelationRefused as exc:
        refused = str(exc)
    shown = ranked if limit is None else ranked[:limit]
    matches = list(
        FlightMatch.objects.filter(incident=incident)
        .select_related("observation__log__item", "confirmed_by")
        .order_by("confirmed_at")
    )
    attributions = []
    if can_confirm and incident.status not in LOCKED:
        attributions = list(
            incident.attributions.select_related("force", "unit", "official").order_by("pk")
        )
    precision = DatePrecision(incident.start_precision).label
    context = {
        "incident": incident,
        "refused": refused,
        "rows": [
            {
                "rank": n,
                "candidate": c,
                "obs": c.observation,
                "percent": round(c.score * 100),
                "reasons": c.reasons,
            }
            for n, c in enumerate(shown, start=1)
        ],
        "hidden": len(ranked) - len(shown),
        "total": len(ranked),
        "before": before,
        "after": after,
        "precision": precision,
        "matches": matches,
        "can_confirm": can_confirm and incident.status not in LOCKED,
        "locked": can_confirm and incident.status in LOCKED,
        "attributions": attributions,
        "confirm_url": reverse("admin:evidence_flightobservation_confirm", args=[incident.pk]),
        "page_url": reverse("admin:evidence_flightobservation_candidates", args=[incident.pk]),
        "timeline_url": reverse("admin:evidence_flightobservation_timeline")
        + f"?day={timezone.localtime(incident.occurred_start).date().isoformat()}",
    }
    return mark_safe(render_to_string("admin/evidence/flight_candidates.html", context))  # noqa: S308 - the template escapes
