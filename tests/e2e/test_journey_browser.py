"""The team's journey on a fresh demo, in Debian's Chromium, counting full page loads.

A researcher logs a strike from the workspace: a new incident, twelve field photos
dropped on its tray, a testimony in one form, a spotter log, and submits it with its
drafts. A reviewer reviews the incident with its evidence in one pass; an editor
publishes it from "Ready to publish"; an investigator browses to an item's page from
the incident's page. Screenshots of each step are kept (the folder is printed).

The page loads of the journey are counted (a ``load`` event of the page: uploads and
the tray's actions send requests without loading a page) and printed; the closing
note of issue 17 compares them with the same journey through the earlier pages.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from playwright.sync_api import expect

from evidence.flights.tests.flightlog_helpers import EXAMPLE
from evidence.models import EvidenceItem, FlightLog
from evidence.tests.files import make_jpeg
from tracker.models import Incident, ReviewStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "journey-password-1"
PHOTOS = 12


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)
    for user in User.objects.filter(username__in=["researcher", "reviewer", "editor"]):
        user.set_password(PASSWORD)
        user.save()


class Journey:
    def __init__(self, browser, base, folder):
        self.context = browser.new_context(viewport={"width": 1366, "height": 900})
        self.page = self.context.new_page()
        self.base, self.folder = base, folder
        self.loads: dict[str, int] = {}
        self.who = ""
        self.shots = 0
        self.page.on("load", lambda _: self._loaded())

    def _loaded(self):
        self.loads[self.who] = self.loads.get(self.who, 0) + 1

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


def test_the_journey_of_a_strike_from_field_to_publication(
    live_server, browser, demo, tmp_path_factory, tmp_path
):
    kept = os.environ.get("TRACKER_TEST_ARTEFACTS")  # a folder that outlives pytest's own
    folder = Path(kept) / "journey" if kept else tmp_path_factory.mktemp("journey-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots of the journey: {folder}")
    j = Journey(browser, live_server.url, folder)
    page = j.page

    # --- The researcher -----------------------------------------------------------------
    j.as_("researcher")
    page.get_by_role("link", name="New incident").click()
    page.fill("#id_title", "SAMPLE Strike on the vegetable market")
    page.fill("#id_occurred_start_0", "2019-05-13")
    page.select_option("#id_start_precision", "day")
    j.shot("new-incident")
    page.locator(".field-place .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill("Maarat al-Numan")
    expect(page.locator(".select2-results__option").first).to_contain_text("Maarat")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator("#tray")).to_be_visible()
    incident = Incident.objects.get(title="SAMPLE Strike on the vegetable market")
    assert incident.place is not None and incident.place.name == "Maarat al-Numan"  # not "Hass"
    photos = []
    for n in range(PHOTOS):
        path = tmp_path / f"field-{n:02d}.jpg"
        path.write_bytes(make_jpeg(colour=(20 * n % 255, 90, 200 - 10 * n), noise=True))
        photos.append(str(path))
    page.set_input_files("#tray-files", photos)
    expect(page.locator("li.tray-card")).to_have_count(PHOTOS, timeout=60_000)
    j.shot("tray")

    page.get_by_role("link", name="Add a testimony").click()
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
    page.get_by_role("button", name="Store the testimony").click()
    expect(page.locator(".messagelist")).to_contain_text("Testimony stored")

    page.get_by_role("link", name="Import a spotter log").click()
    log = tmp_path / "spotters.csv"
    log.write_text(EXAMPLE)
    page.set_input_files("#id_file", str(log))
    page.fill("#id_time_zone", "Asia/Damascus")
    page.locator("input[type=submit]").click()
    expect(page.locator("#tray")).to_be_visible()
    assert FlightLog.objects.filter(item__links__incident=incident).exists()

    page.locator("a.review-button", has_text="Submit for review").click()
    expect(page.locator("body")).to_contain_text("not yet submitted")
    j.shot("submit-with-drafts")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".messagelist")).to_contain_text("submitted for review, with 14")

    # --- The reviewer -------------------------------------------------------------------
    j.as_("reviewer")
    page.goto(f"{live_server.url}/admin/review/queue/")
    j.shot("queue")
    page.locator(".review-group", has_text=incident.code).get_by_role(
        "link", name="Review with its evidence"
    ).click()
    for radio in page.locator("input[type=radio][value=verify]").all():
        radio.check()
    j.shot("one-pass")
    page.get_by_role("button", name="Apply these decisions").click()
    expect(page.locator(".messagelist")).to_contain_text(f"{incident.code}: verify")
    incident.refresh_from_db()
    assert incident.status == ReviewStatus.VERIFIED

    # --- The editor ---------------------------------------------------------------------
    j.as_("editor")
    page.goto(f"{live_server.url}/admin/review/ready/")
    page.locator("tr", has_text=incident.code).get_by_role("link", name="Publish…").click()
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".messagelist")).to_contain_text("now published")
    incident.refresh_from_db()
    assert incident.status == ReviewStatus.PUBLISHED

    # --- An investigator browsing -------------------------------------------------------
    page.goto(f"{live_server.url}/incidents/{incident.code}/")
    j.shot("incident-page")
    first = EvidenceItem.objects.filter(links__incident=incident, kind="photo").order_by("code")[0]
    page.locator(f"#evidence-{first.code} .inc-card-title a").click()
    expect(page.locator("#content")).to_contain_text(first.code)
    j.shot("item-page")

    print(f"page loads: {j.loads} = {sum(j.loads.values())}")
    assert sum(j.loads.values()) < 40
