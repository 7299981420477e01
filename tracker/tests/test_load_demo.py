"""The demo case loader: `load_demo` and `demo_logins`.

The case is built once for the module (inside a transaction rolled back at the
end) because building it stores ~150 files; tests that need a clean database
come first in the file and check that the case is not there yet.
"""

from __future__ import annotations

import hashlib
import io
import re
import stat
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import av
import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.test import TestCase, override_settings

import demo
from demo import data, files, flightlog
from evidence.files import storage
from evidence.files.imaging import read_photo_facts
from evidence.models import (
    AudioMetadata,
    Derivative,
    EvidenceItem,
    FlightLog,
    PhotoMetadata,
    SatelliteImage,
    VideoMetadata,
)
from evidence.models import Testimony as WitnessTestimony  # a "Test*" name is collected
from tracker import jobs
from tracker.models import (
    Attribution,
    Force,
    Incident,
    IncidentRelation,
    Job,
    Official,
    OfficialAlias,
    Position,
    ReviewEvent,
    ReviewStatus,
)
from tracker.tests.seed import ensure_seed_data

KINDS = {
    "photo",
    "satellite",
    "flight_log",
    "testimony",
    "document",
    "web_capture",
    "audio",
    "video",
}
DEMO_USERS = {"researcher": "Researcher", "reviewer": "Reviewer", "editor": "Editor"}
# As the root conftest does per test; the module-wide build must hash the same way.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run(command: str) -> str:
    out = io.StringIO()
    call_command(command, stdout=out)
    return out.getvalue()


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


# --- Without the case -------------------------------------------------------------------


def test_demo_logins_says_none_exist_before_loading(db):
    assert "No demo logins exist" in run("demo_logins")


def test_generated_photo_carries_camera_time_and_gps(tmp_path):
    taken = datetime(2019, 5, 5, 10, 12, 30, tzinfo=ZoneInfo("Asia/Damascus"))
    spec = {"target": data.HOSPITAL, "taken_at": taken, "make": "samsung", "model": "SM-A105F"}
    spec.update(latitude=35.6142, longitude=36.5614, altitude=601.5)
    content = files.photo_jpeg("test", **spec)
    assert content == files.photo_jpeg("test", **spec), "generation must be deterministic"
    assert len(content) < 100_000
    (tmp_path / "photo.jpg").write_bytes(content)

    facts = read_photo_facts(tmp_path / "photo.jpg")

    assert (facts.camera_make, facts.camera_model) == ("samsung", "SM-A105F")
    assert facts.taken_at == taken and facts.taken_at_offset == "+03:00"
    assert (float(facts.gps_latitude), float(facts.gps_longitude)) == (35.6142, 36.5614)
    assert facts.gps_altitude == pytest.approx(601.5)


def test_winter_photo_records_the_winter_offset(tmp_path):
    taken = datetime(2020, 1, 15, 13, 0, tzinfo=ZoneInfo("Asia/Damascus"))
    spec = {"target": data.MARKET, "taken_at": taken, "make": "HUAWEI", "model": "ATU-L21"}
    content = files.photo_jpeg("winter", latitude=35.93, longitude=36.63, altitude=450, **spec)
    (tmp_path / "photo.jpg").write_bytes(content)

    facts = read_photo_facts(tmp_path / "photo.jpg")

    assert facts.taken_at_offset == "+02:00"
    assert facts.taken_at.astimezone(UTC) == datetime(2020, 1, 15, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "degrees"), [("N", 0), ("NE", 45), ("ENE", 68), ("SSW", 203), ("045", 45), ("", None)]
)
def test_flight_log_headings_from_compass_points(raw, degrees):
    assert flightlog.heading_degrees(raw) == degrees


def test_failed_build_leaves_no_records_and_no_files(db, settings, monkeypatch):
    assert not demo.is_loaded(), "this test needs a database without the demo case"
    ensure_seed_data()

    def fail(self):
        raise RuntimeError("satellite step failed")

    # Documents, web captures and audio are stored before the satellite step.
    monkeypatch.setattr("demo.items.EvidenceSteps._satellite", fail)

    with pytest.raises(RuntimeError, match="satellite step failed"):
        run("load_demo")

    assert not files_under(Path(settings.DATA_DIR) / "originals")
    assert not EvidenceItem.objects.exists()
    assert not Force.objects.filter(name=data.SENTINEL_FORCE).exists()
    assert not User.objects.filter(username__in=DEMO_USERS).exists()
    assert demo.read_logins() is None


# --- With the case (built once for the module) ----------------------------------------------


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    data_dir.mkdir()
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            ensure_seed_data()
            with (
                override_settings(DATA_DIR=data_dir, PASSWORD_HASHERS=FAST_HASHERS),
                # Files are promoted when the build commits; run what a commit would.
                TestCase.captureOnCommitCallbacks(execute=True),
            ):
                output = run("load_demo")
            yield SimpleNamespace(data_dir=data_dir, output=output)
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def case(built, db, settings):
    settings.DATA_DIR = built.data_dir
    settings.PASSWORD_HASHERS = FAST_HASHERS
    return built


def test_incidents_are_sample_and_in_the_offensive_period(case):
    incidents = Incident.objects.all()

    assert incidents.count() >= 46
    start = datetime(2019, 4, 1, tzinfo=ZoneInfo("Asia/Damascus"))
    end = datetime(2020, 4, 1, tzinfo=ZoneInfo("Asia/Damascus"))
    assert incidents.in_period(start, end).count() == incidents.count()
    for incident in incidents:
        assert incident.title.startswith("SAMPLE: ")
        assert incident.code.startswith("INC-")
        assert incident.killed_min <= incident.killed_max
        assert incident.injured_min <= incident.injured_max
        assert incident.place is not None and incident.target_types.exists()
        assert incident.evidence_links.exists()
    assert set(incidents.values_list("place__governorate", flat=True)) == {"Idlib", "Hama"}
    # Some work is already under review, each step through the workflow.
    statuses = Counter(incidents.values_list("status", flat=True))
    assert statuses[ReviewStatus.PUBLISHED] == 1
    assert statuses[ReviewStatus.VERIFIED] == 2
    assert statuses[ReviewStatus.SUBMITTED] == 2
    assert statuses[ReviewStatus.CHANGES_REQUESTED] == 1
    assert statuses[ReviewStatus.DRAFT] == incidents.count() - 6
    incident_type = ContentType.objects.get_for_model(Incident)
    for incident in incidents.exclude(status=ReviewStatus.DRAFT):
        events = ReviewEvent.objects.filter(content_type=incident_type, object_id=incident.pk)
        assert events.filter(action="submit", actor__username="researcher").exists()
    for incident in incidents.filter(status__in=[ReviewStatus.VERIFIED, ReviewStatus.PUBLISHED]):
        relied = incident.evidence_links.filter(relied_on=True)
        assert not relied.exclude(item__status=ReviewStatus.VERIFIED).exists()
    assert IncidentRelation.objects.filter(kind="follow_up").count() >= 3


def test_officials_are_sample_with_aliases_in_three_scripts(case):
    officials = Official.objects.annotate(scripts=Count("aliases__script", distinct=True))

    assert officials.count() >= 10
    for official in officials:
        assert official.name.endswith(" (SAMPLE)")
        assert official.scripts == 3
    scripts = set(OfficialAlias.objects.values_list("script", flat=True))
    assert scripts == {"arabic", "cyrillic", "latin"}


def overlaps(a: Position, b: Position) -> bool:
    return (a.end is None or b.start <= a.end) and (b.end is None or a.start <= b.end)


def test_postings_include_acting_concurrent_and_changed_commands(case):
    postings = list(Position.objects.filter(is_command=True).select_related("unit"))

    assert any(p.is_acting for p in postings), "an acting commander"
    assert any(
        a.official_id == b.official_id and a.unit_id != b.unit_id and overlaps(a, b)
        for a in postings
        for b in postings
    ), "an official holding two command posts at once"
    assert any(
        a.unit_id == b.unit_id and a.official_id != b.official_id and a.end and a.end < b.start
        for a in postings
        for b in postings
    ), "a change of command"
    assert all("SAMPLE" in p.unit.name for p in postings)


def test_attributions_name_units_and_officials_with_evidence(case):
    attributions = Attribution.objects.all()

    assert attributions.filter(unit__isnull=False).count() >= 5
    assert attributions.filter(official__isnull=False).count() >= 5
    for attribution in attributions.filter(role="direct"):
        assert attribution.supporting_evidence.exists()
        assert attribution.basis.startswith("SAMPLE: ")


def test_every_kind_has_items_with_their_original_file(case):
    items = EvidenceItem.objects.all()

    assert set(items.values_list("kind", flat=True)) == KINDS
    assert 120 <= items.count() <= 200
    for item in items:
        assert item.title.startswith("SAMPLE: ")
        path = case.data_dir / item.original_path
        content = path.read_bytes()
        assert hashlib.sha256(content).hexdigest() == item.sha256
        assert len(content) == item.size < 100_000
        actions = item.custody_events.order_by("sequence").values_list("action", flat=True)
        assert list(actions[:2]) == ["acquired", "received"]
        assert item.created_by.username == "researcher"


def test_photos_have_exif_camera_time_and_gps(case):
    # Those a capture found on a web page carry none, as most web pages' photos.
    from_pages = EvidenceItem.objects.filter(kind="photo", capture_parts__isnull=False)
    photos = EvidenceItem.objects.filter(kind="photo").exclude(pk__in=from_pages)
    metadata = PhotoMetadata.objects.exclude(item__in=from_pages)

    assert from_pages.count() == 1 and not from_pages.get().photo.taken_at
    assert metadata.count() == photos.count() > 46
    for meta in metadata.select_related("item"):
        assert meta.gps_latitude is not None and meta.gps_longitude is not None
        assert meta.taken_at is not None and meta.taken_at_offset in ("+03:00", "+02:00")
        assert meta.camera_make and meta.camera_model
        assert meta.item.captured_at == meta.taken_at
        site = meta.item.incidents.get()
        assert abs(meta.gps_latitude - site.latitude) < 0.01
        assert abs(meta.gps_longitude - site.longitude) < 0.01


def test_satellite_after_images_point_at_their_before_image(case):
    afters = SatelliteImage.objects.filter(before__isnull=False).select_related("before")

    assert afters.count() >= 3
    for after in afters:
        before = after.before
        assert before.captured_at < after.captured_at
        bounds = ("west", "south", "east", "north")
        assert [getattr(after, b) for b in bounds] == [getattr(before, b) for b in bounds]
        assert after.south < after.item.captured_latitude < after.north
        assert before.item.sha256 != after.item.sha256
        assert after.provider == "SAMPLE imagery"


def test_flight_log_has_one_observation_per_csv_line(case):
    log = FlightLog.objects.select_related("item").get()
    lines = (case.data_dir / log.item.original_path).read_text("utf-8").splitlines()
    observations = list(log.observations.order_by("line_number"))

    assert lines[0].startswith("observed_at,station,station_lat,station_lon,aircraft_type")
    assert 60 <= len(observations) == len(lines) - 1 == log.row_count <= 150
    for observation in observations:
        assert observation.raw == lines[observation.line_number - 1]
        assert observation.observed_at.tzinfo is not None
        assert observation.aircraft_class in ("jet", "helicopter", "drone", "unknown")
        assert observation.nationality in ("RU", "SY", "unknown")
        assert observation.station_latitude is not None
    assert {o.aircraft_class for o in observations} >= {"jet", "helicopter"}
    assert {o.nationality for o in observations} >= {"RU", "SY"}
    assert log.item.links.count() >= 10


def test_testimonies_have_protected_witnesses_and_consistent_consent(case):
    testimonies = WitnessTestimony.objects.select_related("witness", "item")

    assert testimonies.count() >= 10
    for testimony in testimonies:
        assert testimony.witness.pseudonym.startswith("SAMPLE Witness ")
        assert testimony.witness.real_name.startswith("SAMPLE real name")
        assert testimony.item.is_protected and testimony.item.media_type == "text/plain"
        if not testimony.consent_given:
            assert not (testimony.consent_quote or testimony.consent_name)


def tags_of(item: EvidenceItem) -> dict[str, str]:
    with av.open(str(storage.path_of(item.original_path))) as container:
        return dict(container.metadata)


def run_jobs_of(items) -> None:
    """What the worker does after the load: each item's derivatives and playable copy."""
    codes = [item.code for item in items]
    for job in Job.objects.filter(target__in=codes, state__in=Job.UNFINISHED).order_by("pk"):
        jobs.run(job.pk)


def test_videos_and_the_recorded_interview_after_the_jobs(case):
    videos = list(EvidenceItem.objects.filter(kind="video").order_by("pk"))
    interview = EvidenceItem.objects.get(kind="audio", media_type="audio/mp4")
    run_jobs_of([*videos, interview])

    *phone, reupload = [EvidenceItem.objects.get(pk=v.pk) for v in videos]
    assert len(phone) == 3 and reupload.title.startswith("SAMPLE: Video re-uploaded by ")
    # The channel's copy (resized, a logo, other keyframes) is found as its original's.
    original = next(item for item in phone if item.incidents.get() == reupload.incidents.get())
    assert list(reupload.near_duplicates.all()) == [original]
    assert list(original.near_duplicates.all()) == [reupload]
    for item in phone:
        claims = VideoMetadata.objects.get(item=item)
        tags = tags_of(item)
        apple = "com.apple.quicktime.creationdate" in tags
        # The place and time the tags claim, as written by an iPhone or an Android phone.
        place = tags["com.apple.quicktime.location.ISO6709" if apple else "location"]
        lat, lon = (Decimal(n) for n in re.findall(r"[+-][\d.]+", place)[:2])
        assert (claims.latitude, claims.longitude) == (lat, lon)
        stated = tags["com.apple.quicktime.creationdate" if apple else "creation_time"]
        assert claims.recorded_at == datetime.fromisoformat(stated)
        assert claims.recorded_at_offset == ("+03:00" if apple else "+00:00")
        assert claims.device_make and claims.device_model
        assert item.captured_at == claims.recorded_at
        assert (item.captured_latitude, item.captured_longitude) == (lat, lon)
        site = item.incidents.get()
        assert abs(lat - site.latitude) < Decimal("0.001")
        assert abs(lon - site.longitude) < Decimal("0.001")
        assert timedelta(0) < claims.recorded_at - site.occurred_start < timedelta(hours=1)
        if item != original:
            assert not item.near_duplicates.exists()
    blank = VideoMetadata.objects.get(item=reupload)  # the platform removed the tags
    assert blank.recorded_at is None and blank.latitude is None and not blank.device_make
    for item in videos:
        made = Counter(Derivative.objects.filter(item=item).values_list("kind", flat=True))
        assert made["playable"] == made["thumbnail"] == 1 and made["keyframe"] >= 3

    interview.refresh_from_db()
    sound = AudioMetadata.objects.get(item=interview)
    assert sound.audio_codec == "aac" and 7.5 <= sound.duration <= 8.5
    # A protected item's recording time stays on its metadata row (recordings.fills_capture).
    assert interview.captured_at is None and sound.recorded_at is not None
    # Protected as its transcript (the testimony it names) is, and recorded that day.
    assert interview.is_protected and interview.identifies_people
    transcript = WitnessTestimony.objects.get(
        item__code__in=re.findall(r"EV-\d+", interview.description)
    )
    assert transcript.item.is_protected
    assert interview.incidents.get() == transcript.item.incidents.get()
    local = sound.recorded_at.astimezone(ZoneInfo("Asia/Damascus"))
    assert local.date() == transcript.interview_date
    copy = Derivative.objects.get(item=interview, kind="playable")
    assert copy.media_type == "audio/mp4"
    assert not VideoMetadata.objects.filter(item=interview).exists()
    for item in [*videos, interview]:
        item.refresh_from_db()
        assert item.derivative_problem == "" == item.playable_problem


def test_demo_users_are_in_their_groups_with_logins_on_file(case):
    for username, group in DEMO_USERS.items():
        user = User.objects.get(username=username)
        assert user.is_staff and not user.is_superuser
        assert list(user.groups.values_list("name", flat=True)) == [group]
    assert User.objects.get(username="admin").is_superuser
    # The admin greets each by full name: the demo's differ (SAMPLE Researcher, …).
    names = [u.get_full_name() for u in User.objects.filter(username__in=[*DEMO_USERS, "admin"])]
    assert len(set(names)) == len(DEMO_USERS) + 1 and all(n.startswith("SAMPLE ") for n in names)

    path = demo.logins_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    logins = dict(line.split() for line in path.read_text().splitlines() if line[:1] != "#")
    assert set(logins) == {*DEMO_USERS, "admin"}
    assert User.objects.get(username="editor").check_password(logins["editor"])
    assert all(password in case.output for password in logins.values())
    shown = run("demo_logins")
    assert "http://127.0.0.1:8000/admin/" in shown
    assert all(f"{user:<12} {password}" in shown for user, password in logins.items())


def test_second_run_changes_nothing(case):
    models = [
        *apps.get_app_config("tracker").get_models(),
        *apps.get_app_config("evidence").get_models(),
        User,
    ]
    counts_before = {model: model._default_manager.count() for model in models}
    files_before = files_under(case.data_dir)
    logins_before = demo.read_logins()

    output = run("load_demo")

    assert "already loaded" in output
    assert {model: model._default_manager.count() for model in models} == counts_before
    assert files_under(case.data_dir) == files_before
    assert demo.read_logins() == logins_before


def test_the_case_holds_one_sample_page_captured_by_link(case):
    from evidence.models import WebCapture

    web = WebCapture.objects.select_related("item").get()
    assert web.url.startswith("http://127.0.0.1:") and web.http_status == 200
    assert web.page_title.startswith("SAMPLE: ") and "SAMPLE: a fictional page" in web.text
    assert web.item.media_type == "application/wacz"
    assert sorted(web.parts.values_list("role", flat=True)) == ["media", "pdf", "screenshot"]
    assert [i.code for i in web.item.incidents.all()] == [
        i.code for i in web.parts.get(role="media").item.incidents.all()
    ]


def test_every_incident_has_a_proposal_and_five_differ_on_purpose(case):
    """The demo's grades are its proposals but for five: three whose evidence disagrees
    (each proposal contested, with its contradiction) and two a reviewer graded
    "contested" against the proposal, with a reason in the review log."""
    from evidence.corroboration import decisions
    from evidence.models import GradeProposal
    from tracker.models import ReviewEvent

    assert GradeProposal.objects.count() == Incident.objects.count()
    differ = list(decisions.differs(Incident.objects.all()).select_related("grade_proposal"))
    assert len(differ) == 5
    contested = [i for i in differ if i.grade_proposal.grade == "contested"]
    checks = {i.grade_proposal.contradictions[0]["check"] for i in contested}
    assert checks == {"time", "casualties", "satellite"}
    overridden = [i for i in differ if i.civilian_harm == "contested"]
    assert len(overridden) == 2
    for incident in overridden:
        event = ReviewEvent.objects.get(object_id=incident.pk, action=decisions.SET)
        assert (
            event.comment.startswith("Set contested; proposed: ")
            and "Reason: SAMPLE" in event.comment
        )
