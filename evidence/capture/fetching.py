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

``TRACKER_CAPTURE_PROXY`` sends every connection through a proxy, so that the sites
captured see the proxy's address, not the server's (settings.py checks its form):

- ``socks5://host:port`` and ``http://host:port`` (HTTP CONNECT, for http and https
  pages alike): the name is resolved and checked here as above, and the proxy is asked
  for the address checked, never the name;
- ``socks5h://host:port`` (Tor: ``socks5h://127.0.0.1:9050``): the proxy is given the
  name and resolves it itself. A name that resolves here is still checked (one that
  points inside is refused), but the address the proxy reaches may be another one, and
  a name not found here (a ``.onion`` name is not even looked up) goes to the proxy
  unchecked. So socks5h is for a proxy whose own network holds nothing a capture must
  reach (Tor's exits), never for one inside the team's network. The look-up here
  still tells the server's DNS resolver which names are captured; the address reached
  is not known, so none is recorded.

The proxy's own address is not checked: the operator chose it, and it is often on
loopback. The SOCKS5 login (RFC 1929) or HTTP Basic proxy login comes from the URL's
``user:password@``. TLS runs inside the tunnel to the page's name (SNI, certificate).

``browser`` hands every request of a page loaded in Chromium to ``exchange``.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from urllib.parse import SplitResult, quote, urljoin, urlsplit, urlunsplit

import idna
from django.conf import settings
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from evidence.capture import proxying

SCHEMES = {"http": 80, "https": 443}
_RAW = re.compile(r"[^\x21-\x7e]")
MAX_REDIRECTS = 10
REDIRECTS = (301, 302, 303, 307, 308)
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
        # IDNA 2008 with UTS 46, as browsers: faß.de is not fass.de.
        ascii_host = host if _is_ip(host) else idna.encode(host, uts46=True).decode("ascii")
    except UnicodeError:
        raise Refused("The address's host is not a valid name.") from None
    netloc = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    path_part, query = _escaped(parts.path or "/"), _escaped(parts.query)
    clean = SplitResult(scheme, netloc, path_part, query, "")
    path = urlunsplit(("", "", path_part, query, ""))
    return Target(urlunsplit(clean), scheme, ascii_host, port, path, shown_host=host)


def _escaped(text: str) -> str:
    """``text`` with what may not go raw in a request line (non-ASCII, spaces, control
    characters) percent-encoded as UTF-8, as a browser sends it."""
    return _RAW.sub(lambda found: quote(found[0], safe=""), text)


def readable(url: str) -> str:
    """``url`` with its host as people write it (an IDN's Unicode, not punycode)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        shown = idna.decode(host) if "xn--" in host else host
    except UnicodeError:
        return url
    if shown == host:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(host, shown, 1)))


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
    (a name that also points inside is refused), the first one is used. Through a
    socks5h proxy the name is checked so too when it resolves here, but the proxy is
    given the name: "" (no address); a name not found here goes to the proxy."""
    through = proxy()
    socks5h = through is not None and through.scheme == "socks5h"
    if socks5h and found.host.rstrip(".").endswith(".onion"):
        return ""  # known to Tor alone: a DNS look-up would only leak it (RFC 7686)
    try:
        answers = socket.getaddrinfo(found.host, found.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        if socks5h:
            return ""
        raise Refused(f"The host {found.shown_host} cannot be found.") from None
    addresses = [answer[4][0] for answer in answers]
    if not addresses or not all(allowed(address) for address in addresses):
        raise Refused(
            f"The host {found.shown_host} is on a private or local network: not captured."
        )
    return "" if socks5h else addresses[0]


def proxy() -> SplitResult | None:
    """``TRACKER_CAPTURE_PROXY`` (its form checked when the settings load), or None:
    connections go straight to the address checked."""
    value = settings.TRACKER_CAPTURE_PROXY
    return urlsplit(value) if value else None


def connect(address: str, host: str, port: int, timeout: float | None) -> socket.socket:
    """A socket to ``address`` (checked by ``resolve``) or, through a socks5h proxy,
    to ``host``: straight, or through the capture proxy when there is one."""
    through = proxy()
    if through is None:
        return socket.create_connection((address, port), timeout)
    try:
        return proxying.tunnel(through, address or host, port, timeout)
    except proxying.ProxyError as exc:
        raise Refused(str(exc)) from None


class _Pinned(http.client.HTTPConnection):
    """A connection to the address checked, whatever the name resolves to now; through
    the capture proxy when there is one (to the name, with no address: socks5h)."""

    def __init__(self, address: str, found: Target, timeout: float) -> None:
        super().__init__(found.host, found.port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = connect(self.address, self.host, self.port, self.timeout)


class _PinnedTLS(_Pinned):
    def __init__(self, address: str, found: Target, timeout: float) -> None:
        super().__init__(address, found, timeout)
        self.context = ssl.create_default_context()

    def connect(self) -> None:
        super().connect()
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)


@dataclass
class Budget:
    """What one capture may still spend, shared by its exchanges (threads): bytes and
    time in all."""

    max_bytes: int = MAX_BYTES
    timeout: float = TIMEOUT_SECONDS
    started: float = field(default_factory=time.monotonic)
    spent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def left(self) -> float:
        left = self.timeout - (time.monotonic() - self.started)
        if left <= 0:
            raise Refused(f"The capture took longer than {self.timeout:.0f} s.")
        return left

    def spend(self, size: int) -> None:
        with self.lock:
            self.spent += size
            if self.spent > self.max_bytes:
                raise Refused(f"The capture is larger than {self.max_bytes:,} bytes: not kept.")


@dataclass
class Answer:
    """One request and the server's answer (a redirect is an answer too)."""

    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: Path
    size: int
    address: str

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")


# Request headers a browser's request may not pass on: the connection's own, and any
# credential (the capture's browser has none; the tracker's session is never sent).
_NOT_PASSED = {
    "host",
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "authorization",
    "te",
    "upgrade",
    "accept-encoding",
    "range",
    "content-length",
    "transfer-encoding",
}


def exchange(
    url: str,
    into: Path,
    budget: Budget,
    *,
    method: str = "GET",
    headers: Sequence[tuple[str, str]] = (),
    data: bytes | None = None,
    warc: WARCWriter | None = None,
    warc_lock: threading.Lock | None = None,
) -> Answer:
    """One request to ``url`` (checked: scheme, every address), its answer's body
    streamed to ``into`` within ``budget``, both written to ``warc``. A redirect is
    returned, not followed."""
    found = target(url)
    address = resolve(found)
    kind = _PinnedTLS if found.scheme == "https" else _Pinned
    connection = kind(address, found, timeout=budget.left())
    host = found.host if ":" not in found.host else f"[{found.host}]"
    sent = [
        ("Host", host if found.port == SCHEMES[found.scheme] else f"{host}:{found.port}"),
        *[(k, v) for k, v in headers if k.lower() not in _NOT_PASSED and not k.startswith(":")],
        ("Accept-Encoding", "identity"),
        ("Connection", "close"),
    ]
    if not any(k.lower() == "user-agent" for k, _ in sent):
        sent.insert(1, ("User-Agent", USER_AGENT))
    if not any(k.lower() == "accept" for k, _ in sent):
        sent.insert(2, ("Accept", "*/*"))
    if data is not None:
        sent.append(("Content-Length", str(len(data))))
    # The budget's end is a hard deadline: a server that sends its answer a byte at a
    # time (each read within the socket's timeout) is cut off there.
    deadline = threading.Timer(budget.left(), _cut, [connection])
    deadline.daemon = True
    deadline.start()
    try:
        connection.putrequest(method, found.path, skip_host=True, skip_accept_encoding=True)
        for name, value in sent:
            connection.putheader(name, value)
        connection.endheaders(data)
        response = connection.getresponse()
        while 100 < response.status < 200 and response.status != 101:  # 103 Early Hints...
            response = http.client.HTTPResponse(_Again(response.fp), method=method)
            response.begin()  # ...then the answer itself, from the same stream
        size = _stream(response, into, budget)
        budget.left()  # an answer cut short by the deadline is not an answer
    except (OSError, ValueError, http.client.HTTPException) as exc:
        if not deadline.is_alive():
            raise Refused(f"The capture took longer than {budget.timeout:.0f} s.") from None
        raise Refused(f"The page could not be fetched ({exc.__class__.__name__}).") from None
    finally:
        deadline.cancel()
        connection.close()
    answer = Answer(
        url=found.url,
        status=response.status,
        reason=response.reason,
        headers=list(response.getheaders()),
        body=into,
        size=size,
        address=address,
    )
    if warc is not None:
        with warc_lock or contextlib.nullcontext(), into.open("rb") as body:
            _record_request(warc, found, method, sent, data)
            _record_response(warc, answer, body)
    return answer


class _Again:
    """The stream a 1xx answer came on, for the answer that follows it."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def makefile(self, mode: str):
        return self.stream


def _cut(connection: http.client.HTTPConnection) -> None:
    with contextlib.suppress(OSError, AttributeError):
        connection.sock.shutdown(socket.SHUT_RDWR)


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
    budget = Budget(max_bytes=max_bytes, timeout=timeout)
    asked = target(url)
    current = asked.url
    redirects: list[tuple[int, str]] = []
    while True:
        answer = exchange(current, into, budget, warc=warc)
        location = answer.header("Location")
        if answer.status in REDIRECTS and location:
            location = urljoin(current, location)
            redirects.append((answer.status, location))
            if len(redirects) > MAX_REDIRECTS:
                raise Refused(f"More than {MAX_REDIRECTS} redirects: not captured.")
            current = location  # checked again, address and all
            continue
        return Fetched(
            url=asked.url,
            final_url=answer.url,
            status=answer.status,
            reason=answer.reason,
            headers=answer.headers,
            body=into,
            size=answer.size,
            redirects=redirects,
            address=answer.address,
            seconds=time.monotonic() - budget.started,
        )


def _stream(response, into: Path, budget: Budget) -> int:
    """The body to ``into``; a body refused part way gives back what it spent (it is
    not kept), so the rest of the page can still be captured."""
    size = 0
    try:
        with into.open("wb") as out:
            # read1: what has arrived (at most CHUNK), so a server that trickles is timed.
            while chunk := response.read1(CHUNK):
                size += len(chunk)
                budget.spend(len(chunk))
                budget.left()
                out.write(chunk)
    except Refused:
        budget.spend(-size)
        into.unlink(missing_ok=True)
        raise
    return size


def _record_request(
    warc: WARCWriter,
    found: Target,
    method: str,
    headers: Sequence[tuple[str, str]],
    data: bytes | None,
) -> None:
    statusline = f"{method} {found.path} HTTP/1.1"
    http_headers = StatusAndHeaders(statusline, list(headers), is_http_request=True)
    record = warc.create_warc_record(
        found.url,
        "request",
        payload=BytesIO(data) if data is not None else None,
        http_headers=http_headers,
    )
    warc.write_record(record)


def _record_response(warc: WARCWriter, answer: Answer, body) -> None:
    """The answer as a response record. Its body is kept as it was sent, less a chunked
    transfer's framing (http.client removes it): that header is kept renamed, as web
    archives do, so a replay does not take the body apart a second time."""
    statusline = f"{answer.status} {answer.reason}"
    headers = [
        (f"X-Archive-Orig-{name}", value) if name.lower() == "transfer-encoding" else (name, value)
        for name, value in answer.headers
    ]
    http_headers = StatusAndHeaders(statusline, headers, protocol="HTTP/1.1")
    warc.write_record(
        warc.create_warc_record(answer.url, "response", payload=body, http_headers=http_headers)
    )


def decoded(body: bytes, encoding: str, most: int) -> bytes | None:
    """``body`` undone from a gzip or deflate encoding a server sent though asked for
    none (the WARC keeps it as sent: this is for the browser); None if it is not one of
    those or does not decode. At most ``most`` bytes (a compressed bomb)."""
    if encoding not in ("gzip", "x-gzip", "deflate"):
        return None
    wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
    try:
        return zlib.decompressobj(wbits).decompress(body, most)
    except zlib.error:
        return None
