"""What an incident's finding may rest on: the one rule for every page and file that
presents attributions and evidence with an incident, or counts them against an official.

A verified or published incident claims that its finding was checked, so the
attributions and evidence items presented with it must be checked too: verified or
published. One still in review (draft, submitted, changes requested) can sit on such an
incident, an attribution the finding does not rely on, or an item linked while the
incident was open, and it is then not part of the finding: left out, or shown apart with
its review state. Where the incident makes no such claim (a draft, a submitted one),
everything not rejected is shown, each with its review state. Rejected attributions and
items are never presented as standing.

A report or export filtered to verified or published incidents therefore holds checked
attributions and items only, without a rule of its own. An official's dossier counts as
findings only checked attributions (``is_checked``), whatever the incident's state.

``standing_for`` is the rule, ``stands`` the same test on loaded rows, and ``standing``
the same condition for a query; the case report, the CSV and GeoJSON exports, the
incident page and the dossier select through them.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from evidence.models import EvidenceLink
from tracker.models import Attribution, ReviewStatus

CHECKED = frozenset({ReviewStatus.VERIFIED, ReviewStatus.PUBLISHED})
IN_REVIEW = frozenset({ReviewStatus.DRAFT, ReviewStatus.SUBMITTED, ReviewStatus.CHANGES_REQUESTED})
STANDING = CHECKED | IN_REVIEW  # every state but rejected


def is_checked(status: str) -> bool:
    """True for verified and published: a state that claims the record was checked."""
    return status in CHECKED


def standing_for(incident_status: str) -> frozenset[str]:
    """The review states in which an attribution or evidence item is presented with an
    incident in ``incident_status``: checked ones only if the incident is checked."""
    return CHECKED if incident_status in CHECKED else STANDING


def stands(status: str, incident_status: str) -> bool:
    """True if a record in ``status`` is presented with an incident in ``incident_status``."""
    return status in standing_for(incident_status)


def standing(status: str = "status", incident: str = "incident") -> Q:
    """``standing_for`` as a query condition on rows whose review state is ``status``
    and whose incident is ``incident`` (``item__status`` for evidence links)."""
    incident_checked = Q(**{f"{incident}__status__in": CHECKED})
    return Q(**{f"{status}__in": CHECKED}) | (Q(**{f"{status}__in": IN_REVIEW}) & ~incident_checked)


def attributions() -> QuerySet[Attribution]:
    """The attributions presented with their incidents (one join to the incident)."""
    return Attribution.objects.filter(standing())


def evidence_links() -> QuerySet[EvidenceLink]:
    """The evidence links presented with their incidents (joins the item and incident)."""
    return EvidenceLink.objects.filter(standing("item__status"))
