"""What a capture by link saw (``evidence.capture``): the address asked for and reached,
when, the server's answer and the tools used. The captured bytes are the item's file."""

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
    not_made = models.CharField(
        max_length=300,
        blank=True,
        help_text="Parts of a full capture this one does not hold, and why.",
    )

    class Meta:
        indexes = [models.Index(fields=["url", "captured_at"], name="webcapture_url_time_idx")]

    def __str__(self) -> str:
        return f"Capture of {self.url[:80]}"
