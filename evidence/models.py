"""Evidence items, their files and kind-specific details, witnesses, custody."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
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


class EvidenceLink(models.Model):
    item = models.ForeignKey(EvidenceItem, models.CASCADE, related_name="links")
    incident = models.ForeignKey(Incident, models.CASCADE, related_name="evidence_links")
    relevance = models.CharField(
        max_length=300, blank=True, help_text="What this item shows about the incident."
    )
    relied_on = models.BooleanField(
        default=True, help_text="Untick if the finding does not rest on this item."
    )

    # Who linked, unlinked or changed what, and when: four eyes reads it (tracker.workflow).
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "incident"], name="evidence_link_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.item.code} → {self.incident.code}"

    def clean(self) -> None:
        from tracker import locks

        locks.check_link(self)


class Derivative(models.Model):
    """A thumbnail or preview made from an original, free of identifying metadata."""

    class Kind(models.TextChoices):
        THUMBNAIL = "thumbnail", "thumbnail (≤ 400 px)"
        PREVIEW = "preview", "preview (≤ 1600 px)"

    item = models.ForeignKey(EvidenceItem, models.CASCADE, related_name="derivatives")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    path = models.CharField(max_length=200)
    media_type = models.CharField(max_length=50, default="image/jpeg")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "kind"], name="derivative_one_per_kind"),
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
    taken_at = models.DateTimeField(null=True, blank=True)
    taken_at_offset = models.CharField(
        max_length=6, blank=True, help_text="UTC offset recorded by the camera, e.g. +03:00."
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


class FlightLog(models.Model):
    """A spotter log file (the evidence item) and how it was imported."""

    item = models.OneToOneField(EvidenceItem, models.CASCADE, related_name="flight_log")
    assumed_time_zone = models.CharField(
        max_length=64, blank=True, help_text="Zone applied to times written without an offset."
    )
    imported_at = models.DateTimeField(null=True, blank=True)
    row_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Flight log {self.item_id}"


class FlightObservation(models.Model):
    class AircraftClass(models.TextChoices):
        JET = "jet", "fixed-wing jet"
        HELICOPTER = "helicopter", "helicopter"
        DRONE = "drone", "drone"
        UNKNOWN = "unknown", "unknown"

    log = models.ForeignKey(FlightLog, models.CASCADE, related_name="observations")
    line_number = models.PositiveIntegerField(help_text="Line in the file (header is line 1).")
    raw = models.TextField(help_text="The row as written.")
    observed_at = models.DateTimeField()
    station = models.CharField(max_length=50, help_text="Spotter post code (a pseudonym).")
    station_latitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, validators=LATITUDE
    )
    station_longitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, validators=LONGITUDE
    )
    aircraft_type = models.CharField(max_length=60)
    aircraft_class = models.CharField(
        max_length=12, choices=AircraftClass.choices, default=AircraftClass.UNKNOWN
    )
    aircraft_count = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    nationality_raw = models.CharField(max_length=30, blank=True)
    nationality = models.CharField(max_length=7, blank=True, help_text="RU, SY or unknown.")
    origin = models.CharField(max_length=80, blank=True)
    heading_raw = models.CharField(max_length=10, blank=True)
    heading = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(359)], help_text="Degrees 0-359."
    )
    callsign = models.CharField(max_length=60, blank=True)
    activity = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    extra = models.JSONField(
        default=dict, blank=True, help_text="Columns the tracker does not know."
    )

    class Meta:
        ordering = ["observed_at", "id"]
        # The list's own order, so that a page is an index walk (with observed_at alone
        # PostgreSQL sorted a million rows for every page); also the ranking's time window.
        indexes = [models.Index(fields=["observed_at", "id"], name="flightobs_observed_id_idx")]
        constraints = [
            models.UniqueConstraint(fields=["log", "line_number"], name="flightobs_line_unique"),
            models.CheckConstraint(
                condition=Q(heading__isnull=True) | Q(heading__lte=359),
                name="flightobs_heading_range",
            ),
            models.CheckConstraint(
                condition=Q(aircraft_count__gte=1), name="flightobs_count_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.observed_at:%Y-%m-%d %H:%M} {self.station} {self.aircraft_type}"


class Witness(Audited):
    """A person who gave testimony. Real identity is readable only with the
    permission ``evidence.view_protected_identity``."""

    class Role(models.TextChoices):
        SURVIVOR = "survivor", "survivor"
        RELATIVE = "relative", "relative of a victim"
        MEDICAL = "medical", "medical staff"
        RESCUER = "rescuer", "rescuer / civil defence"
        EYEWITNESS = "eyewitness", "eyewitness"
        OTHER = "other", "other"

    pseudonym = models.CharField(
        max_length=80, unique=True, help_text="The only name used in reports, e.g. 'Witness K-14'."
    )
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.EYEWITNESS)
    real_name = models.CharField(max_length=200, blank=True, help_text="Protected.")
    contact = models.TextField(blank=True, help_text="Protected. Phone, messaging handle, address.")
    notes = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "witnesses"
        permissions = [("view_protected_identity", "Can view protected witness identity")]

    def __str__(self) -> str:
        return self.pseudonym


class Testimony(models.Model):
    class Method(models.TextChoices):
        IN_PERSON = "in_person", "in person"
        PHONE = "phone", "phone"
        VIDEO_CALL = "video_call", "video call"
        MESSAGING = "messaging", "messaging app"
        WRITTEN = "written", "written statement"

    item = models.OneToOneField(EvidenceItem, models.CASCADE, related_name="testimony")
    witness = models.ForeignKey(Witness, models.PROTECT, related_name="testimonies")
    interview_date = models.DateField()
    method = models.CharField(max_length=12, choices=Method.choices, default=Method.IN_PERSON)
    language = models.CharField(max_length=40, default="Arabic")
    interviewer = models.CharField(max_length=100, help_text="Team member who took the interview.")
    summary = models.TextField(help_text="What the witness said, without identifying details.")
    consent_given = models.BooleanField(default=False)
    consent_quote = models.BooleanField("may quote", default=False)
    consent_name = models.BooleanField("may name", default=False)
    consent_share_courts = models.BooleanField("may share with courts", default=False)

    # Who changed what: an edit here is an edit of the item (four eyes, tracker.workflow).
    # The witness is kept by key only: no identity is copied here.
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "testimonies"
        constraints = [
            models.CheckConstraint(
                condition=Q(consent_given=True)
                | Q(consent_quote=False, consent_name=False, consent_share_courts=False),
                name="testimony_scope_needs_consent",
                violation_error_message="A consent scope needs consent to have been given.",
            ),
        ]

    def __str__(self) -> str:
        return f"Testimony {self.item_id} ({self.witness})"


APPEND_ONLY = "The custody log is append-only."


class AppendOnlyError(PermissionDenied):
    """Raised when code tries to change or remove a custody event."""

    def __init__(self, message: str = APPEND_ONLY) -> None:
        super().__init__(message)


class CustodyEventQuerySet(models.QuerySet):
    """Reads only: bulk updates and deletes are refused (the database refuses them too)."""

    def update(self, **kwargs):
        raise AppendOnlyError()

    def delete(self):
        raise AppendOnlyError()

    def for_items(self, item_ids) -> CustodyEventQuerySet:
        """The chains of several items, each in sequence order (one query)."""
        return self.filter(item_id__in=item_ids).order_by("item_id", "sequence")


class CustodyEvent(models.Model):
    """One step in an item's chain of custody. Append-only and hash-chained:
    each event stores the previous event's hash and its own (evidence.files.custody).

    ``evidence.files.custody.record`` is the only writer; a saved event cannot be
    saved again or deleted, here or (through triggers) in the database."""

    class Action(models.TextChoices):
        ACQUIRED = "acquired", "acquired"
        RECEIVED = "received", "received and hashed"
        DERIVATIVE = "derivative", "derivative created"
        VIEWED = "viewed", "viewed"
        DOWNLOADED = "downloaded", "downloaded"
        EXPORTED = "exported", "exported"
        VERIFIED = "verified", "fixity verified"
        TRANSFERRED = "transferred", "transferred"
        DUPLICATE = "duplicate", "same bytes received again"

    item = models.ForeignKey(EvidenceItem, models.PROTECT, related_name="custody_events")
    sequence = models.PositiveIntegerField()
    action = models.CharField(max_length=12, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    at = models.DateTimeField()
    observed_sha256 = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    previous_hash = models.CharField(max_length=64, blank=True)
    event_hash = models.CharField(max_length=64)

    objects = CustodyEventQuerySet.as_manager()

    class Meta:
        ordering = ["item_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["item", "sequence"], name="custody_sequence_unique"),
        ]
        indexes = [models.Index(fields=["at"], name="custody_at_idx")]

    def __str__(self) -> str:
        return f"{self.item_id} #{self.sequence} {self.action}"

    def save(self, *, force_insert=False, force_update=False, using=None, update_fields=None):
        # Inserting is the only write: an event loaded from the database, or a
        # request to update, is refused, and a new event is never turned into an
        # UPDATE of an existing row that happens to have its primary key.
        if not self._state.adding or force_update or update_fields is not None:
            raise AppendOnlyError()
        super().save(force_insert=force_insert or True, using=using)

    def delete(self, using=None, keep_parents=False):
        raise AppendOnlyError()


class FlightMatch(models.Model):
    """A reviewer's finding that an observed flight is consistent with a strike:
    who confirmed it and when, with the score and reasons shown at the time."""

    observation = models.ForeignKey(FlightObservation, models.PROTECT, related_name="matches")
    incident = models.ForeignKey(Incident, models.CASCADE, related_name="flight_matches")
    score = models.FloatField(help_text="The ranking score (0-1) when it was confirmed.")
    reasons = models.TextField(help_text="The ranking's reasons when it was confirmed.")
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField()
    note = models.TextField(
        blank=True, help_text="Why this flight is the one: what else was checked."
    )

    class Meta:
        ordering = ["-confirmed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["observation", "incident"],
                name="flightmatch_unique",
                violation_error_message="This observation is already confirmed for this incident.",
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=1),
                name="flightmatch_score_range",
                violation_error_message="The score must be between 0 and 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.observation_id} → {self.incident_id}"
