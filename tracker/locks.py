"""Locks: a verified, published or rejected incident keeps its evidence links,
attributions and related incidents until an editor reopens it through
``tracker.workflow.transition``; a locked attribution keeps its content too.

The rule sits where those rows are written, not in a form: ``check_*`` functions
raise ``Locked`` (a ``ValidationError``, so admin forms and inlines show the message
next to the row), and the receivers below call them before every save, delete
(cascades included), ``add()`` through a many-to-many manager and change of an
attribution's supporting evidence, whichever face writes: the admin of either side,
an inline, the upload form, ``ingest``, an import, a service. They are guards that
refuse, never side effects. Bulk ``QuerySet.update``/``bulk_create`` skip them; no
code writes these rows that way.

- A relation belongs to both incidents (an exported incident lists the relations
  to it as well as from it), so either end being locked refuses it.
- A save that changes none of a row's content (its fields but the key and the audit
  stamps) is not a change: an unchanged inline row of an editable page passes.
- The workflow's status-only save (``update_fields=["status"]``) is how a locked
  attribution's own state changes; raw saves (fixtures, ``restore``) load rows as
  they were, with the many-to-many the deserializer sets on the same instance.

The status is read from the database, not from an instance that may be stale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import m2m_changed, pre_delete, pre_save

from tracker.models import Attribution, Incident, IncidentRelation, ReviewStatus

LOCKED = frozenset({ReviewStatus.VERIFIED, ReviewStatus.PUBLISHED, ReviewStatus.REJECTED})
# Who changed a row and when: stamped on every save, not its content.
AUDIT_STAMPS = frozenset({"created_at", "updated_at", "created_by", "updated_by"})
RAW = "_loaded_raw"  # set on an instance saved raw, for the many-to-many that follow


class Refused(ValidationError):
    """A write the case's rules refuse wherever it comes from (a lock here, a hidden
    record named by a visible one in ``evidence.visibility``): the admin shows the
    message instead of an error, and the transaction rolls back."""


class Locked(Refused):
    """A write refused because the record it would change is locked."""


def locked_message(code: str, status: str, what: str) -> str:
    return (
        f"{code} is {ReviewStatus(status).label}: its {what} cannot change until an "
        "editor reopens it."
    )


def attribution_message(attribution: Attribution, code: str, status: str) -> str:
    return (
        f"{code}'s attribution to {attribution} is {ReviewStatus(status).label}: it cannot "
        "change until an editor reopens it."
    )


def check_incident_open(incident_id: int | None, what: str) -> None:
    """Raise ``Locked`` if incident ``incident_id`` is locked (``what``: the part of it
    that would change, for the message)."""
    if incident_id is None:
        return
    row = Incident.objects.filter(pk=incident_id).values_list("code", "status").first()
    if row and row[1] in LOCKED:
        raise Locked(locked_message(row[0], row[1], what))


def _content(model: type[models.Model]) -> list[str]:
    return [
        f.attname
        for f in model._meta.concrete_fields
        if not f.primary_key and f.name not in AUDIT_STAMPS
    ]


def _stored(instance: models.Model) -> dict | None:
    """The row's stored content (None for a row not in the database yet)."""
    if instance.pk is None:
        return None
    manager = type(instance)._default_manager
    return manager.filter(pk=instance.pk).values(*_content(type(instance))).first()


def _normal(value):
    # A form strips text and a browser sends CRLF line ends: neither is a change.
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else value


def _unchanged(instance: models.Model, stored: dict | None, fields=None) -> bool:
    if stored is None:
        return False
    names = (
        # the names are concrete fields, which have an attname
        stored.keys() if fields is None else [instance._meta.get_field(f).attname for f in fields]  # type: ignore[union-attr]
    )
    return all(
        _normal(getattr(instance, n)) == _normal(stored.get(n)) for n in names if n in stored
    )


def _ids(instance: models.Model, stored: dict | None, *attnames: str) -> list[int]:
    """The incidents the row names, now and as stored (a row moved from one to another
    changes both)."""
    ids = {getattr(instance, a) for a in attnames}
    if stored:
        ids |= {stored[a] for a in attnames}
    return sorted(i for i in ids if i is not None)


def check_link(link, *, deleting: bool = False, fields: Iterable[str] | None = None) -> None:
    """An evidence link (``evidence.EvidenceLink``) may be added, changed or removed only
    while its incident is open (before and after a change of incident)."""
    stored = _stored(link)
    if not deleting and _unchanged(link, stored, fields):
        return
    for incident_id in _ids(link, stored, "incident_id"):
        check_incident_open(incident_id, "evidence")


def check_attribution(
    attribution: Attribution, *, deleting: bool = False, fields: Iterable[str] | None = None
) -> None:
    """An attribution is added, changed or removed only while both it and its incident
    are open; the workflow's status-only save is how its own state changes."""
    stored = _stored(attribution)
    if not deleting and _unchanged(attribution, stored, fields):
        return
    for incident_id in _ids(attribution, stored, "incident_id"):
        check_incident_open(incident_id, "attributions")
    if stored is not None and stored["status"] in LOCKED:
        code = Incident.objects.filter(pk=stored["incident_id"]).values_list("code", flat=True)
        raise Locked(attribution_message(attribution, code.first() or "?", stored["status"]))


def check_supporting_evidence(attribution_ids: Iterable[int]) -> None:
    """The supporting evidence of these attributions may change only while each of them
    and its incident are open."""
    for attribution in Attribution.objects.filter(pk__in=list(attribution_ids)).order_by("pk"):
        check_attribution(attribution, deleting=True)


def check_relation(
    relation: IncidentRelation, *, deleting: bool = False, fields: Iterable[str] | None = None
) -> None:
    """A relation between incidents is added, changed or removed only while both are open."""
    stored = _stored(relation)
    if not deleting and _unchanged(relation, stored, fields):
        return
    for incident_id in _ids(relation, stored, "from_incident_id", "to_incident_id"):
        check_incident_open(incident_id, "related incidents")


def check(instance: models.Model, *, deleting: bool = False) -> None:
    """The check for ``instance``'s model, if it has one (for code that handles rows of
    several models, such as an inline formset)."""
    from evidence.models import EvidenceLink

    checks: dict[type[models.Model], Callable[..., None]] = {
        EvidenceLink: check_link,
        Attribution: check_attribution,
        IncidentRelation: check_relation,
    }
    if (checker := checks.get(type(instance))) is not None:
        checker(instance, deleting=deleting)


# --- Receivers --------------------------------------------------------------------------------


def _link_saved(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if not raw:
        check_link(instance, fields=update_fields)


def _link_deleted(sender, instance, **kwargs) -> None:
    check_link(instance, deleting=True)


def _relation_saved(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if not raw:
        check_relation(instance, fields=update_fields)


def _relation_deleted(sender, instance, **kwargs) -> None:
    check_relation(instance, deleting=True)


def _attribution_saved(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw:
        setattr(instance, RAW, True)  # the deserializer sets its many-to-many next
        return
    if update_fields is not None and set(update_fields) == {"status"}:
        return  # tracker.workflow.transition changing the state
    check_attribution(instance, fields=update_fields)


def _attribution_deleted(sender, instance, **kwargs) -> None:
    check_attribution(instance, deleting=True)


def _supporting_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if not action.startswith("pre_") or (pk_set is not None and not pk_set):
        return  # after the fact, or nothing to add or remove
    if not reverse:
        if not getattr(instance, RAW, False):  # a fixture's or restore's own rows
            check_supporting_evidence([instance.pk])
        return
    # item.attributions.add(...): every attribution named (or all of the item's on clear)
    ids = pk_set if pk_set is not None else instance.attributions.values_list("pk", flat=True)
    check_supporting_evidence(ids)


def _item_deleted(sender, instance, **kwargs) -> None:
    # Its rows in the supporting evidence go with it, with no signal of their own (Django
    # sends none for an automatic through model).
    check_supporting_evidence(instance.attributions.values_list("pk", flat=True))


def _incident_side_added(what: str):
    """For ``add()`` through a many-to-many whose through model is checked row by row
    (``item.incidents``, ``incident.evidence``, ``incident.related``): such an add
    creates the rows with ``bulk_create``, which sends no ``pre_save``."""

    def receiver(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
        if action != "pre_add":
            return
        ids = [instance.pk] if isinstance(instance, Incident) else []
        if model is Incident:
            ids += sorted(pk_set or ())
        for incident_id in ids:
            check_incident_open(incident_id, what)

    return receiver


def connect() -> None:
    """Called once from ``TrackerConfig.ready``."""
    from evidence.models import EvidenceItem, EvidenceLink

    supporting = Attribution.supporting_evidence.through
    pre_save.connect(_link_saved, sender=EvidenceLink, dispatch_uid="lock_link_save")
    pre_delete.connect(_link_deleted, sender=EvidenceLink, dispatch_uid="lock_link_delete")
    pre_save.connect(_attribution_saved, sender=Attribution, dispatch_uid="lock_attr_save")
    pre_delete.connect(_attribution_deleted, sender=Attribution, dispatch_uid="lock_attr_delete")
    pre_save.connect(_relation_saved, sender=IncidentRelation, dispatch_uid="lock_rel_save")
    pre_delete.connect(_relation_deleted, sender=IncidentRelation, dispatch_uid="lock_rel_delete")
    m2m_changed.connect(_supporting_changed, sender=supporting, dispatch_uid="lock_attr_evidence")
    pre_delete.connect(_item_deleted, sender=EvidenceItem, dispatch_uid="lock_item_delete")
    # Weak references would die with the closures at once.
    m2m_changed.connect(
        _incident_side_added("evidence"),
        sender=EvidenceLink,
        weak=False,
        dispatch_uid="lock_link_add",
    )
    m2m_changed.connect(
        _incident_side_added("related incidents"),
        sender=IncidentRelation,
        weak=False,
        dispatch_uid="lock_rel_add",
    )
