"""The records about evidence in the admin: witnesses (protected identity), the
custody log (read-only), satellite scenes and testimony."""

from __future__ import annotations

import json
import re

from django.contrib import admin
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_post_parameters

from evidence import access
from evidence.forms import SceneForm, TestimonyForm
from evidence.models import (
    CustodyEvent,
    EvidenceItem,
    SatelliteImage,
    Testimony,
    Witness,
)
from evidence.visibility import visible_to
from tracker.access import VIEW_RESTRICTED, restricted_incidents
from tracker.admin.kit import (
    AuditedAdmin,
    DeferredJoinPaginator,
    HistoryAdmin,
    ReadOnlyAdmin,
    count_of,
)
from tracker.display import time_with_zone

HASH = re.compile(r"[0-9a-f]{32,128}")  # a digest: SHA-256 and its kin, lower-case hex
DEEPEST = 4  # nesting shown as rows; below it a value is written as JSON text
NO_DETAILS = "–"


def detail_rows(value: dict | list, depth: int = 0) -> list[dict]:
    """A custody event's details as rows (``key``, ``text`` or nested ``rows``, ``hash``):
    a mapping by its keys, a list by position, a list of plain values as one text."""
    pairs = value.items() if isinstance(value, dict) else enumerate(value, start=1)
    rows = []
    for key, item in pairs:
        row: dict = {"key": str(key).replace("_", " "), "rows": None, "hash": False}
        if isinstance(item, dict | list) and item and depth < DEEPEST:
            if isinstance(item, list) and not any(isinstance(v, dict | list) for v in item):
                row["text"] = ", ".join(_plain(v) for v in item)
            else:
                row["rows"] = detail_rows(item, depth + 1)
        else:
            row["text"] = _plain(item)
            row["hash"] = isinstance(item, str) and HASH.fullmatch(item) is not None
        rows.append(row)
    return rows


def _plain(value: object) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return NO_DETAILS
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def details_html(details: object) -> str:
    """Rows of key and value, escaped by the template (the details hold what users
    typed: a sender's words, a file name), hashes in monospace."""
    if not isinstance(details, dict | list) or not details:
        return _plain(details)
    return render_to_string("admin/evidence/custody_details.html", {"rows": detail_rows(details)})


def _restricted(event: CustodyEvent) -> frozenset[str]:
    """The restricted incidents' codes, looked up only for details that name a code."""
    if "INC-" not in json.dumps(event.details):
        return frozenset()
    return frozenset(restricted_incidents().values_list("code", flat=True))


class ShowsCustodyDetails:
    """Custody details as rows, without a protected item's file name for those who may
    not see it (``access.custody_details``): ``readable_details`` or ``shown_details``;
    ``team_…`` also without the codes of restricted incidents, for those who may not
    know of them."""

    def _details_field(self, request, item: EvidenceItem | None) -> str:
        visible = item is None or access.file_name_shown(
            item, request.user.has_perm(access.VIEW_PROTECTED)
        )
        field = "readable_details" if visible else "shown_details"
        # A bag's incidents (an item of an open and a restricted incident): their codes
        # are withheld from those who may not know of the restricted one.
        return field if request.user.has_perm(VIEW_RESTRICTED) else f"team_{field}"

    @admin.display(description="details")
    def readable_details(self, obj: CustodyEvent) -> str:
        return details_html(obj.details)

    @admin.display(description="details")
    def shown_details(self, obj: CustodyEvent) -> str:
        return details_html(access.custody_details(obj.details, shown=False))

    @admin.display(description="details")
    def team_readable_details(self, obj: CustodyEvent) -> str:
        return details_html(access.custody_details(obj.details, True, _restricted(obj)))

    @admin.display(description="details")
    def team_shown_details(self, obj: CustodyEvent) -> str:
        return details_html(access.custody_details(obj.details, False, _restricted(obj)))

    @admin.display(description="at", ordering="at")
    def when(self, obj: CustodyEvent) -> str:
        return time_with_zone(obj.at)


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

    list_display = ("when", "item", "sequence", "action", "actor", "short_hash")
    fields = (
        "item",
        "sequence",
        "action",
        "actor",
        "when",
        "observed",
        "details",
        "previous",
        "event",
    )
    list_select_related = ("item", "actor")
    list_filter = ("action",)
    search_fields = ("item__code", "=observed_sha256")
    show_full_result_count = False

    @admin.display(description="event hash")
    def short_hash(self, obj: CustodyEvent) -> str:
        return obj.event_hash[:16] + "…"

    @admin.display(description="observed SHA-256")
    def observed(self, obj: CustodyEvent) -> str:
        return format_html("<code>{}</code>", obj.observed_sha256) if obj.observed_sha256 else "–"

    @admin.display(description="previous event hash")
    def previous(self, obj: CustodyEvent) -> str:
        return format_html("<code>{}</code>", obj.previous_hash) if obj.previous_hash else "–"

    @admin.display(description="event hash")
    def event(self, obj: CustodyEvent) -> str:
        return format_html("<code>{}</code>", obj.event_hash)

    def get_fields(self, request, obj=None):
        details = self._details_field(request, obj.item if obj else None)
        return [details if f == "details" else f for f in self.fields]

    def get_readonly_fields(self, request, obj=None):
        return (
            *super().get_readonly_fields(request, obj),
            *(f for f in self.fields if f != "details"),
            "readable_details",
            "shown_details",
            "team_readable_details",
            "team_shown_details",
        )


@admin.register(SatelliteImage)
class SatelliteImageAdmin(HistoryAdmin):
    form = SceneForm
    list_display = ("item", "provider", "sensor", "captured", "resolution_m", "before")
    ordering = ("-pk",)
    list_select_related = ("item", "before__item")
    list_filter = ("provider",)
    search_fields = ("item__code", "scene_id", "provider")
    autocomplete_fields = ("item", "before")
    show_full_result_count = False

    @admin.display(description="captured at", ordering="captured_at")
    def captured(self, obj: SatelliteImage) -> str:
        return time_with_zone(obj.captured_at) or "–"


@admin.register(Testimony)
class TestimonyAdmin(HistoryAdmin):
    form = TestimonyForm
    list_display = ("item", "witness", "interview_date", "method", "language", "consent_given")
    list_select_related = ("item", "witness")
    list_filter = ("method", "consent_given", "consent_share_courts")
    search_fields = ("item__code", "witness__pseudonym", "summary")
    autocomplete_fields = ("item", "witness")
    show_full_result_count = False
