"""Text search over incidents: their code, title and narrative, on both databases.

A researcher types words in any order, often the start of them ("hosp idlib"), in
Latin, Arabic or Cyrillic script, or a word in another form than the record's
("hospitals", "strikes"); an incident matches when every word begins a word of its
code, title or narrative, or its English stem begins the stem of one ("hospitals" and
"hospital" both stem to "hospit"). Text shaped like a record code ("INC-0042",
"ev-000123") is looked for as that code, exactly: the incident itself and narratives
citing it, not INC-00420.

The words are folded by ``tracker.responsibility.names.search_key`` and matched against a full-text
index that folds the stored text the same way (tracker/migrations/0008, stems added by
0015): a tsvector column with a GIN index on PostgreSQL, two FTS5 tables (the words,
their porter stems) on SQLite, all kept up to date by database triggers, so every way
of writing an incident (admin, import, bulk update) is searchable at once. The user's
text never reaches SQL or the full-text query syntax as written: search_key keeps
letters and digits only, each word is quoted as a literal term, and the query is passed
as parameters.
"""

from __future__ import annotations

import re

from django.db import connections
from django.db.models import BooleanField, F, Func, QuerySet, TextField, Value
from django.db.models.expressions import Col, Expression, RawSQL

from tracker.responsibility.names import search_key

# Created by tracker/migrations/0008_incident_text_search.py and 0015_incident_search_stems.py.
PG_DOCUMENT_COLUMN = "search_document"  # a tsvector column, not a model field
FTS_TABLE = "tracker_incident_fts"  # the folded words
STEM_TABLE = "tracker_incident_fts_stem"  # the same, through the porter stemmer

MAX_WORDS = 16  # more words narrow nothing in practice and only lengthen the query
_CODE = re.compile(r"[A-Za-z]+-\d+")


def search_incidents(queryset: QuerySet, text: str) -> QuerySet:
    """Narrow an Incident ``queryset`` to those matching ``text`` (see the module's
    docstring); text with no letter or digit leaves it unchanged."""
    words = search_key(text or "").split()[:MAX_WORDS]
    if not words:
        return queryset
    exact = _CODE.fullmatch(text.strip()) is not None
    vendor = connections[queryset.db].vendor
    if vendor == "postgresql":
        return queryset.filter(_Matches(_Document(), _pg_query(words, exact=exact)))
    if vendor == "sqlite":
        return queryset.filter(pk__in=_fts5_found(words, exact=exact))
    raise NotImplementedError(
        f"Incident text search exists for SQLite and PostgreSQL, not {vendor}."
    )


def _quoted_lexeme(word: str) -> str:
    # Quotes and backslashes are doubled inside a quoted lexeme (search_key leaves none).
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _pg_query(words: list[str], *, exact: bool) -> Func:
    """``('hosp':* or its stem:*) and ('idlib':* or ...)``, or the phrase
    ``'inc' <-> '0042'`` for a code (the words only, never the stems)."""
    terms = [f"{_quoted_lexeme(w)}:*" for w in words]
    if exact:
        return _Simple(" <-> ".join(term.removesuffix(":*") for term in terms))
    return _All(*(_Either(_Simple(term), _English(term)) for term in terms))


def _fts5_found(words: list[str], *, exact: bool) -> RawSQL:
    """The ids of the incidents where every word begins a word, or the stem of a word
    (porter stems the query's prefixes too): ``"hosp"* "idlib"*`` asked of the words'
    table and of the stems' table; or the phrase ``"inc 0042"`` for a code, of the
    words only. Each table ANDs the words inside its index. Asking per word and table
    and intersecting would also find a word typed past its stem beside a word in
    another form ("evacuat hospitals", as PostgreSQL does), but took 2-3 times as long.
    A double-quoted string is always a literal term, never an operator."""
    escaped = [w.replace('"', '""') for w in words]
    in_words = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
    if exact:
        return RawSQL(in_words, ['"' + " ".join(escaped) + '"'])  # noqa: S611 - a parameter
    in_stems = f"SELECT rowid FROM {STEM_TABLE} WHERE {STEM_TABLE} MATCH %s"  # noqa: S608
    prefixes = " ".join(f'"{w}"*' for w in escaped)
    return RawSQL(f"{in_words} UNION {in_stems}", [prefixes, prefixes])  # noqa: S611


class _Document(Expression):
    """The incident's stored tsvector: the column is no model field, so it is named here
    and resolved against the query's own alias for the incident table."""

    def resolve_expression(self, query=None, *args, **kwargs):
        incident_id = F("pk").resolve_expression(query, *args, **kwargs)
        return Col(incident_id.alias, _DOCUMENT_COLUMN)


_DOCUMENT_COLUMN = TextField()
_DOCUMENT_COLUMN.set_attributes_from_name(PG_DOCUMENT_COLUMN)


class _Simple(Func):
    """The tsquery of query text in the 'simple' configuration: words as written."""

    template = "to_tsquery('simple'::regconfig, %(expressions)s)"
    output_field = TextField()

    def __init__(self, query: str):
        super().__init__(Value(query))


class _English(_Simple):
    """The same in the 'english' configuration: each word's stem, none for a stop word."""

    template = "to_tsquery('english'::regconfig, %(expressions)s)"


class _Either(Func):
    template = "(%(expressions)s)"
    arg_joiner = " || "
    output_field = TextField()


class _All(Func):
    template = "(%(expressions)s)"
    arg_joiner = " && "
    output_field = TextField()


class _Matches(Func):
    template = "%(expressions)s"
    arg_joiner = " @@ "
    output_field = BooleanField()
