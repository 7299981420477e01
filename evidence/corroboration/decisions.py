"""The reviewer's decision on a proposed grade, and proposals computed again when the
evidence changes.

``decide`` is the one way an incident's grade (``Incident.civilian_harm``) is set: a
reviewer accepts the proposal, or sets another grade with a reason; either is written
in the incident's review log (``ReviewEvent``, actions ``accept_grade`` and
``set_grade``). The proposal the reviewer saw is named by its digest: if the evidence
changed it since, the decision is refused and the new one shown.

When evidence an incident relies on changes (a link, an item's review state or claims,
a scene, a testimony, a witness's role, a capture, a near-duplicate, a confirmed
flight, the incident's own time and place), its proposal is computed again by a
``grade`` job after the commit. A job never writes the incident's grade."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F, Model, Q
from django.db.models.signals import m2m_changed, post_delete, post_save

from evidence import visibility
from evidence.corroboration import rules
from evidence.models import (
    CapturePart,
    EvidenceItem,
    EvidenceLink,
    FlightMatch,
    GradeProposal,
    SatelliteImage,
    Testimony,
    WebCapture,
    Witness,
)
from tracker import jobs, workflow
from tracker.locks import LOCKED
from tracker.models import Incident, Job, Place, ReviewEvent, ReviewStatus

G = Incident.HarmGrade
ACCEPT, SET = "accept_grade", "set_grade"  # as workflow.GRADE_ACTIONS words them
REVIEW = "tracker.review_incident"
MOST_REASON = 2000


class Refused(Exception):
    """The decision was refused; the message says why, for the reviewer."""


def refusal(incident: Incident, user) -> str | None:
    """Why ``user`` may not decide ``incident``'s grade now, or None."""
    if not user.is_active:
        return "Your account is inactive."
    if not user.has_perm(REVIEW):
        return "Only a reviewer decides an incident's grade."
    if incident.status in LOCKED:
        status = ReviewStatus(incident.status).label
        return f"{incident.code} is {status}: reopen it to change its grade."
    if workflow.author_id(incident) == user.pk:
        return f"Four eyes: you cannot grade {incident.code}, which you created."
    return None


def label(grade: str) -> str:
    return G(grade).label if grade in G.values else "no grade"


def decide(incident: Incident, *, by, grade: str, seen: str, reason: str = "") -> ReviewEvent:
    """``by`` sets ``incident``'s grade: the proposal's (accepted) or another one, with
    ``reason``. ``seen`` is the digest of the proposal shown. Raises Refused."""
    reason = reason.strip()
    if len(reason) > MOST_REASON:
        raise Refused(f"Keep the reason under {MOST_REASON} characters.")
    if grade not in G.values:
        raise Refused("Choose a grade.")
    try:
        return _decide(incident, by=by, grade=grade, seen=seen, reason=reason)
    except _Stale as stale:
        rules.store([incident.pk])  # kept, so that the page shows the new proposal
        raise Refused(
            f"The proposal for {incident.code} changed since it was shown (it is now: "
            f"{label(stale.args[0])}). Read it again, then decide."
        ) from None


class _Stale(Exception):
    pass


def _decide(incident: Incident, *, by, grade: str, seen: str, reason: str) -> ReviewEvent:
    with transaction.atomic():
        current = Incident.objects.select_for_update().filter(pk=incident.pk).first()
        if current is None or not visibility.may_see(by, current):
            raise Refused("No such incident.")
        if why := refusal(current, by):
            raise Refused(why)
        proposal = rules.proposals([current.pk])[current.pk]
        if proposal.digest != seen:
            raise _Stale(proposal.grade)
        if grade == proposal.grade:
            action = ACCEPT
            comment = f"Accepted the proposed grade: {label(grade)}."
            if reason:
                comment += f" {reason}"
        else:
            if not reason:
                raise Refused(
                    f"Setting {label(grade)} instead of the proposal "
                    f"({label(proposal.grade)}) needs a reason."
                )
            action = SET
            comment = f"Set {label(grade)}; proposed: {label(proposal.grade)}. Reason: {reason}"
        before = current.status
        current.civilian_harm = grade
        current._history_user = by
        # A review act, not an edit of the incident's content (four eyes reads edits).
        current._change_reason = f"{workflow.WORKFLOW_REASON} {action}"
        current.save(update_fields=["civilian_harm"])
        rules.store([current.pk])
        event = ReviewEvent.objects.create(
            content_type=ContentType.objects.get_for_model(Incident),
            object_id=current.pk,
            action=action,
            from_status=before,
            to_status=before,
            actor=by,
            comment=comment,
        )
    incident.civilian_harm = grade
    return event


def differs(queryset):
    """The incidents of ``queryset`` whose grade is not the grade proposed (a proposal
    of no grade aside): not decided yet, or decided otherwise."""
    return queryset.filter(grade_proposal__isnull=False).exclude(
        Q(grade_proposal__grade="") | Q(civilian_harm=F("grade_proposal__grade"))
    )


# --- Computed again when the evidence changes ---------------------------------------------------


class _Recompute:
    """The commit callback asking for the proposals of the incidents this transaction
    changed: one per transaction, found again among the callbacks waiting."""

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self.done = False

    def __call__(self) -> None:
        self.done = True
        for code in Incident.objects.filter(pk__in=self.ids).values_list("code", flat=True):
            ask(code)


def ask(code: str) -> Job:
    """A ``grade`` job for incident ``code``: the one waiting, or a new one. A job already
    running may have read the evidence before this change, so a job after it is asked for."""
    key = f"{Job.Kind.GRADE}:{code}"
    running = Job.objects.filter(key=key, state=Job.State.RUNNING).values_list("pk", flat=True)
    if after := running.first():
        key = f"{key}:after:{after}"
    return jobs.submit(Job.Kind.GRADE, code, key=key)


def recompute_later(incident_ids: Iterable[int]) -> None:
    """Ask for the proposals of ``incident_ids`` again once the transaction commits."""
    ids = {pk for pk in incident_ids if pk is not None}
    if not ids:
        return
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for entry in connection.run_on_commit:
            if isinstance(entry[1], _Recompute) and not entry[1].done:
                entry[1].ids |= ids
                return
    callback = _Recompute()
    callback.ids = ids
    transaction.on_commit(callback, robust=True)


def recompute_now(incident: Incident) -> str:
    """The ``grade`` job's work: the proposal computed and kept, in words."""
    rules.store([incident.pk])
    grade = GradeProposal.objects.filter(incident=incident).values_list("grade", flat=True).first()
    return f"{incident.code}: proposed {label(grade or '')}."


def _incidents_of(item_ids: Iterable[int]) -> list[int]:
    return list(
        EvidenceLink.objects.filter(item_id__in=list(item_ids)).values_list(
            "incident_id", flat=True
        )
    )


def _item_changed(sender, instance: Model, raw: bool = False, **kwargs) -> None:
    if raw:
        return
    item_ids = [instance.pk] if isinstance(instance, EvidenceItem) else [instance.item_id]  # type: ignore[attr-defined]
    if isinstance(instance, CapturePart):  # the capture it was made from, if still there
        item_ids += WebCapture.objects.filter(pk=instance.capture_id).values_list(
            "item_id", flat=True
        )
    recompute_later(_incidents_of(item_ids))


def _incident_changed(sender, instance, raw: bool = False, update_fields=None, **kwargs) -> None:
    if raw or (update_fields is not None and set(update_fields) <= {"status", "civilian_harm"}):
        return
    recompute_later([instance.pk])


def _by_incident(sender, instance, raw: bool = False, **kwargs) -> None:
    if not raw:
        recompute_later([instance.incident_id])


def _witness_changed(
    sender, instance: Witness, raw: bool = False, created: bool = False, **kwargs
) -> None:
    if not raw and not created:
        recompute_later(_incidents_of(instance.testimonies.values_list("item_id", flat=True)))


def _place_moved(
    sender, instance: Place, raw: bool = False, created: bool = False, **kwargs
) -> None:
    """A place's coordinates stand for an incident's site when it has none of its own, and
    for an item placed only by its town."""
    if raw or created:
        return
    items = EvidenceItem.objects.filter(captured_place=instance).values("pk")
    recompute_later(
        [
            *Incident.objects.filter(place=instance).values_list("pk", flat=True),
            *EvidenceLink.objects.filter(item__in=items).values_list("incident_id", flat=True),
        ]
    )


def _near_duplicates(sender, instance, action, pk_set, **kwargs) -> None:
    if action in ("post_add", "post_remove"):
        recompute_later(_incidents_of([instance.pk, *(pk_set or ())]))


def connect() -> None:
    for model in (SatelliteImage, Testimony, WebCapture, CapturePart):
        post_save.connect(_item_changed, sender=model, dispatch_uid=f"grade:{model.__name__}")
        post_delete.connect(_item_changed, sender=model, dispatch_uid=f"grade-:{model.__name__}")
    post_save.connect(_item_changed, sender=EvidenceItem, dispatch_uid="grade:item")
    for linked in (EvidenceLink, FlightMatch):
        post_save.connect(_by_incident, sender=linked, dispatch_uid=f"grade:{linked.__name__}")
        post_delete.connect(_by_incident, sender=linked, dispatch_uid=f"grade-:{linked.__name__}")
    post_save.connect(_incident_changed, sender=Incident, dispatch_uid="grade:incident")
    post_save.connect(_witness_changed, sender=Witness, dispatch_uid="grade:witness")
    post_save.connect(_place_moved, sender=Place, dispatch_uid="grade:place")
    m2m_changed.connect(
        _near_duplicates, sender=EvidenceItem.near_duplicates.through, dispatch_uid="grade:near"
    )
