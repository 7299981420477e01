"""The review state machine for incidents, evidence items and attributions.

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
from functools import cached_property

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery

from evidence import access
from evidence.models import EvidenceItem, EvidenceLink, SatelliteImage, Testimony
from tracker.locks import LOCKED  # records in these states are edited nowhere until reopened
from tracker.models import Attribution, Incident, IncidentRelation, ReviewEvent, ReviewStatus
from tracker.responsibility.chain import can_verify_attribution

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
EDITABLE_BY_AUTHOR = frozenset({S.DRAFT, S.CHANGES_REQUESTED, S.SUBMITTED})
# Relied-on parts of an incident that block its verification and publication. A rejected
# attribution is not part of the finding; relied-on evidence must be verified or published.
ATTRIBUTION_PENDING = frozenset({S.DRAFT, S.SUBMITTED, S.CHANGES_REQUESTED})
EVIDENCE_DONE = frozenset({S.VERIFIED, S.PUBLISHED})
WORKFLOW_REASON = "workflow:"  # history entries written by transition(), not edits
# Review acts that change no state, in the same log: a reviewer's decision on an
# incident's proposed grade (``evidence.corroboration.decisions``).
GRADE_ACTIONS = {"accept_grade": "accepted the proposed grade", "set_grade": "set the grade"}
AUDIT_STAMPS = ("updated_at", "updated_by", "status")  # not edits of content


class TransitionError(Exception):
    """A transition was refused; the message says why, for the person who tried."""


def _perm(record: models.Model, verb: str) -> str:
    meta = record._meta
    return f"{meta.app_label}.{verb}_{meta.model_name}"


def is_reviewer(user, record) -> bool:
    return user.has_perm(_perm(record, "review"))


def is_editor(user, record) -> bool:
    return user.has_perm(_perm(record, "publish"))


def label(record) -> str:
    """How messages name a record: its code, or for an attribution its incident's code
    and whom it names ("INC-0007's attribution to 4th Squadron (ordered)")."""
    if code := getattr(record, "code", None):
        return code
    if isinstance(record, Attribution):
        return f"{record.incident.code}'s attribution to {record}"
    return str(record)


_label = label  # the older name


def last_submitted_at(record):
    return (
        ReviewEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            action=Action.SUBMIT,
        )
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )


def review_events(record) -> list[tuple[ReviewEvent, str]]:
    """The record's workflow events, oldest first, each with its action as the review
    panel and the incident page word it ("verify", or the stored word of an action no
    longer offered). One query (the content type is joined, not looked up)."""
    meta = record._meta
    events = ReviewEvent.objects.filter(
        content_type__app_label=meta.app_label,
        content_type__model=meta.model_name,
        object_id=record.pk,
    ).select_related("actor")
    return [
        (
            event,
            Action(event.action).label.lower()
            if event.action in RULES
            else GRADE_ACTIONS.get(event.action, event.action),
        )
        for event in events
    ]


def _edits(history: QuerySet, user, since) -> QuerySet:
    return history.filter(history_user=user, history_date__gte=since).exclude(
        history_change_reason__startswith=WORKFLOW_REASON
    )


def _part_edits(model: type[models.Model], field: str, incident_id: int, user, since):
    """``user``'s history entries since ``since`` of ``model`` rows that belong, or
    belonged just before the entry, to incident ``incident_id`` through ``field``: a
    row moved to another incident, or deleted (a '-' entry), counts too."""
    history = model.history.all()  # type: ignore[attr-defined]  # django-simple-history's manager
    before = (
        history.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
        .order_by("-history_id")
        .values(field)[:1]
    )
    return (
        _edits(history, user, since)
        .annotate(incident_before=Subquery(before))
        .filter(Q(**{field: incident_id}) | Q(incident_before=incident_id))
    )


def _names(values) -> str:
    return ", ".join(sorted({str(v) for v in values if v}))


def _changed_fields(row) -> set[str] | None:
    """The fields a history entry changed against the entry before it (supporting
    evidence included: simple_history keeps its many-to-many fields); None for an entry
    that added or deleted the row. Audit stamps are not changes."""
    if row.history_type != "~":
        return None
    previous = (
        type(row)
        ._default_manager.filter(id=row.id, history_id__lt=row.history_id)
        .order_by("-history_id")
        .first()
    )
    if previous is None:
        return None
    return set(row.diff_against(previous, excluded_fields=AUDIT_STAMPS).changed_fields)


def _own_changes(record, rows) -> list[str]:
    named, unnamed = set(), False
    for row in rows:
        fields = _changed_fields(row)
        unnamed |= fields is None
        named |= fields or set()
    if named:
        meta = record._meta
        return [f"its fields: {_names(meta.get_field(f).verbose_name for f in named)}"]
    return ["its fields"] if unnamed else []


def _attribution_changes(rows) -> list[str]:
    """Name the attributions that history entries changed, telling a change of their
    supporting evidence from other changes (adding, removing, editing them)."""
    changed, supporting = set(), set()
    for row in rows:
        fields = _changed_fields(row)
        if fields is not None and not fields:
            continue  # saved unchanged
        actor = row.official or row.unit or row.force or "a deleted actor"  # merged away
        who = f"{actor} ({row.get_role_display()})"
        if fields and "supporting_evidence" in fields:
            supporting.add(who)
        if fields is None or fields - {"supporting_evidence"}:
            changed.add(who)
    phrases = []
    if changed:
        phrases.append(f"its attributions: {_names(changed)}")
    if supporting:
        phrases.append(f"the supporting evidence of its attributions: {_names(supporting)}")
    return phrases


def changes_since_submission(record, user) -> list[str]:
    """What ``user`` changed of ``record`` since it was last submitted, one phrase per
    part ("its evidence links: EV-000003"); empty if nothing.

    For an incident the parts are its own fields, its evidence links, its related
    incidents, and its attributions with their supporting evidence, whichever page
    the change was made from: django-simple-history records the user of every save
    and delete (HistoryRequestMiddleware in the admin, ``_history_user`` elsewhere)."""
    since = last_submitted_at(record)
    if since is None:
        return []
    changes = _own_changes(record, _edits(record.history.all(), user, since))
    if isinstance(record, Incident):
        links = _part_edits(EvidenceLink, "incident_id", record.pk, user, since)
        if codes := list(links.values_list("item__code", flat=True)):
            changes.append(f"its evidence links: {_names(codes) or 'a deleted item'}")
        # A relation belongs to both its incidents (tracker.locks): either end counts.
        codes = [
            code
            for field, other in (
                ("from_incident_id", "to_incident"),
                ("to_incident_id", "from_incident"),
            )
            for code in _part_edits(IncidentRelation, field, record.pk, user, since).values_list(
                f"{other}__code", flat=True
            )
        ]
        if codes:
            changes.append(f"its related incidents: {_names(codes) or 'a deleted incident'}")
        rows = _part_edits(Attribution, "incident_id", record.pk, user, since)
        changes += _attribution_changes(rows.select_related("official", "unit", "force"))
    if isinstance(record, EvidenceItem):
        # Its details edited inline on its page: the testimony, the satellite scene.
        for model, part in ((Testimony, "its testimony"), (SatelliteImage, "its scene details")):
            if _edits(model.history.filter(item_id=record.pk), user, since).exists():
                changes.append(part)
    return changes


def edited_since_submission(record, user) -> bool:
    """Has ``user`` changed the record (or, for an incident, its evidence links, related
    incidents, attributions or their supporting evidence) since it was last submitted?
    Such a user is no longer a second pair of eyes."""
    return bool(changes_since_submission(record, user))


def pending_evidence(incident: Incident) -> list[str]:
    """Codes of the relied-on evidence of ``incident`` not yet verified."""
    return list(
        incident.evidence_links.filter(relied_on=True)
        .exclude(item__status__in=EVIDENCE_DONE)
        .order_by("item__code")
        .values_list("item__code", flat=True)
    )


def pending_attributions(incident: Incident) -> list[Attribution]:
    """The relied-on attributions of ``incident`` still in draft or under review."""
    return list(
        incident.attributions.filter(relied_on=True, status__in=ATTRIBUTION_PENDING)
        .select_related("force", "unit", "official")
        .order_by("pk")
    )


def unfinished_parts(incident: Incident) -> str | None:
    """Why ``incident`` cannot be verified or published yet: what it relies on that is
    not verified. None if nothing."""
    reasons = []
    if codes := pending_evidence(incident):
        reasons.append(
            f"{incident.code} relies on evidence not yet verified: "
            f"{', '.join(codes)}. Verify it first, or mark its link 'not relied on'."
        )
    if attributions := pending_attributions(incident):
        named = ", ".join(f"{a} ({ReviewStatus(a.status).label})" for a in attributions)
        reasons.append(
            f"{incident.code} relies on attributions not yet verified: {named}. "
            "Verify them first, or mark them 'not relied on'."
        )
    return " ".join(reasons) or None


def _file_refusal(item: EvidenceItem, user, name: str) -> str | None:
    """Nobody judges an item whose files they may not open (``evidence.access``)."""
    reason = access.refusal(user, item)
    if reason is None:
        return None
    if item.is_protected and not user.has_perm(access.VIEW_PROTECTED):
        return (
            f"{item.code} is protected: only a reviewer allowed to see protected "
            f"identities may {name} it, as its files must be opened to judge it."
        )
    return f"You may not open the files of {item.code} ({reason}), so you cannot {name} it."


REVIEWING = frozenset({Action.REQUEST_CHANGES, Action.VERIFY, Action.REJECT})


def author_id(record) -> int | None:
    """Who created ``record``: ``created_by``, or for an attribution saved without it
    (added in an incident's form before the form recorded its author) the user of its
    first history entry."""
    if record.created_by_id is not None or not isinstance(record, Attribution):
        return record.created_by_id
    if record.pk is None:
        return None
    first = record.history.filter(history_type="+").order_by("history_id").first()
    return first.history_user_id if first else None


class Facts:
    """What the rules of several actions ask of one record and one user, each read once:
    a page asks for the refusal of every action, and the four-eyes history check reads
    the record's history and its parts'."""

    def __init__(self, record, user) -> None:
        self.record, self.user = record, user

    @cached_property
    def author(self) -> int | None:
        return author_id(self.record)

    @cached_property
    def changes(self) -> list[str]:
        return changes_since_submission(self.record, self.user)

    @cached_property
    def unfinished(self) -> str | None:
        return unfinished_parts(self.record)


def _role_allows(record, action: str, user, facts: Facts | None = None) -> bool:
    """The role part of the rules: who may take this kind of action at all."""
    if action == Action.SUBMIT:
        author = facts.author if facts else author_id(record)
        return author == user.pk or is_editor(user, record)
    if action in REVIEWING:
        return is_reviewer(user, record)
    return is_editor(user, record)


def _role_refusal(record, action: str, name: str) -> str:
    if action == Action.SUBMIT:
        return f"Only the author of {label(record)} or an editor can submit it."
    if action in REVIEWING:
        return "Only reviewers can review."
    return f"Only editors can {name}."


def refusal(record, action: str, user, comment: str = "", facts: Facts | None = None) -> str | None:
    """Why ``user`` may not take ``action`` on ``record`` now, or None if they may
    (``facts``: what an earlier action's rules read of them, read again otherwise)."""
    if facts is None or facts.record is not record or facts.user is not user:
        facts = Facts(record, user)  # another record's or user's facts are not these
    if action not in RULES:
        return f"Unknown action {action!r}."
    rule = RULES[action]
    name = Action(action).label.lower()
    if record.status not in rule.sources:
        return (
            f"{label(record)} is {ReviewStatus(record.status).label}; "
            f"'{name}' is only possible from "
            + " or ".join(sorted(ReviewStatus(s).label for s in rule.sources))
            + "."
        )
    if rule.needs_comment and not comment.strip():
        return f"'{name}' needs a comment saying why."
    if not user.is_active:
        return "Your account is inactive."
    if not _role_allows(record, action, user, facts):
        return _role_refusal(record, action, name)
    if action in (Action.VERIFY, Action.REJECT):
        if facts.author == user.pk:
            return f"Four eyes: you cannot {name} {label(record)}, which you created."
        if changes := facts.changes:
            return (
                f"Four eyes: you edited {label(record)} after it was submitted (you changed "
                f"{'; '.join(changes)}), so another reviewer must {name} it."
            )
        if isinstance(record, EvidenceItem) and (reason := _file_refusal(record, user, name)):
            return reason
    if action in (Action.VERIFY, Action.PUBLISH) and isinstance(record, Incident):
        return facts.unfinished
    if action == Action.VERIFY and isinstance(record, Attribution):
        return can_verify_attribution(record)
    return None


def actions(record, user) -> tuple[list[str], list[tuple[str, str]]]:
    """The actions ``user`` could take now (comment requirements aside), and those their
    role allows in this state but a rule blocks, with the reason (four eyes, evidence
    not yet verified), so a page can say why a button is missing. Each rule's facts
    are read once for all the actions (``Facts``)."""
    facts = Facts(record, user)
    available, blocked = [], []
    for action, rule in RULES.items():
        reason = refusal(record, action, user, comment="(comment)", facts=facts)
        if reason is None:
            available.append(action)
        elif record.status in rule.sources and _role_allows(record, action, user, facts):
            blocked.append((action, reason))
    return available, blocked


def available_actions(record, user) -> list[str]:
    """Actions ``user`` could take now (comment requirements aside)."""
    return actions(record, user)[0]


def blocked_actions(record, user) -> list[tuple[str, str]]:
    """Actions ``user``'s role allows in this state but a rule blocks, with the reason."""
    return actions(record, user)[1]


def can_edit(record, user) -> bool:
    """May ``user`` change the record's content (forms, inlines) in its current state?"""
    if record is None or record.pk is None:
        return True
    if record.status in LOCKED:
        return False
    if isinstance(record, Attribution) and record.incident.status in LOCKED:
        return False  # tracker.locks would refuse the save: read-only rather than an error
    if is_editor(user, record):
        return True
    if record.status == S.SUBMITTED and is_reviewer(user, record):
        return True
    return record.status in EDITABLE_BY_AUTHOR and author_id(record) == user.pk


def transition(record, action: str, *, by, comment: str = "", notify: bool = True) -> ReviewEvent:
    """Take ``action`` on ``record`` as user ``by``; raise TransitionError if refused.
    ``notify=False`` for a part taken with its incident (``tracker.parts``): the
    incident's own mail speaks for both."""
    model = type(record)
    with transaction.atomic():
        # Lock and re-read: of two reviewers acting at once, the second sees the
        # first one's result and is refused with the current state.
        current = model.objects.select_for_update().get(pk=record.pk)
        if current.status != record.status:
            raise TransitionError(
                f"{label(current)} was changed meanwhile: it is now "
                f"{ReviewStatus(current.status).label}. Reload and try again."
            )
        reason = refusal(current, action, by, comment)
        if reason:
            raise TransitionError(reason)
        rule = RULES[action]
        before = current.status
        current.status = rule.target
        current._history_user = by
        current._change_reason = f"{WORKFLOW_REASON} {action}"
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

        if notify:
            transaction.on_commit(lambda: notifications.transition_made(current, event))
    record.status = current.status
    return event
