"""The one writer of an evidence link made by a service (intake, flight confirmation).

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
