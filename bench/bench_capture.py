"""Capture by link benchmarks (issue 20).

- one capture of a page with 20 distinct 1200x800 JPEGs and a 20 MB MP4 served on
  loopback: ``capturing.capture_now`` end to end, and the same capture by its pieces
  (``browser.load`` with each of its steps, ``capturing.package``, the storing through
  intake), against the floor: the same page loaded by Chromium alone (Playwright,
  ``wait_until="load"``, no interception), measured in the same run;
- the peak memory of the Python worker during a capture of a page with a 1 GB video
  (128 MB at quick scale; target < +100 MB over its resident memory before the
  capture), ``capture_now`` in a fresh child process, against the same capture of the
  page with a 1 MB video; beside it the summed PSS of the worker's own children
  (Playwright's driver, Chromium's processes, the media sandbox).

The pages are served by a small threaded HTTP server on 127.0.0.1 in this process
(``TRACKER_CAPTURE_ALLOW_PRIVATE`` lets the capture reach it). Every capture gets its
own variant of the page (``/v<N>/``): the same pictures and clip with other bytes after
their end, so no capture finds its files already held. The video is a real H.264 clip
(4 s, 640x360, ``demo.clips``) followed by a top-level MP4 ``free`` box of padding (a
random mebibyte repeated, so gzip gains nothing) up to its size; the 1 GB one is
generated as it is sent. The derivatives the stored items ask for are queued (the
database queue), as a worker's capture leaves them for other jobs, not made here.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from bench.harness import Figure, Report, Timing

DATABASE_BOUND = False  # files, Chromium and intake: the database hardly matters
IMAGES = 20
IMAGE_SIZE = (1200, 800)
VIDEO_MB = 20
SMALL_VIDEO_MB = 1  # the memory figure's baseline
BIG_VIDEO_MB = {"quick": 128, "full": 1024}
RUNS = {"quick": 1, "full": 5}
MEMORY_TARGET_MB = 100
CHROMIUM = "/usr/bin/chromium"
FLOOR_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
MIB = 2**20


# --- The pages -------------------------------------------------------------------------------


@cache
def _pictures() -> list[bytes]:
    """Distinct JPEGs: noise under coloured blocks placed by number."""
    from PIL import Image, ImageDraw

    pictures = []
    for n in range(IMAGES):
        rng = random.Random(f"bench-capture:{n}")
        image = Image.effect_noise(IMAGE_SIZE, 30).convert("RGB")
        draw = ImageDraw.Draw(image)
        for _ in range(8):
            x, y = rng.randrange(IMAGE_SIZE[0]), rng.randrange(IMAGE_SIZE[1])
            w, h = rng.randrange(100, 600), rng.randrange(100, 400)
            draw.rectangle((x, y, x + w, y + h), fill=tuple(rng.randrange(256) for _ in range(3)))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        pictures.append(out.getvalue())
    return pictures


@cache
def _clip() -> bytes:
    from demo import clips

    return clips.video(seed="bench-capture", seconds=4, size=(640, 360), audio=False)


@cache
def _padding() -> bytes:
    return random.Random(20).randbytes(MIB)


def _video(variant: int, megabytes: int):
    """The clip and a ``free`` box up to ``megabytes``: its size and its chunks, made as
    they are sent (nothing of the size held in memory)."""
    clip, size = _clip(), megabytes * MIB
    box = size - len(clip)  # the free box, its 8-byte header included
    marker = f"variant {variant} ".encode()

    def chunks():
        yield clip
        yield box.to_bytes(4, "big") + b"free" + marker
        left = box - 8 - len(marker)
        while left > 0:
            piece = _padding()[: min(left, MIB)]
            left -= len(piece)
            yield piece

    return size, chunks


def _page(variant: int, video: str) -> bytes:
    images = "".join(
        f'<p>Picture {n}: <img src="img-{n}.jpg" width="600" height="400"></p>'
        for n in range(IMAGES)
    )
    return (
        f"<!doctype html><html><head><title>Bench gallery {variant}</title></head><body>"
        f"<h1>Bench gallery {variant}</h1><p>Twenty pictures and a video, served on "
        f"loopback for the capture benchmark.</p>{images}"
        f'<video controls src="{video}"></video></body></html>'
    ).encode()


class _Site(BaseHTTPRequestHandler):
    """``/v<N>/page-<MB>.html``: the gallery with a video of MB megabytes;
    ``/v<N>/img-<k>.jpg`` and ``/v<N>/video-<MB>.mp4``: its files."""

    def do_GET(self) -> None:
        found = re.fullmatch(r"/v(\d+)/(page|img|video)-(\d+)\.(html|jpg|mp4)", self.path)
        if not found:
            self.send_error(404)
            return
        variant, what, number = int(found[1]), found[2], int(found[3])
        if what == "page":
            body = _page(variant, f"video-{number}.mp4")
            size, chunks, kind = len(body), lambda: [body], "text/html; charset=utf-8"
        elif what == "img":
            body = _pictures()[number % IMAGES] + f"variant {variant}".encode()
            size, chunks, kind = len(body), lambda: [body], "image/jpeg"
        else:
            (size, chunks), kind = _video(variant, number), "video/mp4"
        with contextlib.suppress(ConnectionError):  # Chromium stops reading a video early
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            for chunk in chunks():
                self.wfile.write(chunk)

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass


def _serving():
    from demo.capture import serving

    return serving(_Site)


# --- The capture, whole and by its pieces ----------------------------------------------------


def capture_by_pieces(url: str, user) -> dict:
    """The capture's own steps (as ``capture_now`` runs them), each timed: the seconds
    of each, and what was captured."""
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone
    from warcio.warcwriter import WARCWriter

    from evidence.capture import browser, capturing, fetching

    budget = fetching.Budget(
        max_bytes=settings.TRACKER_CAPTURE_MAX_MB * MIB, timeout=settings.TRACKER_CAPTURE_SECONDS
    )
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-capture-") as folder:
        work = Path(folder)
        archive = work / "capture.warc.gz"
        at = timezone.now()
        started = time.perf_counter()
        with archive.open("wb") as out:
            page = browser.load(url, work, WARCWriter(out, gzip=True), budget)
        seconds["browser.load"] = time.perf_counter() - started
        started = time.perf_counter()
        wacz = capturing.package(archive, page, work)
        seconds["WACZ packaging"] = time.perf_counter() - started
        started = time.perf_counter()
        with transaction.atomic():  # the files are promoted when it commits
            item = capturing._store(page, wacz, at=at, user=user, incident=None)
        seconds["storing (intake of the WACZ and the parts)"] = time.perf_counter() - started
        return {
            "seconds": seconds,
            "steps": dict(page.seconds),  # browser.load's own steps
            "requests": page.requests,
            "refused": page.refused,
            "not_made": page.not_made,
            "media": len(page.media),
            "parts": item.web.parts.count() if item is not None else 0,
            "warc_mb": archive.stat().st_size / MIB,
            "wacz_mb": wacz.stat().st_size / MIB,
        }


def floor(url: str) -> dict[str, float]:
    """The same page in Chromium alone: Playwright's driver and Chromium started, the
    page loaded (``wait_until="load"``, no interception), both closed."""
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLOOR_ARGS)
        page = chromium.new_page()
        loading = time.perf_counter()
        page.goto(url, wait_until="load")
        loaded = time.perf_counter() - loading
        chromium.close()
    return {"whole": time.perf_counter() - started, "load": loaded}


def _timing(samples: list[float]) -> Timing:
    return Timing(statistics.median(samples), min(samples), max(samples), len(samples))


def _speed(report: Report, scale: str, site: str, user) -> None:
    from evidence.capture import capturing

    runs = RUNS[scale]
    variants = iter(range(1, 1_000_000))

    def url() -> str:
        return f"{site}/v{next(variants)}/page-{VIDEO_MB}.html"

    # Warm-up: Chromium's first start, the disk cache, the capture's first imports.
    floor(url())
    capturing.capture_now(url(), by=user)
    # Taken in turn, so that a machine busier for a while slows all three alike.
    floors, pieces, wholes = [], [], []
    for _ in range(runs):
        floors.append(floor(url()))
        pieces.append(capture_by_pieces(url(), user))
        started = time.perf_counter()
        said = capturing.capture_now(url(), by=user)
        wholes.append(time.perf_counter() - started)
    first = pieces[0]
    print(
        f"capture: {said}\ncapture: {first['requests']} requests, {first['media']} media found, "
        f"{first['parts']} parts stored, WARC {first['warc_mb']:.1f} MB, WACZ "
        f"{first['wacz_mb']:.1f} MB; refused: {first['refused'] or 'none'}; not made: "
        f"{first['not_made'] or 'nothing'}",
        flush=True,
    )
    whole_floor = _timing([f["whole"] for f in floors])
    load_floor = _timing([f["load"] for f in floors])
    what = f"a page with {IMAGES} {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} JPEGs and a {VIDEO_MB} MB video"
    alone = "s Chromium alone (driver and Chromium started, page loaded, closed)"
    report.add(
        Figure(
            f"capture: capture_now of {what}",
            statistics.median(wholes),
            "s",
            baseline=whole_floor.median,
            baseline_name=alone,
            target="reported: capture / Chromium alone",
            timing=_timing(wholes),
        )
    )
    browser_load = _timing([p["seconds"]["browser.load"] for p in pieces])
    report.add(
        Figure(
            "capture: browser.load (Chromium started, page loaded, its steps, closed)",
            browser_load.median,
            "s",
            baseline=whole_floor.median,
            baseline_name=alone,
            timing=browser_load,
        )
    )
    # The split: browser.load's own steps (Loaded.seconds), then packaging and storing.
    steps = {name: _timing([p["steps"].get(name, 0.0) for p in pieces]) for name in first["steps"]}
    report.add(
        Figure(
            "capture: the page's load in browser.load (goto, every request fetched by us)",
            steps["load"].median,
            "s",
            baseline=load_floor.median,
            baseline_name="s goto alone in Chromium alone",
            target="reported: load / Chromium's load",
            timing=steps["load"],
        )
    )
    rest = [p["seconds"]["browser.load"] - sum(p["steps"].values()) for p in pieces]
    steps["Chromium and its driver started and closed (the rest of browser.load)"] = _timing(rest)
    for name in ("WACZ packaging", "storing (intake of the WACZ and the parts)"):
        steps[name] = _timing([p["seconds"][name] for p in pieces])
    for name, timing in steps.items():
        if name == "load":
            continue
        report.add(
            Figure(
                f"capture: step: {name}",
                timing.median,
                "s",
                baseline=whole_floor.median,
                baseline_name=alone,
                timing=timing,
            )
        )


# --- Peak memory -----------------------------------------------------------------------------


def _pss_kb(pid: int) -> int:
    """A process's proportional share of resident memory (shared pages divided among
    the processes that map them: Chromium's processes share most of their code)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def _descendants(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def _hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def child(url: str, max_mb: int) -> None:
    """In a fresh interpreter (``-c``): one ``capture_now`` of ``url``; prints as JSON
    this process's resident memory before it and at its peak (VmHWM, reset just before),
    the peak of its child processes' summed PSS (sampled every 50 ms), the seconds it
    took and what it captured."""
    import django

    django.setup()
    import playwright.async_api  # noqa: F401 - imported before the baseline, as a worker has
    import wacz.main  # noqa: F401
    from django.contrib.auth.models import User
    from django.test import override_settings

    from evidence.capture import capturing
    from evidence.models import WebCapture

    user = User.objects.get(username="bench-capture")
    others, done = [0], threading.Event()

    def sample() -> None:  # the driver, Chromium's processes, the media sandbox
        while not done.wait(0.05):
            others[0] = max(others[0], sum(_pss_kb(pid) for pid in _descendants(os.getpid())))

    with override_settings(
        TRACKER_CAPTURE_ALLOW_PRIVATE=True,
        TRACKER_CAPTURE_MAX_MB=max_mb,
        TRACKER_CAPTURE_SECONDS=1800,
        TASKS=DATABASE,
        TRACKER_TASKS_BACKEND="database",
    ):
        Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here
        before = _hwm_kb()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        said = capturing.capture_now(url, by=user)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    peak = _hwm_kb()
    web = WebCapture.objects.select_related("item").order_by("-pk").first()
    print(
        json.dumps(
            {
                "before": before / 1024,
                "peak": peak / 1024,
                "others": others[0] / 1024,
                "seconds": seconds,
                "said": said,
                "requests": web.requests,
                "wacz_mb": web.item.size / MIB,
                "parts": web.parts.count(),
                "not_made": web.not_made,
                "refused": web.refused,
            }
        )
    )


def _in_child(url: str, max_mb: int) -> dict:
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root}
    code = f"from bench.bench_capture import child; child({url!r}, {max_mb})"
    out = subprocess.run(  # noqa: S603 - our interpreter, our module
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root
    )
    if out.returncode:
        raise RuntimeError(f"the capture child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _memory(report: Report, scale: str, site: str) -> None:
    big = BIG_VIDEO_MB[scale]
    # Room for the video twice (the page's request for it and the capture's own, when the
    # first is still under way) and the rest.
    small = _in_child(f"{site}/v900001/page-{SMALL_VIDEO_MB}.html", max_mb=2 * big + 512)
    large = _in_child(f"{site}/v900002/page-{big}.html", max_mb=2 * big + 512)
    for label, run in (("small", small), ("large", large)):
        print(
            f"capture: {label} video child: {run['before']:.0f} MB before, peak "
            f"{run['peak']:.0f} MB, its child processes' peak {run['others']:.0f} MB, "
            f"{run['seconds']:.1f} s: {run['said']} WACZ {run['wacz_mb']:.0f} MB, "
            f"{run['requests']} requests, {run['parts']} parts; refused: "
            f"{run['refused'] or 'none'}; not made: {run['not_made'] or 'nothing'}",
            flush=True,
        )
    added, floor_added = large["peak"] - large["before"], small["peak"] - small["before"]
    report.add(
        Figure(
            f"capture: peak memory of the Python worker over its own before, {big} MB video",
            added,
            "MB",
            baseline=floor_added,
            baseline_name=f"MB the same page with a {SMALL_VIDEO_MB} MB video",
            target=f"< +{MEMORY_TARGET_MB} MB",
        )
    )
    report.add(
        Figure(
            f"capture: the worker's child processes (Playwright's driver, Chromium, the media "
            f"sandbox), peak summed PSS, {big} MB video",
            large["others"],
            "MB",
            baseline=small["others"],
            baseline_name=f"MB with a {SMALL_VIDEO_MB} MB video",
        )
    )
    report.add(
        Figure(
            f"capture: capture_now of the page with a {big} MB video (in the child)",
            large["seconds"],
            "s",
            baseline=small["seconds"],
            baseline_name=f"s with a {SMALL_VIDEO_MB} MB video",
        )
    )


def run(report: Report, *, scale: str, database_only: bool = False) -> None:
    from django.contrib.auth.models import User
    from django.test import override_settings

    user, _ = User.objects.get_or_create(username="bench-capture")
    user.is_superuser = user.is_staff = True
    user.save()
    _pictures(), _clip()  # made before any clock starts
    intake_log = logging.getLogger("evidence.intake")
    level = intake_log.level
    intake_log.setLevel(logging.WARNING)  # not a line per stored file
    try:
        with (
            _serving() as site,
            override_settings(
                TRACKER_CAPTURE_ALLOW_PRIVATE=True,
                TASKS=DATABASE,
                TRACKER_TASKS_BACKEND="database",
            ),
        ):
            _speed(report, scale, site, user)
            _memory(report, scale, site)
    finally:
        intake_log.setLevel(level)
