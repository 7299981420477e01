"""The map and the timeline: the browser's filters and visibility, bucket parsing,
aggregation in the case's time zone, flight observations, and constant query counts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tracker.models import DatePrecision, Incident, LocationPrecision, Sensitivity, TargetType
from tracker.tests.factories import FlightObservationFactory, IncidentFactory, PlaceFactory
from tracker.workspace import charts, legend, maps, timeline

MAP = reverse("map")
TIMELINE = reverse("timeline")
LIST = reverse("incidents:list")


@pytest.fixture
def logged_in(client, researcher):
    client.force_login(researcher)
    return client


@pytest.fixture
def types(db) -> dict[str, TargetType]:
    return {t.name: t for t in TargetType.objects.all()}


@pytest.fixture
def case(types):
    """Five incidents in May and June 2019 in two governorates, one restricted, one
    without coordinates, one known only to the town."""
    idlib = PlaceFactory(name="Maarat al-Numan", governorate="Idlib")
    hama = PlaceFactory(name="Kafr Zita", governorate="Hama")
    hospital, school, market = (
        types["Hospital or clinic"],
        types["School"],
        types["Market"],
    )
    return {
        "a": IncidentFactory(
            place=idlib,
            occurred_start=datetime(2019, 5, 5, 9, tzinfo=UTC),
            location_precision=LocationPrecision.EXACT,
            killed_max=12,
            target_types=[school, hospital],
        ),
        "b": IncidentFactory(
            place=idlib,
            occurred_start=datetime(2019, 5, 20, 9, tzinfo=UTC),
            target_types=[market],
        ),
        "c": IncidentFactory(
            place=hama,
            occurred_start=datetime(2019, 6, 3, 9, tzinfo=UTC),
            location_precision=LocationPrecision.TOWN,
            latitude=None,
            longitude=None,
            target_types=[school],
        ),
        "d": IncidentFactory(
            place=None,
            latitude=None,
            longitude=None,
            occurred_start=datetime(2019, 6, 10, 9, tzinfo=UTC),
            target_types=[market],
        ),
        "secret": IncidentFactory(
            place=idlib,
            occurred_start=datetime(2019, 5, 21, 9, tzinfo=UTC),
            sensitivity=Sensitivity.RESTRICTED,
            target_types=[hospital],
        ),
    }


def browser_codes(client, query: str) -> set[str]:
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    return {i.code for i in response.context["incidents"]}


def geojson_codes(client, url: str) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200, response
    body = json.loads(b"".join(response.streaming_content))
    return {f["properties"]["code"] for f in body["features"]}


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _periods(response) -> list:
    return [bar["period"] for bar in response.context["chart"]["bars"]]


def totals(response) -> dict[date, int]:
    return {p.start: p.total for p in _periods(response) if p.total}


# --- Who may see what ------------------------------------------------------------------


@pytest.mark.parametrize("url", [MAP, TIMELINE])
def test_anonymous_visitor_is_sent_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("url", [MAP, TIMELINE])
def test_account_without_the_case_role_is_refused(client, outsider, url):
    client.force_login(outsider)
    assert client.get(url).status_code == 403


def test_restricted_incidents_are_absent_for_researchers(logged_in, case):
    assert logged_in.get(MAP).context["total"] == 4
    geojson = logged_in.get(MAP).context["map_config"]["geojson"]
    assert case["secret"].code not in geojson_codes(logged_in, geojson)
    response = logged_in.get(TIMELINE + "?bucket=day")
    assert response.context["total"] == 4
    assert date(2019, 5, 21) not in totals(response)
    assert sum(e["count"] for e in response.context["legend"]) == 4


def test_holders_of_the_restricted_permission_see_them(client, researcher, case):
    researcher.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    client.force_login(User.objects.get(pk=researcher.pk))
    assert client.get(MAP).context["total"] == 5
    assert totals(client.get(TIMELINE + "?bucket=day"))[date(2019, 5, 21)] == 1


# --- Map --------------------------------------------------------------------------------


def test_map_holds_the_same_incidents_as_the_browser(logged_in, case):
    query = "governorate=Idlib&occurred_after=2019-05-10"
    response = logged_in.get(f"{MAP}?{query}")
    assert response.status_code == 200
    config = response.context["map_config"]
    assert config["geojson"] == reverse("incidents:export_geojson") + "?" + query
    expected = browser_codes(logged_in, query)
    assert expected == {case["b"].code}
    assert geojson_codes(logged_in, config["geojson"]) == expected
    assert response.context["total"] == len(expected)


def test_map_counts_incidents_without_coordinates(logged_in, case):
    response = logged_in.get(MAP)
    assert response.context["unlocated"] == 1
    assert "1 incident has no coordinates" in response.content.decode()


def test_map_legend_counts_each_incident_under_its_first_target_type(logged_in, case, types):
    legend = {e["name"]: e["count"] for e in logged_in.get(MAP).context["legend"]}
    # "a" hit a school and a hospital: hospitals come first in the vocabulary.
    assert legend == {"Hospital or clinic": 1, "School": 1, "Market": 2}
    order = [e["name"] for e in logged_in.get(MAP).context["map_config"]["types"]]
    assert order.index("Hospital or clinic") < order.index("School") < order.index("Market")


def test_map_config_refuses_a_colour_that_is_not_hex(logged_in, case, types):
    TargetType.objects.filter(pk=types["Market"].pk).update(colour='"/><svg')
    config = logged_in.get(MAP).context["map_config"]
    market = next(t for t in config["types"] if t["name"] == "Market")
    assert market["colour"] == legend.NO_TYPE["colour"]
    assert '"/><svg' not in logged_in.get(MAP).content.decode()


def test_bad_filter_value_is_reported_and_left_out_of_the_map_data(logged_in, case):
    response = logged_in.get(f"{MAP}?occurred_after=yesterday&governorate=Idlib")
    assert response.status_code == 200
    assert any("occurred_after=yesterday" in m for m in page_messages(response))
    geojson = response.context["map_config"]["geojson"]
    assert "yesterday" not in geojson and "governorate=Idlib" in geojson
    assert geojson_codes(logged_in, geojson) == browser_codes(
        logged_in, "occurred_after=yesterday&governorate=Idlib"
    )


def test_hostile_search_text_is_harmless(logged_in, case):
    response = logged_in.get(MAP, {"q": "'; DROP TABLE tracker_incident; -- <img src=x>"})
    assert response.status_code == 200
    assert "<img src=x>" not in response.content.decode()
    assert Incident.objects.count() == 5


def test_map_page_names_the_tile_source_or_its_absence(logged_in, case, settings):
    settings.TRACKER_MAP_TILE_URL = ""
    response = logged_in.get(MAP)
    assert response.context["map_config"]["tiles"] == ""
    assert "No background map is configured" in response.content.decode()


def test_marker_sizes_grow_with_casualties_and_unknown_is_smallest():
    sizes = [maps.marker_radius(k) for k in (None, 0, 1, 10, 50, 10_000)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[1]
    assert sizes[-1] == maps.MARKER_SIZE["max"]


# --- Timeline: buckets --------------------------------------------------------------------


def test_default_bucket_follows_the_span():
    assert timeline.default_bucket(date(2019, 5, 1), date(2019, 6, 30)) == "day"
    assert timeline.default_bucket(date(2019, 4, 1), date(2020, 3, 31)) == "week"
    assert timeline.default_bucket(date(2017, 1, 1), date(2020, 3, 31)) == "month"


def test_periods_cover_the_span_and_start_where_the_database_truncates():
    weeks = charts.bucket_starts("week", date(2019, 5, 1), date(2019, 5, 20))
    assert weeks == [date(2019, 4, 29), date(2019, 5, 6), date(2019, 5, 13), date(2019, 5, 20)]
    months = charts.bucket_starts("month", date(2019, 11, 15), date(2020, 2, 1))
    assert months == [date(2019, 11, 1), date(2019, 12, 1), date(2020, 1, 1), date(2020, 2, 1)]
    assert charts.next_bucket("month", date(2020, 1, 1)) == date(2020, 2, 1)


@pytest.mark.parametrize("raw", ["fortnight", "DAY", "<b>x</b>", "1' OR '1'='1"])
def test_bad_bucket_gets_a_clear_message(logged_in, case, raw):
    response = logged_in.get(TIMELINE, {"bucket": raw})
    assert response.status_code == 200
    assert response.context["bucket"] == "day"  # the default for six weeks
    [message] = page_messages(response)
    assert message.startswith("Bucket must be day, week or month")
    assert "<b>x</b>" not in response.content.decode()


def test_too_many_bars_fall_back_to_a_coarser_bucket(logged_in, types):
    IncidentFactory(occurred_start=datetime(2015, 1, 5, 9, tzinfo=UTC))
    IncidentFactory(occurred_start=datetime(2019, 1, 5, 9, tzinfo=UTC))
    response = logged_in.get(TIMELINE, {"bucket": "day"})
    assert response.status_code == 200
    assert response.context["bucket"] == "week"  # 209 weeks
    assert any("By day the chart would need 1462 bars" in m for m in page_messages(response))
    IncidentFactory(occurred_start=datetime(2009, 1, 5, 9, tzinfo=UTC))
    response = logged_in.get(TIMELINE, {"bucket": "week"})
    assert response.context["bucket"] == "month"  # 10 years of weeks is over the limit too
    assert any("showing by month" in m for m in page_messages(response))
    assert len(response.context["chart"]["bars"]) == 10 * 12 + 1


# --- Timeline: figures ------------------------------------------------------------------


def test_timeline_counts_the_filtered_incidents_per_period(logged_in, case):
    response = logged_in.get(TIMELINE, {"bucket": "month", "governorate": "Idlib"})
    assert totals(response) == {date(2019, 5, 1): 2}
    response = logged_in.get(TIMELINE, {"bucket": "month"})
    assert totals(response) == {date(2019, 5, 1): 2, date(2019, 6, 1): 2}
    assert response.context["drawn"] == response.context["total"] == 4


def test_bars_split_by_first_target_type_and_add_up(logged_in, case, types):
    response = logged_in.get(TIMELINE, {"bucket": "month"})
    may = _periods(response)[0]
    assert may.counts == {types["Hospital or clinic"].pk: 1, types["Market"].pk: 1}
    legend = response.context["legend"]
    assert [e["name"] for e in legend] == ["Hospital or clinic", "School", "Market"]
    bar = response.context["chart"]["bars"][0]
    assert [s["n"] for s in bar["segments"]] == [1, 1]
    # Stacked: the second segment sits on the first.
    first, second = bar["segments"]
    assert second["y"] + second["h"] == pytest.approx(first["y"])


def test_incidents_without_target_type_have_their_own_stack(logged_in, case):
    IncidentFactory(occurred_start=datetime(2019, 5, 6, 9, tzinfo=UTC)).target_types.clear()
    response = logged_in.get(TIMELINE, {"bucket": "month"})
    may = _periods(response)[0]
    assert may.counts[None] == 1 and may.total == 3
    assert response.context["legend"][-1] == {**legend.NO_TYPE, "count": 1}
    assert logged_in.get(MAP).context["legend"][-1]["count"] == 1


def test_days_are_the_case_time_zone_days(logged_in, types, settings):
    # 22:30 UTC on 5 May is 01:30 on 6 May in Damascus (UTC+3 in summer 2019).
    IncidentFactory(occurred_start=datetime(2019, 5, 5, 22, 30, tzinfo=UTC))
    IncidentFactory(occurred_start=datetime(2019, 5, 5, 20, 30, tzinfo=UTC))
    assert settings.TIME_ZONE == "Asia/Damascus"
    response = logged_in.get(TIMELINE, {"bucket": "day"})
    assert totals(response) == {date(2019, 5, 5): 1, date(2019, 5, 6): 1}


def test_each_bar_opens_the_browser_on_its_incidents(logged_in, case):
    response = logged_in.get(
        TIMELINE, {"bucket": "week", "occurred_after": "2019-05-07", "governorate": "Idlib"}
    )
    [period] = [p for p in _periods(response) if p.total]
    # The week of 20 May, cut at the page's own first day where they overlap.
    assert "occurred_after=2019-05-20" in period.href
    assert "occurred_before=2019-05-26" in period.href
    assert "governorate=Idlib" in period.href and "bucket" not in period.href
    assert browser_codes(logged_in, period.href.split("?", 1)[1]) == {case["b"].code}
    first = logged_in.get(TIMELINE, {"bucket": "month", "occurred_after": "2019-05-07"})
    assert "occurred_after=2019-05-07" in _periods(first)[0].href
    assert "occurred_before=2019-05-31" in _periods(first)[0].href


def test_dates_too_coarse_for_the_bucket_are_named_not_drawn(logged_in, types):
    IncidentFactory(occurred_start=datetime(2019, 5, 10, 9, tzinfo=UTC))
    IncidentFactory(
        occurred_start=datetime(2019, 4, 30, 21, tzinfo=UTC),  # 1 May, local
        start_precision=DatePrecision.MONTH,
    )
    response = logged_in.get(TIMELINE, {"bucket": "day"})
    assert totals(response) == {date(2019, 5, 10): 1}
    assert response.context["drawn"] == 1 and response.context["total"] == 2
    assert "1 dated only to the month" in response.content.decode()
    by_month = logged_in.get(TIMELINE, {"bucket": "month"})
    assert totals(by_month) == {date(2019, 5, 1): 2}
    assert by_month.context["undrawn"] == ""


def test_flight_observations_are_counted_per_period(logged_in, case):
    for hour in (6, 7, 8):
        FlightObservationFactory(observed_at=datetime(2019, 5, 5, hour, tzinfo=UTC))
    FlightObservationFactory(observed_at=datetime(2019, 6, 3, 6, tzinfo=UTC))
    FlightObservationFactory(observed_at=datetime(2018, 1, 1, 6, tzinfo=UTC))  # out of range
    response = logged_in.get(TIMELINE, {"bucket": "month"})
    assert response.context["with_flights"] is True
    assert [p.flights for p in _periods(response)] == [3, 1]
    assert response.context["flights_total"] == 4
    assert "Flight observations" in response.content.decode()


def test_flights_are_left_out_for_accounts_that_may_not_see_them(client, case):
    FlightObservationFactory(observed_at=datetime(2019, 5, 5, 6, tzinfo=UTC))
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_incident"))
    client.force_login(viewer)
    response = client.get(TIMELINE, {"bucket": "month"})
    assert response.status_code == 200
    assert response.context["with_flights"] is False
    assert "Flight observations" not in response.content.decode()


def test_timeline_with_nothing_to_show(logged_in, case):
    response = logged_in.get(TIMELINE, {"governorate": "Nowhere"})
    assert response.status_code == 200
    assert "No incident matches these filters." in response.content.decode()


def test_bad_filter_on_the_timeline_is_reported_not_a_500(logged_in, case):
    response = logged_in.get(TIMELINE, {"occurred_after": "yesterday", "target_type": "999999"})
    assert response.status_code == 200
    text = " ".join(page_messages(response))
    assert "occurred_after=yesterday" in text and "target_type=999999" in text
    assert response.context["total"] == 4


# --- Query counts ------------------------------------------------------------------------


def many(n: int, types: dict[str, TargetType]) -> None:
    place = PlaceFactory()
    start = datetime(2019, 5, 1, 9, tzinfo=UTC)
    chosen = list(types.values())
    for i in range(n):
        IncidentFactory(
            place=place,
            occurred_start=start + timedelta(days=i * 3),
            latitude=Decimal("35.8") + Decimal(i) / 100,
            target_types=[chosen[i % len(chosen)]],
        )
        FlightObservationFactory(observed_at=start + timedelta(days=i * 3, hours=-1))


@pytest.mark.parametrize("url", [MAP, TIMELINE])
def test_query_count_does_not_grow_with_the_incidents(logged_in, types, url):
    many(3, types)
    with CaptureQueriesContext(connection) as few:
        assert logged_in.get(url, {"governorate": "Idlib"}).status_code == 200
    many(40, types)
    with CaptureQueriesContext(connection) as lots:
        response = logged_in.get(url, {"governorate": "Idlib"})
    assert response.context["total"] == 43
    assert len(lots) == len(few)


def test_timeline_query_count_is_pinned(logged_in, types, django_assert_num_queries):
    many(40, types)
    logged_in.get(TIMELINE)  # the session's first request may refresh its stamp
    # session, user, 2 permission lookups; span, totals and typed counts per period,
    # target types, flights.
    with django_assert_num_queries(9):
        logged_in.get(TIMELINE)


def test_map_query_count_is_pinned(logged_in, types, django_assert_num_queries):
    many(40, types)
    logged_in.get(MAP)
    # session, user, 2 permission lookups; count, legend, target types.
    with django_assert_num_queries(7):
        logged_in.get(MAP)
