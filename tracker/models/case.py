"""Incidents, their places and relations, and the vocabularies an editor manages."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from tracker.models.base import (
    LATITUDE,
    LONGITUDE,
    Audited,
    Coded,
    DatePrecision,
    LocationPrecision,
    ReviewStatus,
    Sensitivity,
    coordinates_pair,
)
from tracker.responsibility.names import PLACE_KEY_FIELDS, place_keys

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
    # Search keys (tracker.responsibility.names.place_keys) of the fields in KEYED, filled
    # by save(): the name, the other names, the district and governorate.
    KEYED = ("name", "alternative_names", "district", "governorate")
    KEYS = PLACE_KEY_FIELDS
    name_keys = models.TextField(blank=True, editable=False)
    other_keys = models.TextField(blank=True, editable=False)
    area_keys = models.TextField(blank=True, editable=False)

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

    def save(self, *args, **kwargs) -> None:
        self.fill_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and set(update_fields) & set(self.KEYED):
            kwargs["update_fields"] = {*update_fields, *self.KEYS}
        super().save(*args, **kwargs)

    def fill_keys(self) -> None:
        """Set the search keys from the names (for paths that skip save(), bulk_create)."""
        names = {field: getattr(self, field) for field in self.KEYED}
        for field, keys in place_keys(**names).items():
            setattr(self, field, keys)


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
        """The team's page of the incident (the admin's "View on site")."""
        return reverse("incidents:detail", args=[self.code])

    def clean(self) -> None:
        """An incident happened: its start and end are not in the future. Every write
        that validates (the admin's form, the demo's build) asks this one rule."""
        from tracker.responsibility import periods  # the rule (imports this module)

        errors = {}
        for name in ("occurred_start", "occurred_end"):
            try:
                periods.check_not_future(getattr(self, name))
            except ValidationError as exc:
                errors[name] = exc.error_list
        if errors:
            raise ValidationError(errors)


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
