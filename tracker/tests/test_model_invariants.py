"""Invariants of the case model: full_clean explains, the database refuses.

Every hostile input is tried twice: through ``full_clean`` (what users see) and
through a raw ``save`` that skips it (what a buggy bulk path would do), which
the named database constraint must stop: incident counts, time and place, relations
between incidents, units, postings, attributions, testimony consent. The ``force`` and
``official`` fixtures are ``conftest.py``'s.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from evidence import models as evidence
from tracker.models import Attribution, Incident, IncidentRelation, Position, Unit

pytestmark = pytest.mark.django_db

START = datetime(2019, 5, 5, 7, 30, tzinfo=UTC)


def _incident(**fields) -> Incident:
    values = {"title": "Airstrike on the market, Kafr Nabl", "occurred_start": START}
    values.update(fields)
    return Incident(**values)


def _messages(excinfo: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def _assert_clean_refuses(obj, message: str, *, field: str = "__all__", exclude=None) -> None:
    with pytest.raises(ValidationError) as excinfo:
        obj.full_clean(exclude=exclude)
    assert message in _messages(excinfo).get(field, []), _messages(excinfo)


def _assert_db_refuses(obj, constraint: str) -> None:
    """Save without full_clean; the named constraint must reject the row."""
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        obj.save()
    assert constraint in str(excinfo.value)


# --- Incident counts -----------------------------------------------------------------


def test_killed_min_above_max_is_explained_by_full_clean():
    incident = _incident(killed_min=12, killed_max=5)
    _assert_clean_refuses(incident, "Killed (min) cannot exceed killed (max).", exclude=["code"])
    assert not Incident.objects.exists()


def test_killed_min_above_max_is_refused_by_the_database():
    _assert_db_refuses(_incident(killed_min=12, killed_max=5), "incident_killed_min_le_max")
    assert not Incident.objects.exists()
    # The test database is still usable after the refused row.
    _incident(killed_min=5, killed_max=12).save()
    assert Incident.objects.count() == 1


def test_injured_min_above_max_is_explained_by_full_clean():
    incident = _incident(injured_min=40, injured_max=3)
    _assert_clean_refuses(incident, "Injured (min) cannot exceed injured (max).", exclude=["code"])
    assert not Incident.objects.exists()


def test_injured_min_above_max_is_refused_by_the_database():
    _assert_db_refuses(_incident(injured_min=40, injured_max=3), "incident_injured_min_le_max")
    assert not Incident.objects.exists()


def test_children_killed_above_killed_max_is_explained_by_full_clean():
    incident = _incident(killed_min=2, killed_max=4, children_killed=5)
    _assert_clean_refuses(incident, "Children killed cannot exceed killed (max).", exclude=["code"])


def test_children_killed_above_killed_max_is_refused_by_the_database():
    incident = _incident(killed_min=2, killed_max=4, children_killed=5)
    _assert_db_refuses(incident, "incident_children_le_killed")
    assert not Incident.objects.exists()


def test_women_killed_above_killed_max_is_refused_both_ways():
    incident = _incident(killed_max=4, women_killed=9)
    _assert_clean_refuses(incident, "Women killed cannot exceed killed (max).", exclude=["code"])
    _assert_db_refuses(incident, "incident_women_le_killed")
    assert not Incident.objects.exists()


def test_counts_equal_at_the_bounds_and_unknown_counts_are_accepted():
    _incident(killed_min=4, killed_max=4, children_killed=4, women_killed=4).full_clean(
        exclude=["code"]
    )
    _incident(killed_min=7, killed_max=None, children_killed=3).full_clean(exclude=["code"])
    _incident(killed_min=None, killed_max=None).full_clean(exclude=["code"])


# --- Incident time and place ---------------------------------------------------------


def test_end_before_start_is_explained_by_full_clean():
    incident = _incident(occurred_end=datetime(2019, 5, 5, 7, 29, tzinfo=UTC))
    _assert_clean_refuses(incident, "The end cannot be before the start.", exclude=["code"])


def test_end_before_start_is_refused_by_the_database():
    incident = _incident(occurred_end=datetime(2019, 5, 4, tzinfo=UTC))
    _assert_db_refuses(incident, "incident_end_after_start")
    assert not Incident.objects.exists()


def test_latitude_91_is_explained_by_the_field_validator():
    incident = _incident(latitude=Decimal("91"), longitude=Decimal("36.3"))
    _assert_clean_refuses(
        incident,
        "Ensure this value is less than or equal to 90.",
        field="latitude",
        exclude=["code"],
    )


def test_longitude_below_minus_180_is_explained_by_the_field_validator():
    incident = _incident(latitude=Decimal("35"), longitude=Decimal("-180.5"))
    _assert_clean_refuses(
        incident,
        "Ensure this value is greater than or equal to -180.",
        field="longitude",
        exclude=["code"],
    )


def test_latitude_91_is_refused_by_the_database():
    incident = _incident(latitude=Decimal("91"), longitude=Decimal("36.3"))
    _assert_db_refuses(incident, "incident_coordinates_valid")
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    "coordinates",
    [{"latitude": Decimal("35.8245")}, {"longitude": Decimal("36.3190")}],
    ids=["latitude-only", "longitude-only"],
)
def test_only_one_coordinate_is_explained_by_full_clean(coordinates):
    _assert_clean_refuses(
        _incident(**coordinates),
        "Give both latitude (-90 to 90) and longitude (-180 to 180), or neither.",
        exclude=["code"],
    )


@pytest.mark.parametrize(
    "coordinates",
    [{"latitude": Decimal("35.8245")}, {"longitude": Decimal("36.3190")}],
    ids=["latitude-only", "longitude-only"],
)
def test_only_one_coordinate_is_refused_by_the_database(coordinates):
    _assert_db_refuses(_incident(**coordinates), "incident_coordinates_valid")
    assert not Incident.objects.exists()


def test_valid_incident_saves_and_gets_sequential_codes():
    first = _incident(
        killed_min=3,
        killed_max=5,
        injured_min=0,
        injured_max=10,
        children_killed=1,
        occurred_end=datetime(2019, 5, 5, 9, 0, tzinfo=UTC),
        latitude=Decimal("35.824500"),
        longitude=Decimal("36.319000"),
    )
    first.full_clean(exclude=["code"])
    first.save()
    second = _incident(title="Shelling of the bakery")
    second.full_clean(exclude=["code"])
    second.save()

    assert first.code == "INC-0001"
    assert second.code == "INC-0002"
    stored = Incident.objects.get(code="INC-0001")
    assert (stored.killed_min, stored.killed_max) == (3, 5)
    assert stored.latitude == Decimal("35.824500")
    assert stored.occurred_start == START


def test_saving_again_keeps_the_code():
    incident = _incident()
    incident.save()
    incident.title = "Corrected title"
    incident.save()
    incident.refresh_from_db()
    assert incident.code == "INC-0001"
    _incident().save()
    assert set(Incident.objects.values_list("code", flat=True)) == {"INC-0001", "INC-0002"}


# --- Relations between incidents -----------------------------------------------------


def test_incident_related_to_itself_is_refused_both_ways():
    incident = _incident()
    incident.save()
    relation = IncidentRelation(
        from_incident=incident, to_incident=incident, kind=IncidentRelation.Kind.DUPLICATE
    )
    _assert_clean_refuses(relation, "An incident cannot be related to itself.")
    _assert_db_refuses(relation, "incident_relation_not_self")
    assert not IncidentRelation.objects.exists()


def test_incident_related_to_another_is_accepted():
    first, second = _incident(), _incident(title="Second strike, same market")
    first.save()
    second.save()
    relation = IncidentRelation(
        from_incident=second, to_incident=first, kind=IncidentRelation.Kind.FOLLOW_UP
    )
    relation.full_clean()
    relation.save()
    assert IncidentRelation.objects.get().to_incident == first


# --- Units, officials, postings, attributions ----------------------------------------


@pytest.fixture
def unit(force) -> Unit:
    return Unit.objects.create(force=force, name="22nd Air Division")


def test_unit_as_its_own_parent_is_refused_both_ways(unit):
    unit.parent = unit
    _assert_clean_refuses(unit, "A unit cannot be its own parent.")
    _assert_db_refuses(unit, "unit_not_own_parent")
    unit.refresh_from_db()
    assert unit.parent_id is None


def test_unit_under_another_unit_is_accepted(force, unit):
    squadron = Unit(force=force, name="677th Squadron", parent=unit)
    squadron.full_clean()
    squadron.save()
    assert list(unit.children.all()) == [squadron]


def test_position_ending_before_it_starts_is_refused_both_ways(official, unit):
    position = Position(
        official=official,
        unit=unit,
        title="Commander",
        start=date(2016, 3, 1),
        end=date(2015, 12, 31),
    )
    _assert_clean_refuses(position, "A posting cannot end before it starts.")
    _assert_db_refuses(position, "position_end_after_start")
    assert not Position.objects.exists()


def test_position_with_open_or_same_day_end_is_accepted(official, unit):
    Position(official=official, unit=unit, title="Commander", start=date(2016, 3, 1)).full_clean()
    same_day = Position(
        official=official, unit=unit, title="Acting", start=date(2016, 3, 1), end=date(2016, 3, 1)
    )
    same_day.full_clean()
    same_day.save()
    assert Position.objects.count() == 1


def test_attribution_naming_no_one_is_refused_both_ways():
    incident = _incident()
    incident.save()
    attribution = Attribution(incident=incident, basis="Flight observations at 07:25.")
    _assert_clean_refuses(attribution, "Name a force, a unit or an official.")
    _assert_db_refuses(attribution, "attribution_names_someone")
    assert not Attribution.objects.exists()


def test_attribution_naming_a_unit_is_accepted(unit):
    incident = _incident()
    incident.save()
    attribution = Attribution(incident=incident, unit=unit)
    attribution.full_clean()
    attribution.save()
    assert list(unit.attributions.all()) == [attribution]


# --- Testimony consent ---------------------------------------------------------------


@pytest.fixture
def testimony_parts():
    item = evidence.EvidenceItem.objects.create(
        kind=evidence.EvidenceItem.Kind.TESTIMONY, title="Interview"
    )
    witness = evidence.Witness.objects.create(pseudonym="Witness K-14")
    return item, witness


@pytest.mark.parametrize("scope", ["consent_quote", "consent_name", "consent_share_courts"])
def test_consent_scope_without_consent_is_refused_both_ways(testimony_parts, scope):
    item, witness = testimony_parts
    testimony = evidence.Testimony(
        item=item,
        witness=witness,
        interview_date=date(2019, 6, 1),
        interviewer="Team member A",
        summary="Saw two aircraft before the strike.",
        consent_given=False,
        **{scope: True},
    )
    _assert_clean_refuses(testimony, "A consent scope needs consent to have been given.")
    _assert_db_refuses(testimony, "testimony_scope_needs_consent")
    assert not evidence.Testimony.objects.exists()


def test_consent_scope_with_consent_is_accepted(testimony_parts):
    item, witness = testimony_parts
    testimony = evidence.Testimony(
        item=item,
        witness=witness,
        interview_date=date(2019, 6, 1),
        interviewer="Team member A",
        summary="Saw two aircraft before the strike.",
        consent_given=True,
        consent_quote=True,
        consent_share_courts=True,
    )
    testimony.full_clean()
    testimony.save()
    assert evidence.Testimony.objects.get().consent_quote is True
