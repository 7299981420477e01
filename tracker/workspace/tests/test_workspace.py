"""The incident browser and its exports: filters, paging, sorting, visibility, hostile input."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from evidence.models import EvidenceItem
from tracker.models import Attribution, Incident, ReviewStatus, Sensitivity, TargetType
from tracker.tests.factories import (
    AttributionFactory,
    EvidenceItemFactory,
    EvidenceLinkFactory,
    ForceFactory,
    IncidentFactory,
    OfficialFactory,
    PlaceFactory,
    UnitFactory,
)
from tracker.workspace.exports import neutralise

LIST = reverse("incidents:list")
CSV = reverse("incidents:export_csv")
GEOJSON = reverse("incidents:export_geojson")


def codes_in_page(response) -> set[str]:
    return {i.code for i in response.context["incidents"]}


def csv_rows(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def geojson(response) -> dict:
    return json.loads(b"".join(response.streaming_content).decode("utf-8"))


@pytest.fixture
def logged_in(client, researcher):
    client.force_login(researcher)
    return client


@pytest.fixture
def case(db):
    """Four incidents that differ in every filtered field."""
    school, market = TargetType.objects.get(name="School"), TargetType.objects.get(name="Market")
    maarat = PlaceFactory(name="Maarat al-Numan", governorate="Idlib", district="Maarat")
    hama = PlaceFactory(name="Kafr Zita", governorate="Hama", district="Mhardeh")
    force = ForceFactory(name="Air Force (sample)")
    unit = UnitFactory(force=force, name="Squadron 1 (sample)")
    official = OfficialFactory(name="General Sample")
    a = IncidentFactory(
        title="Strike on school",
        place=maarat,
        occurred_start=datetime(2019, 5, 5, 9, tzinfo=UTC),
        killed_min=10,
        killed_max=12,
        civilian_harm="confirmed",
        target_types=[school],
    )
    b = IncidentFactory(
        title="Strike on market",
        place=hama,
        occurred_start=datetime(2019, 6, 1, 9, tzinfo=UTC),
        killed_min=1,
        killed_max=2,
        civilian_harm="weak",
        target_types=[market],
    )
    c = IncidentFactory(
        title="Strike, casualties unknown",
        place=maarat,
        occurred_start=datetime(2019, 7, 1, 9, tzinfo=UTC),
        killed_min=None,
        killed_max=None,
        target_types=[market],
    )
    hidden = IncidentFactory(
        title="Restricted strike",
        place=maarat,
        occurred_start=datetime(2019, 5, 6, 9, tzinfo=UTC),
        sensitivity=Sensitivity.RESTRICTED,
        target_types=[school],
    )
    AttributionFactory(incident=a, unit=unit)
    AttributionFactory(incident=b, unit=None, official=official)
    AttributionFactory(incident=c, unit=None, force=force, status=ReviewStatus.REJECTED)
    video = EvidenceItemFactory(kind=EvidenceItem.Kind.VIDEO)
    EvidenceLinkFactory(item=video, incident=b)
    EvidenceLinkFactory(incident=a)
    return {
        "a": a,
        "b": b,
        "c": c,
        "hidden": hidden,
        "force": force,
        "unit": unit,
        "official": official,
        "school": school,
        "maarat": maarat,
    }


# --- Filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", {"a", "b", "c"}),
        ("occurred_after=2019-05-06", {"b", "c"}),
        ("occurred_before=2019-06-01", {"a", "b"}),
        ("occurred_after=2019-05-06&occurred_before=2019-06-30", {"b"}),
        ("governorate=Hama", {"b"}),
        ("district=Maarat", {"a", "c"}),
        ("civilian_harm=confirmed&civilian_harm=weak", {"a", "b"}),
        ("killed_at_least=5", {"a"}),
        ("killed_at_most=2", {"b"}),
        ("has_evidence=video", {"b"}),
        ("has_evidence=photo&has_evidence=video", {"a", "b"}),
        ("status=draft", {"a", "b", "c"}),
        ("status=published", set()),
    ],
)
def test_filters_narrow_the_list(logged_in, case, query, expected):
    response = logged_in.get(f"{LIST}?{query}")
    assert response.status_code == 200
    assert codes_in_page(response) == {case[k].code for k in expected}


def test_filters_by_model_choices(logged_in, case):
    def found(query: str) -> set[str]:
        return codes_in_page(logged_in.get(f"{LIST}?{query}"))

    assert found(f"target_type={case['school'].pk}") == {case["a"].code}
    assert found(f"place={case['maarat'].pk}") == {case["a"].code, case["c"].code}
    assert found(f"unit={case['unit'].pk}") == {case["a"].code}
    assert found(f"official={case['official'].pk}") == {case["b"].code}
    # Through its unit; the rejected attribution of c does not count.
    assert found(f"force={case['force'].pk}") == {case["a"].code}


def test_places_units_officials_and_forces_by_name(logged_in, case):
    def found(query: str) -> set[str]:
        return codes_in_page(logged_in.get(LIST, query))

    assert found({"place": "maarat"}) == {case["a"].code, case["c"].code}
    assert found({"unit": "squadron 1"}) == {case["a"].code}
    assert found({"official": "general sample"}) == {case["b"].code}
    assert found({"force": "Air Force (sample)"}) == {case["a"].code}
    assert found({"official": "nobody of that name"}) == set()
    assert found({"official": "99999999999999999999999"}) == set()
    assert found({"official": "..."}) == set()


def test_filters_in_force_name_a_record_given_by_number(logged_in, case):
    """A link carries ?official=17; the page says which official, not "17"."""
    query = {"official": case["official"].pk, "unit": case["unit"].pk, "place": "99999"}
    active = logged_in.get(LIST, query).context["active"]
    assert active["Attributed official"] == "General Sample"
    assert active["Attributed unit"] == str(case["unit"])
    assert active["Place"] == "no place 99999"
    assert logged_in.get(LIST, {"force": "air"}).context["active"] == {"Attributed force": "air"}


def test_an_incident_with_two_matching_rows_is_listed_once(logged_in, case):
    both = ",".join(str(t.pk) for t in TargetType.objects.all()[:2])
    case["a"].target_types.set(TargetType.objects.all())
    AttributionFactory(incident=case["a"], unit=case["unit"], role=Attribution.Role.SUSPECTED)
    response = logged_in.get(f"{LIST}?unit={case['unit'].pk}&target_type=" + both)
    assert [i.code for i in response.context["incidents"]].count(case["a"].code) == 1


def test_sorting_by_date_casualties_and_code(logged_in, case):
    def order(sort: str) -> list[str]:
        return [i.code for i in logged_in.get(f"{LIST}?sort={sort}").context["incidents"]]

    a, b, c = case["a"].code, case["b"].code, case["c"].code
    assert order("-date") == [c, b, a]
    assert order("date") == [a, b, c]
    assert order("code") == sorted([a, b, c])
    assert order("-killed")[:2] == [a, b] or order("-killed")[-2:] == [a, b]
    killed = order("killed")
    assert killed.index(b) < killed.index(a)


def test_paging_covers_every_row_once(logged_in, db):
    made = {IncidentFactory().code for _ in range(120)}
    seen = []
    for number in (1, 2, 3):
        response = logged_in.get(f"{LIST}?page={number}&sort=date")
        seen += [i.code for i in response.context["incidents"]]
    assert len(seen) == 120 and set(seen) == made


def test_query_count_does_not_grow_with_rows(logged_in, db, django_assert_max_num_queries):
    for _ in range(3):
        EvidenceLinkFactory(incident=IncidentFactory())
    with django_assert_max_num_queries(12) as few:
        logged_in.get(LIST)
    for _ in range(30):
        EvidenceLinkFactory(incident=IncidentFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        logged_in.get(LIST)


# --- Hostile and bad input ------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, message",
    [
        ("occurred_after=yesterday", "occurred_after=yesterday"),
        ("target_type=999999", "target_type=999999"),
        ("killed_at_most=abc", "killed_at_most=abc"),
        ("has_evidence=password", "has_evidence=password"),
        ("killed_at_least=-3", "killed_at_least=-3"),
        ("killed_at_least=1e999", "killed_at_least"),
        ("status=nonsense", "status=nonsense"),
        ("sort=password", "sort=password"),
        ("page=-1", "Page must be a whole number"),
        ("page=abc", "Page must be a whole number"),
        ("page=99999", "There is no page 99999"),
    ],
)
def test_values_that_do_not_parse_give_a_message_not_a_500(logged_in, case, query, message):
    response = logged_in.get(f"{LIST}?{query}")
    assert response.status_code == 200
    shown = " ".join(str(m) for m in response.context["messages"])
    assert message in shown
    assert codes_in_page(response)  # the other filters still list incidents


def test_a_bad_value_is_named_and_the_good_filters_still_apply(logged_in, case):
    response = logged_in.get(f"{LIST}?governorate=Hama&occurred_after=yesterday")
    assert codes_in_page(response) == {case["b"].code}
    assert b"Not applied" in response.content


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE tracker_incident; --",
        '<script>alert("x")</script>',
        "%_%",
        '" OR 1=1 --',
    ],
)
def test_search_strings_with_sql_or_html_are_just_text(logged_in, case, text):
    response = logged_in.get(LIST, {"q": text})
    assert response.status_code == 200
    assert b"<script>alert" not in response.content
    assert Incident.objects.count() == 4


def test_html_in_records_is_escaped(logged_in, db):
    IncidentFactory(title='<img src=x onerror="alert(1)">')
    response = logged_in.get(LIST)
    assert b'<img src=x onerror="alert(1)">' not in response.content
    assert b"&lt;img src=x onerror=" in response.content


@pytest.mark.parametrize("url", [LIST, CSV, GEOJSON])
def test_anonymous_visitors_are_sent_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("url", [LIST, CSV, GEOJSON])
def test_an_account_without_the_case_role_is_refused(client, outsider, url):
    client.force_login(outsider)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [CSV, GEOJSON])
def test_exports_refuse_filters_that_do_not_parse(logged_in, case, url):
    response = logged_in.get(f"{url}?occurred_after=yesterday")
    assert response.status_code == 400
    assert b"occurred_after=yesterday" in response.content


@pytest.mark.parametrize("url", [CSV, GEOJSON])
def test_exports_accept_get_only(logged_in, case, url):
    assert logged_in.post(url).status_code in (403, 405)


# --- Restricted incidents and protected fields ----------------------------------------------


def test_restricted_incidents_exist_only_for_named_people(client, researcher, case):
    client.force_login(researcher)
    for query in ("", "sensitivity=restricted", f"q={case['hidden'].code}"):
        assert case["hidden"].code not in codes_in_page(client.get(f"{LIST}?{query}"))
    assert case["hidden"].code not in {r["code"] for r in csv_rows(client.get(CSV))}
    researcher.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    client.force_login(type(researcher).objects.get(pk=researcher.pk))
    assert case["hidden"].code in codes_in_page(client.get(LIST))


def test_no_parameter_adds_a_protected_or_internal_column(logged_in, case):
    response = logged_in.get(CSV, {"fields": "sensitivity,created_by,witness__real_name"})
    header = csv_rows(response)[0].keys()
    for name in ("sensitivity", "created_by", "real_name", "witness__real_name", "narrative"):
        assert name not in header


# --- Exports --------------------------------------------------------------------------------


def test_csv_and_geojson_hold_exactly_the_page_incidents(logged_in, case):
    query = "governorate=Idlib&sort=date"
    page = [i.code for i in logged_in.get(f"{LIST}?{query}").context["incidents"]]
    rows = csv_rows(logged_in.get(f"{CSV}?{query}"))
    features = geojson(logged_in.get(f"{GEOJSON}?{query}"))["features"]
    assert [r["code"] for r in rows] == page
    assert [f["properties"]["code"] for f in features] == page


def test_csv_neutralises_formulas_and_keeps_arabic(logged_in, db):
    IncidentFactory(title='=HYPERLINK("http://evil.example")')
    IncidentFactory(title="-2+3")
    IncidentFactory(title="@SUM(A1)")
    IncidentFactory(title="قصف سوق معرة النعمان")
    titles = {r["title"] for r in csv_rows(logged_in.get(CSV))}
    assert '\'=HYPERLINK("http://evil.example")' in titles
    assert "'-2+3" in titles and "'@SUM(A1)" in titles
    assert "قصف سوق معرة النعمان" in titles


@pytest.mark.parametrize(
    "cell, shown",
    [
        ("  =1+1", "'  =1+1"),
        ("\u00a0@SUM(A1)", "'\u00a0@SUM(A1)"),
        ("\n=cmd", "'\n=cmd"),
        ("\tplain", "'\tplain"),
        ("  plain words", "  plain words"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
    ],
)
def test_formulas_behind_blanks_are_neutralised_too(cell, shown):
    assert neutralise(cell) == shown


def test_csv_cells_are_complete_and_numbers_stay_numbers(logged_in, case):
    row = next(r for r in csv_rows(logged_in.get(CSV)) if r["code"] == case["a"].code)
    assert row["killed_min"] == "10" and row["killed_max"] == "12"
    assert row["place"] == "Maarat al-Numan" and row["governorate"] == "Idlib"
    assert row["target_types"] == "School"
    assert row["attributed_to"] == "Squadron 1 (sample)"
    assert row["evidence_items"] == "1"
    assert row["url"] == reverse("incidents:detail", args=[case["a"].code])
    assert row["date"].startswith("2019-05-05T")


def test_geojson_is_an_rfc7946_feature_collection(logged_in, case):
    case["c"].latitude = case["c"].longitude = None
    case["c"].place = None
    case["c"].save()
    response = logged_in.get(GEOJSON)
    assert response["Content-Type"] == "application/geo+json"
    data = geojson(response)
    assert data["type"] == "FeatureCollection"
    by_code = {f["properties"]["code"]: f for f in data["features"]}
    point = by_code[case["a"].code]["geometry"]
    assert point["type"] == "Point"
    assert point["coordinates"] == [float(case["a"].longitude), float(case["a"].latitude)]
    assert by_code[case["c"].code]["geometry"] is None  # no location, still listed
    for feature in data["features"]:
        assert feature["type"] == "Feature"
        for value in feature["properties"].values():
            assert value is None or isinstance(value, str | int | float)


def test_geojson_falls_back_to_the_place_coordinates(logged_in, db):
    place = PlaceFactory(latitude=Decimal("35.5"), longitude=Decimal("36.5"))
    incident = IncidentFactory(place=place, latitude=None, longitude=None)
    feature = geojson(logged_in.get(GEOJSON))["features"][0]
    assert feature["properties"]["code"] == incident.code
    assert feature["geometry"]["coordinates"] == [36.5, 35.5]


def test_export_query_count_is_constant(logged_in, db, django_assert_max_num_queries):
    for _ in range(40):
        AttributionFactory(incident=EvidenceLinkFactory().incident)
    with django_assert_max_num_queries(10):
        assert len(csv_rows(logged_in.get(CSV))) == 40
