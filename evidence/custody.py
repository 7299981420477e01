"""The custody log: append-only, hash-chained events per evidence item.

Each event's hash covers its own content and the previous event's hash, so
changing or deleting any past event breaks every hash after it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any

from django.db import transaction
from django.utils import timezone

from evidence.models import CustodyEvent, EvidenceItem


def event_digest(event: CustodyEvent, item_code: str) -> str:
    payload = {
        "item": item_code,
        "sequence": event.sequence,
        "action": event.action,
        "actor": event.actor_id,
        "at": event.at.isoformat(),
        "observed_sha256": event.observed_sha256,
        "details": event.details,
        "previous_hash": event.previous_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(
    item: EvidenceItem,
    action: str,
    *,
    actor=None,
    observed_sha256: str = "",
    details: dict[str, Any] | None = None,
    at=None,
) -> CustodyEvent:
    """Append one event to ``item``'s chain."""
    with transaction.atomic():
        # Lock the item so two writers cannot take the same sequence number.
        EvidenceItem.objects.select_for_update().filter(pk=item.pk).exists()
        last = item.custody_events.order_by("-sequence").first()
        event = CustodyEvent(
            item=item,
            sequence=(last.sequence + 1) if last else 1,
            action=action,
            actor=actor,
            at=(at or timezone.now()).astimezone(UTC),  # hashed as UTC text
            observed_sha256=observed_sha256,
            details=details or {},
            previous_hash=last.event_hash if last else "",
        )
        event.event_hash = event_digest(event, item.code)
        event.save(force_insert=True)
    return event
