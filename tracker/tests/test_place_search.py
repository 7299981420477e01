"""Place search that forgives (issue 17): the place picker of the admin, its list, and the
workspace's place filter find a place by any transliteration of its names, and the
picker lists the place itself before the places of its district
(``tracker.responsibility.names.search_places``, ``place_name_q``)."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.urls import reverse

from tracker.models import Incident, Official, Place
from tracker.responsibility.names import keys_of, loose_key, search_places
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

DISTRICT_VILLAGES = ["Hass", "Jarjanaz", "Kafranbel", "Kafrsajna"]


@pytest.fixture
def places():
    """The town of Maarat al-Numan, four villages of its district (alphabetically before
    it), a town of another district with the same first word, one far away."""
    town = f.PlaceFactory(
        name="Maarat al-Numan",
        alternative_names="معرة النعمان\nMa'arrat an-Nu'man",
        district="Maarat al-Numan",
        governorate="Idlib",
    )
    for name in DISTRICT_VILLAGES:
        f.PlaceFactory(name=name, district="Maarat al-Numan", governorate="Idlib")
    f.PlaceFactory(name="Maarat Misrin", district="Idlib", governorate="Idlib")
    f.PlaceFactory(name="Kansafra", alternative_names="كنصفرة", district="Ariha")
    return town


def picked(client, term: str) -> list[str]:
    """The names the admin's place picker (an incident's place) offers for ``term``."""
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "tracker", "model_name": "incident", "field_name": "place", "term": term},
    )
    assert response.status_code == 200
    return [result["text"].split(",")[0] for result in response.json()["results"]]


def test_the_town_comes_first_then_the_places_of_its_district(client, researcher, places):
    """Issue 17: the town came last, and Enter picked Hass."""
    client.force_login(researcher)
    assert picked(client, "Maarat al-Numan") == ["Maarat al-Numan", *DISTRICT_VILLAGES]


@pytest.mark.parametrize(
    "term",
    [
        "Maarat an-Numan",  # another article form: found nothing
        "Maarat al Numan",  # a space for the hyphen
        "Ma'arrat al-Nu'man",  # apostrophes, a doubled letter
        "Maʿarat an-Nuʿman",  # the ayn as a modifier letter
        "MAARAT EN NUMAN",
        "maarat al-num",  # still typing
        "معرة النعمان",  # the Arabic name, an alternative name
        "معره النعمان",  # with ha for ta marbuta
    ],
)
def test_any_spelling_of_the_town_picks_the_town_first(client, researcher, places, term):
    client.force_login(researcher)
    assert picked(client, term)[0] == "Maarat al-Numan"


def test_names_beginning_with_the_term_come_before_the_district(client, researcher, places):
    client.force_login(researcher)
    assert picked(client, "Maarat") == ["Maarat al-Numan", "Maarat Misrin", *DISTRICT_VILLAGES]
    # While the article is being typed: the names that begin with the words before it.
    assert picked(client, "Maarat an") == ["Maarat al-Numan", "Maarat Misrin", *DISTRICT_VILLAGES]


@pytest.mark.parametrize("term", ["Kansafrah", "Kansafreh", "kansafra", "Kanssafra"])
def test_ta_marbuta_and_doubled_letters_are_forgiven(client, researcher, places, term):
    client.force_login(researcher)
    assert picked(client, term) == ["Kansafra"]


def test_the_ranking_own_name_then_other_names_then_the_area(client, researcher):
    order = [
        ("Salqin", ""),  # the name is the term
        ("Salqin Camp", ""),  # the name begins with it
        ("Old Salqin", ""),  # the name holds it
        ("Zarzur", "Salqin"),  # another name is the term
        ("Yaqubiyah", "Salqin Road"),  # another name begins with it
        ("Xirbet", "Upper Salqin"),  # another name holds it
    ]
    for name, other in order:
        f.PlaceFactory(name=name, alternative_names=other, district="Harem")
    f.PlaceFactory(name="Armanaz", district="Salqin")  # the district is the term
    f.PlaceFactory(name="Aleppo", district="Jabal Saman", governorate="Aleppo")
    client.force_login(researcher)
    assert picked(client, "salqin") == [name for name, _ in order] + ["Armanaz"]


def test_words_found_in_different_fields_still_match_last(client, researcher, places):
    client.force_login(researcher)
    assert picked(client, "Hass Idlib") == ["Hass"]
    # No name holds the whole term: all are found by scattered words, in name order.
    assert picked(client, "Idlib Maarat") == [
        *DISTRICT_VILLAGES,
        "Maarat al-Numan",
        "Maarat Misrin",
    ]


@pytest.mark.parametrize("term", ["Aleppo", "Maarat Aleppo", "'; DROP TABLE x; --<b>"])
def test_a_term_matching_no_place_offers_nothing(client, researcher, places, term):
    client.force_login(researcher)
    assert picked(client, term) == []


@pytest.mark.parametrize("term", ["", "  ", "%", "-"])
def test_a_term_without_letters_offers_every_place(client, researcher, places, term):
    client.force_login(researcher)
    assert len(picked(client, term)) == Place.objects.count() == 7


def test_the_search_is_one_query(places, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = [p.name for p in search_places(Place.objects.all(), "Maarat an-Numan")]
    assert found == ["Maarat al-Numan", *DISTRICT_VILLAGES]


def listed(client, query: dict[str, str]) -> list[str]:
    response = client.get(reverse("admin:tracker_place_changelist"), query)
    assert response.status_code == 200
    return [place.name for place in response.context["cl"].result_list]


def test_the_place_list_finds_any_spelling_best_first(client, editor, places):
    client.force_login(editor)
    assert listed(client, {"q": "Maarat an-Numan"}) == ["Maarat al-Numan", *DISTRICT_VILLAGES]


def test_a_column_clicked_in_the_place_list_orders_what_is_found(client, editor, places):
    client.force_login(editor)
    by_name = listed(client, {"q": "Maarat an-Numan", "o": "1"})  # the name column
    assert by_name == [*DISTRICT_VILLAGES, "Maarat al-Numan"]


# --- The workspace's place filter ---------------------------------------------------------


@pytest.mark.parametrize("term", ["Maarat al Numan", "Maarat an-Numan", "Ma'arrat al-Nu'man"])
def test_the_workspace_filter_finds_the_town_by_any_spelling(client, researcher, places, term):
    """Issue 17: "Maarat al Numan" found nothing. The filter means the place itself,
    not its district (which has a filter of its own)."""
    in_town = f.IncidentFactory(place=places, title="in the town")
    f.IncidentFactory(place=Place.objects.get(name="Hass"), title="in a village")
    client.force_login(researcher)
    response = client.get(reverse("incidents:list"), {"place": term})
    assert response.status_code == 200
    assert [incident.code for incident in response.context["incidents"]] == [in_town.code]


def test_the_workspace_filter_finds_nothing_for_an_unknown_place(client, researcher, places):
    f.IncidentFactory(place=places)
    client.force_login(researcher)
    response = client.get(reverse("incidents:list"), {"place": "Aleppo"})
    assert list(response.context["incidents"]) == []
    assert Incident.objects.count() == 1


# --- The stored keys ----------------------------------------------------------------------


def test_a_place_keeps_its_keys_up_to_date_on_save(places):
    town = Place.objects.get(pk=places.pk)
    assert town.name_keys == "|maarat al numan|marat numan|"
    assert town.other_keys == keys_of(["معرة النعمان", "Ma'arrat an-Nu'man"])
    assert town.area_keys == "|maarat al numan|marat numan|idlib|"
    town.name = "Maarrat Nouman"
    town.alternative_names = ""
    town.save(update_fields=["name", "alternative_names"])
    town.refresh_from_db()
    assert town.name_keys == "|maarrat nouman|marat numan|"
    assert town.other_keys == ""


def test_the_migration_fills_the_keys_of_existing_places_and_officials(places):
    official = Official.objects.create(name="Ma'moun Abdullah")
    Place.objects.update(name_keys="", other_keys="", area_keys="")
    Official.objects.filter(pk=official.pk).update(loose_key="ma mun abdulah")  # an old key
    migration = importlib.import_module("tracker.migrations.0014_place_name_keys")

    migration.fill(django_apps, SimpleNamespace(connection=connection))

    town = Place.objects.get(pk=places.pk)
    assert town.name_keys == "|maarat al numan|marat numan|"
    assert town.other_keys == keys_of(["معرة النعمان", "Ma'arrat an-Nu'man"])
    assert town.area_keys == "|maarat al numan|marat numan|idlib|"
    assert Official.objects.get(pk=official.pk).loose_key == loose_key("Ma'moun Abdullah")
    assert loose_key("Ma'moun Abdullah") == "mamun abdula"
