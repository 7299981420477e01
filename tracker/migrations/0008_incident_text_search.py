"""Full-text search over incidents' code, title and narrative (used by tracker/workspace/search.py).

Both databases index the same *document*, ``code || ' ' || title || ' ' || narrative``,
folded the way ``tracker.responsibility.names.search_key`` folds the words a user types: case,
diacritics, Arabic short vowels and tatweel, alef/hamza variants, alef maksura and ta
marbuta, the Cyrillic letters NFKD decomposes (й, ё, ї, ў...). No stemming and no stop
words: the same rules for every language.

PostgreSQL: an immutable function builds the document's tsvector (NFKD, marks removed,
ASCII punctuation to spaces so "INC-0042" gives the words "inc" and "0042", then the
'simple' configuration, which lowercases). A trigger stores it in the column
``search_document`` (not a model field: Django never reads or writes it) when an
incident is added or its code, title or narrative change, and a GIN index is built on
the column. A stored column rather than an expression index, measured at 100,000
incidents: a plan that checks rows one by one (the planner walks the date index when it
expects many matches) recomputed the document for every row with an expression index,
73 s for a word that matches nothing; against the stored column it is a cheap test.
Lowercasing follows the database's LC_CTYPE: use a UTF-8 locale (C.UTF-8,
en_US.UTF-8), not "C".

SQLite: a contentless FTS5 table (the index alone, no copy of the text) whose rowid is
the incident's id, kept in sync by triggers on insert, update of the three columns and
delete. The unicode61 tokenizer folds case in every script and Latin diacritics; the
triggers fold what it does not (Arabic and Cyrillic, above) with replace(). Django's
flush (the test teardown) deletes incidents row by row, so the delete trigger keeps the
index empty too. A contentless table forgets a row only when given the text it indexed,
so every trigger folds with the same expression; changing the fold means rebuilding the
table (drop, create, fill). Like any trigger, these are dropped when a later migration
rebuilds ``tracker_incident`` on SQLite (most field changes do): run ``SQLITE_TRIGGERS``
again after such a migration. The tests fail if the index falls out of sync.
"""

# Every statement here is built from this module's constants, never from input:
# ruff: noqa: S608

from django.db import migrations

# Combining marks deleted after NFKD: Latin diacritics, then Arabic marks (short vowels,
# shadda, sukun, hamza above/below, Quranic annotation), and tatweel.
_MARK_RANGES = [
    (0x0300, 0x036F),
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06DC),
    (0x06DF, 0x06E4),
    (0x06E7, 0x06E8),
    (0x06EA, 0x06ED),
    (0x0640, 0x0640),
]
MARKS = "".join(chr(c) for low, high in _MARK_RANGES for c in range(low, high + 1))
# Letters search_key folds; the alef, waw and ya with hamza and the Cyrillic letters are
# listed for SQLite, which does no NFKD (PostgreSQL's normalize() decomposes them).
ARABIC_LETTERS = {"آ": "ا", "أ": "ا", "إ": "ا", "ٱ": "ا", "ؤ": "و", "ئ": "ي", "ى": "ي", "ة": "ه"}
CYRILLIC_LETTERS = {
    "й": "и",
    "Й": "и",
    "ѝ": "и",
    "Ѝ": "и",
    "ё": "е",
    "Ё": "е",
    "ѐ": "е",
    "Ѐ": "е",
    "ї": "і",
    "Ї": "і",
    "ў": "у",
    "Ў": "у",
    "ѓ": "г",
    "Ѓ": "г",
    "ќ": "к",
    "Ќ": "к",
}
# PostgreSQL's parser reads "-0042" as a signed number, "x.y" as a host name, "<b>" as a
# tag it drops: ASCII punctuation becomes spaces first, so words split as search_key
# splits them (the ranges cover !"#$%&'()*+,-./ :;<=>?@ [\]^_` {|}~).
_PG_PUNCTUATION = r"[!-/:-@\[-`{-~]"
_PG_MARKS = "[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in _MARK_RANGES) + "]"

PG_FUNCTION = "tracker_incident_document"
PG_COLUMN = "search_document"
PG_INDEX = "tracker_incident_search_document_gin"
PG_INSTALL = [
    # regexp_replace, not translate(): translate() over a long list of characters took
    # 37 s for 100,000 incidents, this 5.5 s (both on a loaded 2-core machine).
    f"""CREATE FUNCTION {PG_FUNCTION}(code text, title text, narrative text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $body$
        SELECT to_tsvector('simple'::regconfig, translate(
            regexp_replace(
                regexp_replace(
                    normalize(code || ' ' || title || ' ' || narrative, NFKD),
                    '{_PG_MARKS}', '', 'g'
                ),
                '{_PG_PUNCTUATION}', ' ', 'g'
            ),
            'ٱىة', 'ايه'
        ))
    $body$""",
    f"ALTER TABLE tracker_incident ADD COLUMN {PG_COLUMN} tsvector",
    f"""CREATE FUNCTION tracker_incident_fill_search_document() RETURNS trigger
    LANGUAGE plpgsql AS $body$
    BEGIN
        IF TG_OP = 'INSERT' OR NEW.code IS DISTINCT FROM OLD.code
            OR NEW.title IS DISTINCT FROM OLD.title
            OR NEW.narrative IS DISTINCT FROM OLD.narrative THEN
            NEW.{PG_COLUMN} := {PG_FUNCTION}(NEW.code, NEW.title, NEW.narrative);
        END IF;
        RETURN NEW;
    END;
    $body$""",
    """CREATE TRIGGER tracker_incident_search_document
    BEFORE INSERT OR UPDATE OF code, title, narrative ON tracker_incident
    FOR EACH ROW EXECUTE FUNCTION tracker_incident_fill_search_document()""",
    f"UPDATE tracker_incident SET {PG_COLUMN} = {PG_FUNCTION}(code, title, narrative)",
    f"CREATE INDEX {PG_INDEX} ON tracker_incident USING gin ({PG_COLUMN})",
]
PG_REMOVE = [
    "DROP TRIGGER IF EXISTS tracker_incident_search_document ON tracker_incident",
    "DROP FUNCTION IF EXISTS tracker_incident_fill_search_document()",
    f"ALTER TABLE tracker_incident DROP COLUMN IF EXISTS {PG_COLUMN}",  # and its index
    f"DROP FUNCTION IF EXISTS {PG_FUNCTION}(text, text, text)",
]

FTS_TABLE = "tracker_incident_fts"


# What SQLite's tokenizer does not fold itself (it folds case and Latin diacritics).
SQLITE_FOLDS = [
    *ARABIC_LETTERS.items(),
    *CYRILLIC_LETTERS.items(),
    *((mark, "") for mark in MARKS if ord(mark) > 0x036F),
]
# SQLite 3.40 parses with a fixed-size stack: a trigger overflows it at about 18 nested
# replace() calls per stage, or with too many stages; 13 per stage keeps clear of both.
_STAGE = 13


def _replaced(sql: str, folds) -> str:
    for char, folded in folds:
        sql = f"replace({sql}, '{char}', '{folded}')"
    return sql


def sqlite_fold_select(rowid: str, row: str = "", source: str = "") -> str:
    """``SELECT rid, doc``: the id and folded document of ``row`` (``new`` or ``old``
    in a trigger) or of each row of ``source``, folded in nested stages of replace()."""
    prefix = f"{row}." if row else ""
    document = f"{prefix}code || ' ' || {prefix}title || ' ' || {prefix}narrative"
    stages = [SQLITE_FOLDS[n : n + _STAGE] for n in range(0, len(SQLITE_FOLDS), _STAGE)]
    sql = f"SELECT {rowid} AS rid, {_replaced(document, stages[0])} AS doc"
    if source:
        sql += f" FROM {source}"
    for stage in stages[1:]:
        sql = f"SELECT rid, {_replaced('doc', stage)} AS doc FROM ({sql})"
    return sql


_FORGET = (
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, document) "
    f"SELECT 'delete', rid, doc FROM ({sqlite_fold_select('old.id', 'old')});"
)
_LEARN = (
    f"INSERT INTO {FTS_TABLE} (rowid, document) "
    f"SELECT rid, doc FROM ({sqlite_fold_select('new.id', 'new')});"
)
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
SQLITE_INSTALL = [
    # Mn (combining marks) count as letters so that decomposed text ("e" + U+0301) stays
    # one word and remove_diacritics drops the mark.
    f"""CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(
        document, content='',
        tokenize='unicode61 remove_diacritics 2 categories ''L* N* Co Mn'''
    )""",
    f"INSERT INTO {FTS_TABLE} (rowid, document) SELECT rid, doc FROM "
    f"({sqlite_fold_select('id', source='tracker_incident')})",
    *SQLITE_TRIGGERS,
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS tracker_incident_fts_insert",
    "DROP TRIGGER IF EXISTS tracker_incident_fts_update",
    "DROP TRIGGER IF EXISTS tracker_incident_fts_delete",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]

INSTALL = {"postgresql": PG_INSTALL, "sqlite": SQLITE_INSTALL}
REMOVE = {"postgresql": PG_REMOVE, "sqlite": SQLITE_REMOVE}


def _vendor(schema_editor) -> str:
    vendor = schema_editor.connection.vendor
    if vendor not in INSTALL:
        raise NotImplementedError(
            f"Incident text search exists for SQLite and PostgreSQL, not {vendor}."
        )
    return vendor


def install(apps, schema_editor) -> None:
    for sql in INSTALL[_vendor(schema_editor)]:
        schema_editor.execute(sql, params=None)


def remove(apps, schema_editor) -> None:
    for sql in REMOVE[_vendor(schema_editor)]:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0007_restricted_incident_permission"),
    ]

    operations = [
        migrations.RunPython(install, remove),
    ]
