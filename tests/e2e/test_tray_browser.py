"""The evidence tray in a real browser: files chosen (as if dropped) go up one by one
with their progress and appear as cards; relied on, unlink and link by code change the
tray in place, without leaving the page or a CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from evidence.models import EvidenceItem, EvidenceLink
from evidence.tests.files import make_jpeg
from tests.e2e.test_csp_browser import login, violations, watched  # noqa: F401 - fixture
from tracker.tests import factories as f

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tray-screenshots")
    print(f"\nscreenshots of the evidence tray: {folder}")
    return lambda page, name: page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_files_go_onto_the_incident_and_the_tray_changes_in_place(
    live_server,
    watched,  # noqa: F811 - the fixture imported above
    researcher,
    shots,
    tmp_path,
):
    incident = f.IncidentFactory(created_by=researcher, title="Strike on the market")
    held = f.EvidenceItemFactory(title="Statement of the civil defence")
    login(watched, live_server.url, "researcher")
    watched.goto(f"{live_server.url}/admin/tracker/incident/{incident.pk}/change/")
    watched.evaluate("window.__stayed = true")  # gone if the page were reloaded
    files = []
    for n, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        path = tmp_path / f"field-photo-{n}.jpg"
        path.write_bytes(make_jpeg(colour=colour))
        files.append(str(path))
    watched.set_input_files("#tray-files", files)
    cards = watched.locator("li.tray-card")
    expect(cards).to_have_count(3)
    expect(watched.locator(".tray-progress li")).to_have_count(3)
    expect(watched.locator(".tray-progress")).to_contain_text("Stored field-photo-2.jpg")
    shots(watched, "1-dropped")
    assert EvidenceLink.objects.filter(incident=incident).count() == 3

    first = cards.first
    first.get_by_role("button", name="Not relied on").click()
    expect(first.locator(".tray-meta")).to_contain_text("not relied on")
    expect(watched.locator("[data-tray-said]")).to_contain_text("not relied on")
    watched.locator("li.tray-card").nth(1).get_by_role("button", name="Unlink").click()
    expect(watched.locator("li.tray-card")).to_have_count(2)
    watched.fill("#tray-codes", held.code)
    watched.get_by_role("button", name="Link", exact=True).click()
    expect(watched.locator("li.tray-card")).to_have_count(3)
    expect(watched.locator("[data-tray-said]")).to_contain_text(f"Linked {held.code}")
    expect(watched.locator("[data-tray-count]")).to_have_text("3")
    shots(watched, "2-changed-in-place")
    assert watched.evaluate("window.__stayed === true")
    assert violations(watched) == []
    links = EvidenceLink.objects.filter(incident=incident)
    assert links.count() == 3 and links.filter(relied_on=False).count() == 1
    assert EvidenceItem.objects.count() == 4  # nothing unlinked is deleted
