"""The one writer of evidence links for services and pages (intake, flight confirmation,
the incident's evidence tray): making, removing, marking "relied on".

The link's history records who made it (four eyes reads it: ``tracker.workflow``), and
the lock rule (``tracker.locks``) refuses a locked incident before anything is written.
"""

from __future__ import annotations

from django.db import transaction

from evidence.models import EvidenceItem, EvidenceLink
from tracker.models import Incident


def link(item: EvidenceItem, incident: Incident, *, by, relevance: str = "") -> EvidenceLink:
    """``item`` linked to ``incident`` (an existing link is left as it is)."""
    existing = EvidenceLink.objects.filter(item=item, incident=incident).first()
    if existing is not None:
        return existing
    made = EvidenceLink(item=item, incident=incident, relevance=relevance[:300])
    made._history_user = by  # type: ignore[attr-defined]  # django-simple-history: who made this version
    with transaction.atomic():
        made.save()
    return made


def unlink(made: EvidenceLink, *, by) -> None:
    """Remove the link (its history records who; the lock and disclosure rules may
    refuse it with ``tracker.locks.Refused``, and then nothing is removed)."""
    made._history_user = by  # type: ignore[attr-defined]
    with transaction.atomic():
        made.delete()


def set_relied_on(made: EvidenceLink, relied_on: bool, *, by) -> None:
    """Mark the item as relied on by the incident, or not (a finding is verified only
    with the evidence it relies on verified: ``tracker.workflow``)."""
    if made.relied_on == relied_on:
        return
    made.relied_on = relied_on
    made._history_user = by  # type: ignore[attr-defined]
    with transaction.atomic():
        made.save(update_fields=["relied_on"])
