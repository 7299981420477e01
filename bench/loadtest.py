"""Load test: logged-in users browse incidents, open evidence and upload photos.

``make loadtest`` starts ``make serve``'s gunicorn (4 workers, PostgreSQL, the
demo case) and runs this against it; it can also be pointed at a server that
is already running: ``python bench/loadtest.py --logins var/serve/demo-logins.txt``.

Each virtual user logs in with its own session (the demo accounts, in turn),
then loops until the time is up: the incident list, an incident's page, the
evidence list with a few thumbnails and a preview (loaded at once, as a
browser does), the workspace pages when the server has them, and now and then
(researchers and editors) an upload of a newly generated photo through the
admin's upload form. Between pages it pauses as a reader does (``--think``).

Requests are sent one connection each through urllib with a cookie jar, as
nginx talks to gunicorn by default; the jar honours ``Secure``, so a server
that marks its cookies Secure over plain HTTP fails here as a browser would.
Figures, never a pass/fail verdict on speed: it exits 1 only when requests
failed. Loopback only: it refuses any other host.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import ipaddress
import itertools
import math
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evidence.tests.files import make_jpeg  # noqa: E402 - needs ROOT on the path

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}
ROLES = ("researcher", "reviewer", "editor")  # the demo accounts the users log in as
UPLOADERS = {"researcher", "editor"}
REQUEST_TIMEOUT = 30  # seconds; a request still unanswered then is a failure
PAGE_TARGET_MS = 300

# Request kinds, in report order; the first group is what the p95 target is about.
PAGES = (
    "incident list",
    "incident page",
    "evidence list",
    "workspace list",
    "workspace page",
    "upload form",
)
FILES = ("thumbnail", "preview")
WRITES = ("upload",)

INCIDENT_CHANGE = re.compile(r'href="/admin/tracker/incident/(\d+)/change/')
INCIDENT_CODE = re.compile(r"\bINC-\d+\b")
THUMBNAIL = re.compile(r'src="/evidence/(EV-\d+)/thumbnail"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
UPLOADED = re.compile(r"/admin/evidence/evidenceitem/\d+/change/$")
SEARCHES = ("", "", "", "?q=hospital", "?q=market", "?o=-2")


def loopback_base(url: str) -> str:
    """``url`` without a trailing slash, if it names this machine; else exit with why."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "http" or host not in LOOPBACK_NAMES:
        sys.exit(
            f"Refusing {url!r}: the load test runs against http://127.0.0.1 or localhost only."
        )
    addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 80)}
    if not all(ipaddress.ip_address(address).is_loopback for address in addresses):
        sys.exit(f"Refusing {url!r}: {host} resolves to {sorted(addresses)}, not loopback.")
    return url.rstrip("/")


def read_logins(path: Path) -> dict[str, str]:
    """user -> password from the demo logins file that ``load_demo`` writes."""
    logins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            logins[parts[0]] = parts[1]
    missing = [role for role in ROLES if role not in logins]
    if missing:
        sys.exit(f"{path} has no password for {', '.join(missing)}: run load_demo first.")
    return logins


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Stats:
    """Latencies and failures per request kind, shared by the user threads."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, ms: float, problem: str | None) -> None:
        with self.lock:
            self.latencies[kind].append(ms)
            if problem:
                self.failures[kind] += 1
                if len(self.examples[kind]) < 3:
                    self.examples[kind].append(problem)

    def total_failures(self) -> int:
        return sum(self.failures.values())


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Each request is measured alone: a redirect is an answer, not a second request."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class User:
    """One logged-in person: a session of its own, and the pages it has seen."""

    photos = itertools.count(1)  # each upload is a new photo (next() is atomic in CPython)

    def __init__(self, base: str, username: str, password: str, stats: Stats, args):
        self.base, self.username, self.password = base, username, password
        self.stats, self.args = stats, args
        self.deadline = math.inf
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirects()
        )
        self.incident_ids: list[str] = []
        self.incident_codes: list[str] = []
        self.evidence_codes: list[str] = []

    def send(
        self,
        kind: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        expect: int = 200,
        redirect_to: re.Pattern | None = None,
        media_type: str = "",
        record: bool = True,
    ) -> tuple[int, str]:
        """(status, body as text); a failure is recorded with its status, never the body."""
        # The base was checked to be http:// on loopback (loopback_base).
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})  # noqa: S310
        started = time.perf_counter()
        status, raw, location, problem, sent_type = 0, b"", "", None, ""
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT) as response:
                status, raw = response.status, response.read()
                sent_type = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:  # 3xx (redirects are not followed), 4xx, 5xx
            status, raw, location = exc.code, exc.read(), exc.headers.get("Location", "")
        except OSError as exc:
            problem = f"{path}: {type(exc).__name__}: {exc}"
        ms = (time.perf_counter() - started) * 1000
        if problem is None and status != expect:
            problem = f"{path}: HTTP {status} (expected {expect})"
        elif problem is None and redirect_to and not redirect_to.search(location):
            problem = f"{path}: redirected to {location or 'nowhere'}"
        elif problem is None and media_type and sent_type != media_type:
            problem = f"{path}: sent as {sent_type or 'no type'} (expected {media_type})"
        if record:
            self.stats.record(kind, ms, problem)
        if raw[:2] == b"\xff\xd8":  # a JPEG: nothing to parse
            return status, ""
        return status, raw.decode("utf-8", "replace")

    def log_in(self) -> None:
        _, html = self.send("login form", "/admin/login/")
        token = csrf_token(html)
        if token is None:
            self.stats.record("login", 0, "/admin/login/: no CSRF token in the form")
            return
        form = {"username": self.username, "password": self.password, "next": "/admin/"}
        self.send(
            "login",
            "/admin/login/",
            data=urllib.parse.urlencode({**form, "csrfmiddlewaretoken": token}).encode(),
            expect=302,
            redirect_to=re.compile(r"/admin/$"),
        )

    def loop(self) -> None:
        """Visit after visit until the deadline; a request started before it counts."""
        while time.monotonic() < self.deadline:
            self.browse_incidents()
            self.open_evidence()
            if self.args.workspace:
                self.browse_workspace()
            if self.username in UPLOADERS and random.random() < self.args.upload_share:
                self.upload_photo()

    def pause(self) -> None:
        low, high = self.args.think
        time.sleep(max(0.0, min(random.uniform(low, high), self.deadline - time.monotonic())))

    def browse_incidents(self) -> None:
        _, html = self.send("incident list", "/admin/tracker/incident/" + random.choice(SEARCHES))
        self.incident_ids = INCIDENT_CHANGE.findall(html) or self.incident_ids
        self.incident_codes = sorted(set(INCIDENT_CODE.findall(html))) or self.incident_codes
        self.pause()
        if self.incident_ids and time.monotonic() < self.deadline:
            pk = random.choice(self.incident_ids)
            self.send("incident page", f"/admin/tracker/incident/{pk}/change/")
            self.pause()

    def open_evidence(self) -> None:
        if time.monotonic() >= self.deadline:
            return
        _, html = self.send("evidence list", "/admin/evidence/evidenceitem/")
        self.evidence_codes = THUMBNAIL.findall(html) or self.evidence_codes
        # The list's images load at once, as in a browser (which would cache them); then
        # the reader opens one preview.
        for code in random.sample(self.evidence_codes, min(4, len(self.evidence_codes))):
            self.send("thumbnail", f"/evidence/{code}/thumbnail", media_type="image/jpeg")
        if self.evidence_codes:
            code = random.choice(self.evidence_codes)
            self.send("preview", f"/evidence/{code}/preview", media_type="image/jpeg")
        self.pause()

    def browse_workspace(self) -> None:
        for kind, path in self.args.workspace.items():
            if time.monotonic() >= self.deadline:
                return
            code = random.choice(self.incident_codes) if self.incident_codes else "INC-0001"
            self.send(kind, path.replace("<code>", code))
            self.pause()

    def upload_photo(self) -> None:
        if time.monotonic() >= self.deadline:
            return
        _, html = self.send("upload form", "/admin/evidence/evidenceitem/add/")
        token = csrf_token(html)
        if token is None:
            return  # the form's failure is already recorded
        number = next(self.photos)
        photo = make_jpeg(
            colour=(number % 256, number // 256 % 256, 77), size=(1600, 1200), noise=True
        )
        fields = {
            "csrfmiddlewaretoken": token,
            "kind": "photo",
            "title": f"Load test photo {number}",
            "received_from": "load test",
        }
        body, content_type = multipart(fields, "files", f"loadtest-{number}.jpg", photo)
        # A refused file redirects too (to the list): only the new item's page is success.
        self.send(
            "upload",
            "/admin/evidence/evidenceitem/add/",
            data=body,
            headers={"Content-Type": content_type},
            expect=302,
            redirect_to=UPLOADED,
        )
        self.pause()


def csrf_token(html: str) -> str | None:
    found = CSRF.search(html)
    return found.group(1) if found else None


def multipart(fields: dict[str, str], name: str, filename: str, content: bytes):
    """A multipart/form-data body with ``fields`` and one JPEG file."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{filename}"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def wait_until_up(base: str, seconds: float) -> None:
    """Wait for the login page to answer 200; exit if it does not within ``seconds``."""
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/admin/login/", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    sys.exit(f"{base} did not answer within {seconds:.0f} s ({last}).")


def probe_workspace(user: User) -> dict[str, str]:
    """The workspace pages this server has (they answer 200), probed once."""
    _, html = user.send("probe", "/admin/tracker/incident/", record=False)
    codes = sorted(set(INCIDENT_CODE.findall(html)))
    found = {}
    if user.send("probe", "/incidents/", record=False)[0] == 200:
        found["workspace list"] = "/incidents/"
        if codes and user.send("probe", f"/incidents/{codes[0]}/", record=False)[0] == 200:
            found["workspace page"] = "/incidents/<code>/"
    return found


def in_threads(users: list[User], method: str, limit: float, at_once: int = 0) -> None:
    """Run ``user.<method>()`` for every user in a thread of its own, at most
    ``at_once`` at a time (0: all), waiting ``limit`` seconds at most."""
    gate = threading.Semaphore(at_once or len(users))

    def gated(user: User) -> None:
        with gate:
            getattr(user, method)()

    threads = [threading.Thread(target=gated, args=(user,), daemon=True) for user in users]
    for thread in threads:
        thread.start()
    ends = time.monotonic() + limit
    for thread in threads:
        thread.join(max(0.0, ends - time.monotonic()))


def table(stats: Stats, groups: dict[str, tuple[str, ...]], seconds: float) -> list[str]:
    """One line per request kind, then per group and in all."""
    lines = [f"{'request':<16} {'count':>6} {'failed':>6} {'median':>7} {'p95':>7} {'p99':>7}"]

    def row(name: str, values: list[float], failed: int) -> str:
        ordered = sorted(values)
        cells = [percentile(ordered, share) for share in (0.5, 0.95, 0.99)]
        figures = " ".join(f"{value:>7.0f}" for value in cells)
        return f"{name:<16} {len(values):>6} {failed:>6} {figures}"

    kinds = [kind for group in groups.values() for kind in group if stats.latencies.get(kind)]
    lines += [row(kind, stats.latencies[kind], stats.failures[kind]) for kind in kinds]
    lines.append("")
    for name, group in {**groups, "all": tuple(kinds)}.items():
        values = [ms for kind in group for ms in stats.latencies.get(kind, [])]
        if values:
            lines.append(row(name, values, sum(stats.failures[kind] for kind in group)))
    total = sum(len(values) for values in stats.latencies.values())
    lines.append(f"{total} requests in {seconds:.0f} s: {total / seconds:.1f} per second")
    return lines


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` and every process under it, the ended
    ones included: a gunicorn arbiter and its workers, nginx and its worker."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        process = int(stat.parent.name)
        parents[process] = int(fields[1])
        # Its own time and its ended children's (a worker gunicorn replaced meanwhile).
        times[process] = sum(int(value) for value in fields[11:15]) / tick
    family, grew = {pid}, True
    while grew:
        more = {p for p, parent in parents.items() if parent in family} - family
        family |= more
        grew = bool(more)
    return sum(times.get(p, 0.0) for p in family)


@dataclass
class Phase:
    users: int
    pages: int
    p95: float
    failures: int
    cpu_ms: dict[str, float]  # process name -> CPU ms per page

    @property
    def met(self) -> bool:
        return self.pages > 0 and self.p95 < PAGE_TARGET_MS and not self.failures


def load(args, base: str, logins: dict[str, str], count: int) -> Phase | None:
    """Log ``count`` users in, then let them browse for ``args.duration`` seconds; print
    the figures. None when the logins failed."""
    setup = Stats()
    users = []
    for number in range(count):
        role = ROLES[number % len(ROLES)]
        users.append(User(base, role, logins[role], setup, args))
    # People do not all log in within the same second, and a password check is
    # deliberately slow (PBKDF2): logins are spread, and measured apart from the load.
    started = time.monotonic()
    in_threads(users, "log_in", limit=600, at_once=args.login_at_once)
    seconds = time.monotonic() - started
    print(f"{count} users logged in (each its own session) in {seconds:.1f} s")
    print("\n".join(table(setup, {"login": ("login form", "login")}, seconds)))
    if setup.total_failures():
        for problems in setup.examples.values():
            print("\n".join(f"  {problem}" for problem in problems))
        return None
    args.workspace = probe_workspace(users[0])

    roles = ", ".join(f"{sum(u.username == role for u in users)} {role}" for role in ROLES)
    print(
        f"Load: {count} users ({roles}) for {args.duration:.0f} s against {base}; "
        f"pause {args.think[0]:g}-{args.think[1]:g} s between pages; "
        f"{args.upload_share:.0%} of researcher/editor visits upload a 1600x1200 photo; "
        f"workspace pages: {', '.join(args.workspace.values()) or 'not on this server'}.",
        flush=True,
    )
    # The client and the server share this machine: its load says how much else ran.
    load_before = os.getloadavg()[0]
    watched = {"gunicorn": args.server_pid, "nginx": args.proxy_pid}
    cpu_before = {name: cpu_seconds(pid) for name, pid in watched.items() if pid}
    stats = Stats()
    deadline = time.monotonic() + args.duration
    for user in users:
        user.stats, user.deadline = stats, deadline
    started = time.monotonic()
    in_threads(users, "loop", limit=args.duration + REQUEST_TIMEOUT * 4)
    seconds = time.monotonic() - started
    cpu_used = {name: cpu_seconds(watched[name]) - was for name, was in cpu_before.items()}

    groups = {"pages": PAGES, "files": FILES, "uploads": WRITES}
    print("\nmilliseconds per request (median, 95th and 99th percentile)")
    print("\n".join(table(stats, groups, seconds)))
    pages = sorted(ms for kind in PAGES for ms in stats.latencies.get(kind, []))
    p95 = percentile(pages, 0.95) if pages else math.inf
    if pages:
        verdict = "met" if p95 < PAGE_TARGET_MS else "missed"
        print(f"target p95 < {PAGE_TARGET_MS} ms for pages: {verdict} ({p95:.0f} ms)")
    print(f"target 0 failed requests: {'met' if not stats.total_failures() else 'missed'}")
    cpu_ms = {name: used * 1000 / max(1, len(pages)) for name, used in cpu_used.items()}
    for name, used in cpu_used.items():
        print(
            f"server CPU, {name}: {used:.1f} s for {len(pages)} pages (and the files and "
            f"uploads around them): {cpu_ms[name]:.1f} CPU-ms per page"
        )
    print(
        f"machine: {len(os.sched_getaffinity(0))} CPUs for client and server; load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    for kind, problems in stats.examples.items():
        print("\n".join(f"  {kind}: {problem}" for problem in problems))
    return Phase(count, len(pages), p95, stats.total_failures(), cpu_ms)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8001")
    parser.add_argument("--logins", type=Path, default=ROOT / "var" / "serve" / "demo-logins.txt")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--sweep",
        default="",
        help="user counts to run one after the other (10,20,30,50): the largest that keeps "
        "pages' p95 under the target with no failure is reported",
    )
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument(
        "--think", default="1-3", help="pause between pages, in seconds: LOW-HIGH (or 0)"
    )
    parser.add_argument(
        "--upload-share", type=float, default=0.2, help="share of visits that upload a photo"
    )
    parser.add_argument("--wait", type=float, default=120, help="seconds to wait for the server")
    parser.add_argument(
        "--login-at-once", type=int, default=4, help="logins in flight at a time, before the load"
    )
    parser.add_argument("--server-pid", type=int, default=0, help="gunicorn's arbiter (CPU time)")
    parser.add_argument("--proxy-pid", type=int, default=0, help="nginx's master (CPU time)")
    args = parser.parse_args()
    low, _, high = args.think.partition("-")
    args.think = (float(low), float(high or low))
    try:
        counts = [int(n) for n in args.sweep.replace(",", " ").split()] or [args.users]
    except ValueError:
        sys.exit(f"--sweep takes user counts such as 10,20,30,50; got {args.sweep!r}.")

    base = loopback_base(args.url)
    logins = read_logins(args.logins)
    wait_until_up(base, args.wait)
    phases = []
    for count in counts:
        if len(counts) > 1:
            print(f"\n=== {count} users ===", flush=True)
        phase = load(args, base, logins, count)
        if phase is None:
            return 1
        phases.append(phase)
    if len(phases) > 1:
        print(f"\nsweep: pages p95 and server CPU per page by users ({args.duration:.0f} s each)")
        for p in phases:
            cpu = ", ".join(f"{name} {ms:.1f}" for name, ms in p.cpu_ms.items()) or "-"
            print(
                f"  {p.users:>4} users: {p.pages:>6} pages, p95 {p.p95:>6.0f} ms, "
                f"{p.failures} failed, CPU-ms per page: {cpu}{'  (target met)' if p.met else ''}"
            )
        best = max((p.users for p in phases if p.met), default=0)
        print(
            f"capacity: {best or 'none'} of {', '.join(str(c) for c in counts)} users with "
            f"pages p95 < {PAGE_TARGET_MS} ms and 0 failures"
        )
    return 1 if any(p.failures or not p.pages for p in phases) else 0


if __name__ == "__main__":
    sys.exit(main())
