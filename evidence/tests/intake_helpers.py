"""What the tests of evidence.intake share: a short way to ingest bytes, where the
stored and staged files are, and the check that a refused file left nothing behind.
"""

from __future__ import annotations

import io
from pathlib import Path

from django.conf import settings

from evidence import intake
from evidence.models import CustodyEvent, EvidenceItem


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def originals() -> list[Path]:
    return files_under(Path(settings.DATA_DIR) / "originals")


def staging() -> list[Path]:
    return files_under(Path(settings.DATA_DIR) / "staging")


def ingest(data: bytes, *, by, filename: str = "IMG_0001.jpg", kind: str = "photo", **kw):
    return intake.ingest(io.BytesIO(data), filename=filename, kind=kind, by=by, **kw)


def assert_nothing_stored() -> None:
    assert not EvidenceItem.objects.exists()
    assert not CustodyEvent.objects.exists()
    assert originals() == []
    assert staging() == []
