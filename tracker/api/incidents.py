"""Incidents through the API: the list with every filter of the workspace (one
``IncidentFilter``), a record with its evidence and attributions, and review actions
through ``tracker.workflow.transition`` (its refusals and messages, as 409)."""

from __future__ import annotations

import json

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from evidence.flights import ranking
from evidence.models import EvidenceItem, EvidenceLink, FlightObservation
from evidence.visibility import visible_to
from tracker import workflow
from tracker.access import visible_incidents
from tracker.api.base import ApiViews
from tracker.api.errors import Conflict
from tracker.api.serializers import IncidentDetailSerializer, IncidentSerializer, Strict
from tracker.models import Attribution, ReviewStatus
from tracker.models.tokens import Scope
from tracker.workspace import exports
from tracker.workspace.filters import DEFAULT_SORT, SORTS, IncidentFilter

VIEW_OBSERVATIONS = "evidence.view_flightobservation"
REVIEW = "tracker.review_incident"
# Keyset pages need an order on columns that are never null: counts may be unknown.
API_SORTS = {key: order for key, (_, order) in SORTS.items() if "killed" not in key}


class Download(BaseRenderer):
    """An export's own bytes, as the workspace streams them; a refusal as a problem."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if isinstance(data, dict) else data


class Csv(Download):
    media_type, format = "text/csv", "csv"


class GeoJson(Download):
    media_type, format = "application/geo+json", "geojson"


def export(request, lines, content_type: str, extension: str):
    """The workspace's export of the incidents the filters select (``exports``): one
    filter that does not parse refuses the whole export (400), never a wider file."""
    found = IncidentFilter(request.query_params or None, queryset=visible_incidents(request.user))
    if errors := found.filter_errors():
        raise ValidationError({"filters": errors})
    chunks = lines(exports.records(found))
    return exports.streamed(chunks, content_type, f"incidents-{exports.stamp()}.{extension}")


class WindowSerializer(Strict):
    """Minutes of observations before and after the strike."""

    before = serializers.IntegerField(min_value=0, max_value=ranking.MAX_MINUTES, default=60)
    after = serializers.IntegerField(min_value=0, max_value=ranking.MAX_MINUTES, default=10)


class ObservationSerializer(serializers.ModelSerializer):
    log = serializers.CharField(source="log.item.code", help_text="The flight log's item.")

    class Meta:
        model = FlightObservation
        fields = [
            "id",
            "log",
            "line_number",
            "observed_at",
            "station",
            "station_latitude",
            "station_longitude",
            "aircraft_type",
            "aircraft_class",
            "aircraft_count",
            "nationality",
            "heading",
            "callsign",
            "activity",
        ]


class CandidateSerializer(serializers.Serializer):
    observation = ObservationSerializer()
    score = serializers.FloatField(min_value=0, max_value=1)
    reasons = serializers.ListField(child=serializers.CharField())
    confirmed = serializers.BooleanField(help_text="Confirmed by a reviewer for this incident.")


class ConfirmSerializer(Strict):
    """A ranked flight a reviewer finds consistent with the strike."""

    observation = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    attribution = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="One of the incident's attributions, given the flight log as support.",
    )


class ConfirmedSerializer(serializers.Serializer):
    observation = serializers.IntegerField(source="observation_id")
    incident = serializers.CharField(source="incident.code")
    score = serializers.FloatField()
    reasons = serializers.CharField()
    log = serializers.CharField(source="observation.log.item.code", help_text="Now linked.")
    confirmed_by = serializers.CharField(source="confirmed_by.username")
    confirmed_at = serializers.DateTimeField()


class TransitionSerializer(Strict):
    """A review action, with the comment it may need."""

    action = serializers.ChoiceField(choices=workflow.Action.choices)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class TransitionDoneSerializer(serializers.Serializer):
    record = serializers.CharField()
    action = serializers.CharField()
    from_status = serializers.ChoiceField(choices=ReviewStatus.choices)
    status = serializers.ChoiceField(choices=ReviewStatus.choices)
    at = serializers.DateTimeField()


def take(record, request) -> Response:
    """``record``'s review action asked for in ``request``, through the workflow."""
    asked = TransitionSerializer(data=request.data)
    asked.is_valid(raise_exception=True)
    try:
        event = workflow.transition(
            record,
            asked.validated_data["action"],
            by=request.user,
            comment=asked.validated_data["comment"],
        )
    except workflow.TransitionError as exc:
        raise Conflict(str(exc)) from None
    done = {
        "record": record.code,
        "action": event.action,
        "from_status": event.from_status,
        "status": event.to_status,
        "at": event.at,
    }
    return Response(TransitionDoneSerializer(done).data, status=status.HTTP_201_CREATED)


class IncidentViews(mixins.ListModelMixin, ApiViews):
    """Incidents the caller may see (``tracker.access.visible_incidents``): a restricted
    incident is 404 to whoever may not see it, as in the admin."""

    lookup_field = "code"
    filterset_class = IncidentFilter

    def get_serializer_class(self):
        return IncidentDetailSerializer if self.action == "retrieve" else IncidentSerializer

    def get_queryset(self):
        user = self.request.user
        incidents = (
            visible_incidents(user)
            .select_related("place", "attack_type", "weapon")
            .prefetch_related("target_types")
        )
        if self.action != "list":
            links = visible_to(
                user, EvidenceLink.objects.select_related("item").order_by("item__code")
            )
            support = visible_to(user, EvidenceItem.objects.only("code"))
            attributions = (
                visible_to(user, Attribution.objects.order_by("pk"))
                .select_related("force", "unit", "official")
                .prefetch_related(Prefetch("supporting_evidence", queryset=support))
            )
            incidents = incidents.prefetch_related(
                Prefetch("evidence_links", queryset=links),
                Prefetch("attributions", queryset=attributions),
            )
        return incidents

    def list(self, request, *args, **kwargs):
        sort = request.query_params.get("sort") or DEFAULT_SORT
        if sort in SORTS and sort not in API_SORTS:
            raise ValidationError(
                {
                    "sort": [
                        "The API orders by " + ", ".join(API_SORTS) + " (counts may be unknown)."
                    ]
                }
            )
        found = self.filter_queryset(self.get_queryset())
        order = API_SORTS.get(sort, API_SORTS[DEFAULT_SORT])
        page = self.paginate_queryset(found.order_by(*order))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=TransitionSerializer, responses={201: TransitionDoneSerializer})
    @action(detail=True, methods=["post"], required_scope=Scope.REVIEW)
    def transitions(self, request, code=None):
        return take(self.get_object(), request)

    @extend_schema(parameters=[WindowSerializer], responses={200: CandidateSerializer(many=True)})
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def flights(self, request, code=None):
        """Flight observations in the strike's window, best first, with the reasons of
        each score (``evidence.flights.ranking``, as on the incident's admin page)."""
        if not request.user.has_perm(VIEW_OBSERVATIONS):
            raise PermissionDenied("This account may not view flight observations.")
        window = WindowSerializer(data=request.query_params)
        window.is_valid(raise_exception=True)
        incident = self.get_object()
        try:
            ranked = ranking.candidates(incident, viewer=request.user, **window.validated_data)
        except ranking.CorrelationRefused as exc:
            raise Conflict(str(exc)) from None
        return Response(CandidateSerializer(ranked, many=True).data)

    @extend_schema(request=ConfirmSerializer, responses={201: ConfirmedSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="flights/confirm",
        filter_backends=[],
        required_scope=Scope.REVIEW,
    )
    def confirm_flight(self, request, code=None):
        """Confirm a flight for the incident (``ranking.confirm``, as the admin's button):
        its log is linked to the incident, and supports the attribution named."""
        if not request.user.has_perm(REVIEW):
            raise PermissionDenied(ranking.NOT_REVIEWER)
        asked = ConfirmSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        incident = self.get_object()
        wanted = asked.validated_data
        observations = FlightObservation.objects.select_related("log__item")
        observation = (
            visible_to(request.user, observations).filter(pk=wanted["observation"]).first()
        )
        if observation is None:  # unknown, or in a log the reviewer may not see
            raise ValidationError({"observation": ["No such flight observation."]})
        attribution = None
        if "attribution" in wanted:
            attribution = incident.attributions.filter(pk=wanted["attribution"]).first()
            if attribution is None:
                raise ValidationError({"attribution": [ranking.OTHER_INCIDENT]})
        match = ranking.confirm(
            observation=observation,
            incident=incident,
            by=request.user,
            note=wanted["note"],
            attribution=attribution,
        )
        return Response(ConfirmedSerializer(match).data, status=status.HTTP_201_CREATED)

    # Routed in urls.py without a trailing slash, as a file's address.
    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR}, filters=True)
    def export_csv(self, request):
        """The selected incidents as CSV (the workspace's columns), streamed."""
        return export(request, exports.csv_lines, "text/csv; charset=utf-8", "csv")

    @extend_schema(responses={(200, "application/geo+json"): OpenApiTypes.OBJECT}, filters=True)
    def export_geojson(self, request):
        """The selected incidents as a GeoJSON FeatureCollection, streamed."""
        return export(request, exports.geojson_chunks, "application/geo+json", "geojson")
