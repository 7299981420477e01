"""Responsibility in the admin: the attribution inline of an incident with one-click
commander suggestions, links to officials' dossiers, and the flag on overlapping
command postings.

A suggestion is an official of the chain of command (``tracker.responsibility.chain``) of
the unit an attribution names, on the incident's date. Its button posts to
``add_commander``, which calls ``responsibility.attribute_command``; the buttons
are plain ``type="button"`` elements sending a small form of their own, so pressing
Enter in the incident form never triggers one and the incident's fields are never
posted with it.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from evidence import visibility
from tracker import locks, workflow
from tracker.access import visible_incidents
from tracker.admin import kit
from tracker.admin.kit import status_badge
from tracker.admin.review import LockedWithParentInline
from tracker.models import Attribution, Incident, Official, Position, ReviewStatus, Unit
from tracker.responsibility.chain import (
    NO_EVIDENCE,
    ChainEntry,
    attribute_command,
    chain_of_command,
)
from tracker.responsibility.commanders import (
    attributed_commanders,
    positions_with_overlap,
    units_with_overlap,
)

ADD_ATTRIBUTION = "tracker.add_attribution"
OVERLAP_FLAG = "flagged: overlapping command postings"


def dossier_url(official: Official) -> str:
    return reverse("officials:dossier", args=[official.pk])


@admin.display(description="dossier")
def dossier_link(obj: Official) -> str:
    """A link to the official's dossier, for list columns and change pages."""
    if obj is None or obj.pk is None:
        return "–"
    return format_html('<a href="{}">Dossier</a>', dossier_url(obj))


# --- The attribution inline -------------------------------------------------------------------


ACTORS = ("force", "unit", "official")  # autocompletes of the inline, each a row it holds


class AttributionForm(forms.ModelForm):
    """A verified (or published) attribution keeps at least one supporting evidence item."""

    class Meta:
        model = Attribution
        fields = "__all__"  # noqa: DJ007 - the inline's fields choose what is shown

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        kit.hold_related(self, ACTORS)

    def clean(self):
        data = super().clean()
        reviewed = self.instance.status in (ReviewStatus.VERIFIED, ReviewStatus.PUBLISHED)
        if reviewed and "supporting_evidence" in data and not data["supporting_evidence"]:
            self.add_error("supporting_evidence", NO_EVIDENCE)
        incident = data.get("incident") or getattr(self.instance, "incident", None)
        if incident is not None and data.get("supporting_evidence"):
            items = [i.pk for i in data["supporting_evidence"]]
            try:  # no item standing only behind restricted incidents (evidence.visibility)
                if incident.pk is None:  # the inline of the incident's add page
                    visibility.check_new_support(incident, items)
                else:
                    visibility.check_support(incident.pk, items)
            except ValidationError as exc:
                self.add_error("supporting_evidence", exc)
        return data


class AttributionFormSet(BaseInlineFormSet):
    """Records who added and who last changed each attribution: its author submits it
    for review, and four eyes keeps them from verifying it (``tracker.workflow``)."""

    user = None

    def save_new(self, form, commit=True):
        form.instance.created_by = form.instance.updated_by = self.user
        return super().save_new(form, commit)

    def save_existing(self, form, obj, commit=True):
        obj.updated_by = self.user
        return super().save_existing(form, obj, commit)


class AttributionInline(LockedWithParentInline, kit.StackedInline):
    model = Attribution
    form = AttributionForm
    formset = AttributionFormSet
    extra = 0
    autocomplete_fields = ("force", "unit", "official", "supporting_evidence")
    fields = (
        ("force", "unit", "official"),
        ("role", "confidence"),
        ("relied_on", "status_badge"),
        "basis",
        "supporting_evidence",
        "commanders",
    )
    readonly_fields = ("status_badge", "commanders")

    class Media:
        # The buttons' behaviour: a static file, as the Content-Security-Policy requires.
        js = ("tracker/js/commander-suggestions.js",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in ACTORS:  # the actor its row holds: no query per form
            kwargs["widget"] = kit.HeldAutocomplete(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        # Each form reads its incident (locks, can_edit) and its supporting evidence (the
        # field's value): read with the rows, not once per form.
        return (
            super()
            .get_queryset(request)
            .select_related("force", "unit", "official", "incident")
            .prefetch_related("supporting_evidence")
        )

    def get_formset(self, request, obj=None, **kwargs):
        # The suggestions are buttons only for someone who may add attributions to this
        # incident now (add_commander checks the same); for others, plain text.
        self._may_attribute = (
            obj is not None
            and request.user.has_perm(ADD_ATTRIBUTION)
            and workflow.can_edit(obj, request.user)
        )
        formset = super().get_formset(request, obj, **kwargs)
        formset.user = request.user  # a class made for this request by the factory
        return formset

    @admin.display(description="status")
    def status_badge(self, obj: Attribution) -> str:
        return status_badge(obj.status) if obj.pk else "–"

    @admin.display(description="chain of command on the date")
    def commanders(self, obj: Attribution) -> str:
        """The officials commanding this attribution's unit (or a unit above it) on the
        incident's date, each with a button attributing the incident to them as commander."""
        if obj.pk is None:
            return "Choose a unit and save to see who commanded it on the incident's date."
        if obj.unit_id is None:
            return "–"
        entries, attributed = self._chain(obj.incident)
        mine = [e for e in entries if e.attributed_unit.pk == obj.unit_id]
        if not mine:
            return "No command posting over this unit or the units above it on this date."
        context = {
            "entries": mine,
            "attributed": attributed,
            "may_attribute": getattr(self, "_may_attribute", False),
            "action": reverse("incident_add_commander", args=[obj.incident_id]),
        }
        return render_to_string("admin/tracker/commander_suggestions.html", context)

    def _chain(self, incident: Incident) -> tuple[list[ChainEntry], set[int]]:
        """The incident's chain and the officials already attributed as commanders,
        computed once per page (an inline instance serves one request)."""
        cache = self.__dict__.setdefault("_chains", {})
        if incident.pk not in cache:
            cache[incident.pk] = (chain_of_command(incident), attributed_commanders(incident))
        return cache[incident.pk]


@require_POST
def add_commander(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    """Attribute incident ``pk`` to the posted official as commander (see
    ``responsibility.attribute_command``); back to the incident with a message."""
    if not request.user.has_perm(ADD_ATTRIBUTION):
        raise PermissionDenied
    # A restricted incident is not there for those who may not see it.
    incident = get_object_or_404(visible_incidents(request.user), pk=pk)
    back = HttpResponseRedirect(reverse("admin:tracker_incident_change", args=[incident.pk]))
    if incident.status in locks.LOCKED:  # for everyone: say why, rather than forbid
        messages.error(
            request, locks.locked_message(incident.code, incident.status, "attributions")
        )
        return back
    if not workflow.can_edit(incident, request.user):
        raise PermissionDenied
    try:
        unit = Unit.objects.get(pk=int(request.POST.get("unit", "")))
        official = Official.objects.get(pk=int(request.POST.get("official", "")))
    except (ValueError, Unit.DoesNotExist, Official.DoesNotExist):
        messages.error(request, "Choose a unit and an official from the suggestions.")
        return back
    try:
        attribution, created = attribute_command(
            incident, official=official, unit=unit, by=request.user
        )
    except ValidationError as exc:  # tracker.locks.Locked: the incident was locked meanwhile
        messages.error(request, " ".join(exc.messages))
        return back
    except ValueError as exc:
        messages.error(request, str(exc))
        return back
    if created:
        messages.success(request, f"Attributed {incident.code} to {official} as commander.")
    else:
        messages.info(request, f"{official} is already attributed as commander ({attribution}).")
    return back


# --- Overlapping command postings (tracker.responsibility.commanders) ------------------------


def _flag(flagged: bool) -> str:
    if not flagged:
        return ""
    return format_html('<strong class="overlap-flag">⚑ {}</strong>', OVERLAP_FLAG)


class PositionOverlapFlag:
    """For PositionAdmin: the ``overlap_flag`` column and filter on command postings
    whose dates may overlap another command posting of the same unit (allowed: two
    commanders at once happen; flagged so a researcher checks the sources)."""

    def get_queryset(self, request):
        return positions_with_overlap(super().get_queryset(request))

    @admin.display(description="overlap")
    def overlap_flag(self, obj: Position) -> str:
        return _flag(obj.is_command and getattr(obj, "overlaps_command", False))


class OverlapFilter(admin.SimpleListFilter):
    title = "overlapping command"
    parameter_name = "overlap"

    def lookups(self, request, model_admin):
        return [("yes", OVERLAP_FLAG)]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(is_command=True, overlaps_command=True)
        return queryset


class UnitOverlapFlag:
    """For UnitAdmin: the ``overlap_flag`` column on units with overlapping command postings."""

    def get_queryset(self, request):
        return units_with_overlap(super().get_queryset(request))

    @admin.display(description="overlap")
    def overlap_flag(self, obj: Unit) -> str:
        return _flag(getattr(obj, "overlaps_command", False))
