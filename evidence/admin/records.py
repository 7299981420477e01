"""The records about evidence in the admin: witnesses (protected identity), the
custody log (read-only), satellite scenes and testimony."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from evidence import access
from evidence.models import (
    CustodyEvent,
    EvidenceItem,
    SatelliteImage,
    Testimony,
    Witness,
)
from evidence.visibility import visible_to
from tracker.admin.kit import (
    AuditedAdmin,
    DeferredJoinPaginator,
    HistoryAdmin,
    ReadOnlyAdmin,
    count_of,
)


class ShowsCustodyDetails:
    """Custody details without a protected item's file name for those who may not see
    it (``access.custody_details``): ``details`` becomes ``shown_details``."""

    def _details_field(self, request, item: EvidenceItem | None) -> str:
        visible = item is None or access.file_name_shown(
            item, request.user.has_perm(access.VIEW_PROTECTED)
        )
        return "details" if visible else "shown_details"

    @admin.display(description="details")
    def shown_details(self, obj: CustodyEvent) -> dict:
        return access.custody_details(obj.details, shown=False)


@admin.register(Witness)
class WitnessAdmin(AuditedAdmin):
    """Real identity is shown and editable only with evidence.view_protected_identity."""

    list_display = ("pseudonym", "role", "testimony_count")
    ordering = ("pseudonym", "pk")
    list_filter = ("role",)
    search_fields = ("pseudonym",)
    PROTECTED = ("real_name", "contact")

    def can_see_identity(self, request: HttpRequest) -> bool:
        return request.user.has_perm("evidence.view_protected_identity")

    @method_decorator(sensitive_post_parameters(*PROTECTED))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Add and change: an error report of this page shows no identity (see also
        tracker.accounts.errors, which masks these fields on every page)."""
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_fields(self, request, obj=None):
        fields = ["pseudonym", "role", "notes"]
        if self.can_see_identity(request):
            fields[2:2] = list(self.PROTECTED)
        return fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_testimonies=count_of(visible_to(request.user, Testimony.objects.all()), "witness")
            )
        )

    @admin.display(description="testimonies", ordering="n_testimonies")
    def testimony_count(self, obj: Witness) -> int:
        return obj.n_testimonies


@admin.register(CustodyEvent)
class CustodyEventAdmin(ShowsCustodyDetails, ReadOnlyAdmin):
    """Read-only: the custody log is written by evidence.files.custody only."""

    paginator = DeferredJoinPaginator

    list_display = ("at", "item", "sequence", "action", "actor", "short_hash")
    list_select_related = ("item", "actor")
    list_filter = ("action",)
    search_fields = ("item__code", "=observed_sha256")
    show_full_result_count = False

    @admin.display(description="event hash")
    def short_hash(self, obj: CustodyEvent) -> str:
        return obj.event_hash[:16] + "…"

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        details = self._details_field(request, obj.item if obj else None)
        return [details if f == "details" else f for f in fields if f != "shown_details"]

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "shown_details")


@admin.register(SatelliteImage)
class SatelliteImageAdmin(HistoryAdmin):
    list_display = ("item", "provider", "sensor", "captured_at", "resolution_m", "before")
    ordering = ("-pk",)
    list_select_related = ("item", "before__item")
    list_filter = ("provider",)
    search_fields = ("item__code", "scene_id", "provider")
    autocomplete_fields = ("item", "before")
    show_full_result_count = False


@admin.register(Testimony)
class TestimonyAdmin(HistoryAdmin):
    list_display = ("item", "witness", "interview_date", "method", "language", "consent_given")
    list_select_related = ("item", "witness")
    list_filter = ("method", "consent_given", "consent_share_courts")
    search_fields = ("item__code", "witness__pseudonym", "summary")
    autocomplete_fields = ("item", "witness")
    show_full_result_count = False
