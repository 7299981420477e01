"""A capture by link against hostile pages, each through the whole job (``capture_later``,
the job run on commit): pages that never finish loading, never stop running JavaScript,
open pop-ups, start downloads, ask for 10,000 things or a 2 GB video, lie about their
content type, send the browser to the metadata address, redirect forever; a URL with a
password in it and one with a Unicode host. Every capture ends, within its time and
limits, keeps what it could and says what it could not.

(The gallery's iframe to 169.254.169.254, refused as a sub-request, and the HTTP
redirects to the metadata address and to file:, which fail the job, are asserted in
test_capturing.)"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import socket
import sys
import time
import uuid
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.management import call_command
from warcio.archiveiterator import ArchiveIterator

from evidence.capture import browser, fetching
from evidence.capture.tests import site
from evidence.capture.tests.test_capturing import held, replayed
from evidence.models import CapturePart, EvidenceItem, WebCapture
from tracker.models import Job

pytestmark = pytest.mark.django_db

SECONDS = 10  # the capture's time in these tests (TRACKER_CAPTURE_SECONDS)
# What a job may take beyond the capture's time: closing Chromium, packaging, storing.
AFTER_CAPTURE = 6


@pytest.fixture
def short(settings):
    """A capture's time short enough to wait for in a test; the other tests keep the
    default (a page that ends its load early must not depend on a loaded machine)."""
    settings.TRACKER_CAPTURE_SECONDS = SECONDS


def took(job: Job) -> float:
    return (job.finished_at - job.started_at).total_seconds()


def paths_received() -> list[str]:
    return [path for method, path, headers in site.received]


def recorded(wacz: bytes) -> list[str]:
    """The addresses of the WARC records in a WACZ."""
    with zipfile.ZipFile(io.BytesIO(wacz)) as archive:
        warc = archive.read("archive/capture.warc.gz")
    return [
        record.rec_headers.get_header("WARC-Target-URI")
        for record in ArchiveIterator(io.BytesIO(warc))
    ]


def parts_of(seen: WebCapture) -> dict[str, list[CapturePart]]:
    roles: dict[str, list[CapturePart]] = defaultdict(list)
    for part in seen.parts.select_related("item"):
        roles[part.role].append(part)
    return roles


# --- processes -----------------------------------------------------------------------


def _process_table() -> dict[int, tuple[int, str, str]]:
    """Every process now: pid -> (parent pid, state, start time); a pid with its start
    time names one process, whatever reuses the number later."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (name)": state, ppid, ...
        table[int(entry.name)] = (int(fields[1]), fields[0], fields[19])
    return table


def _started_here(mark: str) -> dict[tuple[int, str], str]:
    """The processes this test started, now: those that carry ``mark`` in their
    environment (Chromium's crash handler detaches itself) and every process below them
    or below this one (Playwright's driver, Chromium and the processes it forks), each
    with its executable."""
    table = _process_table()
    children = defaultdict(list)
    for pid, (parent, _, _) in table.items():
        children[parent].append(pid)
    found = set()
    for pid in table:
        try:
            if mark.encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                found.add(pid)
        except OSError:
            continue
    todo = [os.getpid(), *found]
    while todo:
        for child in children[todo.pop()]:
            found.add(child)
            todo.append(child)
    started = {}
    for pid in found:
        try:
            started[(pid, table[pid][2])] = os.readlink(f"/proc/{pid}/exe")
        except OSError:  # gone, or a zombie
            continue
    return started


def _still_running(processes) -> set[tuple[int, str]]:
    """Those of ``processes`` still running: the same pid and start time, and not a
    zombie (exited, waiting for its parent) or dead."""
    table = _process_table()
    return {
        (pid, start)
        for pid, start in processes
        if pid in table and table[pid][2] == start and table[pid][1] not in ("Z", "X")
    }


# --- the hostile pages ---------------------------------------------------------------


@pytest.mark.usefixtures("short")
def test_a_page_that_never_finishes_loading_is_kept_as_far_as_it_came(server, captured):
    job = captured(f"{server}/never-loads")
    assert job.state == Job.State.DONE, job.error
    assert took(job) < SECONDS + AFTER_CAPTURE
    assert "/trickle.jpg" in paths_received()  # the image that never ends was asked for
    seen = WebCapture.objects.get()
    assert (seen.final_url, seen.http_status) == (f"{server}/never-loads", 200)
    assert seen.page_title == "Never loads" and seen.text == "Still loading"
    assert "the page did not finish loading" in seen.not_made
    assert seen.item.media_type == "application/wacz"
    assert replayed(held(seen.item), f"{server}/never-loads") == site.HOSTILE["/never-loads"]
    assert len(parts_of(seen)["screenshot"]) == 1


@pytest.mark.usefixtures("short")
def test_javascript_that_never_stops_leaves_a_capture_and_no_chromium_running(
    server, captured, monkeypatch
):
    mark = f"TRACKER_TEST_CAPTURE={uuid.uuid4().hex}"
    monkeypatch.setenv(*mark.split("="))  # inherited by the driver and Chromium
    during: dict[tuple[int, str], str] = {}
    steps = browser._Session._steps

    async def steps_then_look(session):
        await steps(session)
        during.update(_started_here(mark))  # Chromium is still open here

    monkeypatch.setattr(browser._Session, "_steps", steps_then_look)
    job = captured(f"{server}/endless-js")
    assert job.state == Job.State.DONE, job.error
    # Within the capture's time; or, when the busy page keeps the browser from answering
    # at all (seen once in a CI run: 40 s), killed at the capture's time and GRACE, as
    # promised (browser.load): either way bounded, with what was fetched kept.
    assert took(job) < SECONDS + browser.GRACE + AFTER_CAPTURE
    seen = WebCapture.objects.get()
    assert seen.item.media_type == "application/wacz"
    assert replayed(held(seen.item), f"{server}/endless-js") == site.HOSTILE["/endless-js"]
    assert "screenshot" in seen.not_made and "PDF" in seen.not_made
    assert not parts_of(seen)["screenshot"] and not parts_of(seen)["pdf"]
    # What was running while the page was captured is gone now (or a zombie). Chromium
    # itself may already have died of the page (in two CI runs only its crash handlers
    # were left by then, and the capture ended at its time and GRACE): its processes,
    # whichever were there, must all be gone.
    assert any(Path(exe).name.startswith("chrom") for exe in during.values()), during
    deadline = time.monotonic() + 10
    while (left := _still_running(during)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, {process: during[process] for process in left}


def test_pop_ups_are_closed_and_their_requests_refused(server, captured):
    job = captured(f"{server}/popups")
    assert job.state == Job.State.DONE, job.error
    seen = WebCapture.objects.get()
    assert seen.page_title == "Pop-ups" and seen.final_url == f"{server}/popups"
    popups = {url: why for url, why in seen.refused if "popup=" in url}
    assert popups and set(popups.values()) == {"asked for by a pop-up or a worker"}
    assert set(popups) <= {f"{server}/gallery?popup={n}" for n in range(20)}
    assert [why for url, why in seen.refused].count("a pop-up: closed") == 20
    assert paths_received() == ["/popups"]  # not one pop-up's request reached the server
    assert len(parts_of(seen)["screenshot"]) == 1
    assert EvidenceItem.objects.filter(title__startswith="screenshot").count() == 1


@pytest.mark.parametrize(
    ("path", "seconds"),
    [
        ("/downloads", 180),  # a download link clicked, then one gone to after load
        ("/downloads-at-once", 180),  # gone to while the page loads
    ],
)
def test_automatic_downloads_are_refused_and_not_kept_apart(
    server, captured, settings, path, seconds
):
    settings.TRACKER_CAPTURE_SECONDS = seconds
    job = captured(f"{server}{path}")
    assert job.state == Job.State.DONE, job.error
    seen = WebCapture.objects.get()
    # The page captured is the page asked for, not the download it sent the browser to.
    assert (seen.final_url, seen.page_title) == (f"{server}{path}", "Downloads")
    assert job.message.startswith(f"{seen.item.code}: captured {server}{path} (200, ")
    assert not any("attachment" in value for name, value in seen.http_headers)
    assert {part.role for part in seen.parts.all()} == {"screenshot", "pdf"}
    assert sorted(EvidenceItem.objects.values_list("media_type", flat=True)) == [
        "application/pdf",
        "application/wacz",
        "image/png",
    ]
    for where in (settings.DATA_DIR, Path.cwd(), Path.home() / "Downloads"):
        saved = [  # (the checkout's own virtualenv holds a package's payloads.py)
            found
            for found in where.rglob("*")
            if "payload" in found.name and not found.is_relative_to(sys.prefix)
        ]
        assert not saved, saved


@pytest.mark.usefixtures("short")
def test_ten_thousand_sub_resources_stop_at_the_cap(server, captured, settings):
    settings.TRACKER_CAPTURE_MAX_REQUESTS = 300
    job = captured(f"{server}/many")
    assert job.state == Job.State.DONE, job.error
    assert took(job) < SECONDS + AFTER_CAPTURE
    seen = WebCapture.objects.get()
    assert 0 < seen.requests <= 300 and len(site.received) <= 300
    capped = [url for url, why in seen.refused if why.startswith("more than 300 requests")]
    assert capped and all(url.startswith(f"{server}/n/") for url in capped)
    assert replayed(held(seen.item), f"{server}/many") == site.HOSTILE["/many"]


@pytest.mark.usefixtures("short")
def test_a_2_gb_video_is_refused_and_the_rest_of_the_page_kept(server, captured, settings):
    settings.TRACKER_CAPTURE_MAX_MB = 8
    job = captured(f"{server}/huge")
    assert job.state == Job.State.DONE, job.error
    assert took(job) < SECONDS + AFTER_CAPTURE
    seen = WebCapture.objects.get()
    refused = {why for url, why in seen.refused if url == f"{server}/huge.mp4"}
    assert refused == {"The capture is larger than 8,388,608 bytes: not kept."}
    media = {part.url: part.item for part in parts_of(seen)["media"]}
    assert set(media) == {f"{server}/red.jpg"}, (seen.not_made, seen.refused, site.received)
    assert media[f"{server}/red.jpg"].kind == "photo"
    assert held(media[f"{server}/red.jpg"]) == site.picture("red")
    assert not EvidenceItem.objects.filter(kind="video").exists()
    assert f"{server}/huge.mp4: not fetched" in seen.not_made


def test_content_types_that_lie_make_no_photo_or_video(server, captured):
    job = captured(f"{server}/lying")
    assert job.state == Job.State.DONE, job.error
    seen = WebCapture.objects.get()
    assert {"/not-a-photo.jpg", "/not-a-video.mp4"} <= set(paths_received())
    assert not EvidenceItem.objects.filter(kind__in=["photo", "video", "audio"]).exists()
    assert not parts_of(seen)["media"]
    assert (
        f"{server}/not-a-video.mp4: not an image, video or audio file (served as video/mp4)"
        in seen.not_made
    )


def test_the_page_sending_the_browser_to_the_metadata_address_is_kept(server, captured, settings):
    # Its script goes there while it loads; the page is complete all the same.
    job = captured(f"{server}/to-metadata-later")
    assert job.state == Job.State.DONE, job.error
    seen = WebCapture.objects.get()
    assert [why for url, why in seen.refused if "169.254.169.254" in url] == [
        "The host 169.254.169.254 is on a private or local network: not captured."
    ]
    # What is kept is the page itself, not the browser's error page for the refused one.
    assert (seen.final_url, seen.http_status) == (f"{server}/to-metadata-later", 200)
    assert (seen.page_title, seen.text) == ("Later", "Later")
    assert len(parts_of(seen)["screenshot"]) == 1
    wacz = held(seen.item)
    assert replayed(wacz, f"{server}/to-metadata-later") == site.HOSTILE["/to-metadata-later"]
    assert not [uri for uri in recorded(wacz) if "169.254.169.254" in uri]  # never asked


def test_an_endless_redirect_loop_fails_the_job_and_stores_nothing(server, captured):
    job = captured(f"{server}/loop")
    assert job.state == Job.State.FAILED
    assert job.error == f"more than {fetching.MAX_REDIRECTS} redirects"
    assert paths_received() == ["/loop"] * (fetching.MAX_REDIRECTS + 1)
    assert not EvidenceItem.objects.exists() and not WebCapture.objects.exists()


def test_a_password_in_the_url_is_never_sent_nor_kept(server, captured, settings, caplog):
    password = "s3cret-" + uuid.uuid4().hex[:8]
    caplog.set_level(logging.DEBUG)
    job = captured(server.replace("http://", f"http://witness7:{password}@") + "/page")
    assert job.state == Job.State.DONE, job.error
    seen = WebCapture.objects.get()
    assert seen.url == seen.final_url == f"{server}/page" and seen.page_title
    # Not in the job, not in any row of the database, not in the log.
    assert job.arguments["url"] == f"{server}/page"
    out = io.StringIO()
    call_command("dumpdata", exclude=["django_rq"], stdout=out)
    assert seen.url in out.getvalue()  # the dump holds the capture...
    for text in (out.getvalue(), caplog.text, json.dumps(job.arguments), job.message):
        assert password not in text and "witness7" not in text  # ...and not the password
    # Not in any file stored: the WACZ (and what it packs, unpacked), screenshot, PDF.
    stored = [path for path in settings.DATA_DIR.rglob("*") if path.is_file()]
    assert any(path.read_bytes() == held(seen.item) for path in stored)
    for path in stored:
        assert password.encode() not in path.read_bytes(), path
    with zipfile.ZipFile(io.BytesIO(held(seen.item))) as archive:
        for name in archive.namelist():
            content = archive.read(name)
            if name.endswith(".gz"):
                content = gzip.decompress(content)
            assert password.encode() not in content and b"witness7" not in content, name
    # Not sent: no credentials in what the server received.
    assert paths_received() == ["/page"]
    (_, path, headers) = site.received[0]
    assert not {"authorization", "cookie"} & {name.lower() for name in headers}
    assert password not in path + json.dumps(headers)


def test_a_unicode_host_is_queued_by_its_punycode_and_fails_to_resolve(captured, monkeypatch):
    punycode = "xn--e1afmkfd.xn--80akhbyknj4f"
    asked = []
    resolver = socket.getaddrinfo

    def offline(host, *args, **kwargs):  # no network: this name resolves nowhere
        asked.append(host)
        if host == punycode:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return resolver(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", offline)
    job = captured("http://пример.испытание/")
    assert job.arguments["url"] == f"http://{punycode}/"
    assert job.state == Job.State.FAILED
    assert job.error == f"The host {punycode} cannot be found."
    assert asked == [punycode]
    assert not EvidenceItem.objects.exists() and not WebCapture.objects.exists()


@pytest.mark.usefixtures("short")
def test_a_browser_that_stops_answering_is_killed_and_the_capture_kept(
    server, captured, monkeypatch, caplog
):
    """Whatever holds the browser (here a call into the page that never returns, which
    no step's time bounds), the job ends past the capture's time and GRACE: the driver
    and Chromium are killed, and what was fetched is kept."""
    monkeypatch.setattr(browser, "GRACE", 3.0)
    mark = f"TRACKER_TEST_CAPTURE={uuid.uuid4().hex}"
    monkeypatch.setenv(*mark.split("="))
    during: dict[tuple[int, str], str] = {}

    async def never_answers(session):
        await session.page.goto(session.loaded.url)
        session.loaded.final_url, session.loaded.status = session.loaded.url, 200
        during.update(_started_here(mark))
        await session.page.evaluate("() => new Promise(() => {})")  # never settles

    monkeypatch.setattr(browser._Session, "_steps", never_answers)
    job = captured(f"{server}/gallery")
    assert job.state == Job.State.DONE, job.error
    # Not killed before the capture's time and the grace were over, nor long after.
    assert SECONDS + browser.GRACE - 1 < took(job) < SECONDS + 2 * browser.GRACE + AFTER_CAPTURE
    seen = WebCapture.objects.get()
    assert "the browser stopped answering: stopped" in seen.not_made
    said = [r.getMessage() for r in caplog.records if "stopped answering" in r.getMessage()]
    assert len(said) == 1 and int(said[0].split("; ")[1].split()[0]) >= 2  # driver, Chromium
    assert "its tasks wait at" in said[0] and "never_answers" in said[0]
    assert replayed(held(seen.item), f"{server}/gallery") == site.GALLERY
    assert any(Path(exe).name == "chromium" for exe in during.values()), during
    deadline = time.monotonic() + 10
    while (left := _still_running(during)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, {process: during[process] for process in left}
