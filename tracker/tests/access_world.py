"""The objects behind the URLs of the access tests: one object of every model in the
admin, and the cases of the PROJECT table (``build_world``, behind the fixture ``world``
of ``conftest.py``); and a client logged in as a persona (``client_for``)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from demo import clips
from evidence import intake
from evidence.files import anchoring
from evidence.models import CustodyEvent, EvidenceItem
from evidence.tests.files import make_jpeg
from evidence.tests.views_helpers import add_derivative
from tracker import workflow
from tracker.models import (
    ApiToken,
    AttackType,
    Incident,
    Job,
    ReviewEvent,
    Sensitivity,
    SourceType,
    TargetType,
    Weapon,
)
from tracker.tests import factories as f


def ingest(data: bytes, *, by: User, kind: str, **fields) -> EvidenceItem:
    return intake.ingest(io.BytesIO(data), filename="upload", kind=kind, by=by, **fields).item


def made_bundle(user: User, incident: Incident) -> Job:
    """A court bundle ``user`` asked for, made and not yet expired (its file a stand-in)."""
    job = Job.objects.create(
        kind=Job.Kind.BUNDLE,
        target=incident.code,
        key=f"bundle:{user.pk}:{incident.code}:plain",
        arguments={"incidents": [incident.code], "include_protected": False},
        requested_by=user,
        state=Job.State.DONE,
    )
    key = f"exports/{job.pk}-{'0' * 32}.zip"
    folder = Path(settings.DATA_DIR) / "exports"
    folder.mkdir(exist_ok=True)
    (folder / key.split("/")[1]).write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    job.output, job.output_size = key, 22
    job.expires_at = timezone.now() + timedelta(hours=1)
    job.save()
    return job


def build_world(researcher, other_researcher, reviewer, editor) -> SimpleNamespace:
    """One object of every model in the admin, and the cases of the PROJECT table."""
    w = SimpleNamespace()
    w.incident = f.IncidentFactory(created_by=researcher, title="Open strike on the bakery")
    w.restricted = f.IncidentFactory(
        created_by=other_researcher,
        title="Restricted strike on the clinic",
        sensitivity=Sensitivity.RESTRICTED,
    )
    w.submitted = f.IncidentFactory(created_by=researcher)
    workflow.transition(w.submitted, workflow.Action.SUBMIT, by=researcher)
    w.photo = ingest(make_jpeg(), by=researcher, kind="photo", incident=w.incident)
    w.testimony = ingest(  # protected, and not the researcher persona's own upload
        b"The witness heard two aircraft at dawn.\n",
        by=other_researcher,
        kind="testimony",
        incident=w.incident,
        is_protected=True,
    )
    for item in (w.photo, w.testimony):
        add_derivative(item, "thumbnail", make_jpeg(size=(32, 24), gps=False))
        add_derivative(item, "preview", make_jpeg(size=(48, 36), gps=False))
    # Videos whose derivatives stand in for what the jobs make (a keyframe, a copy).
    w.clip = ingest(clips.video(seed="access", seconds=1), by=researcher, kind="video")
    w.protected_clip = ingest(
        clips.video(seed="protected", seconds=1),
        by=other_researcher,
        kind="video",
        is_protected=True,
    )
    for item in (w.clip, w.protected_clip):
        add_derivative(item, "keyframe", make_jpeg(size=(32, 24), gps=False))
        add_derivative(item, "playable", b"\x00\x00\x00\x18ftypmp42 stand-in copy")
    w.bundle = made_bundle(researcher, w.incident)
    w.official = f.OfficialFactory(name="Official Akram")
    w.incident_type = ContentType.objects.get_for_model(Incident).pk
    position = f.PositionFactory(official=w.official, is_command=True)
    w.unit, w.force = position.unit, position.unit.force
    attribution = f.AttributionFactory(
        incident=w.incident, unit=position.unit, created_by=researcher
    )
    w.restricted_attribution = f.AttributionFactory(incident=w.restricted, unit=position.unit)
    testimony = f.TestimonyFactory(item=w.testimony)
    observation = f.FlightObservationFactory()
    w.device = TOTPDevice.objects.create(user=editor, name="phone", confirmed=True)
    attempt = {"username": "someone", "ip_address": "192.0.2.1", "user_agent": "x"}
    w.objects = {  # model label: the object its admin URLs are requested with
        "auth.group": Group.objects.get(name="Researcher"),
        "auth.user": editor,
        "axes.accessattempt": AccessAttempt.objects.create(failures_since_start=1, **attempt),
        "axes.accesslog": AccessLog.objects.create(**attempt),
        "axes.accessfailurelog": AccessFailureLog.objects.create(**attempt),
        "otp_totp.totpdevice": w.device,
        "tracker.attacktype": AttackType.objects.first(),
        "tracker.sourcetype": SourceType.objects.first(),
        "tracker.weapon": Weapon.objects.first(),
        "tracker.targettype": TargetType.objects.first(),
        "tracker.place": w.incident.place,
        "tracker.incident": w.incident,
        "tracker.force": position.unit.force,
        "tracker.unit": position.unit,
        "tracker.official": w.official,
        "tracker.position": position,
        "tracker.attribution": attribution,
        "tracker.reviewevent": ReviewEvent.objects.get(object_id=w.submitted.pk),
        "evidence.flightlog": observation.log,
        "evidence.flightobservation": observation,
        "evidence.evidenceitem": w.photo,
        "evidence.witness": testimony.witness,
        "evidence.custodyevent": CustodyEvent.objects.filter(item=w.photo).first(),
        "evidence.satelliteimage": f.SatelliteImageFactory(),
        "evidence.testimony": testimony,
        # Each role sees its own jobs (Editors every job): a job of each persona's own.
        "tracker.job": {
            user.username: Job.objects.create(kind="fixity", key=user.username, requested_by=user)
            for user in (researcher, reviewer, editor)
        },
        # Each staff account sees its own API tokens only.
        "tracker.apitoken": {
            user.username: ApiToken.issue(user, name="laptop", scopes=["read"])[0]
            for user in (researcher, reviewer, editor)
        },
    }
    anchoring.anchor()  # every item's custody anchored: each has a proof to download
    return w


def client_for(request, persona: str) -> Client:
    client = Client()
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    return client
