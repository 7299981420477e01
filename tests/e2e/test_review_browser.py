"""The review workflow end to end in a real browser, with a screenshot per step.

A researcher creates an incident, uploads a photo linked to it and submits both;
a second researcher cannot verify; a reviewer requests changes; the researcher
edits and resubmits; the reviewer verifies the photo, then the incident; an
editor publishes; the history shows every step with the right actor.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.contenttypes.models import ContentType
from PIL import Image
from playwright.sync_api import expect

from evidence.models import EvidenceItem
from tracker.models import Incident, ReviewEvent
from tracker.tests.seed import ensure_seed_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"


@pytest.fixture
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("review-screenshots")
    print(f"\nscreenshots of the review workflow: {folder}")
    counter = iter(range(1, 100))

    def shot(page, name: str) -> None:
        page.screenshot(path=str(folder / f"{next(counter):02d}-{name}.png"), full_page=True)

    return shot


def login(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(f"{username}.")


def press(page, label: str, comment: str = "") -> None:
    page.locator("a.review-button", has_text=label).click()
    if comment:
        page.fill("#id_comment", comment)
    page.locator("input[type=submit].default").click()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (150, 90, 60)).save(out, "JPEG")
    return out.getvalue()


def test_review_workflow_in_the_browser(
    live_server, page, shots, researcher, other_researcher, reviewer, editor
):
    ensure_seed_data()
    base = live_server.url

    # 1. The researcher creates an incident.
    login(page, base, "researcher")
    page.goto(f"{base}/admin/tracker/incident/add/")
    page.fill("#id_title", "Airstrike on the Kafr Nabl market")
    page.fill("#id_occurred_start_0", "2019-05-13")
    page.fill("#id_occurred_start_1", "09:45")
    page.fill("#id_killed_min", "3")
    page.fill("#id_killed_max", "7")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    incident = Incident.objects.get()
    shots(page, "incident-created")

    # 2. ... uploads a photo linked to it ...
    page.goto(f"{base}/admin/evidence/evidenceitem/add/")
    page.set_input_files(
        "#id_files", files=[{"name": "market.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    page.select_option("#id_kind", "photo")
    page.select_option("#id_incident", str(incident.pk))
    page.fill("#id_received_from", "Field researcher, USB stick")
    page.click("input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("Stored market.jpg as EV-000001")
    item = EvidenceItem.objects.get()
    shots(page, "photo-uploaded")

    # ... and submits both.
    press(page, "Submit for review")
    expect(page.locator(".messagelist")).to_contain_text("now submitted")
    page.goto(f"{base}/admin/tracker/incident/{incident.pk}/change/")
    press(page, "Submit for review")
    expect(page.locator(".messagelist")).to_contain_text("INC-0001: submit for review")
    shots(page, "incident-submitted")

    # 3. A second researcher sees no Verify button; a crafted URL is refused.
    login(page, base, "other_researcher")
    page.goto(f"{base}/admin/tracker/incident/{incident.pk}/change/")
    expect(page.locator("a.review-button")).to_have_count(0)
    page.goto(f"{base}/admin/tracker/incident/{incident.pk}/review/verify/")
    page.locator("input[type=submit].default").click()
    expect(page.locator(".messagelist")).to_contain_text("Only reviewers can review")
    shots(page, "second-researcher-refused")

    # 4. The reviewer requests changes with a comment.
    login(page, base, "reviewer")
    page.goto(f"{base}/admin/review/queue/")
    expect(page.locator("#content-main")).to_contain_text("INC-0001")
    shots(page, "review-queue")
    page.get_by_role("link", name="INC-0001").first.click()  # the group and its row
    press(page, "Request changes", "Give the injured count from the hospital.")
    expect(page.locator(".review-timeline")).to_contain_text("Give the injured count")
    shots(page, "changes-requested")

    # 5. The researcher edits and resubmits.
    login(page, base, "researcher")
    page.goto(f"{base}/admin/review/mine/")
    page.get_by_role("link", name="INC-0001").click()
    page.fill("#id_injured_min", "12")
    page.fill("#id_injured_max", "15")
    page.click("input[name=_continue]")
    press(page, "Submit for review")
    shots(page, "resubmitted")

    # 6. The reviewer verifies the photo, then the incident.
    login(page, base, "reviewer")
    page.goto(f"{base}/admin/tracker/incident/{incident.pk}/change/")
    expect(page.locator(".review-blocked")).to_contain_text(
        "Verify is not possible yet: INC-0001 relies on evidence not yet verified: EV-000001"
    )
    page.goto(f"{base}/admin/evidence/evidenceitem/{item.pk}/change/")
    press(page, "Verify")
    expect(page.locator(".messagelist")).to_contain_text("now verified")
    page.goto(f"{base}/admin/tracker/incident/{incident.pk}/change/")
    press(page, "Verify")
    expect(page.locator(".messagelist")).to_contain_text("INC-0001: verify — now verified")
    expect(page.locator("input[name=_save]")).to_have_count(0)  # locked
    shots(page, "verified-and-locked")

    # 7. The editor publishes.
    login(page, base, "editor")
    page.goto(f"{base}/admin/tracker/incident/{incident.pk}/change/")
    press(page, "Publish")
    expect(page.locator(".messagelist")).to_contain_text("now published")
    shots(page, "published")

    # 8. The timeline and the history name each actor.
    timeline = page.locator(".review-timeline").inner_text()
    expected = [
        ("researcher", "submit"),
        ("reviewer", "request changes"),
        ("researcher", "submit"),
        ("reviewer", "verify"),
        ("editor", "publish"),
    ]
    lines = [line for line in timeline.splitlines() if line.strip()]
    for (actor, action), line in zip(expected, lines, strict=True):
        assert actor in line and action in line.lower(), line
    events = ReviewEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(Incident), object_id=incident.pk
    ).order_by("at", "id")
    assert [(e.actor.username, e.action) for e in events] == [
        ("researcher", "submit"),
        ("reviewer", "request_changes"),
        ("researcher", "submit"),
        ("reviewer", "verify"),
        ("editor", "publish"),
    ]
    page.get_by_role("link", name="Field-by-field history of every change").click()
    history = page.locator("#change-history").inner_text()
    for actor in ("researcher", "reviewer", "editor"):
        assert actor in history
    assert "Injured min" in history or "injured min" in history.lower()
    shots(page, "history")
