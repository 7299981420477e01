"""The Content-Security-Policy in a real browser: the pages the team uses most run
without a single violation, and the scripts moved out of the templates still work.

Violations are caught twice: the page's ``securitypolicyviolation`` events (recorded
by a script Playwright adds before any of the page's own) and Chromium's console
messages. The first test makes a violation on purpose, so a detector that hears
nothing cannot pass the others.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tracker.models import Attribution
from tracker.tests import factories as f
from tracker.tests.seed import ensure_seed_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline")
    + " in " + e.sourceFile + ":" + e.lineNumber);
});
"""


@pytest.fixture
def watched(page):
    """The page, with every CSP violation it reports collected in ``page.csp_problems``."""
    page.csp_console = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            page.csp_console.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return page


def violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []") + page.csp_console


def visit(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert violations(page) == [], url


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(f"{username}.")


@pytest.fixture
def case(db):
    """An incident attributed to a squadron whose parent unit had a commander then."""
    ensure_seed_data()
    hq = f.UnitFactory(name="Air Force Command")
    squadron = f.UnitFactory(force=hq.force, name="678th Squadron", parent=hq)
    commander = f.OfficialFactory(name="Marwan al-Dabbagh")
    f.PositionFactory(official=commander, unit=hq, title="Commander", start=date(2016, 3, 1))
    incident = f.IncidentFactory(
        title="Airstrike on the market",
        occurred_start=timezone.make_aware(datetime(2019, 5, 26, 19, 30)),
        start_precision="minute",
    )
    f.AttributionFactory(incident=incident, unit=squadron)
    f.EvidenceLinkFactory(incident=incident)
    return {"incident": incident, "commander": commander}


def test_the_detector_hears_a_violation(live_server, watched, editor):
    login(watched, live_server.url, "editor")
    watched.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = 1'; document.body.appendChild(s); }"
    )
    watched.wait_for_timeout(200)
    assert watched.evaluate("window.injected === undefined")
    assert any("script-src" in v for v in violations(watched))


def test_main_pages_run_without_a_violation(live_server, watched, editor, case):
    base = live_server.url
    login(watched, base, "editor")
    assert violations(watched) == []
    incident, commander = case["incident"], case["commander"]
    visit(watched, f"{base}/admin/")
    visit(watched, f"{base}/admin/tracker/incident/{incident.pk}/change/")
    visit(watched, f"{base}/admin/evidence/evidenceitem/")
    visit(watched, f"{base}/admin/review/queue/")
    visit(watched, f"{base}/officials/{commander.pk}/")
    visit(watched, f"{base}/officials/{commander.pk}/print/")


def test_timelines_are_placed_by_their_static_script(live_server, watched, editor, case):
    """Positions moved from style="" to data-left: the bars still land where they belong."""
    base = live_server.url
    login(watched, base, "editor")
    visit(watched, f"{base}/officials/{case['commander'].pk}/")
    bar = watched.locator(".timeline-bar").first
    assert bar.evaluate("e => e.style.left") == bar.get_attribute("data-left") + "%"
    assert bar.evaluate("e => e.style.width") == bar.get_attribute("data-width") + "%"
    f.FlightObservationFactory()  # 2019-05-13 06:42 UTC
    visit(watched, f"{base}/admin/evidence/flightobservation/timeline/?day=2019-05-13")
    mark = watched.locator(".flight-mark").first
    assert float(mark.get_attribute("data-left")) > 0
    assert mark.evaluate("e => e.style.left") == mark.get_attribute("data-left") + "%"


def test_commander_button_works_from_its_static_script(live_server, watched, editor, case):
    """The one script that was inline before: its button still adds the attribution."""
    base = live_server.url
    login(watched, base, "editor")
    incident, commander = case["incident"], case["commander"]
    visit(watched, f"{base}/admin/tracker/incident/{incident.pk}/change/")
    watched.locator("button[data-add-commander]").click()
    expect(watched.locator(".messagelist")).to_contain_text("as commander")
    assert Attribution.objects.filter(
        incident=incident, official=commander, role=Attribution.Role.COMMANDER
    ).exists()
    assert violations(watched) == []


def test_second_factor_setup_in_the_browser(live_server, watched, reviewer, settings):
    """The QR code (a data: image) shows under the policy, and a code from the device's
    key, as a phone app would compute it, completes the login."""
    settings.TRACKER_OTP_REQUIRED_GROUPS = ["Reviewer"]
    base = live_server.url
    watched.goto(f"{base}/admin/login/?next=/admin/")
    watched.fill("#id_username", "reviewer")
    watched.fill("#id_password", PASSWORD)
    watched.click("input[type=submit]")
    expect(watched.locator("h1")).to_have_text("Set up your authenticator app")
    assert watched.locator("img.otp-qr").evaluate("img => img.naturalWidth") > 100
    device = TOTPDevice.objects.get(user=reviewer)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    watched.fill("#id_token", f"{totp.token():06d}")
    watched.click("input[type=submit]")
    expect(watched.locator("#user-tools")).to_contain_text("reviewer.")
    assert watched.url == f"{base}/admin/"
    assert violations(watched) == []
