"""Fixtures of the evidence-files tests: a case of two incidents, their evidence and a
witness, to be exported.

Files are generated here (Pillow, bytes literals); nothing binary is kept in git.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from evidence import intake
from evidence.files.tests.bag_helpers import CONTACT, INTERVIEW, NOTES, REAL_NAME, REAL_NAME_ARABIC
from evidence.models import Testimony as WitnessTestimony  # a "Test*" name is collected
from evidence.models import Witness
from evidence.tests.files import make_jpeg
from evidence.tests.tsa import LocalTSA, make_authority
from tracker.models import Attribution, DatePrecision, Incident, TargetType
from tracker.tests import factories as f


@pytest.fixture
def case(researcher):
    """Two incidents: INC A with two photos and a testimony, INC B with one photo of its own."""
    place = f.PlaceFactory(name="Maarat al-Numan")
    incident = Incident.objects.create(
        title="Airstrike on the vegetable market",
        narrative="Two strikes ten minutes apart (EV codes below).",
        occurred_start=datetime(2019, 5, 5, 7, 30, tzinfo=UTC),
        start_precision=DatePrecision.MINUTE,
        occurred_end=datetime(2019, 5, 5, 7, 40, tzinfo=UTC),
        place=place,
        latitude=Decimal("35.645123"),
        longitude=Decimal("36.671234"),
        killed_min=12,
        killed_max=15,
        injured_min=30,
        injured_max=41,
        children_killed=3,
        civilian_harm=Incident.HarmGrade.CONFIRMED,
    )
    incident.target_types.set(TargetType.objects.filter(name__in=["Market"]))
    other = Incident.objects.create(
        title="Shelling of the bakery", occurred_start=datetime(2019, 6, 1, tzinfo=UTC)
    )

    def ingest(data, name, kind=None, to=incident):
        return intake.ingest(
            io.BytesIO(data), filename=name, kind=kind, by=researcher, incident=to
        ).item

    crater = ingest(make_jpeg(colour=(150, 40, 40)), "../../etc/crater\nnorth.jpg")
    wide = ingest(make_jpeg(colour=(40, 150, 40), gps=False), "wide.jpg")
    interview = ingest(INTERVIEW, "interview-k14.txt", kind="testimony")
    witness = Witness.objects.create(
        pseudonym="Witness K-14",
        role=Witness.Role.SURVIVOR,
        real_name=f"{REAL_NAME} ({REAL_NAME_ARABIC})",
        contact=CONTACT,
        notes=NOTES,
    )
    WitnessTestimony.objects.create(
        item=interview,
        witness=witness,
        interview_date=date(2019, 5, 20),
        interviewer="Team member M",
        summary="Heard aircraft, then two explosions near the market.",
        consent_given=True,
        consent_share_courts=True,
    )
    unrelated = ingest(make_jpeg(colour=(40, 40, 150)), "bakery.jpg", to=other)
    attribution = Attribution.objects.create(
        incident=incident,
        force=f.ForceFactory(name="Air Force X"),
        role=Attribution.Role.DIRECT,
        confidence=Attribution.Confidence.MEDIUM,
        basis="Flight observations and remnants.",
    )
    attribution.supporting_evidence.set([crater])
    return {
        "incident": incident,
        "other": other,
        "crater": crater,
        "wide": wide,
        "interview": interview,
        "unrelated": unrelated,
    }


# --- A Time-Stamping Authority on loopback (evidence.tests.tsa), for trusted time ----------


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    """A test CA and its TSA certificate: the roots the tracker trusts in these tests."""
    return make_authority(tmp_path_factory.mktemp("tsa") / "ca")


@pytest.fixture(scope="module")
def stranger(tmp_path_factory):
    """Another CA (an attacker's own): its TSA's tokens are genuine, not under our roots."""
    return make_authority(tmp_path_factory.mktemp("tsa") / "stranger")


@pytest.fixture
def tsa(authority):
    with LocalTSA(authority) as server:
        yield server
