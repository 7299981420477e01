"""Bad input is a 400, never a 500 (issue 14).

``HostileInputMiddleware`` refuses, before any view or session lookup runs, a request
that carries what the database cannot store or should never be asked:

- a NUL byte or a lone surrogate anywhere a view could pass on: the path, a query
  parameter's name or value, a form field's name or value, a cookie, a header.
  PostgreSQL refuses NUL in text; a lone surrogate cannot be encoded as UTF-8 at all.
  (Django already drops both from uploaded file names; file contents are bytes.)
- a path, query parameter name or query value longer than ``MAX_URL_TEXT``: no link
  of ours is that long. Form fields are not limited here (an incident narrative may
  be long); their forms check lengths and ``DATA_UPLOAD_MAX_MEMORY_SIZE`` caps the body.
- a ``__regex``/``__iregex`` lookup whose pattern Python cannot compile: SQLite runs
  it through Python's ``re``, PostgreSQL would refuse most of the same patterns.

Each is a ``security.BadInput``, which Django answers with the readable 400 page
(``security.bad_request``) and logs on ``django.security.BadInput``.

``process_exception`` is the safety net behind those checks: a query built from user
input that the database still refuses (``DataError``: a pattern valid in Python but not
in PostgreSQL, a number out of range), an ``re.error`` from code that compiles a
user's pattern, or SQLite's report of a query beyond it (a pattern its ``REGEXP``
could not compile, a search of hundreds of words), becomes the same 400 page instead
of a 500. It is logged with its traceback,
since it means a face lacks a check.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

from django.db import DataError, OperationalError, connections, transaction
from django.http import HttpRequest, HttpResponse, QueryDict, UnreadablePostError

from tracker.accounts.security import BadInput, bad_request

# The longest path, query parameter name or query value accepted, in characters.
MAX_URL_TEXT = 2_000

# NUL (PostgreSQL: "text fields cannot contain NUL") and lone surrogates (no UTF-8 form).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REGEX_LOOKUPS = ("__regex", "__iregex")
# What SQLite says when a query built from input is beyond it: an exception inside a
# Python function it calls (Django's REGEXP, i.e. re.compile), a search of hundreds of
# words (one nested condition each: the admin's default search), an overlong LIKE.
_SQLITE_REFUSALS = (
    "user-defined function raised exception",
    "Expression tree is too large",
    "LIKE or GLOB pattern too complex",
)

UNSTORABLE = (
    "The request held a character the tracker cannot store (a NUL byte or a broken "
    "Unicode character). Nothing was saved. Remove it, or retype the value, and try again."
)
TOO_LONG = (
    f"The address, or a value in it, was longer than {MAX_URL_TEXT:,} characters, "
    "more than any page of the tracker uses. Shorten the search or filter and try again."
)
BAD_PATTERN = (
    "A regular expression in the address could not be read (check its brackets and "
    "escapes). Correct it and try again."
)
UNUSABLE_VALUE = (
    "A value in the request could not be used in a search (the database refused it, "
    "for example a regular expression it cannot read or a number out of range). "
    "Check what was entered and try again."
)

logger = logging.getLogger("django.security.BadInput")


def _check_text(where: str, text: str, *, limit: int | None) -> None:
    if _UNSTORABLE.search(text):
        raise BadInput(f"Unstorable character in {where}.", reason=UNSTORABLE)
    if limit is not None and len(text) > limit:
        raise BadInput(f"{where} is {len(text)} characters long.", reason=TOO_LONG)


def _check_fields(where: str, fields: Iterable[tuple[str, list[str]]], *, limit: int | None):
    for name, values in fields:
        _check_text(f"the name of a {where}", name, limit=limit)
        for value in values:
            _check_text(f"{where} {name[:100]!r}", value, limit=limit)
            if name.endswith(REGEX_LOOKUPS):
                try:
                    re.compile(value)
                except re.error:
                    raise BadInput(
                        f"Invalid regular expression in {where} {name[:100]!r}.",
                        reason=BAD_PATTERN,
                    ) from None


def check_request(request: HttpRequest) -> None:
    """Raise ``BadInput`` if the request carries anything described in the module's
    docstring. Reading ``request.POST`` here parses the body as CSRF protection would
    a moment later; a body Django cannot parse raises its own 400."""
    _check_text("the path", request.path, limit=MAX_URL_TEXT)
    _check_fields("query parameter", request.GET.lists(), limit=MAX_URL_TEXT)
    if request.method == "POST":
        try:
            posted = request.POST
        except UnreadablePostError:  # the client went away: CSRF and the view see it too
            posted = QueryDict()
        _check_fields("form field", posted.lists(), limit=None)
    _check_fields(
        "cookie", ((name, [value]) for name, value in request.COOKIES.items()), limit=None
    )
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            _check_text(f"the {key[5:]} header", value, limit=None)


def is_refused_input(exception: BaseException) -> bool:
    """Did the database (or ``re``) refuse a value, rather than fail on its own?"""
    if isinstance(exception, DataError | re.error):
        return True
    return (
        isinstance(exception, OperationalError)
        and str(exception).startswith(_SQLITE_REFUSALS)
        and any(c.vendor == "sqlite" for c in connections.all(initialized_only=True))
    )


class HostileInputMiddleware:
    """Refuse hostile input with the readable 400 (placed right after CSP in MIDDLEWARE,
    so the refusal carries the policy header and nothing below it sees the request)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        check_request(request)  # a BadInput becomes the 400 page (Django's handler400)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_refused_input(exception):
            return None
        # The view's own atomic blocks (ATOMIC_REQUESTS' too) rolled back as the
        # exception left them. A block still open belongs to whoever called the handler
        # (a test, a script); PostgreSQL has aborted its transaction on a refused value,
        # so it must roll back rather than fail on leaving. (SQLite's refusals above
        # come before the statement runs and leave its transaction as it was.)
        if isinstance(exception, DataError):
            for connection in connections.all(initialized_only=True):
                if connection.in_atomic_block:
                    transaction.set_rollback(True, using=connection.alias)
        logger.error(
            "Input refused while answering %s: %s",
            request.path,
            type(exception).__name__,
            exc_info=exception,
            extra={"status_code": 400, "request": request},
        )
        return bad_request(request, BadInput(str(exception), reason=UNUSABLE_VALUE))
