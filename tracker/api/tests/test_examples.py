"""The examples of docs/api.md, run as a user would run them, against a live server:
a folder uploaded and linked to an incident, and the verified incidents pulled to a CSV."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evidence.models import EvidenceItem
from evidence.tests.files import make_jpeg
from tracker.models import ApiToken, ReviewStatus
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)
EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"


def run(example: str, *args: str, url: str, key: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRACKER_URL": url, "TRACKER_TOKEN": key, "NO_PROXY": "*"}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / example), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_folder_is_uploaded_and_linked(live_server, researcher, tmp_path):
    incident = f.IncidentFactory()
    folder = tmp_path / "laptop"
    (folder / "day1").mkdir(parents=True)
    (folder / "day1" / "crater.jpg").write_bytes(make_jpeg(colour=(200, 30, 30)))
    (folder / "rubble.jpg").write_bytes(make_jpeg(colour=(30, 200, 30)))
    (folder / "copy-of-crater.jpg").write_bytes(make_jpeg(colour=(200, 30, 30)))
    (folder / "page.html").write_bytes(b"<html><script>alert(1)</script></html>")
    _, key = ApiToken.issue(researcher, name="laptop", scopes=["write"])
    done = run("upload_folder.py", incident.code, str(folder), url=live_server.url, key=key)
    assert done.returncode == 1, done.stderr  # the web page was refused
    assert "page.html: refused (400)" in done.stderr
    assert done.stdout.count("stored as EV-") == 2
    assert done.stdout.count("already held as EV-") == 1
    assert EvidenceItem.objects.filter(links__incident=incident).count() == 2


def test_the_verified_incidents_are_pulled_to_a_csv(live_server, researcher, tmp_path):
    verified = [f.IncidentFactory(status=ReviewStatus.VERIFIED) for _ in range(3)]
    f.IncidentFactory(status=ReviewStatus.DRAFT)
    _, key = ApiToken.issue(researcher, name="notebook", scopes=["read"])
    out = tmp_path / "verified.csv"
    done = run("verified_csv.py", str(out), url=live_server.url, key=key)
    assert done.returncode == 0, done.stderr
    with out.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    in_order = sorted(verified, key=lambda i: (i.occurred_start, i.pk))
    assert [row["code"] for row in rows] == [i.code for i in in_order]
    assert rows[0]["place"] == in_order[0].place.name and rows[0]["killed_max"] == "5"
