"""The case report in a real browser: open it for a filter, check the map drew, print it
to PDF with Chromium, and look at the print rendering (no navigation, no controls)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from evidence.models import EvidenceItem
from tracker.models import LocationPrecision, TargetType
from tracker.tests.factories import (
    AttributionFactory,
    EvidenceItemFactory,
    EvidenceLinkFactory,
    ForceFactory,
    IncidentFactory,
    OfficialFactory,
    PlaceFactory,
    PositionFactory,
    UnitFactory,
)
from tracker.tests.seed import ensure_seed_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"
PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![s\w])")


@pytest.fixture
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report-screenshots")
    print(f"\nscreenshots and PDF of the case report: {folder}")

    def shot(page, name: str) -> None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    shot.folder = folder
    return shot


def build_case() -> None:
    """22 incidents in Idlib (20 before 20 October) and 3 in Hama, with evidence,
    attributions and a commander, so that the report has every part to print."""
    school, market = TargetType.objects.get(name="School"), TargetType.objects.get(name="Market")
    idlib = PlaceFactory(name="Maarat al-Numan", governorate="Idlib")
    hama = PlaceFactory(name="Kafr Zita", governorate="Hama", latitude=35.37, longitude=36.6)
    force = ForceFactory(name="Air Force (sample)")
    wing = UnitFactory(force=force, name="Wing (sample)")
    squadron = UnitFactory(force=force, parent=wing, name="Squadron 1 (sample)")
    PositionFactory(
        official=OfficialFactory(name="General Sample — اللواء"),
        unit=wing,
        is_command=True,
        start=date(2018, 6, 1),
    )
    start = datetime(2019, 5, 1, 9, tzinfo=UTC)
    for n in range(25):
        incident = IncidentFactory(
            title=f"Strike {n} on the market — قصف السوق",
            narrative="Two strikes a few minutes apart.\nCivil defence arrived after the second.",
            place=hama if n >= 22 else idlib,
            occurred_start=start + timedelta(days=9 * n),
            latitude=35.62 + n * 0.01 if n % 2 else None,
            longitude=36.67 + n * 0.01 if n % 2 else None,
            location_precision=LocationPrecision.EXACT if n % 2 else LocationPrecision.TOWN,
            killed_min=n % 5,
            killed_max=n % 5 + 3,
            target_types=[school if n % 3 else market],
        )
        for kind in (EvidenceItem.Kind.PHOTO, EvidenceItem.Kind.TESTIMONY):
            item = EvidenceItemFactory(
                kind=kind, sha256=f"{n:02d}{kind[:2].encode().hex()}" + "c" * 58
            )
            EvidenceLinkFactory(item=item, incident=incident)
        AttributionFactory(incident=incident, unit=squadron, basis="Flight logs and remnants.")


def test_case_report_prints_to_a_clean_pdf(live_server, page, shots, settings):
    settings.TRACKER_MAP_TILE_URL = ""  # offline: the map draws its own grid
    ensure_seed_data()
    user = User.objects.create_user("researcher", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Researcher"))
    build_case()

    query = "governorate=Idlib&occurred_before=2019-10-20"
    page.goto(f"{live_server.url}/admin/login/?next=" + quote(f"/reports/case/?{query}"))
    page.fill("#id_username", "researcher")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    expect(page.locator("h1")).to_have_text("Case report")
    expect(page.locator(".report-meta")).to_contain_text("Governorate: Idlib")
    sections = page.locator("section.report-incident")
    expect(sections).to_have_count(20)
    expect(page.locator(".report-map")).to_have_attribute("data-map-ready", "20")
    expect(page.locator(".report-officials")).to_contain_text("General Sample")
    expect(page.locator(".site-header")).to_be_visible()
    shots(page, "01-report-screen")

    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".report-controls")).to_be_hidden()
    expect(page.locator(".leaflet-control-zoom")).to_be_hidden()
    shots(page, "02-report-print-media")

    pdf = page.pdf(format="A4", print_background=True)
    (shots.folder / "case-report.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    pages = len(PAGE_OBJECT.findall(pdf))
    # Cover, summary, map, 20 incident sections (several to a page), officials.
    assert 6 <= pages <= 40, pages
    assert 30_000 < len(pdf) < 15_000_000, len(pdf)
