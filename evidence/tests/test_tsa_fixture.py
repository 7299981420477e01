"""The loopback RFC 3161 TSA of evidence.tests.tsa: its tokens verify where they should."""

import subprocess
import time

import pytest
import requests
from cryptography.x509 import load_pem_x509_certificate
from rfc3161_client import HashAlgorithm, TimestampRequestBuilder, VerifierBuilder
from rfc3161_client import decode_timestamp_response as decode
from rfc3161_client.errors import VerificationError

from evidence.tests.tsa import OTHER_DATA, QUERY_TYPE, REPLY_TYPE, LocalTSA, make_authority


def stamp(tsa, data=b"hello", timeout=10):
    request = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256).build()
    headers = {"Content-Type": QUERY_TYPE}
    answer = requests.post(tsa.url, data=request.as_bytes(), headers=headers, timeout=timeout)
    return request, answer


def verify(ca, request, content, data=b"hello"):
    root = load_pem_x509_certificate(ca.root_pem)
    verifier = VerifierBuilder().add_root_certificate(root).nonce(request.nonce).build()
    return verifier.verify_message(decode(content), data)


def openssl_verify(ca, content, tmp_path, *options):
    (tmp_path / "hello.txt").write_bytes(b"hello")
    (tmp_path / "resp.tsr").write_bytes(content)
    command = ["openssl", "ts", "-verify", "-data", tmp_path / "hello.txt"]
    command += ["-in", tmp_path / "resp.tsr", "-CAfile", ca.root_pem_path, *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return make_authority(tmp_path_factory.mktemp("tsa") / "ca1")


def test_ok_tokens_verify_with_rfc3161_client_and_openssl(ca, tmp_path):
    with LocalTSA(ca) as tsa:
        request, answer = stamp(tsa)
        again = stamp(tsa)[1]
        assert tsa.requests == 2
    assert answer.status_code == 200 and answer.headers["Content-Type"] == REPLY_TYPE
    assert verify(ca, request, answer.content)
    first, second = (decode(a.content).tst_info for a in (answer, again))
    assert first.serial_number != second.serial_number
    assert "Verification: OK" in openssl_verify(ca, answer.content, tmp_path)


BAD_CERTIFICATES = {  # make_authority() options: what verifiers say, the option that waives it
    "expired": ({"expired": True}, "certificate has expired", ["-no_check_time"]),
    "eku": ({"eku_critical": False}, "unsuitable certificate purpose", ["-purpose", "any"]),
}


@pytest.mark.parametrize("kwargs,reason,waiver", BAD_CERTIFICATES.values(), ids=BAD_CERTIFICATES)
def test_bad_tsa_certificate_is_refused(tmp_path, kwargs, reason, waiver):
    bad = make_authority(tmp_path / "bad", **kwargs)
    with LocalTSA(bad) as tsa:
        request, answer = stamp(tsa)
    with pytest.raises(VerificationError, match=reason):
        verify(bad, request, answer.content)
    assert "Verification: FAILED" in openssl_verify(bad, answer.content, tmp_path)
    # Nothing else is wrong with the token: waive that one check and OpenSSL accepts it.
    assert "Verification: OK" in openssl_verify(bad, answer.content, tmp_path, *waiver)


def test_other_root_and_the_failure_modes(ca, tmp_path):
    with LocalTSA(ca) as tsa:
        request, answer = stamp(tsa)
        with pytest.raises(VerificationError):
            verify(make_authority(tmp_path / "ca2"), request, answer.content)
        tsa.mode = "garbage"
        with pytest.raises(ValueError):
            decode(stamp(tsa)[1].content)
        tsa.mode = "error"
        assert stamp(tsa)[1].status_code == 500
        tsa.mode = "other-digest"
        request, answer = stamp(tsa)
        tsa.mode = "slow"  # tsa.delay is 5 seconds
        with pytest.raises(requests.Timeout):
            stamp(tsa, timeout=0.3)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 1  # the pending slow answer does not hold up exit
    assert verify(ca, request, answer.content, OTHER_DATA)
    with pytest.raises(VerificationError, match="Mismatch between messages"):
        verify(ca, request, answer.content)
