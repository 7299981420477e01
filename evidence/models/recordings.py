"""What a video or audio file claims (``evidence.files.media``): claims to verify, not
facts, read from the original at intake, as a photo's EXIF is."""

from __future__ import annotations

from datetime import datetime

from django.db import models

from evidence.models.items import EvidenceItem
from tracker.models import LATITUDE, LONGITUDE


class Recording(models.Model):
    """Fields a video and an audio file share: container, duration, the recording's
    claimed time, device and place."""

    container = models.CharField(max_length=100, blank=True)
    duration = models.FloatField(
        "duration (s)", null=True, blank=True, help_text="As the header claims."
    )
    bit_rate = models.PositiveBigIntegerField(null=True, blank=True)
    audio_codec = models.CharField(max_length=100, blank=True)
    audio_channels = models.PositiveSmallIntegerField(null=True, blank=True)
    audio_sample_rate = models.PositiveIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The file's recording time, placed in UTC: only with its offset.",
    )
    recorded_at_offset = models.CharField(max_length=6, blank=True)
    recorded_at_as_recorded = models.CharField(
        max_length=40, blank=True, help_text="The time as the file writes it."
    )
    device_make = models.CharField(max_length=100, blank=True)
    device_model = models.CharField(max_length=100, blank=True)
    location_text = models.CharField(
        max_length=100,
        blank=True,
        help_text="The location tag as written (ISO 6709), kept even when it is not coordinates.",
    )
    latitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, validators=LATITUDE
    )
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, validators=LONGITUDE
    )
    altitude = models.FloatField(null=True, blank=True, help_text="Metres, as the tag claims.")

    class Meta:
        abstract = True

    @property
    def device_clock(self) -> datetime | None:
        """The recording time in the offset the file gave with it, None without one."""
        if self.recorded_at is None:
            return None
        try:
            zone = datetime.fromisoformat(f"2000-01-01T00:00{self.recorded_at_offset}").tzinfo
        except ValueError:
            zone = None
        return self.recorded_at.astimezone(zone) if zone is not None else self.recorded_at


class VideoMetadata(Recording):
    item = models.OneToOneField(EvidenceItem, models.CASCADE, related_name="video")
    video_codec = models.CharField(max_length=100, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    rotation = models.PositiveSmallIntegerField(
        default=0, help_text="Degrees counter-clockwise to show it upright."
    )
    frame_rate = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "video metadata"

    def __str__(self) -> str:
        return f"Video tags of {self.item_id}"


class AudioMetadata(Recording):
    item = models.OneToOneField(EvidenceItem, models.CASCADE, related_name="audio")

    class Meta:
        verbose_name_plural = "audio metadata"

    def __str__(self) -> str:
        return f"Audio tags of {self.item_id}"
