"""Displayed facts in templates, each by its one function: ``count_range`` and
``with_zone`` (``tracker.display``) and ``partial_date``
(``tracker.responsibility.periods``)."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils.html import format_html

from tracker import display
from tracker.models import DatePrecision
from tracker.responsibility.periods import format_partial

register = template.Library()


@register.filter
def count_range(low: int | None, high: int | None) -> str:
    """``{{ incident.killed_min|count_range:incident.killed_max }}``: ``3–5``, ``at least
    3``...; ``unknown`` is greyed, as a missing value is on every page."""
    text = display.count_range(low, high)
    return format_html('<span class="muted">{}</span>', text) if text == display.UNKNOWN else text


@register.filter
def partial_date(value: date | datetime | None, precision: str | None) -> str:
    """``{{ incident.occurred_start|partial_date:incident.start_precision }}``: ``2019``,
    ``2019-05``, ``2019-05-14``, ``2019-05-14 09:40`` in the case's time zone."""
    return format_partial(value, precision)


@register.filter
def with_zone(value: datetime | None, precision: str = DatePrecision.MINUTE) -> str:
    """``{{ obs.observed_at|with_zone }}``: ``2019-05-14 14:05 Damascus time (UTC+03:00)``;
    ``{{ incident.occurred_start|with_zone:incident.start_precision }}`` to its precision."""
    return display.time_with_zone(value, precision=precision or DatePrecision.MINUTE)
