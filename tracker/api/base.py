"""What every API view shares: answers that differ by caller are never cached by a
shared cache; a record's answer carries an ``ETag`` and a matching ``If-None-Match``
gets 304."""

from __future__ import annotations

import hashlib

from django.utils.cache import patch_vary_headers
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from tracker.api.pagination import KeysetPagination


def once(params, lists=frozenset()) -> None:
    """Refuse a parameter that takes one value sent more than once (a form would keep only
    the last; a script meant something else); ``lists`` take many."""
    repeated = [name for name, values in params.lists() if len(values) > 1 and name not in lists]
    if repeated:
        raise exceptions.ValidationError(
            {name[:40]: ["Give this parameter once."] for name in repeated[:10]}
        )


class Filters(DjangoFilterBackend):
    """The FilterSet's filters, each one-value parameter given once (``once``)."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        many = {
            name
            for name, field in (filterset_class.base_filters.items() if filterset_class else [])
            if "Multiple" in type(field).__name__
        }
        once(request.query_params, many)
        return super().filter_queryset(request, queryset, view)


class ApiViews(viewsets.GenericViewSet):
    pagination_class = KeysetPagination
    filter_backends = [Filters]
    # The token scope a route needs (``tracker.api.auth.ApiAccess``); None: read for
    # reading, write for the rest. Set per action: ``@action(required_scope=...)``.
    required_scope: str | None = None

    def initial(self, request, *args, **kwargs):
        """DRF's steps, with the rates before the permissions and a failed token counted
        against its address: calls without valid credentials are limited too."""
        self.format_kwarg = self.get_format_suffix(**kwargs)
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(
            request
        )
        request.version, request.versioning_scheme = self.determine_version(
            request, *args, **kwargs
        )
        try:
            self.perform_authentication(request)
        except exceptions.AuthenticationFailed:
            self.check_throttles(request)
            raise
        self.check_throttles(request)
        self.check_permissions(request)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response.setdefault("Cache-Control", "private, no-cache")  # an export's no-store stays
        patch_vary_headers(response, ("Accept", "Authorization", "Cookie"))
        return response

    def retrieve(self, request, *args, **kwargs):
        """A record, with its ETag (``RetrieveModelMixin``'s, tagged)."""
        return self.tagged(self.get_serializer(self.get_object()).data)

    def tagged(self, data) -> Response:
        """``data`` with its ``ETag`` (a hash of the JSON the caller would get), or 304
        when the caller holds that version already."""
        tag = '"' + hashlib.sha256(JSONRenderer().render(data)).hexdigest()[:40] + '"'
        held = self.request.headers.get("If-None-Match", "")
        if tag in [t.strip().removeprefix("W/") for t in held.split(",")]:
            return Response(status=304, headers={"ETag": tag})
        return Response(data, headers={"ETag": tag})
