"""The incident filters: one FilterSet behind the browser, the map, the timeline, the
exports and the case report, so a filtered view is one link and every output of that
link holds exactly the same incidents.

Query parameters are the filter names below. A value that does not parse is reported
by name (``filter_errors``) and that filter is not applied; pages say so above the
results, exports refuse to run (an export must never silently hold more than asked).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

import django_filters as filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.forms.models import ModelChoiceIteratorValue
from django.utils import timezone
from django_filters import fields as filter_fields

from evidence.corroboration import decisions
from evidence.models import EvidenceItem, EvidenceLink
from tracker import findings, vocabulary
from tracker.models import (
    AttackType,
    Attribution,
    Force,
    Incident,
    Official,
    Place,
    ReviewStatus,
    TargetType,
    Unit,
    Weapon,
)
from tracker.responsibility import periods
from tracker.responsibility.names import official_name_q, place_name_q, unit_name_q

SEARCH_MAX = 200

# name -> (label, ordering). Every ordering ends with a unique column, so pages never
# overlap or skip rows; "killed" puts unknown counts last.
SORTS = {
    "-date": ("newest first", ("-occurred_start", "-id")),
    "date": ("oldest first", ("occurred_start", "id")),
    "-killed": ("most killed first", ("-killed_max", "-id")),
    "killed": ("fewest killed first", ("killed_max", "id")),
    "code": ("code", ("code",)),
    "-code": ("code, descending", ("-code",)),
}
DEFAULT_SORT = "-date"
DATE = forms.DateInput(attrs={"type": "date"})
TICKS = forms.CheckboxSelectMultiple


def local_midnight(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def attributed(**match) -> Exists:
    """Incidents with an attribution matching ``match`` that is presented with them
    (``tracker.findings.standing``: on a verified or published incident, a checked one)."""
    return Exists(Attribution.objects.filter(findings.standing(), incident=OuterRef("pk"), **match))


def named(manager, value: str, name_q: Callable[[str], Q | None]) -> QuerySet:
    """Records given by number (``?official=17``, as links carry them) or by any of their
    names (``?official=Hasan``, as a researcher types them). A name with nothing to
    match (punctuation only) matches nothing."""
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²" is a digit too; too long matches nothing
        return manager.filter(pk=int(value)).values("pk") if len(value) < 16 else manager.none()
    condition = name_q(value)
    return manager.filter(condition).values("pk") if condition is not None else manager.none()


def force_name_q(term: str) -> Q | None:
    term = term.strip()
    if not term:
        return None
    return Q(name__icontains=term) | Q(short_name__iexact=term)


class CountFilter(filters.NumberFilter):
    """A number of people: a whole number ("2.5 killed" is a typing error, said so)."""

    field_class = forms.IntegerField


class HeldTerms(filter_fields.ModelChoiceIterator):
    """A vocabulary's choices from ``tracker.vocabulary`` (the cache), not a query per
    page. What a submitted value means is still read from the database (the field's
    queryset): a term deleted a moment ago is refused, not filtered by."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for term in vocabulary.terms(self.queryset.model).values():
            yield (ModelChoiceIteratorValue(term.pk, term), term.name)

    def __len__(self) -> int:
        held = len(vocabulary.terms(self.queryset.model))
        return held + (1 if self.field.empty_label is not None else 0)

    def __bool__(self) -> bool:
        return len(self) > 0


class TermField(filter_fields.ModelChoiceField):
    iterator = HeldTerms


class TermsField(filter_fields.ModelMultipleChoiceField):
    iterator = HeldTerms

    def _check_values(self, value):
        # A key past a database integer is no term: refused before the query (SQLite
        # cannot bind it, and would answer 500).
        for key in value:
            text = str(key)
            if not (text.isascii() and text.isdigit() and len(text) < 16):
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": text[:20]},
                )
        return super()._check_values(value)


class TermFilter(filters.ModelChoiceFilter):
    field_class = TermField


class TermsFilter(filters.ModelMultipleChoiceFilter):
    field_class = TermsField


class TickBox(forms.CheckboxInput):
    """A tick box whose value is sent as written ("true" when ticked), for a choice filter:
    any other value is refused as a choice is, by the API with a 400."""

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs, check_test=lambda value: value == "true")

    def format_value(self, value) -> str:
        return "true"

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class IncidentFilter(filters.FilterSet):
    q = filters.CharFilter(
        label="Text",
        method="filter_text",
        max_length=SEARCH_MAX,
        help_text="Words in the code, title or narrative.",
    )
    occurred_after = filters.DateFilter(
        label="From",
        method="filter_after",
        widget=DATE,
        help_text="First day, YYYY-MM-DD.",
        validators=[periods.check_year],
    )
    occurred_before = filters.DateFilter(
        label="To",
        method="filter_before",
        widget=DATE,
        help_text="Last day, YYYY-MM-DD.",
        validators=[periods.check_year],
    )
    governorate = filters.CharFilter(field_name="place__governorate", label="Governorate")
    district = filters.CharFilter(field_name="place__district", label="District")
    place = filters.CharFilter(
        method="filter_place", label="Place", max_length=SEARCH_MAX, help_text="Name or number."
    )
    # Labels given: django-filter's own label for a field is slow to work out.
    attack_type = TermFilter(queryset=AttackType.objects.all(), label="Attack type")
    weapon = TermFilter(queryset=Weapon.objects.all(), label="Weapon")
    target_type = TermsFilter(
        queryset=TargetType.objects.all(),
        label="Target type",
        widget=TICKS,
        method="filter_target_type",
    )
    civilian_harm = filters.MultipleChoiceFilter(
        choices=Incident.HarmGrade.choices,
        distinct=False,
        label="Civilian-harm grade",
        widget=TICKS,
    )
    grade_differs = filters.ChoiceFilter(
        choices=[("true", "Grade differs from proposal")],
        method="filter_grade_differs",
        label="Grade differs from proposal",
        widget=TickBox,
        help_text="Not graded yet, or graded otherwise than the evidence proposes.",
    )
    status = filters.MultipleChoiceFilter(
        choices=ReviewStatus.choices, distinct=False, label="Review status", widget=TICKS
    )
    force = filters.CharFilter(
        method="filter_force", label="Attributed force", max_length=SEARCH_MAX
    )
    unit = filters.CharFilter(
        method="filter_unit",
        label="Attributed unit",
        max_length=SEARCH_MAX,
        help_text="Any of its names, any script.",
    )
    official = filters.CharFilter(
        method="filter_official",
        label="Attributed official",
        max_length=SEARCH_MAX,
        help_text="Any of their names, any script.",
    )
    has_evidence = filters.MultipleChoiceFilter(
        choices=EvidenceItem.Kind.choices,
        distinct=False,
        widget=TICKS,
        method="filter_has_evidence",
        label="Has evidence of kind",
    )
    killed_at_least = CountFilter(
        field_name="killed_min", lookup_expr="gte", min_value=0, label="Killed, at least"
    )
    killed_at_most = CountFilter(
        field_name="killed_max", lookup_expr="lte", min_value=0, label="Killed, at most"
    )
    injured_at_least = CountFilter(
        field_name="injured_min", lookup_expr="gte", min_value=0, label="Injured, at least"
    )
    sort = filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _) in SORTS.items()],
        method="filter_sort",
        empty_label=None,
        label="Sort",
    )

    class Meta:
        model = Incident
        fields: list[str] = []

    def get_form_class(self):
        """The form class, built once: its fields are the filters' (no choice depends on
        the request), and each form copies them, as Django's forms do."""
        made = type(self).__dict__.get("_form_class")
        if made is None:
            made = super().get_form_class()
            type(self)._form_class = made
        return made

    def __init__(self, data=None, queryset=None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        for field in self.form.fields.values():
            if isinstance(field, forms.DecimalField | forms.IntegerField):
                field.widget.attrs.setdefault("inputmode", "numeric")

    # Methods ------------------------------------------------------------------------

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        from tracker.workspace.search import search_incidents

        return search_incidents(queryset, value)

    def filter_grade_differs(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return decisions.differs(queryset) if value else queryset

    def filter_after(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(occurred_start__gte=local_midnight(value))

    def filter_before(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(occurred_start__lt=local_midnight(value + timedelta(days=1)))

    def filter_target_type(self, queryset: QuerySet, name: str, value: list[int]) -> QuerySet:
        if not value:
            return queryset
        through = Incident.target_types.through
        return queryset.filter(
            Exists(through.objects.filter(incident=OuterRef("pk"), targettype__in=value))
        )

    def filter_place(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        places = named(Place.objects, value, place_name_q)
        return queryset.filter(place__in=places)

    def filter_force(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        forces = named(Force.objects, value, force_name_q)
        return queryset.filter(attributed(force__in=forces) | attributed(unit__force__in=forces))

    def filter_unit(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(attributed(unit__in=named(Unit.objects, value, unit_name_q)))

    def filter_official(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        officials = named(Official.objects, value, official_name_q)
        return queryset.filter(attributed(official__in=officials))

    def filter_has_evidence(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(
            Exists(EvidenceLink.objects.filter(incident=OuterRef("pk"), item__kind__in=value))
        )

    def filter_sort(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # applied last, by ``ordered``

    # Results ------------------------------------------------------------------------

    @property
    def sort_key(self) -> str:
        if self.is_bound and self.form.is_valid():
            return self.form.cleaned_data.get("sort") or DEFAULT_SORT
        value = (self.data or {}).get("sort")
        return value if value in SORTS else DEFAULT_SORT

    def ordered(self) -> QuerySet[Incident]:
        """The filtered incidents in the chosen order (the filters that parsed)."""
        return self.qs.order_by(*SORTS[self.sort_key][1])

    def filter_errors(self) -> list[str]:
        """One readable line per value that did not parse, naming the parameter."""
        if not self.is_bound:
            return []
        lines = []
        for name, errors in self.form.errors.items():
            label = self.form.fields[name].label if name in self.form.fields else name
            for error in errors:
                lines.append(f"{label} ({name}={self.data.get(name, '')!s:.40}): {error}")
        return lines

    def active(self) -> dict[str, object]:
        """The filters in force, by label, for headings and report covers."""
        if not self.is_bound:
            return {}
        applied = {}
        for name, value in self.form.cleaned_data.items():
            if name == "sort" or value in (None, "", []) or not _non_empty(value):
                continue
            if name in TICKS_SHOWN:
                value = TICKS_SHOWN[name]
            number = value.strip() if name in BY_NUMBER else ""  # a link's ?official=17
            if number.isascii() and number.isdigit():
                value = _names_of(BY_NUMBER[name], value)
            applied[self.form.fields[name].label or name] = _describe(value)
        return applied


# Tick boxes in force, as a heading says them ("Grade differs from proposal: yes").
TICKS_SHOWN = {"grade_differs": "yes"}
# Filters that take a record's number or its name: a number is shown as the name.
BY_NUMBER = {"place": Place, "force": Force, "unit": Unit, "official": Official}


def _names_of(model, number: str) -> str:
    record = model.objects.filter(pk=int(number)).first() if len(number) < 16 else None
    return str(record) if record is not None else f"no {model._meta.verbose_name} {number}"


def _non_empty(value) -> bool:
    try:
        return len(value) > 0
    except TypeError:
        return True


def _describe(value) -> str:
    if isinstance(value, list | tuple) or hasattr(value, "model"):
        return ", ".join(str(v) for v in value)
    return str(value)
