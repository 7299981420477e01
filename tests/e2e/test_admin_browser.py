"""A researcher logs in to the admin in a real browser and finds the case."""

import pytest
from playwright.sync_api import expect

from tracker.tests import factories as f

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_researcher_logs_in_and_opens_an_incident(live_server, page, researcher):
    incident = f.IncidentFactory(title="Strike on the Kafr Nabl market", created_by=researcher)
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "researcher")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.get_by_role("link", name="Incidents").first.click()
    row = page.locator("#result_list tbody tr").filter(has_text=incident.code)
    expect(row).to_have_count(1)
    expect(row.locator(".status-badge")).to_have_text("draft")
    row.get_by_role("link", name=incident.code).click()
    expect(page.locator("#id_title")).to_have_value("Strike on the Kafr Nabl market")
    expect(page.locator(".status-badge").first).to_have_text("draft")


def test_wrong_password_is_refused(live_server, page, researcher):
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "researcher")
    page.fill("#id_password", "not-the-password")
    page.click("input[type=submit]")
    assert (
        "Please enter the correct username and password" in page.locator(".errornote").inner_text()
    )
