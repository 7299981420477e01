"""What corroboration reads of incidents and their relied-on evidence, for many
incidents at once in a fixed number of queries (eight, whatever the batch's size), as
plain values: no rule reads the database.

Only an item's own claims are read (its capture time, place and source), never a
protected item's EXIF or recording tags, which are withheld from most viewers
(``evidence.access.PHOTO_SOURCE``): a reason shown to the team must not disclose them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from django.db.models import Q

from evidence.models import (
    CapturePart,
    EvidenceItem,
    EvidenceLink,
    FlightMatch,
    SatelliteImage,
    Testimony,
    WebCapture,
)
from tracker.models import Incident, LocationPrecision, ReviewStatus
from tracker.responsibility import names, periods

K = EvidenceItem.Kind
L = LocationPrecision

# How far (km) a location of each precision may be from the point recorded for it.
SITE_KM = {
    L.EXACT: 0.05,
    L.WITHIN_100M: 0.1,
    L.NEIGHBOURHOOD: 1.0,
    L.TOWN: 5.0,
    L.DISTRICT: 25.0,
    L.GOVERNORATE: 75.0,
}
GPS_KM = 0.1  # an item's own coordinates (a camera's GPS, or typed from it)
PLACE_KM = SITE_KM[L.TOWN]  # an item placed only by its town in the gazetteer
VERIFIED = frozenset({ReviewStatus.VERIFIED, ReviewStatus.PUBLISHED})


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float
    km: float  # how far the place may be from this point


@dataclass
class Scene:
    id: int
    before_id: int | None  # the "before" scene it is compared with: this one is an "after"
    taken: datetime | None  # local, naive
    bounds: tuple[float, float, float, float] | None  # west, south, east, north
    # Another scene of the same case names this one as its "before" (a scene outside the
    # case, perhaps hidden from the viewer, says nothing here).
    is_before: bool = False


@dataclass
class Item:
    id: int
    code: str
    kind: str
    verified: bool
    source: str  # the source's name in its normal form ("" when not given)
    source_name: str
    addresses: frozenset[str]
    captured: periods.Period | None
    captured_text: str
    point: Point | None
    killed: tuple[int | None, int | None] | None
    witness: tuple[int, str, str] | None = None  # id, role, pseudonym
    scene: Scene | None = None
    flight_score: float | None = None  # the best confirmed match of its log


@dataclass
class Case:
    id: int
    code: str
    period: periods.Period
    when_text: str
    site: Point | None
    items: list[Item] = field(default_factory=list)
    near_duplicates: set[tuple[int, int]] = field(default_factory=set)
    derived: set[tuple[int, int]] = field(default_factory=set)  # (part, capture)


def address(url: str) -> str:
    """A web address in one form for comparison: scheme, "www." and a final slash,
    the fragment and the case of the host dropped."""
    url = url.strip()
    if not url:
        return ""
    url = url.split("#", 1)[0]
    rest = url.split("://", 1)[-1]
    host, _, path = rest.partition("/")
    host = host.lower().removeprefix("www.")
    return f"{host}/{path}".rstrip("/")


def _bounds(*sides: Decimal | None) -> tuple[float, float, float, float] | None:
    """A footprint (west, south, east, north), or None if a side is missing."""
    if any(side is None for side in sides):
        return None
    west, south, east, north = (float(side) for side in sides if side is not None)
    return west, south, east, north


def _point(latitude, longitude, km: float) -> Point | None:
    if latitude is None or longitude is None:
        return None
    return Point(float(latitude), float(longitude), km)


def _site(row: dict) -> Point | None:
    km = SITE_KM.get(row["location_precision"], SITE_KM[L.GOVERNORATE])
    return _point(row["latitude"], row["longitude"], km) or _point(
        row["place__latitude"], row["place__longitude"], max(km, PLACE_KM)
    )


def _case(row: dict) -> Case:
    start, precision = row["occurred_start"], row["start_precision"]
    return Case(
        id=row["id"],
        code=row["code"],
        period=periods.incident_period(start, precision, row["occurred_end"]),
        when_text=periods.format_partial(start, precision),
        site=_site(row),
    )


ITEM_FIELDS = (
    "incident_id",
    "killed_min",
    "killed_max",
    "item_id",
    "item__code",
    "item__kind",
    "item__status",
    "item__source_name",
    "item__source_url",
    "item__captured_at",
    "item__captured_precision",
    "item__captured_latitude",
    "item__captured_longitude",
    "item__captured_place__latitude",
    "item__captured_place__longitude",
)


def _item(row: dict, addresses: Iterable[str]) -> Item:
    captured = row["item__captured_at"]
    precision = row["item__captured_precision"]
    period = None
    if captured is not None:
        begins = periods.start_of(captured, precision)
        period = periods.Period(begins, periods.add_precision(begins, precision))
    killed = (row["killed_min"], row["killed_max"])
    return Item(
        id=row["item_id"],
        code=row["item__code"],
        kind=row["item__kind"],
        verified=row["item__status"] in VERIFIED,
        source=names.search_key(row["item__source_name"]),
        source_name=row["item__source_name"].strip(),
        addresses=frozenset(a for a in (address(row["item__source_url"]), *addresses) if a),
        captured=period,
        captured_text=periods.format_partial(captured, precision),
        point=_point(row["item__captured_latitude"], row["item__captured_longitude"], GPS_KM)
        or _point(
            row["item__captured_place__latitude"],
            row["item__captured_place__longitude"],
            PLACE_KM,
        ),
        killed=None if killed == (None, None) else killed,
    )


def load(incident_ids: Iterable[int]) -> dict[int, Case]:
    """The cases of ``incident_ids`` (those that exist), each with its relied-on items."""
    ids = list(incident_ids)
    cases = {
        row["id"]: _case(row)
        for row in Incident.objects.filter(pk__in=ids).values(
            "id",
            "code",
            "occurred_start",
            "start_precision",
            "occurred_end",
            "latitude",
            "longitude",
            "location_precision",
            "place__latitude",
            "place__longitude",
        )
    }
    links = EvidenceLink.objects.filter(incident_id__in=ids, relied_on=True)
    items = links.values("item_id")
    addresses: dict[int, list[str]] = defaultdict(list)
    for item_id, url, final_url in WebCapture.objects.filter(item_id__in=items).values_list(
        "item_id", "url", "final_url"
    ):
        addresses[item_id] += [address(url), address(final_url)]
    scenes = {
        row["item_id"]: Scene(
            id=row["id"],
            before_id=row["before_id"],
            taken=None if row["captured_at"] is None else periods.local(row["captured_at"]),
            bounds=_bounds(row["west"], row["south"], row["east"], row["north"]),
        )
        for row in SatelliteImage.objects.filter(item_id__in=items).values(
            "id",
            "item_id",
            "before_id",
            "captured_at",
            "west",
            "south",
            "east",
            "north",
        )
    }
    witnesses = {
        row["item_id"]: (row["witness_id"], row["witness__role"], row["witness__pseudonym"])
        for row in Testimony.objects.filter(item_id__in=items).values(
            "item_id", "witness_id", "witness__role", "witness__pseudonym"
        )
    }
    scores: dict[tuple[int, int], float] = {}
    for incident_id, log_item, score in FlightMatch.objects.filter(incident_id__in=ids).values_list(
        "incident_id", "observation__log__item_id", "score"
    ):
        key = (incident_id, log_item)
        scores[key] = max(score, scores.get(key, score))
    through = EvidenceItem.near_duplicates.through
    near = set(
        through.objects.filter(
            from_evidenceitem_id__in=items, to_evidenceitem_id__in=items
        ).values_list("from_evidenceitem_id", "to_evidenceitem_id")
    )
    derived = set(
        CapturePart.objects.filter(
            Q(item_id__in=items) | Q(capture__item_id__in=items)
        ).values_list("item_id", "capture__item_id")
    )
    for row in links.values(*ITEM_FIELDS).order_by("incident_id", "item_id"):
        case = cases.get(row["incident_id"])
        if case is None:
            continue
        item = _item(row, addresses.get(row["item_id"], ()))
        item.witness = witnesses.get(item.id)
        scene = scenes.get(item.id)
        item.scene = None if scene is None else replace(scene)  # its role is per case
        item.flight_score = scores.get((case.id, item.id))
        case.items.append(item)
    held: dict[int, list[Case]] = defaultdict(list)  # item -> the cases relying on it
    for case in cases.values():
        compared = {item.scene.before_id for item in case.items if item.scene}
        for item in case.items:
            held[item.id].append(case)
            if item.scene:
                item.scene.is_before = item.scene.id in compared
    for pairs, name in ((near, "near_duplicates"), (derived, "derived")):
        for a, b in pairs:
            for case in held.get(a, ()):
                if case in held.get(b, ()):
                    getattr(case, name).add((a, b))
    return cases
