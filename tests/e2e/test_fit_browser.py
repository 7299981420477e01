"""At 1366 px wide (a common laptop), the pages of the team's journey need no sideways
scrolling, and the ranked flights keep their Confirm button and reasons in view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.fit import overflow
from tests.e2e.test_csp_browser import PASSWORD
from tracker.tests import factories as f

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
WIDTH = 1366


@pytest.fixture
def narrow(browser):
    context = browser.new_context(viewport={"width": WIDTH, "height": 768})
    page = context.new_page()
    yield page
    context.close()


def login(page, base, username):
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")


def test_the_ranked_flights_fit_with_their_confirm_buttons(live_server, narrow, reviewer):
    strike = datetime(2019, 5, 13, 6, 50, tzinfo=UTC)
    incident = f.IncidentFactory(occurred_start=strike, start_precision="minute")
    log = f.FlightLogFactory()
    for minutes in (-40, -25, -8, 0, 5):
        f.FlightObservationFactory(
            log=log,
            observed_at=strike + timedelta(minutes=minutes),
            origin="Hmeimim air base, Latakia governorate",
            nationality="RU",
            heading_raw="NE",
        )
    login(narrow, live_server.url, "reviewer")
    narrow.goto(f"{live_server.url}/admin/tracker/incident/{incident.pk}/change/")
    narrow.get_by_role("heading", name="Flights consistent with the strike").click()
    button = narrow.get_by_role("button", name="Confirm").first
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None and box["x"] + box["width"] <= WIDTH
    cut = narrow.evaluate(
        "[...document.querySelectorAll('.flight-reasons-cell')]"
        ".filter(c => c.scrollWidth > c.clientWidth + 1).length"
    )
    assert cut == 0
    assert overflow(narrow) <= 0
    # The same ranking on its own page and on the team's incident page.
    for path, section in (
        (f"/admin/evidence/flightobservation/candidates/{incident.pk}/", None),
        # The team's page ranks them when their section is opened.
        (f"/incidents/{incident.code}/", "details.inc-ranked"),
    ):
        narrow.goto(f"{live_server.url}{path}")
        if section:
            narrow.locator(f"{section} summary").click()
            expect(narrow.locator(f"{section} table")).to_be_visible()
        assert narrow.locator("text=Su-24").count() > 0, path
        assert overflow(narrow) <= 0, path


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/tracker/incident/",
        "/admin/evidence/evidenceitem/",
        "/admin/evidence/flightobservation/",
        "/admin/review/queue/",
        "/admin/review/mine/",
        "/incidents/",
    ],
)
def test_lists_fit(live_server, narrow, editor, path):
    f.IncidentFactory(title="Strike on the market " * 4)
    f.FlightObservationFactory(origin="Hmeimim air base, Latakia governorate")
    login(narrow, live_server.url, "editor")
    narrow.goto(f"{live_server.url}{path}")
    assert overflow(narrow) <= 0, path
