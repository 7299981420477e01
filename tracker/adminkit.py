"""Small admin building blocks shared by the case and evidence admins."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseNotAllowed
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from tracker.models import ReviewStatus


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


class ReadOnlyAdmin(admin.ModelAdmin):
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


class AuditedAdmin(admin.ModelAdmin):
    """Records who created and last changed a record; big-table defaults."""

    show_full_result_count = False
    list_per_page = 50
    paginator = DeferredJoinPaginator

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


class HistoryAdmin(SimpleHistoryAdmin):
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
        self._visible(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None) -> bool:
        return True
