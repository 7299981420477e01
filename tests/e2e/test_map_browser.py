"""The map and the timeline in a real browser: open the map with a filter, wait for the
markers, click one and follow its popup to the incident; a town-level location is a
circle, not a pin; close incidents cluster; the page works without tiles (none
configured, or unreachable) and without a Content-Security-Policy violation; each
timeline bar opens the browser on its incidents. Screenshots of each step."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from tracker.models import LocationPrecision, Sensitivity, TargetType
from tracker.tests.factories import FlightObservationFactory, IncidentFactory, PlaceFactory
from tracker.tests.seed import ensure_seed_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture(scope="session")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("map-screenshots")
    print(f"\nscreenshots of the map and the timeline: {folder}")

    def shot(page, name: str) -> None:
        page.wait_for_timeout(400)  # let popups fade in and the map finish panning
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return shot


@pytest.fixture
def case(db):
    """Idlib: eight strikes at their sites (exact), five more at one spot (a cluster) and
    one known only to the town; Hama: one; plus one restricted and one without
    coordinates, neither drawn."""
    ensure_seed_data()
    user = User.objects.create_user("researcher", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Researcher"))
    types = list(TargetType.objects.order_by("pk"))
    maarat = PlaceFactory(
        name="Maarat al-Numan",
        governorate="Idlib",
        latitude=Decimal("35.6476"),
        longitude=Decimal("36.6741"),
    )
    kafr_zita = PlaceFactory(
        name="Kafr Zita",
        governorate="Hama",
        latitude=Decimal("35.3736"),
        longitude=Decimal("36.6000"),
    )
    start = datetime(2019, 5, 1, 7, tzinfo=UTC)
    sites = []
    for n in range(8):
        sites.append(
            IncidentFactory(
                title=f"Strike on site {n} — قصف",
                place=maarat,
                occurred_start=start + timedelta(days=4 * n),
                latitude=Decimal("35.60") + Decimal(n) * Decimal("0.07"),
                longitude=Decimal("36.40") + Decimal(n % 4) * Decimal("0.12"),
                location_precision=LocationPrecision.EXACT,
                killed_min=n,
                killed_max=[None, 1, 3, 6, 10, 20, 40, 80][n],
                target_types=[types[n % 4]],
            )
        )
    crowd = [
        IncidentFactory(
            title=f"Shelling of the market, day {n}",
            place=maarat,
            occurred_start=start + timedelta(days=2 * n + 1),
            latitude=Decimal("36.05"),
            longitude=Decimal("36.95"),
            location_precision=LocationPrecision.WITHIN_100M,
            target_types=[types[2]],
        )
        for n in range(5)
    ]
    town = IncidentFactory(
        title="Strike somewhere in Maarat al-Numan",
        place=maarat,
        latitude=None,
        longitude=None,
        location_precision=LocationPrecision.TOWN,
        occurred_start=start + timedelta(days=9),
        target_types=[types[0]],
    )
    hama = IncidentFactory(place=kafr_zita, occurred_start=start + timedelta(days=12))
    secret = IncidentFactory(place=maarat, sensitivity=Sensitivity.RESTRICTED, occurred_start=start)
    IncidentFactory(place=None, latitude=None, longitude=None, occurred_start=start)
    for n in range(30):
        FlightObservationFactory(observed_at=start + timedelta(days=n, hours=-1))
    return {"sites": sites, "crowd": crowd, "town": town, "hama": hama, "secret": secret}


def login(page, base: str, next_url: str) -> None:
    page.goto(f"{base}/admin/login/?next={next_url}")
    page.fill("#id_username", "researcher")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def popup(page):
    """The open popup (a closed one fades out for 200 ms before it leaves the page)."""
    expect(page.locator(".leaflet-popup")).to_have_count(1)
    return page.locator(".leaflet-popup-content")


def violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def test_map_markers_popups_circles_and_clusters(live_server, page, shots, case, settings):
    settings.TRACKER_MAP_TILE_URL = ""  # offline: no background tiles at all
    page.add_init_script(RECORD_VIOLATIONS)
    login(page, live_server.url, "/map/%3Fgovernorate%3DIdlib")
    canvas = page.locator(".map-canvas")
    expect(canvas).to_have_attribute("data-map-ready", "14")  # 8 + 5 + 1; no secret, no Hama
    expect(page.locator("h1 .count")).to_have_text("14 incidents")
    expect(page.locator(".map-status")).to_have_text("14 incidents on the map.")
    expect(page.locator(".map-grid-note")).to_contain_text("Grid: ")
    shots(page, "01-map-filtered-no-tiles")

    # Every site is a marker of its own; the secret incident and Hama are not drawn.
    codes = [i.code for i in case["sites"]]
    for code in codes:
        expect(page.locator(f".map-pin[data-code='{code}']")).to_have_count(1)
    expect(page.locator(f"[data-code='{case['secret'].code}']")).to_have_count(0)
    expect(page.locator(f"[data-code='{case['hama'].code}']")).to_have_count(0)
    # Marker size follows the killed count: the 80-killed site is bigger than the 1-killed.
    small = page.locator(f".map-pin[data-code='{codes[1]}']").bounding_box()
    large = page.locator(f".map-pin[data-code='{codes[7]}']").bounding_box()
    assert large["width"] > small["width"] * 2

    # The town-level incident is a dashed circle, not a pin.
    town = case["town"].code
    expect(page.locator(f"path.map-area[data-code='{town}']")).to_have_count(1)
    expect(page.locator(f".map-pin[data-code='{town}']")).to_have_count(0)
    assert page.locator(f"path.map-area[data-code='{town}']").get_attribute("stroke-dasharray")

    # Five incidents at one spot are one numbered cluster; selecting it lists them.
    cluster = page.locator(".map-cluster[data-cluster='5']")
    expect(cluster).to_have_count(1)
    cluster.click()
    expect(popup(page)).to_contain_text("5 incidents at this place")
    expect(popup(page).locator("li")).to_have_count(5)
    shots(page, "02-cluster-listed")
    page.keyboard.press("Escape")

    # Click a marker: its popup names the incident and links to its page.
    target = case["sites"][5]
    page.locator(f".map-pin[data-code='{target.code}']").click()
    label = popup(page)
    expect(label).to_contain_text(target.code)
    expect(label).to_contain_text("Killed: 5–20")
    expect(label.locator("bdi").first).to_have_attribute("dir", "auto")
    shots(page, "03-marker-popup")
    label.get_by_role("link", name=f"Open {target.code}").click()
    expect(page).to_have_url(f"{live_server.url}/incidents/{target.code}/")
    expect(page.locator("h1")).to_contain_text(target.title[:10])
    assert violations(page) == []


def test_keyboard_reaches_every_incident_through_the_list(live_server, page, case, settings):
    settings.TRACKER_MAP_TILE_URL = ""
    login(page, live_server.url, "/map/%3Fgovernorate%3DIdlib")
    expect(page.locator(".map-canvas")).to_have_attribute("data-map-ready", "14")
    rows = page.locator("#map-list tbody tr")
    expect(rows).to_have_count(14)
    # "Show" on a clustered incident zooms in and opens its popup (or its place's list).
    code = case["town"].code
    page.get_by_role("button", name=f"Show {code} on the map").focus()
    page.keyboard.press("Enter")
    expect(popup(page)).to_contain_text(code)
    # A marker itself takes the focus and opens on Enter.
    marker = page.locator(f".map-pin[data-code='{case['sites'][2].code}']")
    marker.focus()
    page.keyboard.press("Enter")
    expect(popup(page)).to_contain_text(case["sites"][2].code)


def test_unreachable_tiles_fall_back_to_a_grid(live_server, page, shots, case, settings):
    # A tile server that does not answer: the incidents are still drawn, over a grid.
    settings.TRACKER_MAP_TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
    login(page, live_server.url, "/map/")
    canvas = page.locator(".map-canvas")
    expect(canvas).to_have_attribute("data-map-ready", "15")  # 16 visible, 1 unlocated
    expect(page.locator(".map-status")).to_contain_text("1 incident has no coordinates")
    expect(canvas).to_have_class(re.compile(r"\bmap-no-tiles\b"))
    expect(page.locator(".map-grid-note")).to_contain_text("No background map")
    shots(page, "06-map-unreachable-tiles")


def test_timeline_bars_open_the_browser_on_their_period(live_server, page, shots, case):
    page.add_init_script(RECORD_VIOLATIONS)
    login(page, live_server.url, "/timeline/%3Fgovernorate%3DIdlib")
    expect(page.locator("h1 .count")).to_have_text("14 incidents")
    expect(page.locator(".tl-chart a.tl-bar").first).to_be_visible()
    expect(page.locator(".tl-table tfoot td").nth(-2)).to_have_text("14")
    expect(page.locator(".tl-table thead")).to_contain_text("Flight observations")
    shots(page, "04-timeline-by-day")
    page.get_by_role("link", name="week", exact=True).click()
    expect(page.locator(".tl-buckets a[aria-current]")).to_have_text("week")
    shots(page, "05-timeline-by-week")
    rows = page.locator(".tl-table tbody tr")
    count = int(rows.first.locator("td").nth(-2).inner_text())
    rows.first.locator("th a").click()  # the table's link to the first week
    expect(page.locator("h1 .count")).to_have_text(str(count))
    expect(page.locator(".chip").filter(has_text="Governorate")).to_contain_text("Idlib")
    page.go_back()
    last = int(rows.last.locator("td").nth(-2).inner_text())
    page.locator(".tl-chart a.tl-bar").last.click()  # the chart's bar of the last week
    expect(page.locator("h1 .count")).to_have_text(str(last))
    assert "occurred_after=2019-05-27" in page.url
    assert violations(page) == []


def test_the_map_writes_each_range_as_every_page_does(live_server, page, settings):
    """The list beside the map and a marker's popup, drawn by map.js from the GeoJSON
    export's two numbers, write a range as ``tracker.display.count_range`` does."""
    from tracker.tests.test_display import RANGES

    settings.TRACKER_MAP_TILE_URL = ""
    ensure_seed_data()
    user = User.objects.create_user("researcher", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Researcher"))
    written = {}
    for n, (low, high, text) in enumerate(RANGES):
        incident = IncidentFactory(
            latitude=Decimal("35.60") + Decimal(n) * Decimal("0.2"),
            longitude=Decimal("36.40"),
            location_precision=LocationPrecision.EXACT,
            killed_min=low,
            killed_max=high,
        )
        written[incident.code] = text
    login(page, live_server.url, "/map/")
    expect(page.locator(".map-canvas")).to_have_attribute("data-map-ready", str(len(RANGES)))
    for code, text in written.items():
        row = page.locator("#map-list tbody tr").filter(has_text=code)
        expect(row.locator("td").nth(4)).to_have_text(text)
        page.locator(f".map-pin[data-code='{code}']").focus()
        page.keyboard.press("Enter")  # a marker opens its popup on Enter
        expect(popup(page)).to_contain_text(code)
        expect(popup(page)).to_contain_text(f"Killed: {text}")
