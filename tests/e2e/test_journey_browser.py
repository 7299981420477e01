"""The team's journey on a fresh demo, in Debian's Chromium, counting full page loads.

A researcher logs a strike from the workspace: a new incident, twelve field photos
dropped on its tray, a testimony in one form, a spotter log, and submits it with its
drafts. A reviewer reviews the incident with its evidence in one pass; an editor
publishes it from "Ready to publish"; an investigator browses to an item's page from
the incident's page. Screenshots of each step are kept (the folder is printed).

The page loads of the journey are counted (a page's document received from the server
in a top-level frame, a redirect not counted: uploads and the tray's actions send
requests without loading a page) and printed; the closing note of issue 17 compares
them with the same journey through the earlier pages. Each step that loads a page waits
for it, so that a load is counted for the person whose step asked for it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from evidence.flights.tests.flightlog_helpers import EXAMPLE
from evidence.models import EvidenceItem, FlightLog
from evidence.tests.files import make_jpeg
from tests.e2e.fit import overflow
from tracker.models import Incident, ReviewStatus
from tracker.tests.seed import ensure_seed_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "journey-password-1"
PHOTOS = 12


@pytest.fixture
def demo(db):
    ensure_seed_data()  # a transactional test before this one flushed the migrations' rows
    call_command("load_demo", verbosity=0)
    for user in User.objects.filter(username__in=["researcher", "reviewer", "editor"]):
        user.set_password(PASSWORD)
        user.save()


class Journey:
    def __init__(self, browser, base, folder, *, fits=True):
        self.fits = fits
        self.context = browser.new_context(viewport={"width": 1366, "height": 900})
        self.base, self.folder = base, folder
        folder.mkdir(parents=True, exist_ok=True)
        self.loads: dict[str, int] = {}
        self.who = ""
        self.shots = 0
        # Every page of the context, pop-up windows included. A response arrives before
        # the click or goto that asked for it returns, so it is counted for its step.
        self.context.on("response", self._received)
        self.page = self.context.new_page()

    def _received(self, response):
        request = response.request
        if not request.is_navigation_request():
            return
        try:
            frame = request.frame
        except PlaywrightError:  # a pop-up's first page, asked for before its frame existed
            frame = None
        if frame is not None and frame.parent_frame is not None:
            return
        if 300 <= response.status < 400:  # a redirect: its target is the page
            return
        self.loads[self.who] = self.loads.get(self.who, 0) + 1

    def submit(self, locator) -> None:
        """Click ``locator`` and wait for the page it loads."""
        with self.page.expect_navigation():
            locator.click()

    def as_(self, username):
        self.context.clear_cookies()
        self.who = username
        self.page.goto(f"{self.base}/admin/login/?next=/incidents/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("input[type=submit]")
        self.page.wait_for_url(f"{self.base}/incidents/")

    def shot(self, name):
        self.shots += 1
        path = self.folder / f"{self.shots:02d}-{self.who}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        if self.fits:  # every page of today's route fits 1366 px: no sideways scrolling
            assert overflow(self.page) <= 0, f"{self.who}: {name} is wider than 1366 px"


def photos(folder: Path, shade: int = 90) -> list[str]:
    """Twelve field photos (noise: not one another's near-duplicates; another ``shade``
    makes another twelve)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(PHOTOS):
        path = folder / f"field-{n:02d}.jpg"
        path.write_bytes(make_jpeg(colour=(20 * n % 255, shade, 200 - 10 * n), noise=True))
        paths.append(str(path))
    return paths


def test_the_journey_of_a_strike_from_field_to_publication(
    live_server, browser, demo, tmp_path_factory, tmp_path
):
    kept = os.environ.get("TRACKER_TEST_ARTEFACTS")  # a folder that outlives pytest's own
    folder = Path(kept) / "journey" if kept else tmp_path_factory.mktemp("journey-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots of the journey: {folder}")
    earlier = Journey(browser, live_server.url, folder / "before", fits=False)
    before = journey_before(earlier, tmp_path)
    now = journey_now(
        Journey(browser, live_server.url, folder), tmp_path, "SAMPLE Strike on the vegetable market"
    )
    print(f"page loads before: {before} = {sum(before.values())}")
    print(f"page loads now: {now} = {sum(now.values())}")
    for who in ("researcher", "reviewer", "editor"):
        assert now[who] < before[who], who


def pick_place(page) -> None:
    page.locator(".field-place .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill("Maarat al-Numan")
    expect(page.locator(".select2-results__option").first).to_contain_text("Maarat")
    page.keyboard.press("Enter")


def bulk(j: Journey, action: str, items) -> None:
    """Tick ``items`` in the evidence list, run ``action`` on them and confirm."""
    page = j.page
    for item in items:
        page.check(f'input[name="_selected_action"][value="{item.pk}"]')
    page.select_option('select[name="action"]', action)
    j.submit(page.locator('button[name="index"]'))
    j.submit(page.locator("#content-main input[type=submit]"))


def journey_before(j: Journey, tmp_path: Path) -> dict[str, int]:
    """The same work through the pages there were before this issue (all still there):
    the admin's add page, the upload form, Testimonies > Add with the witness pop-up,
    the flight-log import, bulk actions on the evidence list, one record's review at a
    time. The researcher learns that the evidence must be submitted too, and the
    editor reaches an item from the incident's page through the evidence list's search."""
    page, live = j.page, j.base
    j.as_("researcher")
    page.goto(f"{live}/admin/")
    page.goto(f"{live}/admin/tracker/incident/add/")
    page.fill("#id_title", "SAMPLE Strike on the bakery (the earlier pages)")
    page.fill("#id_occurred_start_0", "2019-05-12")
    page.select_option("#id_start_precision", "day")
    pick_place(page)
    j.submit(page.get_by_role("button", name="Save and continue editing"))
    incident = Incident.objects.get(title__startswith="SAMPLE Strike on the bakery")
    page.goto(f"{live}/admin/evidence/evidenceitem/add/")
    page.set_input_files("#id_files", photos(tmp_path / "before", shade=60))
    page.select_option("#id_kind", "photo")
    page.select_option("#id_incident", str(incident.pk))
    j.submit(page.locator("#content-main input[type=submit]"))
    expect(page.locator(".messagelist")).to_contain_text("Stored field-11.jpg")

    page.goto(f"{live}/admin/evidence/evidenceitem/add/")
    transcript = tmp_path / "interview-before.txt"
    transcript.write_text("SAMPLE transcript. The bakery was hit after the call to prayer.\n")
    page.set_input_files("#id_files", str(transcript))
    page.select_option("#id_kind", "testimony")
    page.select_option("#id_incident", str(incident.pk))
    j.submit(page.locator("#content-main input[type=submit]"))
    told = EvidenceItem.objects.get(links__incident=incident, kind="testimony")
    page.goto(f"{live}/admin/evidence/testimony/add/")
    page.locator(".field-item .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill(told.code)
    expect(page.locator(".select2-results__option").first).to_contain_text(told.code)
    page.keyboard.press("Enter")
    with page.expect_popup() as opened:
        page.locator("#add_id_witness").click()
    popup = opened.value
    popup.fill("#id_pseudonym", "SAMPLE Witness B-1")
    popup.locator("input[name=_save]").click()
    popup.wait_for_event("close")
    page.fill("#id_interview_date", "2019-05-20")
    page.fill("#id_interviewer", "SAMPLE Researcher")
    page.fill("#id_summary", "The bakery was hit after the call to prayer.")
    page.check("#id_consent_given")
    j.submit(page.locator("input[name=_save]"))
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")

    page.goto(f"{live}/admin/evidence/flightlog/add/")
    log = tmp_path / "spotters-before.csv"
    log.write_text(EXAMPLE.replace("KFN-1", "KFN-2"))
    page.set_input_files("#id_file", str(log))
    page.fill("#id_time_zone", "Asia/Damascus")
    page.fill("#id_incident", incident.code)
    j.submit(page.locator("#content-main input[type=submit]"))
    expect(page.locator(".messagelist")).to_contain_text("observations")

    page.goto(f"{live}/admin/tracker/incident/")
    page.goto(f"{live}/admin/tracker/incident/{incident.pk}/change/")
    j.submit(page.locator(f"a[href$='/{incident.pk}/review/submit/']"))
    page.locator('#with_parts, input[name="with_parts"]').uncheck()  # the earlier page had none
    j.submit(page.get_by_role("button", name="Submit for review"))
    items = list(EvidenceItem.objects.filter(links__incident=incident))
    page.goto(f"{live}/admin/evidence/evidenceitem/")
    bulk(j, "submit_selected", items)
    expect(page.locator(".messagelist")).to_contain_text("done for 14")

    j.as_("reviewer")
    page.goto(f"{live}/admin/review/queue/")
    page.goto(f"{live}/admin/evidence/evidenceitem/")
    bulk(j, "verify_selected", items)
    expect(page.locator(".messagelist")).to_contain_text("done for 14")
    page.goto(f"{live}/admin/review/queue/")
    page.goto(f"{live}/admin/tracker/incident/{incident.pk}/change/")
    j.submit(page.locator(f"a[href$='/{incident.pk}/review/verify/']"))
    j.submit(page.locator("#content-main input[type=submit]"))
    incident.refresh_from_db()
    assert incident.status == ReviewStatus.VERIFIED

    j.as_("editor")
    page.goto(f"{live}/admin/tracker/incident/?status__exact=verified")
    page.goto(f"{live}/admin/tracker/incident/{incident.pk}/change/")
    j.submit(page.locator(f"a[href$='/{incident.pk}/review/publish/']"))
    j.submit(page.locator("#content-main input[type=submit]"))
    incident.refresh_from_db()
    assert incident.status == ReviewStatus.PUBLISHED
    page.goto(f"{live}/incidents/{incident.code}/")
    first = min(items, key=lambda item: item.code)
    page.goto(f"{live}/admin/evidence/evidenceitem/?q={first.code}")
    page.goto(f"{live}/admin/evidence/evidenceitem/{first.pk}/change/")
    return dict(j.loads)


def journey_now(j: Journey, tmp_path: Path, title: str) -> dict[str, int]:
    """The journey through the pages of this issue: the tray, the one-pass review."""
    page, live = j.page, j.base

    # --- The researcher -----------------------------------------------------------------
    j.as_("researcher")
    j.submit(page.get_by_role("link", name="New incident"))
    page.fill("#id_title", title)
    page.fill("#id_occurred_start_0", "2019-05-13")
    page.select_option("#id_start_precision", "day")
    j.shot("new-incident")
    pick_place(page)
    j.submit(page.get_by_role("button", name="Save and continue editing"))
    expect(page.locator("#tray")).to_be_visible()
    incident = Incident.objects.get(title=title)
    assert incident.place is not None and incident.place.name == "Maarat al-Numan"  # not "Hass"
    page.set_input_files("#tray-files", photos(tmp_path / "now"))
    expect(page.locator("li.tray-card")).to_have_count(PHOTOS, timeout=60_000)
    j.shot("tray")

    j.submit(page.get_by_role("link", name="Add a testimony"))
    transcript = tmp_path / "interview.txt"
    transcript.write_text("SAMPLE transcript. Two jets at dawn, then the market was hit.\n")
    page.set_input_files("#id_transcript", str(transcript))
    page.fill("#id_pseudonym", "SAMPLE Witness J-1")
    page.fill("#id_interview_date", "2019-05-20")
    page.fill("#id_interviewer", "SAMPLE Researcher")
    page.fill("#id_summary", "Saw two jets at dawn; the market was hit minutes later.")
    page.check("#id_consent_given")
    # The transcript names only the pseudonym: the team's reviewers may open it (a
    # protected item is judged only by someone allowed to see protected identity).
    page.uncheck("#id_is_protected")
    j.submit(page.get_by_role("button", name="Store the testimony"))
    expect(page.locator(".messagelist")).to_contain_text("Testimony stored")

    j.submit(page.get_by_role("link", name="Import a spotter log"))
    log = tmp_path / "spotters.csv"
    log.write_text(EXAMPLE)
    page.set_input_files("#id_file", str(log))
    page.fill("#id_time_zone", "Asia/Damascus")
    j.submit(page.locator("input[type=submit]"))
    expect(page.locator("#tray")).to_be_visible()
    assert FlightLog.objects.filter(item__links__incident=incident).exists()

    j.submit(page.locator("a.review-button", has_text="Submit for review"))
    expect(page.locator("body")).to_contain_text("not yet submitted")
    j.shot("submit-with-drafts")
    j.submit(page.get_by_role("button", name="Submit for review"))
    expect(page.locator(".messagelist")).to_contain_text("submitted for review, with 14")

    # --- The reviewer -------------------------------------------------------------------
    j.as_("reviewer")
    page.goto(f"{live}/admin/review/queue/")
    j.shot("queue")
    j.submit(
        page.locator(".review-group", has_text=incident.code).get_by_role(
            "link", name="Review with its evidence"
        )
    )
    for radio in page.locator("input[type=radio][value=verify]").all():
        radio.check()
    j.shot("one-pass")
    j.submit(page.get_by_role("button", name="Apply these decisions"))
    expect(page.locator(".messagelist")).to_contain_text(f"{incident.code}: verify")
    incident.refresh_from_db()
    assert incident.status == ReviewStatus.VERIFIED

    # --- The editor ---------------------------------------------------------------------
    j.as_("editor")
    page.goto(f"{live}/admin/review/ready/")
    j.submit(page.locator("tr", has_text=incident.code).get_by_role("link", name="Publish…"))
    j.submit(page.get_by_role("button", name="Publish"))
    expect(page.locator(".messagelist")).to_contain_text("now published")
    incident.refresh_from_db()
    assert incident.status == ReviewStatus.PUBLISHED

    # --- An investigator browsing -------------------------------------------------------
    page.goto(f"{live}/incidents/{incident.code}/")
    j.shot("incident-page")
    first = EvidenceItem.objects.filter(links__incident=incident, kind="photo").order_by("code")[0]
    j.submit(page.locator(f"#evidence-{first.code} .inc-card-title a"))
    expect(page.locator("#content")).to_contain_text(first.code)
    j.shot("item-page")

    return dict(j.loads)
