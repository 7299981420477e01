"""Background work through the real queues: the database queue (the default) and RQ on
the real Redis, with real worker processes killed, Redis stopped and started again, a
Redis that never answers, and eight workers on one queue.

The RQ tests need Redis at REDIS_URL (127.0.0.1:6379 here and in CI); where it is absent
they are skipped with a message saying so. The test that stops Redis starts its own
``redis-server`` on a free loopback port.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from evidence.files import custody, storage
from evidence.files.tests.test_verify_evidence import database_url
from evidence.models import CustodyEvent, Derivative, EvidenceItem
from evidence.tests.files import make_jpeg
from evidence.tests.intake_helpers import ingest
from tracker import jobs
from tracker.models import Job

pytestmark = pytest.mark.django_db(transaction=True)  # committed: the workers see it

DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
RQ = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
# A Redis database of this test run's own (the queue is shared by whoever uses the db).
REDIS_DB = random.Random(os.getpid()).randrange(1, 16)
# TEST_WORKER_VERBOSITY=2 shows what the worker processes print, in a failing test.
VERBOSITY = os.environ.get("TEST_WORKER_VERBOSITY", "0")

IMAGE_KINDS = {Derivative.Kind.THUMBNAIL, Derivative.Kind.PREVIEW}  # what a photo gets


def redis_url(port: int = 6379, timeout: int = 2) -> str:
    query = f"socket_timeout={timeout}&socket_connect_timeout={timeout}"
    return f"redis://127.0.0.1:{port}/{REDIS_DB}?{query}"


def redis_answers(port: int = 6379) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def database_queue(settings):
    settings.TRACKER_TASKS_BACKEND = "database"
    settings.TASKS = DATABASE


@pytest.fixture
def rq_queue(settings):
    if not redis_answers():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379: the RQ tests need it")
    settings.TRACKER_TASKS_BACKEND = "rq"
    settings.TASKS = RQ
    settings.RQ_QUEUES = {"default": {"URL": redis_url()}}
    import django_rq
    from redis import Redis

    queue = django_rq.get_queue("default", connection=Redis.from_url(redis_url()))
    queue.empty()
    yield
    queue.empty()


@contextlib.contextmanager
def signals_kept():
    """The database worker sets SIGINT and SIGTERM handlers: give pytest its own back."""
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, handler)


def run_worker_here() -> None:
    """``manage.py worker --burst`` in this process (what is queued now, then exit)."""
    with signals_kept():
        call_command("worker", burst=True, verbosity=0)


def worker_env(backend: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "TRACKER_DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": database_url(),
        "TRACKER_TASKS_BACKEND": backend,
        **extra,
    }
    return env


def start_worker(backend: str, *args: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "worker", "-v", VERBOSITY, *args],
        cwd=settings.BASE_DIR,
        env=worker_env(backend, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def photos(count: int, size=(64, 48)) -> list[bytes]:
    return [make_jpeg(colour=(n * 7 % 255, 90, 200 - n), size=size) for n in range(count)]


def assert_derivatives_whole(items: list[EvidenceItem]) -> None:
    """Each item has one thumbnail and one preview, whose files hold what their rows
    say, and the custody log records each once; no other derivative file is there."""
    rows = set()
    for item in items:
        made = {d.kind: d for d in Derivative.objects.filter(item=item)}
        assert set(made) == IMAGE_KINDS, item.code
        for derivative in made.values():
            data = storage.path_of(derivative.path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == derivative.sha256
            rows.add(storage.path_of(derivative.path))
        events = CustodyEvent.objects.filter(item=item, action=CustodyEvent.Action.DERIVATIVE)
        assert sorted(e.details["kind"] for e in events) == sorted(IMAGE_KINDS)
        assert custody.verify_chain(item) == []
    folder = Path(settings.DATA_DIR) / "derivatives"
    on_disk = {p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")}
    assert on_disk == rows


# --- the database queue ------------------------------------------------------------------


def test_the_database_queue_makes_thumbnails_after_the_upload(database_queue, researcher):
    from django_tasks_db.models import DBTaskResult

    item = ingest(make_jpeg(), by=researcher).item
    job = Job.objects.get(kind=Job.Kind.DERIVATIVES, target=item.code)
    assert job.state == Job.State.QUEUED and job.handed_over_at is not None
    assert DBTaskResult.objects.filter(id=job.task_id, status="READY").exists()
    assert not Derivative.objects.filter(item=item).exists()  # the upload did not wait

    run_worker_here()
    job.refresh_from_db()
    assert job.state == Job.State.DONE and job.attempts == 1
    assert_derivatives_whole([item])


def test_a_worker_killed_mid_job_leaves_nothing_half_written(database_queue, researcher):
    """SIGKILL while a job runs: its lease lapses, the clock queues it again and another
    worker finishes it; every derivative is whole and recorded once."""
    big = [  # about half a second each to derive (PNG has no JPEG draft mode)
        make_png_of((4000, 3000), (n * 30, 120, 200)) for n in range(6)
    ]
    items = [
        ingest(data, by=researcher, filename=f"scan-{n}.png").item for n, data in enumerate(big)
    ]
    worker = start_worker("database", TRACKER_JOB_LEASE_SECONDS="1")
    try:
        running = wait_for(lambda: Job.objects.filter(state=Job.State.RUNNING).first(), 120)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    running.refresh_from_db()
    assert running.state == Job.State.RUNNING  # killed in the middle of it
    time.sleep(1.2)  # the killed worker's lease lapses

    run_worker_here()  # its clock queues the job again; it runs what is queued
    for job in Job.objects.filter(kind=Job.Kind.DERIVATIVES):
        assert job.state == Job.State.DONE, (job.key, job.state, job.error)
    running.refresh_from_db()
    assert running.attempts == 2
    assert_derivatives_whole(items)


def test_a_failing_job_is_retried_by_the_workers_then_failed_never_dropped(
    database_queue, researcher
):
    """The original's storage is not there (a volume not mounted yet): the job is tried
    again by a later worker run; back in time, it succeeds. Gone for good: after the
    last attempt the job is failed with its error."""
    items = [ingest(data, by=researcher).item for data in photos(2)]
    moved = []
    for item in items:
        original = storage.path_of(item.original_path)
        away = original.with_name(original.name + ".away")
        original.rename(away)
        moved.append((original, away))
    for attempt in (1, 2):
        run_worker_here()
        for job in Job.objects.filter(kind=Job.Kind.DERIVATIVES):
            assert (job.state, job.attempts) == (Job.State.QUEUED, attempt), job.error
            assert job.error.startswith("FileNotFoundError")
        Job.objects.update(run_after=timezone.now())  # the wait before the next attempt
    original, away = moved[0]
    away.rename(original)  # the first is back before its last attempt
    run_worker_here()
    back, gone = (Job.objects.get(target=item.code) for item in items)
    assert (back.state, back.attempts) == (Job.State.DONE, 3)
    assert (gone.state, gone.attempts) == (Job.State.FAILED, 3)
    assert gone.error.startswith("FileNotFoundError") and gone.finished_at
    run_worker_here()
    gone.refresh_from_db()
    assert gone.state == Job.State.FAILED  # failed is final until an Editor tries again


def test_eight_workers_on_one_queue_never_run_a_job_twice(database_queue, researcher):
    items = [ingest(data, by=researcher).item for data in photos(16)]
    for job in Job.objects.all():
        for _ in range(3):  # the same job handed over again and again
            jobs.run_job.enqueue(job.pk)
    workers = [start_worker("database", "--burst") for _ in range(8)]
    for worker in workers:
        output, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0, output
    assert set(Job.objects.values_list("state", "attempts")) == {(Job.State.DONE, 1)}
    assert_derivatives_whole(items)


# --- RQ on Redis -------------------------------------------------------------------------


def test_rq_on_redis_makes_thumbnails_in_a_worker_process(rq_queue, researcher):
    item = ingest(make_jpeg(), by=researcher).item
    job = Job.objects.get(target=item.code)
    assert job.handed_over_at is not None and job.task_id
    import django_rq

    assert django_rq.get_queue("default").fetch_job(job.task_id) is not None

    worker = start_worker("rq", "--burst", REDIS_URL=redis_url())
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, output
    job.refresh_from_db()
    assert job.state == Job.State.DONE, output
    assert_derivatives_whole([item])


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own on a free loopback port, which the test may
    stop and start again (it keeps nothing on disk, like the machine's)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed: the test that stops Redis needs it")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state: dict = {"port": port, "process": None}

    def start() -> None:
        state["process"] = subprocess.Popen(  # noqa: S603 - Debian's redis-server
            [
                server,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
        )
        wait_for(lambda: redis_answers(port), 30)

    def stop() -> None:
        state["process"].terminate()
        state["process"].wait(timeout=30)

    state["start"], state["stop"] = start, stop
    start()
    yield state
    if state["process"].poll() is None:
        stop()


def test_an_rq_worker_killed_mid_job_leaves_nothing_half_written(rq_queue, researcher):
    big = [make_png_of((4000, 3000), (n * 30, 120, 200)) for n in range(6)]
    items = [ingest(data, by=researcher, filename=f"{n}.png").item for n, data in enumerate(big)]
    worker = start_worker("rq", REDIS_URL=redis_url(), TRACKER_JOB_LEASE_SECONDS="1")
    try:
        running = wait_for(lambda: Job.objects.filter(state=Job.State.RUNNING).first(), 120)
        kill_tree(worker.pid)  # the worker and RQ's process running the job
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            kill_tree(worker.pid)
    running.refresh_from_db()
    assert running.state == Job.State.RUNNING
    time.sleep(1.2)
    finisher = start_worker("rq", "--burst", REDIS_URL=redis_url())
    output, _ = finisher.communicate(timeout=300)
    assert finisher.returncode == 0, output
    for job in Job.objects.all():
        assert job.state == Job.State.DONE, (job.key, job.state, job.error)
    running.refresh_from_db()
    assert running.attempts == 2
    assert_derivatives_whole(items)


def test_redis_stopped_while_uploading_loses_no_work(rq_queue, own_redis, researcher, settings):
    settings.RQ_QUEUES = {"default": {"URL": redis_url(own_redis["port"])}}
    first = ingest(make_jpeg(colour=(1, 2, 3)), by=researcher).item
    own_redis["stop"]()
    second = ingest(make_jpeg(colour=(4, 5, 6)), by=researcher).item  # the upload succeeds
    assert EvidenceItem.objects.filter(pk=second.pk).exists()
    waiting = Job.objects.get(target=second.code)
    assert (waiting.state, waiting.handed_over_at) == (Job.State.QUEUED, None)

    own_redis["start"]()  # back, and empty: the first job's task was lost with it
    assert jobs.tick()["handed_over"] == 1  # the second job, which Redis never took
    Job.objects.filter(target=first.code).update(
        handed_over_at=timezone.now() - jobs.STALE_HAND_OVER - timedelta(seconds=1)
    )
    assert jobs.tick()["handed_over"] == 1  # the first, which Redis lost
    worker = start_worker("rq", "--burst", REDIS_URL=redis_url(own_redis["port"]))
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, output
    assert set(Job.objects.values_list("state", flat=True)) == {Job.State.DONE}
    assert_derivatives_whole([first, second])


def test_a_redis_that_never_answers_costs_a_timeout_not_a_hang(rq_queue, researcher, settings):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (the kernel does), never answers
    settings.RQ_QUEUES = {"default": {"URL": redis_url(silent.getsockname()[1], timeout=1)}}
    done: dict = {}

    def upload() -> None:
        done["item"] = ingest(make_jpeg(), by=researcher).item

    try:
        thread = threading.Thread(target=upload, daemon=True)
        thread.start()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the upload hung on a silent Redis"
    finally:
        silent.close()
    job = Job.objects.get(target=done["item"].code)
    assert (job.state, job.handed_over_at) == (Job.State.QUEUED, None)  # for the clock


# --- helpers -----------------------------------------------------------------------------


def make_png_of(size, colour) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and its children (RQ runs each job in a child process of its own
    process group, which a signal to the worker's group would miss)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)


def wait_for(condition, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError(f"not within {seconds} s")
