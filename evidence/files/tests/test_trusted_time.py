"""Trusted time: anchors timestamped by real RFC 3161 TSAs on loopback (``openssl ts
-reply`` behind a small HTTP server, ``evidence.tests.tsa``), checked with
``rfc3161-client`` and with ``openssl ts -verify``; each way a TSA can fail is recorded
and tried again, and never loses the anchor."""

from __future__ import annotations

import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.test import override_settings

from evidence import jobs as evidence_jobs
from evidence.files import anchoring, timestamping
from evidence.files.tests.test_custody import ingest_text, raw
from evidence.models import Anchor, AnchorToken
from evidence.tests.tsa import LocalTSA, make_authority, trusting
from tracker import jobs
from tracker.models import Job

pytestmark = pytest.mark.django_db


def openssl_verifies(token: AnchorToken, ca_pem: Path, folder: Path) -> str:
    (folder / "root.txt").write_text(token.anchor.root, encoding="ascii")
    (folder / "token.tsr").write_bytes(bytes(token.response))
    result = subprocess.run(  # noqa: S603 - fixed arguments, our files
        ["openssl", "ts", "-verify", "-data", folder / "root.txt", "-in", folder / "token.tsr",
         "-CAfile", ca_pem],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    return result.stdout + result.stderr


def test_an_anchor_is_timestamped_and_the_token_verifies_two_ways(
    researcher, tsa, authority, tmp_path
):
    ingest_text(researcher)
    with trusting(tsa.url, ca=authority.root_pem_path):
        made = anchoring.anchor()
        assert anchoring.timestamp() == []

    token = made.tokens.get()
    assert token.state == AnchorToken.State.GRANTED and token.tsa_url == tsa.url
    assert "CN=" in token.tsa_name and token.gen_time is not None and token.serial
    assert timestamping.check(
        bytes(token.response), made.root.encode(), [authority_root(authority)]
    )
    assert "Verification: OK" in openssl_verifies(token, authority.root_pem_path, tmp_path)
    # Another root's bytes do not verify under the token (openssl agrees).
    (tmp_path / "root.txt").write_text("f" * 64, encoding="ascii")
    result = subprocess.run(  # noqa: S603
        ["openssl", "ts", "-verify", "-data", tmp_path / "root.txt", "-in", tmp_path / "token.tsr",
         "-CAfile", authority.root_pem_path], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "Verification: OK" not in result.stdout


def authority_root(authority):
    return timestamping.load_pem(authority.root_pem)[0]


def test_several_tsas_each_give_their_token(researcher, authority, stranger, tmp_path):
    ingest_text(researcher)
    both = tmp_path / "roots.pem"
    both.write_bytes(authority.root_pem + stranger.root_pem)
    with LocalTSA(authority) as one, LocalTSA(stranger) as two:  # noqa: SIM117
        with trusting(one.url, two.url, ca=both):  # needs the servers' URLs
            made = anchoring.anchor()
            assert anchoring.timestamp() == []
    assert sorted(made.tokens.values_list("tsa_url", "state")) == sorted(
        [(one.url, "granted"), (two.url, "granted")]
    )


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("garbage", "not a timestamp response"),
        ("error", "HTTP 500"),
        ("slow", "did not answer within 1 s"),
        ("other-digest", "does not verify"),
    ],
)
def test_a_tsa_that_fails_is_recorded_and_the_anchor_kept(researcher, tsa, authority, mode, reason):
    ingest_text(researcher)
    tsa.mode, tsa.delay = mode, 3
    with trusting(tsa.url, ca=authority.root_pem_path, timeout=1):
        made = anchoring.anchor()
        failures = anchoring.timestamp()

    assert len(failures) == 1 and reason in failures[0] and made.code in failures[0]
    token = made.tokens.get()
    assert token.state == AnchorToken.State.FAILED and reason in token.error
    assert token.attempts == 1 and bytes(token.response) == b""
    assert Anchor.objects.filter(pk=made.pk).exists()  # the anchor stays

    tsa.mode = "ok"  # the TSA is back: the next run asks again for what is missing
    with trusting(tsa.url, ca=authority.root_pem_path):
        assert anchoring.timestamp() == []
    token.refresh_from_db()
    assert token.state == AnchorToken.State.GRANTED and token.error == ""
    assert token.attempts == 2


def test_a_token_of_a_tsa_under_another_root_is_refused(researcher, stranger, authority):
    ingest_text(researcher)
    with LocalTSA(stranger) as other, trusting(other.url, ca=authority.root_pem_path):
        made = anchoring.anchor()
        (failure,) = anchoring.timestamp()
    assert "does not verify" in failure
    assert made.tokens.get().state == AnchorToken.State.FAILED


def test_a_tsa_certificate_expired_when_it_signed_is_refused(researcher, tmp_path):
    expired = make_authority(tmp_path / "expired", expired=True)
    ingest_text(researcher)
    with LocalTSA(expired) as server, trusting(server.url, ca=expired.root_pem_path):
        anchoring.anchor()
        (failure,) = anchoring.timestamp()
    assert "does not verify" in failure


def test_a_tsa_nobody_listens_at_is_a_failure_not_an_error(researcher, authority):
    ingest_text(researcher)
    with trusting("http://127.0.0.1:9/tsa", ca=authority.root_pem_path, timeout=2):
        anchoring.anchor()
        (failure,) = anchoring.timestamp()
    assert "could not be reached" in failure


def test_tsas_without_trusted_roots_are_a_clear_failure(researcher, tsa):
    ingest_text(researcher)
    with override_settings(TRACKER_TSA_URLS=[tsa.url], TRACKER_TSA_CA_FILE=""):
        anchoring.anchor()
        assert anchoring.timestamp() == [
            "TRACKER_TSA_URLS is set but TRACKER_TSA_CA_FILE is not: no token can be checked."
        ]
    assert tsa.requests == 0


def test_without_a_tsa_anchors_are_made_and_said_not_timestamped(researcher):
    ingest_text(researcher)
    with override_settings(TRACKER_TSA_URLS=[]):
        message = evidence_jobs.anchor_now()
    made = Anchor.objects.get()
    assert message == f"{made.code}: 1 chain head anchored (no TSA configured: not timestamped)."
    assert made.tokens.count() == 0


# --- The periodic job -------------------------------------------------------------------------


def test_the_clock_starts_the_anchor_job_and_a_failing_tsa_retries_it(researcher, tsa, authority):
    ingest_text(researcher)
    tsa.mode = "error"
    with trusting(tsa.url, ca=authority.root_pem_path):
        jobs.tick()
        job = Job.objects.get(kind=Job.Kind.ANCHOR)
        jobs.run(job.pk)
        job.refresh_from_db()
        assert job.state == Job.State.QUEUED and "HTTP 500" in job.error  # tried again later
        assert Anchor.objects.count() == 1

        tsa.mode = "ok"
        Job.objects.filter(pk=job.pk).update(run_after=None)
        jobs.run(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert job.message == "nothing changed; every anchor timestamped."
    assert AnchorToken.objects.get().state == AnchorToken.State.GRANTED


def test_no_transaction_is_held_while_a_tsa_is_asked(researcher, tsa, authority, monkeypatch):
    """The anchor is committed before any TSA is asked: a slow TSA holds no lock that
    custody events (every view, every download) would wait for."""
    from django.db import connection

    ingest_text(researcher)
    outside = len(connection.atomic_blocks)  # the test's own transaction
    depths = []
    post = timestamping._post
    monkeypatch.setattr(
        timestamping,
        "_post",
        lambda *args: depths.append(len(connection.atomic_blocks)) or post(*args),
    )
    with trusting(tsa.url, ca=authority.root_pem_path):
        anchoring.anchor()
        assert anchoring.timestamp() == []
    assert depths == [outside]


# --- verify_evidence checks the tokens again --------------------------------------------------


def test_a_stored_token_damaged_later_is_reported(researcher, tsa, authority):
    from evidence.files.tests.test_anchoring import verify

    ingest_text(researcher)
    with trusting(tsa.url, ca=authority.root_pem_path):
        made = anchoring.anchor()
        anchoring.timestamp()
    out, error = verify()
    assert error is None, out

    token = made.tokens.get()
    raw("UPDATE evidence_anchortoken SET response = %s WHERE id = %s", [b"\x30\x03junk", token.pk])
    out, error = verify()
    assert error is not None and f"ANCHOR-TOKEN {made.code} {tsa.url}: " in out


# --- Answers no TSA should give ---------------------------------------------------------------


class _Odd(BaseHTTPRequestHandler):
    """A server answering what ``server.answer`` says: huge, trickled or redirected."""

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        answer = self.server.answer  # type: ignore[attr-defined]
        if answer == "redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.end_headers()
        chunks = [b"0" * 65536] * 8 if answer == "huge" else [b"0" * 10] * 40
        for chunk in chunks:
            try:
                self.wfile.write(chunk)
                self.wfile.flush()
            except OSError:
                return
            if answer == "trickle":
                time.sleep(0.1)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("huge", "too large to be a timestamp"),
        ("trickle", "did not answer within 1 s"),  # each read within the timeout, not the whole
        ("redirect", "HTTP 302"),  # never followed
    ],
)
def test_answers_no_tsa_gives_are_failures(researcher, authority, answer, reason):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Odd)
    server.daemon_threads = True
    server.answer = answer  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ingest_text(researcher)
        url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
        with trusting(url, ca=authority.root_pem_path, timeout=1):
            anchoring.anchor()
            (failure,) = anchoring.timestamp()
    finally:
        server.shutdown()
        server.server_close()
    assert reason in failure


def test_a_tsa_certificate_without_a_critical_time_stamping_purpose_is_refused(
    researcher, tmp_path
):
    loose = make_authority(tmp_path / "loose", eku_critical=False)
    ingest_text(researcher)
    with LocalTSA(loose) as server, trusting(server.url, ca=loose.root_pem_path):
        anchoring.anchor()
        (failure,) = anchoring.timestamp()
    assert "does not verify" in failure


def test_a_tsa_url_of_another_scheme_is_a_failure(researcher, authority):
    ingest_text(researcher)
    with trusting("file:///etc/passwd", ca=authority.root_pem_path):
        anchoring.anchor()
        (failure,) = anchoring.timestamp()
    assert "could not be reached" in failure


def test_an_unreadable_ca_file_is_a_clear_failure(researcher, tsa, tmp_path):
    ingest_text(researcher)
    bad = tmp_path / "roots.pem"
    bad.write_text("not a certificate")
    with trusting(tsa.url, ca=bad):
        anchoring.anchor()
        (failure,) = anchoring.timestamp()
    assert failure.startswith("Not a PEM certificate") and tsa.requests == 0
    with trusting(tsa.url, ca=tmp_path / "absent.pem"):
        (failure,) = anchoring.timestamp()
    assert "cannot be read" in failure


# --- Late and missing timestamps, and what a proof holds ---------------------------------------


def test_an_anchor_timestamped_a_day_late_is_reported(researcher, tsa, authority):
    from datetime import timedelta

    ingest_text(researcher)
    with trusting(tsa.url, ca=authority.root_pem_path):
        made = anchoring.anchor()
        Anchor.objects.filter(pk=made.pk).update(made_at=made.made_at - timedelta(days=2))
        assert anchoring.timestamp() == []
        made.refresh_from_db()
        (line,) = anchoring.anchor_problems([made])
    assert line.startswith(f"ANCHOR-LATE {made.code} made ") and f"by {tsa.url}" in line
    Anchor.objects.filter(pk=made.pk).update(made_at=made.made_at + timedelta(days=1, hours=23))
    made.refresh_from_db()
    with trusting(tsa.url, ca=authority.root_pem_path):
        assert anchoring.anchor_problems([made]) == []  # within a day: not late


def test_an_anchor_left_without_a_token_is_reported_after_a_day(researcher, tsa, authority):
    from datetime import timedelta

    ingest_text(researcher)
    made = anchoring.anchor()
    with trusting(tsa.url, ca=authority.root_pem_path):
        soon = made.made_at + timedelta(hours=23)
        assert anchoring.anchor_problems([made], now=soon) == []
        later = made.made_at + timedelta(days=1, seconds=1)
        assert anchoring.anchor_problems([made], now=later) == [
            f"ANCHOR-UNSTAMPED {made.code} made {made.made_at.isoformat()}: no valid token"
        ]
        Anchor.objects.filter(pk=made.pk).update(made_at=made.made_at - timedelta(days=2))
        made.refresh_from_db()
        (line,) = anchoring.anchor_problems([made])  # now, by default
        assert line.startswith(f"ANCHOR-UNSTAMPED {made.code}")
    with override_settings(TRACKER_TSA_URLS=[]):  # no TSA: nothing to wait for
        assert anchoring.anchor_problems([made], now=later) == []


def test_each_failed_token_counts_its_own_attempts(researcher, tsa, authority):
    first = ingest_text(researcher, 1)
    anchoring.anchor()
    from evidence.files import custody
    from evidence.models import CustodyEvent

    custody.record(first, CustodyEvent.Action.VIEWED, actor=researcher)
    anchoring.anchor()
    tsa.mode = "error"
    with trusting(tsa.url, ca=authority.root_pem_path):
        assert len(anchoring.timestamp()) == 2
    assert sorted(AnchorToken.objects.values_list("attempts", flat=True)) == [1, 1]
    asked = {t.pk: t.asked_at for t in AnchorToken.objects.all()}
    with trusting(tsa.url, ca=authority.root_pem_path):
        anchoring.timestamp()
    assert sorted(AnchorToken.objects.values_list("attempts", flat=True)) == [2, 2]
    assert all(t.asked_at > asked[t.pk] for t in AnchorToken.objects.all())


def test_a_proof_holds_the_anchor_and_each_timestamp(researcher, tsa, authority):
    item = ingest_text(researcher)
    with trusting(tsa.url, ca=authority.root_pem_path):
        made = anchoring.anchor()
        anchoring.timestamp()
    token = made.tokens.get()
    found = anchoring.proof(item)
    assert set(found) == {
        "item", "anchor", "anchored_at", "sequence", "head_hash", "leaf", "index", "size",
        "path", "root", "previous_root", "timestamps", "method",
    }  # fmt: skip
    assert found["anchored_at"] == made.made_at.isoformat() and found["previous_root"] == ""
    assert found["timestamps"] == [
        {
            "tsa": tsa.url,
            "signed_by": token.tsa_name,
            "time": token.gen_time.isoformat(),
            "serial": token.serial,
        }
    ]
    assert found["method"] == anchoring.PROOF_METHOD
