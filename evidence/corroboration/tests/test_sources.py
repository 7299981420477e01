"""Relied-on items grouped into independent sources (evidence.corroboration.sources)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from evidence.corroboration import facts
from evidence.corroboration.sources import independent
from evidence.models import (
    CapturePart,
    EvidenceItem,
    EvidenceLink,
    SatelliteImage,
    WebCapture,
    Witness,
)
from evidence.models import Testimony as Statement  # a "Test*" name is collected
from tracker.models import DatePrecision, Incident, LocationPrecision

K = EvidenceItem.Kind

# --- Builders -----------------------------------------------------------------------------


def at(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.get_default_timezone())


def make_incident(title: str = "Strike on the market") -> Incident:
    return Incident.objects.create(
        title=title,
        occurred_start=at(2019, 5, 5, 14, 0),
        start_precision=DatePrecision.MINUTE,
        latitude=Decimal("35.812300"),
        longitude=Decimal("36.601200"),
        location_precision=LocationPrecision.EXACT,
    )


def add(incident: Incident, kind: str = K.PHOTO, *, relied_on: bool = True, **fields):
    item = EvidenceItem.objects.create(kind=kind, title=fields.pop("title", f"A {kind}"), **fields)
    EvidenceLink.objects.create(item=item, incident=incident, relied_on=relied_on)
    return item


def capture(incident: Incident, url: str, final_url: str = "", **fields) -> EvidenceItem:
    item = add(incident, K.WEB_CAPTURE, **fields)
    WebCapture.objects.create(item=item, url=url, final_url=final_url, captured_at=timezone.now())
    return item


def interview(incident: Incident, witness: Witness, **fields) -> EvidenceItem:
    item = add(incident, K.TESTIMONY, **fields)
    Statement.objects.create(
        item=item,
        witness=witness,
        interview_date=date(2019, 5, 20),
        interviewer="Team member",
        summary="Heard aircraft, then an explosion.",
    )
    return item


def scene(incident: Incident, taken: datetime, before: SatelliteImage | None = None):
    item = add(incident, K.SATELLITE)
    return SatelliteImage.objects.create(
        item=item,
        captured_at=taken,
        before=before,
        west=Decimal("36.5"),
        south=Decimal("35.7"),
        east=Decimal("36.7"),
        north=Decimal("35.9"),
    )


def sources_of(incident: Incident):
    return independent(facts.load([incident.pk])[incident.pk])


def groups(incident: Incident) -> list[set[str]]:
    return [set(source.codes) for source in sources_of(incident)]


# --- Re-posts of one photo ----------------------------------------------------------------


@pytest.mark.django_db
def test_ten_near_duplicate_reposts_are_one_source():
    incident = make_incident()
    photos = [add(incident, source_name=f"Channel {n}") for n in range(10)]
    for one, next_one in zip(photos, photos[1:], strict=False):  # a chain: transitive
        one.near_duplicates.add(next_one)

    found = sources_of(incident)

    assert len(found) == 1
    assert set(found[0].codes) == {p.code for p in photos}
    assert len(found[0].why) == 9
    assert all(line.endswith(": near-duplicate files") for line in found[0].why)
    assert f"{photos[0].code} and {photos[1].code}: near-duplicate files" in found[0].why


@pytest.mark.django_db
def test_ten_reposts_of_one_address_through_different_channels_are_one_source():
    incident = make_incident()
    variants = [
        "https://www.example.com/post/7",
        "http://example.com/post/7/",
        "https://EXAMPLE.com/post/7#top",
        "https://www.Example.com/post/7/#comments",
        "https://example.com/post/7",
    ]
    photos = [
        add(incident, source_name=f"Channel {n}", source_url=variants[n % len(variants)])
        for n in range(10)
    ]

    found = sources_of(incident)

    assert len(found) == 1
    assert found[0].codes == [p.code for p in photos]
    assert f"{photos[0].code} and {photos[1].code}: the same web address (example.com/post/7)" in (
        found[0].why
    )


@pytest.mark.django_db
def test_a_different_path_on_the_same_site_is_another_source():
    incident = make_incident()
    add(incident, source_url="https://www.example.com/post/7")
    add(incident, source_url="https://www.example.com/post/8")
    add(incident, source_url="https://other.example.com/post/7")

    assert len(sources_of(incident)) == 3


# --- The same source name -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_source_name_groups_whatever_its_case_and_diacritics():
    incident = make_incident()
    first = add(incident, source_name="Aleppo Media Center")
    second = add(incident, source_name="ÁLEPPO  Média-Center ")
    third = add(incident, K.VIDEO, source_name="aleppo media center")
    other = add(incident, source_name="Aleppo Media Centre")

    found = sources_of(incident)

    assert [set(s.codes) for s in found] == [{first.code, second.code, third.code}, {other.code}]
    assert found[0].why == [
        f"{first.code} and {second.code}: the same source (ÁLEPPO  Média-Center)",
        f"{first.code} and {third.code}: the same source (aleppo media center)",
    ]
    assert found[1].why == []


@pytest.mark.django_db
def test_items_without_a_source_name_are_not_grouped_by_it():
    incident = make_incident()
    add(incident, source_name="")
    add(incident, source_name="  ")
    add(incident, source_name="")

    assert len(sources_of(incident)) == 3


# --- Web addresses and captures ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_capture_groups_with_items_posted_at_its_address_or_where_it_led():
    incident = make_incident()
    page = capture(incident, "https://t.co/abc", final_url="https://www.example.org/news/strike/")
    reached = add(incident, source_url="http://example.org/news/strike#photo-2")
    asked = add(incident, K.VIDEO, source_url="https://T.co/abc/")
    apart = add(incident, source_url="https://example.org/news/other")

    found = sources_of(incident)

    assert [set(s.codes) for s in found] == [
        {page.code, reached.code, asked.code},
        {apart.code},
    ]
    why = found[0].why
    assert f"{page.code} and {reached.code}: the same web address (example.org/news/strike)" in why
    assert f"{page.code} and {asked.code}: the same web address (t.co/abc)" in why


@pytest.mark.django_db
def test_two_captures_of_one_address_are_one_source():
    incident = make_incident()
    capture(incident, "https://www.example.net/a/")
    capture(incident, "http://example.net/a#b", final_url="https://example.net/c")

    assert len(sources_of(incident)) == 1


@pytest.mark.django_db
def test_the_parts_of_a_capture_group_with_it():
    incident = make_incident()
    page = capture(incident, "https://example.com/page")
    shot = add(incident, K.PHOTO, title="Screenshot")
    pdf = add(incident, K.DOCUMENT, title="PDF print")
    media = add(incident, K.VIDEO, title="Clip on the page")
    web = page.web
    for part, role in ((shot, "screenshot"), (pdf, "pdf"), (media, "media")):
        CapturePart.objects.create(capture=web, item=part, role=role)

    found = sources_of(incident)

    assert len(found) == 1
    assert set(found[0].codes) == {page.code, shot.code, pdf.code, media.code}
    assert f"{shot.code} and {page.code}: made from {page.code}'s capture" in found[0].why
    assert f"{pdf.code} and {page.code}: made from {page.code}'s capture" in found[0].why


@pytest.mark.django_db
def test_a_part_whose_capture_is_not_relied_on_stands_alone():
    incident = make_incident()
    page = capture(incident, "https://example.com/page", relied_on=False)
    shot = add(incident, K.PHOTO, title="Screenshot")
    lone = add(incident, K.PHOTO)
    CapturePart.objects.create(capture=page.web, item=shot, role="screenshot")

    assert groups(incident) == [{shot.code}, {lone.code}]


# --- Witnesses and satellite scenes ---------------------------------------------------------


@pytest.mark.django_db
def test_two_testimonies_of_one_witness_are_one_source():
    incident = make_incident()
    k14 = Witness.objects.create(pseudonym="Witness K-14", role=Witness.Role.SURVIVOR)
    k15 = Witness.objects.create(pseudonym="Witness K-15", role=Witness.Role.SURVIVOR)
    first = interview(incident, k14)
    second = interview(incident, k14)
    third = interview(incident, k15)

    found = sources_of(incident)

    assert [set(s.codes) for s in found] == [{first.code, second.code}, {third.code}]
    assert found[0].why == [f"{first.code} and {second.code}: the same witness (Witness K-14)"]


@pytest.mark.django_db
def test_the_before_and_after_scenes_of_a_comparison_are_one_source():
    incident = make_incident()
    before = scene(incident, at(2019, 5, 1))
    after = scene(incident, at(2019, 5, 8), before=before)
    alone = scene(incident, at(2019, 5, 9))

    found = sources_of(incident)

    assert [set(s.codes) for s in found] == [
        {before.item.code, after.item.code},
        {alone.item.code},
    ]
    assert found[0].why == [
        f"{before.item.code} and {after.item.code}: before and after scenes of one comparison"
    ]


@pytest.mark.django_db
def test_an_after_scene_whose_before_is_not_relied_on_stands_alone():
    incident = make_incident()
    other = make_incident("Another strike")
    before = scene(other, at(2019, 5, 1))
    after = scene(incident, at(2019, 5, 8), before=before)

    found = sources_of(incident)

    assert [s.codes for s in found] == [[after.item.code]]


# --- Unrelated items, mixed reasons ------------------------------------------------------------


@pytest.mark.django_db
def test_unrelated_items_stay_separate_sources_with_no_reason():
    incident = make_incident()
    items = [
        add(incident, K.PHOTO, source_name="Civil Defence", source_url="https://a.example/1"),
        add(incident, K.VIDEO, source_name="Local council", source_url="https://b.example/1"),
        add(incident, K.DOCUMENT, source_name="Hospital", source_url="https://a.example/2"),
        add(incident, K.AUDIO),
    ]

    found = sources_of(incident)

    assert [s.codes for s in found] == [[item.code] for item in items]
    assert all(s.why == [] for s in found)


@pytest.mark.django_db
def test_reasons_chain_items_into_one_source_and_keep_every_why():
    incident = make_incident()
    first = add(incident, source_name="Channel A")
    second = add(incident, K.VIDEO, source_name="channel a", source_url="https://x.example/v")
    third = add(incident, source_url="https://www.x.example/v/")
    fourth = add(incident)
    third.near_duplicates.add(fourth)
    separate = add(incident, source_name="Channel B")

    found = sources_of(incident)

    assert [s.codes for s in found] == [
        [first.code, second.code, third.code, fourth.code],
        [separate.code],
    ]
    assert found[0].why == [
        f"{first.code} and {second.code}: the same source (channel a)",
        f"{second.code} and {third.code}: the same web address (x.example/v)",
        f"{third.code} and {fourth.code}: near-duplicate files",
    ]


# --- Only what is relied on ----------------------------------------------------------------


@pytest.mark.django_db
def test_items_not_relied_on_are_ignored_and_group_nothing():
    incident = make_incident()
    left = add(incident, source_name="Channel A", source_url="https://example.com/1")
    right = add(incident, source_name="Channel B", source_url="https://example.com/2")
    bridge = add(
        incident,
        relied_on=False,
        source_name="channel a",  # the name of one,
        source_url="https://example.com/2",  # the address of the other,
    )
    bridge.near_duplicates.add(left, right)  # and a near-duplicate of both

    case = facts.load([incident.pk])[incident.pk]
    found = independent(case)

    assert [item.code for item in case.items] == [left.code, right.code]
    assert [s.codes for s in found] == [[left.code], [right.code]]
    assert not any(bridge.code in line for s in found for line in s.why)


@pytest.mark.django_db
def test_an_item_relied_on_elsewhere_in_the_batch_groups_nothing_here():
    incident, elsewhere = make_incident(), make_incident("Another strike")
    left, right = add(incident), add(incident)
    bridge = add(incident, relied_on=False)
    EvidenceLink.objects.create(item=bridge, incident=elsewhere, relied_on=True)
    bridge.near_duplicates.add(left, right)

    cases = facts.load([incident.pk, elsewhere.pk])

    assert [s.codes for s in independent(cases[incident.pk])] == [[left.code], [right.code]]
    assert [s.codes for s in independent(cases[elsewhere.pk])] == [[bridge.code]]


@pytest.mark.django_db
def test_near_duplicates_linked_to_other_incidents_are_separate_there():
    incident, elsewhere = make_incident(), make_incident("Another strike")
    mine = add(incident)
    theirs = add(elsewhere)
    mine.near_duplicates.add(theirs)

    cases = facts.load([incident.pk, elsewhere.pk])

    assert cases[incident.pk].near_duplicates == set()
    assert [s.codes for s in independent(cases[incident.pk])] == [[mine.code]]


@pytest.mark.django_db
def test_an_incident_with_nothing_relied_on_has_no_source():
    incident = make_incident()
    add(incident, relied_on=False)

    assert sources_of(incident) == []
