"""The scheduled fixity pass: every original re-hashed, a little at a time.

A *pass* re-checks every item once. It starts at a moment (``started``: when its first
run was asked for) and is complete when every item has a check newer than that. Each
run of the pass (``run``) works within a time budget:

- items never checked come first, then the others by their latest check, oldest first,
  and only those not yet checked in this pass (latest check before ``started``);
- each item goes through ``fixity.verify``, the per-item step of ``verify_evidence``
  (file against row, row against the custody log, the chain), and gets a
  ``FixityCheck`` row; a ``verified`` custody event is recorded only for an item with a
  problem (the rows are the record of the sound ones);
- the run stops when the budget is spent (at least one item is checked, so every run
  moves the pass on), and says what is left; the job handler (``evidence.jobs``) then
  asks for the next run of the same pass;
- Editors hear of the problems found by e-mail after commit, items named by code only
  (``tracker.notifications.fixity_failed``).

Run again within the same pass, a run checks nothing already checked in it. The last
full pass (``last_full_pass``) is the oldest of the items' latest checks: every item
has been checked since. Each query here reads an index (``FixityCheck``'s ``latest``
rows), not every item's checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, Min, OuterRef
from django.utils import timezone

from evidence.files import custody, fixity
from evidence.models import EvidenceItem, FixityCheck
from tracker import jobs, notifications
from tracker.models import Job

BATCH = 100
ITEM_FIELDS = ("pk", "code", "sha256", "original_path")


@dataclass
class Summary:
    """What one run did, and what is left of its pass."""

    checked: int = 0
    failed: list[str] = field(default_factory=list)  # codes of the items with a problem
    problems: int = 0  # problem lines (an item may have several)
    remaining: int = 0  # items not yet checked in this pass
    never_checked: int = 0  # of which never checked at all

    def __str__(self) -> str:
        text = f"checked {self.checked} items, {self.problems} problems"
        if self.failed:
            text += f" ({', '.join(self.failed[:20])}{', …' if len(self.failed) > 20 else ''})"
        text += f"; {self.never_checked} never checked remain"
        if self.remaining:
            text += f"; {self.remaining} left in this pass"
        else:
            text += "; pass complete"
        return text


def remaining(started: datetime) -> tuple[int, int]:
    """Items not yet checked in the pass that started at ``started``, and how many of
    them were never checked. Two counts on indexes."""
    items = EvidenceItem.objects.count()
    latest = FixityCheck.objects.filter(latest=True)
    never = items - latest.count()
    return never + latest.filter(checked_at__lt=started).count(), never


def due(started: datetime, size: int, *, never: bool = True) -> tuple[list[EvidenceItem], bool]:
    """The next ``size`` items to check in the pass that started at ``started``: never
    checked first (by primary key; not looked for with ``never=False``), then by their
    latest check, oldest first. Also whether more never-checked items may be left."""
    found: list[EvidenceItem] = []
    if never:
        checked = FixityCheck.objects.filter(item=OuterRef("pk"))
        unchecked = EvidenceItem.objects.filter(~Exists(checked)).order_by("pk")
        found = list(unchecked.only(*ITEM_FIELDS)[:size])
    more_never = len(found) == size
    if not more_never:
        oldest = FixityCheck.objects.filter(latest=True, checked_at__lt=started)
        ordered = oldest.order_by("checked_at", "item_id").values_list("item_id", flat=True)
        ids = list(ordered[: size - len(found)])
        by_id = EvidenceItem.objects.only(*ITEM_FIELDS).in_bulk(ids)
        found += [by_id[pk] for pk in ids if pk in by_id]
    return found, more_never


def save_check(item: EvidenceItem, found: fixity.Verification, at: datetime) -> FixityCheck:
    """Record ``item``'s check as its latest. The item row is locked, as
    ``custody.record`` does, so two runs cannot both leave a latest check."""
    with transaction.atomic():
        EvidenceItem.objects.select_for_update().filter(pk=item.pk).exists()
        FixityCheck.objects.filter(item=item, latest=True).update(latest=False)
        return FixityCheck.objects.create(
            item=item,
            checked_at=at,
            result=found.result,
            observed=found.found.observed,
            problems="\n".join(found.problems()),
            latest=True,
        )


def run(
    *,
    started: datetime,
    budget: float,
    job: Job | None = None,
    batch: int = BATCH,
    clock: Callable[[], float] | None = None,
) -> Summary:
    """Check items of the pass that started at ``started`` for about ``budget`` seconds
    (``clock``: seconds, ``time.monotonic`` by default; see the module's text); record
    ``job``'s progress, and so renew its lease, after each item."""
    clock = clock or time.monotonic
    summary = Summary()
    total, _ = remaining(started)
    deadline = clock() + budget
    more_never = True
    done: set[int] = set()  # checked in this run (a pass that starts later than now)
    spent = False
    while not spent:
        batch_items, more_never = due(started, batch, never=more_never)
        items = [item for item in batch_items if item.pk not in done]
        if not items:
            break
        chains = custody.verify_chains(items)
        received = custody.received_hashes(item.pk for item in items)
        for item in items:
            if summary.checked and clock() >= deadline:
                spent = True
                break
            found = fixity.verify(item, received[item.pk], chains[item.pk], record_sound=False)
            save_check(item, found, timezone.now())
            done.add(item.pk)
            summary.checked += 1
            lines = found.problems()
            if lines:
                summary.failed.append(item.code)
                summary.problems += len(lines)
            if job is not None:  # after each item: a batch of large videos outlasts a lease
                jobs.progress(job, summary.checked, total)
    summary.remaining, summary.never_checked = remaining(started)
    if summary.failed:
        codes = list(summary.failed)

        def mail_after_commit() -> None:  # named: Django logs a robust callback by name
            notifications.fixity_failed(codes)

        transaction.on_commit(mail_after_commit, robust=True)
    return summary


@dataclass(frozen=True)
class State:
    """What the Fixity page shows of the collection (``state``: a few aggregate queries)."""

    items: int
    never_checked: int
    last_full_pass: datetime | None  # every item checked since; None while any never was
    failing: int  # items whose latest check found a problem


def last_full_pass() -> datetime | None:
    """The oldest of the items' latest checks, if every item has one: every item has
    been checked since (None while some item was never checked)."""
    return state().last_full_pass


def state() -> State:
    items = EvidenceItem.objects.count()
    latest = FixityCheck.objects.filter(latest=True)
    never = items - latest.count()
    oldest = latest.aggregate(oldest=Min("checked_at"))["oldest"]
    failing = latest.exclude(result__in=FixityCheck.SOUND).count()
    return State(
        items=items,
        never_checked=never,
        last_full_pass=oldest if never == 0 and items else None,
        failing=failing,
    )
