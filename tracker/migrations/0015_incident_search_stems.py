"""English stems in the incident text search (tracker/workspace/search.py), so that
"hospitals" finds "hospital" and "strikes" finds "strike".

The index of 0008 stays as it was, the same words folded the same way, and a second set
of words is added beside it: the English stems of the same folded document. A search
word matches when it begins a word of the first set (as before) or has the same stem as
a word of the second. Only the first set is asked for a code ("INC-0042" as a phrase).
The stems of the second set are those of English only; names and other scripts stay
matched by the first set, as before.

PostgreSQL: the document's tsvector becomes ``simple || english`` of the folded text (the
function 0008 made is replaced; the trigger and the GIN index stay), and every incident's
is computed again. English drops stop words ("the", "not"), which the 'simple' half keeps.

SQLite: a second contentless FTS5 table, ``tracker_incident_fts_stem``, with the porter
tokenizer over the same unicode61 options, filled with the same folded document; the
three triggers are made again to write both tables. The first table cannot simply
change tokenizer: porter stems the words it indexes and the prefixes it is asked
("hospita*" would look for the prefix "hospita" among stems such as "hospit").
A later migration that rebuilds ``tracker_incident`` on SQLite drops the triggers: run
this module's ``SQLITE_TRIGGERS`` again after it.

Going back restores 0008's function, triggers and index contents.
"""

# Every statement here is built from constants, never from input:
# ruff: noqa: S608

import importlib

from django.db import migrations

search_0008 = importlib.import_module("tracker.migrations.0008_incident_text_search")
FTS_TABLE = search_0008.FTS_TABLE
STEM_TABLE = "tracker_incident_fts_stem"
PG_FUNCTION = search_0008.PG_FUNCTION
PG_COLUMN = search_0008.PG_COLUMN

# --- PostgreSQL ---------------------------------------------------------------------

_PG_FOLDED = f"""translate(
            regexp_replace(
                regexp_replace(
                    normalize(code || ' ' || title || ' ' || narrative, NFKD),
                    '{search_0008._PG_MARKS}', '', 'g'
                ),
                '{search_0008._PG_PUNCTUATION}', ' ', 'g'
            ),
            'ٱىة', 'ايه'
        )"""
PG_STEMMED_FUNCTION = f"""CREATE OR REPLACE FUNCTION {PG_FUNCTION}(code text, title text, narrative text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $body$
        SELECT to_tsvector('simple'::regconfig, folded)
            || to_tsvector('english'::regconfig, folded)
        FROM (SELECT {_PG_FOLDED} AS folded) AS document
    $body$"""
_PG_0008_FUNCTION = search_0008.PG_INSTALL[0].replace(
    "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1
)
_PG_REFILL = f"UPDATE tracker_incident SET {PG_COLUMN} = {PG_FUNCTION}(code, title, narrative)"
PG_INSTALL = [PG_STEMMED_FUNCTION, _PG_REFILL]
PG_REMOVE = [_PG_0008_FUNCTION, _PG_REFILL]

# --- SQLite -------------------------------------------------------------------------

_TRIGGER_NAMES = (
    "tracker_incident_fts_insert",
    "tracker_incident_fts_update",
    "tracker_incident_fts_delete",
)


def _forget(table: str) -> str:
    return (
        f"INSERT INTO {table} ({table}, rowid, document) "
        f"SELECT 'delete', rid, doc FROM ({search_0008.sqlite_fold_select('old.id', 'old')});"
    )


def _learn(table: str) -> str:
    return (
        f"INSERT INTO {table} (rowid, document) "
        f"SELECT rid, doc FROM ({search_0008.sqlite_fold_select('new.id', 'new')});"
    )


_FORGET = _forget(FTS_TABLE) + " " + _forget(STEM_TABLE)
_LEARN = _learn(FTS_TABLE) + " " + _learn(STEM_TABLE)
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER tracker_incident_fts_insert AFTER INSERT ON tracker_incident
    BEGIN {_LEARN} END""",
    f"""CREATE TRIGGER tracker_incident_fts_update
    AFTER UPDATE OF code, title, narrative ON tracker_incident
    WHEN old.code IS NOT new.code OR old.title IS NOT new.title
        OR old.narrative IS NOT new.narrative
    BEGIN {_FORGET} {_LEARN} END""",
    f"""CREATE TRIGGER tracker_incident_fts_delete AFTER DELETE ON tracker_incident
    BEGIN {_FORGET} END""",
]
_DROP_TRIGGERS = [f"DROP TRIGGER IF EXISTS {name}" for name in _TRIGGER_NAMES]
SQLITE_INSTALL = [
    # As 0008's table (see there for the categories), with porter stemming on top.
    f"""CREATE VIRTUAL TABLE {STEM_TABLE} USING fts5(
        document, content='',
        tokenize='porter unicode61 remove_diacritics 2 categories ''L* N* Co Mn'''
    )""",
    f"INSERT INTO {STEM_TABLE} (rowid, document) SELECT rid, doc FROM "
    f"({search_0008.sqlite_fold_select('id', source='tracker_incident')})",
    *_DROP_TRIGGERS,
    *SQLITE_TRIGGERS,
]
SQLITE_REMOVE = [
    *_DROP_TRIGGERS,
    f"DROP TABLE IF EXISTS {STEM_TABLE}",
    *search_0008.SQLITE_TRIGGERS,
]

INSTALL = {"postgresql": PG_INSTALL, "sqlite": SQLITE_INSTALL}
REMOVE = {"postgresql": PG_REMOVE, "sqlite": SQLITE_REMOVE}


def install(apps, schema_editor) -> None:
    for sql in INSTALL[search_0008._vendor(schema_editor)]:
        schema_editor.execute(sql, params=None)


def remove(apps, schema_editor) -> None:
    for sql in REMOVE[search_0008._vendor(schema_editor)]:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0014_place_name_keys"),
    ]

    operations = [
        migrations.RunPython(install, remove),
    ]
