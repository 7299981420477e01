"""The custody log: append-only, hash-chained events per evidence item.

Each event's hash covers its own content and the previous event's hash, so
changing or deleting any past event breaks every hash after it.
``record`` is the only writer. The model and its queryset refuse updates and
deletes (``AppendOnlyError``); database triggers refuse them for raw SQL too
(migration 0004). ``verify_chain`` recomputes a chain and says where it breaks.

The log, not the item's row, is the reference for which bytes an item is: the
hash in its ``received`` event (``received_hashes``) is sealed in the chain,
while the row's ``sha256`` is a column anyone with database access can change.
``evidence.files.fixity`` compares the two; ``items_naming`` tells the storage audit
which stored files the log still vouches for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import transaction
from django.db.models import Case, When
from django.utils import timezone

from evidence.models import APPEND_ONLY, AppendOnlyError, CustodyEvent, EvidenceItem

__all__ = [
    "APPEND_ONLY",
    "AppendOnlyError",
    "ChainBreak",
    "event_digest",
    "items_naming",
    "payload_digest",
    "received_hashes",
    "received_sha256",
    "record",
    "verify_chain",
    "verify_chains",
]


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
    return payload_digest(payload)


def payload_digest(payload: dict[str, Any]) -> str:
    """SHA-256 of an event's canonical JSON (also how ``verify_bag`` checks a bag's log)."""
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


def received_hashes(item_ids: Iterable[int]) -> dict[int, str]:
    """The hash each item's first ``received`` event names, by primary key ("" for an
    item whose log has none). One query, on the (item, sequence) index.

    The first one, because that is what arrived: an event appended later, by
    whoever can write to the database, cannot move the reference."""
    ids = list(item_ids)
    found: dict[int, str] = {}
    events = (
        CustodyEvent.objects.for_items(ids)
        .filter(action=CustodyEvent.Action.RECEIVED)
        .values_list("item_id", "observed_sha256")
    )
    for pk, sha256 in events:
        found.setdefault(pk, sha256)
    return {pk: found.get(pk, "") for pk in ids}


def received_sha256(item: EvidenceItem) -> str:
    """The hash ``item``'s ``received`` event names ("" if none): see ``received_hashes``."""
    return received_hashes([item.pk])[item.pk]


def items_naming(sha256: str) -> list[str]:
    """Codes of the items whose custody log names ``sha256`` (in any event), items
    whose ``received`` event names it first. A scan of the log (the hash is not
    indexed): for the rare file no row points at, not for every file."""
    events = CustodyEvent.objects.filter(observed_sha256=sha256).annotate(
        received=Case(When(action=CustodyEvent.Action.RECEIVED, then=0), default=1)
    )
    codes = events.order_by("received", "item_id").values_list("item__code", flat=True)
    return list(dict.fromkeys(codes))


@dataclass(frozen=True)
class ChainBreak:
    """Where and why an item's custody chain does not verify."""

    sequence: int  # the event (1-based position in the chain) that fails
    reason: str

    def __str__(self) -> str:
        return f"event {self.sequence}: {self.reason}"


def verify_chain(item: EvidenceItem) -> list[ChainBreak]:
    """Recompute ``item``'s chain; an empty list means it verifies. One query."""
    return verify_chains([item])[item.pk]


def verify_chains(items: Iterable[EvidenceItem]) -> dict[int, list[ChainBreak]]:
    """Recompute the chains of several items in one query and one pass.

    Returns the problems of each item by primary key, in chain order. Checked:
    sequence numbers run 1..n without gaps, each event names the stored hash of
    the one before it, and each stored hash matches the event's content. An
    item holding an original must have a chain (intake always writes one).

    What no chain check can see: the last events removed together, or every
    hash from some point on recomputed, by someone with write access to the
    database. Copies of chain heads kept elsewhere (exports, verification
    reports) are what show that.
    """
    by_id = {item.pk: item for item in items}
    problems: dict[int, list[ChainBreak]] = {pk: [] for pk in by_id}
    expected: dict[int, int] = {}  # next sequence number, per item
    previous: dict[int, str] = {}  # stored hash of the event before, per item
    for event in CustodyEvent.objects.for_items(list(by_id)).iterator():
        pk = event.item_id
        found = problems[pk]
        position = expected.get(pk, 1)
        if event.sequence != position:
            found.append(
                ChainBreak(position, f"expected event {position}, found event {event.sequence}")
            )
        if event.previous_hash != previous.get(pk, ""):
            found.append(
                ChainBreak(event.sequence, "does not link to the hash of the event before it")
            )
        if event_digest(event, by_id[pk].code) != event.event_hash:
            found.append(ChainBreak(event.sequence, "content does not match its hash"))
        expected[pk] = event.sequence + 1
        previous[pk] = event.event_hash
    for pk, item in by_id.items():
        if pk not in expected and item.sha256:
            problems[pk].append(ChainBreak(1, "no custody events for an item with an original"))
    return problems
