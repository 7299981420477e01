"""The capture's doors on loopback, open only while a capture runs: the gate, a forward
proxy for a tool that does its own networking (``yt-dlp``) so that it obeys the
capture's rules; and the dead end (``dead_end``), Chromium's proxy, which closes every
connection it is offered.

Every connection the tool asks for (``CONNECT host:port`` for https, an absolute
``GET http://host/path`` for http) is checked as ``fetching`` checks a page (scheme and
port, every address the host resolves to, never private, loopback, link-local or
metadata ones) and made to the address checked, through ``TRACKER_CAPTURE_PROXY`` when
there is one; the bytes it brings back count against the capture's budget, and closing
the gate cuts every connection, so a tool that overruns its time stops.
"""

from __future__ import annotations

import contextlib
import select
import socket
import socketserver
import threading
from collections.abc import Iterator

from evidence.capture import fetching

HEAD_MAX = 64 * 1024
CHUNK = 64 * 1024


class _Gate(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, budget: fetching.Budget) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.budget = budget
        self.refused: list[tuple[str, str]] = []
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.closing = False

    def hold(self, sock: socket.socket) -> None:
        with self.lock:
            if self.closing:
                raise fetching.Refused("The capture is over.")
            self.open.add(sock)

    def cut(self) -> None:
        with self.lock:
            self.closing = True
            for sock in self.open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class _Handler(socketserver.BaseRequestHandler):
    server: _Gate

    def handle(self) -> None:
        client = self.request
        upstream = None
        try:
            self.server.hold(client)
            head = _read_head(client)
            line, _, rest = head.partition(b"\r\n")
            method, target, version = line.decode("latin-1").split(" ", 2)
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                url = f"https://{host}:{port}/"
                upstream = self._connect(url)
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                found = fetching.target(target)
                if found.scheme != "http":
                    raise fetching.Refused("Only plain http is forwarded; https goes by CONNECT.")
                upstream = self._connect(found.url)
                upstream.sendall(_origin_request(method, found.path, version, rest))
            _relay(client, upstream, self.server.budget)
        except (ValueError, UnicodeError):
            _answer(client, 400, "The request to the capture's gate is not one it reads.")
        except fetching.Refused as exc:
            _answer(client, 403, str(exc))
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()

    def _connect(self, url: str) -> socket.socket:
        """A socket to the address ``url``'s host resolves to, once it is checked."""
        try:
            found = fetching.target(url)
            address = fetching.resolve(found)
            timeout = min(30.0, self.server.budget.left())
            sock = fetching.connect(address, found.host, found.port, timeout)
        except fetching.Refused as exc:
            self.server.refused.append((url, str(exc)))
            raise
        except OSError as exc:
            raise fetching.Refused(
                f"{url} could not be reached ({exc.__class__.__name__})."
            ) from None
        self.server.hold(sock)
        return sock


def _read_head(client: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = client.recv(4096)
        if not chunk:
            raise ValueError("closed before the request's head ended")
        head += chunk
        if len(head) > HEAD_MAX:
            raise ValueError("request head too long")
    return head


def _origin_request(method: str, path: str, version: str, rest: bytes) -> bytes:
    """The request as the origin server takes it: its path, the proxy's own headers
    dropped, and one request per connection (a client may not reuse it elsewhere)."""
    headers, _, body = rest.partition(b"\r\n\r\n")
    kept = [
        line
        for line in headers.split(b"\r\n")
        if line and not line.lower().startswith((b"proxy-", b"connection:", b"keep-alive:"))
    ]
    start = f"{method} {path} {version}".encode("latin-1")
    return b"\r\n".join([start, *kept, b"Connection: close"]) + b"\r\n\r\n" + body


def _relay(client: socket.socket, upstream: socket.socket, budget: fetching.Budget) -> None:
    """Bytes both ways until either side closes; what comes back is counted."""
    while True:
        ready, _, _ = select.select([client, upstream], [], [], budget.left())
        if not ready:
            raise fetching.Refused(f"The capture took longer than {budget.timeout:.0f} s.")
        for sock in ready:
            data = sock.recv(CHUNK)
            if not data:
                return
            if sock is upstream:
                budget.spend(len(data))
                client.sendall(data)
            else:
                upstream.sendall(data)


def _answer(client: socket.socket, status: int, reason: str) -> None:
    body = reason.encode()
    with contextlib.suppress(OSError):
        client.sendall(
            f"HTTP/1.1 {status} Refused\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + body
        )


@contextlib.contextmanager
def opened(budget: fetching.Budget) -> Iterator[_Gate]:
    """The gate, listening on loopback until the block ends (then every connection cut);
    its address is ``http://127.0.0.1:<gate.server_address[1]>``."""
    gate = _Gate(budget)
    thread = threading.Thread(target=gate.serve_forever, daemon=True)
    thread.start()
    try:
        yield gate
    finally:
        gate.cut()
        gate.shutdown()
        gate.server_close()


@contextlib.asynccontextmanager
async def dead_end():
    """A port on loopback that takes a connection and closes it: Chromium's proxy, so a
    request not handed to us (a WebSocket, one past the request cap) fails at once and
    goes nowhere, whatever else listens on this machine."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    open_ = threading.Event()
    open_.set()

    def refuse() -> None:
        while open_.is_set():
            with contextlib.suppress(OSError):
                connection, _ = listener.accept()
                connection.close()

    thread = threading.Thread(target=refuse, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        open_.clear()
        thread.join(1)
        listener.close()
