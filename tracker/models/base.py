"""The case's shared pieces: coordinates, choices, the audit stamps, coded records."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from tracker import codes

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
