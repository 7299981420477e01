"""Text search over incidents: their code, title and narrative, on both databases.

A researcher types words in any order, often the start of them ("hosp idlib"), in
Latin, Arabic or Cyrillic script; an incident matches when every word begins a word of
its code, title or narrative. Text shaped like a record code ("INC-0042", "ev-000123")
is looked for as that code, exactly: the incident itself and narratives citing it, not
INC-00420.

The words are folded by ``tracker.responsibility.names.search_key`` and matched against a full-text
index that folds the stored text the same way (tracker/migrations/0008): a tsvector
column with a GIN index on PostgreSQL, an FTS5 table on SQLite, both kept up to date by
database triggers, so every way of writing an incident (admin, import, bulk update) is
searchable at once. The user's text never reaches SQL or the full-text query syntax as
written: search_key keeps letters and digits only, each word is quoted as a literal
term, and the query is passed as a parameter.
"""

from __future__ import annotations

import re

from django.db import connections
from django.db.models import BooleanField, F, Func, QuerySet, TextField, Value
from django.db.models.expressions import Col, Expression, RawSQL

from tracker.responsibility.names import search_key

# Created by tracker/migrations/0008_incident_text_search.py.
PG_DOCUMENT_COLUMN = "search_document"  # a tsvector column, not a model field
FTS_TABLE = "tracker_incident_fts"

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
        return queryset.filter(_Matches(_Document(), _TsQuery(_tsquery(words, exact=exact))))
    if vendor == "sqlite":
        found = RawSQL(  # noqa: S611 - constant SQL; the query is a parameter
            f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s",  # noqa: S608
            [_fts5_query(words, exact=exact)],
        )
        return queryset.filter(pk__in=found)
    raise NotImplementedError(
        f"Incident text search exists for SQLite and PostgreSQL, not {vendor}."
    )


def _tsquery(words: list[str], *, exact: bool) -> str:
    """``'hosp':* & 'idlib':*``, or the phrase ``'inc' <-> '0042'`` for a code."""
    # Quotes and backslashes are doubled inside a quoted lexeme (search_key leaves none).
    terms = ["'" + w.replace("\\", "\\\\").replace("'", "''") + "'" for w in words]
    if exact:
        return " <-> ".join(terms)
    return " & ".join(f"{term}:*" for term in terms)


def _fts5_query(words: list[str], *, exact: bool) -> str:
    """``"hosp"* "idlib"*`` (FTS5 ANDs the terms), or the phrase ``"inc 0042"`` for a
    code. A double-quoted string is always a literal term, never an operator."""
    escaped = [w.replace('"', '""') for w in words]
    if exact:
        return '"' + " ".join(escaped) + '"'
    return " ".join(f'"{w}"*' for w in escaped)


class _Document(Expression):
    """The incident's stored tsvector: the column is no model field, so it is named here
    and resolved against the query's own alias for the incident table."""

    def resolve_expression(self, query=None, *args, **kwargs):
        incident_id = F("pk").resolve_expression(query, *args, **kwargs)
        return Col(incident_id.alias, _DOCUMENT_COLUMN)


_DOCUMENT_COLUMN = TextField()
_DOCUMENT_COLUMN.set_attributes_from_name(PG_DOCUMENT_COLUMN)


class _TsQuery(Func):
    template = "to_tsquery('simple'::regconfig, %(expressions)s)"
    output_field = TextField()

    def __init__(self, query: str):
        super().__init__(Value(query))


class _Matches(Func):
    template = "%(expressions)s"
    arg_joiner = " @@ "
    output_field = BooleanField()
