"""Captures through TRACKER_CAPTURE_PROXY: a SOCKS5 server and an HTTP CONNECT proxy of
the test's own on loopback note what they are asked to connect to and relay to the
loopback page server of test_fetching, whatever they were asked for."""

from __future__ import annotations

import ipaddress
import select
import socket
import socketserver
import ssl
import threading
from http.server import ThreadingHTTPServer

import pytest

from evidence.capture import fetching
from evidence.capture.tests import test_fetching
from evidence.capture.tests.test_fetching import PAGE, Pages

# A certificate for pages.test and localhost (not for 127.0.0.1), valid 2000-2100, and
# its key: the test's https server, trusted by the test alone.
CERTIFICATE = """-----BEGIN CERTIFICATE-----
MIIBkTCCATegAwIBAgIBATAKBggqhkjOPQQDAjAVMRMwEQYDVQQDDApwYWdlcy50
ZXN0MCAXDTAwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAVMRMwEQYDVQQD
DApwYWdlcy50ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzwpmXfozBcak
V4YKhT2aRVrIEWh8YCHSs58JG+G8oV0dPAr5KP0xyxOaMfiiZ8Iu9aXuLhaJZHPV
Y7egBczB7qN2MHQwDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0l
BAwwCgYIKwYBBQUHAwEwIAYDVR0RBBkwF4IKcGFnZXMudGVzdIIJbG9jYWxob3N0
MB0GA1UdDgQWBBTrLcayRFrNspp3fyDIZzZud2WhaTAKBggqhkjOPQQDAgNIADBF
AiEAr7TCQMZgwfBZGL0UNBGPUfcitld1qynSI1GovMAOBwUCIAPsvTbvn5ad3e3k
MCdPjZZTN0k/WCliUALobeYZORJL
-----END CERTIFICATE-----
"""
KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgO6Q8RmLRpeWYoVQo
cVaBj1O87pcI6IVRBVKhY6GiMeShRANCAATPCmZd+jMFxqRXhgqFPZpFWsgRaHxg
IdKznwkb4byhXR08Cvko/THLE5ox+KJnwi71pe4uFolkc9Vjt6AFzMHu
-----END PRIVATE KEY-----
"""


class Proxy(socketserver.ThreadingTCPServer):
    """A proxy on loopback: what it was asked for, its answer, the page server behind."""

    daemon_threads = True
    allow_reuse_address = True
    upstream = 0  # the page server's port: every tunnel goes there
    answer = 0  # SOCKS reply code or HTTP status; 0 and 200 connect
    login: tuple[str, str] | None = None  # the login it wants

    def __init__(self, handler) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.connections = 0
        self.asked: list[tuple[str, int]] = []
        self.logins: list[tuple[str, str]] = []
        self.headers: list[str] = []


def _exactly(sock: socket.socket, size: int) -> bytes:
    got = b""
    while len(got) < size:
        chunk = sock.recv(size - len(got))
        if not chunk:
            raise ConnectionError("closed")
        got += chunk
    return got


def _relay(client: socket.socket, port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as upstream:
        while True:
            ready, _, _ = select.select([client, upstream], [], [], 5)
            if not ready:
                return
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                (upstream if sock is client else client).sendall(data)


class Socks5(socketserver.BaseRequestHandler):
    server: Proxy

    def handle(self) -> None:
        sock, proxy = self.request, self.server
        proxy.connections += 1
        _, count = _exactly(sock, 2)
        methods = _exactly(sock, count)
        wanted = 2 if proxy.login else 0
        if wanted not in methods:
            return sock.sendall(b"\x05\xff")
        sock.sendall(bytes([5, wanted]))
        if proxy.login:
            _, size = _exactly(sock, 2)
            user = _exactly(sock, size).decode()
            password = _exactly(sock, _exactly(sock, 1)[0]).decode()
            proxy.logins.append((user, password))
            sock.sendall(b"\x01\x00" if (user, password) == proxy.login else b"\x01\x01")
        _, _, _, kind = _exactly(sock, 4)
        if kind == 3:
            host = _exactly(sock, _exactly(sock, 1)[0]).decode()
        else:
            host = str(ipaddress.ip_address(_exactly(sock, 4 if kind == 1 else 16)))
        proxy.asked.append((host, int.from_bytes(_exactly(sock, 2), "big")))
        sock.sendall(bytes([5, proxy.answer, 0, 1, 127, 0, 0, 1, 0, 0]))
        if proxy.answer == 0:
            _relay(sock, proxy.upstream)
        return None


class Connect(socketserver.BaseRequestHandler):
    server: Proxy

    def handle(self) -> None:
        sock, proxy = self.request, self.server
        proxy.connections += 1
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += _exactly(sock, 1)
        line, *proxy.headers = head.decode("latin-1").split("\r\n")
        host, _, port = line.split()[1].rpartition(":")
        proxy.asked.append((host.strip("[]"), int(port)))
        if proxy.answer != 200:
            sock.sendall(f"HTTP/1.1 {proxy.answer} Forbidden\r\nContent-Length: 0\r\n\r\n".encode())
            return
        sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        _relay(sock, proxy.upstream)


def _serve(server: socketserver.TCPServer):
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def pages(settings):
    """The page server's port (test_fetching's pages, on loopback)."""
    settings.TRACKER_CAPTURE_ALLOW_PRIVATE = True
    httpd = _serve(ThreadingHTTPServer(("127.0.0.1", 0), Pages))
    test_fetching.seen.clear()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def through(settings, pages):
    """Starts a proxy (socks5h, socks5 or http) before the page server and makes it the
    capture proxy."""
    started: list[Proxy] = []

    def start(scheme, *, answer=None, login=None, upstream=pages, credentials=None) -> Proxy:
        proxy = Proxy(Connect if scheme == "http" else Socks5)
        proxy.upstream, proxy.login = upstream, login
        proxy.answer = answer if answer is not None else (200 if scheme == "http" else 0)
        started.append(_serve(proxy))
        given = credentials if credentials is not None else login
        userinfo = f"{given[0]}:{given[1]}@" if given else ""
        port = proxy.server_address[1]
        settings.TRACKER_CAPTURE_PROXY = f"{scheme}://{userinfo}127.0.0.1:{port}"
        return proxy

    yield start
    for proxy in started:
        proxy.shutdown()
        proxy.server_close()


@pytest.mark.parametrize("scheme", ["socks5h", "socks5", "http"])
def test_a_page_is_fetched_through_the_proxy(through, pages, tmp_path, scheme):
    proxy = through(scheme)
    got = fetching.fetch(f"http://localhost:{pages}/moved", tmp_path / "body")
    assert (got.status, got.final_url) == (200, f"http://localhost:{pages}/page")
    assert (tmp_path / "body").read_bytes() == PAGE
    assert [path for path, _ in test_fetching.seen] == ["/moved", "/page"]
    assert test_fetching.seen[-1][1]["Host"] == f"localhost:{pages}"
    if scheme == "socks5h":  # the name, for the proxy to resolve; no address claimed
        assert proxy.asked == [("localhost", pages)] * 2 and got.address == ""
    else:  # the address checked here, never the name
        assert proxy.asked == [("127.0.0.1", pages)] * 2 and got.address == "127.0.0.1"


@pytest.mark.parametrize("scheme", ["socks5h", "socks5", "http"])
def test_a_name_not_found_here_goes_to_a_socks5h_proxy_only(through, pages, tmp_path, scheme):
    proxy = through(scheme)
    names = ["someplace2zvtwnjhxtg7wm5ov.onion", "known-to-the-proxy.invalid"]
    for name in names:
        url = f"http://{name}:{pages}/page"
        if scheme == "socks5h":
            assert fetching.fetch(url, tmp_path / "body").status == 200
        else:
            with pytest.raises(fetching.Refused, match="cannot be found"):
                fetching.fetch(url, tmp_path / "body")
    assert proxy.asked == ([(name, pages) for name in names] if scheme == "socks5h" else [])
    assert proxy.connections == len(proxy.asked)


@pytest.mark.parametrize("scheme", ["socks5h", "socks5", "http"])
def test_a_refused_address_never_reaches_the_proxy(through, pages, tmp_path, scheme):
    proxy = through(scheme)
    with pytest.raises(fetching.Refused, match="private or local network"):
        fetching.fetch("http://169.254.169.254/", tmp_path / "body")
    assert proxy.connections == 0
    # A redirect there is checked too: the proxy is asked for the first page only.
    with pytest.raises(fetching.Refused, match="private or local network"):
        fetching.fetch(f"http://localhost:{pages}/to-metadata", tmp_path / "body")
    assert len(proxy.asked) == 1


def test_a_name_that_resolves_inside_is_refused_before_a_socks5h_proxy(
    through, pages, settings, tmp_path
):
    proxy = through("socks5h")
    settings.TRACKER_CAPTURE_ALLOW_PRIVATE = False
    with pytest.raises(fetching.Refused, match="private or local network"):
        fetching.fetch(f"http://localhost:{pages}/page", tmp_path / "body")
    assert proxy.connections == 0


@pytest.mark.parametrize(
    ("scheme", "answer", "said"),
    [
        ("socks5", 5, "did not connect to 127.0.0.1: the connection was refused"),
        ("socks5h", 2, "did not connect to localhost: the proxy's rules forbid it"),
        ("http", 403, "did not connect to 127.0.0.1:\\d+: 403 Forbidden"),
    ],
)
def test_a_proxy_that_will_not_connect_is_a_refusal(through, pages, tmp_path, scheme, answer, said):
    proxy = through(scheme, answer=answer)
    with pytest.raises(fetching.Refused, match=f"The capture proxy {said}"):
        fetching.fetch(f"http://localhost:{pages}/page", tmp_path / "body")
    assert proxy.connections == 1 and test_fetching.seen == []


@pytest.mark.parametrize("scheme", ["socks5h", "socks5", "http"])
def test_a_proxy_that_is_down_is_a_refusal(pages, settings, tmp_path, scheme):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.TRACKER_CAPTURE_PROXY = f"{scheme}://127.0.0.1:{port}"
    with pytest.raises(fetching.Refused, match=f"proxy 127.0.0.1:{port} cannot be reached"):
        fetching.fetch(f"http://localhost:{pages}/page", tmp_path / "body")


def test_the_proxy_login_comes_from_the_url(through, pages, tmp_path):
    socks = through("socks5h", login=("team", "p@ss:word"), credentials=("team", "p%40ss:word"))
    assert fetching.fetch(f"http://localhost:{pages}/page", tmp_path / "body").status == 200
    assert socks.logins == [("team", "p@ss:word")]
    through("socks5h", login=("team", "right"), credentials=("team", "wrong"))
    with pytest.raises(fetching.Refused, match="refused TRACKER_CAPTURE_PROXY's login"):
        fetching.fetch(f"http://localhost:{pages}/page", tmp_path / "body")
    through("socks5h", login=("team", "right"), credentials=())
    with pytest.raises(fetching.Refused, match="wants a login"):
        fetching.fetch(f"http://localhost:{pages}/page", tmp_path / "body")
    http = through("http", credentials=("team", "s3cret"))
    assert fetching.fetch(f"http://localhost:{pages}/page", tmp_path / "body").status == 200
    assert "Proxy-Authorization: Basic dGVhbTpzM2NyZXQ=" in http.headers  # team:s3cret


@pytest.fixture
def tls_pages(settings, tmp_path, monkeypatch):
    """The page server over TLS with CERTIFICATE (which the capture is made to trust),
    and the names it was asked for (SNI)."""
    settings.TRACKER_CAPTURE_ALLOW_PRIVATE = True
    (tmp_path / "cert.pem").write_text(CERTIFICATE + KEY)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem")
    names: list[str] = []
    context.sni_callback = lambda _socket, name, _context: names.append(name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    _serve(httpd)
    yield httpd.server_address[1], names
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(
    ("scheme", "host"), [("socks5h", "pages.test"), ("socks5", "localhost"), ("http", "localhost")]
)
def test_tls_inside_the_tunnel_is_to_the_page_s_name(through, tls_pages, tmp_path, scheme, host):
    port, names = tls_pages
    proxy = through(scheme, upstream=port)
    got = fetching.fetch(f"https://{host}:{port}/page", tmp_path / "body")
    assert (got.status, (tmp_path / "body").read_bytes()) == (200, PAGE)
    assert names == [host]
    assert proxy.asked == [(host if scheme == "socks5h" else "127.0.0.1", port)]
    # The certificate is still checked: it does not name 127.0.0.1.
    with pytest.raises(fetching.Refused, match="SSLCertVerificationError"):
        fetching.fetch(f"https://127.0.0.1:{port}/page", tmp_path / "body")
