"""The incident page at /incidents/<code>/: everything the case holds on one incident,
read-only, for the team outside the admin.

Each section is read by a small function with its own fixed number of queries, so the
page costs the same whatever the number of evidence items, attributions or relations
(pinned by a test). The rules come from where they live: who sees the incident
(``tracker.access``), who opens an item's files (``evidence.access``), the chain of
command (``tracker.responsibility.chain``), the flight ranking
(``evidence.flights.ranking``), who may edit (``tracker.workflow``). Nothing here
decides them again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from evidence.access import VIEW_PROTECTED, can_view_item
from evidence.files import derivation
from evidence.flights import ranking
from evidence.models import Derivative, EvidenceItem, EvidenceLink, FlightMatch
from evidence.players import keyframe_strip
from evidence.visibility import visible_to
from tracker import findings, workflow
from tracker.access import can_view_incident, requires_browse
from tracker.display import clock, time_with_zone
from tracker.models import (
    Attribution,
    Incident,
    IncidentRelation,
    LocationPrecision,
    ReviewStatus,
    TargetType,
)
from tracker.responsibility.chain import ChainEntry, chain_of_command
from tracker.workspace import admin_links
from tracker.workspace.exports import FIELDS, detail_prefix, record
from tracker.workspace.legend import safe_colour
from tracker.workspace.maps import map_config

# Codes are handed out as INC-0001 (tracker.codes); anything else cannot name an incident
# and is refused before it reaches the database (PostgreSQL rejects a NUL in a string).
CODE = re.compile(r"[A-Z]{1,8}-[0-9]{1,12}")
SHOWN_FLIGHTS = 10  # candidates on the page; the admin's candidates page lists them all
SHA_PREFIX = 12
THUMBNAIL, PREVIEW = Derivative.Kind.THUMBNAIL, Derivative.Kind.PREVIEW
KEYFRAME, PLAYABLE = Derivative.Kind.KEYFRAME, Derivative.Kind.PLAYABLE
RECORDINGS = (EvidenceItem.Kind.VIDEO, EvidenceItem.Kind.AUDIO)  # and their tags' models
# How a relation reads from each end: (seen from the "from" incident, from the "to" one).
RELATION_WORDS = {
    IncidentRelation.Kind.FOLLOW_UP: ("follow-up strike (double tap) of", "followed up by"),
    IncidentRelation.Kind.SAME_OPERATION: ("same operation as", "same operation as"),
    IncidentRelation.Kind.DUPLICATE: ("duplicate report of", "also reported as"),
}


# --- The incident -----------------------------------------------------------------------------


def load_incident(user, code: str) -> Incident:
    """The incident with ``code`` if ``user`` may see it; Http404 otherwise (a restricted
    incident does not exist for those who may not see it). Its attributions come with it,
    each with its supporting items (four queries, with the target types)."""
    if not CODE.fullmatch(code):
        raise Http404("No incident has this code.")
    supporting = EvidenceItem.objects.only("id", "code").order_by("code")
    attributions = Attribution.objects.select_related(
        "force", "unit", "unit__force", "official"
    ).order_by("id")
    incident = (
        Incident.objects.select_related("place", "weapon", "attack_type")
        .prefetch_related(
            Prefetch("target_types", queryset=TargetType.objects.order_by("name")),
            # The nested lookup apart, not inside the attributions' queryset: the flight
            # ranking filters incident.attributions again, and would carry a nested
            # prefetch into its own query.
            Prefetch("attributions", queryset=attributions),
            Prefetch("attributions__supporting_evidence", queryset=supporting),
        )
        .filter(code=code)
        .first()
    )
    if incident is None or not can_view_incident(user, incident):
        raise Http404("No incident has this code.")
    return incident


def when(incident: Incident) -> dict[str, str]:
    """The time as precisely as it is known, in the case's zone and naming it, and its
    end for attacks that lasted."""
    return {
        "start": time_with_zone(incident.occurred_start, precision=incident.start_precision),
        "precision": incident.get_start_precision_display(),
        "end": time_with_zone(incident.occurred_end),
    }


def site(incident: Incident) -> dict | None:
    """Where to draw the incident: its own coordinates, else its place's (then the
    precision is the place's: a town). None if neither is recorded."""
    if incident.latitude is not None:
        latitude, longitude = incident.latitude, incident.longitude
        precision = incident.location_precision
    elif incident.place is not None:
        latitude, longitude = incident.place.latitude, incident.place.longitude
        precision = LocationPrecision.TOWN
    else:
        return None
    return {
        "latitude": float(latitude),
        "longitude": float(longitude),
        "precision": precision,
        "precision_label": dict(LocationPrecision.choices).get(precision, precision),
        "from_place": incident.latitude is None,
    }


def parties_of(incident: Incident) -> list[str]:
    """Who the attributions presented with the incident name (``tracker.findings``), as
    the exports list them."""
    names: list[str] = []
    for attribution in incident.attributions.all():
        if not findings.stands(attribution.status, incident.status):
            continue
        for party in (attribution.force, attribution.unit, attribution.official):
            if party is not None and party.name not in names:
                names.append(party.name)
    return names


def export_fields(incident: Incident) -> dict:
    """The loaded incident as the exports' row of ``FIELDS`` (``place__name`` is
    ``incident.place.name``, None without a place): no query."""
    row = {}
    for name in FIELDS:
        value = incident
        for part in name.split("__"):
            value = getattr(value, part, None)
        row[name] = value
    return row


def map_of(incident: Incident, place: dict, evidence_count: int) -> dict:
    """map.js's configuration for this one incident: its feature with the properties of
    the GeoJSON export (``exports.record``), from what the page has loaded (no query);
    ``evidence_count`` is the number of items presented with it.
    Coordinates borrowed from the place are drawn as a town circle, whatever precision
    the incident records. Its own target types, in the vocabulary's order as on the map
    page, colour it."""
    targets = [t.name for t in incident.target_types.all()]
    fields = {**export_fields(incident), "evidence_count": evidence_count}
    row = record(fields, targets, parties_of(incident), detail_prefix())
    row["location_precision"] = place["precision"]
    feature = {
        "type": "Feature",
        "id": row["code"],
        "geometry": {"type": "Point", "coordinates": [row["longitude"], row["latitude"]]},
        "properties": row,
    }
    types = sorted(incident.target_types.all(), key=lambda t: t.pk)
    return map_config(
        features={"type": "FeatureCollection", "features": [feature]},
        types=[{"name": t.name, "colour": safe_colour(t.colour)} for t in types],
    )


# --- Review, attributions, relations ------------------------------------------------------


def review_timeline(incident: Incident) -> list[dict]:
    """The incident's workflow events, oldest first, worded as the admin's review panel
    words them (``workflow.review_events``)."""
    return [
        {"event": event, "action": action} for event, action in workflow.review_events(incident)
    ]


@dataclass(frozen=True)
class Attributions:
    """The incident's attributions as the page presents them (``tracker.findings``).

    For a verified or published incident, ``finding`` holds the checked attributions and
    ``apart`` the others (in review or rejected), shown under their own heading, each with
    its state. Otherwise every attribution is in ``finding`` with its state, and
    ``apart`` is empty."""

    checked: bool
    finding: list[Attribution]
    apart: list[Attribution]


def attributions_of(incident: Incident) -> Attributions:
    """From the prefetched attributions: no query."""
    every = list(incident.attributions.all())
    if not findings.is_checked(incident.status):
        return Attributions(False, every, [])
    stand = [a for a in every if findings.stands(a.status, incident.status)]
    return Attributions(True, stand, [a for a in every if a not in stand])


@dataclass(frozen=True)
class ChainRow:
    entry: ChainEntry
    status: str  # of the attribution to ``entry.attributed_unit`` the row rests on
    in_finding: bool


def chain_rows(incident: Incident, attributions: Attributions) -> list[ChainRow]:
    """The chain of command, each row with the review state of the attribution to its unit
    (a checked one if there is one). On a checked incident a row resting only on an
    attribution in review is not part of the finding."""
    status_of: dict[int, str] = {}
    every = attributions.finding + attributions.apart
    for a in every:
        if not a.unit_id or a.status == ReviewStatus.REJECTED:
            continue
        if a.unit_id not in status_of or findings.is_checked(a.status):
            status_of[a.unit_id] = a.status
    finding_units = {a.unit_id for a in attributions.finding if a.unit_id}
    return [
        ChainRow(
            entry,
            status_of.get(entry.attributed_unit.pk, ""),
            not attributions.checked or entry.attributed_unit.pk in finding_units,
        )
        for entry in chain_of_command(incident, every)
    ]


@dataclass(frozen=True)
class Related:
    other: Incident
    words: str
    note: str


def related_of(incident: Incident, user) -> list[Related]:
    """Relations in both directions; an incident the user may not see is left out. One query."""
    relations = (
        IncidentRelation.objects.filter(Q(from_incident=incident) | Q(to_incident=incident))
        .select_related("from_incident", "to_incident")
        .order_by("id")
    )
    found = []
    for relation in relations:
        outgoing = relation.from_incident_id == incident.pk
        other = relation.to_incident if outgoing else relation.from_incident
        if can_view_incident(user, other):
            words = RELATION_WORDS.get(relation.kind, (relation.kind, relation.kind))
            found.append(Related(other, words[0 if outgoing else 1], relation.note))
    return found


# --- Evidence -------------------------------------------------------------------------------


@dataclass
class Shown:
    """An evidence item as this viewer may see it: image URLs only if they may open it."""

    item: EvidenceItem
    may_open: bool
    thumbnail: str = ""
    preview: str = ""
    link: EvidenceLink | None = None
    in_finding: bool = True  # presented with the incident (``tracker.findings``)
    page: str = ""  # the item's admin page (metadata, custody), for those who may open it
    pending: bool = False  # an image whose thumbnail the background job has not made yet
    recording: str = ""  # "video" or "audio": the card says so, with its length
    length: str = ""  # as the file's header claims (``evidence.models.recordings``)
    playable: str = ""  # the copy made for watching (never the original), for the lightbox
    keyframes: str = ""  # a video's keyframes as a strip (``evidence.players``)

    @property
    def sha_prefix(self) -> str:
        return self.item.sha256[:SHA_PREFIX]


@dataclass
class Derivatives:
    """Which derivatives each item has, and a video's keyframes (position, seconds)."""

    kinds: dict[int, set[str]] = field(default_factory=dict)
    keyframes: dict[int, list[tuple[int, float | None]]] = field(default_factory=dict)


def derivatives_of(item_ids: set[int]) -> Derivatives:
    """One query."""
    found = Derivatives()
    rows = Derivative.objects.filter(item_id__in=item_ids).order_by("item_id", "kind", "position")
    for item_id, kind, position, seconds in rows.values_list(
        "item_id", "kind", "position", "seconds"
    ):
        found.kinds.setdefault(item_id, set()).add(kind)
        if kind == KEYFRAME:
            found.keyframes.setdefault(item_id, []).append((position, seconds))
    return found


def shown(item: EvidenceItem, user, derivatives: Derivatives, *, pages: bool = False) -> Shown:
    """No query: a recording's tags come selected with its link (``evidence_of``)."""
    may_open = can_view_item(user, item)
    view = Shown(item, may_open, page=admin_links.item_page(item.pk) if pages else "")
    if item.kind in RECORDINGS:
        view.recording = item.kind
        claims = getattr(item, item.kind, None)  # item.video or item.audio
        view.length = clock(claims.duration) if claims and claims.duration else ""
    if may_open:
        kinds = derivatives.kinds.get(item.pk, set())
        if THUMBNAIL in kinds:
            view.thumbnail = reverse("evidence:thumbnail", args=[item.code])
        if PREVIEW in kinds:
            view.preview = reverse("evidence:preview", args=[item.code])
        view.thumbnail = view.thumbnail or view.preview
        view.pending = derivation.pending(item, bool(kinds))
        if view.recording and PLAYABLE in kinds:
            view.playable = reverse("evidence:playable", args=[item.code])
        view.keyframes = keyframe_strip(item.code, derivatives.keyframes.get(item.pk, []))
    return view


@dataclass
class Evidence:
    gallery: list[Shown] = field(default_factory=list)
    testimonies: list[dict] = field(default_factory=list)
    satellite_pairs: list[list[dict]] = field(default_factory=list)

    @property
    def presented(self) -> int:
        """How many items are presented with the incident (the exports' count)."""
        return sum(1 for view in self.gallery if view.in_finding)


def evidence_of(incident: Incident, user) -> Evidence:
    """The linked items (gallery), their testimonies and before/after satellite pairs.
    Two queries: the links with each item's details (a recording's claimed length), then
    which derivatives exist (a video's keyframes)."""
    links = list(
        EvidenceLink.objects.filter(incident=incident)
        .select_related(
            "item",
            "item__testimony__witness",
            "item__satellite__before__item",
            "item__video",
            "item__audio",
        )
        .order_by("item__kind", "item__code")
    )
    items = {link.item_id: link.item for link in links}
    befores = {}
    for item in items.values():
        scene = getattr(item, "satellite", None)
        if scene is not None and scene.before_id is not None:
            befores[scene.before.item_id] = scene.before.item
    derivatives = derivatives_of(set(items) | set(befores))

    found = Evidence()
    pages = admin_links.may_open_item_pages(user)
    for link in links:
        view = shown(link.item, user, derivatives, pages=pages)
        view.link = link
        view.in_finding = findings.stands(link.item.status, incident.status)
        found.gallery.append(view)
        found.testimonies.extend(testimony_of(link.item, user))
        scene = getattr(link.item, "satellite", None)
        if scene is not None and scene.before_id is not None:
            before = shown(befores[scene.before.item_id], user, derivatives, pages=pages)
            found.satellite_pairs.append(
                [
                    {"phase": "Before", "shown": before, "scene": scene.before},
                    {"phase": "After", "shown": view, "scene": scene},
                ]
            )
    return found


def testimony_of(item: EvidenceItem, user) -> list[dict]:
    """The testimony an item holds, the witness by pseudonym. The real name and contact are
    put in only for holders of evidence.view_protected_identity (the evidence admin's rule),
    so the template cannot show them to anyone else."""
    testimony = getattr(item, "testimony", None)
    if testimony is None:
        return []
    witness = testimony.witness
    identity = None
    if user.has_perm(VIEW_PROTECTED):
        identity = {"real_name": witness.real_name, "contact": witness.contact}
    return [
        {
            "item": item,
            "testimony": testimony,
            "pseudonym": witness.pseudonym,
            "role": witness.get_role_display(),
            "identity": identity,
        }
    ]


# --- Flights --------------------------------------------------------------------------------


def confirmed_matches(incident: Incident, user) -> list[FlightMatch]:
    """The flights a reviewer confirmed for ``incident`` that ``user`` may know of (one
    query): shown with the page."""
    return list(
        visible_to(user, FlightMatch.objects.filter(incident=incident))
        .select_related("observation__log__item", "confirmed_by")
        .order_by("confirmed_at")
    )


def flights_of(incident: Incident, user) -> dict:
    """The ranked flight observations (evidence.flights.ranking, as the admin ranks them):
    asked for when the page's "Ranked observations" section is opened, not with every page
    (two queries); a date too imprecise to rank says why."""
    refused = ""
    ranked: list[ranking.Candidate] = []
    try:
        ranked = ranking.candidates(incident, viewer=user)
    except ranking.CorrelationRefused as exc:
        refused = str(exc)
    return {
        "refused": refused,
        "candidates": [
            {"rank": n, "candidate": c, "percent": round(c.score * 100)}
            for n, c in enumerate(ranked[:SHOWN_FLIGHTS], start=1)
        ],
        "total": len(ranked),
        "hidden": max(0, len(ranked) - SHOWN_FLIGHTS),
    }


@require_safe
@requires_browse
def incident_flights(request: HttpRequest, code: str) -> HttpResponse:
    """The incident's ranked flights: the section of its page (``?part=1``, fetched by
    on-demand.js when opened) or, followed as a link, a page of its own."""
    incident = load_incident(request.user, code)
    context = {
        "incident": incident,
        "flights": flights_of(incident, request.user),
        "admin_url": admin_links.incident_link(incident, request.user)[1],
    }
    part = request.GET.get("part") == "1"
    name = "tracker/incident_flights_part.html" if part else "tracker/incident_flights.html"
    return render(request, name, context)


# --- The page -------------------------------------------------------------------------------


@require_safe
@requires_browse
def incident_detail(request: HttpRequest, code: str) -> HttpResponse:
    user = request.user
    incident = load_incident(user, code)
    evidence = evidence_of(incident, user)
    admin_label, admin_url = admin_links.incident_link(incident, user)
    place = site(incident)
    attributions = attributions_of(incident)
    context = {
        "section": "incident",
        "incident": incident,
        "when": when(incident),
        "site": place,
        "map_config": map_of(incident, place, evidence.presented) if place else None,
        "timeline": review_timeline(incident),
        "checked": attributions.checked,
        "attributions": attributions,
        "chain": chain_rows(incident, attributions),
        "related": related_of(incident, user),
        "evidence": evidence,
        "matches": confirmed_matches(incident, user),
        "admin_label": admin_label,
        "admin_url": admin_url,
        "upload_url": admin_links.upload_url(user, incident),
        "may_see_identity": user.has_perm(VIEW_PROTECTED),
    }
    return render(request, "tracker/incident_detail.html", context)
