"""The incident page /incidents/<code>/: every section, who sees what, escaping, bad codes,
and a query count that does not grow with the evidence."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from evidence import intake
from evidence.files.derivation import derive
from evidence.models import Derivative, EvidenceItem, FlightMatch, SatelliteImage
from evidence.tests.files import make_jpeg, make_png
from tracker import workflow
from tracker.models import (
    AttackType,
    Attribution,
    IncidentRelation,
    LocationPrecision,
    Sensitivity,
    TargetType,
    Weapon,
)
from tracker.tests import factories
from tracker.tests.factories import (
    AttributionFactory,
    EvidenceItemFactory,
    EvidenceLinkFactory,
    FlightObservationFactory,
    ForceFactory,
    IncidentFactory,
    OfficialFactory,
    PlaceFactory,
    PositionFactory,
    UnitFactory,
    WitnessFactory,
)

pytestmark = pytest.mark.django_db

STRIKE = datetime(2019, 5, 13, 6, 45, tzinfo=UTC)  # 09:45 in Damascus


def page_of(incident) -> str:
    return reverse("incidents:detail", args=[incident.code])


def grant(user, codename: str) -> None:
    app, name = codename.split(".")
    user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=name))


def ingest(content: bytes, *, by, incident, kind: str = "photo", **fields) -> EvidenceItem:
    """A file through the real intake, with its thumbnail and preview made."""
    result = intake.ingest(
        io.BytesIO(content), filename="file.jpg", kind=kind, by=by, incident=incident, **fields
    )
    assert not result.duplicate
    assert derive(result.item)
    return result.item


@pytest.fixture
def case(researcher, reviewer, editor):
    """One incident with something in every section, like the demo's."""
    place = PlaceFactory(name="كفرنبل Kafr Nabl", district="Maarat al-Numan", governorate="Idlib")
    incident = IncidentFactory(
        title="Airstrike on the Kafr Nabl market",
        narrative="First paragraph.\n\nSecond paragraph citing EV-000001.",
        occurred_start=STRIKE,
        start_precision="minute",
        place=place,
        location_precision=LocationPrecision.NEIGHBOURHOOD,
        attack_type=AttackType.objects.first(),
        weapon=Weapon.objects.filter(platform=Weapon.Platform.FIXED_WING).first(),
        killed_min=4,
        killed_max=7,
        injured_min=10,
        injured_max=15,
        children_killed=2,
        women_killed=1,
        civilian_harm="confirmed",
        target_types=[TargetType.objects.get(name="Market")],
        created_by=researcher,
    )
    photo = ingest(make_jpeg(colour=(200, 30, 30)), by=researcher, incident=incident)
    graphic = ingest(
        make_jpeg(colour=(30, 200, 30)), by=researcher, incident=incident, is_graphic=True
    )
    protected = ingest(
        make_jpeg(colour=(30, 30, 200)), by=researcher, incident=incident, is_protected=True
    )
    before = ingest(make_png((40, 30)), by=researcher, incident=incident, kind="satellite")
    after = ingest(make_png((41, 30)), by=researcher, incident=incident, kind="satellite")
    before_scene, _ = SatelliteImage.objects.get_or_create(item=before)
    before_scene.captured_at = datetime(2019, 5, 8, 8, 10, tzinfo=UTC)
    before_scene.save()
    after_scene, _ = SatelliteImage.objects.get_or_create(item=after)
    after_scene.captured_at = datetime(2019, 5, 15, 8, 20, tzinfo=UTC)
    after_scene.before = before_scene
    after_scene.save()

    witness = WitnessFactory(pseudonym="Witness K-14", real_name="Hidden Person Name")
    testimony = factories.TestimonyFactory(
        witness=witness, summary="Two explosions near the market."
    )
    EvidenceLinkFactory(item=testimony.item, incident=incident)

    force = ForceFactory(name="Sample Air Force", country="Russia")
    division = UnitFactory(force=force, name="Sample Division")
    squadron = UnitFactory(force=force, name="Sample Squadron", parent=division)
    general = OfficialFactory(name="General Sample Commander")
    PositionFactory(official=general, unit=division, title="Division commander")
    attribution = AttributionFactory(
        incident=incident,
        unit=squadron,
        role=Attribution.Role.DIRECT,
        confidence=Attribution.Confidence.MEDIUM,
        basis="Spotters saw two jets of the squadron.",
    )
    attribution.supporting_evidence.add(photo)

    earlier = IncidentFactory(title="First strike on the market", occurred_start=STRIKE)
    later = IncidentFactory(title="Strike on rescuers", occurred_start=STRIKE)
    secret = IncidentFactory(title="Restricted neighbour", sensitivity=Sensitivity.RESTRICTED)
    IncidentRelation.objects.create(
        from_incident=incident, to_incident=earlier, kind=IncidentRelation.Kind.FOLLOW_UP
    )
    IncidentRelation.objects.create(
        from_incident=later, to_incident=incident, kind=IncidentRelation.Kind.FOLLOW_UP
    )
    IncidentRelation.objects.create(
        from_incident=incident, to_incident=secret, kind=IncidentRelation.Kind.SAME_OPERATION
    )

    seen = FlightObservationFactory(observed_at=STRIKE.replace(minute=41), station="KFN-1")
    FlightMatch.objects.create(
        observation=seen,
        incident=incident,
        score=0.9,
        reasons="4 min before the strike",
        confirmed_by=reviewer,
        confirmed_at=timezone.now(),
    )
    workflow.transition(incident, "submit", by=researcher)
    workflow.transition(incident, "request_changes", by=reviewer, comment="Add the injured count.")
    incident.refresh_from_db()
    return {
        "incident": incident,
        "photo": photo,
        "graphic": graphic,
        "protected": protected,
        "before": before,
        "after": after,
        "testimony": testimony,
        "earlier": earlier,
        "later": later,
        "secret": secret,
        "general": general,
    }


def test_every_section_renders(client, researcher, case):
    client.force_login(researcher)
    response = client.get(page_of(case["incident"]))
    assert response.status_code == 200
    html = response.content.decode()
    incident = case["incident"]
    # Identity, time with precision, place and casualties.
    assert incident.code in html and "Airstrike on the Kafr Nabl market" in html
    assert "2019-05-13 09:45" in html and "to the minute" in html
    assert "<bdi>كفرنبل Kafr Nabl</bdi>" in html
    assert "(neighbourhood)" in html
    assert "4–7" in html and "10–15" in html
    assert "confirmed" in html
    # Narrative paragraphs, the map's data, review status and timeline.
    assert "<p>First paragraph.</p>" in html
    assert 'data-map="map-data"' in html and 'id="map-data"' in html
    assert "changes requested" in html and "Add the injured count." in html
    assert "submit for review" in html
    # Attributions with their supporting evidence, and the chain of command.
    assert "Sample Squadron" in html and "Spotters saw two jets" in html
    assert f'href="#evidence-{case["photo"].code}"' in html
    assert "General Sample Commander" in html and "Division commander" in html
    assert reverse("officials:dossier", args=[case["general"].pk]) in html
    # Related incidents both ways.
    assert case["earlier"].code in html and case["later"].code in html
    assert "Follow-up strike (double tap) of" in html and "Followed up by" in html
    # The gallery: code, kind, hash prefix, status of every linked item.
    for key in ("photo", "graphic", "protected", "before", "after"):
        item = case[key]
        assert f'id="evidence-{item.code}"' in html
        assert item.sha256[:12] in html
    # Satellite pair, testimony, flights.
    assert "Before" in html and "After" in html and "2019-05-08 11:10" in html
    assert "Witness K-14" in html and "Two explosions near the market." in html
    assert "Confirmed matches" in html and "KFN-1" in html
    # Ranked when the section is opened, not with the page.
    assert "flights" not in response.context
    ranked_url = reverse("incidents:flights", args=[case["incident"].code])
    assert f'data-on-demand="{ranked_url}?part=1"' in html
    assert client.get(ranked_url, {"part": "1"}).context["flights"]["total"] == 1


def test_the_map_data_carries_the_location_precision(client, researcher, case):
    client.force_login(researcher)
    config = client.get(page_of(case["incident"])).context["map_config"]
    (feature,) = config["features"]["features"]
    assert feature["properties"]["location_precision"] == "neighbourhood"
    assert feature["properties"]["code"] == case["incident"].code
    assert feature["geometry"]["coordinates"] == [36.6012, 35.8123]
    assert config["radii"]["neighbourhood"] > 0  # drawn as a circle, not a pin
    assert [t["name"] for t in config["types"]] == ["Market"]


def test_an_incident_without_coordinates_falls_back_to_its_place(client, researcher, db):
    place = PlaceFactory(latitude="35.5", longitude="36.5")
    incident = IncidentFactory(
        place=place, latitude=None, longitude=None, location_precision="exact"
    )
    client.force_login(researcher)
    config = client.get(page_of(incident)).context["map_config"]
    (feature,) = config["features"]["features"]
    # The place's coordinates locate a town, not the site: a circle, not a pin.
    assert feature["properties"]["location_precision"] == "town"
    assert feature["geometry"]["coordinates"] == [36.5, 35.5]


def test_an_incident_without_any_location_has_no_map(client, researcher, db):
    incident = IncidentFactory(place=None, latitude=None, longitude=None)
    client.force_login(researcher)
    response = client.get(page_of(incident))
    assert response.context["map_config"] is None
    assert "No coordinates are recorded" in response.content.decode()


def test_thumbnails_go_through_the_protected_views(client, researcher, case):
    client.force_login(researcher)
    html = client.get(page_of(case["incident"])).content.decode()
    photo = case["photo"]
    assert reverse("evidence:thumbnail", args=[photo.code]) in html
    assert reverse("evidence:preview", args=[photo.code]) in html
    assert "/originals/" not in html and photo.original_path not in html


def test_an_item_the_user_may_not_open_has_no_thumbnail_url(client, other_researcher, case):
    client.force_login(other_researcher)
    html = client.get(page_of(case["incident"])).content.decode()
    protected = case["protected"]
    assert f"/evidence/{protected.code}/" not in html
    assert "Restricted: you may not open" in html


def test_the_uploader_of_a_protected_item_sees_its_thumbnail(client, researcher, case):
    client.force_login(researcher)
    html = client.get(page_of(case["incident"])).content.decode()
    assert reverse("evidence:thumbnail", args=[case["protected"].code]) in html


def test_a_holder_of_protected_identity_sees_protected_thumbnails(client, other_researcher, case):
    grant(other_researcher, "evidence.view_protected_identity")
    client.force_login(other_researcher)
    html = client.get(page_of(case["incident"])).content.decode()
    assert reverse("evidence:thumbnail", args=[case["protected"].code]) in html


def test_graphic_items_are_blurred_with_a_button(client, researcher, case):
    client.force_login(researcher)
    html = client.get(page_of(case["incident"])).content.decode()
    card = html.split(f'id="evidence-{case["graphic"].code}"')[1].split("</li>")[0]
    assert "inc-graphic" in card and "data-graphic" in card
    assert '<button type="button" class="inc-unblur">' in card
    plain = html.split(f'id="evidence-{case["photo"].code}"')[1].split("</li>")[0]
    assert "inc-graphic" not in plain and "inc-unblur" not in plain
    assert "<script>" not in html.split("</head>")[1]  # no inline script in the body (CSP)
    assert " onclick=" not in html


def test_protected_witness_name_is_absent_for_a_researcher(client, researcher, case):
    client.force_login(researcher)
    html = client.get(page_of(case["incident"])).content.decode()
    assert "Witness K-14" in html
    assert "Hidden Person Name" not in html
    assert "+000 0000 0000" not in html


def test_protected_witness_name_is_shown_to_a_holder_of_the_permission(client, researcher, case):
    grant(researcher, "evidence.view_protected_identity")
    client.force_login(researcher)
    html = client.get(page_of(case["incident"])).content.decode()
    assert "Hidden Person Name" in html and "+000 0000 0000" in html


def test_a_restricted_incident_is_404_for_a_researcher(client, researcher, case):
    client.force_login(researcher)
    assert client.get(page_of(case["secret"])).status_code == 404
    html = client.get(page_of(case["incident"])).content.decode()
    assert case["secret"].code not in html  # nor is it listed among the related


def test_a_restricted_incident_is_shown_to_a_named_person(client, researcher, case):
    grant(researcher, "tracker.view_restricted_incident")
    client.force_login(researcher)
    assert client.get(page_of(case["secret"])).status_code == 200
    html = client.get(page_of(case["incident"])).content.decode()
    assert case["secret"].code in html and "Same operation as" in html


def test_html_in_records_is_escaped(client, researcher, db):
    attack = "<script>alert('x')</script>"
    incident = IncidentFactory(title=f"Title {attack}", narrative=f"Narrative {attack}")
    testimony = factories.TestimonyFactory(witness=WitnessFactory(pseudonym=f"W {attack}"))
    EvidenceLinkFactory(item=testimony.item, incident=incident)
    client.force_login(researcher)
    html = client.get(page_of(incident)).content.decode()
    assert attack not in html
    assert html.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;") >= 3


def test_anonymous_visitors_are_sent_to_login(client, case):
    response = client.get(page_of(case["incident"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_an_account_without_the_case_role_is_refused(client, outsider, case):
    client.force_login(outsider)
    assert client.get(page_of(case["incident"])).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/incidents/INC-9999/",
        "/incidents/inc-0001/",
        "/incidents/../x/",
        "/incidents/..%2Fx/",
        "/incidents/%2e%2e/",
        "/incidents/" + "A" * 300 + "/",
        "/incidents/INC-0001'%20OR%20'1'='1/",
        "/incidents/%F0%9F%92%A3/",
    ],
)
def test_unknown_or_weird_codes_are_404(client, researcher, case, path):
    client.force_login(researcher)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/incidents/%00/", "/incidents/INC-%00/", "/incidents/" + "INC-" + "9" * 5000 + "/"],
)
def test_codes_no_database_could_hold_are_a_400(client, researcher, case, path):
    """A NUL byte (PostgreSQL refuses it) or a path longer than any code: refused before
    the page is looked up (tracker.accounts.hostile_input)."""
    client.force_login(researcher)
    assert client.get(path).status_code == 400


def test_edit_link_only_for_those_who_may_change_it(client, researcher, other_researcher, db):
    incident = IncidentFactory(created_by=researcher)
    change = reverse("admin:tracker_incident_change", args=[incident.pk])
    client.force_login(researcher)  # the author of a draft
    html = client.get(page_of(incident)).content.decode()
    assert f'<a href="{change}">Edit in admin</a>' in html
    client.force_login(other_researcher)  # sees others' drafts read-only
    html = client.get(page_of(incident)).content.decode()
    assert "Edit in admin" not in html and f'<a href="{change}">Open in admin</a>' in html
    assert f'href="{reverse("incidents:list")}"' in html


def test_the_page_answers_get_only(client, researcher, case):
    client.force_login(researcher)
    assert client.post(page_of(case["incident"])).status_code == 405


def incident_with_items(count: int, user):
    """An incident with ``count`` items of every shape the page reads, and as many
    attributions with supporting evidence, relations and testimonies."""
    incident = IncidentFactory(occurred_start=STRIKE, start_precision="minute")
    for n in range(count):
        item = EvidenceItemFactory(kind=EvidenceItem.Kind.PHOTO, sha256=f"{n:064x}")
        EvidenceLinkFactory(item=item, incident=incident)
        for kind in (Derivative.Kind.THUMBNAIL, Derivative.Kind.PREVIEW):
            Derivative.objects.create(
                item=item, kind=kind, path=f"x/{n}/{kind}", width=1, height=1, sha256="0" * 64
            )
        testimony = factories.TestimonyFactory()
        EvidenceLinkFactory(item=testimony.item, incident=incident)
        before = EvidenceItemFactory(kind=EvidenceItem.Kind.SATELLITE)
        after = EvidenceItemFactory(kind=EvidenceItem.Kind.SATELLITE)
        EvidenceLinkFactory(item=after, incident=incident)
        scene = SatelliteImage.objects.create(item=before)
        SatelliteImage.objects.create(item=after, before=scene)
        attribution = AttributionFactory(incident=incident)
        attribution.supporting_evidence.add(item)
        PositionFactory(unit=attribution.unit)
        IncidentRelation.objects.create(
            from_incident=incident, to_incident=IncidentFactory(), kind="same_operation"
        )
        observation = FlightObservationFactory(observed_at=STRIKE.replace(minute=40))
        FlightMatch.objects.create(
            observation=observation,
            incident=incident,
            score=0.5,
            reasons="-",
            confirmed_by=user,
            confirmed_at=timezone.now(),
        )
    return incident


# Session, user, its two permission sets; the incident and its target types; links and
# derivatives; review events; attributions and their evidence; the chain of command (2:
# the unit tree, postings; the attributions held); relations; confirmed flight matches
# (the ranking is asked for when its section opens).
QUERIES = 15


@pytest.mark.parametrize("count", [1, 20])
def test_query_count_does_not_grow_with_items(client, researcher, django_assert_num_queries, count):
    incident = incident_with_items(count, researcher)
    client.force_login(researcher)
    client.get(page_of(incident))  # warm the content type cache and the session
    with django_assert_num_queries(QUERIES):
        response = client.get(page_of(incident))
    assert len(response.context["evidence"].gallery) == 3 * count
    assert len(response.context["chain"]) == count
    assert len(response.context["matches"]) == count
    assert response.content.decode().count('class="inc-sat"') == count


def test_testimony_dates_and_consent_are_shown(client, researcher, db):
    incident = IncidentFactory()
    testimony = factories.TestimonyFactory(
        interview_date=date(2019, 6, 2), consent_given=True, consent_quote=True
    )
    EvidenceLinkFactory(item=testimony.item, incident=incident)
    client.force_login(researcher)
    html = client.get(page_of(incident)).content.decode()
    assert "interviewed 2019-06-02" in html and "given; may quote." in html


def test_the_map_feature_is_the_geojson_export_of_the_incident(client, researcher, case):
    client.force_login(researcher)
    incident = case["incident"]
    config = client.get(page_of(incident)).context["map_config"]
    (feature,) = config["features"]["features"]
    response = client.get(reverse("incidents:export_geojson"))
    exported = json.loads(b"".join(response.streaming_content))
    (same,) = [f for f in exported["features"] if f["properties"]["code"] == incident.code]
    assert feature == same
