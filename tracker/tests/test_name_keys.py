"""Name keys (``tracker.responsibility.names``): any spelling finds a name.

``search_key`` folds case, Latin diacritics and the variants of Arabic and Cyrillic
letters, and keeps distinct names distinct; ``loose_key`` also brings transliterations
together. Officials, their aliases and units fill their keys on save, and a migration
fills them for existing rows. The ``force`` and ``official`` fixtures are
``conftest.py``'s.
"""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection

from tracker.models import Official, OfficialAlias, Unit
from tracker.responsibility.names import loose_key, search_key

pytestmark = pytest.mark.django_db


# --- Name search keys ----------------------------------------------------------------


def test_search_key_folds_case_and_latin_diacritics():
    assert search_key("Al-Ḥasan") == "al hasan"
    assert search_key("SUHAIL AL-HASSAN") == search_key("suhail al-hassan")
    assert search_key("Ḥasan") == search_key("hasan")
    assert search_key("Şükrü Öztürk") == "sukru ozturk"


def test_search_key_folds_german_sharp_s_by_casefolding():
    assert search_key("STRASSE") == search_key("Straße")


@pytest.mark.parametrize("variant", ["أحمد", "إحمد", "آحمد", "ٱحمد"])
def test_search_key_folds_arabic_alef_hamza_variants(variant):
    assert search_key(variant) == search_key("احمد")


def test_search_key_drops_tatweel_and_short_vowels():
    plain = search_key("محمد")
    assert search_key("محـــمد") == plain
    assert search_key("مُحَمَّد") == plain


def test_search_key_folds_ta_marbuta_and_alef_maksura():
    assert search_key("حماة") == search_key("حماه")
    assert search_key("مصطفى") == search_key("مصطفي")


def test_search_key_folds_cyrillic_case():
    assert search_key("СУХОЙ") == search_key("сухой")
    assert search_key("Сухой Су-24") == search_key("сухой су 24")


def test_search_key_keeps_distinct_names_distinct():
    assert search_key("Hasan") != search_key("Hussein")
    assert search_key("احمد") != search_key("محمد")
    assert search_key("Сухой") != search_key("Сухов")


def test_search_key_turns_punctuation_into_single_spaces():
    assert search_key("  al--Hassan,  Suhail  ") == "al hassan suhail"
    assert search_key("Tiger_Forces") == "tiger forces"


def test_official_name_key_is_filled_on_save():
    official = Official.objects.create(name="Suhail Al-Ḥasan")
    official.refresh_from_db()
    assert official.name_key == "suhail al hasan"
    official.name = "Suhail AL-HASSAN"
    official.save()
    official.refresh_from_db()
    assert official.name_key == "suhail al hassan"


def test_official_alias_key_is_filled_on_save(official):
    alias = OfficialAlias.objects.create(
        official=official, name="سهيل الحسن", script=OfficialAlias.Script.ARABIC
    )
    cyrillic = OfficialAlias.objects.create(
        official=official, name="СУХЕЙЛЬ АЛЬ-ХАСАН", script=OfficialAlias.Script.CYRILLIC
    )
    alias.refresh_from_db()
    cyrillic.refresh_from_db()
    assert alias.key == search_key("سهيل الحسن")
    assert alias.key != ""
    assert cyrillic.key == "сухеиль аль хасан"
    # Searching by the folded key of any spelling finds the alias.
    found = OfficialAlias.objects.filter(key__contains=search_key("Сухейль")).get()
    assert found == cyrillic


def test_unit_search_keys_cover_name_and_every_alias(force):
    unit = Unit.objects.create(
        force=force,
        name="Tiger Forces",
        aliases="قوات النمر\n\n  \nСИЛЫ ТИГРА\n25th Special Mission Forces Division",
    )
    unit.refresh_from_db()
    assert unit.search_keys == (
        "|tiger forces|قوات النمر|силы тигра|25th special mission forces division|"
    )
    assert Unit.objects.filter(search_keys__contains="|" + search_key("Силы Тигра") + "|").exists()


# --- Loose name keys (tracker.responsibility.names.loose_key) ---------------------------


@pytest.mark.parametrize(
    ("spellings", "key"),
    [
        (["Сухой", "Suhoi", "Sukhoy", "SUKHOI"], "suhoi"),
        (["al-Hassan", "Hasan", "Al Hasan", "аль-Хасан", "el-Hassan"], "hasan"),
        (["Suhail al-Hassan", "Сухейль аль-Хасан", "Suheil al-Hasan"], "suhail hasan"),
        (["Viktor Zharkov", "Victor Jarkov", "Виктор Жарков"], "viktor jarkov"),
        (["Fawwaz", "Фавваз", "Fawaz"], "favaz"),
        (["Khalil", "Khaleel", "Халиль"], "halil"),
        (["Qudsi", "Kudsi", "Кудси"], "kudsi"),
        (["Jisr ash-Shughour", "Jisr al-Shughur"], "jisr shugur"),
        (["Marwan ad-Dabbagh", "Marwan al-Dabbag"], "marvan dabag"),
        (
            [
                "Maarat al-Numan",
                "Maarat an-Numan",  # the assimilated article
                "Maarat el Numan",
                "Ma'arrat al-Nu'man",  # apostrophes are dropped, not spaces
                "Ma’arrat an-Nu’man",
                "Maʿarrat an-Nuʿman",  # ayn as a modifier letter
                "MAARRAT AL NUMAN",
            ],
            "marat numan",
        ),
        (["Kansafra", "Kansafrah", "Kansafreh"], "kansafra"),  # ta marbuta
        (["Ar-Raqqah", "Raqqa", "al-Raqa"], "raka"),
    ],
)
def test_loose_key_brings_transliterations_together(spellings, key):
    assert {loose_key(s) for s in spellings} == {key}


def test_loose_key_drops_the_glued_arabic_article():
    assert loose_key("الحسن") == loose_key("حسن")
    assert loose_key("سهيل الحسن") == "سهيل حسن"
    assert loose_key("ال") == "ال"  # the article alone is a word


def test_loose_key_keeps_distinct_names_and_numbers_distinct():
    assert loose_key("Hasan") != loose_key("Hussein")
    assert loose_key("Сухой") != loose_key("Сухов")
    assert loose_key("225th Brigade") != loose_key("25th Brigade")
    assert loose_key("al") == "al"  # "al" alone is not an article
    assert loose_key("As-Suwayda") == "suvaida"  # an article before its sun letter
    assert loose_key("Ad Mari") == "ad mari"  # not an article before another letter
    assert loose_key("Bah") == "bah"  # too short for a ta marbuta


def test_loose_keys_are_filled_on_save(force, official):
    alias = OfficialAlias.objects.create(official=official, name="Сухейль аль-Хасан")
    unit = Unit.objects.create(force=force, name="Tiger Forces", aliases="Силы Тигра\n\nal-Nimr")
    official.refresh_from_db()
    alias.refresh_from_db()
    unit.refresh_from_db()
    assert official.loose_key == loose_key(official.name)
    assert alias.loose_key == "suhail hasan"
    assert unit.loose_keys == "|tiger forkes|sili tigra|nimr|"  # c -> k, ы -> y -> i


def test_migration_fills_loose_keys_of_existing_rows(force, official):
    alias = OfficialAlias.objects.create(official=official, name="Сухейль аль-Хасан")
    unit = Unit.objects.create(force=force, name="Tiger Forces", aliases="al-Nimr")
    Official.objects.update(loose_key="")
    OfficialAlias.objects.update(loose_key="")
    Unit.objects.update(loose_keys="")
    migration = importlib.import_module("tracker.migrations.0006_loose_name_keys")

    migration.fill(django_apps, SimpleNamespace(connection=connection))

    assert Official.objects.get(pk=official.pk).loose_key == loose_key(official.name)
    assert OfficialAlias.objects.get(pk=alias.pk).loose_key == "suhail hasan"
    assert Unit.objects.get(pk=unit.pk).loose_keys == "|tiger forkes|nimr|"
