"""Forces, units, officials and their postings through the API (read), attributions
(as far as the caller may see their incidents), and an official's dossier: the same
``tracker.responsibility.dossier`` the workspace's page shows, restricted incidents left
out for those who may not see them. Each needs the model's view permission, as in the
admin."""

from __future__ import annotations

import django_filters as filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers
from rest_framework.decorators import action

from evidence.models import EvidenceItem
from evidence.visibility import visible_to
from tracker.access import VIEW_RESTRICTED
from tracker.api.base import ApiViews
from tracker.api.serializers import AttributionSerializer
from tracker.models import Attribution, Force, Official, Position, ReviewStatus, Unit
from tracker.responsibility.dossier import dossier
from tracker.responsibility.names import official_name_q, unit_name_q
from tracker.workspace.filters import SEARCH_MAX, named


class ViewPermission:
    """The model's view permission, asked before anything is looked up."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        meta = self.queryset.model._meta
        if not request.user.has_perm(f"{meta.app_label}.view_{meta.model_name}"):
            raise exceptions.PermissionDenied(
                f"This account may not view {meta.verbose_name_plural}."
            )


class ForceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Force
        fields = ["id", "name", "short_name", "country", "description"]


class UnitSerializer(serializers.ModelSerializer):
    force = serializers.CharField(source="force.name", read_only=True)

    class Meta:
        model = Unit
        fields = ["id", "name", "force", "parent", "aliases"]


class PostingSerializer(serializers.ModelSerializer):
    unit = serializers.CharField(source="unit.name", read_only=True)
    unit_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Position
        fields = [
            "id",
            "unit",
            "unit_id",
            "title",
            "rank",
            "is_command",
            "is_acting",
            "start",
            "start_precision",
            "end",
            "end_precision",
            "source",
        ]


class OfficialSerializer(serializers.ModelSerializer):
    aliases = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    postings = PostingSerializer(many=True, read_only=True, source="positions")

    class Meta:
        model = Official
        fields = ["id", "name", "aliases", "nationality", "born", "biography", "postings"]


class NameFilter(filters.FilterSet):
    q = filters.CharFilter(method="by_name", max_length=SEARCH_MAX, help_text="Any of the names.")

    def by_name(self, queryset, name, value):
        found = named(queryset.model.objects, value, self.name_q)
        return queryset.filter(pk__in=found.values("pk"))


class OfficialFilter(NameFilter):
    name_q = staticmethod(official_name_q)

    class Meta:
        model = Official
        fields: list[str] = []


class UnitFilter(NameFilter):
    name_q = staticmethod(unit_name_q)
    force = filters.ModelChoiceFilter(queryset=Force.objects.all(), help_text="A force's id.")

    class Meta:
        model = Unit
        fields: list[str] = []


class PostingFilter(filters.FilterSet):
    official = filters.NumberFilter(field_name="official_id", min_value=1, max_value=2**31 - 1)
    unit = filters.NumberFilter(field_name="unit_id", min_value=1, max_value=2**31 - 1)

    class Meta:
        model = Position
        fields: list[str] = []


class ListedPostingSerializer(PostingSerializer):
    official = serializers.CharField(source="official.name", read_only=True)
    official_id = serializers.IntegerField(read_only=True)

    class Meta(PostingSerializer.Meta):
        fields = ["official", "official_id", *PostingSerializer.Meta.fields]


class PostingViews(ViewPermission, mixins.ListModelMixin, ApiViews):
    """Who held which post in which unit, when: what command responsibility rests on."""

    queryset = Position.objects.select_related("official", "unit").order_by("pk")
    serializer_class = ListedPostingSerializer
    filterset_class = PostingFilter


class AttributionFilter(filters.FilterSet):
    incident = filters.CharFilter(field_name="incident__code", max_length=20)
    official = filters.NumberFilter(field_name="official_id", min_value=1, max_value=2**31 - 1)
    unit = filters.NumberFilter(field_name="unit_id", min_value=1, max_value=2**31 - 1)
    force = filters.NumberFilter(field_name="force_id", min_value=1, max_value=2**31 - 1)
    status = filters.MultipleChoiceFilter(choices=ReviewStatus.choices)

    class Meta:
        model = Attribution
        fields: list[str] = []


class ListedAttributionSerializer(AttributionSerializer):
    incident = serializers.CharField(source="incident.code", read_only=True)

    class Meta(AttributionSerializer.Meta):
        fields = ["incident", *AttributionSerializer.Meta.fields]


class AttributionViews(ViewPermission, mixins.ListModelMixin, ApiViews):
    """Attributions of incidents the caller may see (``evidence.visibility``), each with
    the supporting items the caller may know of."""

    queryset = Attribution.objects.all()
    serializer_class = ListedAttributionSerializer
    filterset_class = AttributionFilter

    def get_queryset(self):
        user = self.request.user
        support = visible_to(user, EvidenceItem.objects.only("code").order_by("code"))
        return (
            visible_to(
                user, Attribution.objects.select_related("incident", "force", "unit", "official")
            )
            .prefetch_related(Prefetch("supporting_evidence", queryset=support))
            .order_by("pk")
        )


class ForceViews(ViewPermission, mixins.ListModelMixin, ApiViews):
    queryset = Force.objects.order_by("pk")
    serializer_class = ForceSerializer


class UnitViews(ViewPermission, mixins.ListModelMixin, ApiViews):
    queryset = Unit.objects.select_related("force").order_by("pk")
    serializer_class = UnitSerializer
    filterset_class = UnitFilter


class DossierLinkSerializer(serializers.Serializer):
    basis = serializers.CharField()
    description = serializers.CharField()
    attribution_status = serializers.CharField(source="attribution.status")
    is_finding = serializers.BooleanField()
    certainty = serializers.CharField()
    evidence = serializers.ListField(child=serializers.CharField())


class DossierIncidentSerializer(serializers.Serializer):
    code = serializers.CharField(source="incident.code")
    title = serializers.CharField(source="incident.title")
    date = serializers.CharField()
    status = serializers.CharField(source="incident.status")
    is_finding = serializers.BooleanField()
    certain = serializers.BooleanField()
    links = DossierLinkSerializer(many=True)


class DossierSerializer(serializers.Serializer):
    official = OfficialSerializer()
    findings = DossierIncidentSerializer(many=True)
    in_review = DossierIncidentSerializer(many=True)
    incidents_counted = serializers.IntegerField(source="totals.incidents")
    killed = serializers.CharField(source="totals.killed")


class OfficialViews(ViewPermission, mixins.ListModelMixin, ApiViews):
    queryset = Official.objects.prefetch_related("aliases", "positions__unit").order_by("pk")
    serializer_class = OfficialSerializer
    filterset_class = OfficialFilter

    @extend_schema(responses={200: DossierSerializer})
    @action(detail=True, methods=["get"])
    def dossier(self, request, pk=None):
        """Every incident linked to the official, why, and the totals of the findings
        (the workspace's dossier)."""
        found = dossier(
            self.get_object(), include_restricted=request.user.has_perm(VIEW_RESTRICTED)
        )
        return self.tagged(DossierSerializer(found, context={"request": request}).data)
