"""Who may open an evidence item's files: the one object-level rule.

The file views, the admin's thumbnails and links, the review workflow (nobody verifies
an item whose files they may not open) and any later export or API ask
``refusal``/``can_view_item``; none of them re-states the rule. A new condition (the
review workflow's "drafts of others", say) is one more line in ``refusal``.

A protected item opens for holders of ``evidence.view_protected_identity`` and for its
uploader (who created or acquired it): they held the file before it was stored, and
must be able to check what they stored. Every opening on that ground alone is recorded
in the item's custody log (``opens_as_uploader``): a download always is, a thumbnail or
preview then is too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet

from evidence.models import EvidenceItem, EvidenceLink
from tracker.access import VIEW_RESTRICTED, restricted_incidents

VIEW_EVIDENCE = "evidence.view_evidenceitem"
VIEW_PROTECTED = "evidence.view_protected_identity"
# What a protected recording's tags say of its device and place (``VideoMetadata``,
# ``AudioMetadata``): it could point to its source, so it is shown only to those who may
# open the item (``can_view_item``), and left out of a bag without protected identity.
RECORDING_SOURCE = (
    "device_make",
    "device_model",
    "location_text",
    "latitude",
    "longitude",
    "altitude",
)
# The same of a protected photo's EXIF (``PhotoMetadata``).
PHOTO_SOURCE = ("camera_make", "camera_model", "gps_latitude", "gps_longitude", "gps_altitude")
WITHHELD = "withheld: protected item"


def claims_fill_capture(item: EvidenceItem) -> bool:
    """May what a file claims (EXIF, a recording's tags) become the item's claimed
    capture time and place? Not for a protected item or a testimony: the place of an
    interview or of a source's photo may be a witness's home. The claims stay on their
    metadata row, shown to those who may open the item."""
    return not item.is_protected and item.kind != EvidenceItem.Kind.TESTIMONY


PROTECTED = "protected item, no permission for protected identity"


def account_refusal(user) -> str | None:
    """Why ``user`` may open no evidence file at all, or None. Asked before an item is
    looked up, so that such a user cannot tell a code that exists from one that does not."""
    if user is None or not user.is_authenticated:
        return "not logged in"
    if not user.is_active:
        return "inactive account"
    if not user.is_staff:
        return "not a staff account"
    if not user.has_perm(VIEW_EVIDENCE):
        return "no permission to view evidence"
    return None


def refusal(user, item: EvidenceItem) -> str | None:
    """Why ``user`` may not open ``item``'s files, or None if they may.

    The reason is for the access log; it names the rule, never the item's content.
    Costs no query beyond the user's permission cache (loaded once per request)."""
    if reason := account_refusal(user):
        return reason
    if item.is_protected and not user.has_perm(VIEW_PROTECTED) and not is_uploader(user, item):
        return PROTECTED
    return None


def is_uploader(user, item: EvidenceItem) -> bool:
    """True if ``user`` created or acquired ``item`` (no query: compares keys)."""
    return user.pk is not None and user.pk in (item.created_by_id, item.acquired_by_id)


def opens_as_uploader(user, item: EvidenceItem) -> bool:
    """True if ``user`` may open protected ``item``'s files only because they uploaded it:
    such an opening is recorded in the custody log, whatever the file (original,
    thumbnail, preview)."""
    return (
        item.is_protected
        and refusal(user, item) is None
        and not user.has_perm(VIEW_PROTECTED)
        and is_uploader(user, item)
    )


def can_view_item(user, item: EvidenceItem) -> bool:
    """True if ``user`` may see ``item``'s original and its thumbnail and preview."""
    return refusal(user, item) is None


def openable_items(user, queryset: QuerySet) -> QuerySet:
    """``queryset`` of items without the protected ones ``user`` may not open (the
    queryset form of ``can_view_item``'s protection rule): who may not open a protected
    item is not told which of its files another looks like, nor counts it."""
    if user.has_perm(VIEW_PROTECTED):
        return queryset
    return queryset.filter(Q(is_protected=False) | Q(created_by=user.pk) | Q(acquired_by=user.pk))


def hidden_item_ids() -> QuerySet:
    """The ids of items that stand only behind restricted incidents (a subquery).

    Such an item is as restricted as its incidents: for anyone without
    ``tracker.view_restricted_incident`` it does not exist (lists, pages, files, logs).
    An item also linked to an incident the team may see stays visible: it is part of
    that incident's case; only its links to restricted incidents are hidden. Starts
    from the few restricted incidents (a partial index), so it costs little."""
    restricted = restricted_incidents().values("pk")
    open_link = EvidenceLink.objects.filter(item=OuterRef("item")).exclude(incident__in=restricted)
    return (
        EvidenceLink.objects.filter(incident__in=restricted)
        .filter(~Exists(open_link))
        .values("item_id")
    )


def visible_items(user, queryset: QuerySet, field: str = "pk") -> QuerySet:
    """``queryset`` (of items, or of records whose ``field`` is an item) without what
    ``user`` may not know exists."""
    if user.has_perm(VIEW_RESTRICTED):
        return queryset
    return queryset.exclude(**{f"{field}__in": hidden_item_ids()})


# Keys of custody details that repeat the sender's file name (see ``file_name_shown``).
FILE_NAME_DETAILS = ("filename",)
WITHHELD_FILE_NAME = "(withheld: protected item)"


def file_name_shown(item: EvidenceItem, identity_shown: bool) -> bool:
    """A protected item's original file name may carry the name of the person it
    protects ("interview_<name>.mp3"): it is protected identity, shown only where
    identity is (``identity_shown``: the viewer's permission, or a bag's choice)."""
    return identity_shown or not item.is_protected


def file_name(item: EvidenceItem, shown: bool) -> str:
    return item.original_filename if shown else WITHHELD_FILE_NAME


WITHHELD_INCIDENT = "(withheld: restricted incident)"


def custody_details(details: dict, shown: bool, hidden: Collection[str] = ()) -> dict:
    """A custody event's details, the file name withheld unless ``shown``, and any value
    naming an incident code in ``hidden`` (restricted incidents the viewer may not know
    of: a bag's incidents, its name) withheld too."""
    return {
        key: WITHHELD_FILE_NAME
        if key in FILE_NAME_DETAILS and not shown
        else _without(value, hidden)
        for key, value in details.items()
    }


def first_withheld(events: Iterable, shown: bool, hidden: Collection[str] = ()) -> int | None:
    """The sequence of the first event (of one chain, in order) whose details a viewer
    may not see all of, or None. Each event's hash covers the one before, so every hash
    from that event on would let a guess of what was withheld be checked offline: none
    of them is shown to that viewer (the custody log's pages and API, an anchor proof)."""
    for event in events:
        if custody_details(event.details, shown, hidden) != event.details:
            return event.sequence
    return None


def _without(value, hidden: Collection[str]):
    if isinstance(value, str) and any(code in value for code in hidden):
        return WITHHELD_INCIDENT
    if isinstance(value, list):
        return [_without(one, hidden) for one in value]
    return value
