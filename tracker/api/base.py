"""What every API view shares: answers that differ by caller are never cached by a
shared cache; a record's answer carries an ``ETag`` and a matching ``If-None-Match``
gets 304."""

from __future__ import annotations

import hashlib

from rest_framework import viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from tracker.api.pagination import KeysetPagination


class ApiViews(viewsets.GenericViewSet):
    pagination_class = KeysetPagination
    # The token scope a route needs (``tracker.api.auth.ApiAccess``); None: read for
    # reading, write for the rest. Set per action: ``@action(required_scope=...)``.
    required_scope: str | None = None

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "private, no-cache"
        response["Vary"] = "Accept, Authorization, Cookie"
        return response

    def tagged(self, data) -> Response:
        """``data`` with its ``ETag`` (a hash of the JSON the caller would get), or 304
        when the caller holds that version already."""
        tag = '"' + hashlib.sha256(JSONRenderer().render(data)).hexdigest()[:40] + '"'
        held = self.request.headers.get("If-None-Match", "")
        if tag in [t.strip().removeprefix("W/") for t in held.split(",")]:
            return Response(status=304, headers={"ETag": tag})
        return Response(data, headers={"ETag": tag})
