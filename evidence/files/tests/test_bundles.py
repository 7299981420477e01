"""Court bundles as a background job (``evidence.jobs.bundle``, ``evidence.files.bundles``):
one zip holding a valid bag, made once, checked again at run time as its requester now
stands, kept for TRACKER_EXPORT_KEEP_HOURS and then deleted."""

from __future__ import annotations

import zipfile
from datetime import timedelta
from pathlib import Path

import bagit
import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from evidence import jobs as evidence_jobs
from evidence.files import bagging, bundles
from evidence.files.tests.bag_helpers import PROTECTED_STRINGS, exported_events
from tracker import jobs
from tracker.models import Job, Sensitivity

pytestmark = pytest.mark.django_db


def exports(settings) -> list[Path]:
    """Everything in exports/, hidden leftovers included."""
    folder = Path(settings.DATA_DIR) / "exports"
    return sorted(folder.iterdir()) if folder.exists() else []


def asked(incidents, user, capture, *, run=True, **options) -> Job:
    with capture(execute=run):
        job = evidence_jobs.bundle_later(incidents, by=user, **options)
    job.refresh_from_db()
    return job


def unzipped(job: Job, into: Path) -> Path:
    with zipfile.ZipFile(bundles.path_of(job.output)) as bundle:
        names = bundle.namelist()
        assert all(not name.startswith("/") and ".." not in name for name in names)
        bundle.extractall(into)
    (top,) = {name.split("/")[0] for name in names}
    return into / top


def test_the_job_makes_one_zip_holding_a_valid_bag(
    case, researcher, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.TRACKER_EXPORT_KEEP_HOURS = 5
    before = timezone.now()
    job = asked([case["incident"]], researcher, django_capture_on_commit_callbacks)

    assert job.state == Job.State.DONE, job.error
    assert job.output.startswith("exports/") and job.output.endswith(".zip")
    path = bundles.path_of(job.output)
    assert exports(settings) == [path]  # no partial folder left
    assert job.output_size == path.stat().st_size > 0
    keep = timedelta(hours=5)
    assert before + keep <= job.expires_at <= timezone.now() + keep
    bag = bagit.Bag(str(unzipped(job, tmp_path / "out")))
    assert bag.validate() is True
    assert bag.info["Exported-By"] == "researcher"
    originals = {p.name for p in Path(bag.path, "data", "originals").rglob("*") if p.is_file()}
    assert originals == {f"{case[k].sha256}.jpg" for k in ("crater", "wide")} | {
        f"{case['interview'].sha256}.txt"
    }
    events = exported_events()
    assert sorted(e.item.code for e in events) == sorted(
        case[k].code for k in ("crater", "wide", "interview")
    )
    assert {e.details["bag"] for e in events} == {Path(bag.path).name}
    assert "ready" in job.message and case["incident"].code in job.message


def test_protected_identity_stays_out_unless_asked_and_allowed(
    case, identity_holder, tmp_path, django_capture_on_commit_callbacks
):
    plain = asked([case["incident"]], identity_holder, django_capture_on_commit_callbacks)
    full = asked(
        [case["incident"]],
        identity_holder,
        django_capture_on_commit_callbacks,
        include_protected=True,
    )
    assert plain.pk != full.pk and plain.state == full.state == Job.State.DONE

    def text_of(job, into):
        root = unzipped(job, into)
        return "".join(p.read_text("utf-8", "replace") for p in root.rglob("*.json"))

    assert not any(s in text_of(plain, tmp_path / "plain") for s in PROTECTED_STRINGS)
    assert all(s in text_of(full, tmp_path / "full") for s in PROTECTED_STRINGS)


def test_asking_twice_is_one_job_per_person_incidents_and_choice(
    case, researcher, other_researcher, django_capture_on_commit_callbacks
):
    first = asked([case["incident"]], researcher, django_capture_on_commit_callbacks, run=False)
    again = asked([case["incident"]], researcher, django_capture_on_commit_callbacks, run=False)
    theirs = asked(
        [case["incident"]], other_researcher, django_capture_on_commit_callbacks, run=False
    )
    both = asked(
        [case["other"], case["incident"]],
        researcher,
        django_capture_on_commit_callbacks,
        run=False,
    )
    assert first.pk == again.pk
    assert len({first.pk, theirs.pk, both.pk}) == 3
    assert both.arguments["incidents"] == sorted([case["incident"].code, case["other"].code])
    assert Job.objects.filter(kind=Job.Kind.BUNDLE).count() == 3


def test_running_again_changes_nothing(
    case, researcher, settings, django_capture_on_commit_callbacks
):
    job = asked([case["incident"]], researcher, django_capture_on_commit_callbacks)
    made = exports(settings)
    events = len(exported_events())
    # The worker died after making it, before recording the end: the clock queues it again.
    Job.objects.filter(pk=job.pk).update(state=Job.State.QUEUED, finished_at=None)
    jobs.run(job.pk)

    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert exports(settings) == made == [bundles.path_of(job.output)]
    assert len(exported_events()) == events == 3
    assert evidence_jobs.bundle(job).startswith("Court bundle ready")
    assert len(exported_events()) == 3


def test_a_requester_who_lost_sight_of_the_incident_is_refused_at_run_time(
    case, researcher, settings, django_capture_on_commit_callbacks
):
    incident = case["incident"]
    with django_capture_on_commit_callbacks(execute=True):
        job = evidence_jobs.bundle_later([incident], by=researcher)
        incident.sensitivity = Sensitivity.RESTRICTED  # after asking, before the run
        incident.save()

    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.attempts == 1  # refused: not tried again
    assert incident.code in job.error and incident.title not in job.error
    assert not job.output
    assert exports(settings) == []
    assert exported_events() == []


def test_an_inactive_requester_is_refused(
    case, researcher, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = evidence_jobs.bundle_later([case["incident"]], by=researcher)
        researcher.is_active = False
        researcher.save()

    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "no longer has an active account" in job.error
    assert not job.output and exported_events() == []


def test_protected_identity_is_refused_at_submit_and_at_run_time(
    case, researcher, identity_holder, django_capture_on_commit_callbacks
):
    with pytest.raises(bagging.ExportError, match="view_protected_identity"):
        evidence_jobs.bundle_later([case["incident"]], by=researcher, include_protected=True)
    assert not Job.objects.filter(kind=Job.Kind.BUNDLE).exists()

    permission = Permission.objects.get(codename="view_protected_identity")
    with django_capture_on_commit_callbacks(execute=True):
        job = evidence_jobs.bundle_later(
            [case["incident"]], by=identity_holder, include_protected=True
        )
        identity_holder.user_permissions.remove(permission)

    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.error == bagging.PROTECTED_REFUSED
    assert exported_events() == []


@pytest.mark.parametrize(
    "arguments",
    [
        {"incidents": ["INC-HIDDEN"]},  # replaced by the restricted incident's code below
        {"incidents": ["../../etc/passwd"]},
        {"incidents": "INC-0001"},
        {"incidents": [{"code": 1}]},
        {"incidents": []},
    ],
)
def test_a_job_naming_what_its_requester_may_not_see_is_refused(
    case, researcher, other_researcher, settings, arguments
):
    hidden = case["other"]
    hidden.sensitivity = Sensitivity.RESTRICTED
    hidden.save()
    if arguments["incidents"] == ["INC-HIDDEN"]:
        arguments = {"incidents": [case["incident"].code, hidden.code]}
    job = Job.objects.create(
        kind=Job.Kind.BUNDLE,
        target=case["incident"].code,
        key="forged",
        arguments=arguments,
        requested_by=researcher,
    )
    jobs.run(job.pk)

    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.attempts == 1
    assert hidden.title not in job.error
    if len(arguments["incidents"]) == 2:
        assert job.error == f"No incident with code {hidden.code}; nothing was exported."
    assert not job.output and exported_events() == [] and exports(settings) == []


def test_a_run_killed_while_zipping_leaves_no_bundle_and_no_events(
    case, researcher, settings, monkeypatch, django_capture_on_commit_callbacks
):
    def killed(root, out, **kwargs):
        out.write_bytes(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bundles, "zip_tree", killed)
    job = asked([case["incident"]], researcher, django_capture_on_commit_callbacks)

    assert job.state == Job.State.QUEUED  # tried again later
    assert "No space left" in job.error and not job.output
    assert exports(settings) == [] and exported_events() == []


def test_a_run_that_lost_its_job_keeps_nothing(
    case, researcher, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """Its lease lapsed and another run holds the job: that run makes the bundle."""
    real = bundles.zip_tree

    def slow(root, out, **kwargs):
        real(root, out, **kwargs)
        Job.objects.filter(kind=Job.Kind.BUNDLE).update(run_token="another-run")

    monkeypatch.setattr(bundles, "zip_tree", slow)
    job = asked([case["incident"]], researcher, django_capture_on_commit_callbacks)

    assert job.state == Job.State.RUNNING and job.run_token == "another-run"
    assert not job.output and exports(settings) == [] and exported_events() == []


def test_an_expired_bundle_is_deleted_by_the_clock(
    case, researcher, settings, django_capture_on_commit_callbacks
):
    job = asked([case["incident"]], researcher, django_capture_on_commit_callbacks)
    path = bundles.path_of(job.output)

    assert jobs.expire_outputs(job.expires_at - timedelta(seconds=1)) == 0
    assert path.is_file()
    assert jobs.tick(job.expires_at + timedelta(seconds=1))["expired"] == 1
    job.refresh_from_db()
    assert not path.exists() and job.output == "" and exports(settings) == []


def test_removal_touches_bundles_only(settings):
    data = Path(settings.DATA_DIR)
    (data / "originals").mkdir()
    kept = data / "originals" / "keep"
    kept.write_bytes(b"evidence")
    for key in ("originals/keep", "exports/../originals/keep", "../data/originals/keep", ""):
        bundles.remove(key)
    assert kept.read_bytes() == b"evidence"
    with pytest.raises(ValueError):
        bundles.path_of("exports/../originals/keep")
