"""Background work benchmarks (issue: background work on Django's Tasks API).

- the upload of one 24 MP JPEG through the admin's upload page: derivatives made
  inside the request (as before) and enqueued (now), against the same upload to a bare
  view that only stores and hashes it (target: enqueued within 1.3x);
- N photos of 24 MP (40, or 500 at full scale) through ``ingest``, then the queue
  drained by 1 and by 2 worker processes (the database queue, and RQ where Redis
  answers), against the inline loop (ingest making each photo's derivatives); target:
  2 workers at least 1.7x faster than 1;
- the jobs page with 10,000 jobs (target < 300 ms).

- a scheduled fixity run (one worker) over every original stored above, in MiB/s,
  against raw hashlib over the same files (target >= 0.8x).
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import Figure, Report, time_it

DATABASE_BOUND = True  # every job is rows in the database queue
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
RQ = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
REDIS_URL = "redis://127.0.0.1:6379/14"  # a database of the benchmark's own


DISTINCT = 16  # distinct pictures; more photos repeat them with other bytes at the end


class Photos:
    """Distinct files of 24 MP photos. ``DISTINCT`` pictures (noise under large shapes
    placed by number, so that no two are near-duplicates: the near-duplicate search
    would otherwise link every photo to every other), each repeated with other bytes
    after its end (another hash, the same pixels) when more files are needed."""

    def __init__(self) -> None:
        self.pictures: list[bytes] = []
        self.n = 0

    def picture(self, index: int) -> bytes:
        from PIL import Image, ImageDraw

        while len(self.pictures) <= index:
            k = len(self.pictures)
            img = Image.effect_noise((6000, 4000), 40).convert("RGB")
            draw = ImageDraw.Draw(img)
            for m in range(6):
                x, y = (k * 7 + m * 13) % 10 * 550, (k * 3 + m * 5) % 7 * 520
                shade = (k * 37 + m * 61) % 256
                draw.rectangle([x, y, x + 1500, y + 1200], fill=(shade, 255 - shade, m * 40))
            out = io.BytesIO()
            img.save(out, "JPEG", quality=90)
            self.pictures.append(out.getvalue())
        return self.pictures[index]

    def next(self) -> bytes:
        self.n += 1
        return self.picture(self.n % DISTINCT) + self.n.to_bytes(8, "big")


def _store_alone(request):
    """The floor of an upload: Django receives the request, and the file is stored
    and hashed (staged and promoted, as intake does), nothing else."""
    from django.http import HttpResponseRedirect

    from evidence.files import storage

    storage.promote(storage.stage(request.FILES["files"]))
    return HttpResponseRedirect("/")


def _urlpatterns():
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    return [path("bench-store/", csrf_exempt(_store_alone))]


def __getattr__(name: str):  # this module is the floor's URLconf (urlpatterns, lazily)
    if name == "urlpatterns":
        return _urlpatterns()
    raise AttributeError(name)


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _drain(workers: int, backend: str) -> float:
    """Seconds for ``workers`` worker processes to run what is queued, then exit."""
    env = {**os.environ, "TRACKER_TASKS_BACKEND": backend, "REDIS_URL": REDIS_URL}
    root = Path(__file__).resolve().parent.parent
    start = time.perf_counter()
    running = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", "worker", "--burst", "-v", "0"], cwd=root, env=env
        )
        for _ in range(workers)
    ]
    for process in running:
        process.wait()
    return time.perf_counter() - start


def run(report: Report, *, scale: str) -> None:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client, override_settings
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from evidence import intake
    from evidence.files import storage
    from tracker.models import Job

    with contextlib.suppress(RuntimeError):  # another benchmark set it up already
        setup_test_environment()
    user, _ = User.objects.get_or_create(
        username="bench-jobs", defaults={"is_staff": True, "is_superuser": True}
    )
    photos = Photos()
    photos.picture(DISTINCT - 1)  # made before any timing
    mb = len(photos.picture(0)) / 2**20

    # --- one upload: inline, enqueued, and storing and hashing alone ---------------------
    client = Client()
    client.force_login(user)
    url = reverse("admin:evidence_evidenceitem_add")

    def upload() -> None:
        files = SimpleUploadedFile("field.jpg", photos.next(), "image/jpeg")
        response = client.post(url, {"files": files, "kind": "photo"})
        assert response.status_code == 302, response.status_code

    def store_alone() -> None:  # the same request to a view that only stores and hashes
        files = SimpleUploadedFile("field.jpg", photos.next(), "image/jpeg")
        response = client.post("/bench-store/", {"files": files})
        assert response.status_code == 302, response.status_code

    with override_settings(ROOT_URLCONF="bench.bench_jobs"):
        alone = time_it(store_alone, runs=5)
    with override_settings(TASKS=IMMEDIATE, TRACKER_TASKS_BACKEND="immediate"):
        inline = time_it(upload, runs=5)
    with override_settings(TASKS=DATABASE, TRACKER_TASKS_BACKEND="database"):
        queued = time_it(upload, runs=5)
    for label, timing in (("derivatives inside the request", inline), ("enqueued", queued)):
        report.add(
            Figure(
                f"jobs: upload of a {mb:.0f} MB 24 MP JPEG, {label}",
                timing.median * 1000,
                "ms",
                baseline=alone.median * 1000,
                baseline_name="ms the same upload to a view that only stores and hashes",
                target="enqueued: ratio <= 1.3" if timing is queued else "",
                timing=timing,
            )
        )
    Job.objects.all().delete()  # the queue's own rows stay: a worker finds no job for them

    # --- N photos: the inline loop, then the queue drained by 1 and 2 workers ------------
    count = 500 if scale == "full" else 40

    def ingest_all() -> float:
        start = time.perf_counter()
        for _ in range(count):
            intake.ingest(io.BytesIO(photos.next()), filename="f.jpg", kind="photo", by=user)
        return time.perf_counter() - start

    with override_settings(TASKS=IMMEDIATE, TRACKER_TASKS_BACKEND="immediate"):
        loop = ingest_all()
    report.add(Figure(f"jobs: {count} photos, ingest making derivatives inline", loop, "s"))
    queues = [("database", DATABASE, {})]
    if _redis_answers():
        queues.append(("rq", RQ, {"RQ_QUEUES": {"default": {"URL": REDIS_URL}}}))
    else:
        print("jobs: Redis does not answer at 127.0.0.1:6379: RQ figures skipped")
    for backend, tasks, extra in queues:
        drained = {}
        for workers in (1, 2):
            with override_settings(TASKS=tasks, TRACKER_TASKS_BACKEND=backend, **extra):
                if backend == "rq":
                    import django_rq

                    django_rq.get_queue("default").empty()
                ingested = ingest_all()
                drained[workers] = _drain(workers, backend)
            left = Job.objects.exclude(state=Job.State.DONE).count()
            assert left == 0, f"{left} jobs not done"
            report.add(
                Figure(
                    f"jobs ({backend}): {count} photos ingested then drained by {workers} "
                    "worker(s)",
                    ingested + drained[workers],
                    "s",
                    baseline=loop,
                    baseline_name="s inline loop",
                )
            )
            Job.objects.all().delete()
        report.add(
            Figure(
                f"jobs ({backend}): queue drained by 2 workers, speed-up over 1",
                drained[1] / drained[2],
                "x",
                target=">= 1.7",
            )
        )

    # --- fixity: one worker's pass against raw hashlib over the same originals ----------
    from django.utils import timezone

    from bench.bench_intake import _raw_hash
    from evidence.files import fixity_runs
    from evidence.models import EvidenceItem

    stored = [
        storage.path_of(key) for key in EvidenceItem.objects.values_list("original_path", flat=True)
    ]
    size_mb = sum(path.stat().st_size for path in stored) / 2**20
    start = time.perf_counter()
    summary = fixity_runs.run(started=timezone.now(), budget=3600)
    passed = time.perf_counter() - start
    start = time.perf_counter()
    for path in stored:
        _raw_hash(path)
    raw = time.perf_counter() - start
    report.add(
        Figure(
            f"fixity: one worker re-hashing {len(stored)} originals ({size_mb:.0f} MiB), "
            f"{summary.checked} checked",
            size_mb / passed,
            "MiB/s",
            baseline=size_mb / raw,
            baseline_name="MiB/s raw hashlib",
            target="ratio >= 0.8",
        )
    )

    # --- the jobs page with 10,000 jobs --------------------------------------------------
    Job.objects.bulk_create(
        Job(kind="fixity", key=f"bench:{n}", state=Job.State.DONE, requested_by=user)
        for n in range(10_000)
    )
    jobs_url = reverse("admin:tracker_job_changelist")
    page = time_it(lambda: client.get(jobs_url), runs=5)
    report.add(
        Figure("jobs: the jobs page, 10,000 jobs", page.median * 1000, "ms", target="< 300 ms")
    )
    Job.objects.all().delete()
