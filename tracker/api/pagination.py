"""Keyset pagination for every list: a page is "the next N rows after this one" in a
fixed order that ends with a unique key, so a page costs the same at any depth (an
index range, no OFFSET) and rows inserted meanwhile neither repeat nor shift a page.

The cursor is the last row's ordering values, signed (``django.core.signing``), so a
cursor the API did not give out is refused rather than read."""

from __future__ import annotations

import operator
from functools import reduce

from django.conf import settings
from django.core import signing
from django.db.models import Q, QuerySet
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

MAX_PAGE_SIZE = 500
SALT = "tracker.api.cursor"
BAD_CURSOR = "This cursor was not given out by the API for this list: start without one."


def after(ordering: tuple[str, ...], values: list) -> Q:
    """Rows after the row with ``values`` in ``ordering`` ("-field" descending): the
    lexicographic comparison spelled out, behind a bound on the first column alone
    (``<=`` or ``>=``) that lets both databases start an index range there instead of
    reading the index from its start."""
    alternatives = []
    equal = Q()
    for name, value in zip(ordering, values, strict=True):
        field = name.lstrip("-")
        alternatives.append(equal & Q(**{f"{field}__{'lt' if name[0] == '-' else 'gt'}": value}))
        equal &= Q(**{field: value})
    first = ordering[0].lstrip("-")
    bound = Q(**{f"{first}__{'lte' if ordering[0][0] == '-' else 'gte'}": values[0]})
    return bound & reduce(operator.or_, alternatives)


class KeysetPagination(BasePagination):
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset: QuerySet, request, view=None):
        ordering = tuple(queryset.query.order_by)
        if not ordering or ordering[-1].lstrip("-") not in ("pk", "id", "code"):
            raise AssertionError("a keyset page needs an order ending with a unique key")
        self.request = request
        self.ordering = ordering
        size = self.page_size(request)
        raw = request.query_params.get(self.cursor_query_param)
        if raw:
            values = self.decode(raw, ordering, queryset.model)
            queryset = queryset.filter(after(ordering, values))
        rows = list(queryset[: size + 1])
        self.has_next = len(rows) > size
        self.rows = rows[:size]
        return self.rows

    def page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return settings.TRACKER_API_PAGE_SIZE
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
            raise exceptions.ValidationError(
                {"page_size": [f"A whole number from 1 to {MAX_PAGE_SIZE}."]}
            )
        return int(raw)

    @staticmethod
    def decode(raw: str, ordering: tuple[str, ...], model) -> list:
        try:
            payload = signing.loads(raw, salt=SALT)
        except signing.BadSignature:
            raise exceptions.ValidationError({"cursor": [BAD_CURSOR]}) from None
        if not isinstance(payload, dict) or payload.get("order") != list(ordering):
            raise exceptions.ValidationError({"cursor": [BAD_CURSOR]})
        values = payload.get("values")
        if not isinstance(values, list) or len(values) != len(ordering):
            raise exceptions.ValidationError({"cursor": [BAD_CURSOR]})
        meta = model._meta
        fields = [
            meta.pk if n.lstrip("-") == "pk" else meta.get_field(n.lstrip("-")) for n in ordering
        ]
        return [field.to_python(value) for field, value in zip(fields, values, strict=True)]

    def encode(self, row) -> str:
        values = []
        for name in self.ordering:
            value = getattr(row, name.lstrip("-"))
            values.append(value.isoformat() if hasattr(value, "isoformat") else value)
        return signing.dumps({"order": list(self.ordering), "values": values}, salt=SALT)

    def next_link(self) -> str | None:
        if not self.has_next:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, self.encode(self.rows[-1]))

    def get_paginated_response(self, data):
        return Response({"next": self.next_link(), "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {
                    "type": ["string", "null"],
                    "format": "uri",
                    "description": "The next page, or null on the last page.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Where the page starts: the 'next' link of the page before.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page, 1 to {MAX_PAGE_SIZE}.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
        ]
