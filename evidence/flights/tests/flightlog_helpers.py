"""What the tests of flight-log imports share: the example of
docs/formats/flightlog-csv.md, rows of its header, the ``import_flightlog`` command as
manage.py runs it, and the check that a refused file left nothing behind.
"""

from __future__ import annotations

import io
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from evidence.models import EvidenceItem, FlightLog, FlightObservation

HEADER = (
    "observed_at,station,station_lat,station_lon,aircraft_type,aircraft_count,"
    "nationality,origin,heading,callsign,activity,notes"
)
# The example of docs/formats/flightlog-csv.md.
ROW_1 = (
    "2019-05-13T09:42:00+03:00,KFN-1,35.62,36.57,Su-24,2,RU,Hmeimim,NE,,passing,two jets north-east"
)
ROW_2 = "2019-05-13 09:55,KFN-1,,,Mi-8,1,SY,Hama,N,,circling,"
EXAMPLE = f"{HEADER}\n{ROW_1}\n{ROW_2}\n"


def csv_file(tmp_path: Path, text: str | bytes, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def row(**values: str) -> str:
    """One CSV row of the full header; unspecified columns take a valid default."""
    defaults = {
        "observed_at": "2019-05-13T09:42:00+03:00",
        "station": "KFN-1",
        "station_lat": "35.62",
        "station_lon": "36.57",
        "aircraft_type": "Su-24",
        "aircraft_count": "1",
        "nationality": "RU",
        "origin": "Hmeimim",
        "heading": "045",
        "callsign": "",
        "activity": "passing",
        "notes": "",
    }
    defaults.update(values)
    return ",".join(defaults[name] for name in HEADER.split(","))


def run(*args: str) -> tuple[int, str, str]:
    """The command as manage.py runs it: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_flightlog", *args, stdout=out, stderr=err)
        status = 0
    except CommandError as exc:
        status = exc.returncode
        err.write(f"CommandError: {exc}\n")
    return status, out.getvalue(), err.getvalue()


def nothing_stored() -> bool:
    originals = Path(settings.DATA_DIR) / "originals"
    no_files = not originals.exists() or not any(p.is_file() for p in originals.rglob("*"))
    return (
        no_files
        and not EvidenceItem.objects.exists()
        and not FlightLog.objects.exists()
        and not FlightObservation.objects.exists()
    )


def assert_refused(tmp_path: Path, text: str | bytes, *expected: str, tz: str = "UTC") -> str:
    """Import ``text``; it must be refused with exit 1, every ``expected`` text in the
    output, and nothing stored. Returns stderr."""
    args = ["--user", "researcher", str(csv_file(tmp_path, text))]
    if tz:
        args[2:2] = ["--tz", tz]
    status, out, err = run(*args)
    assert status == 1, (out, err)
    for text_ in expected:
        assert text_ in err, err
    assert nothing_stored()
    return err
