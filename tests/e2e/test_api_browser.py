"""The API's pages in a real browser: Swagger UI (/api/docs/) runs under the CSP without a
violation, from the package's files (no CDN), and lists the API's routes; with the admin's
session it reads the case, a restricted incident absent as everywhere."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_csp_browser import login, violations, watched  # noqa: F401 - fixture
from tracker.models import Sensitivity
from tracker.tests import factories as f

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_page_runs_under_the_csp_and_reads_with_the_session(
    watched,  # noqa: F811 - the fixture imported above
    live_server,
    researcher,
):
    page = watched
    incident = f.IncidentFactory(title="Strike on the bakery")
    f.IncidentFactory(title="SECRET clinic", sensitivity=Sensitivity.RESTRICTED)
    outside = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None,
    )
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Accountability")
    expect(page.locator(".opblock-summary-path", has_text="/api/incidents/").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert violations(page) == []
    assert outside == []
    # The session reads what the admin shows, through the same rules.
    login(page, live_server.url, "researcher")
    answer = page.evaluate("fetch('/api/incidents/').then(r => r.json())")
    assert [row["code"] for row in answer["results"]] == [incident.code]
    refused = page.evaluate(
        "code => fetch(`/api/incidents/${code}/transitions/`, {method: 'POST'})"
        ".then(r => r.status)",
        incident.code,
    )
    assert refused == 403  # a session's write needs the CSRF token, which no script can read
