"""Build a realistic case at a chosen scale, fast (bulk inserts), for benchmarks.

    python bench/generate.py --incidents 100000 --evidence 1000000 \\
        --observations 1000000 --officials 5000

Rows only, no files: evidence items carry well-formed but random hashes, so the
admin, search and correlation benchmarks see real table sizes without writing
a terabyte. Deterministic for a given --seed. Run it on an empty database.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCH = 2000
TOWNS = [  # a sample of real places in Idlib and northern Hama
    ("Maarat al-Numan", "Maarat al-Numan", 35.6433, 36.6711),
    ("Khan Sheikhoun", "Maarat al-Numan", 35.4417, 36.6511),
    ("Kafr Nabl", "Maarat al-Numan", 35.6131, 36.5606),
    ("Saraqib", "Idlib", 35.8644, 36.8006),
    ("Ariha", "Ariha", 35.8128, 36.6061),
    ("Jisr al-Shughour", "Jisr al-Shughour", 35.8111, 36.3175),
    ("Salqin", "Harem", 36.1383, 36.4514),
    ("Darkush", "Jisr al-Shughour", 35.9931, 36.3939),
    ("Kansafra", "Ariha", 35.6631, 36.5361),
    ("Idlib", "Idlib", 35.9306, 36.6339),
]
WORDS = [
    "airstrike",
    "shelling",
    "market",
    "hospital",
    "school",
    "bakery",
    "residential",
    "mosque",
    "camp",
    "civil",
    "defence",
    "centre",
    "barrel",
    "bomb",
    "missile",
    "cluster",
    "double",
    "tap",
    "strike",
    "village",
    "town",
    "square",
]


def fast_insert(model, columns: list[str], rows, size: int = 5000) -> None:
    """INSERT many rows with executemany, skipping the ORM's per-field work.

    ``columns`` are field attnames; values are adapted once per column kind."""
    from django.db import connection, models

    ops = connection.ops
    fields = [model._meta.get_field(c.removesuffix("_id")) for c in columns]

    def adapter(field):
        if isinstance(field, models.DateTimeField):
            return ops.adapt_datetimefield_value
        if isinstance(field, models.DecimalField):
            return lambda v: ops.adapt_decimalfield_value(v, field.max_digits, field.decimal_places)
        if isinstance(field, models.JSONField):
            return lambda v: ops.adapt_json_value(v, None)
        return None

    adapters = [(n, a) for n, a in enumerate(adapter(f) for f in fields) if a]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    buffer = []
    with connection.cursor() as cursor:
        for row in rows:
            if adapters:
                row = list(row)
                for n, adapt in adapters:
                    if row[n] is not None:
                        row[n] = adapt(row[n])
            buffer.append(tuple(row))
            if len(buffer) >= size:
                cursor.executemany(sql, buffer)
                buffer.clear()
        if buffer:
            cursor.executemany(sql, buffer)


def batched(rows, model, size=BATCH):
    buffer = []
    for row in rows:
        buffer.append(row)
        if len(buffer) >= size:
            model.objects.bulk_create(buffer, batch_size=size)
            buffer.clear()
    if buffer:
        model.objects.bulk_create(buffer, batch_size=size)


def fake_sha(rng: random.Random) -> str:
    return hashlib.sha256(rng.randbytes(16)).hexdigest()


def generate(*, incidents: int, evidence: int, observations: int, officials: int, seed: int = 7):
    from django.contrib.auth.models import User
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction
    from django.db.models import Max

    from evidence.models import (
        CustodyEvent,
        EvidenceItem,
        EvidenceLink,
        FlightLog,
        FlightObservation,
    )
    from tracker import codes
    from tracker.models import (
        AttackType,
        Attribution,
        Force,
        Incident,
        Official,
        OfficialAlias,
        Place,
        Position,
        ReviewEvent,
        ReviewStatus,
        TargetType,
        Unit,
        Weapon,
    )
    from tracker.responsibility.names import search_key

    rng = random.Random(seed)
    timings: dict[str, float] = {}

    def step(name):
        timings[name] = time.perf_counter()

    with transaction.atomic():
        user, _ = User.objects.get_or_create(
            username="bench-researcher", defaults={"is_staff": True}
        )
        step("places")
        places = [
            Place(
                name=f"{name} {n or ''}".strip(),
                governorate="Idlib",
                district=district,
                latitude=Decimal(f"{lat + n * 0.001:.6f}"),
                longitude=Decimal(f"{lon:.6f}"),
            )
            for n in range(20)
            for name, district, lat, lon in TOWNS
        ]
        for place in places:
            place.fill_keys()  # bulk_create skips save()
        Place.objects.bulk_create(places)
        places = list(Place.objects.all())
        targets = list(TargetType.objects.all())
        attacks = list(AttackType.objects.all())
        weapons = list(Weapon.objects.all())
        statuses = [s for s, _ in ReviewStatus.choices]
        harm = [g for g, _ in Incident.HarmGrade.choices] + [""]

        step("incidents")
        first = codes.reserve("INC", incidents)
        start = datetime(2019, 4, 1, tzinfo=UTC)

        def incident_rows():
            for n in range(incidents):
                place = rng.choice(places)
                low = rng.randint(0, 20)
                title = " ".join(rng.choice(WORDS) for _ in range(5))
                yield Incident(
                    code=codes.format_code("INC", first + n, 4),
                    title=f"{title} {place.name}",
                    narrative=" ".join(rng.choice(WORDS) for _ in range(40)),
                    occurred_start=start + timedelta(minutes=rng.randint(0, 60 * 24 * 700)),
                    start_precision=rng.choice(["minute", "hour", "day", "day", "month"]),
                    place=place,
                    latitude=place.latitude,
                    longitude=place.longitude,
                    attack_type=rng.choice(attacks),
                    weapon=rng.choice(weapons),
                    killed_min=low,
                    killed_max=low + rng.randint(0, 10),
                    injured_min=low,
                    injured_max=low + rng.randint(0, 30),
                    civilian_harm=rng.choice(harm),
                    status=rng.choice(statuses),
                    created_by=user,
                    updated_by=user,
                )

        batched(incident_rows(), Incident)
        incident_ids = list(Incident.objects.order_by("id").values_list("id", flat=True))
        Through = Incident.target_types.through
        batched(
            (
                Through(incident_id=i, targettype_id=t.id)
                for i in incident_ids
                for t in rng.sample(targets, rng.randint(1, 2))
            ),
            Through,
        )

        step("evidence")
        first = codes.reserve("EV", max(evidence, 1))
        kinds = ["photo"] * 6 + ["video", "satellite", "testimony", "document"]

        now = datetime(2020, 4, 1, tzinfo=UTC)
        item_columns = [
            "code",
            "kind",
            "title",
            "description",
            "original_path",
            "original_filename",
            "size",
            "media_type",
            "sha256",
            "perceptual_hash",
            "phash_band_0",
            "phash_band_1",
            "phash_band_2",
            "phash_band_3",
            "derivative_problem",
            "playable_problem",
            "captured_precision",
            "source_name",
            "source_url",
            "status",
            "verification_method",
            "is_graphic",
            "identifies_people",
            "is_protected",
            "acquired_by_id",
            "acquired_at",
            "created_by_id",
            "updated_by_id",
            "created_at",
            "updated_at",
        ]

        def item_rows():
            for n in range(evidence):
                sha = fake_sha(rng)
                phash = f"{rng.getrandbits(64):016x}"
                yield (
                    codes.format_code("EV", first + n, 6),
                    rng.choice(kinds),
                    " ".join(rng.choice(WORDS) for _ in range(4)),
                    "",
                    f"originals/{sha[:2]}/{sha[2:4]}/{sha}",
                    f"IMG_{n:07d}.jpg",
                    rng.randint(50_000, 9_000_000),
                    "image/jpeg",
                    sha,
                    phash,
                    phash[0:4],
                    phash[4:8],
                    phash[8:12],
                    phash[12:16],
                    "",
                    "",
                    "minute",
                    "",
                    "",
                    rng.choice(statuses),
                    "",
                    False,
                    False,
                    False,
                    user.pk,
                    now,
                    user.pk,
                    user.pk,
                    now,
                    now,
                )

        before = EvidenceItem.objects.aggregate(last=Max("id"))["last"] or 0
        fast_insert(EvidenceItem, item_columns, item_rows())
        step("links")
        # Only the items made here: the database may already hold others (with custody).
        item_ids = (
            EvidenceItem.objects.filter(pk__gt=before).order_by("id").values_list("id", flat=True)
        )
        fast_insert(
            EvidenceLink,
            ["item_id", "incident_id", "relevance", "relied_on"],
            (
                (i, incident_ids[n % len(incident_ids)], "", True)
                for n, i in enumerate(item_ids.iterator(chunk_size=10000))
            ),
        )
        step("custody")
        fast_insert(
            CustodyEvent,
            [
                "item_id",
                "sequence",
                "action",
                "actor_id",
                "at",
                "observed_sha256",
                "details",
                "previous_hash",
                "event_hash",
            ],
            (
                (i, 1, "acquired", user.pk, now, "", {}, "", fake_sha(rng))
                for i in item_ids.iterator(chunk_size=10000)
            ),
        )
        step("review events")
        ct = ContentType.objects.get_for_model(Incident)
        batched(
            (
                ReviewEvent(
                    content_type=ct,
                    object_id=i,
                    action="submit",
                    from_status="draft",
                    to_status="submitted",
                    actor=user,
                )
                for i in incident_ids[: len(incident_ids) // 2]
            ),
            ReviewEvent,
        )

        step("observations")
        log_item = EvidenceItem.objects.create(
            kind="flight_log", title="bench spotter log", created_by=user
        )
        log = FlightLog.objects.create(item=log_item, row_count=observations)
        types = [
            ("Su-24", "jet"),
            ("Su-34", "jet"),
            ("L-39", "jet"),
            ("Mi-8", "helicopter"),
            ("Mi-24", "helicopter"),
            ("unknown jet", "jet"),
        ]
        stations = [(f"ST-{n}", 35.5 + n * 0.05, 36.3 + n * 0.04) for n in range(30)]

        def observation_rows():
            for n in range(observations):
                station, lat, lon = rng.choice(stations)
                kind, klass = rng.choice(types)
                yield (
                    log.pk,
                    n + 2,
                    f"row {n}",
                    start + timedelta(seconds=rng.randint(0, 3600 * 24 * 700)),
                    station,
                    Decimal(f"{lat:.6f}"),
                    Decimal(f"{lon:.6f}"),
                    kind,
                    klass,
                    rng.randint(1, 4),
                    "",
                    rng.choice(["RU", "SY", "unknown"]),
                    rng.choice(["Hmeimim", "Hama", "Shayrat", "T4"]),
                    "",
                    rng.randint(0, 359),
                    "",
                    "",
                    "",
                    {},
                )

        fast_insert(
            FlightObservation,
            [
                "log_id",
                "line_number",
                "raw",
                "observed_at",
                "station",
                "station_latitude",
                "station_longitude",
                "aircraft_type",
                "aircraft_class",
                "aircraft_count",
                "nationality_raw",
                "nationality",
                "origin",
                "heading_raw",
                "heading",
                "callsign",
                "activity",
                "notes",
                "extra",
            ],
            observation_rows(),
        )

        step("officials")
        forces = [Force.objects.create(name=f"Bench force {n}") for n in range(2)]
        units = []
        for force in forces:
            parent = None
            for depth in range(8):  # a command line 8 levels deep, with siblings
                level = [
                    Unit(
                        force=force,
                        parent=parent,
                        name=f"{force.name} L{depth} U{k}",
                        search_keys=f"|{search_key(f'{force.name} L{depth} U{k}')}|",
                    )
                    for k in range(max(1, officials // 200))
                ]
                Unit.objects.bulk_create(level)
                level = list(Unit.objects.filter(force=force, name__contains=f" L{depth} "))
                units.extend(level)
                parent = level[0]
        batched(
            (
                Official(
                    name=f"Official {n} al-Hassan",
                    name_key=search_key(f"Official {n} al-Hassan"),
                    created_by=user,
                    updated_by=user,
                )
                for n in range(officials)
            ),
            Official,
        )
        official_ids = list(Official.objects.order_by("id").values_list("id", flat=True))
        batched(
            (
                OfficialAlias(
                    official_id=o,
                    name=f"Офицер {n}",
                    script="cyrillic",
                    key=search_key(f"Офицер {n}"),
                )
                for n, o in enumerate(official_ids)
            ),
            OfficialAlias,
        )
        batched(
            (
                Position(
                    official_id=o,
                    unit=rng.choice(units),
                    title="Commander",
                    is_command=True,
                    start=date(2015 + k, 1, 1),
                    end=date(2016 + k, 12, 31),
                )
                for o in official_ids
                for k in range(4)
            ),
            Position,
        )
        batched(
            (
                Attribution(
                    incident_id=i,
                    unit=rng.choice(units),
                    role="direct",
                    created_by=user,
                    updated_by=user,
                )
                for i in incident_ids[:: max(1, len(incident_ids) // 20000)]
            ),
            Attribution,
        )
        step("end")
    names = list(timings)
    return {a: timings[b] - timings[a] for a, b in zip(names, names[1:], strict=False)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--evidence", type=int, default=100_000)
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--officials", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.project.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    steps = generate(
        incidents=args.incidents,
        evidence=args.evidence,
        observations=args.observations,
        officials=args.officials,
        seed=args.seed,
    )
    for name, seconds in steps.items():
        print(f"  {name}: {seconds:.1f} s")
    print(f"generated in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
