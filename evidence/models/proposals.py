"""The grade the tracker proposes for an incident from the evidence it relies on
(``evidence.corroboration``): the grade, the rule that gave it, its reasons and the
independent sources it counted. Computed again when the evidence changes; the
incident's own grade (``Incident.civilian_harm``) is the reviewer's decision and is
never written here."""

from __future__ import annotations

from django.db import models

from tracker.models import Incident


class GradeProposal(models.Model):
    incident = models.OneToOneField(Incident, models.CASCADE, related_name="grade_proposal")
    # Blank: nothing is relied on, so nothing is proposed.
    grade = models.CharField(max_length=12, choices=Incident.HarmGrade.choices, blank=True)
    rule = models.CharField(max_length=20, help_text="The rule of the table that gave the grade.")
    # [{"check": "time", "verdict": "support"|"contradiction"|"note", "text": "…"}, …]
    reasons = models.JSONField(default=list)
    # [{"items": ["EV-…", …], "why": ["…"], "reliable": bool, "because": "…"}, …]
    sources = models.JSONField(default=list)
    # A digest of grade, reasons and sources: what a reviewer saw when deciding.
    digest = models.CharField(max_length=64)
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["grade"], name="proposal_grade_idx")]

    def __str__(self) -> str:
        return f"Proposed grade of {self.incident_id}: {self.grade or 'none'}"

    @property
    def contradictions(self) -> list[dict]:
        return [r for r in self.reasons if r.get("verdict") == "contradiction"]
