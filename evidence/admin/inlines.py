"""What an evidence item's admin page shows inline: its links to incidents, what its
file claims (EXIF), its scene or testimony, its chain of custody and derivatives, by
kind (``KIND_INLINES``)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from evidence import access
from evidence.admin.records import ShowsCustodyDetails
from evidence.capture import capturing, fetching
from evidence.forms import SceneForm, TestimonyForm
from evidence.models import (
    AudioMetadata,
    CapturePart,
    CustodyEvent,
    Derivative,
    EvidenceItem,
    EvidenceLink,
    PhotoMetadata,
    SatelliteImage,
    Testimony,
    VideoMetadata,
    WebCapture,
)
from tracker.admin import kit
from tracker.admin.review import LockedWithParentInline
from tracker.display import time_with_zone


class ReadOnlyInline(kit.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class IncidentLinkInline(LockedWithParentInline, kit.TabularInline):
    model = EvidenceLink
    fk_name = "item"
    extra = 0
    autocomplete_fields = ("incident",)
    fields = ("incident", "relevance", "relied_on", "killed_min", "killed_max")
    verbose_name_plural = "incidents this item concerns"

    def get_queryset(self, request):
        # A link to a restricted incident is not shown (the policy), so never changed here.
        return super().get_queryset(request).select_related("item", "incident")


# The camera's time is shown once, as the camera recorded it (``taken``).
CLOCK_FIELDS = ("id", "item", "taken_at", "taken_at_offset", "taken_at_as_recorded")
NOT_RECORDED = "not recorded"


def map_link(item: EvidenceItem, lat, lon, missing: str) -> str:
    """A position the file claims, linked to OpenStreetMap, except for a protected item."""
    if lat is None or lon is None:
        return missing
    if item.is_protected:
        # Opening a map sends the position to a third party: not for protected items.
        return "not linked to an outside map: protected item"
    return format_html(
        '<a href="{}" rel="noopener noreferrer" target="_blank">{}, {} on OpenStreetMap</a>',
        f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}",
        lat,
        lon,
    )


class PhotoMetadataInline(kit.StackedInline):
    model = PhotoMetadata
    can_delete = False
    fields = readonly_fields = [
        "taken",
        *(f.name for f in PhotoMetadata._meta.fields if f.name not in CLOCK_FIELDS),
        "map_link",
    ]
    verbose_name_plural = "what the file's EXIF claims"

    def get_fields(self, request, obj=None):
        if obj is not None and not access.can_view_item(request.user, obj):
            # A protected photo's camera and position could point to its source.
            kept = [name for name in self.fields if name not in (*access.PHOTO_SOURCE, "map_link")]
            return [*kept, "withheld"]
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description="camera and position")
    def withheld(self, obj) -> str:
        return access.WITHHELD

    @admin.display(description="taken at")
    def taken(self, obj: PhotoMetadata) -> str:
        """In the offset the camera recorded (``… UTC+03:00``), or as read with "(zone not
        recorded)": a clock without its zone is not placed in any zone."""
        clock = obj.camera_clock
        if clock is None:
            return NOT_RECORDED
        return time_with_zone(clock, zone=clock.tzinfo)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("item")

    @admin.display(description="GPS on a map")
    def map_link(self, obj: PhotoMetadata) -> str:
        return map_link(obj.item, obj.gps_latitude, obj.gps_longitude, "no GPS position")


class SatelliteImageInline(LockedWithParentInline, kit.StackedInline):
    model = SatelliteImage
    form = SceneForm
    fk_name = "item"
    can_delete = False
    autocomplete_fields = ("before",)
    fields = (
        ("provider", "sensor", "scene_id"),
        ("captured_at", "resolution_m", "cloud_cover"),
        ("west", "south", "east", "north"),
        "before",
    )


class TestimonyInline(LockedWithParentInline, kit.StackedInline):
    model = Testimony
    form = TestimonyForm
    can_delete = False
    autocomplete_fields = ("witness",)
    fields = (
        "witness",
        ("interview_date", "method", "language", "interviewer"),
        "summary",
        ("consent_given", "consent_quote", "consent_name", "consent_share_courts"),
    )


class CustodyInline(ShowsCustodyDetails, ReadOnlyInline):
    model = CustodyEvent
    fields = ("sequence", "action", "actor", "when", "observed", "details", "hashes")
    readonly_fields = ("sequence", "action", "actor", "when", "observed")  # and the columns
    ordering = ("sequence",)
    verbose_name_plural = "chain of custody"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "item")

    @admin.display(description="observed SHA-256")
    def observed(self, obj: CustodyEvent) -> str:
        return (
            format_html(
                '<code title="{}">{}…</code>', obj.observed_sha256, obj.observed_sha256[:16]
            )
            if obj.observed_sha256
            else "–"
        )


class DerivativeInline(ReadOnlyInline):
    model = Derivative
    fields = ("kind", "position", "seconds", "width", "height", "sha256", "created_at")
    readonly_fields = fields


# A recording's time is shown once, as the file recorded it (``recorded``).
RECORDING_CLOCK = ("id", "item", "recorded_at", "recorded_at_offset", "recorded_at_as_recorded")


class RecordingInline(kit.StackedInline):
    """What a video or audio file's tags claim, shown as a photo's EXIF is."""

    can_delete = False

    def get_fields(self, request, obj=None):
        names = [f.name for f in self.model._meta.fields if f.name not in RECORDING_CLOCK]
        if obj is not None and not access.can_view_item(request.user, obj):
            # A protected item's claimed device and place could point to its source.
            shown = [name for name in names if name not in access.RECORDING_SOURCE]
            return ["recorded", *shown, "withheld"]
        return ["recorded", *names, "map_link"]

    @admin.display(description="device and place")
    def withheld(self, obj) -> str:
        return access.WITHHELD

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("item")

    @admin.display(description="recorded at")
    def recorded(self, obj) -> str:
        """In the offset the file gave with it, or the tag as written."""
        if obj.recorded_at is not None:
            return time_with_zone(obj.device_clock, zone=obj.device_clock.tzinfo)
        return obj.recorded_at_as_recorded or NOT_RECORDED

    @admin.display(description="location on a map")
    def map_link(self, obj) -> str:
        return map_link(obj.item, obj.latitude, obj.longitude, "no location as coordinates")


class WebCaptureInline(kit.StackedInline):
    """What a capture by link saw: the address asked for and reached, when, the answer,
    the files it made (screenshot, PDF, media: items of their own), and every capture
    of the same address, with whether the content changed."""

    model = WebCapture
    can_delete = False
    fields = readonly_fields = (
        "address",
        "final_url",
        "captured_at",
        "http_status",
        "page_title",
        "content_change",
        "other_captures",
        "made_items",
        "requests",
        "refused_requests",
        "redirects",
        "server_address",
        "visible_text",
        "http_headers",
        "tools",
        "not_made",
    )
    verbose_name = verbose_name_plural = "what the capture saw"

    def get_queryset(self, request):
        self.viewer = request.user  # an inline is made for each request
        return super().get_queryset(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="address asked for")
    def address(self, web: WebCapture) -> str:
        """The address as stored (punycode host) and, for a host in another script, as
        people write it: a look-alike host shows itself."""
        readable = fetching.readable(web.url)
        if readable == web.url:
            return web.url
        return format_html('{} <span class="help">(written {})</span>', web.url, readable)

    @admin.display(description="content")
    def content_change(self, web: WebCapture) -> str:
        changed = {capture.pk: change for capture, change in self._history(web)}
        return {
            None: "the first capture of this address",
            True: "differs from the last capture of this address (visible text or media)",
            False: "the same as the last capture of this address (visible text and media)",
        }[changed.get(web.pk)]

    @admin.display(description="captures of this address")
    def other_captures(self, web: WebCapture) -> str:
        rows = []
        for other, changed in self._history(web):
            link = reverse("admin:evidence_evidenceitem_change", args=[other.item_id])
            mark = " (this one)" if other.pk == web.pk else ""
            change = {None: "first", True: "changed", False: "unchanged"}[changed]
            rows.append((link, other.item.code, time_with_zone(other.captured_at), change, mark))
        return format_html(
            '<ol class="capture-history">{}</ol>',
            format_html_join("", '<li><a href="{}">{}</a> {}, {}{}</li>', rows),
        )

    def _history(self, web: WebCapture) -> list:
        if getattr(self, "_seen", (None,))[0] != web.pk:  # once per page, not per field
            self._seen = (web.pk, capturing.history(self.viewer, web))
        return self._seen[1]

    @admin.display(description="files made")
    def made_items(self, web: WebCapture) -> str:
        parts = list(capturing.parts_shown(self.viewer, web))
        if not parts:
            return "none"
        return format_html(
            '<ul class="capture-parts">{}</ul>',
            format_html_join(
                "",
                '<li>{}: <a href="{}">{}</a> {}</li>',
                (
                    (
                        part.get_role_display(),
                        reverse("admin:evidence_evidenceitem_change", args=[part.item_id]),
                        part.item.code,
                        part.url if part.role == CapturePart.Role.MEDIA else "",
                    )
                    for part in parts
                ),
            ),
        )

    @admin.display(description="requests refused")
    def refused_requests(self, web: WebCapture) -> str:
        if not web.refused:
            return "none"
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", web.refused[:100])
        )

    @admin.display(description="visible text")
    def visible_text(self, web: WebCapture) -> str:
        text = web.text[:3000] + ("…" if len(web.text) > 3000 else "")
        return format_html('<div class="capture-text">{}</div>', text or "–")


class VideoMetadataInline(RecordingInline):
    model = VideoMetadata
    verbose_name = verbose_name_plural = "what the video's tags claim"


class AudioMetadataInline(RecordingInline):
    model = AudioMetadata
    verbose_name = verbose_name_plural = "what the audio file's tags claim"


KIND_INLINES = {
    EvidenceItem.Kind.PHOTO: (PhotoMetadataInline, DerivativeInline),
    EvidenceItem.Kind.SATELLITE: (SatelliteImageInline, DerivativeInline),
    EvidenceItem.Kind.TESTIMONY: (TestimonyInline,),
    EvidenceItem.Kind.WEB_CAPTURE: (WebCaptureInline, DerivativeInline),
    EvidenceItem.Kind.VIDEO: (VideoMetadataInline, AudioMetadataInline, DerivativeInline),
    EvidenceItem.Kind.AUDIO: (AudioMetadataInline, VideoMetadataInline, DerivativeInline),
}
