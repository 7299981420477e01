"""The consistency checks of an incident's relied-on evidence, each giving reasons in
words: a support, a contradiction, or a note (what could not be checked, or does not
count). The thresholds are named here and written in ``docs/corroboration.md``."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from evidence.corroboration.facts import Case, Item, Point
from evidence.models import EvidenceItem, Witness
from tracker.display import count_range
from tracker.responsibility import periods

K = EvidenceItem.Kind
RECORDINGS = frozenset({K.PHOTO, K.VIDEO, K.AUDIO})
# A recording this long before the strike began is before it, not a camera clock's slip.
CLOCK_SLACK = timedelta(minutes=30)
# A recording up to this long after the strike is close to it in time.
AFTERMATH = timedelta(days=7)
# How far a camera may stand from what it records (km), beyond both places' precision.
VIEW_KM = 2.0
# A confirmed flight corroborates the strike when its ranking scored at least this.
FLIGHT_SCORE = 0.5
# Witnesses who were at the place; a relative or another witness reports what they heard.
AT_PLACE = frozenset(
    {Witness.Role.SURVIVOR, Witness.Role.EYEWITNESS, Witness.Role.RESCUER, Witness.Role.MEDICAL}
)

SUPPORT, CONTRADICTION, NOTE = "support", "contradiction", "note"


@dataclass(frozen=True)
class Reason:
    check: str
    verdict: str
    text: str
    item: str = ""  # the code of the item it is about, if one

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "verdict": self.verdict, "text": self.text}


def span(delta: timedelta) -> str:
    """A length of time in words: "2 days", "1 day 23 hours", "5 hours", "16 minutes"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, hours = minutes // 1440, minutes % 1440 // 60
    if days:
        return _count(days, "day") + (f" {_count(hours, 'hour')}" if hours else "")
    if hours:
        return _count(hours, "hour")
    return _count(minutes, "minute")


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'s' * (n != 1)}"


def km_between(a: Point, b: Point) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    la1, lo1, la2, lo2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def time(case: Case) -> list[Reason]:
    """Each recording's capture time against the strike's time and its precision."""
    reasons = []
    strike = case.period
    for item in case.items:
        if item.kind not in RECORDINGS or item.captured is None:
            continue
        taken = f"{item.code} was recorded {item.captured_text}"
        if item.captured.latest <= strike.earliest - CLOCK_SLACK:
            before = span(strike.earliest - item.captured.earliest)
            reasons.append(
                Reason(
                    "time",
                    CONTRADICTION,
                    f"{taken}, {before} before the strike ({case.when_text}): "
                    "it cannot show the attack or its aftermath.",
                    item.code,
                )
            )
        elif item.captured.earliest < strike.latest:
            reasons.append(
                Reason("time", SUPPORT, f"{taken}, within the strike's time.", item.code)
            )
        elif item.captured.earliest < strike.latest + AFTERMATH:
            after = span(item.captured.earliest - strike.latest)
            reasons.append(
                Reason("time", SUPPORT, f"{taken}, {after} after the strike's time.", item.code)
            )
        else:
            after = span(item.captured.earliest - strike.latest)
            reasons.append(
                Reason(
                    "time",
                    NOTE,
                    f"{taken}, {after} after the strike's time: it may show the damage, "
                    "not when it was done.",
                )
            )
    if not reasons and any(item.kind in RECORDINGS for item in case.items):
        reasons.append(Reason("time", NOTE, "No photo, video or audio has a capture time."))
    return reasons


def place(case: Case) -> list[Reason]:
    """Each recording's capture place against the site, given both precisions."""
    if case.site is None:
        return [Reason("place", NOTE, "The incident has no coordinates to compare with.")]
    reasons = []
    for item in case.items:
        if item.kind not in RECORDINGS or item.point is None:
            continue
        distance = km_between(item.point, case.site)
        allowed = case.site.km + item.point.km + VIEW_KM
        where = f"{item.code} was recorded {distance:.1f} km from the site"
        if distance > allowed:
            reasons.append(
                Reason(
                    "place", CONTRADICTION, f"{where}, farther than {allowed:.1f} km.", item.code
                )
            )
        else:
            reasons.append(
                Reason("place", SUPPORT, f"{where} (within {allowed:.1f} km).", item.code)
            )
    return reasons


def covers(item: Item, site: Point | None) -> bool:
    if site is None or item.scene is None or item.scene.bounds is None:
        return False
    west, south, east, north = item.scene.bounds
    return west <= site.longitude <= east and south <= site.latitude <= north


def _day(moment: datetime) -> str:
    return periods.format_partial(moment, periods.P.DAY)


def bracket(case: Case) -> tuple[Item, Item] | None:
    """The latest scene before the strike and the earliest after it, both over the site."""
    over = [i for i in case.items if i.scene and i.scene.taken and covers(i, case.site)]
    before = [i for i in over if i.scene.taken < case.period.earliest]  # type: ignore[union-attr,operator]
    after = [i for i in over if i.scene.taken >= case.period.latest]  # type: ignore[union-attr,operator]
    if not before or not after:
        return None
    return max(before, key=lambda i: i.scene.taken), min(after, key=lambda i: i.scene.taken)  # type: ignore[union-attr,arg-type,return-value]


def satellite(case: Case) -> list[Reason]:
    """Scenes before and after the strike, their footprints over the site."""
    scenes = [item for item in case.items if item.kind == K.SATELLITE and item.scene]
    if not scenes:
        return []
    reasons = []
    for item in scenes:
        scene = item.scene
        assert scene is not None
        if case.site is not None and scene.bounds is not None and not covers(item, case.site):
            reasons.append(
                Reason(
                    "satellite", CONTRADICTION, f"{item.code}'s footprint does not cover the site."
                )
            )
        if scene.taken is None:
            reasons.append(Reason("satellite", NOTE, f"{item.code} has no date."))
        elif scene.before_id and scene.taken < case.period.earliest:
            reasons.append(
                Reason(
                    "satellite",
                    CONTRADICTION,
                    f"{item.code} is an 'after' scene dated {_day(scene.taken)}, before the "
                    f"strike ({case.when_text}).",
                )
            )
        elif scene.is_before and scene.taken >= case.period.latest:
            reasons.append(
                Reason(
                    "satellite",
                    CONTRADICTION,
                    f"{item.code} is a 'before' scene dated {_day(scene.taken)}, after the "
                    f"strike ({case.when_text}).",
                )
            )
    pair = bracket(case)
    if pair:
        before, after = pair
        reasons.append(
            Reason(
                "satellite",
                SUPPORT,
                f"{before.code} ({_day(before.scene.taken)}) and {after.code} "  # type: ignore[union-attr,arg-type]
                f"({_day(after.scene.taken)}) bracket the strike over the site.",  # type: ignore[union-attr,arg-type]
            )
        )
    else:
        reasons.append(
            Reason(
                "satellite",
                NOTE,
                "No two scenes over the site bracket the strike (one before it, one after).",
            )
        )
    return reasons


def flight(case: Case) -> list[Reason]:
    """Each relied-on flight log's best confirmed match against the threshold."""
    reasons = []
    for item in case.items:
        if item.kind != K.FLIGHT_LOG:
            continue
        if item.flight_score is None:
            reasons.append(
                Reason("flight", NOTE, f"{item.code}: no flight of it is confirmed for the strike.")
            )
        elif item.flight_score >= FLIGHT_SCORE:
            reasons.append(
                Reason(
                    "flight",
                    SUPPORT,
                    f"{item.code}: a confirmed flight scored {item.flight_score:.2f} "
                    f"(at least {FLIGHT_SCORE:.2f}).",
                )
            )
        else:
            reasons.append(
                Reason(
                    "flight",
                    NOTE,
                    f"{item.code}: its confirmed flight scored {item.flight_score:.2f}, under "
                    f"{FLIGHT_SCORE:.2f}: it does not corroborate the strike.",
                )
            )
    return reasons


def at_place(item: Item) -> bool:
    return item.witness is not None and item.witness[1] in AT_PLACE


def testimony(case: Case) -> list[Reason]:
    """Testimony relied on, and whether its witness was at the place."""
    reasons = []
    for item in case.items:
        if item.kind != K.TESTIMONY:
            continue
        if item.witness is None:
            reasons.append(Reason("testimony", NOTE, f"{item.code}: no witness recorded."))
            continue
        role = Witness.Role(item.witness[1]).label if item.witness[1] in Witness.Role else "witness"
        if at_place(item):
            reasons.append(
                Reason("testimony", SUPPORT, f"{item.code}: testimony of {role}, at the place.")
            )
        else:
            reasons.append(
                Reason("testimony", NOTE, f"{item.code}: testimony of {role}, not at the place.")
            )
    if not reasons:
        reasons.append(Reason("testimony", NOTE, "No testimony is relied on."))
    return reasons


def _range(killed: tuple[int | None, int | None]) -> tuple[float, float]:
    low, high = killed
    return (0 if low is None else low, math.inf if high is None else high)


def casualties(case: Case, source_of: dict[int, int]) -> list[Reason]:
    """The killed figures items of different sources report: ranges that do not meet
    contradict each other; those of one source that do not meet are a note (a source
    that corrected itself), and no agreement is claimed then."""
    reporting = [item for item in case.items if item.killed]
    reasons = []
    for n, a in enumerate(reporting):
        for b in reporting[n + 1 :]:
            (a_low, a_high), (b_low, b_high) = _range(a.killed), _range(b.killed)  # type: ignore[arg-type]
            if a_low <= b_high and b_low <= a_high:
                continue
            figures = (
                f"{a.code} reports {count_range(*a.killed)} killed, {b.code} "  # type: ignore[misc]
                f"{count_range(*b.killed)}"
            )
            if source_of[a.id] == source_of[b.id]:
                reasons.append(Reason("casualties", NOTE, f"{figures}, both of one source."))
            else:
                reasons.append(
                    Reason("casualties", CONTRADICTION, f"{figures}: the figures do not meet.")
                )
    if not reasons and len({source_of[item.id] for item in reporting}) > 1:
        low = max(_range(item.killed)[0] for item in reporting)  # type: ignore[arg-type]
        high = min(_range(item.killed)[1] for item in reporting)  # type: ignore[arg-type]
        agreed = count_range(int(low), None if high == math.inf else int(high))
        reasons.append(
            Reason(
                "casualties",
                SUPPORT,
                f"The killed figures of {len(reporting)} items agree ({agreed}).",
            )
        )
    return reasons


CHECKS: tuple[Callable[[Case], list[Reason]], ...] = (time, place, satellite, flight, testimony)
