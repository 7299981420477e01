"""The capture proxy's handshakes (``TRACKER_CAPTURE_PROXY``, read by
``fetching.proxy``): a tunnel through SOCKS5 (RFC 1928, with RFC 1929's login) or HTTP
CONNECT to the address ``fetching`` checked (or, through socks5h, to the name). Its
failures are ``ProxyError``, in words for the person; ``fetching.connect`` makes them a
capture's refusal. Which addresses may be reached is not decided here."""

from __future__ import annotations

import ipaddress
import socket
from base64 import b64encode
from urllib.parse import SplitResult, unquote


class ProxyError(Exception):
    """The proxy could not be reached or would not connect; the message says why."""


# SOCKS5 replies (RFC 1928, 6), as the person reads them.
_SOCKS_REPLIES = {
    1: "the proxy failed",
    2: "the proxy's rules forbid it",
    3: "the network is unreachable",
    4: "the host is unreachable",
    5: "the connection was refused",
    6: "the time to live expired",
    7: "the proxy does not support the command",
    8: "the proxy does not support the address type",
}


def tunnel(through: SplitResult, host: str, port: int, timeout: float | None) -> socket.socket:
    """A socket to ``host``:``port`` (an address, or a name for socks5h) through the
    proxy ``through``, ready for the request or for TLS. ProxyError, with what the proxy
    said, when the proxy cannot be reached or will not connect."""
    where = f"{through.hostname}:{through.port}"
    try:
        sock = socket.create_connection((through.hostname, through.port or 0), timeout)
    except OSError as exc:
        raise ProxyError(
            f"The capture proxy {where} cannot be reached ({exc.__class__.__name__})."
        ) from None
    try:
        if through.scheme == "http":
            _connect(sock, through, host, port)
        else:
            _socks5(sock, through, host, port)
    except OSError as exc:
        sock.close()
        raise ProxyError(
            f"The capture proxy {where} stopped answering ({exc.__class__.__name__})."
        ) from None
    except ProxyError:
        sock.close()
        raise
    return sock


def _socks5(sock: socket.socket, through: SplitResult, host: str, port: int) -> None:
    """The SOCKS5 handshake (RFC 1928): no login, or the URL's user name and password
    (RFC 1929), then CONNECT to ``host``:``port``."""
    user, password = unquote(through.username or ""), unquote(through.password or "")
    method = 2 if user or password else 0
    sock.sendall(bytes([5, 1, method]))
    version, chosen = _read(sock, 2)
    if version != 5:
        raise ProxyError("The capture proxy does not speak SOCKS5.")
    if chosen != method:
        raise ProxyError(
            "The capture proxy wants a login that TRACKER_CAPTURE_PROXY does not give."
            if method == 0
            else "The capture proxy does not accept a user name and password."
        )
    if method == 2:
        name, secret = user.encode(), password.encode()
        sock.sendall(bytes([1, len(name)]) + name + bytes([len(secret)]) + secret)
        if _read(sock, 2)[1] != 0:
            raise ProxyError("The capture proxy refused TRACKER_CAPTURE_PROXY's login.")
    try:
        ip = ipaddress.ip_address(host)
        address = bytes([1 if ip.version == 4 else 4]) + ip.packed
    except ValueError:
        if len(host) > 255:
            raise ProxyError("The host's name is too long for the capture proxy.") from None
        address = bytes([3, len(host)]) + host.encode("ascii")
    sock.sendall(bytes([5, 1, 0]) + address + port.to_bytes(2, "big"))
    version, reply, _, kind = _read(sock, 4)
    if version != 5:
        raise ProxyError("The capture proxy does not speak SOCKS5.")
    if reply != 0:
        said = _SOCKS_REPLIES.get(reply, f"SOCKS reply {reply}")
        raise ProxyError(f"The capture proxy did not connect to {host}: {said}.")
    # The address the proxy connected from, then its port: not needed.
    _read(sock, {1: 4, 4: 16}.get(kind) or _read(sock, 1)[0])
    _read(sock, 2)


def _connect(sock: socket.socket, through: SplitResult, host: str, port: int) -> None:
    """An HTTP CONNECT tunnel to ``host``:``port``, with the URL's user name and
    password as a Basic proxy login."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if through.username or through.password:
        login = f"{unquote(through.username or '')}:{unquote(through.password or '')}"
        lines.append(f"Proxy-Authorization: Basic {b64encode(login.encode()).decode()}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = b""
    while not answer.endswith(b"\r\n\r\n"):  # byte by byte: the tunnel's bytes follow
        answer += _read(sock, 1)
        if len(answer) > 16 * 1024:
            raise ProxyError("The capture proxy's answer to CONNECT is too long.")
    status = answer.split(b"\r\n", 1)[0].decode("latin-1")
    words = status.split(" ", 2)
    if len(words) < 2 or not words[0].startswith("HTTP/"):
        raise ProxyError("The capture proxy does not speak HTTP.")
    if not words[1].startswith("2"):
        raise ProxyError(
            f"The capture proxy did not connect to {authority}: {' '.join(words[1:])}."
        )


def _read(sock: socket.socket, size: int) -> bytes:
    """Exactly ``size`` bytes from the proxy."""
    got = b""
    while len(got) < size:
        chunk = sock.recv(size - len(got))
        if not chunk:
            raise ProxyError("The capture proxy closed the connection.")
        got += chunk
    return got
