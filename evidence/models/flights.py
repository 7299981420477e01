"""Flight-spotter logs, their observations, and observations confirmed as matching an incident."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from evidence.models.items import EvidenceItem
from tracker.models import (
    LATITUDE,
    LONGITUDE,
    Incident,
)


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
