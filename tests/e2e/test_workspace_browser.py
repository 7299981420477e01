"""The incident browser in a real browser: filter, sort, page, then download the CSV and
GeoJSON of the same filter and check they hold the same incidents as the page."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from tracker.models import TargetType
from tracker.tests.factories import IncidentFactory, PlaceFactory
from tracker.tests.seed import ensure_seed_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"


@pytest.fixture
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workspace-screenshots")
    print(f"\nscreenshots of the incident browser: {folder}")

    def shot(page, name: str) -> None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return shot


def test_filter_then_export_the_same_incidents(live_server, page, shots):
    ensure_seed_data()
    user = User.objects.create_user("researcher", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Researcher"))
    idlib = PlaceFactory(name="Maarat al-Numan", governorate="Idlib")
    hama = PlaceFactory(name="Kafr Zita", governorate="Hama")
    school = TargetType.objects.get(name="School")
    start = datetime(2019, 5, 1, 9, tzinfo=UTC)
    for n in range(60):
        IncidentFactory(
            title=f"Strike {n} — قصف",
            place=idlib if n % 3 else hama,
            occurred_start=start + timedelta(days=n),
            killed_min=n % 7,
            killed_max=n % 7 + 2,
            target_types=[school],
        )

    page.goto(f"{live_server.url}/admin/login/?next=/incidents/")
    page.fill("#id_username", "researcher")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("h1")).to_contain_text("Incidents")
    expect(page.locator("h1 .count")).to_have_text("60")
    shots(page, "01-browser")

    page.fill("#id_governorate", "Idlib")
    page.fill("#id_occurred_after", "2019-05-10")
    page.click("text=Apply")
    expect(page.locator("h1 .count")).to_have_text("34")
    page.get_by_role("link", name="Killed").click()  # most killed first
    shots(page, "02-filtered-sorted")
    first_page = page.locator("table.incidents tbody tr td:first-child").all_inner_texts()
    assert len(first_page) == 34

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Export CSV").click()
    text = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
    csv_codes = [row["code"] for row in csv.DictReader(io.StringIO(text))]

    with page.expect_download() as geo_download:
        page.get_by_role("link", name="Export GeoJSON").click()
    features = json.loads(Path(geo_download.value.path()).read_text("utf-8"))["features"]
    geo_codes = [f["properties"]["code"] for f in features]

    assert csv_codes == geo_codes == first_page

    page.goto(f"{live_server.url}/incidents/?occurred_after=yesterday&page=-1")
    expect(page.locator(".messages")).to_contain_text("occurred_after=yesterday")
    expect(page.locator(".messages")).to_contain_text("Page must be a whole number")
    shots(page, "03-bad-filter")
