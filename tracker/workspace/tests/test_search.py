"""Incident text search (tracker/workspace/search.py) on SQLite (FTS5) and PostgreSQL (GIN)."""

import importlib
from contextlib import contextmanager

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from tracker.admin.tests.test_admin_changelists import PINNED
from tracker.models import Incident, Sensitivity
from tracker.responsibility.names import search_key
from tracker.tests import factories as f
from tracker.workspace.search import FTS_TABLE, STEM_TABLE, search_incidents

CHANGELIST = reverse("admin:tracker_incident_changelist")


def found(text: str) -> set[str]:
    return set(search_incidents(Incident.objects.all(), text).values_list("title", flat=True))


@pytest.fixture
def case(db):
    """Titles are what the tests look for; narratives carry the words in other scripts."""
    f.IncidentFactory(
        code="INC-9042",
        title="hospital idlib",
        narrative="Barrel bombs hit the hospital; the staff had not evacuated. "
        "Witnesses say the mosque near the square was hit too.",
    )
    f.IncidentFactory(code="INC-90420", title="market saraqib", narrative="A strike on the market.")
    f.IncidentFactory(
        title="arabic",
        narrative="قصف مُسْتَشْفَى الأمل في إدلب",  # with short vowels, hamza and alef-hamza
    )
    f.IncidentFactory(title="cyrillic", narrative="Су-24 Сухой ударил по больнице. Ёлка.")
    f.IncidentFactory(title="latin diacritics", narrative="Ḥasan al-Ḥamwi saw the École burn.")
    f.IncidentFactory(title="cites", narrative="The same crater as INC-9042, a day later.")
    f.IncidentFactory(title='<script>alert("x")</script> markup', narrative="")


EVERYTHING = {
    "hospital idlib",
    "market saraqib",
    "arabic",
    "cyrillic",
    "latin diacritics",
    "cites",
    '<script>alert("x")</script> markup',
}


@pytest.mark.parametrize("text", ["INC-9042", "inc-9042", "  Inc-9042 "])
def test_an_exact_code_finds_the_incident_and_those_citing_it(case, text):
    assert found(text) == {"hospital idlib", "cites"}  # not INC-90420


@pytest.mark.parametrize("text", ["hosp idlib", "IDLIB hosp", "Hospital", "idl", "barr bomb"])
def test_words_match_as_prefixes_in_any_order(case, text):
    assert found(text) == {"hospital idlib"}


def test_every_word_must_match(case):
    assert found("hospital aleppo") == set()
    assert found("market") == {"market saraqib"}


@pytest.mark.parametrize(
    "text",
    [
        "مستشفى",  # without the short vowels stored
        "مُسْتَشْفَى",  # with them
        "مستشـــفى",  # with tatweel
        "الامل",  # bare alef where the record has alef with hamza
        "ادلب",
        "إدلب",
        "مست",  # a prefix
    ],
)
def test_arabic_words_match_with_or_without_vowels_and_hamza(case, text):
    assert found(text) == {"arabic"}


@pytest.mark.parametrize("text", ["сухой", "СУХОЙ", "сухои", "больниц", "Су 24", "елка", "ЁЛКА"])
def test_cyrillic_words_match_in_any_case_and_with_folded_letters(case, text):
    assert found(text) == {"cyrillic"}


@pytest.mark.parametrize("text", ["hasan", "Ḥasan", "HAMWI", "ecole", "École", "E\u0301cole"])
def test_latin_diacritics_are_folded(case, text):
    assert found(text) == {"latin diacritics"}


@pytest.mark.parametrize(
    ("text", "titles"),
    [
        ("hospitals", {"hospital idlib"}),
        ("Hospitals IDLIB", {"hospital idlib"}),
        ("strikes", {"market saraqib"}),  # "A strike on the market."
        ("markets strikes", {"market saraqib"}),
        ("evacuating staff", {"hospital idlib"}),  # "had not evacuated"
        ("bombing", {"hospital idlib"}),  # "Barrel bombs"
        ("the hospitals", {"hospital idlib"}),  # a stop word still matches as a word
        ("hospita", {"hospital idlib"}),  # a prefix longer than the stem "hospit"
        ("hospitalsx", set()),  # no word and no stem begins with it
        ("hospitals aleppo", set()),  # every word must still match
    ],
)
def test_words_match_in_another_english_form(case, text, titles):
    assert found(text) == titles


def test_a_plural_finds_the_singular_and_the_singular_the_plural(case):
    f.IncidentFactory(title="schools", narrative="Two schools were hit.")
    f.IncidentFactory(title="school", narrative="The school was hit.")
    assert found("schools hit") == {"schools", "school"}
    assert found("school hit") == {"schools", "school"}


def test_a_word_typed_past_its_stem_beside_another_form(case):
    """PostgreSQL asks each word of the words and the stems; SQLite asks all the words
    of the words' table, then all of the stems' table (2-3x faster than per word): a
    word typed past its stem ("evacuat": "evacuated" stems to "evacu") beside a word
    in another form ("hospitals") is found on PostgreSQL only."""
    assert found("evacuat hospital") == {"hospital idlib"}  # both begin words
    assert found("evacuated hospitals") == {"hospital idlib"}  # both by their stems
    mixed = {"hospital idlib"} if connection.vendor == "postgresql" else set()
    assert found("evacuat hospitals") == mixed


@pytest.mark.parametrize("text", ["", "   ", "!!!", "*", '"', "%", "_", "\\", "()", "- : ^", None])
def test_text_without_words_leaves_the_queryset_unchanged(case, text):
    queryset = Incident.objects.all()
    assert search_incidents(queryset, text) is queryset


@pytest.mark.parametrize(
    "text, titles",
    [
        # Full-text operators and LIKE wildcards are plain words or ignored.
        ('"hospital"', {"hospital idlib"}),
        ("hosp*", {"hospital idlib"}),
        ("-idlib hospital", {"hospital idlib"}),  # not "without idlib"
        ("hospital NOT idlib", {"hospital idlib"}),  # "not" is a word of the narrative
        ("hospital OR saraqib", set()),  # not "either": "or" is in no record
        ("hospital AND saraqib", set()),
        ("NEAR(hospital mosque)", {"hospital idlib"}),  # "near" is a word of the narrative
        ("hospital:", {"hospital idlib"}),
        ("title:market", set()),  # no column filter: "title" is in no record
        ("^hosp", {"hospital idlib"}),
        ("(hospital", {"hospital idlib"}),
        ("hosp\\", {"hospital idlib"}),
        ("hosp%", {"hospital idlib"}),
        ("h_spital", set()),  # "_" is no wildcard: "h" and "spital"
        ("hos%tal", set()),  # "%" is no wildcard either
        ("hospital & idlib | saraqib", set()),  # three words, not (idlib or saraqib)
        ("'hospital':*", {"hospital idlib"}),
        ("hospital <-> idlib", {"hospital idlib"}),
        ("hosp\x00ital", set()),
        # SQL and HTML are text.
        ("'; DROP TABLE tracker_incident; --", set()),
        ("' OR '1'='1", set()),
        ("<script>", {'<script>alert("x")</script> markup'}),
        ('alert("x")', {'<script>alert("x")</script> markup'}),
    ],
)
def test_special_characters_are_searched_as_text(case, text, titles):
    assert found(text) == titles
    assert Incident.objects.count() == len(EVERYTHING)


@pytest.mark.parametrize(
    ("text", "same_as"), [("x" * 5000, "x" * 50), (" ".join(["hosp"] * 500), "hosp")]
)
def test_very_long_text_is_searched_like_a_short_one(case, text, same_as):
    """No error, and the same answer as the short text it repeats (issue 15: the test
    used to assert nothing)."""
    assert found(text) == found(same_as)
    assert found("hosp")  # not vacuous: the repeated word does find something


def test_a_word_too_long_to_index_is_no_error(case):
    # PostgreSQL leaves out of a query a word longer than it indexes (2,047 bytes):
    # what is found is then at most what the other words find.
    assert found("é" * 3000 + " hosp") <= found("hosp")


def test_an_edited_incident_is_found_by_its_new_words_only(case):
    incident = Incident.objects.get(title="market saraqib")
    incident.title = "bakery kafranbel"
    incident.narrative = "Bread queue."
    incident.save()
    assert found("saraqib") == set()
    assert found("kafranbel bread") == {"bakery kafranbel"}


def test_a_change_to_other_fields_keeps_the_incident_findable(case):
    incident = Incident.objects.get(title="market saraqib")
    incident.killed_max = 40
    incident.save()
    assert found("saraqib") == {"market saraqib"}


def test_a_bulk_update_is_indexed(case):
    Incident.objects.filter(title="market saraqib").update(narrative="Cluster munitions.")
    assert found("cluster") == {"market saraqib"}
    assert found("strike market") == set()


def test_a_deleted_incident_is_not_found(case):
    Incident.objects.filter(title="market saraqib").delete()
    assert found("saraqib") == set()
    assert found("hosp") == {"hospital idlib"}


@pytest.mark.django_db(transaction=True)
def test_a_flush_empties_the_index_so_reused_ids_carry_no_old_words():
    from tracker.tests.seed import ensure_seed_data

    call_command("flush", interactive=False, verbosity=0)  # resets id sequences
    ensure_seed_data()
    old = f.IncidentFactory(title="zanzibar")
    call_command("flush", interactive=False, verbosity=0)
    ensure_seed_data()
    new = f.IncidentFactory(title="market")
    assert new.pk == old.pk  # the id was handed out again
    assert found("zanzibar") == set()
    assert found("market") == {"market"}


SEARCH_MIGRATIONS = [
    importlib.import_module(f"tracker.migrations.{name}")
    for name in ("0008_incident_text_search", "0015_incident_search_stems")
]


@contextmanager
def without_search(migrations):
    """The search index as before ``migrations`` (undone latest first) inside the block,
    installed again (in order) after it."""
    with connection.schema_editor() as editor:
        for migration in reversed(migrations):
            migration.remove(apps, editor)
    try:
        yield
    finally:
        with connection.schema_editor() as editor:
            for migration in migrations:
                migration.install(apps, editor)


@pytest.mark.django_db(transaction=True)
def test_the_migrations_index_the_incidents_recorded_before_them():
    from tracker.tests.seed import ensure_seed_data

    with without_search(SEARCH_MIGRATIONS):
        ensure_seed_data()
        f.IncidentFactory(title="recorded before search", narrative="Сухой")
    assert found("recorded сухои") == {"recorded before search"}
    assert found("records") == {"recorded before search"}  # by its stem
    f.IncidentFactory(title="recorded after")
    assert found("recorded") == {"recorded before search", "recorded after"}
    assert found("records") == {"recorded before search", "recorded after"}


@pytest.mark.django_db(transaction=True)
def test_the_stems_migration_goes_back_to_words_only_and_forward_again():
    from tracker.tests.seed import ensure_seed_data

    ensure_seed_data()
    before = f.IncidentFactory(title="hospital before")
    with without_search(SEARCH_MIGRATIONS[1:]):
        between = f.IncidentFactory(title="hospital between")
        # As 0008 left it: the words alone (on SQLite, no table of stems).
        if connection.vendor == "postgresql":
            assert indexed_words(before) == words_of(before)
            assert indexed_words(between) == words_of(between)
        else:
            assert STEM_TABLE not in connection.introspection.table_names()
            assert indexed_words(between) == words_of(between)
    f.IncidentFactory(title="hospital after")
    assert found("hospitals") == {"hospital before", "hospital between", "hospital after"}
    Incident.objects.filter(title="hospital between").update(title="clinic between")
    assert found("hospitals") == {"hospital before", "hospital after"}
    assert found("clinics") == {"clinic between"}


def test_the_query_uses_the_full_text_index(case):
    sql, params = search_incidents(Incident.objects.all(), "hosp idlib").query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A handful of rows: force the choice. GIN is read by bitmap scans only; with
            # plain index scans allowed the planner may walk the ordering's index instead.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "tracker_incident_search_document_gin" in plan
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
            assert "VIRTUAL TABLE INDEX" in plan and "tracker_incident_fts" in plan


SAMPLE = (
    "قصفٌ مُسْتَشْفَى الأمل إدلب آبار مؤسسة سوريّة مشفـــى على "
    "Сухой ЙОД Ёлка ЇЖАК Ўзбек Ḥasan École Łódź "
    "INC-0042 EV-000123 e-mail x@y.com http://a.b/c?d=e&f 1.2.3 35.8245 -12 +3 "
    "O'Brien 50% a_b <b>bold</b> &amp; [x] {y} (z) #tag ~home /usr/bin back\\slash"
)


def indexed_words(incident: Incident, table: str = FTS_TABLE) -> set[str]:
    """The words the full-text index holds for ``incident`` (on SQLite, in ``table``)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT unnest(tsvector_to_array(search_document)) "
                "FROM tracker_incident WHERE id = %s",
                [incident.pk],
            )
        else:
            cursor.execute(
                f"CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, {table}, instance)"
            )
            cursor.execute("SELECT DISTINCT term FROM temp.words WHERE doc = %s", [incident.pk])
        words = {row[0] for row in cursor.fetchall()}
        if connection.vendor == "sqlite":
            cursor.execute("DROP TABLE temp.words")
        return words


def stems(text: str) -> set[str]:
    """The stems the database makes of the words of ``text`` (English, porter)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT unnest(tsvector_to_array(to_tsvector('english'::regconfig, %s)))", [text]
            )
            return {row[0] for row in cursor.fetchall()}
        tokenizer = "porter unicode61 remove_diacritics 2 categories ''L* N* Co Mn''"
        cursor.execute(
            f"CREATE VIRTUAL TABLE temp.stems USING fts5(document, tokenize='{tokenizer}')"
        )
        cursor.execute("INSERT INTO temp.stems (document) VALUES (%s)", [text])
        cursor.execute("CREATE VIRTUAL TABLE temp.stem_words USING fts5vocab(temp, stems, row)")
        cursor.execute("SELECT term FROM temp.stem_words")
        found = {row[0] for row in cursor.fetchall()}
        cursor.execute("DROP TABLE temp.stem_words")
        cursor.execute("DROP TABLE temp.stems")
        return found


def words_of(incident: Incident) -> set[str]:
    return set(search_key(f"{incident.code} {incident.title} {incident.narrative}").split())


def test_the_index_holds_the_words_search_key_makes_of_the_text_and_their_stems(db):
    """Both sides fold alike: what the index stores is what a search for the same text asks."""
    incident = f.IncidentFactory(code="INC-7001", title="Title", narrative=SAMPLE)
    words = search_key(f"INC-7001 Title {SAMPLE}")
    stemmed = stems(words)
    assert {"titl", "ecol"} <= stemmed - set(words.split())  # stems, not the words again
    if connection.vendor == "postgresql":
        assert indexed_words(incident) == set(words.split()) | stemmed
    else:
        assert indexed_words(incident) == set(words.split())
        assert indexed_words(incident, STEM_TABLE) == stemmed


# --- The admin ------------------------------------------------------------------------


def admin_titles(client, text: str) -> list[str]:
    response = client.get(CHANGELIST, {"q": text})
    assert response.status_code == 200
    return [incident.title for incident in response.context["cl"].result_list]


def test_the_admin_search_uses_full_text_search(client, editor, case):
    client.force_login(editor)
    assert admin_titles(client, "idlib hosp") == ["hospital idlib"]
    assert admin_titles(client, "сухои") == ["cyrillic"]
    assert sorted(admin_titles(client, "inc-9042")) == ["cites", "hospital idlib"]


def test_the_admin_and_the_workspace_find_a_plural(client, editor, case):
    """Issue 17: "hospitals" found nothing where "hospital" found many."""
    client.force_login(editor)
    assert admin_titles(client, "hospitals") == ["hospital idlib"]
    response = client.get(reverse("incidents:list"), {"q": "hospitals"})
    assert response.status_code == 200
    assert [incident.title for incident in response.context["incidents"]] == ["hospital idlib"]


def test_the_admin_search_lists_each_incident_once(client, editor, case):
    """Several target types (a many-to-many) and evidence links do not repeat a row."""
    incident = Incident.objects.get(title="hospital idlib")
    f.EvidenceLinkFactory(incident=incident)
    f.EvidenceLinkFactory(incident=incident)
    assert incident.target_types.count() == 2
    client.force_login(editor)
    assert admin_titles(client, "hospital") == ["hospital idlib"]


@pytest.mark.parametrize("text", ["'; DROP TABLE x; --", '"', "NEAR(", "*", "%_%", "\\", "^:-()"])
def test_the_admin_search_answers_any_text(client, editor, case, text):
    client.force_login(editor)
    admin_titles(client, text)
    assert Incident.objects.count() == len(EVERYTHING)


def test_a_search_costs_no_more_queries_than_the_plain_list(
    client, editor, case, django_assert_num_queries
):
    client.force_login(editor)
    with django_assert_num_queries(PINNED["tracker_incident"]):
        assert admin_titles(client, "hosp") == ["hospital idlib"]


def test_restricted_incidents_stay_hidden_from_a_search(client, researcher, case):
    Incident.objects.filter(title="hospital idlib").update(sensitivity=Sensitivity.RESTRICTED)
    client.force_login(researcher)
    assert admin_titles(client, "hospital") == []
    researcher.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    client.force_login(researcher)
    assert admin_titles(client, "hospital") == ["hospital idlib"]


def test_incident_autocomplete_uses_the_same_search(client, editor, case):
    client.force_login(editor)
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "tracker",
            "model_name": "incidentrelation",
            "field_name": "to_incident",
            "term": "مستشفى",
        },
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == [
        str(Incident.objects.get(title="arabic"))
    ]
