"""tracker.responsibility.periods: dates known to a precision, read as periods.

Each test states a rule that a one-line change of the module broke without any test
noticing (mutation testing, issue 15).
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.models import DatePrecision as P
from tracker.responsibility.periods import (
    FIRST_YEAR,
    LAST_YEAR,
    LATEST,
    Tenure,
    add_precision,
    format_partial,
    incident_period,
    month_of,
    parse_partial,
)

START = datetime(2019, 5, 14, 9, 40)
LENGTHS = {
    P.MINUTE: timedelta(minutes=1),
    P.HOUR: timedelta(hours=1),
    P.DAY: timedelta(days=1),
    P.MONTH: timedelta(days=31),  # May
    P.YEAR: timedelta(days=366),  # 2019-05-14 to 2020-05-14, over 29 February 2020
}


@pytest.mark.parametrize("precision", list(LENGTHS))
def test_a_period_contains_its_start_and_lasts_its_precision(precision):
    period = incident_period(START, precision, None)
    assert period.earliest == START
    assert period.latest - period.earliest == LENGTHS[precision]


def test_an_unknown_precision_is_read_as_a_year():
    assert incident_period(START, None, None) == incident_period(START, P.YEAR, None)
    assert incident_period(START, "fortnight", None).latest == datetime(2020, 5, 14, 9, 40)


def test_a_recorded_end_stretches_the_period_and_never_shrinks_it():
    assert incident_period(START, P.HOUR, START + timedelta(hours=5)).latest == START + timedelta(
        hours=5
    )
    # An end inside the start's own period leaves the period as it was.
    assert incident_period(START, P.DAY, START + timedelta(minutes=5)).latest == START + timedelta(
        days=1
    )


@pytest.mark.parametrize(
    ("start", "after"),
    [
        (datetime(2019, 1, 31), datetime(2019, 2, 28)),  # no 31 February
        (datetime(2020, 1, 31), datetime(2020, 2, 29)),  # a leap year
        (datetime(2019, 12, 15), datetime(2020, 1, 15)),  # across the year
    ],
)
def test_a_month_ends_at_the_same_day_of_the_next_month_or_its_last(start, after):
    assert add_precision(start, P.MONTH) == after


def test_a_period_past_the_calendar_is_unbounded():
    assert add_precision(datetime(9999, 12, 31), P.DAY) == LATEST


def test_a_posting_of_unknown_precision_is_read_as_a_year_like_an_incident():
    tenure = Tenure.of(date(2019, 1, 1), None, date(2020, 1, 1), None)
    assert tenure.sure.earliest == datetime(2019, 12, 31)  # began within 2019 at the latest
    assert tenure.possible.latest == datetime(2021, 1, 1)  # may have lasted all of 2020


def test_posting_dates_are_whole_days_at_the_finest():
    by_the_minute = Tenure.of(date(2019, 5, 5), P.MINUTE, date(2019, 6, 1), P.HOUR)
    by_the_day = Tenure.of(date(2019, 5, 5), P.DAY, date(2019, 6, 1), P.DAY)
    assert by_the_minute == by_the_day
    assert by_the_day.possible.latest == datetime(2019, 6, 2)
    assert by_the_day.sure.earliest == datetime(2019, 5, 5)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("2019", (date(2019, 1, 1), P.YEAR)),
        ("2019-05", (date(2019, 5, 1), P.MONTH)),
        (" 2019-05-14 ", (date(2019, 5, 14), P.DAY)),
    ],
)
def test_partial_dates_are_read_with_their_precision(text, parsed):
    assert parse_partial(text) == parsed


@pytest.mark.parametrize(
    "text", ["2019x", "2019-05x", "2019-05-14x", "2019-5", "19", "0000", "2019-02-30", ""]
)
def test_anything_else_is_refused(text):
    with pytest.raises(ValueError):
        parse_partial(text)


@pytest.mark.parametrize(
    ("value", "precision", "shown"),
    [
        (date(2019, 5, 14), P.DAY, "2019-05-14"),
        (date(2019, 5, 14), P.MONTH, "2019-05"),
        (date(2019, 5, 14), None, "2019"),  # unknown: the widest
        (date(2019, 5, 14), P.HOUR, "2019-05-14"),  # a date has no hours to show
        (None, P.DAY, ""),
        (START, P.DAY, "2019-05-14"),  # an incident time known to the day
        (START, P.HOUR, "2019-05-14 09 h"),
        (START, P.MINUTE, "2019-05-14 09:40"),
    ],
)
def test_partial_dates_are_shown_to_their_precision(value, precision, shown):
    assert format_partial(value, precision) == shown


@pytest.mark.parametrize(
    ("value", "precision", "month"),
    [
        (START, P.MINUTE, "2019-05"),
        (START, P.HOUR, "2019-05"),
        (date(2019, 5, 14), P.DAY, "2019-05"),
        (date(2019, 5, 1), P.MONTH, "2019-05"),
        (date(2019, 1, 1), P.YEAR, "2019 (month unknown)"),  # not January
        (date(2019, 1, 1), None, "2019 (month unknown)"),  # unknown: the widest
    ],
)
def test_a_date_is_counted_in_its_month_or_only_in_its_year(value, precision, month):
    assert month_of(value, precision) == month


# --- Properties (Hypothesis): the rules above, for any date the tracker accepts ------------

moments = st.datetimes(min_value=datetime(FIRST_YEAR, 1, 1), max_value=datetime(LAST_YEAR, 12, 31))
days = st.dates(min_value=date(FIRST_YEAR, 1, 1), max_value=date(LAST_YEAR, 12, 31))
precisions = st.sampled_from(list(P.values))
unknown_precisions = st.sampled_from([None, "", "fortnight", "YEAR"])


def _months_later(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later, or that month's last day: computed by hand."""
    year, month = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + year, month + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def expected_end(start: datetime, precision: str) -> datetime:
    fixed = {P.MINUTE: timedelta(minutes=1), P.HOUR: timedelta(hours=1), P.DAY: timedelta(days=1)}
    if precision in fixed:
        return start + fixed[precision]
    return _months_later(start, 1 if precision == P.MONTH else 12)


@given(moments, precisions)
def test_any_period_starts_at_its_start_and_has_the_length_of_its_precision(start, precision):
    period = incident_period(start, precision, None)
    assert period.earliest == start
    assert period.earliest < period.latest
    assert period.latest == expected_end(start, precision)


@given(moments, unknown_precisions)
def test_any_unknown_precision_is_a_year(start, precision):
    assert incident_period(start, precision, None) == incident_period(start, P.YEAR, None)


@given(moments, precisions, moments)
def test_a_recorded_end_only_ever_widens_a_period(start, precision, end):
    bare = incident_period(start, precision, None)
    stretched = incident_period(start, precision, end)
    assert stretched.earliest == bare.earliest
    assert stretched.latest == max(bare.latest, end)
    assert stretched.covers(bare)


@given(days, precisions, st.one_of(st.none(), days), precisions)
def test_a_posting_may_have_been_held_whenever_it_was_surely_held(start, sp, end, ep):
    if end is not None and end < start:
        start, end = end, start
    tenure = Tenure.of(start, sp, end, ep)
    assert tenure.possible.earliest == datetime(start.year, start.month, start.day)
    sure = tenure.sure
    assert sure.earliest >= sure.latest or tenure.possible.covers(sure)  # empty: nothing sure
    # Postings are whole days: an hour or a minute is read as its day.
    fine = {P.MINUTE: P.DAY, P.HOUR: P.DAY}
    assert tenure == Tenure.of(start, fine.get(sp, sp), end, fine.get(ep, ep))


@given(days, st.sampled_from([P.YEAR, P.MONTH, P.DAY]))
def test_a_partial_date_reads_back_as_written(day, precision):
    text = format_partial(day, precision)
    first, read = parse_partial(text)
    assert read == precision
    assert first == date(day.year, 1 if precision == P.YEAR else day.month,
                         day.day if precision == P.DAY else 1)  # fmt: skip
    assert format_partial(first, read) == text


@given(days, st.sampled_from(["x", " 1", "-", "-1", "T00", "0"]))
def test_a_partial_date_with_anything_after_it_is_refused(day, tail):
    for precision in (P.YEAR, P.MONTH, P.DAY):
        with pytest.raises(ValueError):
            parse_partial(format_partial(day, precision) + tail)


@pytest.mark.parametrize("zone", ["Etc/GMT+12", "Asia/Damascus", "Pacific/Kiritimati"])
def test_unbounded_ends_become_the_first_and_last_day_that_convert_in_any_zone(settings, zone):
    from datetime import UTC

    from tracker.responsibility.periods import EARLIEST, to_aware

    settings.TIME_ZONE = zone  # the case's zone
    first, last = to_aware(EARLIEST), to_aware(LATEST)
    assert first.replace(tzinfo=None) == datetime(1, 1, 2)
    assert last.replace(tzinfo=None) == datetime(9999, 12, 30)
    assert first.astimezone(UTC) < last.astimezone(UTC)  # both convert
    middle = datetime(2019, 5, 14, 9, 40)
    assert to_aware(middle).replace(tzinfo=None) == middle  # inside: unchanged


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0000", "there is no year 0000"),
        ("0000-05-14", "there is no year 0000"),
        ("May 2019", "expected YYYY, YYYY-MM or YYYY-MM-DD"),
        (" 2019-02-30 ", "2019-02-30 is not a date in the calendar"),
        ("2019-13", "2019-13 is not a date in the calendar"),
    ],
)
def test_a_refused_partial_date_says_why(text, message):
    """The postings import shows these messages to the researcher, row by row."""
    with pytest.raises(ValueError) as refused:
        parse_partial(text)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("start", "precision", "end"),
    [
        (datetime(2019, 1, 31, 9), P.MONTH, datetime(2019, 2, 28, 9)),
        (datetime(2020, 1, 30), P.MONTH, datetime(2020, 2, 29)),
        (datetime(2019, 3, 31), P.MONTH, datetime(2019, 4, 30)),
        (datetime(2020, 2, 29), P.YEAR, datetime(2021, 2, 28)),
    ],
)
def test_a_month_or_year_from_a_day_the_next_lacks_ends_on_its_last_day(start, precision, end):
    assert add_precision(start, precision) == end


@pytest.mark.parametrize(
    ("year", "accepted"), [(1899, False), (1900, True), (2100, True), (2101, False)]
)
def test_dates_are_accepted_from_1900_to_2100_inclusive(year, accepted):
    from django.core.exceptions import ValidationError

    from tracker.responsibility.periods import check_year, year_in_range

    for value in (date(year, 6, 1), datetime(year, 6, 1, 12, 0)):
        assert year_in_range(value) is accepted
        if accepted:
            check_year(value)
        else:
            with pytest.raises(ValidationError) as refused:
                check_year(value)
            assert refused.value.code == "year_out_of_range"
            assert refused.value.messages == ["Give a date between 1900 and 2100."]
    assert year_in_range(None) and check_year(None) is None  # no date: nothing to check


# The days the clocks change in the case's zone (Asia/Damascus by default): 29 March
# 2019 began at 01:00 (its midnight was skipped), 24 October 2019 had 25 hours. A value
# read back from the database is in UTC.


def _stored(*wall) -> datetime:
    from datetime import UTC

    from tracker.responsibility.periods import to_aware

    return to_aware(datetime(*wall)).astimezone(UTC)


@pytest.mark.parametrize("precision", [P.DAY, P.MONTH, P.YEAR, None])
def test_a_day_whose_midnight_was_skipped_still_ends_at_a_midnight(settings, precision):
    settings.TIME_ZONE = "Asia/Damascus"
    period = incident_period(_stored(2019, 3, 29), precision, None)
    assert period.earliest == datetime(2019, 3, 29)
    assert period.latest.time() == datetime.min.time()


def test_the_first_hour_of_that_day_stays_its_own_hour(settings):
    """Only a period of days or longer starts at the skipped midnight; an hour does not."""
    settings.TIME_ZONE = "Asia/Damascus"
    for precision in (P.HOUR, P.MINUTE):
        period = incident_period(_stored(2019, 3, 29, 1), precision, None)
        assert period.earliest == datetime(2019, 3, 29, 1), precision


@pytest.mark.parametrize("wall", [(2019, 10, 24), (2019, 5, 14), (2019, 3, 29, 14, 30)])
def test_other_days_start_where_they_were_stored(settings, wall):
    settings.TIME_ZONE = "Asia/Damascus"
    period = incident_period(_stored(*wall), P.DAY, None)
    assert period == type(period)(datetime(*wall), datetime(*wall) + timedelta(days=1))


def test_the_period_is_read_in_the_projects_zone_whatever_zone_is_active(settings):
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    settings.TIME_ZONE = "Asia/Damascus"
    with timezone.override(ZoneInfo("America/New_York")):
        period = incident_period(_stored(2019, 3, 29), P.DAY, None)
    assert period.earliest == datetime(2019, 3, 29)


# --- Nothing typed in the future ----------------------------------------------------------------


def test_check_not_future_refuses_only_what_is_later_than_now():
    from zoneinfo import ZoneInfo

    from django.core.exceptions import ValidationError

    from tracker.responsibility.periods import IN_FUTURE, check_not_future

    damascus = ZoneInfo("Asia/Damascus")
    now = datetime(2026, 12, 5, 10, 0, tzinfo=damascus)  # 08:00 UTC
    check_not_future(None, now=now)
    for fine in (now, now - timedelta(seconds=1), datetime(2026, 12, 5, 10, 0), date(2026, 12, 5)):
        check_not_future(fine, now=now)  # an aware time, a local clock reading, today
    for late in (
        now + timedelta(seconds=1),
        datetime(2026, 12, 5, 10, 0, 1),  # a local reading one second after now
        date(2026, 12, 6),
    ):
        with pytest.raises(ValidationError) as refused:
            check_not_future(late, now=now)
        assert refused.value.messages == [IN_FUTURE]
        assert refused.value.code == "in_future"


def test_check_not_future_reads_a_local_date_against_the_local_today():
    """Just after midnight in Damascus (21:30 UTC) it is already the 6th there: the 6th
    is not in the future, a quarter of an hour later that night and the 7th are."""
    from zoneinfo import ZoneInfo

    from django.core.exceptions import ValidationError

    from tracker.responsibility.periods import check_not_future

    late_evening_utc = datetime(2026, 12, 5, 21, 30, tzinfo=ZoneInfo("UTC"))  # 00:30 local (UTC+3)
    check_not_future(date(2026, 12, 6), now=late_evening_utc)
    check_not_future(datetime(2026, 12, 6, 0, 15), now=late_evening_utc)  # local reading
    with pytest.raises(ValidationError):
        check_not_future(datetime(2026, 12, 6, 0, 45), now=late_evening_utc)
    with pytest.raises(ValidationError):
        check_not_future(date(2026, 12, 7), now=late_evening_utc)
