"""Human codes (INC-0001, EV-000001) handed out safely under concurrency.

One counter row per prefix. The increment is a single UPDATE inside the
caller's transaction: on PostgreSQL the row lock makes concurrent callers
queue; on SQLite the IMMEDIATE transaction mode does. If the caller's
transaction rolls back, so does the increment, so codes have no gaps from
failed saves.

``assigned`` is how a record gets its code: ``tracker.models.Coded.save`` uses it,
so every coded record (incidents, evidence items) is numbered the same way.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from django.db import transaction
from django.db.models import F


def reserve(prefix: str, count: int = 1) -> int:
    """Reserve ``count`` consecutive numbers for ``prefix``; return the first."""
    from tracker.models import CodeCounter

    if count < 1:
        raise ValueError("count must be at least 1")
    with transaction.atomic():
        updated = CodeCounter.objects.filter(prefix=prefix).update(last=F("last") + count)
        if not updated:
            CodeCounter.objects.get_or_create(prefix=prefix, defaults={"last": 0})
            CodeCounter.objects.filter(prefix=prefix).update(last=F("last") + count)
        last = CodeCounter.objects.values_list("last", flat=True).get(prefix=prefix)
    return last - count + 1


def format_code(prefix: str, number: int, width: int) -> str:
    return f"{prefix}-{number:0{width}d}"


def next_code(prefix: str, width: int) -> str:
    return format_code(prefix, reserve(prefix), width)


class HasCode(Protocol):
    code: str


@contextmanager
def assigned(
    record: HasCode, prefix: str, width: int, *, using: str | None = None
) -> Iterator[None]:
    """Give ``record`` the next code of ``prefix`` while the block saves it, in one
    transaction: a save the database refuses gives its code back (the counter rolls
    back with it, and ``record.code`` is empty again)."""
    with transaction.atomic(using=using):
        record.code = next_code(prefix, width)
        try:
            yield
        except BaseException:
            record.code = ""
            raise
