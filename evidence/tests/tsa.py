"""A real RFC 3161 Time-Stamping Authority on loopback for tests, made with the openssl CLI.

``make_authority(dir)`` makes a test root CA, a TSA certificate and an ``openssl ts`` config under
``dir``; ``LocalTSA(ca)`` serves ``openssl ts -reply`` at http://127.0.0.1:<port>/tsa from a daemon
thread while in its ``with``. Modes: see ``_Handler.do_POST``; ``tsa.mode`` may change at any time.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
POLICY_OID = "1.2.3.4.1"
OTHER_DATA = b"other"
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MODES = ("ok", "garbage", "error", "slow", "other-digest")

_CONFIG = """\
[req]
distinguished_name = anything
[testca]
database = {d}/index.txt
new_certs_dir = {d}/newcerts
serial = {d}/ca.serial
default_md = sha256
policy = anything
[anything]
commonName = supplied
[root_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[tsa_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = {eku}timeStamping
[tsa]
default_tsa = tsa_config1
[tsa_config1]
serial = {d}/tsa.serial
signer_cert = {signer}
signer_key = {d}/tsa.key
signer_digest = sha256
default_policy = {policy}
digests = sha256, sha384, sha512
accuracy = secs:1
tsa_name = yes
ess_cert_id_alg = sha256
"""


def _openssl(*args) -> bytes:
    try:
        command = [OPENSSL, *(str(a) for a in args)]
        return subprocess.run(command, check=True, capture_output=True, timeout=30).stdout
    except subprocess.CalledProcessError as e:
        e.add_note(e.stderr.decode(errors="replace"))
        raise


@dataclass(frozen=True)
class Authority:
    path: Path
    expired: bool = False
    eku_critical: bool = True

    root_pem_path = property(lambda self: self.path / "root.pem")
    root_key_path = property(lambda self: self.path / "root.key")
    tsa_cert_path = property(lambda self: self.path / "tsa.pem")
    tsa_key_path = property(lambda self: self.path / "tsa.key")
    config_path = property(lambda self: self.path / "openssl.cnf")  # the CA's and the TSA's
    # Same key, critical EKU: what ``openssl ts -reply`` signs with when eku_critical is False.
    twin_cert_path = property(lambda self: self.path / "tsa-twin.pem")
    root_pem = property(lambda self: self.root_pem_path.read_bytes())


def make_authority(path, *, expired: bool = False, eku_critical: bool = True) -> Authority:
    """Under ``path``: a root CA (EC P-256, from a week ago for ten years), a TSA certificate it
    issued (EKU critical,timeStamping; from a day ago for a year, or, ``expired``, from two days
    ago to one day ago; ``eku_critical=False``: EKU not critical) and an openssl config."""
    d = Path(path).resolve()
    assert not set(str(d)) & set("$\"'#\\;"), f"{d}: an openssl config cannot name it"
    (d / "newcerts").mkdir(parents=True, exist_ok=True)
    ca = Authority(d, expired=expired, eku_critical=eku_critical)
    signer = ca.tsa_cert_path if eku_critical else ca.twin_cert_path
    eku = "critical," if eku_critical else ""
    ca.config_path.write_text(_CONFIG.format(d=d, signer=signer, eku=eku, policy=POLICY_OID))
    for name, text in [("index.txt", ""), ("ca.serial", "1000\n"), ("tsa.serial", "01\n")]:
        (d / name).write_text(text)
    for key in (ca.root_key_path, ca.tsa_key_path):
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)

    def issue(name, key, out, days, extensions, *issuer):
        csr, conf = out.with_suffix(".csr"), ca.config_path
        dates = [(datetime.now(UTC) + timedelta(days=n)).strftime("%Y%m%d%H%M%SZ") for n in days]
        _openssl("req", "-new", "-config", conf, "-key", key, "-subj", f"/CN={name}", "-out", csr)
        _openssl(
            *("ca", "-batch", "-notext", "-config", conf, "-keyfile", ca.root_key_path, *issuer),
            *("-name", "testca", "-in", csr, "-out", out, "-extensions", extensions),
            *("-startdate", dates[0], "-enddate", dates[1]),
        )

    # ``openssl x509`` of OpenSSL 3.0 has no -not_before/-not_after: ``openssl ca`` dates them.
    issue("Test TSA Root", ca.root_key_path, ca.root_pem_path, (-7, 3650), "root_ext", "-selfsign")
    days = (-2, -1) if expired else (-1, 365)
    issue("Test TSA", ca.tsa_key_path, ca.tsa_cert_path, days, "tsa_ext", "-cert", ca.root_pem_path)
    if not eku_critical:  # see reply(): a self-signed twin that openssl ts -reply accepts
        _openssl(
            *("req", "-x509", "-new", "-config", ca.config_path, "-key", ca.tsa_key_path),
            *("-subj", "/CN=Test TSA", "-addext", "extendedKeyUsage=critical,timeStamping"),
            *("-out", ca.twin_cert_path),
        )
    return ca


def _children(der: bytes, pos: int = 0) -> list[tuple[int, int, int, int]]:
    """(tag, start, content start, end) of each DER element inside the constructed one at pos."""

    def tlv(pos: int) -> tuple[int, int]:
        n, pos = der[pos + 1], pos + 2
        if n & 0x80:
            n, pos = int.from_bytes(der[pos : pos + (n & 0x7F)], "big"), pos + (n & 0x7F)
        return pos, pos + n

    (pos, end), out = tlv(pos), []
    while pos < end:
        out.append((der[pos], pos, *tlv(pos)))
        pos = out[-1][3]
    return out


def cert_requested(query: bytes) -> bool:
    """Whether a DER TimeStampReq has certReq TRUE."""
    return any(tag == 0x01 and query[c] != 0 for tag, _, c, _ in _children(query))


def other_digest_query(query: bytes) -> bytes:
    """The same DER TimeStampReq (nonce, policy, certReq) over the digest of OTHER_DATA."""
    _, (_, _, start, end) = _children(query, _children(query)[1][1])
    algorithm = {32: "sha256", 48: "sha384", 64: "sha512"}[end - start]
    return query[:start] + hashlib.new(algorithm, OTHER_DATA).digest() + query[end:]


class LocalTSA:
    """Context manager: serves ``authority`` at ``self.url`` until exit."""

    def __init__(self, authority: Authority, mode: str = "ok", delay: float = 5.0):
        self.authority, self.mode, self.delay, self.requests = authority, mode, delay, 0
        self._lock = threading.Lock()  # for the count, and openssl ts -reply rewrites its serial
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def __setattr__(self, name, value) -> None:
        if name == "mode" and value not in MODES:
            raise ValueError(f"unknown TSA mode {value!r}; one of {MODES}")
        super().__setattr__(name, value)

    @property
    def url(self) -> str:
        assert self._server is not None, "LocalTSA is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}/tsa"

    def __enter__(self) -> LocalTSA:
        self._stopping.clear()
        server = self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True  # server_close() does not join handler threads
        server.tsa = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping.set()  # wakes "slow" handlers at once
        self._server.shutdown()  # type: ignore[union-attr]
        self._server.server_close()  # type: ignore[union-attr]
        self._thread.join(timeout=5)

    def reply(self, query: bytes) -> bytes:
        """The DER TimeStampResp that ``openssl ts -reply`` makes for a DER TimeStampReq."""
        ca, cnf = self.authority, self.authority.config_path
        with self._lock, tempfile.TemporaryDirectory(dir=ca.path) as tmp:
            req, resp, tst, token = (Path(tmp) / n for n in ("q.tsq", "r.tsr", "t.der", "k.der"))
            req.write_bytes(query)
            # -signer and -inkey: those of the config (the twin when eku_critical is False)
            twin = () if ca.eku_critical else ("-token_out",)
            _openssl("ts", "-reply", "-config", cnf, "-queryfile", req, "-out", resp, *twin)
            if ca.eku_critical:
                return resp.read_bytes()
            # OpenSSL signs only under a critical EKU ("invalid signer certificate purpose"):
            # re-sign the twin's TSTInfo under the real certificate, with ESS signingCertV2.
            verify = ("cms", "-verify", "-noverify", "-binary", "-inform", "DER", "-in", resp)
            tst.write_bytes(_openssl(*verify, "-certfile", ca.twin_cert_path))
            _openssl(
                *("cms", "-sign", "-binary", "-nodetach", "-nosmimecap", "-cades", "-md", "sha256"),
                *("-econtent_type", "1.2.840.113549.1.9.16.1.4", "-signer", ca.tsa_cert_path),
                *("-inkey", ca.tsa_key_path, "-in", tst, "-outform", "DER", "-out", token),
                *(() if cert_requested(query) else ("-nocerts",)),
            )
            _openssl("ts", "-reply", "-in", token, "-token_in", "-out", resp)  # status: granted
            return resp.read_bytes()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # quiet test output
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout in "slow" mode)

    def do_POST(self) -> None:
        """Modes: "ok" signs the POSTed TimeStampReq (Content-Type must be QUERY_TYPE, else 415);
        "garbage" answers 200 with no TimeStampResp; "error" answers 500; "slow" waits tsa.delay
        seconds, then answers as "ok" (or drops the connection if the TSA stops meanwhile);
        "other-digest" signs the request (nonce, certReq kept) over the digest of OTHER_DATA."""
        tsa: LocalTSA = self.server.tsa  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with tsa._lock:
            tsa.requests += 1
        mode = tsa.mode
        if mode == "slow":
            if tsa._stopping.wait(tsa.delay):
                return  # shutting down: drop the connection unanswered
            mode = "ok"
        if mode == "garbage":
            return self._send(200, b"this is not a timestamp", REPLY_TYPE)
        if mode == "error":
            return self._send(500, b"TSA failure (test)")
        if self.headers.get("Content-Type", "").split(";")[0].strip() != QUERY_TYPE:
            return self._send(415, b"expected " + QUERY_TYPE.encode())
        try:
            reply = tsa.reply(other_digest_query(body) if mode == "other-digest" else body)
        except (subprocess.CalledProcessError, ValueError, LookupError) as e:
            return self._send(400, b"bad TimeStampReq: " + (getattr(e, "stderr", b"") or b"?"))
        return self._send(200, reply, REPLY_TYPE)


def trusting(*urls: str, ca, timeout: int = 5):
    """Settings naming these TSAs and the CA file their tokens must verify under."""
    from django.test import override_settings

    return override_settings(
        TRACKER_TSA_URLS=list(urls), TRACKER_TSA_CA_FILE=str(ca), TRACKER_TSA_TIMEOUT=timeout
    )
