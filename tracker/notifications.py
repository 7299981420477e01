"""E-mail about review work, sent after the transition has committed.

Reviewers hear when work is submitted; the author hears when changes are
requested, or the work is rejected or verified. Messages name the record by its
code and title only: no evidence content, no witness identity.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import reverse

log = logging.getLogger(__name__)


def reviewers_of(record):
    """Active users with the review permission for the record's kind, with an address."""
    meta = record._meta
    perm = Permission.objects.get(
        content_type__app_label=meta.app_label, codename=f"review_{meta.model_name}"
    )
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(email="")
        .filter(Q(groups__permissions=perm) | Q(user_permissions=perm) | Q(is_superuser=True))
        .distinct()
    )


def _link(record) -> str:
    meta = record._meta
    path = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])
    return settings.TRACKER_BASE_URL.rstrip("/") + path


def transition_made(record, event) -> None:
    label = str(record)  # "<code> <title>"
    action = event.action
    if action == "submit":
        recipients = [u.email for u in reviewers_of(record) if u.pk != event.actor_id]
        subject = f"[tracker] For review: {label}"
    elif action in ("request_changes", "reject", "verify"):
        author = record.created_by
        recipients = [author.email] if author and author.email and author.is_active else []
        subject = {
            "request_changes": f"[tracker] Changes requested: {label}",
            "reject": f"[tracker] Rejected: {label}",
            "verify": f"[tracker] Verified: {label}",
        }[action]
    else:
        return
    if not recipients:
        return
    body = (
        f"{event.actor} moved {record.code} from {event.get_from_status_display()} "
        f"to {event.get_to_status_display()}.\n"
        + (f"\nComment:\n{event.comment}\n" if event.comment else "")
        + f"\n{_link(record)}\n"
    )
    try:
        send_mail(subject[:200], body, None, sorted(set(recipients)))
    except OSError:
        # The transition stands; a mail server that is down must not undo a review.
        log.exception("could not send the notification for %s", record.code)
