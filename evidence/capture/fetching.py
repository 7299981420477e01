"""A URL fetched for a capture, safely, and recorded as WARC records (``warcio``).

A capture fetches what a stranger names, from the server that holds the evidence: the
server's network must not be reachable through it (SSRF). So:

- only ``http`` and ``https``; a URL's user name and password are dropped (never sent,
  never stored);
- the host is resolved here and every address it resolves to must be public
  (``ipaddress.is_global``): not loopback, private, link-local (cloud metadata at
  169.254.169.254), multicast, reserved or unspecified; the connection goes to the
  address checked (the name is not resolved again: no DNS rebinding between check and
  connect), with the name in the Host header and TLS's SNI and certificate check;
- each redirect is checked again as a new URL, at most ``MAX_REDIRECTS``;
- the body is streamed to a file, at most ``max_bytes``, within ``timeout`` seconds in
  all; no cookie, login or header of the tracker's own session is sent.

``TRACKER_CAPTURE_ALLOW_PRIVATE`` (tests, with ``DJANGO_DEBUG=1`` only) lets loopback
and private addresses through, never link-local ones.

Not done yet (issue 20): the page in Chromium, WACZ, screenshot, PDF, media, the admin
form, a proxy (``TRACKER_CAPTURE_PROXY``).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

from django.conf import settings
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SCHEMES = {"http": 80, "https": 443}
MAX_REDIRECTS = 10
MAX_BYTES = 200 * 1024 * 1024
TIMEOUT_SECONDS = 60.0
CHUNK = 64 * 1024
USER_AGENT = "Mozilla/5.0 (compatible; accountability-tracker capture)"


class Refused(Exception):
    """The URL is not fetched (or not further); the message says why, for the person."""


@dataclass
class Target:
    """A URL as it will be fetched: credentials removed, host in ASCII (IDNA)."""

    url: str
    scheme: str
    host: str  # ASCII (punycode for an IDN)
    port: int
    path: str  # path and query, as sent
    shown_host: str = ""  # the host as typed (Unicode), for people


@dataclass
class Fetched:
    url: str  # the URL asked for, without credentials
    final_url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: Path
    size: int
    redirects: list[tuple[int, str]] = field(default_factory=list)  # (status, location)
    address: str = ""  # the address the final response came from
    seconds: float = 0.0


def target(url: str) -> Target:
    """``url`` checked and made ready to fetch; Refused for anything but http(s) with a
    host."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise Refused("This is not a web address.") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise Refused(f"Only http and https addresses are captured, not {scheme or 'this'}.")
    try:
        host = parts.hostname or ""
        port = parts.port or SCHEMES[scheme]
    except ValueError:
        raise Refused("The address's port is not a number from 1 to 65535.") from None
    if not host:
        raise Refused("The address names no host.")
    try:
        ascii_host = host.encode("idna").decode("ascii") if not _is_ip(host) else host
    except UnicodeError:
        raise Refused("The address's host is not a valid name.") from None
    netloc = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    clean = SplitResult(scheme, netloc, parts.path or "/", parts.query, "")
    path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    return Target(urlunsplit(clean), scheme, ascii_host, port, path, shown_host=host)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def allowed(address: str) -> bool:
    """May a capture connect to ``address``? Public addresses only; loopback and
    private ones too when TRACKER_CAPTURE_ALLOW_PRIVATE (tests); link-local never."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return False
    if ip.is_global:
        return True
    return bool(settings.TRACKER_CAPTURE_ALLOW_PRIVATE) and (ip.is_loopback or ip.is_private)


def resolve(found: Target) -> str:
    """The address to connect to: every address the host resolves to must be allowed
    (a name that also points inside is refused), the first one is used."""
    try:
        answers = socket.getaddrinfo(found.host, found.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Refused(f"The host {found.shown_host} cannot be found.") from None
    addresses = [answer[4][0] for answer in answers]
    if not addresses or not all(allowed(address) for address in addresses):
        raise Refused(
            f"The host {found.shown_host} is on a private or local network: not captured."
        )
    return addresses[0]


class _Pinned(http.client.HTTPConnection):
    """A connection to the address checked, whatever the name resolves to now."""

    def __init__(self, address: str, found: Target, timeout: float) -> None:
        super().__init__(found.host, found.port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedTLS(_Pinned):
    def __init__(self, address: str, found: Target, timeout: float) -> None:
        super().__init__(address, found, timeout)
        self.context = ssl.create_default_context()

    def connect(self) -> None:
        super().connect()
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)


def fetch(
    url: str,
    into: Path,
    *,
    warc: WARCWriter | None = None,
    max_bytes: int = MAX_BYTES,
    timeout: float = TIMEOUT_SECONDS,
) -> Fetched:
    """GET ``url`` (following redirects, each checked), its body streamed to ``into``;
    each exchange written to ``warc`` as a request and a response record. Refused
    for an address not allowed, too many redirects, a body over ``max_bytes`` or a
    fetch over ``timeout`` seconds."""
    started = time.monotonic()
    asked = target(url)
    current = asked
    redirects: list[tuple[int, str]] = []
    while True:
        address = resolve(current)
        left = timeout - (time.monotonic() - started)
        if left <= 0:
            raise Refused(f"The capture took longer than {timeout:.0f} s.")
        kind = _PinnedTLS if current.scheme == "https" else _Pinned
        connection = kind(address, current, timeout=left)
        request_headers = [
            (
                "Host",
                current.host
                if current.port == SCHEMES[current.scheme]
                else f"{current.host}:{current.port}",
            ),
            ("User-Agent", USER_AGENT),
            ("Accept", "*/*"),
            ("Accept-Encoding", "identity"),
            ("Connection", "close"),
        ]
        try:
            connection.putrequest("GET", current.path, skip_host=True, skip_accept_encoding=True)
            for name, value in request_headers:
                connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            if warc is not None:
                _record_request(warc, current, request_headers)
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                location = urljoin(current.url, response.getheader("Location", ""))
                if warc is not None:
                    _record_response(warc, current, response, BytesIO(response.read(max_bytes)))
                redirects.append((response.status, location))
                if len(redirects) > MAX_REDIRECTS:
                    raise Refused(f"More than {MAX_REDIRECTS} redirects: not captured.")
                current = target(location)  # checked again, address and all
                continue
            size = _stream(response, into, max_bytes, started, timeout)
            if warc is not None:
                with into.open("rb") as body:
                    _record_response(warc, current, response, body)
            return Fetched(
                url=asked.url,
                final_url=current.url,
                status=response.status,
                reason=response.reason,
                headers=list(response.getheaders()),
                body=into,
                size=size,
                redirects=redirects,
                address=address,
                seconds=time.monotonic() - started,
            )
        except (OSError, http.client.HTTPException) as exc:
            raise Refused(f"The page could not be fetched ({exc.__class__.__name__}).") from None
        finally:
            connection.close()


def _stream(response, into: Path, max_bytes: int, started: float, timeout: float) -> int:
    size = 0
    with into.open("wb") as out:
        # read1: what has arrived (at most CHUNK), so a server that trickles is timed.
        while chunk := response.read1(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise Refused(f"The page is larger than {max_bytes:,} bytes: not captured.")
            if time.monotonic() - started > timeout:
                raise Refused(f"The capture took longer than {timeout:.0f} s.")
            out.write(chunk)
    return size


def _record_request(warc: WARCWriter, found: Target, headers: list[tuple[str, str]]) -> None:
    statusline = f"GET {found.path} HTTP/1.1"
    http_headers = StatusAndHeaders(statusline, headers, is_http_request=True)
    warc.write_record(warc.create_warc_record(found.url, "request", http_headers=http_headers))


def _record_response(warc: WARCWriter, found: Target, response, body) -> None:
    statusline = f"{response.status} {response.reason}"
    http_headers = StatusAndHeaders(statusline, list(response.getheaders()), protocol="HTTP/1.1")
    warc.write_record(
        warc.create_warc_record(found.url, "response", payload=body, http_headers=http_headers)
    )
