"""What the tests of export_bag share: the case's protected identity (which a bag must
not carry unless asked and allowed), the command as manage.py runs it, and ways to
read a bag and the custody events an export recorded.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from django.core.management import call_command

from evidence.models import CustodyEvent

REAL_NAME = "Fatima Al-Haddad"
REAL_NAME_ARABIC = "فاطمة الحداد"
CONTACT = "+963 944 123 456, Signal @fatima_h"
NOTES = "Lives behind the Al-Nour bakery"
PROTECTED_STRINGS = [REAL_NAME, REAL_NAME_ARABIC, CONTACT, NOTES]
INTERVIEW = b"Interview, Witness K-14: two aircraft circled, then two explosions at the market.\n"


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("export_bag", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def bag_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def exported_events() -> list[CustodyEvent]:
    return list(CustodyEvent.objects.filter(action=CustodyEvent.Action.EXPORTED))


def assert_nothing_exported(parent: Path, expected: set[str]) -> None:
    assert {p.name for p in parent.iterdir()} == expected  # no partial or hidden temp dir
    assert exported_events() == []
