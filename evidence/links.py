"""Evidence links: the one writer of links for services and pages (intake, flight
confirmation, the incident's evidence tray): making, removing, marking "relied on";
and the items found through a linked incident's code.

The link's history records who made it (four eyes reads it: ``tracker.workflow``), and
the lock rule (``tracker.locks``) refuses a locked incident before anything is written.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import Exists, OuterRef

from evidence.models import EvidenceItem, EvidenceLink
from evidence.visibility import visible_to
from tracker.codes import format_code
from tracker.models import Incident

_INCIDENT_CODE = re.compile(rf"\s*{Incident.code_prefix}-(\d{{1,9}})\s*", re.IGNORECASE)


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


def incident_code(text: str) -> str | None:
    """The incident code ``text`` is, written as codes are ("inc-53" -> "INC-0053");
    None when it is no incident code."""
    match = _INCIDENT_CODE.fullmatch(text)
    if match is None:
        return None
    return format_code(Incident.code_prefix, int(match[1]), Incident.code_width)


def linked_to_incident(user, text: str) -> Exists | None:
    """A condition on evidence items: linked to the incident whose code ``text`` is, by
    a link ``user`` may see (``evidence.visibility``: a restricted incident's links exist
    only for those who may see it, so its code finds nothing for anyone else). None when
    ``text`` is no incident code."""
    code = incident_code(text)
    if code is None:
        return None
    links = visible_to(user, EvidenceLink.objects.filter(incident__code=code))
    return Exists(links.filter(item=OuterRef("pk")))
