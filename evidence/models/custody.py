"""Custody events: the append-only, hash-chained log of each item."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models

from evidence.models.items import EvidenceItem

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
