"""factory_boy factories for the case and evidence models (tests only)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import User

from evidence.models import (
    EvidenceItem,
    EvidenceLink,
    FlightLog,
    FlightObservation,
    SatelliteImage,
    Testimony,
    Witness,
)
from tracker.models import (
    Attribution,
    Force,
    Incident,
    Official,
    OfficialAlias,
    Place,
    Position,
    TargetType,
    Unit,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    is_staff = True


class PlaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Place

    name = factory.Sequence(lambda n: f"Town {n}")
    governorate = "Idlib"
    district = "Ariha"
    latitude = Decimal("35.8")
    longitude = Decimal("36.6")


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Strike on market {n}")
    # Within six years of the first: the sequence runs on across a whole test session,
    # and an incident in the future is refused (tracker.responsibility.periods).
    occurred_start = factory.Sequence(
        lambda n: datetime(2019, 5, 1, 9, 0, tzinfo=UTC) + timedelta(days=n % 2190)
    )
    place = factory.SubFactory(PlaceFactory)
    latitude = Decimal("35.812300")
    longitude = Decimal("36.601200")
    killed_min = 2
    killed_max = 5

    @factory.post_generation
    def target_types(self, create, extracted, **kwargs):
        if create:
            self.target_types.set(extracted or TargetType.objects.all()[:2])


class EvidenceItemFactory(factory.django.DjangoModelFactory):
    """A row without a file, for admin and query tests (files go through intake)."""

    class Meta:
        model = EvidenceItem

    kind = EvidenceItem.Kind.PHOTO
    title = factory.Sequence(lambda n: f"Photo of the site {n}")


class EvidenceLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvidenceLink

    item = factory.SubFactory(EvidenceItemFactory)
    incident = factory.SubFactory(IncidentFactory)


class ForceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Force

    name = factory.Sequence(lambda n: f"Air Force {n}")


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    force = factory.SubFactory(ForceFactory)
    name = factory.Sequence(lambda n: f"Squadron {n}")


class OfficialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Official

    name = factory.Sequence(lambda n: f"Official {n}")


class OfficialAliasFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OfficialAlias

    official = factory.SubFactory(OfficialFactory)
    name = factory.Sequence(lambda n: f"Alias {n}")


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Position

    official = factory.SubFactory(OfficialFactory)
    unit = factory.SubFactory(UnitFactory)
    title = "Commander"
    start = datetime(2019, 1, 1).date()


class AttributionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attribution

    incident = factory.SubFactory(IncidentFactory)
    unit = factory.SubFactory(UnitFactory)
    role = Attribution.Role.DIRECT


class WitnessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Witness

    pseudonym = factory.Sequence(lambda n: f"Witness W-{n:02d}")
    real_name = factory.Sequence(lambda n: f"Protected Person {n}")
    contact = "+000 0000 0000"


class TestimonyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Testimony

    item = factory.SubFactory(EvidenceItemFactory, kind=EvidenceItem.Kind.TESTIMONY)
    witness = factory.SubFactory(WitnessFactory)
    interview_date = datetime(2019, 6, 1).date()
    interviewer = "Team member"
    summary = "Heard aircraft, then two explosions near the market."


class FlightLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FlightLog

    item = factory.SubFactory(EvidenceItemFactory, kind=EvidenceItem.Kind.FLIGHT_LOG)


class FlightObservationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FlightObservation

    log = factory.SubFactory(FlightLogFactory)
    line_number = factory.Sequence(lambda n: n + 2)
    raw = "2019-05-13T09:42:00+03:00,KFN-1,35.62,36.57,Su-24,2,RU,Hmeimim,NE,,passing,"
    observed_at = datetime(2019, 5, 13, 6, 42, tzinfo=UTC)
    station = "KFN-1"
    aircraft_type = "Su-24"
    aircraft_class = FlightObservation.AircraftClass.JET


class SatelliteImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SatelliteImage

    item = factory.SubFactory(EvidenceItemFactory, kind=EvidenceItem.Kind.SATELLITE)
    provider = "Imagery provider"
