"""The incident page in a real browser: a graphic photo is blurred until its button is
pressed (by mouse or keyboard), a photo's preview opens and loads, and the satellite
before/after viewer shows both scenes side by side and with a slider."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from demo import files as demo_files
from evidence import intake
from evidence.files.derivation import derive
from evidence.models import Derivative, SatelliteImage
from tracker.tests.factories import IncidentFactory, PlaceFactory
from tracker.tests.seed import ensure_seed_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"


@pytest.fixture
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("incident-screenshots")
    print(f"\nscreenshots of the incident page: {folder}")

    def shot(page, name: str) -> None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return shot


def ingest(content: bytes, *, by, incident, kind: str = "photo", **fields):
    result = intake.ingest(
        io.BytesIO(content), filename="file.jpg", kind=kind, by=by, incident=incident, **fields
    )
    item = result.item
    if not Derivative.objects.filter(item=item).exists():
        derive(item)
    return item


def photo(n: int, taken: datetime) -> bytes:
    """A photo of a damaged site as the demo case makes them."""
    return demo_files.photo_jpeg(
        f"e2e-photo-{n}",
        target="Market",
        taken_at=taken,
        latitude=35.57,
        longitude=36.56,
        altitude=350,
        make="Canon",
        model="EOS 5D Mark III",
    )


def blur_of(locator) -> str:
    return locator.evaluate("img => getComputedStyle(img).filter")


def loaded(locator) -> bool:
    return locator.evaluate("img => img.complete && img.naturalWidth > 0")


def test_gallery_preview_and_satellite_viewer(live_server, page, shots):
    ensure_seed_data()
    user = User.objects.create_user("researcher", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Researcher"))
    incident = IncidentFactory(
        title="Airstrike on the market — غارة على السوق",
        narrative="Two strikes on the market, minutes apart.\n\nSee EV-000001.",
        occurred_start=datetime(2019, 5, 13, 6, 45, tzinfo=UTC),
        start_precision="minute",
        place=PlaceFactory(name="Kafr Nabl"),
        created_by=user,
    )
    taken = incident.occurred_start
    plain = ingest(photo(1, taken), by=user, incident=incident, title="Market after the strike")
    graphic = ingest(photo(2, taken), by=user, incident=incident, is_graphic=True)
    second = ingest(photo(3, taken), by=user, incident=incident, is_graphic=True)
    scenes = []
    for day in (8, 15):
        at = datetime(2019, 5, day, 8, 10, tzinfo=UTC)
        item = ingest(
            demo_files.satellite_png("e2e-scene", damaged=day > 13, captured_at=at),
            by=user,
            incident=incident,
            kind="satellite",
        )
        scene, _ = SatelliteImage.objects.get_or_create(item=item)
        scene.captured_at = at
        scene.before = scenes[-1] if scenes else None
        scene.save()
        scenes.append(scene)

    refusals = []
    page.on("console", lambda m: "Content Security Policy" in m.text and refusals.append(m.text))
    base = live_server.url
    page.goto(f"{base}/admin/login/?next=/incidents/{incident.code}/")
    page.fill("#id_username", "researcher")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("h1")).to_contain_text(incident.code)
    # The map draws the town-level location as a circle, tiles or none.
    area = page.locator(f'.inc-map [data-code="{incident.code}"]')
    expect(area).to_have_count(1)
    expect(area).to_have_attribute("data-precision", "town")
    shots(page, "01-incident-page")

    # The graphic photo is blurred; its button unblurs it and hands focus to its link.
    card = page.locator(f"#evidence-{graphic.code}")
    image = card.locator("img")
    expect(image).to_be_visible()
    assert "blur" in blur_of(image)
    shots(page, "02-graphic-blurred")
    card.get_by_role("button", name="Graphic: show image").click()
    expect(card.get_by_role("button")).to_have_count(0)
    assert blur_of(image) == "none"
    expect(card.locator("a[data-preview]")).to_be_focused()
    card.scroll_into_view_if_needed()
    shots(page, "03-graphic-shown")

    # The keyboard does the same: Tab to the button, Enter.
    other = page.locator(f"#evidence-{second.code}")
    other.get_by_role("button").focus()
    page.keyboard.press("Enter")
    assert blur_of(other.locator("img")) == "none"

    # A click on the photo opens its preview, fetched through the protected view.
    with page.expect_response(f"**/evidence/{plain.code}/preview") as preview:
        page.locator(f"#evidence-{plain.code} a[data-preview]").click()
    assert preview.value.status == 200
    assert preview.value.headers["content-type"] == "image/jpeg"
    dialog = page.locator("dialog.inc-lightbox")
    expect(dialog).to_be_visible()
    expect(dialog.locator("img")).to_have_attribute("src", f"/evidence/{plain.code}/preview")
    page.wait_for_function("() => document.querySelector('dialog.inc-lightbox img').complete")
    assert loaded(dialog.locator("img"))
    shots(page, "04-preview-open")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    # The satellite viewer: before and after side by side, with their dates.
    pair = page.locator("[data-sat-pair]")
    expect(pair).to_have_count(1)
    scenes_shown = pair.locator("img")
    expect(scenes_shown).to_have_count(2)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-sat-pair] img')].every("
        "i => i.complete && i.naturalWidth > 0)"
    )
    expect(pair.locator("figcaption").first).to_contain_text("Before")
    expect(pair.locator("figcaption").last).to_contain_text("After")
    pair.scroll_into_view_if_needed()
    shots(page, "05-satellite-side-by-side")

    # ... and with a slider over each other.
    page.get_by_role("button", name="Compare with a slider").click()
    compare = page.locator(".inc-compare")
    expect(compare).to_be_visible()
    expect(compare.locator("img")).to_have_count(2)
    slider = compare.get_by_role("slider")
    slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    clip = compare.locator(".inc-compare-after").evaluate("i => i.style.clipPath")
    assert clip == "inset(0px 0px 0px 53%)" or clip == "inset(0 0 0 53%)"
    compare.scroll_into_view_if_needed()
    shots(page, "06-satellite-slider")

    # Ranked flights are asked for when their section opens, not with the page.
    ranked = page.locator("details.inc-ranked")
    expect(ranked.locator("[data-on-demand] a")).to_have_count(1)
    with page.expect_response(f"**/incidents/{incident.code}/flights/?part=1") as ranking:
        ranked.locator("summary").click()
    assert ranking.value.status == 200
    expect(ranked).to_contain_text("No flight observation falls in the strike's window.")
    expect(ranked.locator("[data-on-demand] a")).to_have_count(0)

    # The preview leads to the item's own page: its metadata, custody and history.
    page.locator(f"#evidence-{plain.code} a[data-preview]").click()
    item_page = dialog.locator(".inc-lightbox-page a")
    expect(item_page).to_be_visible()
    with page.expect_navigation():
        item_page.click()
    assert page.url == f"{base}/admin/evidence/evidenceitem/{plain.pk}/change/"
    expect(page.locator("#content")).to_contain_text(plain.code)
    assert refusals == []  # nothing on the page was blocked by the Content-Security-Policy
