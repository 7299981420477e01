"""The scheduled fixity pass (evidence.files.fixity_runs, the fixity job of evidence.jobs):
order, budget, what is recorded for sound and damaged items, the Editors' mail, and
what a run repeated in its pass does."""

from __future__ import annotations

import io
import itertools
import os
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core import mail
from django.utils import timezone

from evidence.files import fixity, fixity_runs, storage
from evidence.files.custody import ChainBreak
from evidence.files.tests.test_verify_evidence import flip_a_byte, point_row_at
from evidence.models import CustodyEvent, EvidenceItem, FixityCheck
from evidence.tests.files import make_jpeg
from evidence.tests.intake_helpers import ingest
from tracker import jobs
from tracker.models import Job

pytestmark = pytest.mark.django_db

SECRET_TITLE = "Interview with Umm Khaled in Saraqib"
SECRET_NAME = "umm_khaled_saraqib.jpg"


def photos(by, n: int) -> list[EvidenceItem]:
    return [
        ingest(make_jpeg(colour=(10 * i, 40, 200 - 10 * i)), by=by, filename=f"IMG_{i}.jpg").item
        for i in range(n)
    ]


def ticking(step: float = 1.0):
    """A clock that moves ``step`` seconds each time it is read."""
    counter = itertools.count()
    return lambda: next(counter) * step


def checks(item: EvidenceItem) -> list[FixityCheck]:
    return list(item.fixity_checks.order_by("checked_at", "pk"))


def verified(item: EvidenceItem) -> list[CustodyEvent]:
    return list(item.custody_events.filter(action=CustodyEvent.Action.VERIFIED))


def check_at(item: EvidenceItem, when, *, latest: bool = True) -> FixityCheck:
    return FixityCheck.objects.create(item=item, checked_at=when, result="ok", latest=latest)


def test_the_results_are_fixitys_own():
    file_results = {fixity.OK, fixity.MISMATCH, fixity.MISSING, fixity.NO_ORIGINAL}
    assert file_results <= set(FixityCheck.Result.values)
    assert set(FixityCheck.SOUND) == {fixity.OK, fixity.NO_ORIGINAL}


def test_never_checked_first_then_the_oldest_latest_check(researcher):
    a, b, c, d = photos(researcher, 4)
    now = timezone.now()
    check_at(a, now - timedelta(days=5), latest=False)  # an older check of a: not its latest
    check_at(a, now - timedelta(days=1))
    check_at(b, now - timedelta(days=2))
    check_at(d, now + timedelta(minutes=1))  # already checked in this pass

    found, more_never = fixity_runs.due(now, 10)

    assert [item.code for item in found] == [c.code, b.code, a.code]
    assert more_never is False
    assert fixity_runs.remaining(now) == (3, 1)


def test_a_run_checks_in_that_order_and_stops_when_its_budget_is_spent(researcher):
    a, b, c = photos(researcher, 3)
    now = timezone.now()
    check_at(a, now - timedelta(days=1))
    check_at(b, now - timedelta(days=2))

    # Reads of the clock: the start (0), then before each item but the first (1, 2).
    summary = fixity_runs.run(started=now, budget=1.5, clock=ticking())

    assert summary.checked == 2
    assert [len(checks(item)) for item in (a, b, c)] == [1, 2, 1]  # c, then b; not a
    assert (summary.remaining, summary.never_checked) == (1, 0)
    assert (
        str(summary) == "checked 2 items, 0 problems; 0 never checked remain; 1 left in this pass"
    )


def test_a_spent_budget_still_checks_one_item(researcher):
    photos(researcher, 2)
    summary = fixity_runs.run(started=timezone.now(), budget=0, clock=ticking())
    assert summary.checked == 1
    assert (summary.remaining, summary.never_checked) == (1, 1)


def test_runs_of_one_pass_check_each_item_once(researcher, monkeypatch):
    items = photos(researcher, 5)
    monkeypatch.setattr(fixity_runs, "BATCH", 2)
    started = timezone.now()

    first = fixity_runs.run(started=started, budget=2.5, clock=ticking(), batch=2)
    rest = fixity_runs.run(started=started, budget=3600)
    again = fixity_runs.run(started=started, budget=3600)

    assert (first.checked, rest.checked, again.checked) == (3, 2, 0)
    assert [len(checks(item)) for item in items] == [1] * 5
    assert str(again) == "checked 0 items, 0 problems; 0 never checked remain; pass complete"
    assert fixity_runs.state().last_full_pass == min(
        c.checked_at for c in FixityCheck.objects.all()
    )


def test_a_sound_item_gets_a_check_and_no_custody_event(researcher):
    (item,) = photos(researcher, 1)
    summary = fixity_runs.run(started=timezone.now(), budget=60)

    (check,) = checks(item)
    assert (check.result, check.observed, check.problems, check.latest) == (
        "ok",
        item.sha256,
        "",
        True,
    )
    assert verified(item) == []
    assert summary.failed == []
    assert mail.outbox == []


def test_a_new_check_becomes_the_latest(researcher):
    (item,) = photos(researcher, 1)
    old = check_at(item, timezone.now() - timedelta(days=2))
    fixity_runs.run(started=timezone.now(), budget=60)
    old.refresh_from_db()
    assert old.latest is False
    assert [c.latest for c in checks(item)] == [False, True]


@pytest.fixture
def damaged(researcher, editor):
    """A protected item whose stored original lost a byte; the Editor has an address."""
    editor.email = "editor@example.org"
    editor.save()
    researcher.email = "researcher@example.org"  # not an Editor: not told
    researcher.save()
    item = ingest(
        make_jpeg(colour=(1, 2, 3)),
        by=researcher,
        filename=SECRET_NAME,
        title=SECRET_TITLE,
        is_protected=True,
    ).item
    flip_a_byte(storage.path_of(item.original_path))
    return item


def test_a_damaged_original_is_recorded_logged_and_mailed_by_code(
    damaged, researcher, django_capture_on_commit_callbacks
):
    (sound,) = photos(researcher, 1)
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit(Job.Kind.FIXITY)

    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert (job.done_count, job.total_count) == (2, 2)  # the lease renewed as it went
    assert job.message.startswith(f"checked 2 items, 1 problems ({damaged.code});")
    (check,) = checks(damaged)
    assert check.result == FixityCheck.Result.MISMATCH
    got = fixity.stored_sha256(damaged.original_path)
    assert check.observed == got
    assert check.problems == f"MISMATCH {damaged.code} expected {damaged.sha256} got {got}"
    (event,) = verified(damaged)
    assert event.details["result"] == "mismatch"
    assert event.observed_sha256 == got
    assert verified(sound) == []

    (message,) = mail.outbox
    assert message.to == ["editor@example.org"]
    assert damaged.code in message.body
    assert sound.code not in message.body
    for text in (message.subject, message.body):
        for secret in (SECRET_TITLE, "Umm Khaled", SECRET_NAME, "umm_khaled"):
            assert secret not in text
    assert "/admin/fixity/" in message.body


def test_a_missing_original(researcher):
    (item,) = photos(researcher, 1)
    storage.path_of(item.original_path).unlink()
    summary = fixity_runs.run(started=timezone.now(), budget=60)
    (check,) = checks(item)
    assert (check.result, check.observed, check.problems) == ("missing", "", f"MISSING {item.code}")
    assert verified(item)[0].details["result"] == "missing"
    assert summary.failed == [item.code]


def test_a_row_pointed_elsewhere_is_a_log_mismatch(researcher):
    (item,) = photos(researcher, 1)
    EvidenceItem.objects.filter(pk=item.pk).update(sha256="0" * 64)
    fixity_runs.run(started=timezone.now(), budget=60)
    (check,) = checks(item)
    # The file no longer matches the row either: the file's problem comes first.
    assert check.result == "mismatch"
    assert f"LOG-MISMATCH {item.code} row {'0' * 64}" in check.problems


def test_a_row_pointed_at_another_good_file_is_a_log_mismatch(researcher):
    (item,) = photos(researcher, 1)
    new = point_row_at(item, b"other bytes, stored the way intake stores them")
    fixity_runs.run(started=timezone.now(), budget=60)
    (check,) = checks(item)
    assert (check.result, check.observed) == ("log mismatch", new)
    assert check.problems.startswith(f"LOG-MISMATCH {item.code} row {new} log {item.sha256}")


@pytest.mark.parametrize(
    ("result", "row", "received", "breaks", "expected"),
    [
        (fixity.OK, "a", "a", (), "ok"),
        (fixity.NO_ORIGINAL, "", "", (), "no original"),
        (fixity.OK, "a", "a", (ChainBreak(2, "x"),), "chain broken"),
        (fixity.OK, "a", "b", (ChainBreak(2, "x"),), "log mismatch"),
        (fixity.MISSING, "a", "b", (ChainBreak(2, "x"),), "missing"),
        (fixity.MISMATCH, "a", "a", (ChainBreak(2, "x"),), "mismatch"),
    ],
)
def test_the_result_is_the_first_problem(result, row, received, breaks, expected):
    found = fixity.ItemFixity(code="EV-1", row=row, received=received, result=result, observed="")
    verification = fixity.Verification(found, breaks)
    assert verification.result == expected
    assert bool(verification.problems()) == (expected not in FixityCheck.SOUND)


def test_a_big_collection_is_continued_until_the_pass_is_complete(
    researcher, settings, monkeypatch, django_capture_on_commit_callbacks
):
    items = photos(researcher, 3)
    settings.TRACKER_FIXITY_BUDGET_SECONDS = 1
    monkeypatch.setattr(fixity_runs, "time", SimpleNamespace(monotonic=ticking()))

    with django_capture_on_commit_callbacks(execute=True):
        first = jobs.submit(Job.Kind.FIXITY)

    runs = list(Job.objects.filter(kind=Job.Kind.FIXITY).order_by("pk"))
    assert [job.state for job in runs] == [Job.State.DONE] * 3
    assert runs[0].pk == first.pk
    assert [job.key for job in runs[1:]] == [f"fixity:continue:{job.pk}" for job in runs[:2]]
    started = first.created_at.isoformat()
    assert [job.arguments for job in runs[1:]] == [{"pass_started": started}] * 2
    assert runs[0].message.endswith(f"2 left in this pass; continued by job {runs[1].pk}")
    assert runs[2].message.endswith("pass complete")
    assert [len(checks(item)) for item in items] == [1, 1, 1]


def test_a_new_pass_starts_only_when_due(researcher, django_capture_on_commit_callbacks):
    items = photos(researcher, 2)
    with django_capture_on_commit_callbacks(execute=True):
        jobs.tick()  # no fixity job yet: one is due
    assert Job.objects.filter(kind=Job.Kind.FIXITY).count() == 1
    assert [len(checks(item)) for item in items] == [1, 1]

    with django_capture_on_commit_callbacks(execute=True):
        done = jobs.tick()  # right after the pass: nothing is due
    assert done["started"] == 0
    assert [len(checks(item)) for item in items] == [1, 1]

    with django_capture_on_commit_callbacks(execute=True):
        jobs.tick(now=timezone.now() + timedelta(hours=24, seconds=1))
    assert Job.objects.filter(kind=Job.Kind.FIXITY).count() == 2  # (and an anchor job)
    assert [len(checks(item)) for item in items] == [2, 2]
    assert FixityCheck.objects.filter(latest=True).count() == 2


def test_a_job_run_again_does_nothing(researcher, django_capture_on_commit_callbacks):
    (item,) = photos(researcher, 1)
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit(Job.Kind.FIXITY)
    assert jobs.run(job.pk).startswith(f"job {job.pk}: nothing to do")
    assert len(checks(item)) == 1


def test_a_run_sweeps_what_staging_kept_past_its_age(
    researcher, django_capture_on_commit_callbacks
):
    """A file held for a form that was never sent again (evidence.files.held) does not
    wait for the next upload to be swept: the fixity pass removes it past its age."""
    old, new = (storage.stage(io.BytesIO(b"a witness's transcript")) for _ in range(2))
    past = time.time() - storage.STAGING_MAX_AGE - 60
    os.utime(old.path, (past, past))
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit(Job.Kind.FIXITY)
    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert not old.path.exists() and new.path.exists()
