"""The records about evidence in the admin: witnesses (protected identity), the
custody log (read-only), satellite scenes and testimony."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from django.contrib import admin
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.debug import sensitive_post_parameters

from evidence import access
from evidence.files import anchoring
from evidence.forms import SceneForm, TestimonyForm
from evidence.models import (
    CustodyEvent,
    SatelliteImage,
    Testimony,
    Witness,
)
from evidence.visibility import hidden_incident_codes, visible_to
from tracker.admin.kit import (
    AuditedAdmin,
    DeferredJoinPaginator,
    HistoryAdmin,
    ReadOnlyAdmin,
    count_of,
)
from tracker.display import time_with_zone

HASH = re.compile(r"[0-9a-f]{32,128}")  # a digest: SHA-256 and its kin, lower-case hex
DEEPEST = 4  # nesting shown as rows; below it a value is written as JSON text
NO_DETAILS = "–"


def detail_rows(value: dict | list, depth: int = 0) -> list[dict]:
    """A custody event's details as rows (``key``, ``text`` or nested ``rows``, ``hash``):
    a mapping by its keys, a list by position, a list of plain values as one text."""
    pairs = value.items() if isinstance(value, dict) else enumerate(value, start=1)
    rows = []
    for key, item in pairs:
        row: dict = {"key": str(key).replace("_", " "), "rows": None, "hash": False}
        if isinstance(item, dict | list) and item and depth < DEEPEST:
            if isinstance(item, list) and not any(isinstance(v, dict | list) for v in item):
                row["text"] = ", ".join(_plain(v) for v in item)
            else:
                row["rows"] = detail_rows(item, depth + 1)
        else:
            row["text"] = _plain(item)
            row["hash"] = isinstance(item, str) and HASH.fullmatch(item) is not None
        rows.append(row)
    return rows


def _plain(value: object) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return NO_DETAILS
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def details_html(details: object) -> str:
    """Rows of key and value, escaped by the template (the details hold what users
    typed: a sender's words, a file name), hashes in monospace."""
    if not isinstance(details, dict | list) or not details:
        return _plain(details)
    return render_to_string("admin/evidence/custody_details.html", {"rows": detail_rows(details)})


WITHHELD_HASH = "(withheld with the details)"


def _short(digest: str) -> str:
    return format_html('<code title="{}">{}…</code>', digest, digest[:16])


def _code(digest: str) -> str:
    return format_html("<code>{}</code>", digest) if digest else "–"


# The custody columns, each as shown to one viewer (``CustodyColumn``), by name: a hash
# column is given the event, and the words for its own hash and for the previous one
# when they are withheld (else None).
COLUMNS = {
    "details": ("details", None),
    "hashes": (
        "event hash (previous)",
        lambda e, own, prior: format_html(
            "{}<br>({})", own or _short(e.event_hash), prior or _short(e.previous_hash)
        ),
    ),
    "short_hash": ("event hash", lambda e, own, prior: own or e.event_hash[:16] + "…"),
    "previous": ("previous event hash", lambda e, own, prior: prior or _code(e.previous_hash)),
    "event": ("event hash", lambda e, own, prior: own or _code(e.event_hash)),
}


class _Event(NamedTuple):
    sequence: int
    details: dict


def first_withheld(identity: bool, hidden: frozenset[str], item_ids) -> dict[int, int | None]:
    """For each item, the sequence of the first event of its chain whose details a viewer
    (``identity``, ``hidden``) may not see all of (``access.first_withheld``), or None.
    One query: the chains, with their items' protection."""
    ids = list(dict.fromkeys(item_ids))
    if identity and not hidden:  # nothing is withheld from this viewer
        return dict.fromkeys(ids)
    chains: dict[int, list[_Event]] = {pk: [] for pk in ids}
    protected: set[int] = set()
    rows = CustodyEvent.objects.for_items(ids).values_list(
        "item_id", "sequence", "details", "item__is_protected"
    )
    for pk, sequence, details, is_protected in rows:
        chains[pk].append(_Event(sequence, details))
        if is_protected:
            protected.add(pk)
    return {
        pk: access.first_withheld(events, identity or pk not in protected, hidden)
        for pk, events in chains.items()
    }


@dataclass(frozen=True)
class CustodyColumn:
    """A custody column as one viewer may see it, made per request (the admin is shared
    by every thread); equal for equal viewers, so that the admin matches the one in its
    fields with the one in its read-only fields.

    The details without a protected item's file name unless ``identity`` (the viewer's
    permission) and without the codes in ``hidden`` (restricted incidents the viewer
    may not know of: a bag's incidents, its name), by ``access.custody_details``. Each
    event's hash covers the one before, so from the first event whose details were
    withheld on, every hash of the chain is withheld too (and every later link to the one
    before): from any of them, a guess of what was withheld could be checked offline.
    ``first`` holds each item's first withheld event, shared by the request's columns."""

    name: str
    identity: bool
    hidden: frozenset[str]
    first: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def __name__(self) -> str:  # the admin names a callable's column by it
        return self.name

    @property
    def short_description(self) -> str:
        return COLUMNS[self.name][0]

    def __call__(self, event: CustodyEvent) -> str:
        if self.name == "details":
            shown = access.file_name_shown(event.item, self.identity)
            return details_html(access.custody_details(event.details, shown, self.hidden))
        if event.item_id not in self.first:
            self.first.update(first_withheld(self.identity, self.hidden, [event.item_id]))
        first = self.first[event.item_id]
        own = WITHHELD_HASH if first is not None and event.sequence >= first else None
        prior = WITHHELD_HASH if first is not None and event.sequence > first else None
        return COLUMNS[self.name][1](event, own, prior)


class ShowsCustodyDetails:
    """Custody events' details and hashes as each viewer may see them (``CustodyColumn``):
    the page's columns named in ``COLUMNS`` are replaced by the viewer's own."""

    def custody_columns(self, request, names) -> tuple:
        user = request.user
        if not hasattr(request, "_hidden_incident_codes"):  # one query a request, at most
            request._hidden_incident_codes = hidden_incident_codes(user)
            request._first_withheld = {}
        identity = user.has_perm(access.VIEW_PROTECTED)
        return tuple(
            CustodyColumn(name, identity, request._hidden_incident_codes, request._first_withheld)
            if isinstance(name, str) and name in COLUMNS
            else name
            for name in names
        )

    def get_readonly_fields(self, request, obj=None):
        mapped = self.custody_columns(request, self.fields)
        return (*super().get_readonly_fields(request, obj), *mapped)

    def get_fields(self, request, obj=None):
        return self.custody_columns(request, super().get_fields(request, obj))

    @admin.display(description="at", ordering="at")
    def when(self, obj: CustodyEvent) -> str:
        return time_with_zone(obj.at)


@admin.register(Witness)
class WitnessAdmin(AuditedAdmin):
    """Real identity is shown and editable only with evidence.view_protected_identity."""

    list_display = ("pseudonym", "role", "testimony_count")
    ordering = ("pseudonym", "pk")
    list_filter = ("role",)
    search_fields = ("pseudonym",)
    PROTECTED = ("real_name", "contact")

    def can_see_identity(self, request: HttpRequest) -> bool:
        return request.user.has_perm("evidence.view_protected_identity")

    @method_decorator(sensitive_post_parameters(*PROTECTED))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Add and change: an error report of this page shows no identity (see also
        tracker.accounts.errors, which masks these fields on every page)."""
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_fields(self, request, obj=None):
        fields = ["pseudonym", "role", "notes"]
        if self.can_see_identity(request):
            fields[2:2] = list(self.PROTECTED)
        return fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_testimonies=count_of(visible_to(request.user, Testimony.objects.all()), "witness")
            )
        )

    @admin.display(description="testimonies", ordering="n_testimonies")
    def testimony_count(self, obj: Witness) -> int:
        return obj.n_testimonies


@admin.register(CustodyEvent)
class CustodyEventAdmin(ShowsCustodyDetails, ReadOnlyAdmin):
    """Read-only: the custody log is written by evidence.files.custody only."""

    paginator = DeferredJoinPaginator

    list_display = ("when", "item", "sequence", "action", "actor")  # and the hash, per viewer
    fields = (
        "item",
        "sequence",
        "action",
        "actor",
        "when",
        "observed",
        "details",
        "previous",
        "event",
    )
    list_select_related = ("item", "actor")
    list_filter = ("action",)
    search_fields = ("item__code", "=observed_sha256")
    show_full_result_count = False

    @admin.display(description="observed SHA-256")
    def observed(self, obj: CustodyEvent) -> str:
        return format_html("<code>{}</code>", obj.observed_sha256) if obj.observed_sha256 else "–"

    def get_changelist_instance(self, request):
        """The page's chains read once for its hash column (``first_withheld``)."""
        changelist = super().get_changelist_instance(request)
        if hasattr(request, "_first_withheld"):
            identity = request.user.has_perm(access.VIEW_PROTECTED)
            items = [event.item_id for event in changelist.result_list]
            hidden = request._hidden_incident_codes
            request._first_withheld.update(first_withheld(identity, hidden, items))
        return changelist

    def get_list_display(self, request):
        return self.custody_columns(request, (*super().get_list_display(request), "short_hash"))


@admin.register(SatelliteImage)
class SatelliteImageAdmin(HistoryAdmin):
    form = SceneForm
    list_display = ("item", "provider", "sensor", "captured", "resolution_m", "before")
    ordering = ("-pk",)
    list_select_related = ("item", "before__item")
    list_filter = ("provider",)
    search_fields = ("item__code", "scene_id", "provider")
    autocomplete_fields = ("item", "before")
    show_full_result_count = False

    @admin.display(description="captured at", ordering="captured_at")
    def captured(self, obj: SatelliteImage) -> str:
        return time_with_zone(obj.captured_at) or "–"


@admin.register(Testimony)
class TestimonyAdmin(HistoryAdmin):
    form = TestimonyForm
    list_display = ("item", "witness", "interview_date", "method", "language", "consent_given")
    list_select_related = ("item", "witness")
    list_filter = ("method", "consent_given", "consent_share_courts")
    search_fields = ("item__code", "witness__pseudonym", "summary")
    autocomplete_fields = ("item", "witness")
    show_full_result_count = False


def anchored(item) -> str:
    """The item page's "custody anchored": up to which event the chain was last anchored,
    when, who timestamped it, which events wait for the next anchor, and the proof."""
    leaf = anchoring.latest_leaf(item)
    if leaf is None:
        return "not yet: the next anchor (every few hours) will include it"
    made = leaf.anchor
    stamps = format_html_join(
        "; ",
        "timestamped {} by {}",
        ((time_with_zone(t.gen_time), t.tsa_name or t.tsa_url) for t in anchoring.granted(made)),
    )
    stamps = stamps or "not timestamped yet"
    head = item.custody_events.order_by("-sequence").values_list("sequence", flat=True).first()
    if head is None or head < leaf.sequence:
        stamps = format_html(
            "{}; <strong>the chain now ends before it (event {}): run verify_evidence</strong>",
            stamps,
            head or 0,
        )
        head = leaf.sequence
    first = leaf.sequence + 1
    since = f"event {head}" if head == first else f"events {first}–{head}"
    return format_html(
        'up to event {} in {}, made {}: {}{} · <a href="{}" download>download the proof</a>',
        leaf.sequence,
        made.code,
        time_with_zone(made.made_at),
        stamps,
        f" ({since}: in the next anchor)" if head >= first else "",
        reverse("evidence:anchor_proof", args=[item.code]),
    )
