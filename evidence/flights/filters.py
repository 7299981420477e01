"""The filters of the flight observations' admin list: typed boxes rather than lists
of every value (a list would cost a DISTINCT over a million observations on each page
load), and a day, month or year read in local time (``timeline.local_period``)."""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList

from evidence.flights import timeline


class ObservedOnFilter(admin.ListFilter):
    """A day (2019-05-13), month (2019-05) or year (2019), in local time; the range
    is an indexed comparison on observed_at. (Django's date filter offers only
    today, the past 7 days, this month and this year: no help for past logs.)"""

    title = "date observed"
    parameter_name = "observed_on"
    template = "admin/evidence/flight_text_filter.html"
    placeholder = "2019-05-13 or 2019-05"

    def __init__(self, request, params, model, model_admin) -> None:
        super().__init__(request, params, model, model_admin)
        value = params.pop(self.parameter_name, [""])
        self.value = (value[-1] if isinstance(value, list) else value).strip()

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return [self.parameter_name]

    def period(self) -> tuple[datetime, datetime] | None:
        return timeline.local_period(self.value)

    def queryset(self, request, queryset):
        if not self.value:
            return queryset
        bounds = self.period()
        if bounds is None:
            messages.warning(
                request, f"Not a date: {self.value!r}. Write 2019-05-13, 2019-05 or 2019."
            )
            return queryset
        return queryset.filter(observed_at__gte=bounds[0], observed_at__lt=bounds[1])

    def choices(self, changelist: ChangeList):
        yield {
            "value": self.value,
            "hidden": [
                (key, value)
                for key, values in changelist.params.items()
                if key not in (self.parameter_name, "p")
                for value in (values if isinstance(values, list) else [values])
            ],
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
            "name": self.parameter_name,
            "placeholder": self.placeholder,
        }


class TypedValueFilter(ObservedOnFilter):
    """A box to type an exact value (a station code, a base): listing every value
    would cost a DISTINCT over a million observations on each page load."""

    field_name = ""

    def queryset(self, request, queryset):
        return (
            queryset.filter(**{f"{self.field_name}__iexact": self.value})
            if self.value
            else queryset
        )


class StationFilter(TypedValueFilter):
    title = "station"
    parameter_name = field_name = "station"
    placeholder = "KFN-1"


class OriginFilter(TypedValueFilter):
    title = "origin"
    parameter_name = field_name = "origin"
    placeholder = "Hmeimim"


class NationalityFilter(admin.SimpleListFilter):
    """Fixed values, so the filter costs no query over the whole table."""

    title = "nationality"
    parameter_name = "nationality"

    def lookups(self, request, model_admin):
        return (("RU", "RU"), ("SY", "SY"), ("unknown", "unknown"))

    def queryset(self, request, queryset):
        return queryset.filter(nationality=self.value()) if self.value() else queryset
