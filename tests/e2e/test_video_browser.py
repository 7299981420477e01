"""Video and audio evidence in a real browser (issue 19): the item's admin page plays the
playable copy, never the original, from where it is moved to (the server answering in
byte ranges), its keyframes show as a strip with their times and play the copy from
theirs; an audio item plays too; the incident page marks a video's card and its
lightbox plays the copy with the strip under it. No CSP violation anywhere.

The clips are made in the test (``demo.clips``) and their background jobs run at once
(the immediate task backend), as a worker would run them after the upload.
"""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect

from demo import clips
from evidence import intake
from evidence.models import EvidenceItem
from tests.e2e.test_accessibility_browser import Journey, axe_page  # noqa: F401 - fixture
from tests.e2e.test_csp_browser import login, violations, watched  # noqa: F401 - fixture
from tracker.tests import factories as f

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
KEYFRAMES = 6  # one per scene of the six-second clip (evidence/tests/test_video_evidence.py)
PLAYS = """(media, after) => new Promise((resolve, reject) => {
  media.muted = true;
  media.play().catch(reject);
  const started = Date.now();
  (function check() {
    if (media.error) return reject("media error " + media.error.code);
    if (media.currentTime > after && media.readyState >= 2) return resolve(media.currentTime);
    if (Date.now() - started > 15000) return reject("stuck at " + media.currentTime);
    setTimeout(check, 50);
  })();
})"""
SEEKS = """(media, to) => new Promise((resolve, reject) => {
  media.addEventListener("seeked", () => resolve(media.currentTime), {once: true});
  media.currentTime = to;
  setTimeout(() => reject("no seeked event"), 10000);
})"""
LOADED = "images => images.map(img => img.complete && img.naturalWidth > 0)"


@pytest.fixture
def shots(tmp_path_factory):
    """Screenshots under /tmp (pytest's folder for this run), printed with -s."""
    folder = tmp_path_factory.mktemp("video-screenshots")
    print(f"\nscreenshots of the recordings: {folder}")

    def shot(target, name: str) -> None:
        target.screenshot(path=str(folder / f"{name}.png"))

    return shot


def ingest(data: bytes, by, name: str, kind: str, incident=None) -> EvidenceItem:
    """Through the real intake; its derivatives and playable jobs run at the commit."""
    result = intake.ingest(
        io.BytesIO(data), filename=name, kind=kind, by=by, incident=incident, title=name
    )
    result.item.refresh_from_db()
    assert result.item.derivatives.filter(kind="playable").exists()
    return result.item


@pytest.fixture
def clip(researcher) -> EvidenceItem:
    incident = f.IncidentFactory(created_by=researcher, title="Strike on the market")
    data = clips.video(seed="market", seconds=6, size=(640, 360), label="market")
    return ingest(data, researcher, "market.mp4", "video", incident)


def playable_answers(page) -> list[tuple[str, int, str]]:
    """(URL, status, Content-Range) of every evidence file the page fetches, as it goes."""
    seen: list[tuple[str, int, str]] = []
    page.on(
        "response",
        lambda r: (
            seen.append((r.url, r.status, r.headers.get("content-range", "")))
            if "/evidence/" in r.url
            else None
        ),
    )
    return seen


def test_the_item_page_plays_the_copy_and_its_keyframes(
    live_server,
    watched,  # noqa: F811 - the fixture imported above
    researcher,
    clip,
    shots,
):
    base = live_server.url
    answers = playable_answers(watched)
    login(watched, base, "researcher")
    watched.goto(f"{base}/admin/evidence/evidenceitem/{clip.pk}/change/")
    video = watched.locator("video.evidence-player")
    expect(video).to_have_count(1)
    assert video.get_attribute("poster") == f"/evidence/{clip.code}/preview"

    assert video.evaluate(PLAYS, 0.5) > 0.5
    state = video.evaluate(
        "v => ({src: v.currentSrc, ready: v.readyState, error: v.error, width: v.videoWidth})"
    )
    assert state["src"] == f"{base}/evidence/{clip.code}/playable"
    assert "/original" not in state["src"] and state["error"] is None
    assert state["ready"] >= 2 and state["width"] == 640
    # Moved on: it plays from there.
    assert video.evaluate(SEEKS, 4.0) >= 3.9
    assert video.evaluate(PLAYS, 4.3) > 4.3
    video.evaluate("v => v.pause()")
    ranged = [(s, r) for url, s, r in answers if url.endswith("/playable")]
    assert ranged and all(status == 206 for status, _ in ranged), ranged
    assert not any(url.endswith("/original") for url, _, _ in answers)
    part = watched.request.get(
        f"{base}/evidence/{clip.code}/playable", headers={"Range": "bytes=100-199"}
    )
    assert part.status == 206 and part.headers["content-range"].startswith("bytes 100-199/")
    assert len(part.body()) == 100

    strip = watched.locator("ol.keyframe-strip li")
    expect(strip).to_have_count(KEYFRAMES)
    times = strip.locator("span").all_inner_texts()
    assert times == ["0:00.0", "0:01.0", "0:02.0", "0:03.0", "0:04.0", "0:05.0"]
    images = watched.locator("ol.keyframe-strip img")
    for n in range(KEYFRAMES):  # lazy: each loads as the strip scrolls to it
        images.nth(n).scroll_into_view_if_needed()
    watched.wait_for_function(
        "() => [...document.querySelectorAll('ol.keyframe-strip img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    assert images.evaluate_all(LOADED) == [True] * KEYFRAMES
    assert images.first.get_attribute("alt") == "Frame at 0:00.0"
    # A keyframe's click plays the copy from its time, and marks it as the scene on screen.
    video.evaluate("v => { v.muted = true; }")
    strip.nth(3).locator("a").click()
    watched.wait_for_function(
        "() => { const v = document.querySelector('video.evidence-player');"
        " return v.currentTime >= 3.0 && !v.paused; }"
    )
    expect(strip.nth(3).locator("a")).to_have_attribute("aria-current", "true")
    video.evaluate("v => { v.pause(); v.currentTime = 3.0; }")
    assert len(watched.context.pages) == 1  # the frame did not open instead

    fieldset = watched.locator("fieldset:has(.field-file_preview)")
    fieldset.scroll_into_view_if_needed()
    shots(fieldset, "1-item-page-light")
    assert violations(watched) == []


def test_the_item_page_in_the_dark_theme(live_server, browser, researcher, clip, shots):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme="dark")
    page = context.new_page()
    try:
        login(page, live_server.url, "researcher")
        page.goto(f"{live_server.url}/admin/evidence/evidenceitem/{clip.pk}/change/")
        images = page.locator("ol.keyframe-strip img")
        expect(images).to_have_count(KEYFRAMES)
        page.wait_for_function(
            "() => [...document.querySelectorAll('ol.keyframe-strip img')]"
            ".every(img => img.complete && img.naturalWidth > 0)"
        )
        page.wait_for_function("() => document.querySelector('video').readyState >= 2")
        time = page.locator("ol.keyframe-strip span").first
        # The times are light on the dark page, not the light theme's grey.
        colour = time.evaluate("e => getComputedStyle(e).color")
        channels = [int(c) for c in colour[colour.index("(") + 1 : -1].split(",")[:3]]
        assert sum(channels) / 3 > 128, colour
        field = page.locator(".field-file_preview")
        field.scroll_into_view_if_needed()
        shots(field, "2-item-page-dark")
    finally:
        context.close()


def test_an_audio_item_plays_its_copy(
    live_server,
    watched,  # noqa: F811 - the fixture imported above
    researcher,
    shots,
):
    item = ingest(clips.audio(seconds=3), researcher, "interview.m4a", "audio")
    login(watched, live_server.url, "researcher")
    watched.goto(f"{live_server.url}/admin/evidence/evidenceitem/{item.pk}/change/")
    audio = watched.locator("audio.evidence-player")
    expect(audio).to_have_count(1)
    expect(watched.locator("img.evidence-preview[alt=waveform]")).to_have_count(1)
    assert audio.evaluate(PLAYS, 0.5) > 0.5
    src = audio.evaluate("a => a.currentSrc")
    assert src.endswith(f"/evidence/{item.code}/playable") and "/original" not in src
    assert watched.locator("ol.keyframe-strip").count() == 0
    shots(watched.locator(".field-file_preview"), "5-audio-item-page")
    assert violations(watched) == []


def test_the_incident_page_marks_the_video_and_plays_it_in_the_lightbox(
    live_server,
    watched,  # noqa: F811 - the fixture imported above
    researcher,
    clip,
    shots,
):
    base = live_server.url
    incident = clip.incidents.get()
    answers = playable_answers(watched)
    login(watched, base, "researcher")
    watched.goto(f"{base}/incidents/{incident.code}/")
    card = watched.locator(f"#evidence-{clip.code}")
    expect(card.locator(".inc-recording")).to_have_text("▶ video 0:06")
    poster = card.locator(".inc-thumb img")
    assert poster.get_attribute("src") == f"/evidence/{clip.code}/thumbnail"
    watched.wait_for_function(
        f"() => document.querySelector('#evidence-{clip.code} img').naturalWidth > 0"
    )
    shots(card, "3-incident-card")

    card.locator("a[data-preview]").click()
    dialog = watched.locator("dialog.inc-lightbox")
    expect(dialog).to_be_visible()
    video = dialog.locator("video.evidence-player")
    expect(video).to_have_count(1)
    expect(dialog.locator("img").first).to_be_hidden()  # the video shows it as its poster
    assert video.evaluate(PLAYS, 0.5) > 0.5
    src = video.evaluate("v => v.currentSrc")
    assert src == f"{base}/evidence/{clip.code}/playable"
    strip = dialog.locator("ol.keyframe-strip li")
    expect(strip).to_have_count(KEYFRAMES)
    assert strip.locator("span").all_inner_texts()[-1] == "0:05.0"
    watched.wait_for_function(
        "() => [...document.querySelectorAll('dialog ol.keyframe-strip img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    strip.nth(4).locator("a").click()  # plays from the fifth keyframe's time
    watched.wait_for_function("() => document.querySelector('dialog video').currentTime >= 4.0")
    expect(strip.nth(4).locator("a")).to_have_attribute("aria-current", "true")
    video.evaluate("v => { v.pause(); v.currentTime = 4.0; }")
    watched.wait_for_timeout(300)
    shots(watched, "4-incident-lightbox")

    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(dialog.locator("video")).to_have_count(0)  # stopped and let go
    assert not any(url.endswith("/original") for url, _, _ in answers)
    assert violations(watched) == []


def test_the_recordings_pass_axe(
    live_server,
    axe_page,  # noqa: F811 - the fixture imported above
    researcher,
    clip,
):
    """WCAG 2.1 A and AA (test_accessibility_browser.py): the item page with its player
    and strip, the incident page, and its lightbox playing the video."""
    journey = Journey(axe_page, live_server.url)
    journey.login("researcher")
    journey.visit(f"/admin/evidence/evidenceitem/{clip.pk}/change/", clip.code)
    incident = clip.incidents.get()
    journey.visit(f"/incidents/{incident.code}/", "video 0:06")
    axe_page.locator(f"#evidence-{clip.code} a[data-preview]").click()
    expect(axe_page.locator("dialog.inc-lightbox ol.keyframe-strip li")).to_have_count(KEYFRAMES)
    journey.check("incident page, the video's lightbox open")
    journey.assert_accessible()
