"""Data entry for the case: incidents, places, vocabularies, forces, units,
officials, postings, attributions and the review log."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.main import ORDER_VAR
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from evidence.models import EvidenceLink
from evidence.visibility import visible_to
from tracker.admin import kit
from tracker.admin.attribution import (
    AttributionForm,
    AttributionInline,
    OverlapFilter,
    PositionOverlapFlag,
    UnitOverlapFlag,
    dossier_link,
)
from tracker.admin.bundle import BundleMixin
from tracker.admin.discussion import AssignedToMeFilter, DiscussionMixin
from tracker.admin.grade import GradeDiffersFilter, GradeMixin
from tracker.admin.kit import AuditedAdmin, HistoryAdmin, ReadOnlyAdmin, count_of, status_badge
from tracker.admin.review import LockedWithParentInline, ReviewAdminMixin
from tracker.admin.together import ReviewTogetherMixin
from tracker.admin.tray import TrayMixin
from tracker.admin.tray_testimony import TrayTestimonyMixin
from tracker.display import count_range, time_with_zone
from tracker.models import (
    AttackType,
    Attribution,
    Force,
    Incident,
    IncidentRelation,
    Official,
    OfficialAlias,
    Place,
    Position,
    ReviewEvent,
    SourceType,
    TargetType,
    Unit,
    Weapon,
)
from tracker.responsibility.names import official_name_q, search_places, unit_name_q
from tracker.responsibility.periods import format_partial

AUDIT_FIELDS = ("created_by", "created_at", "updated_by", "updated_at")


class IncidentForm(kit.DatedForm):
    """Puts range errors next to the field a researcher must correct. A date alone is
    enough when the start is known to a day, a month or a year (``kit.DatedForm``); the
    model refuses a start or end in the future (``Incident.clean``)."""

    precision_of = {"occurred_start": "start_precision", "occurred_end": "start_precision"}

    RANGES = (
        ("killed_min", "killed_max", "Killed (min) cannot exceed killed (max)."),
        ("injured_min", "injured_max", "Injured (min) cannot exceed injured (max)."),
        ("children_killed", "killed_max", "Children killed cannot exceed killed (max)."),
        ("women_killed", "killed_max", "Women killed cannot exceed killed (max)."),
        ("occurred_start", "occurred_end", "The end cannot be before the start."),
    )

    class Meta:
        model = Incident
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose the fields shown

    def clean(self):
        data = super().clean()
        for low, high, message in self.RANGES:
            a, b = data.get(low), data.get(high)
            if a is not None and b is not None and a > b:
                self.add_error(high, message)
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            self.add_error("longitude", "Give both latitude and longitude, or neither.")
        return data


# --- Vocabularies and places ------------------------------------------------------------


@admin.register(AttackType, SourceType)
class VocabularyAdmin(kit.ModelAdmin):
    show_full_result_count = False
    list_display = ("name", "description", "active")
    list_filter = ("active",)
    search_fields = ("name",)


@admin.register(Weapon)
class WeaponAdmin(VocabularyAdmin):
    list_display = ("name", "platform", "description", "active")
    list_filter = ("platform", "active")


@admin.register(TargetType)
class TargetTypeAdmin(VocabularyAdmin):
    list_display = ("name", "colour", "description", "active")


@admin.register(Place)
class PlaceAdmin(kit.ModelAdmin):
    list_display = ("name", "district", "governorate", "latitude", "longitude", "incident_count")
    list_filter = ("governorate",)
    search_fields = ("name", "alternative_names", "district", "governorate")
    show_full_result_count = False

    def get_queryset(self, request):
        incidents = visible_to(request.user, Incident.objects.all())
        return super().get_queryset(request).annotate(n_incidents=count_of(incidents, "place"))

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        """Any spelling of a name (tracker.responsibility.names.search_places), the town
        itself first: the autocomplete and the list keep this order, so Enter picks the
        best match; a column clicked in the list (?o=) orders it instead."""
        ranked = ORDER_VAR not in request.GET
        return search_places(queryset, search_term, ranked=ranked), False

    @admin.display(description="incidents", ordering="n_incidents")
    def incident_count(self, obj: Place) -> int:
        return obj.n_incidents


# --- Incidents --------------------------------------------------------------------------


class IncidentRelationInline(LockedWithParentInline, kit.TabularInline):
    model = IncidentRelation
    fk_name = "from_incident"
    extra = 0
    autocomplete_fields = ("to_incident",)
    verbose_name = "related incident"
    verbose_name_plural = "related incidents"


@admin.register(Incident)
class IncidentAdmin(
    GradeMixin,
    BundleMixin,
    DiscussionMixin,
    TrayTestimonyMixin,
    TrayMixin,
    ReviewTogetherMixin,
    ReviewAdminMixin,
    AuditedAdmin,
    HistoryAdmin,
):
    form = IncidentForm
    list_display = (
        "code",
        "title",
        "occurred",
        "place",
        "targets",
        "killed",
        "civilian_harm",
        "status_badge",
        "evidence_count",
    )
    list_display_links = ("code", "title")
    list_select_related = ("place",)
    list_filter = (
        "status",
        AssignedToMeFilter,
        "civilian_harm",
        GradeDiffersFilter,
        "target_types",
        "attack_type",
        "weapon",
        "place__governorate",
        "sensitivity",
        "start_precision",
    )
    search_fields = ("code", "title", "narrative")
    ordering = ("-occurred_start", "-id")
    autocomplete_fields = ("place", "attack_type", "weapon", "target_types")
    # The grade is the reviewer's decision on the proposal (the box above the form).
    readonly_fields = ("code", "status_badge", "civilian_harm", "flight_candidates", *AUDIT_FIELDS)
    # The evidence behind it is the tray above the form (tracker.admin.tray).
    inlines = (AttributionInline, IncidentRelationInline)
    change_form_template = "admin/tracker/incident_change_form.html"
    fieldsets = (
        (None, {"fields": ("code", "status_badge", "title", "narrative", "sensitivity")}),
        ("When", {"fields": (("occurred_start", "start_precision"), "occurred_end")}),
        (
            "Where",
            {"fields": ("place", ("latitude", "longitude"), "location_precision")},
        ),
        ("What", {"fields": ("attack_type", "weapon", "target_types")}),
        (
            "Harm to civilians",
            {
                "fields": (
                    ("killed_min", "killed_max"),
                    ("injured_min", "injured_max"),
                    ("children_killed", "women_killed"),
                    "civilian_harm",
                )
            },
        ),
        (
            "Flights consistent with the strike",
            {"classes": ("collapse",), "fields": ("flight_candidates",)},
        ),
        ("Record", {"classes": ("collapse",), "fields": AUDIT_FIELDS}),
    )

    def get_queryset(self, request: HttpRequest):
        qs = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            qs = qs.annotate(
                n_evidence=count_of(EvidenceLink.objects, "incident")
            ).prefetch_related("target_types")
        return qs

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        """Full-text search (tracker.workspace.search) rather than LIKE over search_fields, which
        stay declared because they turn on the search box and the autocomplete."""
        from tracker.workspace.search import search_incidents

        return search_incidents(queryset, search_term), False

    @admin.display(description="ranked flight observations")
    def flight_candidates(self, obj: Incident) -> str:
        """Ranked when the section is opened (``on-demand.js`` fetches the candidates
        page's part): few open it, and ranking costs a query over the observations.
        Without the script, the link opens the candidates page."""
        if obj.pk is None:
            return "Save the incident to rank flights against it."
        page = reverse("admin:evidence_flightobservation_candidates", args=[obj.pk])
        return format_html(
            '<div data-on-demand="{}?part=1"><p><a href="{}">The flights consistent with '
            "this strike, ranked</a> (shown here when this section is opened).</p></div>",
            page,
            page,
        )

    @admin.display(description="when", ordering="occurred_start")
    def occurred(self, obj: Incident) -> str:
        return format_partial(obj.occurred_start, obj.start_precision)

    @admin.display(description="targets")
    def targets(self, obj: Incident) -> str:
        return ", ".join(t.name for t in obj.target_types.all())

    @admin.display(description="killed", ordering="killed_max")
    def killed(self, obj: Incident) -> str:
        return count_range(obj.killed_min, obj.killed_max)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Incident) -> str:
        return status_badge(obj.status)

    @admin.display(description="evidence", ordering="n_evidence")
    def evidence_count(self, obj: Incident) -> int:
        return obj.n_evidence


# --- Forces, units, officials ------------------------------------------------------------


@admin.register(Force)
class ForceAdmin(kit.ModelAdmin):
    show_full_result_count = False
    list_display = ("name", "short_name", "country", "unit_count")
    search_fields = ("name", "short_name")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_units=count_of(Unit.objects, "force"))

    @admin.display(description="units", ordering="n_units")
    def unit_count(self, obj: Force) -> int:
        return obj.n_units


class NameSearchMixin:
    """Search by any name in any script: the term is reduced to its search key and
    its loose key (tracker.responsibility.names) and matched against the stored keys."""

    def name_search_q(self, term: str) -> Q | None:
        raise NotImplementedError

    def get_search_results(self, request, queryset, search_term):
        found = self.name_search_q(search_term)
        if found is None:
            return queryset, False
        return queryset.filter(found), False


@admin.register(Unit)
class UnitAdmin(UnitOverlapFlag, NameSearchMixin, kit.ModelAdmin):
    list_display = ("name", "force", "parent", "overlap_flag")
    list_select_related = ("force", "parent")
    list_filter = ("force",)
    search_fields = ("name",)  # enables autocomplete; matching is done by name_search_q
    autocomplete_fields = ("force", "parent")
    show_full_result_count = False

    def name_search_q(self, term: str) -> Q | None:
        return unit_name_q(term)


class OfficialAliasInline(kit.TabularInline):
    model = OfficialAlias
    extra = 1
    fields = ("name", "script", "language")


class PositionInline(kit.TabularInline):
    model = Position
    extra = 0
    autocomplete_fields = ("unit",)
    fields = (
        "unit",
        "title",
        "rank",
        "is_command",
        "is_acting",
        "start",
        "start_precision",
        "end",
        "end_precision",
        "source",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("unit")


@admin.register(Official)
class OfficialAdmin(NameSearchMixin, AuditedAdmin, HistoryAdmin):
    list_display = ("name", "other_names", "nationality", "posting_count", dossier_link)
    search_fields = ("name",)
    readonly_fields = (dossier_link, *AUDIT_FIELDS)
    inlines = (OfficialAliasInline, PositionInline)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            qs = qs.annotate(n_positions=count_of(Position.objects, "official")).prefetch_related(
                "aliases"
            )
        return qs

    def name_search_q(self, term: str) -> Q | None:
        return official_name_q(term)

    @admin.display(description="aliases")
    def other_names(self, obj: Official) -> str:
        # <bdi> keeps each name's own direction, so Arabic beside Latin reads right.
        return format_html_join(" · ", "<bdi>{}</bdi>", ((a.name,) for a in obj.aliases.all()))

    @admin.display(description="postings", ordering="n_positions")
    def posting_count(self, obj: Official) -> int:
        return obj.n_positions


@admin.register(Position)
class PositionAdmin(PositionOverlapFlag, kit.ModelAdmin):
    list_display = (
        "official",
        "title",
        "unit",
        "is_command",
        "is_acting",
        "start",
        "end",
        "overlap_flag",
    )
    list_select_related = ("official", "unit")
    list_filter = ("is_command", "is_acting", OverlapFilter, "unit__force")
    search_fields = ("official__name", "title", "unit__name")
    autocomplete_fields = ("official", "unit")
    show_full_result_count = False


@admin.register(Attribution)
class AttributionAdmin(ReviewAdminMixin, AuditedAdmin, HistoryAdmin):
    """Attributions are reviewed like incidents (tracker.workflow): the review panel on
    the change page, bulk actions in the list."""

    form = AttributionForm
    list_display = (
        "incident",
        "force",
        "unit",
        "official",
        "role",
        "confidence",
        "relied_on",
        "status_badge",
    )
    list_select_related = ("incident", "force", "unit", "official")
    list_filter = ("status", "relied_on", "role", "confidence")
    search_fields = ("incident__code", "incident__title", "official__name", "unit__name")
    autocomplete_fields = ("incident", "force", "unit", "official", "supporting_evidence")
    fields = (
        "incident",
        ("force", "unit", "official"),
        ("role", "confidence"),
        ("relied_on", "status_badge"),
        "basis",
        "supporting_evidence",
        *AUDIT_FIELDS,
    )
    readonly_fields = ("status_badge", *AUDIT_FIELDS)
    # Rows, choices and lookups follow the visibility policy (tracker.admin.kit.PolicyMixin).

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Attribution) -> str:
        return status_badge(obj.status) if obj.pk else "–"


@admin.register(ReviewEvent)
class ReviewEventAdmin(ReadOnlyAdmin):
    """The review log is written by tracker.workflow only."""

    list_display = (
        "when",
        "content_type",
        "object_id",
        "action",
        "from_status",
        "to_status",
        "actor",
    )
    list_select_related = ("content_type", "actor")
    list_filter = ("action", "to_status")
    show_full_result_count = False
    # A transition's comment speaks of its record: the policy (evidence.visibility) keeps
    # out the events of records the user may not see.

    @admin.display(description="at", ordering="at")
    def when(self, obj: ReviewEvent) -> str:
        return time_with_zone(obj.at)
