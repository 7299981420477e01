"""8 processes x 50 read-then-write transactions on one database.

Each process, in each of its 50 rounds:

1. creates an incident and submits it, in one transaction (a code from the
   shared counter, a transition of a record no one else touches);
2. has a reviewer verify that incident (a second transaction);
3. reads one of a few *shared* submitted incidents and takes the step its state
   allows (request changes, or resubmit): every process races every other on
   these, and transition() must let exactly one of two readers of the same
   state win.

Afterwards: no error at all (so no "database is locked"), 400 incidents with
400 distinct codes and the counter at exactly 400 more, every own incident
verified through exactly two review events, and each shared incident's review
events a single unbroken chain (each starts from the state the previous one
left) whose length is the number of wins the processes counted: no update was
lost or applied twice.

Processes, not threads: separate interpreters with their own connections, as
gunicorn workers are. Django is set up in each child from the environment, on
this test's database, so this module imports no model at the top.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from datetime import UTC, datetime

import pytest
from django.conf import settings

PROCESSES = 8
ROUNDS = 50
SHARED = 4
COMMENT = "The time on the video does not match the report."


def _round(n: int, worker: int, users: dict, shared_ids: list[int], result: dict) -> None:
    from django.db import transaction

    from tracker.models import Incident, ReviewStatus
    from tracker.workflow import Action, TransitionError, transition

    author, reviewer = users["author"], users["reviewer"]
    with transaction.atomic():
        own = Incident.objects.create(
            title=f"Process {worker} strike {n}",
            occurred_start=datetime(2019, 5, 1, 9, 0, tzinfo=UTC),
            created_by=author,
            updated_by=author,
        )
        transition(own, Action.SUBMIT, by=author)
    result["created"].append(own.code)
    transition(own, Action.VERIFY, by=reviewer)

    shared = Incident.objects.get(pk=shared_ids[(n + worker) % SHARED])
    if shared.status == ReviewStatus.SUBMITTED:
        action, by, comment = Action.REQUEST_CHANGES, reviewer, COMMENT
    else:
        action, by, comment = Action.SUBMIT, author, ""
    try:
        transition(shared, action, by=by, comment=comment)
    except TransitionError:
        result["refused"] += 1
    else:
        result["wins"][shared.pk] += 1


def work(environment: dict, worker: int, user_ids: dict, shared_ids: list, start, results):
    """One process: set Django up on the test database, run its rounds, report."""
    os.environ.update(environment)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection

    users = {role: User.objects.get(pk=pk) for role, pk in user_ids.items()}
    result = {"worker": worker, "created": [], "wins": Counter(), "refused": 0, "errors": []}
    start.wait(timeout=120)
    for n in range(ROUNDS):
        try:
            _round(n, worker, users, shared_ids, result)
        except Exception as exc:  # reported to the parent, which asserts there are none
            result["errors"].append(f"{type(exc).__name__}: {exc}")
    connection.close()
    results.put(result)


@pytest.mark.django_db(transaction=True)
def test_eight_processes_lose_no_update_and_share_no_code(researcher, reviewer):
    from evidence.files.tests.test_verify_evidence import database_url
    from tracker.models import CodeCounter, Incident, ReviewEvent, ReviewStatus
    from tracker.tests.factories import IncidentFactory
    from tracker.workflow import Action, transition

    shared = [IncidentFactory(created_by=researcher) for _ in range(SHARED)]
    for incident in shared:
        transition(incident, Action.SUBMIT, by=researcher)
    environment = {
        "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],
        "DJANGO_DEBUG": "1",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "TRACKER_DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": database_url(),
    }
    user_ids = {"author": researcher.pk, "reviewer": reviewer.pk}
    history_before = {incident.pk: incident.history.count() for incident in shared}
    shared_ids = [incident.pk for incident in shared]

    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(PROCESSES), context.Queue()
    processes = [
        context.Process(target=work, args=(environment, w, user_ids, shared_ids, start, results))
        for w in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    reports = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert [process.exitcode for process in processes] == [0] * PROCESSES

    errors = [error for report in reports for error in report["errors"]]
    assert errors == []  # among them, any "database is locked"

    # Codes: 400 new incidents, 400 distinct gap-free codes, the counter at +400.
    created = [code for report in reports for code in report["created"]]
    total = SHARED + PROCESSES * ROUNDS
    assert len(created) == len(set(created)) == PROCESSES * ROUNDS
    codes = sorted(Incident.objects.values_list("code", flat=True))
    assert codes == [f"INC-{n:04d}" for n in range(1, total + 1)]
    assert CodeCounter.objects.get(prefix="INC").last == total

    # Own incidents: each verified, through exactly submit then verify.
    own = Incident.objects.filter(code__in=created)
    assert set(own.values_list("status", flat=True)) == {ReviewStatus.VERIFIED}
    own_events = ReviewEvent.objects.filter(object_id__in=own.values("pk")).exclude(
        object_id__in=shared_ids
    )
    assert Counter(own_events.values_list("action", flat=True)) == {
        Action.SUBMIT: PROCESSES * ROUNDS,
        Action.VERIFY: PROCESSES * ROUNDS,
    }

    # Shared incidents: one unbroken chain each, as long as the wins counted.
    wins = sum((report["wins"] for report in reports), Counter())
    refused = sum(report["refused"] for report in reports)
    assert wins.total() + refused == PROCESSES * ROUNDS
    for incident in Incident.objects.filter(pk__in=shared_ids):
        events = list(
            ReviewEvent.objects.filter(
                content_type__model="incident", object_id=incident.pk
            ).order_by("pk")
        )
        assert len(events) == 1 + wins[incident.pk]  # the setup's submit, then the race
        assert [e.from_status for e in events[1:]] == [e.to_status for e in events[:-1]]
        assert incident.status == events[-1].to_status
        assert incident.history.count() == history_before[incident.pk] + wins[incident.pk]
