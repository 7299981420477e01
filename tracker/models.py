"""The case: incidents, places, vocabularies, forces, units, officials,
postings, attributions and the review log."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from tracker import codes
from tracker.responsibility.names import keys_field, loose_key, search_key

LATITUDE = [MinValueValidator(-90), MaxValueValidator(90)]
LONGITUDE = [MinValueValidator(-180), MaxValueValidator(180)]
COORDINATES_PAIR = "Give both latitude (-90 to 90) and longitude (-180 to 180), or neither."


def coordinates_pair(latitude: str, longitude: str, *, name: str) -> models.CheckConstraint:
    """The one rule of an optional pair of coordinates, for a model's constraints: both
    or neither, each within its range (WGS84 degrees)."""
    return models.CheckConstraint(
        condition=Q(**{f"{latitude}__isnull": True, f"{longitude}__isnull": True})
        | Q(
            **{
                f"{latitude}__isnull": False,
                f"{longitude}__isnull": False,
                f"{latitude}__gte": -90,
                f"{latitude}__lte": 90,
                f"{longitude}__gte": -180,
                f"{longitude}__lte": 180,
            }
        ),
        name=name,
        violation_error_message=COORDINATES_PAIR,
    )


class DatePrecision(models.TextChoices):
    """How exactly a recorded time is known. The stored value is the start of
    the period (e.g. 2019-05-01 00:00 for "May 2019")."""

    MINUTE = "minute", "to the minute"
    HOUR = "hour", "to the hour"
    DAY = "day", "to the day"
    MONTH = "month", "to the month"
    YEAR = "year", "to the year"


class LocationPrecision(models.TextChoices):
    EXACT = "exact", "exact site"
    WITHIN_100M = "100m", "within 100 m"
    NEIGHBOURHOOD = "neighbourhood", "neighbourhood"
    TOWN = "town", "town"
    DISTRICT = "district", "district"
    GOVERNORATE = "governorate", "governorate"


class ReviewStatus(models.TextChoices):
    """Shared by incidents and evidence items; only tracker.workflow changes it."""

    DRAFT = "draft", "draft"
    SUBMITTED = "submitted", "submitted"
    CHANGES_REQUESTED = "changes_requested", "changes requested"
    VERIFIED = "verified", "verified"
    PUBLISHED = "published", "published"
    REJECTED = "rejected", "rejected"


class Sensitivity(models.TextChoices):
    NORMAL = "normal", "normal"
    SENSITIVE = "sensitive", "sensitive (team only)"
    RESTRICTED = "restricted", "restricted (named people only)"


class CodeCounter(models.Model):
    """The last number handed out for a code prefix (see tracker.codes)."""

    prefix = models.CharField(max_length=8, primary_key=True)
    last = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last}"


class Audited(models.Model):
    """Who created and last changed a record, and when."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        abstract = True


class Coded(models.Model):
    """A record known by a human code (INC-0001, EV-000001), handed out by its first
    save (``tracker.codes.assigned``): the code is the record's identity, so every path
    that saves one (admin, intake, demo, factories) gets it without having to remember."""

    code_prefix: ClassVar[str]
    code_width: ClassVar[int]

    code = models.CharField(max_length=16, unique=True, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if self.code:
            return super().save(*args, **kwargs)
        with codes.assigned(self, self.code_prefix, self.code_width, using=kwargs.get("using")):
            super().save(*args, **kwargs)


# --- Vocabularies: tables an editor manages -------------------------------------------


class Vocabulary(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(
        blank=True, help_text="What the term covers, for consistent use."
    )
    active = models.BooleanField(default=True, help_text="Retired terms stay on old records.")

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AttackType(Vocabulary):
    class Meta(Vocabulary.Meta):
        pass


class Weapon(Vocabulary):
    class Platform(models.TextChoices):
        HELICOPTER = "helicopter", "helicopter"
        FIXED_WING = "fixed_wing", "fixed-wing aircraft"
        AIRCRAFT = "aircraft", "any aircraft"
        DRONE = "drone", "drone"
        GROUND = "ground", "ground-launched"
        UNKNOWN = "unknown", "unknown"

    platform = models.CharField(
        max_length=12,
        choices=Platform.choices,
        default=Platform.UNKNOWN,
        help_text="What usually delivers it; used to rank flight observations against a strike.",
    )

    class Meta(Vocabulary.Meta):
        pass


class TargetType(Vocabulary):
    colour = models.CharField(
        max_length=7, default="#666666", help_text="Colour on maps and charts (#rrggbb)."
    )

    class Meta(Vocabulary.Meta):
        pass


class SourceType(Vocabulary):
    class Meta(Vocabulary.Meta):
        pass


# --- Places -------------------------------------------------------------------------


class Place(models.Model):
    """A gazetteer entry: a town, village or neighbourhood."""

    name = models.CharField(max_length=150, help_text="Name as the team writes it.")
    alternative_names = models.TextField(
        blank=True, help_text="Other spellings and scripts, one per line."
    )
    governorate = models.CharField(max_length=100, db_index=True)
    district = models.CharField(max_length=100, blank=True, db_index=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, validators=LATITUDE)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, validators=LONGITUDE)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "district", "governorate"], name="place_unique_name_in_district"
            ),
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90), name="place_latitude_range"
            ),
            models.CheckConstraint(
                condition=Q(longitude__gte=-180, longitude__lte=180), name="place_longitude_range"
            ),
        ]

    def __str__(self) -> str:
        parts = [self.name, self.district, self.governorate]
        return ", ".join(p for p in parts if p)


# --- Incidents ----------------------------------------------------------------------


class IncidentQuerySet(models.QuerySet):
    def in_period(self, start, end):
        return self.filter(occurred_start__gte=start, occurred_start__lt=end)

    def with_status(self, *statuses: str):
        return self.filter(status__in=statuses)


class Incident(Coded, Audited):
    code_prefix, code_width = "INC", 4

    class HarmGrade(models.TextChoices):
        CONFIRMED = "confirmed", "confirmed"
        FAIR = "fair", "fair"
        WEAK = "weak", "weak"
        CONTESTED = "contested", "contested"
        DISCOUNTED = "discounted", "discounted"

    code = models.CharField(  # Coded's, with its help
        max_length=16, unique=True, editable=False, help_text="Assigned on save."
    )
    title = models.CharField(max_length=200, help_text="Short and factual: what, where, when.")
    narrative = models.TextField(
        blank=True, help_text="What happened, as established so far. Cite evidence codes (EV-…)."
    )
    occurred_start = models.DateTimeField(
        help_text="When it happened (local time). For a date known only to the day or month, "
        "enter its first moment and choose the precision."
    )
    start_precision = models.CharField(
        max_length=8, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    occurred_end = models.DateTimeField(
        null=True, blank=True, help_text="Only for attacks that lasted (e.g. shelling over hours)."
    )
    place = models.ForeignKey(
        Place,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        help_text="The town or neighbourhood from the gazetteer.",
    )
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=LATITUDE,
        help_text="Decimal degrees (WGS84), e.g. 35.8245.",
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=LONGITUDE,
        help_text="Decimal degrees (WGS84), e.g. 36.3190.",
    )
    location_precision = models.CharField(
        max_length=16,
        choices=LocationPrecision.choices,
        default=LocationPrecision.TOWN,
        help_text="How exactly the coordinates locate the strike.",
    )
    attack_type = models.ForeignKey(AttackType, models.PROTECT, null=True, blank=True)
    weapon = models.ForeignKey(
        Weapon,
        models.PROTECT,
        null=True,
        blank=True,
        help_text="As identified from remnants, footage or witnesses; leave empty if unknown.",
    )
    target_types = models.ManyToManyField(
        TargetType, blank=True, related_name="incidents", help_text="Every kind of site hit."
    )
    killed_min = models.PositiveIntegerField(
        null=True, blank=True, help_text="Lowest credible count."
    )
    killed_max = models.PositiveIntegerField(
        null=True, blank=True, help_text="Highest credible count."
    )
    injured_min = models.PositiveIntegerField(null=True, blank=True)
    injured_max = models.PositiveIntegerField(null=True, blank=True)
    children_killed = models.PositiveIntegerField(null=True, blank=True)
    women_killed = models.PositiveIntegerField(null=True, blank=True)
    civilian_harm = models.CharField(
        "civilian-harm grade",
        max_length=12,
        choices=HarmGrade.choices,
        blank=True,
        help_text="Confirmed: two or more independent reliable sources. Fair: one reliable source. "
        "Weak: single unverified source. Contested: sources disagree. Discounted: ruled out.",
    )
    related = models.ManyToManyField(
        "self", through="IncidentRelation", symmetrical=False, related_name="+", blank=True
    )
    status = models.CharField(
        max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT, editable=False
    )
    sensitivity = models.CharField(
        max_length=12, choices=Sensitivity.choices, default=Sensitivity.NORMAL
    )

    history = HistoricalRecords(m2m_fields=[target_types])
    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_start", "-id"]
        permissions = [
            ("review_incident", "Can review incidents (verify, reject, request changes)"),
            ("publish_incident", "Can publish and reopen incidents"),
            ("view_restricted_incident", "Can see incidents marked restricted"),
        ]
        indexes = [
            models.Index(fields=["occurred_start", "id"], name="incident_occurred_idx"),
            models.Index(fields=["status", "occurred_start"], name="incident_status_idx"),
            # Filtered by grade, in the list's order: a deep page walks this index only.
            models.Index(
                fields=["civilian_harm", "occurred_start", "id"], name="incident_harm_date_idx"
            ),
            models.Index(fields=["killed_max"], name="incident_killed_idx"),
            # The few restricted incidents, found without a scan (tracker.access).
            models.Index(
                fields=["id"],
                condition=Q(sensitivity="restricted"),
                name="incident_restricted_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(killed_min__isnull=True)
                | Q(killed_max__isnull=True)
                | Q(killed_min__lte=F("killed_max")),
                name="incident_killed_min_le_max",
                violation_error_message="Killed (min) cannot exceed killed (max).",
            ),
            models.CheckConstraint(
                condition=Q(injured_min__isnull=True)
                | Q(injured_max__isnull=True)
                | Q(injured_min__lte=F("injured_max")),
                name="incident_injured_min_le_max",
                violation_error_message="Injured (min) cannot exceed injured (max).",
            ),
            models.CheckConstraint(
                condition=Q(children_killed__isnull=True)
                | Q(killed_max__isnull=True)
                | Q(children_killed__lte=F("killed_max")),
                name="incident_children_le_killed",
                violation_error_message="Children killed cannot exceed killed (max).",
            ),
            models.CheckConstraint(
                condition=Q(women_killed__isnull=True)
                | Q(killed_max__isnull=True)
                | Q(women_killed__lte=F("killed_max")),
                name="incident_women_le_killed",
                violation_error_message="Women killed cannot exceed killed (max).",
            ),
            models.CheckConstraint(
                condition=Q(occurred_end__isnull=True) | Q(occurred_end__gte=F("occurred_start")),
                name="incident_end_after_start",
                violation_error_message="The end cannot be before the start.",
            ),
            coordinates_pair("latitude", "longitude", name="incident_coordinates_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("admin:tracker_incident_change", args=[self.pk])


class IncidentRelation(models.Model):
    class Kind(models.TextChoices):
        FOLLOW_UP = "follow_up", "follow-up strike (double tap)"
        SAME_OPERATION = "same_operation", "same operation"
        DUPLICATE = "duplicate", "duplicate report"

    from_incident = models.ForeignKey(Incident, models.CASCADE, related_name="relations_from")
    to_incident = models.ForeignKey(Incident, models.CASCADE, related_name="relations_to")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    note = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["from_incident", "to_incident", "kind"], name="incident_relation_unique"
            ),
            models.CheckConstraint(
                condition=~Q(from_incident=F("to_incident")),
                name="incident_relation_not_self",
                violation_error_message="An incident cannot be related to itself.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_incident_id} {self.get_kind_display()} {self.to_incident_id}"

    def clean(self) -> None:
        from tracker import locks  # the lock rule (imports this module)

        locks.check_relation(self)


# --- Forces, units, officials, postings -----------------------------------------------


class Force(models.Model):
    name = models.CharField(max_length=150, unique=True)
    short_name = models.CharField(max_length=30, blank=True)
    country = models.CharField(max_length=80, blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    force = models.ForeignKey(Force, models.PROTECT, related_name="units")
    parent = models.ForeignKey(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text="The unit directly above; empty for the top of the force.",
    )
    name = models.CharField(max_length=150)
    aliases = models.TextField(blank=True, help_text="Other names, any script, one per line.")
    search_keys = models.TextField(blank=True, editable=False)
    loose_keys = models.TextField(blank=True, editable=False)
    source = models.TextField(
        blank=True, help_text="Where this unit's existence and place come from."
    )

    class Meta:
        ordering = ["force__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["force", "name"], name="unit_unique_name_in_force"),
            models.CheckConstraint(
                condition=~Q(parent=F("id")),
                name="unit_not_own_parent",
                violation_error_message="A unit cannot be its own parent.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        names = [self.name, *self.aliases.splitlines()]
        self.search_keys = "|" + "|".join(search_key(n) for n in names if n.strip()) + "|"
        self.loose_keys = keys_field(loose_key(n) for n in names if n.strip())
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """Refuse a parent that is this unit or lies below it (a loop in the tree)."""
        from django.core.exceptions import ValidationError

        from tracker.responsibility.chain import parent_loop_message

        super().clean()
        message = parent_loop_message(self)
        if message:
            raise ValidationError({"parent": message})


class Official(Audited):
    name = models.CharField(
        max_length=200, help_text="The name as the team writes it (Latin script)."
    )
    name_key = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    loose_key = models.CharField(max_length=400, blank=True, editable=False)
    nationality = models.CharField(max_length=80, blank=True)
    born = models.CharField(max_length=10, blank=True, help_text="YYYY, YYYY-MM or YYYY-MM-DD.")
    biography = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.name_key = search_key(self.name)
        self.loose_key = loose_key(self.name)
        super().save(*args, **kwargs)


class OfficialAlias(models.Model):
    class Script(models.TextChoices):
        LATIN = "latin", "Latin"
        ARABIC = "arabic", "Arabic"
        CYRILLIC = "cyrillic", "Cyrillic"
        OTHER = "other", "other"

    official = models.ForeignKey(Official, models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=200)
    script = models.CharField(max_length=10, choices=Script.choices, default=Script.LATIN)
    language = models.CharField(max_length=12, blank=True, help_text="e.g. ar, ru, en.")
    key = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    loose_key = models.CharField(max_length=400, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "official aliases"
        constraints = [
            models.UniqueConstraint(fields=["official", "name"], name="official_alias_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.key = search_key(self.name)
        self.loose_key = loose_key(self.name)
        super().save(*args, **kwargs)


class Position(models.Model):
    """A posting: an official holding a title in a unit for a (possibly uncertain) period."""

    official = models.ForeignKey(Official, models.CASCADE, related_name="positions")
    unit = models.ForeignKey(Unit, models.PROTECT, related_name="positions")
    title = models.CharField(max_length=120, help_text="Commander, Chief of Staff, …")
    rank = models.CharField(max_length=80, blank=True)
    is_command = models.BooleanField(
        default=True, help_text="Does this post carry command over the unit (and units below)?"
    )
    is_acting = models.BooleanField(default=False, help_text="Acting or interim holder.")
    start = models.DateField(null=True, blank=True, help_text="First day of the period if unsure.")
    start_precision = models.CharField(
        max_length=8, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    end = models.DateField(null=True, blank=True, help_text="Empty: still in post or unknown.")
    end_precision = models.CharField(
        max_length=8, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    source = models.TextField(blank=True, help_text="Citation for this posting.")

    class Meta:
        ordering = ["unit_id", "start"]
        indexes = [models.Index(fields=["unit", "start", "end"], name="position_unit_dates_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__isnull=True) | Q(end__isnull=True) | Q(end__gte=F("start")),
                name="position_end_after_start",
                violation_error_message="A posting cannot end before it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.official} – {self.title}, {self.unit}"


class Attribution(Audited):
    class Role(models.TextChoices):
        DIRECT = "direct", "direct perpetrator"
        ORDERED = "ordered", "ordered"
        PLANNED = "planned", "planned"
        COMMANDER = "commander", "commander (command responsibility)"
        FAILED_TO_PREVENT = "failed_prevent", "commander: failed to prevent"
        FAILED_TO_PUNISH = "failed_punish", "commander: failed to punish"
        AIDED = "aided", "aided or abetted"
        SUSPECTED = "suspected", "suspected"

    class Confidence(models.TextChoices):
        HIGH = "high", "high"
        MEDIUM = "medium", "medium"
        LOW = "low", "low"

    incident = models.ForeignKey(Incident, models.CASCADE, related_name="attributions")
    force = models.ForeignKey(Force, models.PROTECT, null=True, blank=True, related_name="+")
    unit = models.ForeignKey(
        Unit, models.PROTECT, null=True, blank=True, related_name="attributions"
    )
    official = models.ForeignKey(
        Official, models.PROTECT, null=True, blank=True, related_name="attributions"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.SUSPECTED)
    confidence = models.CharField(max_length=8, choices=Confidence.choices, default=Confidence.LOW)
    basis = models.TextField(
        blank=True, help_text="Why: the reasoning that ties this actor to the incident."
    )
    supporting_evidence = models.ManyToManyField(
        "evidence.EvidenceItem",
        blank=True,
        related_name="attributions",
        help_text="Evidence items that support this attribution.",
    )
    relied_on = models.BooleanField(
        default=True,
        help_text="Untick if the incident's finding does not rest on this attribution: "
        "then it need not be verified before the incident is.",
    )
    status = models.CharField(
        max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT, editable=False
    )

    history = HistoricalRecords(m2m_fields=[supporting_evidence])

    class Meta:
        permissions = [
            ("review_attribution", "Can review attributions (verify, reject, request changes)"),
            ("publish_attribution", "Can publish and reopen attributions"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(force__isnull=False)
                | Q(unit__isnull=False)
                | Q(official__isnull=False),
                name="attribution_names_someone",
                violation_error_message="Name a force, a unit or an official.",
            ),
        ]

    def __str__(self) -> str:
        who = self.official or self.unit or self.force
        return f"{who} ({self.get_role_display()})"

    def clean(self) -> None:
        from tracker import locks  # the lock rule (imports this module)

        locks.check_attribution(self)


class ReviewEvent(models.Model):
    """One workflow transition of an incident or evidence item (append-only)."""

    content_type = models.ForeignKey(ContentType, models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    action = models.CharField(max_length=20)
    from_status = models.CharField(max_length=20, choices=ReviewStatus.choices)
    to_status = models.CharField(max_length=20, choices=ReviewStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    comment = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "at"], name="review_record_idx")
        ]

    def __str__(self) -> str:
        return f"{self.action}: {self.from_status} → {self.to_status}"
