"""Forces, units (a tree), officials with their aliases, and postings."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from tracker.models.base import Audited, DatePrecision
from tracker.responsibility.names import keys_field, loose_key, search_key

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
