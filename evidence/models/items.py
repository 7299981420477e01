"""Evidence items, their links to incidents, derivatives and kind-specific details."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from tracker.models import (
    LATITUDE,
    LONGITUDE,
    Audited,
    Coded,
    DatePrecision,
    Incident,
    Place,
    ReviewStatus,
    SourceType,
    coordinates_pair,
)


class EvidenceItem(Coded, Audited):
    code_prefix, code_width = "EV", 6

    class Kind(models.TextChoices):
        PHOTO = "photo", "photo"
        VIDEO = "video", "video"
        SATELLITE = "satellite", "satellite image"
        FLIGHT_LOG = "flight_log", "flight log"
        TESTIMONY = "testimony", "testimony"
        DOCUMENT = "document", "document"
        AUDIO = "audio", "audio"
        WEB_CAPTURE = "web_capture", "web capture"

    kind = models.CharField(max_length=12, choices=Kind.choices, db_index=True)
    title = models.CharField(max_length=200, help_text="Short description shown in lists.")
    description = models.TextField(blank=True, help_text="What it shows or says, and its context.")

    # The original file: written once by evidence.intake, never changed afterwards.
    original_path = models.CharField(
        max_length=200,
        blank=True,
        editable=False,
        help_text="Storage key of the original (originals/ab/cd/<sha256>).",
    )
    original_filename = models.CharField(
        max_length=255,
        blank=True,
        editable=False,
        help_text="File name as received (metadata only).",
    )
    size = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    media_type = models.CharField(max_length=100, blank=True, editable=False)
    sha256 = models.CharField(max_length=64, blank=True, editable=False)
    perceptual_hash = models.CharField(
        max_length=16, blank=True, editable=False, help_text="Difference hash (64 bits, hex)."
    )
    # The hash in four 16-bit bands: two hashes within 3 bits of each other share at
    # least one band exactly, so near-duplicates are found by indexed equality.
    phash_band_0 = models.CharField(max_length=4, blank=True, editable=False)
    phash_band_1 = models.CharField(max_length=4, blank=True, editable=False)
    phash_band_2 = models.CharField(max_length=4, blank=True, editable=False)
    phash_band_3 = models.CharField(max_length=4, blank=True, editable=False)
    near_duplicates = models.ManyToManyField(
        "self",
        blank=True,
        editable=False,
        help_text="Images that look like this one (perceptual hashes within 3 bits).",
    )
    derivative_problem = models.CharField(
        max_length=300,
        blank=True,
        editable=False,
        help_text="Why no preview could be made (the original is kept regardless).",
    )
    playable_problem = models.CharField(
        max_length=300,
        blank=True,
        editable=False,
        help_text="Why no playable copy of a video or audio file could be made.",
    )

    captured_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the source says it was recorded (claimed, not proven).",
    )
    captured_precision = models.CharField(
        max_length=8, choices=DatePrecision.choices, default=DatePrecision.MINUTE
    )
    captured_place = models.ForeignKey(
        Place, models.PROTECT, null=True, blank=True, related_name="+"
    )
    captured_latitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, validators=LATITUDE
    )
    captured_longitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, validators=LONGITUDE
    )

    source_type = models.ForeignKey(SourceType, models.PROTECT, null=True, blank=True)
    source_name = models.CharField(
        max_length=200, blank=True, help_text="Who provided it (a pseudonym for protected sources)."
    )
    source_url = models.URLField(max_length=500, blank=True)
    acquired_at = models.DateTimeField(
        null=True, blank=True, help_text="When the team received it."
    )
    acquired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )

    status = models.CharField(
        max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT, editable=False
    )
    verification_method = models.TextField(
        blank=True, help_text="How it was checked: geolocation, chronolocation, source contact…"
    )
    is_graphic = models.BooleanField("graphic", default=False, help_text="Blurred until clicked.")
    identifies_people = models.BooleanField(default=False)
    is_protected = models.BooleanField(
        "protected", default=False, help_text="Could endanger a source or witness if disclosed."
    )

    incidents = models.ManyToManyField(Incident, through="EvidenceLink", related_name="evidence")

    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        permissions = [
            ("review_evidenceitem", "Can review evidence items (verify, reject, request changes)"),
            ("publish_evidenceitem", "Can publish and reopen evidence items"),
        ]
        indexes = [
            models.Index(fields=["status", "kind"], name="evidence_status_kind_idx"),
            models.Index(fields=["captured_at"], name="evidence_captured_idx"),
            models.Index(fields=["phash_band_0"], name="evidence_phash_band0_idx"),
            models.Index(fields=["phash_band_1"], name="evidence_phash_band1_idx"),
            models.Index(fields=["phash_band_2"], name="evidence_phash_band2_idx"),
            models.Index(fields=["phash_band_3"], name="evidence_phash_band3_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["sha256"],
                condition=~Q(sha256=""),
                name="evidence_unique_sha256",
                violation_error_message="This file is already held as another evidence item.",
            ),
            models.CheckConstraint(
                condition=Q(sha256="") | Q(sha256__regex=r"^[0-9a-f]{64}$"),
                name="evidence_sha256_hex",
            ),
            coordinates_pair(
                "captured_latitude", "captured_longitude", name="evidence_coordinates_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("admin:evidence_evidenceitem_change", args=[self.pk])


# The kinds by a name of their own (the API description names its enums by it).
EvidenceKind = EvidenceItem.Kind


class EvidenceLink(models.Model):
    item = models.ForeignKey(EvidenceItem, models.CASCADE, related_name="links")
    incident = models.ForeignKey(Incident, models.CASCADE, related_name="evidence_links")
    relevance = models.CharField(
        max_length=300, blank=True, help_text="What this item shows about the incident."
    )
    relied_on = models.BooleanField(
        default=True, help_text="Untick if the finding does not rest on this item."
    )
    # What this item reports of the dead, when it reports a figure: corroboration
    # compares the figures of an incident's sources (ranges that do not meet disagree).
    killed_min = models.PositiveIntegerField(
        "killed (min) it reports", null=True, blank=True, help_text="Lowest figure it gives."
    )
    killed_max = models.PositiveIntegerField(
        "killed (max) it reports", null=True, blank=True, help_text="Highest figure it gives."
    )

    # Who linked, unlinked or changed what, and when: four eyes reads it (tracker.workflow).
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "incident"], name="evidence_link_unique"),
            models.CheckConstraint(
                condition=Q(killed_min__isnull=True)
                | Q(killed_max__isnull=True)
                | Q(killed_min__lte=F("killed_max")),
                name="evidence_link_killed_min_le_max",
                violation_error_message="Killed (min) cannot exceed killed (max).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item.code} → {self.incident.code}"

    def clean(self) -> None:
        from tracker import locks

        locks.check_link(self)


class Derivative(models.Model):
    """A thumbnail, preview, keyframe or playable copy made from an original, free of
    identifying metadata."""

    class Kind(models.TextChoices):
        THUMBNAIL = "thumbnail", "thumbnail (≤ 400 px)"
        PREVIEW = "preview", "preview (≤ 1600 px)"
        KEYFRAME = "keyframe", "keyframe (≤ 960 px)"
        PLAYABLE = "playable", "playable copy"

    item = models.ForeignKey(EvidenceItem, models.CASCADE, related_name="derivatives")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    path = models.CharField(max_length=200)
    media_type = models.CharField(max_length=50, default="image/jpeg")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    # A video's keyframes: their order, their time in the video, and their difference
    # hash in four bands (as the item's), so a re-encoded copy of the clip is found by
    # indexed equality.
    position = models.PositiveSmallIntegerField(default=0)
    seconds = models.FloatField(null=True, blank=True)
    dhash = models.CharField(max_length=16, blank=True)
    band_0 = models.CharField(max_length=4, blank=True)
    band_1 = models.CharField(max_length=4, blank=True)
    band_2 = models.CharField(max_length=4, blank=True)
    band_3 = models.CharField(max_length=4, blank=True)

    class Meta:
        ordering = ["kind", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "kind", "position"], name="derivative_one_per_kind_position"
            ),
        ]
        indexes = [
            models.Index(fields=["band_0"], name="derivative_band0_idx"),
            models.Index(fields=["band_1"], name="derivative_band1_idx"),
            models.Index(fields=["band_2"], name="derivative_band2_idx"),
            models.Index(fields=["band_3"], name="derivative_band3_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} {self.kind}"


class PhotoMetadata(models.Model):
    """What the file's EXIF claims (camera, time, GPS): claims to verify, not facts."""

    item = models.OneToOneField(EvidenceItem, models.CASCADE, related_name="photo")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    camera_make = models.CharField(max_length=100, blank=True)
    camera_model = models.CharField(max_length=100, blank=True)
    taken_at = models.DateTimeField(
        null=True, blank=True, help_text="The camera's time placed in UTC: only with its offset."
    )
    taken_at_offset = models.CharField(
        max_length=6, blank=True, help_text="UTC offset recorded by the camera, e.g. +03:00."
    )
    taken_at_as_recorded = models.CharField(
        max_length=19,
        blank=True,
        help_text="The camera's clock as the file records it (2019-05-14 09:40:12), whether "
        "or not an offset was recorded with it.",
    )
    gps_latitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, validators=LATITUDE
    )
    gps_longitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, validators=LONGITUDE
    )
    gps_altitude = models.FloatField(null=True, blank=True, help_text="Metres above sea level.")
    orientation = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "photo metadata"

    def __str__(self) -> str:
        return f"EXIF of {self.item_id}"

    @property
    def camera_clock(self) -> datetime | None:
        """What the camera's clock read: aware in the offset it recorded with it, naive
        when it recorded none (its zone unknown), None when the file gives no time."""
        if self.taken_at is not None:
            try:
                zone = datetime.fromisoformat(f"2000-01-01T00:00{self.taken_at_offset}").tzinfo
            except ValueError:
                zone = None
            return self.taken_at.astimezone(zone) if zone is not None else self.taken_at
        try:
            return datetime.fromisoformat(self.taken_at_as_recorded)
        except ValueError:
            return None


class SatelliteImage(models.Model):
    item = models.OneToOneField(EvidenceItem, models.CASCADE, related_name="satellite")
    provider = models.CharField(max_length=100, blank=True, help_text="e.g. Maxar, Planet, Airbus.")
    sensor = models.CharField(max_length=100, blank=True, help_text="e.g. WorldView-3.")
    scene_id = models.CharField(max_length=150, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    resolution_m = models.FloatField(
        "resolution (m/pixel)", null=True, blank=True, validators=[MinValueValidator(0)]
    )
    west = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, validators=LONGITUDE
    )
    south = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, validators=LATITUDE
    )
    east = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, validators=LONGITUDE
    )
    north = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, validators=LATITUDE
    )
    cloud_cover = models.FloatField(
        "cloud cover (%)",
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    before = models.OneToOneField(
        "self",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="after",
        help_text="For an 'after' image: the 'before' image of the same footprint.",
    )

    # Who changed what: an edit here is an edit of the item (four eyes, tracker.workflow).
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(south__isnull=True) | Q(north__isnull=True) | Q(south__lte=F("north")),
                name="satellite_south_le_north",
                violation_error_message="The southern bound must be south of the northern bound.",
            ),
            models.CheckConstraint(
                condition=Q(cloud_cover__isnull=True) | Q(cloud_cover__gte=0, cloud_cover__lte=100),
                name="satellite_cloud_cover_pct",
            ),
            models.CheckConstraint(
                condition=~Q(before=F("id")),
                name="satellite_not_own_before",
            ),
        ]

    def __str__(self) -> str:
        # No query: choices and history pages list many of them.
        if self.scene_id:
            return f"{self.provider} scene {self.scene_id}".strip()
        return f"Scene of item {self.item_id}"

    def clean(self) -> None:
        from evidence import visibility  # the policy (imports this module)

        visibility.check_before(self)
