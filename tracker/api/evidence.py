"""Evidence items through the API: the list and a record (as the admin shows them to the
caller), the custody log (the court bundle's record of it, ``bag_records``), uploads
through ``evidence.intake.ingest`` (its refusals, duplicates and set-aside copies, as
the admin's upload says them), and review actions through the workflow."""

from __future__ import annotations

import django_filters as filters
from django.conf import settings
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from evidence import access, intake, links
from evidence.files import anchoring, bag_records
from evidence.forms import ItemDetailsForm
from evidence.models import EvidenceItem, EvidenceLink
from evidence.visibility import hidden_incident_codes, visible_to
from tracker.api.auth import scopes
from tracker.api.base import ApiViews, once
from tracker.api.errors import LengthRequired, TooLarge
from tracker.api.incidents import TransitionDoneSerializer, TransitionSerializer, take
from tracker.api.serializers import (
    EvidenceDetailSerializer,
    EvidenceSerializer,
    Strict,
    VisibleIncident,
)
from tracker.models import ReviewStatus, SourceType
from tracker.models.tokens import Scope

ADD_EVIDENCE = "evidence.add_evidenceitem"
STREAMED = "application/octet-stream"
FORM_DETAILS = "Send the details as the form's fields (query parameters are for stream/)."
VIEW_CUSTODY = "evidence.view_custodyevent"


def without_oracle(record: dict) -> dict:
    """A custody record without the hashes that cover a withheld detail: from the first
    event whose details were withheld on, each event's hash (and each later event's link
    to the one before), since every hash covers the one before it: from any of them, a
    guess of the withheld value (a witness's name in a file name, a restricted incident's
    code) could be checked offline (``access.first_withheld``)."""
    withheld = False
    for event in record["events"]:
        if withheld:
            event.pop("previous_hash")
        withheld = withheld or event["details_withheld"]
        if withheld:
            event.pop("event_hash")
    return record


class EvidenceFilter(filters.FilterSet):
    kind = filters.MultipleChoiceFilter(choices=EvidenceItem.Kind.choices)
    status = filters.MultipleChoiceFilter(choices=ReviewStatus.choices)
    incident = filters.CharFilter(method="filter_incident", help_text="An incident's code.")
    sha256 = filters.CharFilter(max_length=64)

    class Meta:
        model = EvidenceItem
        fields: list[str] = []

    def filter_incident(self, queryset, name, value):
        condition = links.linked_to_incident(self.request.user, value)
        if condition is None:
            raise exceptions.ValidationError({"incident": ["An incident's code, as INC-0042."]})
        return queryset.filter(condition)


class Flag(serializers.BooleanField):
    """true or false, as the description says (not DRF's "1", "on", "yes" as well)."""

    TRUE_VALUES = {"true", True}
    FALSE_VALUES = {"false", False}
    default_error_messages = {"invalid": "Send true or false."}


def from_form(name: str) -> serializers.CharField:
    """A detail of the item as the admin's upload form defines it (``ItemDetailsForm``):
    the same length and help, optional."""
    field = ItemDetailsForm.base_fields[name]
    return serializers.CharField(
        max_length=getattr(field, "max_length", None),
        required=False,
        allow_blank=True,
        default="",
        help_text=str(field.help_text),
    )


class DetailsSerializer(Strict):
    """What the intake records with a file (as the admin's upload form)."""

    kind = serializers.ChoiceField(
        choices=EvidenceItem.Kind.choices,
        required=False,
        help_text="Leave out to decide from the content (an image is a photo).",
    )
    incident = VisibleIncident(
        help_text="Link the item to this incident (its code); empty or left out: no link."
    )
    relevance = from_form("relevance")
    title = from_form("title")
    description = from_form("description")
    source_type = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="The kind of source, by name."
    )
    source_name = from_form("source_name")
    received_from = from_form("received_from")
    is_graphic = Flag(required=False, default=False)
    identifies_people = Flag(required=False, default=False)
    is_protected = Flag(required=False, default=False)

    def validate_source_type(self, name: str) -> SourceType | None:
        if not name:
            return None
        found = SourceType.objects.filter(active=True, name=name).first()
        if found is None:
            raise serializers.ValidationError(f"No source type named {name!r}.")
        return found


class UploadSerializer(DetailsSerializer):
    """One file and its details, as a form (``multipart/form-data``)."""

    file = serializers.FileField(allow_empty_file=True)  # intake says why an empty file is refused


class StreamedSerializer(DetailsSerializer):
    """A streamed upload's details, as query parameters (the body is the file)."""

    filename = serializers.CharField(max_length=255, help_text="The file's name as received.")


class Body:
    """A streamed upload's body, read as it arrives (never held whole, never written to
    a temporary file first: intake stages it once). A body that ends before its
    ``Content-Length`` is refused, never stored short."""

    def __init__(self, request, length: int) -> None:
        self.request, self.left = request, length

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        wanted = self.left if size < 0 else min(size, self.left)
        try:
            chunk = self.request.read(wanted)
        except OSError:  # the client went away (Django's UnreadablePostError)
            chunk = b""
        if not chunk:
            raise intake.IntakeError(
                f"The body ended {self.left:,} bytes before its Content-Length; nothing was stored."
            )
        self.left -= len(chunk)
        return chunk


def streamed(request) -> tuple[Body, dict]:
    """A streamed upload (``application/octet-stream``): its body and its details from the
    query, both checked before a byte of the body is read."""
    once(request.query_params)
    sent = StreamedSerializer(data=request.query_params, context={"request": request})
    sent.is_valid(raise_exception=True)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        raise LengthRequired() from None
    if length < 0:
        raise LengthRequired()
    if length > settings.TRACKER_MAX_UPLOAD_BYTES:
        raise TooLarge(
            f"The file is larger than the limit of {settings.TRACKER_MAX_UPLOAD_BYTES:,} bytes."
        )
    return Body(request._request, length), dict(sent.validated_data)


class UploadedSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The item that holds the file.")
    duplicate = serializers.BooleanField(help_text="The bytes were held already: linked.")
    item = EvidenceDetailSerializer(required=False, help_text="With the read scope only.")


UPLOADED = {
    201: UploadedSerializer,
    200: OpenApiResponse(UploadedSerializer, description="Held already: linked."),
    202: OpenApiResponse(description="Received and set aside for an editor."),
}


class EvidenceViews(mixins.ListModelMixin, ApiViews):
    """Items the caller may know of (``evidence.visibility``): an item behind restricted
    incidents only is 404 to whoever may not see them."""

    lookup_field = "code"
    filterset_class = EvidenceFilter

    def get_serializer_class(self):
        return EvidenceSerializer if self.action == "list" else EvidenceDetailSerializer

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if reason := access.account_refusal(request.user):  # the admin's own door
            raise exceptions.PermissionDenied(f"Evidence is closed to this account: {reason}.")

    def get_queryset(self):
        user = self.request.user
        items = visible_to(user, EvidenceItem.objects.select_related("source_type"))
        if self.action != "list":
            shown_links = visible_to(user, EvidenceLink.objects.select_related("incident"))
            others = access.openable_items(
                user, visible_to(user, EvidenceItem.objects.only("code"))
            )
            items = items.select_related("photo", "testimony__witness").prefetch_related(
                Prefetch("links", queryset=shown_links.order_by("incident__code")),
                Prefetch("near_duplicates", queryset=others.order_by("code")),
                "derivatives",
            )
        return items.order_by("-pk")

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def custody(self, request, code=None):
        """The item's chain of custody as the court bundle records it (file names of a
        protected item withheld unless the caller may see protected identity)."""
        if not request.user.has_perm(VIEW_CUSTODY):
            raise exceptions.PermissionDenied("This account may not view the custody log.")
        item = self.get_object()
        shown = request.user.has_perm(access.VIEW_PROTECTED)
        hidden = hidden_incident_codes(request.user)
        record = bag_records.custody_record(item, include_protected=shown, hidden_incidents=hidden)
        return self.tagged(without_oracle(record))

    @extend_schema(
        responses={
            200: OpenApiTypes.OBJECT,
            403: OpenApiResponse(description="The log holds details withheld from the caller."),
            404: OpenApiResponse(description="No such item, or not anchored yet."),
        }
    )
    @action(detail=True, methods=["get"], url_path="anchor")
    def anchor(self, request, code=None):
        """The item's newest anchored custody head and its Merkle inclusion proof, with the
        anchor's root and its RFC 3161 timestamps (as the court bundle carries it); refused
        if the log holds details the caller may not see (the head's hash covers them)."""
        if not request.user.has_perm(VIEW_CUSTODY):
            raise exceptions.PermissionDenied("This account may not view the custody log.")
        item = self.get_object()
        try:
            found = anchoring.proof_for(request.user, item)
        except anchoring.ProofWithheld as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        if found is None:
            raise exceptions.NotFound("This item's custody has not been anchored yet.")
        return self.tagged(found)

    @extend_schema(request=TransitionSerializer, responses={201: TransitionDoneSerializer})
    @action(detail=True, methods=["post"], required_scope=Scope.REVIEW)
    def transitions(self, request, code=None):
        return take(self.get_object(), request)

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses=UPLOADED,
    )
    def create(self, request, *args, **kwargs):
        """Upload one file as a form (``multipart/form-data``), its details as the form's
        fields. Large files: ``stream/``."""
        self.may_add(request)
        if request.query_params:  # details there would be ignored: is_protected lost
            raise exceptions.ValidationError({"non_field_errors": [FORM_DETAILS]})
        sent = UploadSerializer(data=request.data, context={"request": request})
        sent.is_valid(raise_exception=True)
        data = dict(sent.validated_data)
        upload = data.pop("file")
        return self.ingested(request, upload, upload.name, data)

    @extend_schema(
        request={STREAMED: OpenApiTypes.BINARY},
        parameters=[StreamedSerializer],
        responses=UPLOADED,
    )
    @action(detail=False, methods=["post"], filter_backends=[], url_path="stream")
    def stream(self, request):
        """Upload one file streamed: the body is the file (``application/octet-stream``,
        with its ``Content-Length``), its details are query parameters. Read once as it
        arrives, whatever its size; the answers are the form upload's."""
        self.may_add(request)
        if request.content_type.split(";")[0].strip().lower() != STREAMED:
            raise exceptions.UnsupportedMediaType(
                request.content_type, f"Send the file's bytes as {STREAMED}."
            )
        upload, data = streamed(request)
        return self.ingested(request, upload, data.pop("filename"), data)

    @staticmethod
    def may_add(request) -> None:
        if not request.user.has_perm(ADD_EVIDENCE):
            raise exceptions.PermissionDenied("This account may not add evidence.")

    def ingested(self, request, upload, filename: str, data: dict) -> Response:
        """``upload`` through ``intake.ingest``, answered as the admin's upload says it."""
        try:
            result = intake.ingest(
                upload,
                filename=filename,
                kind=data.pop("kind", None),
                by=request.user,
                incident=data.pop("incident", None),
                **data,
            )
        except intake.IntakeError as exc:
            raise exceptions.ValidationError({"file": [str(exc)]}) from None
        if result.withheld:
            return Response({"detail": f"{filename}: {intake.SET_ASIDE}"}, status=202)
        body: dict = {"code": result.item.code, "duplicate": result.duplicate}
        if Scope.READ in scopes(request):  # a write-only token learns nothing more of it
            item = self.get_queryset().get(pk=result.item.pk)
            self.action = "retrieve"
            body["item"] = self.get_serializer(item).data
        return Response(body, status=200 if result.duplicate else 201)
