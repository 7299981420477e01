"""Build the SAMPLE demo case from ``demo.data`` in one transaction.

Every file enters through ``evidence.intake.ingest``. If the build fails, the
transaction rolls back and the originals stored by this run are removed again
(intake promotes a file inside its own savepoint, which an outer rollback
cannot undo). Running it again once the case is loaded changes nothing.
"""

from __future__ import annotations

import os
import random
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import models, transaction

from demo import data
from demo.grades import GradeSteps
from demo.items import LOCAL, PLACE_SPECS, DuplicateFile, EvidenceSteps, decimal6
from evidence.files import storage
from evidence.models import EvidenceItem, FlightObservation, Witness
from tracker.models import (
    AttackType,
    Attribution,
    Force,
    Incident,
    IncidentRelation,
    Official,
    OfficialAlias,
    Place,
    Position,
    ReviewStatus,
    SourceType,
    TargetType,
    Unit,
    Weapon,
)

LOGINS_FILE = "demo-logins.txt"


class DemoError(Exception):
    """The demo case cannot be built; the message says why."""


@dataclass
class LoadResult:
    already_loaded: bool
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    evidence_by_kind: dict[str, int] = field(default_factory=dict)
    new_logins: dict[str, str] = field(default_factory=dict)
    kept_users: list[str] = field(default_factory=list)  # existing accounts left alone


def logins_path() -> Path:
    return Path(settings.DATA_DIR) / LOGINS_FILE


def read_logins() -> str | None:
    """The demo logins file's text, or None if no demo logins were ever created."""
    path = logins_path()
    return path.read_text(encoding="utf-8") if path.exists() else None


def is_loaded() -> bool:
    return Force.objects.filter(name=data.SENTINEL_FORCE).exists()


def load() -> LoadResult:
    """Build the demo case unless it is already loaded."""
    started = time.monotonic()
    if is_loaded():
        return LoadResult(already_loaded=True)
    case = _Case()
    try:
        with transaction.atomic():
            if is_loaded():  # another process finished first
                return LoadResult(already_loaded=True)
            case.build()
            counts, kinds = case.counts()
    except DuplicateFile as exc:
        case.remove_new_files()
        raise DemoError(str(exc)) from None
    except BaseException:
        case.remove_new_files()
        raise
    if case.new_logins:
        _write_logins(case.new_logins)
    seconds = time.monotonic() - started
    return LoadResult(False, seconds, counts, kinds, case.new_logins, case.kept_users)


def _write_logins(new: dict[str, str]) -> None:
    """Add ``new`` to the logins file, readable by its owner only (0600)."""
    entries: dict[str, str] = {}
    for line in (read_logins() or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            entries[parts[0]] = parts[1]
    entries.update(new)
    text = f"# {data.LABEL} demo case logins (development only). Admin: {data.ADMIN_URL}\n"
    text += "".join(f"{user:<12} {password}\n" for user, password in entries.items())
    path = logins_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file keeps its mode on open; restrict it before writing
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def saved(obj: models.Model, *, by: User | None = None, exclude: tuple[str, ...] = ()):
    """Validate (so constraint violations read as messages), then save."""
    obj.full_clean(exclude=list(exclude))
    if by is not None:
        obj._history_user = by  # django-simple-history records who made the change
    obj.save()
    return obj


def _by_name(model: type[models.Model], names) -> dict:
    wanted = set(names)
    found = {obj.name: obj for obj in model.objects.filter(name__in=wanted)}
    if missing := sorted(wanted - set(found)):
        raise DemoError(
            f"{model._meta.verbose_name_plural.capitalize()} missing: {', '.join(missing)}. "
            "They are seeded by tracker migration 0002; restore them or their names."
        )
    return found


def _partial_date(text: str) -> tuple[date | None, str]:
    """Parse "2019", "2019-09" or "2019-09-30" into (first day of the period, precision)."""
    if not text:
        return None, "day"
    parts = [int(p) for p in text.split("-")]
    precision = {1: "year", 2: "month", 3: "day"}[len(parts)]
    return date(*(parts + [1, 1])[:3]), precision


def _truncate(moment: datetime, precision: str) -> datetime:
    """The first moment of the period a time is known to (see DatePrecision)."""
    fields = {"hour": ("minute",), "day": ("hour", "minute"), "month": ("day", "hour", "minute")}
    replace = {name: (1 if name == "day" else 0) for name in fields.get(precision, ())}
    return moment.replace(second=0, microsecond=0, **replace)


class _Case(EvidenceSteps, GradeSteps):
    """The records of one build, kept so that later steps can refer to earlier ones."""

    def __init__(self) -> None:
        self.new_keys: list[str] = []
        self.new_logins: dict[str, str] = {}
        self.kept_users: list[str] = []
        self.items: dict[str, dict[str, list[EvidenceItem]]] = defaultdict(
            lambda: defaultdict(list)
        )

    def build(self) -> None:
        self.users = self._users()
        self.researcher = self.users["researcher"]
        self.source = _by_name(SourceType, [v for k, v in vars(data).items() if k[:4] == "SRC_"])
        self.places = self._places()
        self._forces()
        self._incidents()
        self.add_evidence()
        self._attributions()
        self._cite_evidence()
        self._disagreements()
        self._review()
        self._proposals()  # after review: a verified item counts

    def _review(self) -> None:
        """Some work already under review, so the queue and the states show something.

        Every step goes through tracker.workflow, with the roles the rules require: an
        incident is verified once the evidence and attributions it relies on are."""
        from tracker.workflow import Action, transition

        reviewer, editor = self.users["reviewer"], self.users["editor"]
        first = sorted(self.incidents.values(), key=lambda incident: incident.code)[:6]
        for incident in first:
            transition(incident, Action.SUBMIT, by=self.researcher)
            for attribution in incident.attributions.filter(status=ReviewStatus.DRAFT):
                transition(attribution, Action.SUBMIT, by=self.researcher)
        for incident in first[:3]:
            for link in incident.evidence_links.filter(relied_on=True).select_related("item"):
                if link.item.status == ReviewStatus.DRAFT:
                    transition(link.item, Action.SUBMIT, by=self.researcher)
                if link.item.status == ReviewStatus.SUBMITTED:
                    transition(link.item, Action.VERIFY, by=self._verifier(link.item))
            relied_on = incident.attributions.filter(relied_on=True)
            for attribution in relied_on.filter(status=ReviewStatus.SUBMITTED):
                transition(attribution, Action.VERIFY, by=reviewer)
            transition(incident, Action.VERIFY, by=reviewer)
        transition(first[0], Action.PUBLISH, by=editor)
        transition(
            first[3],
            Action.REQUEST_CHANGES,
            by=reviewer,
            comment="SAMPLE: the hospital's own casualty list gives a different count; check it.",
        )

    def _verifier(self, record: models.Model) -> User:
        """The demo user who may verify ``record``: the reviewer, unless the item is
        protected and only someone allowed to see protected identities (the
        administrator, in the demo) may open its files."""
        from tracker.workflow import Action, refusal

        candidates = [self.users[name] for name in ("reviewer", "editor", "admin")]
        reasons = [refusal(record, Action.VERIFY, user) for user in candidates]
        for user, reason in zip(candidates, reasons, strict=True):
            if reason is None:
                return user
        raise DemoError(f"No demo user may verify {record}: {reasons[0]}")

    def saved(self, obj: models.Model, **options) -> models.Model:
        return saved(obj, **options)

    def remove_new_files(self) -> None:
        for key in self.new_keys:
            storage.remove_new_original(key)

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """What the case holds, and its evidence items by kind, for the command's summary."""
        items = EvidenceItem.objects.filter(title__startswith=data.TITLE_PREFIX)
        kinds = dict(items.order_by().values_list("kind").annotate(n=models.Count("id")))
        units = Unit.objects.filter(force__in=self.forces.values())
        attributions = Attribution.objects.filter(incident__in=self.incidents.values())
        counts = {
            "incidents": Incident.objects.filter(title__startswith=data.TITLE_PREFIX).count(),
            "places": len(self.places),
            "units": units.count(),
            "officials": Official.objects.filter(name__endswith=data.NAME_SUFFIX).count(),
            "postings": Position.objects.filter(unit__in=units).count(),
            "attributions": attributions.count(),
            "witnesses": Witness.objects.filter(pseudonym__startswith=data.LABEL).count(),
            "flight observations": FlightObservation.objects.filter(log__item__in=items).count(),
            "evidence items": items.count(),
        }
        return counts, dict(sorted(kinds.items()))

    # --- people, places, forces ---------------------------------------------------------

    def _users(self) -> dict[str, User]:
        users = {}
        for spec in data.USERS:
            user = User.objects.filter(username=spec.username).first()
            if user is not None:
                self.kept_users.append(spec.username)
            else:
                password = secrets.token_urlsafe(12)
                user = User(username=spec.username, first_name=data.LABEL, is_staff=True)
                user.last_name, user.is_superuser = spec.last_name, spec.superuser
                user.set_password(password)
                saved(user)
                if spec.group:
                    user.groups.add(*_by_name(Group, [spec.group]).values())
                self.new_logins[spec.username] = password
            users[spec.username] = user
        return users

    def _places(self) -> dict[str, Place]:
        places = {}
        for spec in data.PLACES:
            where = {"name": spec.name, "district": spec.district, "governorate": spec.governorate}
            place = Place.objects.filter(**where).first()
            if place is None:
                place = saved(
                    Place(
                        **where,
                        alternative_names="\n".join(spec.other_names),
                        latitude=Decimal(spec.lat),
                        longitude=Decimal(spec.lon),
                    )
                )
            places[spec.key] = place
        return places

    def _forces(self) -> None:
        editor = self.users["editor"]  # editors manage forces, units and officials
        self.forces = {
            spec.key: saved(
                Force(
                    name=spec.name,
                    short_name=spec.short_name,
                    country=spec.country,
                    description=spec.description,
                )
            )
            for spec in data.FORCES
        }
        self.units: dict[str, Unit] = {}
        for spec in data.UNITS:  # parents come before their children
            unit = Unit(force=self.forces[spec.force], parent=self.units.get(spec.parent))
            unit.name, unit.source = spec.name, data.UNIT_SOURCE
            unit.aliases = "\n".join(spec.aliases)
            self.units[spec.key] = saved(unit)
        self.officials: dict[str, Official] = {}
        for spec in data.OFFICIALS:
            official = Official(name=spec.name, nationality=spec.nationality, born=spec.born)
            official.biography = "SAMPLE: a fictional person invented for the demo case."
            official.created_by = official.updated_by = editor
            self.officials[spec.key] = saved(official, by=editor, exclude=("name_key",))
            for name, script, language in spec.aliases:
                alias = OfficialAlias(
                    official=official, name=name, script=script, language=language
                )
                saved(alias, exclude=("key",))
        for spec in data.POSTINGS:
            start, start_precision = _partial_date(spec.start)
            end, end_precision = _partial_date(spec.end)
            posting = Position(official=self.officials[spec.official], unit=self.units[spec.unit])
            posting.title, posting.rank, posting.source = spec.title, spec.rank, data.POSTING_SOURCE
            posting.is_command, posting.is_acting = spec.is_command, spec.is_acting
            posting.start, posting.start_precision = start, start_precision
            posting.end, posting.end_precision = end, end_precision
            saved(posting)

    # --- incidents ----------------------------------------------------------------------

    def _incidents(self) -> None:
        attack = _by_name(AttackType, {s.attack for s in data.INCIDENTS})
        weapon = _by_name(Weapon, {s.weapon for s in data.INCIDENTS})
        target = _by_name(TargetType, {t for s in data.INCIDENTS for t in s.targets})
        by = self.researcher
        self.incidents: dict[str, Incident] = {}
        self.times: dict[str, datetime] = {}
        self.sites: dict[str, tuple[float, float]] = {}
        for spec in data.INCIDENTS:
            place = self.places[spec.place]
            when = datetime.fromisoformat(spec.when).replace(tzinfo=LOCAL)
            self.times[spec.key] = when
            self.sites[spec.key] = site = self._site(spec)
            incident = Incident(
                title=f"{data.TITLE_PREFIX}{spec.what}, {place.name}",
                narrative=self._narrative(spec, when),
                occurred_start=_truncate(when, spec.precision),
                start_precision=spec.precision,
                occurred_end=when + timedelta(hours=spec.hours) if spec.hours else None,
                place=place,
                latitude=decimal6(site[0]),
                longitude=decimal6(site[1]),
                location_precision=spec.location,
                attack_type=attack[spec.attack],
                weapon=weapon[spec.weapon],
                killed_min=spec.killed[0],
                killed_max=spec.killed[1],
                injured_min=spec.injured[0],
                injured_max=spec.injured[1],
                children_killed=spec.children,
                women_killed=spec.women,
                civilian_harm=spec.harm,
                sensitivity="sensitive" if spec.sensitive else "normal",
                created_by=by,
                updated_by=by,
            )
            self.incidents[spec.key] = saved(incident, by=by, exclude=("code",))
            incident.target_types.set([target[name] for name in spec.targets])
        for spec in data.INCIDENTS:
            if spec.follow_up_of:
                minutes = (self.times[spec.key] - self.times[spec.follow_up_of]).seconds // 60
                relation = IncidentRelation(
                    from_incident=self.incidents[spec.key],
                    to_incident=self.incidents[spec.follow_up_of],
                    kind=IncidentRelation.Kind.FOLLOW_UP,
                    note=f"SAMPLE: struck the same site {minutes} minutes later, as rescuers "
                    "arrived (double tap).",
                )
                saved(relation)

    def _site(self, spec: data.IncidentSpec) -> tuple[float, float]:
        """Coordinates of the site: near the town centre, the same for a follow-up."""
        if spec.follow_up_of:
            return self.sites[spec.follow_up_of]
        place = PLACE_SPECS[spec.place]
        if spec.location == "town":
            return float(place.lat), float(place.lon)
        rng = random.Random(f"site:{spec.key}")
        lat, lon = float(place.lat), float(place.lon)
        return lat + rng.uniform(-4e-3, 4e-3), lon + rng.uniform(-4e-3, 4e-3)

    def _narrative(self, spec: data.IncidentSpec, when: datetime) -> str:
        place = self.places[spec.place]
        killed = "no deaths" if spec.killed[1] == 0 else f"{spec.killed[0]}-{spec.killed[1]} killed"
        return (
            f"{spec.what} in {place.name} ({place.district}, {place.governorate}) on "
            f"{when:%d %B %Y} at about {when:%H:%M} local time. Sites hit: "
            f"{', '.join(spec.targets).lower()}. Reported weapon: {spec.weapon.lower()}. "
            f"Casualties reported: {killed}, {spec.injured[0]}-{spec.injured[1]} injured.\n\n"
            f"{data.DISCLAIMER}"
        )

    # --- attributions and narratives ----------------------------------------------------

    def _attributions(self) -> None:
        by = self.researcher
        for spec in data.ATTRIBUTIONS:
            attribution = Attribution(incident=self.incidents[spec.incident])
            attribution.force = self.forces.get(spec.force)
            attribution.unit = self.units.get(spec.unit)
            attribution.official = self.officials.get(spec.official)
            attribution.role, attribution.confidence = spec.role, spec.confidence
            attribution.basis = data.TITLE_PREFIX + spec.basis
            # One that cites no evidence yet is a lead the finding does not rest on; it
            # cannot be verified (tracker.responsibility.chain.can_verify_attribution).
            attribution.relied_on = bool(spec.evidence)
            attribution.created_by = attribution.updated_by = by
            saved(attribution, by=by)
            supporting = []
            for kind in spec.evidence:
                if not (held := self.items[spec.incident][kind]):
                    raise DemoError(f"Attribution for {spec.incident} cites {kind}; none is held.")
                supporting += held
            attribution.supporting_evidence.set(supporting)

    def _cite_evidence(self) -> None:
        """Add the evidence codes to each narrative, as researchers are asked to."""
        for key, incident in self.incidents.items():
            codes = sorted({item.code for held in self.items[key].values() for item in held})
            if codes:
                incident.narrative += f"\n\nEvidence: {', '.join(codes)}."
                incident._history_user = self.researcher
                incident.save()
