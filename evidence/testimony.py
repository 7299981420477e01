"""A testimony recorded in one step: its transcript (or recording) through
``evidence.intake``, its witness (one already known, or a new one whose real name and
contact are protected), the interview and the consent, in one transaction: either all
of it is kept, or nothing (no item without its testimony, no witness without a word).
"""

from __future__ import annotations

from typing import Any, BinaryIO

from django.core.exceptions import ValidationError
from django.db import transaction

from evidence import intake
from evidence.models import EvidenceItem, Testimony, Witness
from tracker.models import Incident

ALREADY_TESTIMONY = "This file is already held as {code}, with its own testimony."
NOT_TESTIMONY = "This file is already held as {code}, which is not a testimony."


def record(
    transcript: BinaryIO,
    *,
    filename: str,
    by,
    incident: Incident | None,
    witness: Witness | None,
    new_witness: dict[str, Any] | None,
    interview: dict[str, Any],
    is_protected: bool = True,
) -> EvidenceItem:
    """Store the testimony; raise ``intake.IntakeError`` (the file refused) or
    ``ValidationError`` (the witness or the interview refused), and then nothing is
    kept."""
    with transaction.atomic():
        if witness is None:
            witness = Witness(**(new_witness or {}), created_by=by, updated_by=by)
            witness.full_clean()
            witness._history_user = by  # type: ignore[attr-defined]
            witness.save()
        result = intake.ingest(
            transcript,
            filename=filename,
            kind=EvidenceItem.Kind.TESTIMONY,
            by=by,
            incident=incident,
            title=f"Testimony of {witness.pseudonym}",
            is_protected=is_protected,
        )
        if result.withheld or result.item is None:
            raise intake.IntakeError(intake.SET_ASIDE)
        item = result.item
        if result.duplicate:
            if item.kind != EvidenceItem.Kind.TESTIMONY:
                raise intake.IntakeError(NOT_TESTIMONY.format(code=item.code))
            if Testimony.objects.filter(item=item).exists():
                raise intake.IntakeError(ALREADY_TESTIMONY.format(code=item.code))
        testimony = Testimony(item=item, witness=witness, **interview)
        testimony.full_clean()
        testimony._history_user = by  # type: ignore[attr-defined]
        testimony.save()
    return item


__all__ = ["ALREADY_TESTIMONY", "NOT_TESTIMONY", "ValidationError", "record"]
