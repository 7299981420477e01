"""Small admin building blocks shared by the case and evidence admins."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html

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


class AuditedAdmin(admin.ModelAdmin):
    """Records who created and last changed a record; big-table defaults."""

    show_full_result_count = False
    list_per_page = 50

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
