"""What a capture by link saw (``evidence.capture``): the address asked for and reached,
when, the server's answer and the tools used, the page's visible text and a digest of
its content (to compare with other captures of the address, as far as a viewer may see
them: ``capturing.history``). The captured bytes (a WACZ) are the item's file; the
screenshot, the PDF and the media on the page are items of their own, tied to the
capture as its parts."""

from __future__ import annotations

from django.db import models

from evidence.models.items import EvidenceItem


class WebCapture(models.Model):
    item = models.OneToOneField(EvidenceItem, models.CASCADE, related_name="web")
    url = models.URLField("address asked for", max_length=2000)
    final_url = models.URLField("address reached", max_length=2000, blank=True)
    captured_at = models.DateTimeField(help_text="When the tracker fetched it.")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    http_headers = models.JSONField(default=list, blank=True, help_text="As the server sent them.")
    redirects = models.JSONField(default=list, blank=True)
    page_title = models.CharField(max_length=300, blank=True)
    server_address = models.GenericIPAddressField(null=True, blank=True)
    tools = models.JSONField(default=dict, blank=True, help_text="Versions of what made it.")
    not_made = models.TextField(
        blank=True,
        help_text="Parts of a full capture this one does not hold, and why.",
    )
    text = models.TextField("visible text", blank=True, help_text="As the browser showed it.")
    content_digest = models.CharField(
        max_length=64,
        blank=True,
        help_text="SHA-256 of the visible text and the media's hashes: what is compared.",
    )
    requests = models.PositiveIntegerField("requests made", default=0)
    refused = models.JSONField(
        "requests refused",
        default=list,
        blank=True,
        help_text="Requests the page made that were not fetched, and why.",
    )

    class Meta:
        indexes = [models.Index(fields=["url", "captured_at"], name="webcapture_url_time_idx")]

    def __str__(self) -> str:
        return f"Capture of {self.url[:80]}"


class CapturePart(models.Model):
    """An item made by a capture: its screenshot, its PDF, or media found on the page."""

    class Role(models.TextChoices):
        SCREENSHOT = "screenshot", "screenshot"
        PDF = "pdf", "PDF print"
        MEDIA = "media", "media on the page"

    capture = models.ForeignKey(WebCapture, models.CASCADE, related_name="parts")
    item = models.ForeignKey(EvidenceItem, models.CASCADE, related_name="capture_parts")
    role = models.CharField(max_length=10, choices=Role.choices)
    url = models.URLField("address", max_length=2000, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["capture", "item"], name="capturepart_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} of {self.capture_id}"
