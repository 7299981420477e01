"""Flight-log benchmarks (issue 5: flight-spotter logs).

- correlation for one incident with 100,000 (quick) or 1,000,000 (full)
  observations in the database: median time of ``ranking.candidates`` (target
  < 50 ms), against the bare window query it is built on;
- import of 100,000 rows: rows per second against Python's ``csv`` module merely
  parsing the same file, and peak memory against that parse (the import
  streams: its memory must not grow with the file).
"""

from __future__ import annotations

import csv
import random
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bench.harness import Figure, Report, peak_rss_delta_mb, time_it

DATABASE_BOUND = True
IMPORT_ROWS = 100_000
OBSERVATIONS = {"quick": 100_000, "full": 1_000_000}
YEAR = datetime(2019, 1, 1, tzinfo=UTC)
STRIKE = datetime(2019, 7, 2, 9, 40, tzinfo=UTC)
SITE = (35.6150, 36.5650)
TYPES = ("Su-24", "Su-34", "Su-22", "MiG-23", "L-39", "Mi-8", "Mi-17", "helicopter", "drone")
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW", "NNE", "ENE", "ESE", "SSE")
SETUP = (
    "import django, os\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'tracker.project.settings')\n"
    "django.setup()\n"
    "from django.contrib.auth.models import User\n"
    "from evidence.flights import flightlog\n"
)
PRODUCTION = (
    "import os\n"
    "os.environ['DJANGO_DEBUG'] = '0'\n"
    "os.environ.setdefault('DJANGO_SECRET_KEY', 'bench-only-' + 'k' * 50)\n"
    "os.environ.setdefault('DJANGO_ALLOWED_HOSTS', 'localhost')\n"
)
HEADER = (
    "observed_at,station,station_lat,station_lon,aircraft_type,aircraft_count,"
    "nationality,origin,heading,callsign,activity,notes\n"
)


def _stations(rng: random.Random) -> list[tuple[str, float, float]]:
    return [
        (f"ST-{n:02d}", SITE[0] + rng.uniform(-0.6, 0.6), SITE[1] + rng.uniform(-0.6, 0.6))
        for n in range(40)
    ]


def _write_log(path: Path, rows: int, token: str) -> None:
    """A spotter log of ``rows`` rows; ``token`` makes its bytes (and hash) unique."""
    rng = random.Random(f"bench-log:{rows}")
    stations = _stations(rng)
    located: set[str] = set()
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for n in range(rows):
            code, lat, lon = stations[n % len(stations)]
            position = ("", "") if code in located else (f"{lat:.5f}", f"{lon:.5f}")
            located.add(code)
            when = (YEAR + timedelta(minutes=5 * n)).isoformat()
            heading = rng.choice(COMPASS) if n % 2 else f"{rng.randrange(360):03d}"
            nationality = rng.choice(("RU", "SY", "Russian", "Syrian", "unknown"))
            notes = f"bench {token}" if n == 0 else rng.choice(("", "passing high", "circling"))
            out.write(
                f"{when},{code},{position[0]},{position[1]},{rng.choice(TYPES)},"
                f"{rng.randint(1, 2)},{nationality},Hama,{heading},,passing,{notes}\n"
            )


def _parse_only(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as f:
        return sum(1 for _ in csv.reader(f))


def _observations(total: int, user) -> None:
    """Top the table up to ``total`` observations spread over a year (bulk inserts)."""
    from django.db import transaction

    from evidence.flights.normalise import aircraft_class
    from evidence.models import EvidenceItem, FlightLog, FlightObservation

    missing = total - FlightObservation.objects.count()
    if missing <= 0:
        return
    rng = random.Random("bench-observations")
    stations = _stations(rng)
    item = EvidenceItem.objects.create(
        kind="flight_log", title="bench observations", created_by=user
    )
    log = FlightLog.objects.create(item=item, row_count=missing)
    seconds = 365 * 24 * 3600
    batch: list[FlightObservation] = []
    with transaction.atomic():
        for n in range(missing):
            code, lat, lon = rng.choice(stations)
            kind = rng.choice(TYPES)
            heading = rng.randrange(360)
            batch.append(
                FlightObservation(
                    log=log,
                    line_number=n + 2,
                    raw="",
                    observed_at=YEAR + timedelta(seconds=rng.randrange(seconds)),
                    station=code,
                    station_latitude=Decimal(f"{lat:.6f}"),
                    station_longitude=Decimal(f"{lon:.6f}"),
                    aircraft_type=kind,
                    aircraft_class=aircraft_class(kind),
                    nationality=rng.choice(("RU", "SY", "unknown")),
                    heading_raw=str(heading),
                    heading=heading,
                )
            )
            if len(batch) == 5000:
                FlightObservation.objects.bulk_create(batch)
                batch.clear()
        FlightObservation.objects.bulk_create(batch)


def _incident(user):
    from tracker.models import Attribution, Force, Incident, Weapon

    weapon = Weapon.objects.filter(platform=Weapon.Platform.FIXED_WING).first()
    incident = Incident(
        title="bench strike",
        occurred_start=STRIKE,
        start_precision="minute",
        latitude=Decimal(str(SITE[0])),
        longitude=Decimal(str(SITE[1])),
        weapon=weapon,
        created_by=user,
    )
    incident.save()
    force, _ = Force.objects.get_or_create(name="bench Russian air force", country="Russia")
    Attribution.objects.create(incident=incident, force=force, created_by=user)
    return Incident.objects.select_related("weapon", "place").get(pk=incident.pk)


def run(report: Report, *, scale: str) -> None:
    from django.contrib.auth.models import User

    from evidence.flights import ranking
    from evidence.flights.flightlog import import_flight_log
    from evidence.models import FlightObservation

    user, _ = User.objects.get_or_create(username="bench")

    # Correlation first, on exactly the scale's number of observations.
    total = OBSERVATIONS[scale]
    _observations(total, user)
    incident = _incident(user)
    strike = ranking.strike_of(incident)
    window = ranking.window_for(strike, before=ranking.DEFAULT_BEFORE, after=ranking.DEFAULT_AFTER)
    found = len(ranking.candidates(incident, viewer=None))
    ours = time_it(lambda: ranking.candidates(incident, viewer=None), runs=21, warmup=3)
    bare = time_it(
        lambda: list(
            FlightObservation.objects.filter(
                observed_at__gte=window.start, observed_at__lte=window.end
            )
        ),
        runs=21,
        warmup=3,
    )
    report.add(
        Figure(
            f"flights: rank candidates, {total:,} observations ({found} in the window)",
            ours.median * 1000,
            "ms",
            baseline=bare.median * 1000,
            baseline_name="ms bare window query",
            target="< 50 ms",
            timing=ours,
        )
    )

    # Import: a distinct file per run (the same bytes twice would be a duplicate).
    work = Path(tempfile.mkdtemp(prefix="bench-flights-"))
    token = uuid.uuid4().hex
    files = []
    for n, rows in enumerate([IMPORT_ROWS] * 5 + [IMPORT_ROWS // 5]):
        path = work / f"log-{n}.csv"
        _write_log(path, rows, f"{token}-{n}")
        files.append(path)
    timed, production, debug, small = files[:3], files[3], files[4], files[5]
    pending = list(timed)

    def import_one() -> None:
        path = pending.pop(0)
        with path.open("rb") as stream:
            result = import_flight_log(stream, filename=path.name, by=user)
        assert result.imported == IMPORT_ROWS, result

    parse = time_it(lambda: _parse_only(timed[0]), runs=3)
    imported = time_it(import_one, runs=3, warmup=0)
    report.add(
        Figure(
            f"flights: import of {IMPORT_ROWS:,} rows",
            IMPORT_ROWS / imported.median,
            "rows/s",
            baseline=IMPORT_ROWS / parse.median,
            baseline_name="rows/s csv module parse only",
            timing=imported,
        )
    )

    def import_memory(path: Path, setup: str) -> float:
        code = (
            "u = User.objects.get(username='bench')\n"
            f"with open({str(path)!r}, 'rb') as f:\n"
            f"    r = flightlog.import_flight_log(f, filename={path.name!r}, by=u)\n"
            "assert not r.duplicate\n"
        )
        return peak_rss_delta_mb(code, setup=setup)

    size_mb = production.stat().st_size / 1024 / 1024
    # The parse alone streams too and may add nothing measurable, so the figures are
    # printed side by side rather than as a ratio. With DEBUG on (``make bench``),
    # Django also keeps its last 9,000 queries: bounded, but not the importer's doing.
    for label, value, target in (
        (
            f"{IMPORT_ROWS:,} rows ({size_mb:.0f} MiB), DEBUG off as in production",
            import_memory(production, PRODUCTION + SETUP),
            "flat in the number of rows",
        ),
        (
            f"{IMPORT_ROWS // 5:,} rows, DEBUG off",
            import_memory(small, PRODUCTION + SETUP),
            "about the same as above",
        ),
        (
            f"{IMPORT_ROWS:,} rows, DEBUG on (Django's query log included)",
            import_memory(debug, SETUP),
            "",
        ),
        (
            f"{IMPORT_ROWS:,} rows, csv module parse only (baseline)",
            peak_rss_delta_mb(
                f"import csv\nwith open({str(timed[0])!r}, newline='') as f:\n"
                "    for _ in csv.reader(f): pass\n",
                setup=SETUP,
            ),
            "",
        ),
    ):
        report.add(Figure(f"flights: import peak memory, {label}", value, "MB", target=target))
    for path in files:
        path.unlink()
