"""Officials and units are found in the admin by any of their names, in any script."""

import pytest
from django.urls import reverse

from tracker.tests import factories as f


@pytest.fixture
def commander(db):
    official = f.OfficialFactory(name="Suhail al-Hassan")
    f.OfficialAliasFactory(official=official, name="سهيل الحسن", script="arabic")
    f.OfficialAliasFactory(official=official, name="Сухейль аль-Хасан", script="cyrillic")
    f.OfficialFactory(name="Someone Else")
    return official


def found(client, url_name: str, term: str) -> list[str]:
    response = client.get(reverse(url_name), {"q": term})
    assert response.status_code == 200
    return [str(obj) for obj in response.context["cl"].result_list]


@pytest.mark.parametrize(
    "term",
    [
        "سهيل الحسن",  # Arabic, as stored
        "الحسن",  # part of the Arabic name
        "سهيل الحسـن",  # with a tatweel
        "сухейль",  # Cyrillic, lower case where the alias is capitalised
        "АЛЬ-ХАСАН",  # Cyrillic, upper case
        "al-hassan",
        "AL HASSAN",  # punctuation and case ignored
        "Hasan",  # loose key: article dropped, doubled letters collapsed
        "Хасан",  # loose key: Cyrillic transliterated
        "suheil",  # loose key: ei/ai
    ],
)
def test_official_found_by_any_alias(client, editor, commander, term):
    client.force_login(editor)
    assert found(client, "admin:tracker_official_changelist", term) == ["Suhail al-Hassan"]


def test_search_without_match_finds_nothing(client, editor, commander):
    client.force_login(editor)
    assert found(client, "admin:tracker_official_changelist", "Putin") == []


def test_official_with_several_matching_aliases_listed_once(client, editor, commander):
    f.OfficialAliasFactory(official=commander, name="Suheil al-Hasan")
    client.force_login(editor)
    assert found(client, "admin:tracker_official_changelist", "su") == ["Suhail al-Hassan"]


def test_unit_found_by_alias_in_another_script(client, editor):
    f.UnitFactory(name="25th Special Mission Forces Division", aliases="الفرقة 25\nТигры")
    client.force_login(editor)
    assert found(client, "admin:tracker_unit_changelist", "тигры") == [
        "25th Special Mission Forces Division"
    ]
    assert found(client, "admin:tracker_unit_changelist", "الفرقة") == [
        "25th Special Mission Forces Division"
    ]


def test_search_with_sql_and_html_is_harmless(client, editor, commander):
    client.force_login(editor)
    assert found(client, "admin:tracker_official_changelist", "'; DROP TABLE x; --<b>") == []


def test_official_found_by_a_transliteration_of_a_cyrillic_alias(client, editor):
    sukhoi = f.OfficialFactory(name="Pavel Sukhoy")
    f.OfficialAliasFactory(official=sukhoi, name="Павел Сухой", script="cyrillic")
    f.OfficialFactory(name="Pavel Sukhov")
    client.force_login(editor)
    for term in ("Сухой", "Suhoi", "SUKHOI"):
        assert found(client, "admin:tracker_official_changelist", term) == ["Pavel Sukhoy"]


def test_unit_found_by_a_loose_spelling(client, editor):
    f.UnitFactory(name="Jisr ash-Shughour Garrison")
    client.force_login(editor)
    assert found(client, "admin:tracker_unit_changelist", "al-Shughur") == [
        "Jisr ash-Shughour Garrison"
    ]
