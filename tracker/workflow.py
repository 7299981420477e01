"""The review state machine for incidents and evidence items.

    draft -> submitted -> (changes_requested -> submitted)* -> verified -> published
                       \\-> rejected
    verified / published / rejected --reopen--> draft

``transition()`` is the only code that changes a review status. It checks the
rule and the permission, changes the state and writes a ReviewEvent in one
transaction, or raises TransitionError saying why. Notifications go out after
the commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from tracker.models import Attribution, Incident, ReviewEvent, ReviewStatus

S = ReviewStatus


class Action(models.TextChoices):
    SUBMIT = "submit", "Submit for review"
    REQUEST_CHANGES = "request_changes", "Request changes"
    VERIFY = "verify", "Verify"
    REJECT = "reject", "Reject"
    PUBLISH = "publish", "Publish"
    REOPEN = "reopen", "Reopen"


@dataclass(frozen=True)
class Rule:
    sources: frozenset[str]
    target: str
    needs_comment: bool = False


RULES: dict[str, Rule] = {
    Action.SUBMIT: Rule(frozenset({S.DRAFT, S.CHANGES_REQUESTED}), S.SUBMITTED),
    Action.REQUEST_CHANGES: Rule(frozenset({S.SUBMITTED}), S.CHANGES_REQUESTED, True),
    Action.VERIFY: Rule(frozenset({S.SUBMITTED}), S.VERIFIED),
    Action.REJECT: Rule(frozenset({S.SUBMITTED}), S.REJECTED, True),
    Action.PUBLISH: Rule(frozenset({S.VERIFIED}), S.PUBLISHED),
    Action.REOPEN: Rule(frozenset({S.VERIFIED, S.PUBLISHED, S.REJECTED}), S.DRAFT, True),
}
# Records in these states cannot be edited anywhere until an editor reopens them.
LOCKED = frozenset({S.VERIFIED, S.PUBLISHED, S.REJECTED})
EDITABLE_BY_AUTHOR = frozenset({S.DRAFT, S.CHANGES_REQUESTED, S.SUBMITTED})


class TransitionError(Exception):
    """A transition was refused; the message says why, for the person who tried."""


def _perm(record: models.Model, verb: str) -> str:
    meta = record._meta
    return f"{meta.app_label}.{verb}_{meta.model_name}"


def is_reviewer(user, record) -> bool:
    return user.has_perm(_perm(record, "review"))


def is_editor(user, record) -> bool:
    return user.has_perm(_perm(record, "publish"))


def _label(record) -> str:
    return getattr(record, "code", None) or str(record)


def last_submitted_at(record):
    return (
        ReviewEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            to_status=S.SUBMITTED,
        )
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )


def edited_since_submission(record, user) -> bool:
    """Has ``user`` changed the record (or, for an incident, its attributions)
    since it was last submitted? Such a user is no longer a second pair of eyes."""
    since = last_submitted_at(record)
    if since is None:
        return False
    if (
        record.history.filter(history_user=user, history_date__gte=since)
        .exclude(history_change_reason__startswith="workflow:")
        .exists()
    ):
        return True
    if isinstance(record, Incident):
        return Attribution.history.filter(
            incident_id=record.pk, history_user=user, history_date__gte=since
        ).exists()
    return False


REVIEWING = frozenset({Action.REQUEST_CHANGES, Action.VERIFY, Action.REJECT})


def _role_allows(record, action: str, user) -> bool:
    """The role part of the rules: who may take this kind of action at all."""
    if action == Action.SUBMIT:
        return record.created_by_id == user.pk or is_editor(user, record)
    if action in REVIEWING:
        return is_reviewer(user, record)
    return is_editor(user, record)


def _role_refusal(record, action: str, name: str) -> str:
    if action == Action.SUBMIT:
        return f"Only the author of {_label(record)} or an editor can submit it."
    if action in REVIEWING:
        return "Only reviewers can review."
    return f"Only editors can {name}."


def refusal(record, action: str, user, comment: str = "") -> str | None:
    """Why ``user`` may not take ``action`` on ``record`` now, or None if they may."""
    if action not in RULES:
        return f"Unknown action {action!r}."
    rule = RULES[action]
    name = Action(action).label.lower()
    if record.status not in rule.sources:
        return (
            f"{_label(record)} is {ReviewStatus(record.status).label}; "
            f"'{name}' is only possible from "
            + " or ".join(sorted(ReviewStatus(s).label for s in rule.sources))
            + "."
        )
    if rule.needs_comment and not comment.strip():
        return f"'{name}' needs a comment saying why."
    if not user.is_active:
        return "Your account is inactive."
    if not _role_allows(record, action, user):
        return _role_refusal(record, action, name)
    if action in REVIEWING:
        if action != Action.REQUEST_CHANGES:
            if record.created_by_id == user.pk:
                return f"Four eyes: you cannot {name} {_label(record)}, which you created."
            if edited_since_submission(record, user):
                return (
                    f"Four eyes: you edited {_label(record)} after it was submitted, "
                    f"so another reviewer must {name} it."
                )
        if action == Action.VERIFY and isinstance(record, Incident):
            pending = list(
                record.evidence_links.filter(relied_on=True)
                .exclude(item__status__in=[S.VERIFIED, S.PUBLISHED])
                .order_by("item__code")
                .values_list("item__code", flat=True)
            )
            if pending:
                return (
                    f"{_label(record)} relies on evidence not yet verified: "
                    f"{', '.join(pending)}. Verify it first, or mark its link 'not relied on'."
                )
    return None


def available_actions(record, user) -> list[str]:
    """Actions ``user`` could take now (comment requirements aside)."""
    return [a for a in RULES if refusal(record, a, user, comment="(comment)") is None]


def blocked_actions(record, user) -> list[tuple[str, str]]:
    """Actions ``user``'s role allows in this state but a rule blocks, with the reason
    (four eyes, evidence not yet verified), so a page can say why a button is missing."""
    blocked = []
    for action, rule in RULES.items():
        if record.status in rule.sources and _role_allows(record, action, user):
            reason = refusal(record, action, user, comment="(comment)")
            if reason:
                blocked.append((action, reason))
    return blocked


def can_edit(record, user) -> bool:
    """May ``user`` change the record's content (forms, inlines) in its current state?"""
    if record is None or record.pk is None:
        return True
    if record.status in LOCKED:
        return False
    if is_editor(user, record):
        return True
    if record.status == S.SUBMITTED and is_reviewer(user, record):
        return True
    return record.created_by_id == user.pk and record.status in EDITABLE_BY_AUTHOR


def transition(record, action: str, *, by, comment: str = "") -> ReviewEvent:
    """Take ``action`` on ``record`` as user ``by``; raise TransitionError if refused."""
    model = type(record)
    with transaction.atomic():
        # Lock and re-read: of two reviewers acting at once, the second sees the
        # first one's result and is refused with the current state.
        current = model.objects.select_for_update().get(pk=record.pk)
        if current.status != record.status:
            raise TransitionError(
                f"{_label(current)} was changed meanwhile: it is now "
                f"{ReviewStatus(current.status).label}. Reload and try again."
            )
        reason = refusal(current, action, by, comment)
        if reason:
            raise TransitionError(reason)
        rule = RULES[action]
        before = current.status
        current.status = rule.target
        current._history_user = by
        current._change_reason = f"workflow: {action}"
        current.save(update_fields=["status"])
        event = ReviewEvent.objects.create(
            content_type=ContentType.objects.get_for_model(model),
            object_id=current.pk,
            action=action,
            from_status=before,
            to_status=rule.target,
            actor=by,
            comment=comment.strip(),
        )
        from tracker import notifications

        transaction.on_commit(lambda: notifications.transition_made(current, event))
    record.status = current.status
    return event
