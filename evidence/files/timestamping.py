"""RFC 3161 timestamps: ask a Time-Stamping Authority to sign "this message existed now",
and check such a token later, offline (``rfc3161-client``).

``ask`` posts a request (SHA-256 of the message, a fresh nonce, the TSA's certificate
asked for) and accepts the answer only once it verifies: granted, signed by a
certificate with the time-stamping purpose that chains to one of the trusted roots
(``TRACKER_TSA_CA_FILE``) and was valid at the time it signed, for this message and
this nonce. ``check`` verifies a stored token again (``verify_evidence``, ``verify_bag``).
Every failure is a ``TimestampError`` whose message says what was wrong, in words.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MOST_BYTES = 256 * 1024  # a token is a few kilobytes; more is not a token


class TimestampError(Exception):
    """No valid timestamp: the message says why."""


@dataclass(frozen=True)
class Token:
    response: bytes  # the TSA's whole answer, DER, as received
    gen_time: datetime
    tsa_name: str  # the signing certificate's subject
    serial: str
    certificates: str  # PEM: the certificates the answer carries
    root_certificate: str  # PEM: the trusted root it verified under


def load_roots(path: str | Path) -> list[x509.Certificate]:
    try:
        return load_pem(Path(path).read_bytes())
    except OSError as exc:
        raise TimestampError(f"The trusted TSA roots in {path} cannot be read: {exc}") from exc


def load_pem(pem: str | bytes) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem.encode() if isinstance(pem, str) else pem)
    except ValueError as exc:
        raise TimestampError(f"Not a PEM certificate: {exc}") from None


def ask(url: str, message: bytes, roots: list[x509.Certificate], *, timeout: float) -> Token:
    """A verified timestamp of ``message`` from the TSA at ``url``, within ``timeout``
    seconds in all (connecting, waiting and reading)."""
    request = (
        TimestampRequestBuilder()
        .data(message)
        .hash_algorithm(HashAlgorithm.SHA256)
        .cert_request(cert_request=True)
        .build()
    )
    body = _post(url, request.as_bytes(), timeout)
    return check(body, message, roots, nonce=request.nonce)


def _post(url: str, query: bytes, timeout: float) -> bytes:
    """POST ``query`` to ``url`` and read the answer, all within ``timeout`` seconds: a
    timer shuts the connection at the deadline, however slowly a TSA sends its headers or
    body. Only http and https; no redirect is followed; a direct connection."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TimestampError("The TSA could not be reached: only http(s) URLs are asked.")
    kind = HTTPSConnection if parts.scheme == "https" else HTTPConnection
    try:
        port = parts.port
    except ValueError:
        raise TimestampError("The TSA could not be reached: its URL has a bad port.") from None
    connection = kind(parts.hostname, port, timeout=timeout)
    expired = threading.Event()
    started = time.monotonic()
    body = b""
    try:
        connection.connect()  # within the timeout; the timer covers the rest
    except OSError as exc:
        connection.close()
        raise TimestampError(f"The TSA could not be reached: {type(exc).__name__}.") from None
    # The socket itself: http.client lets go of it once a response that closes begins.
    remaining = max(0.0, timeout - (time.monotonic() - started))
    deadline = threading.Timer(remaining, _shut, [connection.sock, expired])
    deadline.start()
    try:
        target = parts.path or "/"
        connection.request(
            "POST",
            target + (f"?{parts.query}" if parts.query else ""),
            body=query,
            headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE},
        )
        answer = connection.getresponse()
        if answer.status != 200:
            raise TimestampError(f"The TSA answered HTTP {answer.status}.")
        while chunk := answer.read1(8192):
            body += chunk
            if len(body) > MOST_BYTES:
                raise TimestampError("The TSA's answer is too large to be a timestamp.")
    except (OSError, HTTPException) as exc:
        if expired.is_set():
            raise TimestampError(f"The TSA did not answer within {timeout:g} s.") from None
        raise TimestampError(f"The TSA could not be reached: {type(exc).__name__}.") from None
    finally:
        deadline.cancel()
        connection.close()
    if expired.is_set():  # the answer was cut short at the deadline
        raise TimestampError(f"The TSA did not answer within {timeout:g} s.")
    return body


def _shut(sock: socket.socket, expired: threading.Event) -> None:
    """The deadline: whatever the connection is waiting for ends now."""
    expired.set()
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def check(
    response: bytes, message: bytes, roots: list[x509.Certificate], *, nonce: int | None = None
) -> Token:
    """``response`` verified as a timestamp of ``message`` under one of ``roots``."""
    try:
        answer = decode_timestamp_response(response)
    except (ValueError, TypeError) as exc:
        raise TimestampError(f"The answer is not a timestamp response ({exc}).") from None
    if answer.status != 0:  # granted (rfc3161-client refuses "with modifications" too)
        said = "; ".join(answer.status_string) or "no reason given"
        raise TimestampError(f"The TSA refused (status {answer.status}: {said}).")
    if not roots:
        raise TimestampError("No trusted TSA root to verify the timestamp against.")
    reasons = []
    for root in roots:
        builder = VerifierBuilder().add_root_certificate(root)
        if nonce is not None:
            builder = builder.nonce(nonce)
        try:
            builder.build().verify_message(answer, message)
        except (VerificationError, ValueError) as exc:
            reasons.append(str(exc))
            continue
        return _token(response, answer, root)
    raise TimestampError(f"The timestamp does not verify: {reasons[0]}")


def _token(response: bytes, answer, root: x509.Certificate) -> Token:
    carried = [x509.load_der_x509_certificate(der) for der in answer.signed_data.certificates]
    signer = next(iter(answer.signed_data.signer_infos))
    signed_by = next(
        (
            c
            for c in carried
            if c.issuer == signer.issuer and c.serial_number == signer.serial_number
        ),
        None,
    )
    return Token(
        response=response,
        gen_time=answer.tst_info.gen_time.astimezone(UTC),
        tsa_name=signed_by.subject.rfc4514_string() if signed_by else "",
        serial=str(answer.tst_info.serial_number),
        certificates="".join(_pem(c) for c in carried),
        root_certificate=_pem(root),
    )


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(Encoding.PEM).decode("ascii")
