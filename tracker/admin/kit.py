"""Small admin building blocks shared by the case and evidence admins.

Every admin and inline of the project derives from ``ModelAdmin``, ``TabularInline``
or ``StackedInline`` here (a test checks it), so every one of them applies the
visibility policy (``evidence.visibility.visible_to``) to its rows, its counts'
subqueries and every choice field it offers, and accepts only the lookups its own
filters need (``PolicyMixin.lookup_allowed``). Boxes that Django's markup leaves without
a label (a date and time pair, a tabular inline's cells) are named here (``name_boxes``).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers, widgets
from django.contrib.admin.utils import NestedObjects, get_fields_from_path, unquote
from django.contrib.admin.views import main
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db import models, router
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.constants import LOOKUP_SEP
from django.db.models.functions import Coalesce
from django.forms.utils import pretty_name
from django.http import Http404, HttpResponseNotAllowed
from django.utils.html import format_html
from django.utils.text import smart_split
from django.utils.translation import gettext
from simple_history.admin import SimpleHistoryAdmin

from tracker.models import DatePrecision, ReviewStatus
from tracker.responsibility import periods

VIEW_PROTECTED = "evidence.view_protected_identity"
# Fields that hold protected identity, by "app_label.model": never filtered, searched or
# looked up by anyone without VIEW_PROTECTED, whatever an admin declares.
PROTECTED_FIELDS = {
    "evidence.witness": frozenset({"real_name", "contact"}),
    "evidence.evidenceitem": frozenset({"original_filename"}),
    "evidence.custodyevent": frozenset({"details"}),
}
HIDDEN_RECORDS = "records you may not see"
MAX_SEARCH_WORDS = 12
# What Django's field filters put in the query string after the field's path.
FILTER_SUFFIXES = ("exact", "isnull", "gte", "lt")


def touches_protected(model, lookup: str) -> bool:
    """Does ``lookup`` (``witness__real_name__icontains``) read a protected field?"""
    for part in lookup.lstrip("=^@").split(LOOKUP_SEP):
        if part in PROTECTED_FIELDS.get(model._meta.label_lower, ()):
            return True
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
    return False


class ChangeList(main.ChangeList):
    """Django's list, with each row's link made from one reversed URL (a ``reverse`` a row
    is a tenth of a list page's time) where the key is a number, which needs no quoting."""

    PLACEHOLDER = "4815162342"  # a key no row has: reversed once, replaced by each row's

    def url_for_result(self, result):
        if not isinstance(getattr(result, self.pk_attname), int):
            return super().url_for_result(result)  # a text key: Django's own encoding
        if not hasattr(self, "_change_url"):
            self._change_url = super().url_for_result(
                type("Row", (), {self.pk_attname: self.PLACEHOLDER})()
            )
        key = getattr(result, self.pk_attname)
        return self._change_url.replace(f"/{self.PLACEHOLDER}/", f"/{key}/", 1)


class PolicyMixin:
    """Rows, choices and lookups of one admin or inline under the project's rules.

    - ``get_queryset``: only what the user may know exists (``visible_to``);
    - foreign-key and many-to-many choices, autocompletes included (their posted
      values are checked against the same queryset): only visible records;
    - lookups in the query string: only those the admin's ``list_filter`` and
      ``date_hierarchy`` produce, plus ``extra_lookups`` (links the project itself
      builds); anything else, and any lookup on a protected field for a user without
      the permission, is refused with a 400 (Django's DisallowedModelAdminLookup);
    - search fields that reach a protected field are dropped for such a user."""

    extra_lookups: tuple[str, ...] = ()

    def action_checkbox(self, obj) -> str:
        """Each row's box for the list's actions, as Django's own (``action-select``, its
        name and the row's key, the same label) written at once: Django renders it through
        three widget templates a row, a tenth of a list page's time."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            gettext("Select this object for an action - {}").format(obj),
        )

    def get_changelist(self, request, **kwargs):
        return ChangeList

    def get_queryset(self, request):
        from evidence.visibility import visible_to

        return visible_to(request.user, super().get_queryset(request))

    def _visible_choices(self, formfield, request):
        from evidence.visibility import visible_to

        if formfield is not None and getattr(formfield, "queryset", None) is not None:
            formfield.queryset = visible_to(request.user, formfield.queryset)
        return formfield

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in getattr(self.form, "precision_of", {}):
            kwargs.setdefault("form_class", DateOrTimeField)
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.DateField) and formfield is not None:
            formfield.validators.append(periods.check_year)  # DateTimeField included
            if isinstance(formfield.widget, forms.SplitDateTimeWidget):
                name_boxes(formfield, str(formfield.label or pretty_name(db_field.name)))
        return formfield

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return self._visible_choices(formfield, request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        return self._visible_choices(formfield, request)

    def allowed_lookups(self, request) -> set[str]:
        """The query-string parameters this admin's filters read."""
        allowed = set(self.extra_lookups)
        for item in self.get_list_filter(request):
            if isinstance(item, type):  # a filter class names its own parameter
                name = getattr(item, "parameter_name", None)
                if name:
                    allowed.add(name)
                continue
            path = item[0] if isinstance(item, (list, tuple)) else item
            allowed.update(f"{path}__{suffix}" for suffix in FILTER_SUFFIXES)
            field = get_fields_from_path(self.model, path)[-1]
            if field.is_relation and getattr(field, "target_field", None) is not None:
                allowed.add(f"{path}__{field.target_field.name}__exact")
        if self.date_hierarchy:
            allowed.update(
                f"{self.date_hierarchy}__{part}" for part in ("year", "month", "day", "gte", "lt")
            )
        return allowed

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        if request is None:
            return False
        if touches_protected(self.model, lookup) and not request.user.has_perm(VIEW_PROTECTED):
            return False
        if lookup in self.allowed_lookups(request):
            return True
        # Popups of raw-id widgets pass a foreign key's limit_choices_to (Django's rule).
        for fk_lookup in self.model._meta.related_fkey_lookups:
            fk_lookup = fk_lookup() if callable(fk_lookup) else fk_lookup
            if (lookup, value) in widgets.url_params_from_lookup_dict(fk_lookup).items():
                return True
        return False

    def get_deleted_objects(self, objs, request):
        """Django's summary of what a deletion would remove names every related record.
        If it would remove one the user may not see, it names none of them and the
        deletion is refused ("records you may not see" counts as a missing permission)."""
        from evidence.visibility import visible_to

        collector = NestedObjects(using=router.db_for_write(self.model))
        collector.collect(objs)
        found: dict = {}
        for row in [*(r for rows in collector.data.values() for r in rows), *collector.protected]:
            found.setdefault(type(row), []).append(row)
        for model, rows in found.items():
            pks = [row.pk for row in rows]
            seen = visible_to(request.user, model._default_manager.filter(pk__in=pks)).count()
            if seen < len(pks):
                return [str(obj) for obj in objs], {}, {HIDDEN_RECORDS}, []
        return super().get_deleted_objects(objs, request)

    def get_search_results(self, request, queryset, search_term):
        # Each word is a condition over every search field: a thousand words would hold a
        # worker for seconds (PostgreSQL) or overflow SQLite's expression depth.
        words = list(smart_split(search_term))
        if len(words) > MAX_SEARCH_WORDS:
            search_term = " ".join(words[:MAX_SEARCH_WORDS])
        return super().get_search_results(request, queryset, search_term)

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        if request.user.has_perm(VIEW_PROTECTED):
            return fields
        return tuple(f for f in fields if not touches_protected(self.model, f))


# --- Boxes named where the admin's markup labels none ------------------------------------


def name_boxes(field: forms.Field, name: str) -> None:
    """Name the boxes of ``field`` for assistive technology (``aria-label``) where the
    admin gives them no ``<label>``: Django labels a date and time pair as a whole,
    pointing at neither box ("Occurred start: date", "Occurred start: time"), and a
    cell of a tabular inline has only its column's heading ("Relevance"). A name the
    box already has is kept."""
    widget = getattr(field.widget, "widget", field.widget)  # a related-field wrapper
    if isinstance(widget, forms.SplitDateTimeWidget):
        for box, part in zip(widget.widgets, ("date", "time"), strict=True):
            box.attrs.setdefault("aria-label", f"{name}: {part}")
    else:
        widget.attrs.setdefault("aria-label", name)


class NamedCellsFormSet(forms.BaseFormSet):
    """A tabular inline's formset whose boxes are named by their columns (``name_boxes``),
    the delete box included."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        for field_name, field in form.fields.items():
            if not field.widget.is_hidden:
                name_boxes(field, str(field.label or pretty_name(field_name)))


# --- Dates typed into forms --------------------------------------------------------------

TIMED = (DatePrecision.MINUTE, DatePrecision.HOUR)
TIME_NEEDED = (
    "Give the time as well: the precision is {precision}. For a date alone, choose the "
    "precision of a day, a month or a year."
)
DATE_NEEDED = "Give the date (the time may be left out when it is not known)."


class DateOrTimeField(forms.SplitDateTimeField):
    """The admin's date and time boxes, where the time may be left out: a date alone is
    the first moment of that day in the case's zone (``periods.to_aware``, which also
    reads a midnight the clocks skipped). Whether it may be left out is the form's
    rule (``DatedForm.precision_of``)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(require_all_fields=False, **kwargs)
        self.fields[0].error_messages["incomplete"] = DATE_NEEDED
        self.fields[1].required = False

    def compress(self, data_list):
        if data_list and data_list[0] is not None and data_list[1] is None:
            return periods.to_aware(periods.midnight(data_list[0]))
        return super().compress(data_list)


class DatedForm(forms.ModelForm):
    """A model form whose dates follow the case's rules, each error next to its field:

    - ``precision_of`` maps a date-time field to the field of its precision: a date
      alone is its local midnight when the precision is a day, a month or a year; a
      precision of an hour or a minute needs the time;
    - ``typed_past`` fields may not be in the future when typed
      (``periods.check_not_future``); a value left as it was, such as a capture time
      read from a file's metadata, is evidence even when a clock was wrong."""

    precision_of: dict[str, str] = {}
    typed_past: tuple[str, ...] = ()

    def clean(self):
        data = super().clean()
        for name, precision_field in self.precision_of.items():
            precision = data.get(precision_field)
            if data.get(name) is not None and precision in TIMED and not self._time_given(name):
                label = DatePrecision(precision).label
                self.add_error(name, TIME_NEEDED.format(precision=label))
        for name in self.typed_past:
            if data.get(name) is not None and name in self.changed_data:
                try:
                    periods.check_not_future(data[name])
                except ValidationError as exc:
                    self.add_error(name, exc)
        return data

    def _time_given(self, name: str) -> bool:
        typed = self[name].data
        if not isinstance(typed, list | tuple):
            return True  # one box (not the admin's pair): a date-time parsed whole
        return len(typed) > 1 and bool(str(typed[1] or "").strip())


def admin_form(form: forms.Form) -> helpers.AdminForm:
    """A form of a page of our own (an upload) laid out as the admin lays out its own:
    the form's ``fieldsets``, aligned rows, help texts, errors next to their fields
    (``templates/admin/evidence/upload_form.html``)."""
    fieldsets = getattr(form, "fieldsets", None) or [(None, {"fields": list(form.fields)})]
    return helpers.AdminForm(form, list(fieldsets), {})


class ModelAdmin(PolicyMixin, admin.ModelAdmin):
    """The base of every admin of the project."""


class TabularInline(PolicyMixin, admin.TabularInline):
    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (NamedCellsFormSet, formset), {})


class StackedInline(PolicyMixin, admin.StackedInline):
    pass


def status_badge(status: str) -> str:
    label = ReviewStatus(status).label if status in ReviewStatus.values else status
    return format_html('<span class="status-badge status-{}">{}</span>', status, label)


def count_of(queryset, field: str):
    """A correlated subquery counting ``queryset`` rows whose ``field`` is the outer row.

    Counting this way costs one lookup per row of the page, whereas
    ``annotate(Count(...))`` groups the whole table before paging."""
    counted = (
        queryset.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def view_on_site(request, content_type_id: int, object_id: str):
    """Django's "view on site" redirect (``/admin/r/<type>/<id>/``), for records the user
    may see only: for any other id it answers 404 as for one that does not exist, so it
    cannot be used to find which ids of restricted records exist."""
    from django.contrib.contenttypes.models import ContentType
    from django.contrib.contenttypes.views import shortcut
    from django.core.exceptions import ValidationError

    from evidence.visibility import visible_to

    content_type = ContentType.objects.filter(pk=content_type_id).first()
    model = content_type.model_class() if content_type else None
    try:
        seen = model is not None and (
            visible_to(request.user, model._default_manager.filter(pk=object_id)).exists()
        )
    except (ValueError, ValidationError):
        seen = False
    if not seen:
        raise Http404("No such record.")
    return shortcut(request, content_type_id, object_id)


class ReadOnlyAdmin(ModelAdmin):
    """For records written only by a service (review log, custody log, imported rows):
    viewable, never added, changed or deleted through the admin."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class DeferredJoinPaginator(Paginator):
    """Pages of a big table without dragging the skipped rows through the joins.

    A deep page first picks its 50 primary keys (an index scan over the ordering),
    then loads those rows with their joins and annotations. With a plain OFFSET,
    PostgreSQL joins and annotates every skipped row before discarding it."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        keys = list(self.object_list.values_list("pk", flat=True)[bottom : bottom + self.per_page])
        rows = list(self.object_list.filter(pk__in=keys))  # same order, joins, annotations
        return self._get_page(rows, number, self)


class AuditedAdmin(ModelAdmin):
    """Records who created and last changed a record; big-table defaults."""

    show_full_result_count = False
    list_per_page = 50
    paginator = DeferredJoinPaginator

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


class HistoryAdmin(PolicyMixin, SimpleHistoryAdmin):
    """simple_history's pages, read-only and limited to the records this admin shows.

    simple_history saves any valid POST to the page of a past version from whoever may
    view the record: a researcher could rewrite an official, an author revert a verified
    incident to a draft behind the workflow. Records change through the change form only.
    Its pages also look records up around ``get_queryset``, which would show restricted
    incidents to everyone."""

    def _visible(self, request, object_id: str) -> None:
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404("No such record.")

    def history_view(self, request, object_id, extra_context=None):
        self._visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        if not str(version_id).isascii() or not str(version_id).isdigit():
            raise Http404("No such version.")
        self._visible(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None) -> bool:
        return True


def primary_key(value) -> int | None:
    """A primary key sent by a form: None unless a number a key column can hold (a
    larger one would be a database error on PostgreSQL, not a "no such record")."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None


class HeldAutocomplete(AutocompleteSelect):
    """An autocomplete whose selected option is the related row its form's instance holds
    already (``held``, set by ``hold_related``), when the value is that row's: Django's
    own widget reads it again, one query per form of an inline. Only where the field's
    choices are the whole table: a choice narrowed (the visibility policy, a
    ``limit_choices_to``) is left to Django's query, which shows only a row it holds."""

    held = None

    def optgroups(self, name, value, attr=None):
        held = self.held
        chosen = {str(v) for v in value if str(v) not in self.choices.field.empty_values}
        if (
            held is None
            or chosen != {str(held.pk)}
            or self.field.remote_field.field_name != held._meta.pk.name
            or self.choices.queryset.query.has_filters()
        ):
            return super().optgroups(name, value, attr)
        options = [] if self.is_required else [self.create_option(name, "", "", False, 0)]
        label = self.choices.field.label_from_instance(held)
        options.append(self.create_option(name, held.pk, label, chosen, len(options)))
        return [(None, options, 0)]


def hold_related(form, names) -> None:
    """Give each ``HeldAutocomplete`` of ``form`` (fields ``names``) the row its instance
    holds (loaded with ``select_related``), so that it renders without a query."""
    for name in names:
        field = form.fields.get(name)
        widget = getattr(getattr(field, "widget", None), "widget", None)  # the admin's wrapper
        if isinstance(widget, HeldAutocomplete) and form.instance.pk is not None:
            widget.held = getattr(form.instance, name)
