"""Evidence items in the admin: uploads through the intake path, integrity fields
read-only, their links, details, custody and derivatives inline
(``evidence.admin.inlines``), files only through the protected routes."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.exceptions import DisallowedModelAdminToField
from django.contrib.admin.options import IS_POPUP_VAR, TO_FIELD_VAR
from django.db import models
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from evidence import access, intake, links, players
from evidence.admin import capture, records
from evidence.admin.inlines import KIND_INLINES, CustodyInline, IncidentLinkInline
from evidence.capture import capturing
from evidence.files import derivation
from evidence.forms import ItemForm, UploadForm
from evidence.models import Derivative, EvidenceItem, EvidenceLink
from evidence.visibility import visible_to
from tracker.admin.discussion import AssignedToMeFilter, DiscussionMixin
from tracker.admin.kit import (
    AuditedAdmin,
    HistoryAdmin,
    admin_form,
    count_of,
    status_badge,
)
from tracker.admin.review import ReviewAdminMixin
from tracker.display import time_with_zone
from tracker.models import Job

INTEGRITY_FIELDS = (
    "code",
    "sha256",
    "size",
    "media_type",
    "original_filename",
    "original_path",
    "perceptual_hash",
    "derivative_problem",
    "acquired_at",
    "acquired_by",
)


NO_FILE = "no file"
NO_PREVIEW = "no preview"
RESTRICTED = "restricted: you may not open this item's files"


def _thumbnail_column(user):
    """The list's thumbnail column for ``user``: the access rule needs the viewer,
    which list columns are not given, so the column is made per request. Uses
    the ``has_thumbnail`` annotation and the user's permission cache: no query."""

    @admin.display(description="preview")
    def thumbnail(obj: EvidenceItem) -> str:
        if not obj.original_path:
            return NO_FILE
        if not access.can_view_item(user, obj):
            return RESTRICTED
        if not obj.has_thumbnail:
            return derivation.PENDING if derivation.pending(obj, False) else NO_PREVIEW
        return format_html(
            '<img class="evidence-thumb" src="{}" alt="{}" loading="lazy">',
            reverse("evidence:thumbnail", args=[obj.code]),
            obj.code,
        )

    return thumbnail


PLAYABLE_NOTE = (
    "A small copy made for watching, with every tag of the original removed (time, place, "
    "device). The original is the evidence: download it below."
)
PLAYABLE_PENDING = "playable copy pending"


@admin.register(EvidenceItem)
class EvidenceItemAdmin(DiscussionMixin, ReviewAdminMixin, AuditedAdmin, HistoryAdmin):
    form = ItemForm
    change_list_template = "admin/evidence/evidenceitem_change_list.html"  # "Capture a link"
    list_display = (
        "code",
        "title",
        "kind",
        "media_type",
        "size",
        "captured",
        "flags",
        "status_badge",
        "incident_count",
    )
    list_display_links = ("code", "title")
    list_select_related = ("source_type",)
    view_on_site = False  # its page is this one: no "View on site" that comes back here
    list_filter = (
        "kind",
        "status",
        AssignedToMeFilter,
        "is_graphic",
        "identifies_people",
        "is_protected",
        "source_type",
    )  # no media-type filter: listing its values means a DISTINCT over every item
    search_fields = ("code", "title", "=sha256", "original_filename")
    ordering = ("-id",)
    autocomplete_fields = ("captured_place", "source_type")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = (
        *INTEGRITY_FIELDS,
        "file_name",
        "file_preview",
        "download_original",
        "near_duplicate_links",
        "custody_anchor",
        "from_capture",
        "status_badge",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("code", "status_badge", "kind", "title", "description")}),
        (
            "The original file (fixed at intake)",
            {
                "fields": (
                    "file_preview",
                    "download_original",
                    ("sha256", "size", "media_type"),
                    ("file_name", "original_path"),
                    "perceptual_hash",
                    "near_duplicate_links",
                    "derivative_problem",
                    "custody_anchor",
                )
            },
        ),
        (
            "Claimed capture",
            {
                "fields": (
                    ("captured_at", "captured_precision"),
                    "captured_place",
                    ("captured_latitude", "captured_longitude"),
                )
            },
        ),
        (
            "Source and acquisition",
            {
                "fields": (
                    "source_type",
                    "source_name",
                    "source_url",
                    ("acquired_at", "acquired_by"),
                )
            },
        ),
        (
            "Verification and sensitivity",
            {
                "fields": (
                    "verification_method",
                    ("is_graphic", "identifies_people", "is_protected"),
                )
            },
        ),
        (
            "Record",
            {
                "classes": ("collapse",),
                "fields": ("created_by", "created_at", "updated_by", "updated_at"),
            },
        ),
    )

    class Media:
        # A keyframe's click plays the copy from its time: a static file (the CSP).
        js = ("tracker/js/player.js",)

    def get_queryset(self, request: HttpRequest):
        qs = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            qs = qs.annotate(
                n_incidents=count_of(visible_to(request.user, EvidenceLink.objects.all()), "item"),
                has_thumbnail=Exists(
                    Derivative.objects.filter(item=OuterRef("pk"), kind=Derivative.Kind.THUMBNAIL)
                ),
            )
        return qs

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        """The item's own fields, and for an incident's code ("INC-0053") the items linked
        to it (a link the user may see: ``evidence.links.linked_to_incident``)."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        linked = links.linked_to_incident(request.user, search_term)
        if linked is None:
            return found, may_have_duplicates
        return found | queryset.filter(linked), may_have_duplicates

    def get_list_display(self, request: HttpRequest):
        return (_thumbnail_column(request.user), *super().get_list_display(request))

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            # Read by the file fields below, which are not given the request.
            obj.viewer = request.user
            obj.viewer_may_open = access.can_view_item(request.user, obj)
            obj.viewer_sees_file_name = access.file_name_shown(
                obj, request.user.has_perm(access.VIEW_PROTECTED)
            )
        return obj

    @admin.display(description="original filename")
    def file_name(self, obj: EvidenceItem) -> str:
        return access.file_name(obj, getattr(obj, "viewer_sees_file_name", False)) or "–"

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        made_by = EvidenceItem.objects.filter(web__parts__item=obj) if obj else None
        if obj is None or not capturing.shown_to(request.user, made_by).exists():
            return fieldsets  # nor "made by: –", which would tell of a hidden capture
        # A screenshot, PDF or media file a capture made: say which capture.
        return [
            (name, {**options, "fields": (*options["fields"], "from_capture")})
            if name == "Source and acquisition"
            else (name, options)
            for name, options in fieldsets
        ]

    @admin.display(description="custody anchored")
    def custody_anchor(self, obj: EvidenceItem):
        return records.anchored(obj)

    @admin.display(description="made by the capture")
    def from_capture(self, obj: EvidenceItem) -> str:
        return capture.made_by(obj.viewer, obj)

    def get_inlines(self, request, obj):
        if obj is None:
            return ()
        return (IncidentLinkInline, *KIND_INLINES.get(obj.kind, ()), CustodyInline)

    def get_readonly_fields(self, request, obj=None):
        # The kind decides how the file was checked at intake; it cannot change afterwards.
        fields = (*self.readonly_fields, "kind") if obj else self.readonly_fields
        # Unticking "protected" would open the item to everyone: only someone who may
        # already see protected identity can judge that it is safe.
        if obj and obj.is_protected and not request.user.has_perm(access.VIEW_PROTECTED):
            fields = (*fields, "is_protected")
        return fields

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        """Adding evidence means uploading files: every file goes through intake.ingest.
        Opened from the "+" beside an item field (a pop-up), it takes one file and hands
        the item (or the one already holding the same file) back to that field."""
        if not self.has_add_permission(request):
            return super().add_view(request, form_url, extra_context)
        popup = IS_POPUP_VAR in request.POST or IS_POPUP_VAR in request.GET
        to_field = request.POST.get(TO_FIELD_VAR, request.GET.get(TO_FIELD_VAR))
        if to_field and not self.to_field_allowed(request, to_field):
            raise DisallowedModelAdminToField(f"The field {to_field} cannot be referenced.")
        initial = {"incident": request.GET.get("incident")} if "incident" in request.GET else {}
        form = UploadForm(
            request.POST or None,
            request.FILES or None,
            user=request.user,
            initial=initial,
            single=popup,
        )
        if request.method == "POST" and form.is_valid():
            with form.sources() as sources:
                stored = self._ingest_all(request, form, sources)
            form.release()
            if popup and stored:
                return self.response_add(request, stored[0])
            if len(stored) == 1:
                return HttpResponseRedirect(
                    reverse("admin:evidence_evidenceitem_change", args=[stored[0].pk])
                )
            return HttpResponseRedirect(reverse("admin:evidence_evidenceitem_changelist"))
        if request.method == "POST":
            form.keep_files()  # shown again with the files: they need not be chosen again
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload evidence",
            "form": form,
            "adminform": admin_form(form),
            "opts": self.model._meta,
            "has_view_permission": self.has_view_permission(request),
            "is_popup": popup,
            "is_popup_var": IS_POPUP_VAR,
            "to_field": to_field,
            "to_field_var": TO_FIELD_VAR,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/evidence/upload.html", context)

    def _ingest_all(self, request: HttpRequest, form: UploadForm, sources) -> list[EvidenceItem]:
        data = form.cleaned_data
        stored: list[EvidenceItem] = []
        extra = {
            "description": data["description"],
            "source_type": data["source_type"],
            "source_name": data["source_name"],
            "is_graphic": data["is_graphic"],
            "identifies_people": data["identifies_people"],
            "is_protected": data["is_protected"],
        }
        for upload, name in sources:
            try:
                result = intake.ingest(
                    upload,
                    filename=name,
                    kind=data["kind"],
                    by=request.user,
                    title=data["title"],
                    incident=data["incident"],
                    relevance=data["relevance"],
                    received_from=data["received_from"],
                    **extra,
                )
            except intake.IntakeError as exc:
                self.message_user(request, f"Refused {name}: {exc}", messages.ERROR)
                continue
            if result.withheld:
                # Held in an item this user may not see: say nothing of it.
                self.message_user(request, f"{name}: {intake.SET_ASIDE}", messages.WARNING)
                continue
            stored.append(result.item)
            if result.duplicate:
                self.message_user(
                    request,
                    f"{name} is already held as {result.item.code}: linked, not stored again.",
                    messages.WARNING,
                )
            else:
                self.message_user(request, f"Stored {name} as {result.item.code}.")
        return stored

    @admin.display(description="captured at", ordering="captured_at")
    def captured(self, obj: EvidenceItem) -> str:
        return time_with_zone(obj.captured_at, precision=obj.captured_precision) or "–"

    @admin.display(description="flags")
    def flags(self, obj: EvidenceItem) -> str:
        names = [
            ("graphic", obj.is_graphic),
            ("identifies people", obj.identifies_people),
            ("protected", obj.is_protected),
        ]
        return ", ".join(n for n, on in names if on)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: EvidenceItem) -> str:
        return status_badge(obj.status)

    @admin.display(description="incidents", ordering="n_incidents")
    def incident_count(self, obj: EvidenceItem) -> int:
        return obj.n_incidents

    @admin.display(description="preview")
    def file_preview(self, obj: EvidenceItem) -> str:
        if not obj.original_path:
            return NO_FILE
        if not getattr(obj, "viewer_may_open", False):
            return RESTRICTED
        kinds = set(obj.derivatives.values_list("kind", flat=True))
        if not kinds and obj.media_type == "application/wacz":
            return capture.screenshot_preview(obj.viewer, obj) or NO_PREVIEW
        if not kinds and derivation.pending(obj, False):
            return self.derivatives_job(obj)
        if not kinds:
            return NO_PREVIEW  # the reason, if any, is under "derivative problem"
        if Derivative.Kind.PLAYABLE in kinds or Derivative.Kind.KEYFRAME in kinds:
            return self.recording_preview(obj)
        shown = "thumbnail" if Derivative.Kind.THUMBNAIL in kinds else "preview"
        image = format_html(
            '<img class="evidence-preview" src="{}" alt="{}">',
            reverse(f"evidence:{shown}", args=[obj.code]),
            obj.code,
        )
        if Derivative.Kind.PREVIEW not in kinds:
            return image
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse("evidence:preview", args=[obj.code]),
            image,
        )

    @staticmethod
    def recording_preview(obj: EvidenceItem) -> str:
        """A video's or audio file's playable copy in the browser (never the original),
        its poster or waveform, and a video's keyframes as a strip, each with its time
        (``evidence.players``); a keyframe's click plays the copy from there."""
        made = {(d.kind, d.position): d for d in obj.derivatives.all()}
        parts = []
        poster = reverse("evidence:preview", args=[obj.code]) if ("preview", 0) in made else ""
        if ("playable", 0) in made:
            tag = players.player_tag(made[("playable", 0)].media_type)
            if tag == "audio" and poster:
                parts.append(
                    format_html('<img class="evidence-preview" src="{}" alt="waveform">', poster)
                )
            parts.append(players.player(obj.code, tag, poster))
            parts.append(format_html('<p class="help">{}</p>', PLAYABLE_NOTE))
        elif poster:
            parts.append(
                format_html('<img class="evidence-preview" src="{}" alt="{}">', poster, obj.code)
            )
            parts.append(
                format_html(
                    '<p class="help">{}</p>',
                    PLAYABLE_PENDING if not obj.playable_problem else obj.playable_problem,
                )
            )
        frames = sorted((p, d.seconds) for (kind, p), d in made.items() if kind == "keyframe")
        parts.append(players.keyframe_strip(obj.code, frames))
        return format_html(
            '<div class="evidence-recording" data-player>{}</div>',
            format_html_join("", "{}", ((part,) for part in parts)),
        )

    @staticmethod
    def derivatives_job(obj: EvidenceItem) -> str:
        """ "Derivatives pending", with the state of the job that makes them."""
        job = Job.objects.filter(kind=Job.Kind.DERIVATIVES, target=obj.code).first()
        if job is None:
            return f"{derivation.PENDING}: not yet asked for (a worker's clock will)"
        state = job.get_state_display()
        if job.state == Job.State.QUEUED and job.error:
            state = f"queued again after an error ({job.error})"
        elif job.state == Job.State.FAILED:
            state = f"failed: {job.error} (an Editor may try it again on the jobs page)"
        return f"{derivation.PENDING}: job {job.pk}, {state}"

    @admin.display(description="original")
    def download_original(self, obj: EvidenceItem) -> str:
        if not obj.original_path:
            return NO_FILE
        if not getattr(obj, "viewer_may_open", False):
            return RESTRICTED
        return format_html(
            '<a class="download-original" href="{}">Download original</a> '
            '<span class="help">(recorded in the chain of custody)</span>',
            reverse("evidence:original", args=[obj.code]),
        )

    @admin.display(description="near-duplicates")
    def near_duplicate_links(self, obj: EvidenceItem) -> str:
        # Only those the viewer may know exist (a hidden item is no one's look-alike).
        # Nor a protected one they may not open: "looks like" would say which interview
        # or witness's photo their file shows.
        others = access.openable_items(obj.viewer, obj.near_duplicates.all())
        others = visible_to(obj.viewer, others).order_by("code").only("pk", "code")
        if not others:
            return "none found"
        return format_html_join(
            ", ",
            'looks like <a href="{}">{}</a>',
            (
                (reverse("admin:evidence_evidenceitem_change", args=[other.pk]), other.code)
                for other in others
            ),
        )
