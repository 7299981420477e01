"""Errors as RFC 9457 problem details (``application/problem+json``): ``title`` (the
status's phrase), ``status``, ``detail`` (one sentence a person can act on) and, for
invalid fields, ``errors`` (field name to messages)."""

from __future__ import annotations

from http import HTTPStatus

from django.core.exceptions import ValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler

PROBLEM = "application/problem+json"
INVALID = "Some values are not valid: see errors."


class Conflict(exceptions.APIException):
    """The request is understood but the record's state refuses it (a lock, four eyes,
    a transition not possible now)."""

    status_code = 409
    default_detail = "The record's state does not allow this."


class LengthRequired(exceptions.APIException):
    status_code = 411
    default_detail = "A streamed upload needs its Content-Length (chunked bodies are not taken)."


class TooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The file is larger than the limit."


def problem(exc, context):
    if isinstance(exc, ValidationError):  # a model's rule (locks, constraints)
        exc = exceptions.ValidationError({"detail": exc.messages})
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    body: dict = {"type": "about:blank", "status": response.status_code}
    body["title"] = HTTPStatus(response.status_code).phrase
    if isinstance(data, dict) and set(data) == {"detail"}:
        detail = data["detail"]
        body["detail"] = " ".join(map(str, detail)) if isinstance(detail, list) else str(detail)
    else:
        body["detail"] = INVALID
        body["errors"] = data if isinstance(data, dict) else {"non_field_errors": data}
    response.data = body
    response.content_type = PROBLEM  # whatever the route's own media type (an export's)
    return response
