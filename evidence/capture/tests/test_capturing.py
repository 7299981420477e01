"""A capture by link end to end, against the test's own loopback web (``site``): asked
for by the ``capture`` command, the admin's page or ``capture_later``, made by the job
in Chromium, kept as a WACZ ``web_capture`` item with its screenshot, PDF and media as
items of their own; refused addresses fail the job with the reason."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import zipfile

import pytest
from django.core.management import CommandError, call_command
from warcio.archiveiterator import ArchiveIterator

from evidence.capture import capturing
from evidence.capture.tests import site
from evidence.capture.tests.test_fetching import PAGE
from evidence.files import storage
from evidence.models import CapturePart, CustodyEvent, EvidenceItem, WebCapture
from tracker.models import Job

pytestmark = pytest.mark.django_db


def held(item: EvidenceItem) -> bytes:
    return storage.path_of(item.original_path).read_bytes()


def replayed(wacz: bytes, url: str) -> bytes:
    """What a replay tool serves for ``url``: the index's entry, then that record."""
    with zipfile.ZipFile(io.BytesIO(wacz)) as archive:
        index = gzip.decompress(archive.read("indexes/index.cdx.gz")).decode().splitlines()
        for line in index:
            key, stamp, fields = line.split(" ", 2)
            entry = json.loads(fields)
            if entry["url"] == url and entry.get("status") == "200":
                warc = archive.read(f"archive/{entry['filename']}")
                start = int(entry["offset"])
                record = warc[start : start + int(entry["length"])]
                return next(ArchiveIterator(io.BytesIO(record))).content_stream().read()
    raise AssertionError(f"{url} is not in the archive's index")


def validates(wacz: bytes, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "capture.wacz"
    path.write_bytes(wacz)
    command = [sys.executable, "-m", "wacz", "validate", "-f", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_page_is_kept_as_a_wacz_with_its_screenshot_pdf_and_media(
    server, captured, incident, tmp_path
):
    job = captured(f"{server}/gallery", incident)
    assert job.state == Job.State.DONE, job.error
    seen = WebCapture.objects.get()
    item = seen.item
    assert job.message.startswith(f"{item.code}: captured {server}/gallery (200, ")
    assert item.media_type == "application/wacz" and item.kind == "web_capture"
    assert (seen.url, seen.final_url, seen.http_status) == (
        f"{server}/gallery",
        f"{server}/gallery",
        200,
    )
    assert seen.page_title == "SAMPLE: strike on the market"
    assert "three strikes at dawn" in seen.text and seen.differs is None
    assert seen.tools["chromium"] and seen.tools["wacz"] == "0.6.0"
    assert [why for url, why in seen.refused if "169.254.169.254" in url] == [
        "The host 169.254.169.254 is on a private or local network: not captured."
    ]
    parts = {(p.role, p.url): p.item for p in seen.parts.select_related("item")}
    assert parts[("screenshot", f"{server}/gallery")].media_type == "image/png"
    assert parts[("pdf", f"{server}/gallery")].media_type == "application/pdf"
    media = {url: part for (role, url), part in parts.items() if role == "media"}
    assert set(media) == {
        f"{server}/red.jpg",
        f"{server}/blue.jpg",
        f"{server}/moved-image",  # as the page names it: a redirect to /yellow.jpg
        f"{server}/clip.mp4",
    }  # not the 32-pixel icon
    assert held(media[f"{server}/red.jpg"]) == site.picture("red")
    assert held(media[f"{server}/moved-image"]) == site.picture("yellow")
    assert media[f"{server}/clip.mp4"].kind == "video"
    assert held(media[f"{server}/clip.mp4"]) == site.clip()
    assert {p.source_url for p in media.values()} == set(media)
    for part in [item, *parts.values()]:
        assert list(part.incidents.all()) == [incident]
        actions = list(part.custody_events.values_list("action", flat=True))
        assert actions[:2] == [CustodyEvent.Action.ACQUIRED, CustodyEvent.Action.RECEIVED]
    wacz = held(item)
    assert replayed(wacz, f"{server}/gallery") == site.GALLERY
    assert replayed(wacz, f"{server}/red.jpg") == site.picture("red")
    checked = validates(wacz, tmp_path)
    assert checked.returncode == 0 and "valid" in checked.stdout, checked.stdout + checked.stderr
    with zipfile.ZipFile(io.BytesIO(wacz)) as archive:
        pages = archive.read("pages/pages.jsonl").decode().splitlines()
        warc = archive.read("archive/capture.warc.gz")
    assert json.loads(pages[1])["title"] == "SAMPLE: strike on the market"
    posted = [
        r.content_stream().read()
        for r in ArchiveIterator(io.BytesIO(warc))
        if r.rec_type == "request" and r.http_headers.protocol.startswith("POST")
    ]
    assert posted == [b"post=1"]


def test_a_redirected_page_is_kept_at_the_address_reached(server, captured):
    job = captured(f"{server}/moved")
    assert job.state == Job.State.DONE, job.error
    seen = WebCapture.objects.get()
    assert (seen.url, seen.final_url, seen.redirects) == (
        f"{server}/moved",
        f"{server}/page",
        [[302, f"{server}/page"]],
    )
    assert seen.page_title == "SAMPLE statement" and seen.text == "Strike at dawn."
    assert replayed(held(seen.item), f"{server}/page") == PAGE


def test_capturing_again_makes_a_new_capture_and_says_whether_it_changed(server, captured):
    for _ in range(2):
        assert captured(f"{server}/changing").state == Job.State.DONE
        assert captured(f"{server}/same").state == Job.State.DONE
    changing = WebCapture.objects.filter(url=f"{server}/changing").order_by("captured_at")
    same = WebCapture.objects.filter(url=f"{server}/same").order_by("captured_at")
    assert [c.differs for c in changing] == [None, True]
    assert [c.differs for c in same] == [None, False]
    assert len({c.item_id for c in [*changing, *same]}) == 4


def test_without_chromium_the_plain_exchange_is_kept_and_says_so(
    server, captured, settings, tmp_path
):
    settings.TRACKER_CHROMIUM = str(tmp_path / "no-chromium")
    job = captured(f"{server}/gallery")
    assert job.state == Job.State.DONE, job.error
    seen = WebCapture.objects.get()
    assert "screenshot, PDF, visible text, media" in seen.not_made
    assert "Chromium is not installed" in seen.not_made and not seen.parts.exists()
    assert seen.page_title == "SAMPLE: strike on the market" and "chromium" not in seen.tools
    assert replayed(held(seen.item), f"{server}/gallery") == site.GALLERY
    assert validates(held(seen.item), tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("path", "said"),
    [("/to-metadata", "private or local network"), ("/to-file", "Only http and https")],
)
def test_a_refused_redirect_fails_the_job_and_stores_nothing(
    server, researcher, django_capture_on_commit_callbacks, path, said
):
    with django_capture_on_commit_callbacks(execute=True):
        job = capturing.capture_later(f"{server}{path}", by=researcher)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and said in job.error
    assert not EvidenceItem.objects.exists()


def test_the_command_queues_and_refuses_one_line_per_url(
    server, researcher, incident, django_capture_on_commit_callbacks
):
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError) as failed:
        call_command(
            "capture",
            "--user",
            researcher.username,
            "--incident",
            incident.code,
            f"{server}/page",
            "file:///etc/passwd",
            stdout=out,
        )
    lines = out.getvalue().splitlines()
    job = Job.objects.get(kind="capture")
    assert lines == [
        f"QUEUED {server}/page job {job.pk}",
        "REFUSED file:///etc/passwd: Only http and https addresses are captured, not file.",
    ]
    assert "1 of 2 URLs refused" in str(failed.value)
    job.refresh_from_db()
    assert job.state == Job.State.DONE and WebCapture.objects.get().item.kind == "web_capture"


def test_the_command_refuses_an_incident_the_user_may_not_see(researcher):
    with pytest.raises(CommandError, match="No incident with code"):
        call_command(
            "capture", "--user", researcher.username, "--incident", "INC-9999", "http://x.org/"
        )


def test_the_admin_page_asks_for_each_link_and_refuses_the_rest(
    client, server, researcher, incident, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    client.force_login(researcher)
    listing = client.get(reverse("admin:evidence_evidenceitem_changelist")).content.decode()
    assert f'href="{reverse("capture")}"' in listing
    page = client.get(reverse("capture") + f"?incident={incident.code}")
    assert page.status_code == 200 and f'value="{incident.pk}" selected' in page.content.decode()
    links = f"{server}/page\n\n  javascript:alert(1)  \n{server}/moved\n"
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("capture"), {"urls": links, "incident": incident.pk})
    assert answer.status_code == 302 and answer["Location"] == reverse(
        "admin:tracker_job_changelist"
    )
    said = [str(m) for m in answer.wsgi_request._messages]
    refused = "Refused javascript:alert(1): Only http and https addresses are captured"
    assert said[1] == f"{refused}, not javascript."
    assert WebCapture.objects.count() == 2
    assert {item.incidents.get() for item in EvidenceItem.objects.all()} == {incident}
    assert CapturePart.objects.filter(role="screenshot").count() == 2


def test_the_admin_page_refuses_nonsense_and_strangers(client, researcher, other_researcher, db):
    from django.contrib.auth.models import User
    from django.urls import reverse

    client.force_login(researcher)
    for urls in ("", "   \n  ", "\n".join(f"https://e.org/{n}" for n in range(51))):
        answer = client.post(reverse("capture"), {"urls": urls})
        assert answer.status_code == 200 and b"errorlist" in answer.content
    assert not Job.objects.exists()
    outsider = User.objects.create_user("outsider", password="x" * 20, is_staff=True)
    client.force_login(outsider)
    assert client.get(reverse("capture")).status_code == 403
