"""Flight observations through the API (read): the spotters' log lines the caller may know
of (``evidence.visibility``: a hidden log's lines are not there), by log and time, in the
order of their index (a page costs the same at any depth). Ranking them against a strike
and confirming one: ``tracker.api.incidents`` (``flights/``)."""

from __future__ import annotations

import django_filters as filters
from rest_framework import exceptions, mixins

from evidence.models import FlightObservation
from evidence.visibility import visible_to
from tracker.api.base import ApiViews
from tracker.api.incidents import VIEW_OBSERVATIONS, ObservationSerializer


class ObservationFilter(filters.FilterSet):
    log = filters.CharFilter(
        field_name="log__item__code", max_length=20, help_text="The log's item."
    )
    observed_after = filters.IsoDateTimeFilter(field_name="observed_at", lookup_expr="gte")
    observed_before = filters.IsoDateTimeFilter(field_name="observed_at", lookup_expr="lt")

    class Meta:
        model = FlightObservation
        fields: list[str] = []


class ObservationViews(mixins.ListModelMixin, ApiViews):
    serializer_class = ObservationSerializer
    filterset_class = ObservationFilter

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not request.user.has_perm(VIEW_OBSERVATIONS):
            raise exceptions.PermissionDenied("This account may not view flight observations.")

    def get_queryset(self):
        found = FlightObservation.objects.select_related("log__item")
        return visible_to(self.request.user, found).order_by("observed_at", "id")
