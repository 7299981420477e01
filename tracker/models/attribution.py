"""Attributions of an incident to a force, unit or official, and the review log."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from tracker.models.base import Audited, ReviewStatus
from tracker.models.case import Incident
from tracker.models.forces import Force, Official, Unit


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
