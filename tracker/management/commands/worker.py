"""``manage.py worker``: run background jobs (``tracker.jobs``) until stopped.

Runs the configured task backend's worker (``TRACKER_TASKS_BACKEND``: the database
queue's ``db_worker``, or RQ's worker on ``REDIS_URL``) and, beside it, the clock: every
``TRACKER_CLOCK_SECONDS`` it queues again what a dead worker held, hands over work the
queue did not take, and starts periodic work (fixity). Start as many workers as the
machines allow; each runs one job at a time. Ctrl-C or SIGTERM stops it after the job
in hand.

``--burst`` runs what is queued now, then exits (scripts and tests).
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connections

from tracker import jobs


class Clock(threading.Thread):
    def __init__(self, seconds: float) -> None:
        super().__init__(name="tracker-clock", daemon=True)
        self.seconds = seconds
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.seconds):
            try:
                close_old_connections()
                jobs.tick()
            except Exception:  # a database restarting: log it, tick again later
                jobs.log.exception("the clock could not tick")
            finally:
                connections.close_all()


class Command(BaseCommand):
    help = "Run background jobs (thumbnails, court bundles, imports, fixity) until stopped."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--burst", action="store_true", help="Run what is queued now, then exit."
        )

    def handle(self, *args, burst: bool, **options) -> None:
        backend = settings.TRACKER_TASKS_BACKEND
        if backend == "immediate":
            raise CommandError(
                "TRACKER_TASKS_BACKEND=immediate runs work where it is asked for: no worker "
                "is needed (set database or rq to run one)."
            )
        verbosity = options["verbosity"]
        jobs.tick()  # first of all, what was left when the workers last stopped
        connections.close_all()  # RQ forks a process per job: none inherits a connection
        clock = None
        if not burst:
            clock = Clock(settings.TRACKER_CLOCK_SECONDS)
            clock.start()
        try:
            if backend == "rq":
                names = ["default"]
                call_command(
                    "rqworker",
                    *names,
                    burst=burst,
                    # RQ's jobs as the Tasks API's (django-tasks-rq's job class).
                    job_class="django_tasks_rq.backend.Job",
                    verbosity=max(0, verbosity - 1),
                )
            else:
                call_command(
                    "db_worker",
                    queue_name="default",
                    batch=burst,
                    reload=False,
                    startup_delay=False,
                    # An idle worker looks for work four times a second: one indexed
                    # query each, and a job waits at most this long for a free worker.
                    interval=0.25,
                    # The jobs log one line each (tracker.jobs); the queue's own lines
                    # (two per task, by task id) only at -v 2.
                    verbosity=max(0, verbosity - 1),
                )
        finally:
            if clock is not None:
                clock.stopped.set()
