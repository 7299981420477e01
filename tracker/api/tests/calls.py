"""Calling the API in tests: a client that sends a token, and the problem body."""

from __future__ import annotations

import io

from django.test import Client

from evidence import intake
from tracker.models import ApiToken
from tracker.models.tokens import Scope

ALL = list(Scope.values)


def token_client(user, scopes=ALL, **options) -> Client:
    """A client that calls the API with a new token of ``user``'s (no session)."""
    _, key = ApiToken.issue(user, name="test", scopes=list(scopes), **options)
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def problem(response) -> dict:
    """The RFC 9457 body of an error answer (and its media type checked)."""
    assert response["Content-Type"] == "application/problem+json", response["Content-Type"]
    body = response.json()
    assert body["status"] == response.status_code
    assert body["title"] and body["detail"]
    return body


def stored(data: bytes, *, by, **fields):
    """An item stored through the intake (as any face stores one)."""
    return intake.ingest(
        io.BytesIO(data),
        filename=fields.pop("filename", "a.jpg"),
        kind=fields.pop("kind", "photo"),
        by=by,
        **fields,
    ).item
