"""Witnesses (protected identity) and their testimony."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from evidence.models.items import EvidenceItem
from tracker.models import (
    Audited,
)


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

    item = models.OneToOneField(
        EvidenceItem,
        models.CASCADE,
        related_name="testimony",
        # Every face that offers items for a testimony (the admin's choices, its
        # autocomplete, a model's full_clean) offers testimony items only.
        limit_choices_to={"kind": EvidenceItem.Kind.TESTIMONY},
        help_text="The testimony item (its file: the recording or transcript).",
    )
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
