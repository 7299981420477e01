"""E-mail about review work, sent after the transition has committed (and about the
work that needs an Editor: a copy set aside, a fixity problem).

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

from tracker.access import VIEW_RESTRICTED

log = logging.getLogger(__name__)


def _send(subject: str, body: str, recipients, *, about: str) -> None:
    """Send one notification. What it tells of (a review, an upload, a fixity pass)
    stands whatever happens here: a mail server that is down is logged, never raised."""
    try:
        send_mail(subject[:200], body, None, sorted(set(recipients)))
    except OSError:
        log.exception("could not send the notification about %s", about)


def reviewers_of(record):
    """Active users with the review permission for the record's kind, with an address."""
    meta = record._meta
    return holders_of(f"{meta.app_label}.review_{meta.model_name}")


def _link(record) -> str:
    meta = record._meta
    path = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])
    return settings.TRACKER_BASE_URL.rstrip("/") + path


def transition_made(record, event) -> None:
    """Mail about a transition. Only people who may see the record hear of it, and a
    record hidden from part of the team (restricted) is named by its code alone: no
    title, no comment, which may speak of its content."""
    from evidence.visibility import is_hidden_from_some, may_see

    code = getattr(record, "code", None) or f"{record._meta.verbose_name} {record.pk}"
    discreet = is_hidden_from_some(record)
    label = code if discreet else str(record)  # "<code> <title>"
    action = event.action
    if action == "submit":
        people = [u for u in reviewers_of(record) if u.pk != event.actor_id]
        subject = f"[tracker] For review: {label}"
    elif action in ("request_changes", "reject", "verify"):
        author = record.created_by
        people = [author] if author and author.is_active else []
        subject = {
            "request_changes": f"[tracker] Changes requested: {label}",
            "reject": f"[tracker] Rejected: {label}",
            "verify": f"[tracker] Verified: {label}",
        }[action]
    else:
        return
    recipients = [u.email for u in people if u.email and may_see(u, record)]
    if not recipients:
        return
    comment = event.comment and not discreet
    body = (
        f"{event.actor} moved {code} from {event.get_from_status_display()} "
        f"to {event.get_to_status_display()}.\n"
        + (f"\nComment:\n{event.comment}\n" if comment else "")
        + f"\n{_link(record)}\n"
    )
    _send(subject, body, recipients, about=code)


def duplicate_set_aside(item, *, by) -> None:
    """Tell those who may see ``item`` (it stands only behind restricted incidents) that
    ``by``, who may not, sent its bytes again, so that an editor decides where the copy
    belongs. Called after the commit by ``evidence.intake``. The mail names the item by
    its code only: its title, and the file names in its custody log, stay in the
    tracker behind the permissions."""
    needed = ("evidence.view_evidenceitem", VIEW_RESTRICTED)
    recipients = [u.email for u in holders_of(*needed) if u.pk != getattr(by, "pk", None)]
    if not recipients:
        return
    body = (
        f"{by} sent a file whose bytes are already held as {item.code}. They may not see "
        "that item, so nothing was linked or stored again; the upload is recorded in "
        f"{item.code}'s custody log, with the incident asked for, if any.\n\n"
        "An editor decides where the copy belongs.\n"
        f"\n{_link(item)}\n"
    )
    _send(f"[tracker] Set aside: a copy of {item.code}", body, recipients, about=item.code)


FIXITY_LISTED = 200  # codes named in one fixity mail; the rest are counted


def fixity_failed(codes: list[str]) -> None:
    """Tell the Editors (``tracker.manage_job``: they see every job) that the scheduled
    fixity pass (``evidence.files.fixity_runs``) found problems with the items ``codes``.
    Called after the commit. The mail names the items by code only: no title, no file
    name (an item may be protected); what was found is on the Fixity page."""
    recipients = [u.email for u in holders_of("tracker.manage_job")]
    if not recipients or not codes:
        return
    listed = "\n".join(f"  {code}" for code in codes[:FIXITY_LISTED])
    if len(codes) > FIXITY_LISTED:
        listed += f"\n  and {len(codes) - FIXITY_LISTED} more"
    page = settings.TRACKER_BASE_URL.rstrip("/") + reverse("fixity")
    body = (
        f"The scheduled fixity check found a problem with {len(codes)} item(s):\n\n"
        f"{listed}\n\n"
        "Each problem is recorded in the item's custody log (a 'verified' event). "
        "What was found, item by item, is on the Fixity page:\n"
        f"\n{page}\n"
    )
    _send(f"[tracker] Fixity problem: {len(codes)} item(s)", body, recipients, about="fixity")


def holders_of(*perms: str):
    """Active users with an address who hold every one of ``perms`` ("app.codename"),
    through a group, directly, or as superusers."""
    User = get_user_model()
    users = User.objects.filter(is_active=True).exclude(email="")
    for name in perms:
        app_label, codename = name.split(".")
        perm = Permission.objects.get(content_type__app_label=app_label, codename=codename)
        holders = User.objects.filter(
            Q(groups__permissions=perm) | Q(user_permissions=perm) | Q(is_superuser=True)
        )
        users = users.filter(pk__in=holders.values("pk"))
    return users


def mentioned(record, comment, people) -> None:
    """Tell each person ``comment`` mentions (``tracker.discussion``; already narrowed to
    those who may see ``record``) where to read it. The mail carries no word of the
    comment, which may speak of evidence: only who, which record (its code alone when
    it is hidden from part of the team) and the link."""
    from evidence.visibility import is_hidden_from_some

    code = getattr(record, "code", None) or f"{record._meta.verbose_name} {record.pk}"
    label = code if is_hidden_from_some(record) else str(record)
    recipients = sorted({u.email for u in people if u.email and u.pk != comment.author_id})
    if not recipients:
        return
    body = f"{comment.author} mentioned you in a comment on {code}.\n\n{_link(record)}\n"
    _send(f"[tracker] You were mentioned: {label}", body, recipients, about=code)
