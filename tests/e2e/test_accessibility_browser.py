"""Every page of the team's journey, admin and workspace, has no WCAG 2.1 A or AA
violation that axe-core finds (issue 17 §7: accessible to everyone on the team).

axe-core comes from npm (``package.json``, installed by ``make browser``) and is put on
each page with ``page.add_script_tag``. Our Content-Security-Policy would refuse it:
``add_script_tag`` inserts the file's text as an inline script, and even run through
``page.evaluate`` axe applies inline styles while it measures and reads the pages'
stylesheets, which the policy blocks too (its CSS checks are then skipped). So these
pages are opened in a browser context of their own with Playwright's
``bypass_csp=True``, used only here. What the pages show does not change: they carry
no inline script or style for the policy to block (``test_csp_browser.py`` holds them
to that with the policy on). The first test puts a violation on a page on purpose, so a
checker that finds nothing cannot pass the others.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from demo import files as demo_files
from evidence import intake
from evidence.files.derivation import derive
from evidence.models import Derivative, EvidenceItem, EvidenceLink
from evidence.testimony import record as record_testimony
from tracker import discussion, parts
from tracker.models import IncidentRelation
from tracker.tests import factories as f
from tracker.tests.seed import ensure_seed_data
from tracker.workflow import Action, transition

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """tags => axe.run(document, {runOnly: {type: "tag", values: tags}}).then(
  result => result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(" ") + " " + n.failureSummary.replace(/\\s+/g, " ")),
  })))"""


@pytest.fixture
def axe_page(browser):
    """A page whose Content-Security-Policy is not applied, for axe (see above)."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: `make browser` installs it (npm ci).")
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    yield context.new_page()
    context.close()


def violations(page) -> list[dict]:
    """What axe-core finds on the page as it is now, WCAG 2.1 A and AA rules only."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(RUN_AXE, WCAG_21_AA)


def described(found: list[dict]) -> str:
    lines = []
    for violation in found:
        lines.append(f"  {violation['id']} ({violation['impact']}): {violation['help']}")
        lines += [f"    - {node}" for node in violation["nodes"]]
    return "\n".join(lines)


class Journey:
    """Visits pages as one user and keeps what axe found on each."""

    def __init__(self, page, base: str):
        self.page, self.base, self.found = page, base, {}

    def login(self, username: str) -> None:
        page = self.page
        page.context.clear_cookies()
        page.goto(f"{self.base}/admin/login/?next=/admin/")
        self.check("login page")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        expect(page.locator("#user-tools")).to_contain_text(f"{username}.")

    def visit(self, url: str, expected: str = "") -> None:
        response = self.page.goto(self.base + url)
        assert response is not None and response.status == 200, url
        self.page.wait_for_load_state("networkidle")
        if expected:
            expect(self.page.locator("body")).to_contain_text(expected)
        self.check(url)

    def check(self, name: str) -> None:
        if found := violations(self.page):
            self.found[name] = found

    def assert_accessible(self) -> None:
        if self.found:
            report = "\n".join(f"{name}:\n{described(v)}" for name, v in self.found.items())
            pytest.fail(f"axe-core found WCAG 2.1 A/AA violations:\n{report}", pytrace=False)


def ingest(content: bytes, *, by, incident, filename: str, **fields) -> EvidenceItem:
    result = intake.ingest(
        io.BytesIO(content), filename=filename, kind="photo", by=by, incident=incident, **fields
    )
    item = result.item
    if not Derivative.objects.filter(item=item).exists():
        derive(item)  # the thumbnails are made on commit; the test's data is committed later
    return item


def photo(n: int, taken: datetime) -> bytes:
    return demo_files.photo_jpeg(
        f"a11y-photo-{n}",
        target="Market",
        taken_at=taken,
        latitude=35.57,
        longitude=36.56,
        altitude=350,
        make="Canon",
        model="EOS 5D Mark III",
    )


@pytest.fixture
def case(researcher, reviewer, editor):
    """A draft incident with photos, a testimony, an attribution and a comment; a second
    incident submitted with its photo; a flight log's observation."""
    ensure_seed_data()
    taken = datetime(2019, 5, 13, 6, 45, tzinfo=UTC)
    incident = f.IncidentFactory(
        title="Airstrike on the market",
        narrative="Two strikes on the market, minutes apart.",
        occurred_start=taken,
        start_precision="minute",
        created_by=researcher,
    )
    photos = [
        ingest(photo(n, taken), by=researcher, incident=incident, filename=f"market-{n}.jpg")
        for n in (1, 2)
    ]
    ingest(photo(3, taken), by=researcher, incident=incident, filename="m.jpg", is_graphic=True)
    record_testimony(
        io.BytesIO(b"I heard the aircraft, then two explosions near the market."),
        filename="testimony.txt",
        by=researcher,
        incident=incident,
        witness=None,
        new_witness={"pseudonym": "Witness W-01", "real_name": "Protected Person"},
        interview={
            "interview_date": date(2019, 6, 1),
            "interviewer": "Team member",
            "summary": "Heard aircraft, then two explosions near the market.",
        },
    )
    hq = f.UnitFactory(name="Air Force Command")
    squadron = f.UnitFactory(force=hq.force, name="678th Squadron", parent=hq)
    commander = f.OfficialFactory(name="Marwan al-Dabbagh")
    f.PositionFactory(official=commander, unit=hq, title="Commander", start=date(2016, 3, 1))
    attribution = f.AttributionFactory(incident=incident, unit=squadron, created_by=researcher)
    attribution.supporting_evidence.add(photos[0])
    discussion.assign(incident, reviewer.pk, by=researcher)
    discussion.comment(incident, by=researcher, body="@reviewer the second photo is blurred.")
    f.FlightObservationFactory()
    for name in ("Maarat al-Numan", "Maarshamarin"):
        f.PlaceFactory(name=name, district="Maarat al-Numan")

    submitted = f.IncidentFactory(title="Shelling of the bakery", created_by=researcher)
    ingest(photo(4, taken), by=researcher, incident=submitted, filename="bakery.jpg")
    IncidentRelation.objects.create(
        from_incident=incident, to_incident=submitted, kind=IncidentRelation.Kind.SAME_OPERATION
    )
    parts.submit_together(submitted, by=researcher)
    assert EvidenceLink.objects.filter(incident=submitted).exists()
    verified = f.IncidentFactory(title="Strike on the water station", created_by=researcher)
    transition(verified, Action.SUBMIT, by=researcher)
    transition(verified, Action.VERIFY, by=reviewer)
    return {
        "incident": incident,
        "submitted": submitted,
        "verified": verified,
        "photo": photos[0],
        "official": commander,
    }


def test_the_checker_finds_a_violation(live_server, axe_page, researcher):
    """A picture without a text alternative, added to a page, is a violation axe names."""
    page = axe_page
    journey = Journey(page, live_server.url)
    journey.login("researcher")
    page.evaluate(
        "() => { const img = document.createElement('img'); img.src = '/static/no.png';"
        " img.id = 'no-alternative'; document.querySelector('#content').append(img); }"
    )
    found = {v["id"]: v for v in violations(page)}
    assert "image-alt" in found
    assert any("#no-alternative" in node for node in found["image-alt"]["nodes"])


def test_a_researchers_pages(live_server, axe_page, case):
    incident, item = case["incident"], case["photo"]
    page = axe_page
    journey = Journey(page, live_server.url)
    journey.login("researcher")
    journey.visit("/admin/", "Review queue")
    journey.visit("/admin/tracker/incident/", incident.code)
    journey.visit(f"/admin/tracker/incident/{incident.pk}/change/", "the second photo")
    expect(page.locator("li.tray-card")).to_have_count(4)
    journey.check("incident page with its tray")
    page.locator(".field-weapon .select2-selection").click()
    expect(page.locator(".select2-results__option--highlighted")).to_have_count(1)
    journey.check("incident page, a list of weapons open")
    page.keyboard.press("Escape")
    page.locator(".field-target_types .select2-search__field").click()
    expect(page.locator(".select2-results__option--highlighted")).to_have_count(1)
    journey.check("incident page, a list of target types open")
    page.keyboard.press("Escape")
    page.locator(".field-place .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill("Maarat")
    expect(page.locator(".select2-results__option--highlighted")).to_have_count(1)
    journey.check("incident page, the place picker open")
    page.keyboard.press("Escape")
    journey.visit("/admin/tracker/incident/add/")
    journey.visit("/admin/evidence/evidenceitem/", item.code)
    journey.visit(f"/admin/evidence/evidenceitem/{item.pk}/change/", item.code)
    journey.visit("/admin/evidence/evidenceitem/add/")
    journey.visit(f"/admin/tracker/incident/{incident.pk}/tray/testimony/")
    journey.visit(f"/admin/tracker/incident/{incident.pk}/review/submit/", incident.code)
    journey.visit("/admin/review/mine/", incident.code)
    journey.visit("/admin/evidence/flightobservation/", "Su-24")
    journey.visit("/admin/evidence/flightlog/add/")
    journey.assert_accessible()


def test_a_reviewers_and_an_editors_pages(live_server, axe_page, case):
    submitted = case["submitted"]
    page = axe_page
    journey = Journey(page, live_server.url)
    journey.login("reviewer")
    journey.visit("/admin/", "Review queue")
    journey.visit("/admin/review/queue/", submitted.code)
    journey.visit(f"/admin/tracker/incident/{submitted.pk}/review-together/", submitted.code)
    journey.visit("/admin/review/mine/", case["incident"].code)  # assigned to the reviewer
    journey.login("editor")
    verified = case["verified"]
    journey.visit("/admin/review/ready/", verified.code)
    journey.visit(f"/admin/tracker/incident/{verified.pk}/review/publish/", verified.code)
    official = case["official"]
    journey.visit(f"/admin/tracker/official/{official.pk}/change/", official.name)
    journey.assert_accessible()


def test_the_workspace_pages(live_server, axe_page, case):
    incident = case["incident"]
    page = axe_page
    journey = Journey(page, live_server.url)
    journey.login("researcher")
    journey.visit("/incidents/", incident.code)
    journey.visit(f"/incidents/{incident.code}/", incident.title)
    journey.visit("/map/")
    journey.visit("/timeline/")
    journey.visit("/officials/")
    journey.visit(f"/officials/{case['official'].pk}/", case["official"].name)
    journey.visit("/reports/case/", incident.code)
    journey.assert_accessible()
