"""What the API shows of a record. Each serializer reads the caller from its context
(``request``) and leaves out what the caller may not know: protected identity (a witness's
name and contact, a protected item's file name, the camera and place a protected file
claims) is absent, not null; links to files are given only to those who may open them."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from evidence import access
from evidence.files import bag_records
from evidence.models import Derivative, EvidenceItem, EvidenceLink, Testimony
from tracker.access import visible_incidents
from tracker.models import Attribution, Incident, Place
from tracker.responsibility import chain

# Fields left out of an answer for some callers (protected identity, files they may not
# open, details of another kind of item): not required in the description
# (``tracker.api.schema``), by component.
MAY_BE_ABSENT = {
    "Evidence": ["original_filename"],
    "EvidenceDetail": ["original_filename", "files", "photo", "testimony", "links"],
    "IncidentDetail": ["evidence", "attributions", "chain_of_command"],
    "Uploaded": ["item"],
}
# What of a record needs a view permission of its own, as the admin's inlines do: a
# field an account may not view is left out.
NEEDS: dict[str, str | tuple[str, ...]] = {
    "attributions": "tracker.view_attribution",
    "chain_of_command": ("tracker.view_attribution", "tracker.view_position"),
    "evidence": "evidence.view_evidencelink",
    "links": "evidence.view_evidencelink",
    "photo": "evidence.view_photometadata",
    "testimony": "evidence.view_testimony",
}


def without_unpermitted(data: dict, user) -> dict:
    """``data`` without the fields ``user`` lacks the view permission for (``NEEDS``)."""
    for name, perms in NEEDS.items():
        if name in data and not user.has_perms([perms] if isinstance(perms, str) else perms):
            del data[name]
    return data


class Strict(serializers.Serializer):
    """A request's fields: a name the API does not know is refused, not ignored (a
    mistyped "is_protect=true" must not store a protected file as an open one). The
    description says so (``additionalProperties: false``, ``tracker.api.schema``)."""

    def validate(self, attrs):
        sent = getattr(self.initial_data, "keys", lambda: [])()
        unknown = sorted(set(sent) - set(self.fields))
        if unknown:
            names = ", ".join(repr(name[:40]) for name in unknown[:10])
            raise serializers.ValidationError({"non_field_errors": [f"Unknown fields: {names}."]})
        return attrs


class VisibleIncident(serializers.CharField):
    """An incident by its code, among those the caller may see: another code is "no such
    incident", as an unknown one; empty: none."""

    def __init__(self, **options) -> None:
        options.setdefault("help_text", "An incident's code; empty or left out: none.")
        super().__init__(max_length=20, required=False, allow_blank=True, **options)

    def run_validation(self, data=serializers.empty) -> Incident | None:
        code = super().run_validation(data)  # a string of at most 20 characters
        if not code:
            return None
        found = visible_incidents(self.context["request"].user).filter(code=code).first()
        if found is None:
            raise serializers.ValidationError(f"No incident with code {code}.")
        return found


def named(field: str) -> serializers.CharField:
    """A related record by its name, or null when there is none."""
    return serializers.CharField(source=f"{field}.name", read_only=True, allow_null=True)


class PlaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Place
        fields = ["name", "district", "governorate", "latitude", "longitude"]


class IncidentSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:incident-detail", lookup_field="code")
    place = PlaceSerializer(read_only=True)
    attack_type = named("attack_type")
    weapon = named("weapon")
    target_types = serializers.StringRelatedField(many=True)
    civilian_harm = serializers.ChoiceField(
        Incident.HarmGrade.choices, allow_blank=True, read_only=True, help_text="Empty: not graded."
    )

    class Meta:
        model = Incident
        fields = [
            "code",
            "url",
            "title",
            "status",
            "sensitivity",
            "occurred_start",
            "start_precision",
            "occurred_end",
            "place",
            "latitude",
            "longitude",
            "location_precision",
            "attack_type",
            "weapon",
            "target_types",
            "killed_min",
            "killed_max",
            "injured_min",
            "injured_max",
            "children_killed",
            "women_killed",
            "civilian_harm",
        ]
        read_only_fields = fields


class LinkSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.code")
    kind = serializers.CharField(source="item.kind")
    title = serializers.CharField(source="item.title")
    item_status = serializers.CharField(source="item.status")

    class Meta:
        model = EvidenceLink
        fields = ["item", "kind", "title", "item_status", "relevance", "relied_on"]


class AttributionSerializer(serializers.ModelSerializer):
    force = named("force")
    unit = named("unit")
    official = named("official")
    supporting_evidence = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = Attribution
        fields = [
            "id",
            "force",
            "unit",
            "official",
            "role",
            "confidence",
            "basis",
            "status",
            "relied_on",
            "supporting_evidence",
        ]


class CommandSerializer(serializers.Serializer):
    """Who commanded an attributed unit, or a unit above it, on the incident's date
    (``tracker.responsibility.chain``)."""

    attributed_unit = serializers.CharField(source="attributed_unit.name")
    unit = serializers.CharField(source="unit.name")
    unit_id = serializers.IntegerField(source="unit.pk")
    levels_above = serializers.IntegerField(source="depth", help_text="0: the unit itself.")
    official = serializers.CharField(source="official.name")
    official_id = serializers.IntegerField(source="official.pk")
    title = serializers.CharField(source="position.title")
    started = serializers.CharField()
    ended = serializers.CharField()
    certainty = serializers.ChoiceField(choices=[chain.CERTAIN, chain.POSSIBLE])
    reason = serializers.CharField(help_text="Why only possible (empty when certain).")


class IncidentDetailSerializer(IncidentSerializer):
    # The view prefetches both lists through the visibility policy (``IncidentViews``).
    evidence = LinkSerializer(many=True, read_only=True, source="evidence_links")
    attributions = AttributionSerializer(many=True, read_only=True)
    chain_of_command = serializers.SerializerMethodField()

    class Meta(IncidentSerializer.Meta):
        fields = [
            *IncidentSerializer.Meta.fields,
            "narrative",
            "evidence",
            "attributions",
            "chain_of_command",
        ]
        read_only_fields = fields

    @extend_schema_field(CommandSerializer(many=True))
    def get_chain_of_command(self, incident: Incident) -> list:
        return CommandSerializer(chain.chain_of_command(incident), many=True).data

    def to_representation(self, incident: Incident) -> dict:
        return without_unpermitted(
            super().to_representation(incident), self.context["request"].user
        )


class FilesSerializer(serializers.Serializer):
    original = serializers.URLField()
    thumbnail = serializers.URLField(required=False)
    preview = serializers.URLField(required=False)
    playable = serializers.URLField(required=False)


class WitnessSerializer(serializers.Serializer):
    pseudonym = serializers.CharField()
    role = serializers.CharField()
    real_name = serializers.CharField(required=False, help_text="Protected identity.")
    contact = serializers.CharField(required=False, help_text="Protected identity.")


class TestimonySerializer(serializers.ModelSerializer):
    witness = serializers.SerializerMethodField()

    class Meta:
        model = Testimony
        fields = ["witness", "interview_date", "method", "language", "summary", "consent_given"]

    @extend_schema_field(WitnessSerializer)
    def get_witness(self, testimony: Testimony) -> dict:
        witness = testimony.witness
        shown = {"pseudonym": witness.pseudonym, "role": witness.role}
        if self.context["request"].user.has_perm(access.VIEW_PROTECTED):
            shown.update(real_name=witness.real_name, contact=witness.contact)
        return shown


class EvidenceSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:evidence-detail", lookup_field="code")
    source_type = named("source_type")
    source_url = serializers.CharField(read_only=True, help_text="Where it was found, or empty.")
    original_filename = serializers.CharField(
        required=False, help_text="Absent for a protected item, to those without the permission."
    )

    class Meta:
        model = EvidenceItem
        fields = [
            "code",
            "url",
            "kind",
            "title",
            "description",
            "status",
            "sha256",
            "size",
            "media_type",
            "original_filename",
            "captured_at",
            "captured_precision",
            "captured_latitude",
            "captured_longitude",
            "source_type",
            "source_name",
            "source_url",
            "acquired_at",
            "is_graphic",
            "identifies_people",
            "is_protected",
            "derivative_problem",
        ]
        read_only_fields = fields

    def to_representation(self, item: EvidenceItem) -> dict:
        data = super().to_representation(item)
        user = self.context["request"].user
        if not access.file_name_shown(item, user.has_perm(access.VIEW_PROTECTED)):
            del data["original_filename"]
        return data


class EvidenceDetailSerializer(EvidenceSerializer):
    links = serializers.SerializerMethodField()
    near_duplicates = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField(help_text="Absent to those who may not open them.")
    photo = serializers.SerializerMethodField()
    testimony = serializers.SerializerMethodField()

    class Meta(EvidenceSerializer.Meta):
        fields = [
            *EvidenceSerializer.Meta.fields,
            "links",
            "near_duplicates",
            "files",
            "photo",
            "testimony",
        ]
        read_only_fields = fields

    def to_representation(self, item: EvidenceItem) -> dict:
        data = super().to_representation(item)
        for name in ("files", "photo", "testimony"):
            if data[name] is None:
                del data[name]
        return without_unpermitted(data, self.context["request"].user)

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "incident": {"type": "string"},
                    "relevance": {"type": "string"},
                    "relied_on": {"type": "boolean"},
                },
                "required": ["incident", "relevance", "relied_on"],
            },
        }
    )
    def get_links(self, item: EvidenceItem) -> list[dict]:
        # Prefetched through the visibility policy by the view.
        return [
            {
                "incident": link.incident.code,
                "relevance": link.relevance,
                "relied_on": link.relied_on,
            }
            for link in item.links.all()
        ]

    @extend_schema_field({"type": "array", "items": {"type": "string"}})
    def get_near_duplicates(self, item: EvidenceItem) -> list[str]:
        return [other.code for other in item.near_duplicates.all()]

    @extend_schema_field(FilesSerializer)
    def get_files(self, item: EvidenceItem) -> dict | None:
        request = self.context["request"]
        if not access.can_view_item(request.user, item):
            return None
        kinds = {d.kind for d in item.derivatives.all()}
        files = {
            "original": request.build_absolute_uri(reverse("evidence:original", args=[item.code]))
        }
        for kind in (Derivative.Kind.THUMBNAIL, Derivative.Kind.PREVIEW, Derivative.Kind.PLAYABLE):
            if kind in kinds:
                path = reverse(f"evidence:{kind.value}", args=[item.code])
                files[kind.value] = request.build_absolute_uri(path)
        return files

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_photo(self, item: EvidenceItem) -> dict | None:
        """What a photo's file claims (EXIF); a protected file's camera and position are
        left out for those who may not open it."""
        photo = getattr(item, "photo", None) if item.kind == EvidenceItem.Kind.PHOTO else None
        if photo is None:
            return None
        record = bag_records.photo_record(photo, include_protected=True)
        if item.is_protected and not access.can_view_item(self.context["request"].user, item):
            for name in access.PHOTO_SOURCE:
                record.pop(name, None)
        return record

    @extend_schema_field(TestimonySerializer)
    def get_testimony(self, item: EvidenceItem) -> dict | None:
        testimony = getattr(item, "testimony", None)
        if testimony is None:
            return None
        return TestimonySerializer(testimony, context=self.context).data
