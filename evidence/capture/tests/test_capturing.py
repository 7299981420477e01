"""A capture by link end to end, against the test's own loopback server: asked for by the
``capture`` command or ``capture_later``, made by the job, kept as a ``web_capture`` item
with its WARC and what the capture saw; refused addresses fail the job with the reason."""

from __future__ import annotations

import io
import threading

import pytest
from django.core.management import CommandError, call_command
from warcio.archiveiterator import ArchiveIterator

from evidence.capture import capturing
from evidence.capture.tests.test_fetching import PAGE, Pages
from evidence.files import storage
from evidence.models import CustodyEvent, EvidenceItem, WebCapture
from tracker.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident():
    from datetime import UTC, datetime

    from tracker.models import Incident

    return Incident.objects.create(
        title="Airstrike on the market", occurred_start=datetime(2019, 5, 5, 7, 30, tzinfo=UTC)
    )


@pytest.fixture
def server(settings):
    from http.server import ThreadingHTTPServer

    settings.TRACKER_CAPTURE_ALLOW_PRIVATE = True
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_page_becomes_a_web_capture_item_with_its_warc(
    server, researcher, incident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = capturing.capture_later(f"{server}/moved", by=researcher, incident=incident)
    job.refresh_from_db()
    assert job.state == Job.State.DONE, job.error
    item = EvidenceItem.objects.get(kind="web_capture")
    assert job.message == f"{item.code}: captured {server}/page (200, {len(PAGE)} bytes)."
    assert item.media_type == "application/warc" and list(item.incidents.all()) == [incident]
    seen = WebCapture.objects.get(item=item)
    assert (seen.url, seen.final_url, seen.http_status) == (
        f"{server}/moved",
        f"{server}/page",
        200,
    )
    assert seen.page_title == "SAMPLE statement" and seen.redirects == [[302, f"{server}/page"]]
    assert seen.tools["warcio"] and "WACZ" in seen.not_made
    with storage.path_of(item.original_path).open("rb") as stream:
        payloads = [r.content_stream().read() for r in ArchiveIterator(stream)]
    assert payloads[-1] == PAGE
    actions = list(item.custody_events.values_list("action", flat=True))
    assert actions[:2] == [CustodyEvent.Action.ACQUIRED, CustodyEvent.Action.RECEIVED]


def test_capturing_again_makes_a_new_capture(
    server, researcher, django_capture_on_commit_callbacks
):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            capturing.capture_later(f"{server}/page", by=researcher)
    assert WebCapture.objects.filter(url=f"{server}/page").count() == 2


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
    assert job.state == Job.State.DONE and EvidenceItem.objects.get().kind == "web_capture"


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
