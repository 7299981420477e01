"""evidence.capture.fetching against a server of the test's own on loopback: what is
fetched and recorded in WARC, and every address, redirect and size it refuses."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from evidence.capture import fetching

PAGE = b"<html><head><title>SAMPLE statement</title></head><body>Strike at dawn.</body></html>"


class Pages(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        seen.append((self.path, dict(self.headers)))
        port = self.server.server_address[1]
        routes = {
            "/page": lambda: self._send(200, PAGE, Content_Type="text/html"),
            "/moved": lambda: self._send(302, Location="/page"),
            "/to-metadata": lambda: self._send(302, Location="http://169.254.169.254/latest/"),
            "/to-file": lambda: self._send(302, Location="file:///etc/passwd"),
            "/to-ftp": lambda: self._send(301, Location="ftp://127.0.0.1/x"),
            "/loop": lambda: self._send(302, Location="/loop"),
            "/absolute": lambda: self._send(307, Location=f"http://127.0.0.1:{port}/page"),
        }
        if self.path in routes:
            return routes[self.path]()
        if self.path == "/trickle-headers":  # each byte in time, the whole never
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            for _ in range(100):
                self.wfile.write(b"z")
                self.wfile.flush()
                time.sleep(0.2)
            return None
        if self.path == "/early-hints":
            self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n")
            return self._send(200, PAGE, Content_Type="text/html")
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (PAGE[:40], PAGE[40:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return None
        if self.path == "/big":
            self.send_response(200)
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"x" * 65536)
            return None
        if self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            for _ in range(50):
                self.wfile.write(b"y" * 100)
                self.wfile.flush()
                time.sleep(0.1)
            return None
        return self._send(404, b"no such page")


seen: list = []


@pytest.fixture
def server(settings):
    settings.TRACKER_CAPTURE_ALLOW_PRIVATE = True  # the test's own server is on loopback
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    seen.clear()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_page_is_fetched_and_recorded_as_warc(server, tmp_path):
    archive = tmp_path / "capture.warc.gz"
    with archive.open("wb") as out:
        got = fetching.fetch(f"{server}/moved", tmp_path / "body", warc=WARCWriter(out, gzip=True))
    assert (got.status, got.final_url, got.size) == (200, f"{server}/page", len(PAGE))
    assert got.redirects == [(302, f"{server}/page")] and got.address == "127.0.0.1"
    assert (tmp_path / "body").read_bytes() == PAGE
    with archive.open("rb") as stream:
        records = [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
            for r in ArchiveIterator(stream)
        ]
    assert [(kind, uri) for kind, uri, _ in records] == [
        ("request", f"{server}/moved"),
        ("response", f"{server}/moved"),
        ("request", f"{server}/page"),
        ("response", f"{server}/page"),
    ]
    assert records[-1][2] == PAGE


def test_credentials_are_never_sent_nor_kept(server, tmp_path):
    with_password = server.replace("http://", "http://reporter:s3cret@") + "/page"
    got = fetching.fetch(with_password, tmp_path / "body")
    assert "s3cret" not in got.url and "reporter" not in got.url
    path, headers = seen[-1]
    assert "Authorization" not in headers and "Cookie" not in headers


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/to-metadata", "private or local network"),
        ("/to-file", "Only http and https"),
        ("/to-ftp", "Only http and https"),
        ("/loop", "More than 10 redirects"),
    ],
)
def test_redirects_are_checked_again(server, tmp_path, path, said):
    with pytest.raises(fetching.Refused, match=said):
        fetching.fetch(f"{server}{path}", tmp_path / "body")


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
    ],
)
def test_link_local_and_odd_addresses_are_refused_even_for_tests(server, tmp_path, url):
    with pytest.raises(fetching.Refused, match="private or local network"):
        fetching.fetch(url, tmp_path / "body")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/", "http://10.0.0.1/", "http://[::1]/", "http://localhost/"]
)
def test_loopback_and_private_are_refused_outside_the_tests(settings, tmp_path, url):
    settings.TRACKER_CAPTURE_ALLOW_PRIVATE = False
    with pytest.raises(fetching.Refused, match="private or local network"):
        fetching.fetch(url, tmp_path / "body")


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "javascript:alert(1)", "ftp://example.org/", "http://", "x"]
)
def test_only_http_addresses_with_a_host(tmp_path, url):
    with pytest.raises(fetching.Refused):
        fetching.fetch(url, tmp_path / "body")


def test_a_unicode_host_is_fetched_by_its_punycode():
    found = fetching.target("http://user:pw@bücher.example/a b?q=1#frag")
    assert found.host == "xn--bcher-kva.example" and found.shown_host == "bücher.example"
    assert found.url == "http://xn--bcher-kva.example/a%20b?q=1"  # as a browser sends it
    # IDNA 2008 (UTS 46), as browsers: not the older rules' fass.de.
    assert fetching.target("https://faß.de/ü?ä=1").url == "https://xn--fa-hia.de/%C3%BC?%C3%A4=1"
    assert fetching.readable("https://xn--fa-hia.de/") == "https://faß.de/"


def test_too_large_and_too_slow_are_refused(server, tmp_path):
    with pytest.raises(fetching.Refused, match="larger than"):
        fetching.fetch(f"{server}/big", tmp_path / "body", max_bytes=1_000_000)
    started = time.monotonic()
    with pytest.raises(fetching.Refused, match="longer than"):
        fetching.fetch(f"{server}/slow", tmp_path / "body", timeout=1.0)
    assert time.monotonic() - started < 4


def test_an_answer_trickled_a_byte_at_a_time_is_cut_at_the_budget_s_end(server, tmp_path):
    started = time.monotonic()
    with pytest.raises(fetching.Refused, match="longer than 1 s"):
        fetching.fetch(f"{server}/trickle-headers", tmp_path / "body", timeout=1.0)
    assert time.monotonic() - started < 3


def test_an_early_hint_is_passed_over_and_a_chunked_body_kept_whole(server, tmp_path):
    archive = tmp_path / "capture.warc.gz"
    with archive.open("wb") as out:
        warc = WARCWriter(out, gzip=True)
        hinted = fetching.fetch(f"{server}/early-hints", tmp_path / "a", warc=warc)
        chunked = fetching.fetch(f"{server}/chunked", tmp_path / "b", warc=warc)
    assert (hinted.status, (tmp_path / "a").read_bytes()) == (200, PAGE)
    assert (chunked.status, (tmp_path / "b").read_bytes()) == (200, PAGE)
    with archive.open("rb") as stream:
        bodies = [
            (r.http_headers, r.content_stream().read())
            for r in ArchiveIterator(stream)
            if r.rec_type == "response"
        ]
    assert [body for _, body in bodies] == [PAGE, PAGE]  # a replay reads what was sent
    assert bodies[1][0].get_header("X-Archive-Orig-Transfer-Encoding") == "chunked"
    assert bodies[1][0].get_header("Transfer-Encoding") is None
