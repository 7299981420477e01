"""Querysets read in primary-key batches ("keyset" pages), each a short query of its own.

Used wherever every row of a large table is visited (verification, the storage audit,
backups): memory stays bounded, and no cursor stays open for the hours a run may take
(one would keep SQLite's write-ahead log from being checkpointed, and make PostgreSQL
materialise the whole result).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet


def batches(queryset: QuerySet, size: int) -> Iterator[list]:
    """``queryset`` in primary-key order, ``size`` rows at a time. The rows are model
    instances, or value tuples whose first value is the primary key."""
    last = 0
    while batch := list(queryset.filter(pk__gt=last).order_by("pk")[:size]):
        yield batch
        row = batch[-1]
        last = row[0] if isinstance(row, tuple) else row.pk
