"""Links from the team's pages into the admin, where the work is done, for those who
may follow them: edit or open an incident, open an item's page (its metadata and
custody), add an incident, upload evidence (to an incident that takes it). A link is
shown only where the admin would let the user in; the admin checks again."""

from __future__ import annotations

from django.urls import reverse
from django.utils.http import urlencode

from tracker import workflow
from tracker.locks import LOCKED
from tracker.models import Incident


def incident_link(incident: Incident, user) -> tuple[str, str]:
    """("Edit in admin" or "Open in admin", url), or ("", "") for non-staff accounts."""
    if not user.is_staff:
        return "", ""
    url = reverse("admin:tracker_incident_change", args=[incident.pk])
    if user.has_perm("tracker.change_incident") and workflow.can_edit(incident, user):
        return "Edit in admin", url
    return "Open in admin", url


def may_open_item_pages(user) -> bool:
    """May ``user`` open evidence items' admin pages (which the policy still narrows)?"""
    return user.is_staff and user.has_perm("evidence.view_evidenceitem")


def item_page(code_or_pk: int) -> str:
    return reverse("admin:evidence_evidenceitem_change", args=[code_or_pk])


def new_incident_url(user) -> str:
    if user.is_staff and user.has_perm("tracker.add_incident"):
        return reverse("admin:tracker_incident_add")
    return ""


def upload_url(user, incident: Incident | None = None) -> str:
    """The upload page, set to link the files to ``incident`` when it takes evidence
    (not verified, published or rejected)."""
    if not (user.is_staff and user.has_perm("evidence.add_evidenceitem")):
        return ""
    url = reverse("admin:evidence_evidenceitem_add")
    if incident is None:
        return url
    if incident.status in LOCKED:
        return ""
    return f"{url}?{urlencode({'incident': incident.pk})}"
