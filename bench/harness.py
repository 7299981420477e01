"""The benchmark harness: repeated timings with a baseline measured in the same run.

Every figure is the median of several runs after a warm-up, printed with its
min and max, next to a baseline measured in the same process on the same data:

    name: value unit (baseline: value, ratio: x)  [min .. max, n runs]

Benchmarks are never pass/fail tests; targets are printed beside the figures.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Timing:
    median: float
    low: float
    high: float
    runs: int


def time_it(fn: Callable[[], object], *, runs: int = 5, warmup: int = 1) -> Timing:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return Timing(statistics.median(samples), min(samples), max(samples), runs)


def peak_rss_delta_mb(code: str, *, setup: str = "") -> float:
    """Peak resident memory that ``code`` adds, measured in a fresh Python process.

    ``setup`` runs first (imports, Django set-up); only what ``code`` adds on top
    of it is reported. The peak is the kernel's VmHWM of the child's own address
    space (getrusage's maxrss would inherit the parent's peak across exec)."""
    script = (
        "def hwm():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1])\n"
        f"{setup}\n"
        "before = hwm()\n"
        f"{code}\n"
        "after = hwm()\n"
        "print((after - before) / 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=os.environ, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def own_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    timing: Timing | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        line = f"{figure.name}: {figure.value:.3f} {figure.unit}"
        if figure.baseline is not None:
            line += f" (baseline: {figure.baseline:.3f}"
            if figure.baseline_name:
                line += f" {figure.baseline_name}"
            line += f", ratio: {figure.ratio:.2f}x)"
        if figure.timing:
            t = figure.timing
            line += f"  [min {t.low * 1000:.1f} ms .. max {t.high * 1000:.1f} ms, {t.runs} runs]"
        if figure.target:
            line += f"  target: {figure.target}"
        print(line, flush=True)
        return figure

    def summary(self) -> None:
        print("\n== summary ==")
        width = max((len(f.name) for f in self.figures), default=10)
        print(f"{'figure':<{width}}  {'value':>12}  {'baseline':>12}  {'ratio':>7}  target")
        for f in self.figures:
            base = f"{f.baseline:.3f}" if f.baseline is not None else "-"
            ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "-"
            value = f"{f.value:>8.3f} {f.unit:<3}"
            print(f"{f.name:<{width}}  {value}  {base:>12}  {ratio:>7}  {f.target}")


def ready_for_queries() -> None:
    """Planner statistics for every table, as autovacuum gives a live database a minute
    after a bulk load; without them PostgreSQL guessed plans that cost 5-15x (a page of
    the incident list with a search, 287 ms instead of 21 ms)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def server_client(client):
    """A client with ``client``'s session that asks as a server is asked: the request
    handler alone. The test client also keeps a copy of every rendered template's context
    for the tests to read (a signal per template), which no server pays; pages made of
    many templates would be timed with that cost."""
    from django.test import Client

    class ServerClient(Client):
        def request(self, **request):
            response = self.handler(self._base_environ(**request))
            self.cookies.update(response.cookies)
            return response

    made = ServerClient()
    made.cookies = client.cookies
    return made


def superuser_client(scale: str, sizes: dict[str, dict[str, int]], username: str = "bench-admin"):
    """A test client logged in as a superuser, on the generated case of ``scale``
    (generated once per run, shared by every benchmark that reads it)."""
    import contextlib

    from django.contrib.auth.models import User
    from django.test import Client
    from django.test.utils import setup_test_environment

    from bench.generate import generate
    from tracker.models import Incident

    with contextlib.suppress(RuntimeError):  # another benchmark set it up already
        setup_test_environment()  # lets the test client in (ALLOWED_HOSTS, contexts)
    if not Incident.objects.exists():
        print(f"generating {sizes[scale]} ...", flush=True)
        for step, seconds in generate(**sizes[scale]).items():
            print(f"  {step}: {seconds:.1f} s", flush=True)
        ready_for_queries()
    user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
    user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client
