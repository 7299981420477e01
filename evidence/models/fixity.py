"""Fixity checks: when each item's original was last re-hashed by the scheduled pass,
and what was found (``evidence.files.fixity_runs``).

One row per check. ``latest`` marks each item's newest check (at most one per item, a
partial unique index), so that "oldest-checked first", "never checked" and "last full
pass" are index reads, not a scan of every item's checks. Failures are also recorded
in the custody log (a ``verified`` event); these rows are the pass's own record and
are not part of the chain.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from evidence.models.items import EvidenceItem


class FixityCheck(models.Model):
    class Result(models.TextChoices):
        # The first four are ``evidence.files.fixity``'s results for the file itself.
        OK = "ok", "ok"
        MISMATCH = "mismatch", "file does not match its hash"
        MISSING = "missing", "file missing"
        NO_ORIGINAL = "no original", "no original (nothing to hash)"
        LOG_MISMATCH = "log mismatch", "row and custody log disagree"
        CHAIN_BROKEN = "chain broken", "custody chain broken"

    # Results that are not a problem: every other result is a failure.
    SOUND = (Result.OK, Result.NO_ORIGINAL)

    item = models.ForeignKey(EvidenceItem, models.PROTECT, related_name="fixity_checks")
    checked_at = models.DateTimeField(default=timezone.now)
    result = models.CharField(max_length=12, choices=Result.choices)
    # The SHA-256 read from the file at the row's path ("" if none was read).
    observed = models.CharField(max_length=64, blank=True)
    # The problems found, one per line, as ``verify_evidence`` prints them.
    problems = models.TextField(blank=True)
    # The item's newest check (set by ``evidence.files.fixity_runs`` only).
    latest = models.BooleanField(default=True)

    class Meta:
        ordering = ["-checked_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["item"], condition=Q(latest=True), name="fixity_one_latest_per_item"
            ),
        ]
        indexes = [
            models.Index(fields=["item", "-checked_at"], name="fixity_item_checked"),
            # Oldest-checked first, and the last full pass (the oldest latest check).
            models.Index(
                fields=["checked_at"], condition=Q(latest=True), name="fixity_latest_checked"
            ),
            # The Fixity page's recent failures.
            models.Index(
                fields=["-checked_at"],
                condition=~Q(result__in=["ok", "no original"]),
                name="fixity_failures",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} {self.checked_at:%Y-%m-%d %H:%M} {self.result}"

    @property
    def failed(self) -> bool:
        return self.result not in self.SOUND
