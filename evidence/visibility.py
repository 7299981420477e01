"""The one visibility policy: what of the case a user may know exists.

``visible_to(user, queryset)`` narrows a queryset of any model of the case to the rows
``user`` may see. Every read path goes through it: the admin's querysets, every choice
field and autocomplete, inlines, counts shown beside rows, the review queue and
"My work", e-mails, exports, file routes, duplicate detection. A model without a rule
here is visible to everyone who may view it at all (vocabularies, forces, officials).

The rules (``tracker.access`` and ``evidence.access`` hold the two primitives):

- a restricted incident exists only for holders of ``tracker.view_restricted_incident``;
  so do records about it (attributions, evidence links, relations from or to it, flight
  matches, its review events);
- an evidence item that stands only behind restricted incidents is as restricted as
  they are; so are records about it (custody events, testimony, satellite and photo
  details, derivatives, its review events);
- a witness heard only in such items is hidden too.

Protected identity (witness name and contact, a protected item's file name) is a
separate rule: ``evidence.access.file_name_shown`` and the witness admin's fields.

This module may import both apps' models: ``evidence`` depends on ``tracker``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from evidence import access
from evidence.models import (
    AudioMetadata,
    CustodyEvent,
    Derivative,
    EvidenceItem,
    EvidenceLink,
    FlightLog,
    FlightMatch,
    FlightObservation,
    PhotoMetadata,
    SatelliteImage,
    Testimony,
    VideoMetadata,
    WebCapture,
    Witness,
)
from tracker.access import VIEW_RESTRICTED, restricted_incidents, without_restricted
from tracker.locks import Refused
from tracker.models import Attribution, Incident, IncidentRelation, Job, ReviewEvent, Sensitivity


# Rules by field are small classes rather than closures made at import time, so that a
# mutation test (`make mutate`) can change what they do: see docs/testing.md.
@dataclass(frozen=True)
class _items:  # lower case: read as a function in RULES
    field: str

    def __call__(self, user, qs: QuerySet) -> QuerySet:
        return access.visible_items(user, qs, self.field)


@dataclass(frozen=True)
class _incidents:
    field: str

    def __call__(self, user, qs: QuerySet) -> QuerySet:
        return without_restricted(user, qs, self.field)


def _observations(user, qs: QuerySet) -> QuerySet:
    # By the log's key, not through a join to the log: the big list keeps its index scan.
    hidden_logs = FlightLog.objects.filter(item__in=access.hidden_item_ids()).values("pk")
    return qs.exclude(log__in=hidden_logs)


def _matches(user, qs: QuerySet) -> QuerySet:
    # Of an incident one may see, and of an observation whose log one may know: a match
    # names the log's item and the station.
    hidden_logs = FlightLog.objects.filter(item__in=access.hidden_item_ids()).values("pk")
    return without_restricted(user, qs, "incident").exclude(observation__log__in=hidden_logs)


def _relations(user, qs: QuerySet) -> QuerySet:
    return without_restricted(user, without_restricted(user, qs, "from_incident"), "to_incident")


def _witnesses(user, qs: QuerySet) -> QuerySet:
    hidden = Testimony.objects.filter(witness=OuterRef("pk"), item__in=access.hidden_item_ids())
    heard = Testimony.objects.filter(witness=OuterRef("pk")).exclude(
        item__in=access.hidden_item_ids()
    )
    return qs.exclude(Exists(hidden) & ~Exists(heard))


def _review_events(user, qs: QuerySet) -> QuerySet:
    # Content types by name in the query: no lookup of their ids first.
    return (
        qs.exclude(
            content_type__app_label="tracker",
            content_type__model="incident",
            object_id__in=restricted_incidents().values("pk"),
        )
        .exclude(
            content_type__app_label="tracker",
            content_type__model="attribution",
            object_id__in=Attribution.objects.filter(incident__in=restricted_incidents()).values(
                "pk"
            ),
        )
        .exclude(
            content_type__app_label="evidence",
            content_type__model="evidenceitem",
            object_id__in=access.hidden_item_ids(),
        )
    )


def _jobs(user, qs: QuerySet) -> QuerySet:
    # A job names its target by code: an item's, an incident's, or a list of incidents
    # for a bundle (``arguments``); the jobs of a hidden one are hidden with it.
    hidden_items = EvidenceItem.objects.filter(pk__in=access.hidden_item_ids()).values("code")
    hidden_incidents = list(restricted_incidents().values_list("code", flat=True))  # few
    named = Q()  # a bundle's incidents after its first
    for code in hidden_incidents:
        named |= Q(arguments__incidents__icontains=f'"{code}"')
    visible = qs.exclude(target__in=hidden_items).exclude(target__in=hidden_incidents)
    return visible.exclude(named & Q(kind=Job.Kind.BUNDLE)) if named else visible


RULES: dict[type[Model], Callable[[object, QuerySet], QuerySet]] = {
    Incident: _incidents(""),
    Attribution: _incidents("incident"),
    EvidenceLink: _incidents("incident"),
    FlightMatch: _matches,
    IncidentRelation: _relations,
    EvidenceItem: _items("pk"),
    CustodyEvent: _items("item"),
    Testimony: _items("item"),
    SatelliteImage: _items("item"),
    PhotoMetadata: _items("item"),
    VideoMetadata: _items("item"),
    AudioMetadata: _items("item"),
    WebCapture: _items("item"),
    Derivative: _items("item"),
    FlightLog: _items("item"),
    FlightObservation: _observations,
    Witness: _witnesses,
    ReviewEvent: _review_events,
    Job: _jobs,
}


def _rule(model: type[Model]):
    return RULES.get(model)


def visible_to(user, queryset: QuerySet) -> QuerySet:
    """``queryset`` without the rows ``user`` may not know exist."""
    rule = _rule(queryset.model)
    if rule is None or user.has_perm(VIEW_RESTRICTED):
        return queryset
    return rule(user, queryset)


def hidden_incident_codes(user) -> frozenset[str]:
    """The codes of the restricted incidents ``user`` may not know of (few: a partial
    index), to withhold where a record names them in free values (custody details)."""
    if user.has_perm(VIEW_RESTRICTED):
        return frozenset()
    return frozenset(restricted_incidents().values_list("code", flat=True))


def may_see(user, record: Model) -> bool:
    """May ``user`` know that ``record`` exists? (One query for a governed model.)"""
    if _rule(type(record)) is None or user.has_perm(VIEW_RESTRICTED):
        return True
    return visible_to(user, type(record)._default_manager.filter(pk=record.pk)).exists()


def is_hidden_from_some(record: Model) -> bool:
    """Would ``record`` be hidden from a user without the restricted permission? Such a
    record is named in e-mails by its code only (no title), to those who may see it."""
    rule = _rule(type(record))
    if rule is None:
        return False
    nobody = AnonymousUser()  # holds no permission
    return not rule(nobody, type(record)._default_manager.filter(pk=record.pk)).exists()


# --- No hidden record inside a visible one ------------------------------------------------
#
# An item that stands only behind restricted incidents becomes part of the team's case
# in one way: an evidence link to an incident the team sees. Naming it as an
# attribution's support, or as the "before" image of a scene, of a record the team sees
# would show it without that step (its code, title and preview on the incident's page,
# the report, the history), and a form of a user who may not see it would drop it on
# every save. So such references are refused where they are written.

UNDISCLOSED = (
    "{codes} stands only behind restricted incidents: link it to {where} first (which "
    "shows it to the team), or leave it out."
)


def _hidden_codes(item_ids) -> list[str]:
    return list(
        EvidenceItem.objects.filter(pk__in=list(item_ids))
        .filter(pk__in=access.hidden_item_ids())
        .order_by("code")
        .values_list("code", flat=True)
    )


def check_support(incident_id: int | None, item_ids) -> None:
    """Refuse hidden items as support of an attribution of an incident the team sees."""
    if incident_id is None or restricted_incidents().filter(pk=incident_id).exists():
        return
    if codes := _hidden_codes(item_ids):
        code = Incident.objects.filter(pk=incident_id).values_list("code", flat=True).first()
        raise ValidationError(UNDISCLOSED.format(codes=", ".join(codes), where=code))


def check_new_support(incident: Incident, item_ids) -> None:
    """``check_support`` for an incident not saved yet (the attributions inline of its add
    page), by the sensitivity the form gives it: else only the save would refuse the
    item (``_support_added``), as a server error instead of the form's message."""
    if incident.sensitivity == Sensitivity.RESTRICTED:
        return
    if codes := _hidden_codes(item_ids):
        raise ValidationError(UNDISCLOSED.format(codes=", ".join(codes), where="this incident"))


def check_before(scene: SatelliteImage) -> None:
    """Refuse a hidden "before" image for a scene the team sees."""
    if scene.before_id is None:
        return
    before_item = SatelliteImage.objects.filter(pk=scene.before_id).values_list(
        "item_id", flat=True
    )
    hidden = _hidden_codes(before_item)
    if not hidden:
        return
    if scene.item_id and _hidden_codes([scene.item_id]):
        return  # both behind restricted incidents: nothing is shown to the team
    codes = ", ".join(hidden)
    where = "this scene's incident" if scene.item_id else "an incident"
    raise ValidationError({"before": UNDISCLOSED.format(codes=codes, where=where)})


# The same rule from the other side: a write that hides an item still named by a record
# the team sees, or shows a record that names a hidden item. Removing an item's last link
# to an incident the team sees (or deleting that incident), linking an item only to
# restricted incidents, restricting an incident or opening a restricted one to the team,
# moving an attribution to another incident. Checked after the write, inside its
# transaction, so that every way of making it is covered; ``Undisclosed`` rolls it back.

EXPOSED = (
    "Refused: {names} would then stand only behind restricted incidents while {where}, "
    "which the team sees, names it. Take it out of there, or link it to an incident the "
    "team sees, first."
)


class Undisclosed(Refused):
    """A write that would leave a record the team sees naming a hidden item."""


def check_disclosed(*, items=(), incidents=()) -> None:
    """Raise ``Undisclosed`` if an attribution or scene the team sees names a hidden item,
    among those about ``items`` or about the incidents ``incidents`` (ids: their
    attributions and the items linked to them). Nothing found costs two queries; a
    refusal names the first case found by the item's code."""
    items, incidents = list(items), list(incidents)
    hidden = access.hidden_item_ids()
    linked = EvidenceLink.objects.filter(incident_id__in=incidents).values("item_id")
    cited = (
        Attribution.supporting_evidence.through.objects.filter(evidenceitem_id__in=hidden)
        .filter(
            Q(evidenceitem_id__in=items)
            | Q(evidenceitem_id__in=linked)
            | Q(attribution__incident_id__in=incidents)
        )
        .exclude(attribution__incident__in=restricted_incidents())
        .order_by("evidenceitem__code", "attribution_id")
        .first()
    )
    if cited is not None:
        attribution = cited.attribution
        where = f"{attribution.incident.code}'s attribution to {attribution}"
        raise Undisclosed(EXPOSED.format(names=cited.evidenceitem.code, where=where))
    scene = (
        SatelliteImage.objects.filter(before__item_id__in=hidden)
        .filter(Q(item_id__in=items) | Q(before__item_id__in=items) | Q(item_id__in=linked))
        .exclude(item_id__in=hidden)
        .order_by("item__code")
        .first()
    )
    if scene is not None and scene.before is not None:  # (the query asks for a before)
        where = f'the scene {scene.item.code} (as its "before" image)'
        raise Undisclosed(EXPOSED.format(names=scene.before.item.code, where=where))


def _link_stored(sender, instance, **kwargs) -> None:
    # A link moved to another item: the item it leaves counts too.
    if instance.pk is not None:
        stored = EvidenceLink.objects.filter(pk=instance.pk).only("item_id").first()
        instance._stored_item_id = stored.item_id if stored else None


def _link_saved(sender, instance, raw, **kwargs) -> None:
    if not raw:
        check_disclosed(items={instance.item_id, getattr(instance, "_stored_item_id", None)})


def _link_deleted(sender, instance, **kwargs) -> None:
    # Deleting an incident deletes its attributions (and their support) before its links,
    # so its own attributions no longer count here. An item itself is never deleted: its
    # custody events protect it.
    check_disclosed(items=[instance.item_id])


def _links_added(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    # incident.evidence.add(...) and item.incidents.add(...) make links with bulk_create.
    if action == "post_add" and pk_set:
        check_disclosed(items=pk_set if model is EvidenceItem else [instance.pk])


def _incident_saved(sender, instance, created, raw, update_fields, **kwargs) -> None:
    if raw or created or (update_fields is not None and "sensitivity" not in update_fields):
        return
    check_disclosed(incidents=[instance.pk])


def _attribution_saved(sender, instance, created, raw, update_fields, **kwargs) -> None:
    if raw or created:  # a new attribution cites nothing yet
        return
    if update_fields is None or "incident" in update_fields:  # it may have moved
        check_disclosed(incidents=[instance.incident_id])


def _support_added(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action != "pre_add" or not pk_set:
        return
    if not reverse:
        check_support(instance.incident_id, pk_set)
        return
    for attribution in Attribution.objects.filter(pk__in=pk_set):
        check_support(attribution.incident_id, [instance.pk])


def connect() -> None:
    """Called once from ``EvidenceConfig.ready``."""
    from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

    m2m_changed.connect(
        _support_added,
        sender=Attribution.supporting_evidence.through,
        dispatch_uid="visibility_support",
    )
    pre_save.connect(_link_stored, sender=EvidenceLink, dispatch_uid="visibility_link_pre")
    post_save.connect(_link_saved, sender=EvidenceLink, dispatch_uid="visibility_link_save")
    post_delete.connect(_link_deleted, sender=EvidenceLink, dispatch_uid="visibility_link_del")
    m2m_changed.connect(_links_added, sender=EvidenceLink, dispatch_uid="visibility_link_add")
    post_save.connect(_incident_saved, sender=Incident, dispatch_uid="visibility_incident")
    post_save.connect(_attribution_saved, sender=Attribution, dispatch_uid="visibility_attr")
