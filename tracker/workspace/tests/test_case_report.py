"""The case report: figures over the whole filtered set, the same incidents as the browser,
sections with evidence and attributions, officials, limits, visibility and hostile input."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tracker.models import (
    Attribution,
    DatePrecision,
    Incident,
    ReviewStatus,
    Sensitivity,
    TargetType,
)
from tracker.responsibility.dossier import dossier
from tracker.tests import factories
from tracker.tests.factories import (
    AttributionFactory,
    EvidenceItemFactory,
    EvidenceLinkFactory,
    ForceFactory,
    IncidentFactory,
    OfficialFactory,
    PlaceFactory,
    PositionFactory,
    UnitFactory,
)
from tracker.workspace import charts, reports

REPORT = reverse("case_report")
LIST = reverse("incidents:list")


def codes_in_report(response) -> list[str]:
    return [s.incident.code for s in response.context["sections"]]


@pytest.fixture
def logged_in(client, researcher):
    client.force_login(researcher)
    return client


@pytest.fixture
def case(db):
    """Four visible incidents with casualty figures known, unknown and open-ended, two
    forces (one incident attributed to both), a rejected attribution, an incident dated
    only to the year, and one restricted incident."""
    school, market = TargetType.objects.get(name="School"), TargetType.objects.get(name="Market")
    idlib = PlaceFactory(name="Maarat al-Numan", governorate="Idlib", district="Maarat")
    hama = PlaceFactory(name="Kafr Zita", governorate="Hama", district="Mhardeh")
    air, other = ForceFactory(name="Air Force (sample)"), ForceFactory(name="Second Force")
    squadron = UnitFactory(force=air, name="Squadron 1 (sample)")
    a = IncidentFactory(
        title="Strike on school",
        place=idlib,
        occurred_start=datetime(2019, 5, 5, 9, tzinfo=UTC),
        killed_min=10,
        killed_max=12,
        injured_min=3,
        injured_max=3,
        civilian_harm="confirmed",
        target_types=[school],
    )
    b = IncidentFactory(
        title="Strike on market",
        place=hama,
        occurred_start=datetime(2019, 5, 20, 9, tzinfo=UTC),
        killed_min=1,
        killed_max=2,
        injured_min=None,
        injured_max=None,
        target_types=[market],
    )
    c = IncidentFactory(
        title="Strike on school and market",
        place=idlib,
        occurred_start=datetime(2019, 7, 1, 9, tzinfo=UTC),
        killed_min=None,
        killed_max=None,
        injured_min=5,
        injured_max=None,
        civilian_harm="weak",
        target_types=[school, market],
    )
    EvidenceLinkFactory(incident=c)
    d = IncidentFactory(
        title="Strike known to the year",
        place=idlib,
        occurred_start=datetime(2019, 1, 1, 0, tzinfo=UTC),
        start_precision=DatePrecision.YEAR,
        killed_min=4,
        killed_max=None,
        target_types=[],
    )
    d.target_types.clear()
    hidden = IncidentFactory(
        title="Restricted strike",
        place=idlib,
        occurred_start=datetime(2019, 5, 10, 9, tzinfo=UTC),
        killed_min=100,
        killed_max=100,
        sensitivity=Sensitivity.RESTRICTED,
        target_types=[school],
    )
    AttributionFactory(incident=a, unit=squadron)
    AttributionFactory(incident=a, unit=None, force=other)
    AttributionFactory(incident=b, unit=None, force=air, status=ReviewStatus.REJECTED)
    AttributionFactory(incident=c, unit=squadron, force=air)
    AttributionFactory(incident=hidden, unit=None, force=other)
    return {
        "a": a,
        "b": b,
        "c": c,
        "d": d,
        "hidden": hidden,
        "air": air,
        "other": other,
        "squadron": squadron,
    }


# --- Access ------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(REPORT)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_account_without_role_is_refused(client, outsider):
    client.force_login(outsider)
    assert client.get(REPORT).status_code == 403


def test_restricted_incident_absent_for_researcher(logged_in, case):
    response = logged_in.get(REPORT)
    content = response.content.decode()
    assert case["hidden"].code not in content
    assert "Restricted strike" not in content
    assert response.context["figures"].incidents == 4
    assert str(response.context["figures"].killed) == "15–18"
    assert {f.name: n for f, n in response.context["forces"]} == {
        "Air Force (sample)": 2,
        "Second Force": 1,
    }


def test_restricted_incident_present_for_named_people(client, researcher, case):
    researcher.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    client.force_login(researcher)
    response = client.get(REPORT)
    assert case["hidden"].code in codes_in_report(response)
    assert response.context["figures"].incidents == 5
    assert str(response.context["figures"].killed) == "115–118"


# --- Figures ------------------------------------------------------------------------------


def test_figures_are_ranges_with_unknowns_counted(logged_in, case):
    figures = logged_in.get(REPORT).context["figures"]
    assert figures.incidents == 4
    # killed: a 10-12, b 1-2, c unknown, d at least 4 (counted at 4 in both sums)
    assert (figures.killed.low, figures.killed.high) == (15, 18)
    assert (figures.killed.unknown, figures.killed.open_ended) == (1, 1)
    # injured: a 3, b unknown, c at least 5, d unknown
    assert (figures.injured.low, figures.injured.high) == (8, 8)
    assert (figures.injured.unknown, figures.injured.open_ended) == (2, 1)
    assert figures.without_target_type == 1
    assert figures.without_force == 2  # b (its only attribution rejected) and d


def test_figures_are_shown_with_their_caveats(logged_in, case):
    content = logged_in.get(REPORT).content.decode()
    assert "15–18" in content
    assert "1 incident with no count" in content
    assert "1 with no highest count (counted at their lowest)" in content
    assert "counts once for each" in content


def test_a_count_unknown_for_every_incident_reads_unknown_not_zero(logged_in, case):
    response = logged_in.get(REPORT, {"governorate": "Hama"})
    assert response.context["figures"].injured.unknown == 1
    assert "<dt>Injured</dt><dd>unknown</dd>" in response.content.decode()


def test_by_target_type_counts_an_incident_for_each_type(logged_in, case):
    context = logged_in.get(REPORT).context
    assert {row["name"]: row["n"] for row in context["target_types"]} == {"School": 2, "Market": 2}


def test_by_force_counts_standing_attributions_once_per_incident_and_force(logged_in, case):
    forces = logged_in.get(REPORT).context["forces"]
    # a: unit of Air Force and Second Force directly; c: Air Force directly and through its
    # unit (once); b's attribution was rejected.
    assert [(f.name, n) for f, n in forces] == [("Air Force (sample)", 2), ("Second Force", 1)]


def test_by_month_keeps_empty_months_and_puts_year_only_dates_apart(logged_in, case):
    response = logged_in.get(REPORT)
    months = response.context["months"]
    assert [(m.label, m.n) for m in months.counts] == [
        ("2019-05", 2),
        ("2019-06", 0),
        ("2019-07", 1),
    ]
    assert months.month_unknown == [(2019, 1)]
    content = response.content.decode()
    assert content.count('class="report-bar"') == 3
    assert "2019 (month unknown)" in content


def test_by_status(logged_in, case):
    Incident.objects.filter(pk=case["a"].pk).update(status=ReviewStatus.VERIFIED)
    statuses = logged_in.get(REPORT).context["statuses"]
    assert statuses == [("draft", 3), ("verified", 1)]


def test_month_in_the_case_time_zone(logged_in, case):
    """23:30 UTC on 31 May is 1 June in Damascus: counted in June."""
    IncidentFactory(occurred_start=datetime(2019, 5, 31, 23, 30, tzinfo=UTC))
    counts = {m.label: m.n for m in logged_in.get(REPORT).context["months"].counts}
    assert counts["2019-06"] == 1


def test_chart_scale():
    chart = charts.month_chart([charts.MonthCount(date(2019, 5, 1), 7)])
    assert [value for _, value in chart.ticks] == [0, 2, 4, 6, 8]
    bar = chart.bars[0]
    assert bar.y + bar.height == chart.baseline
    assert charts.month_chart([]) is None


# --- Filters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "governorate=Idlib",
        "occurred_after=2019-05-01&occurred_before=2019-05-31",
        "killed_at_least=2",
        "q=school",
        "status=draft&status=verified",
        "civilian_harm=confirmed&civilian_harm=weak",
        "target_type={school}&target_type={market}&sort=-killed",
        "has_evidence=photo",
    ],
)
def test_same_incidents_as_the_browser(logged_in, case, query):
    query = query.format(
        school=TargetType.objects.get(name="School").pk,
        market=TargetType.objects.get(name="Market").pk,
    )
    report = logged_in.get(f"{REPORT}?{query}")
    browser = logged_in.get(f"{LIST}?{query}")
    assert set(codes_in_report(report)) == {i.code for i in browser.context["incidents"]}
    assert report.context["figures"].incidents == browser.context["page"].paginator.count


def test_force_filter_and_active_filters_on_the_cover(logged_in, case):
    response = logged_in.get(REPORT, {"force": "Second Force"})
    assert codes_in_report(response) == [case["a"].code]
    assert response.context["active"] == {"Attributed force": "Second Force"}
    assert "Attributed force: <bdi>Second Force</bdi>" in response.content.decode()


def test_report_reads_oldest_first_unless_sorted(logged_in, case):
    codes = codes_in_report(logged_in.get(REPORT))
    assert codes == [case[k].code for k in ("d", "a", "b", "c")]
    by_killed = codes_in_report(logged_in.get(f"{REPORT}?sort=-killed"))
    browser = logged_in.get(f"{LIST}?sort=-killed").context["incidents"]
    assert by_killed == [i.code for i in browser]


@pytest.mark.parametrize(
    "query, named",
    [
        ("occurred_after=yesterday", "occurred_after=yesterday"),
        ("target_type=999999", "target_type=999999"),
        ("killed_at_least=-3", "killed_at_least=-3"),
    ],
)
def test_bad_filter_value_gets_a_message_not_a_500(logged_in, case, query, named):
    response = logged_in.get(f"{REPORT}?{query}")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Not applied" in content
    assert named in content
    assert response.context["figures"].incidents == 4  # the bad filter is not applied


def test_html_and_sql_in_titles_and_search_are_text(logged_in, case):
    IncidentFactory(
        title="<script>alert('x')</script> strike",
        narrative="<img src=x onerror=alert(1)>\nSecond line",
    )
    content = logged_in.get(REPORT).content.decode()
    assert "<script>alert" not in content
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in content
    assert "<img src=x" not in content
    assert "&lt;img src=x onerror=alert(1)&gt;" in content
    response = logged_in.get(REPORT, {"q": "'; DROP TABLE tracker_incident; --"})
    assert response.status_code == 200
    assert Incident.objects.count() == 6


# --- Sections -----------------------------------------------------------------------------


def test_section_lists_evidence_with_hash_prefix_and_attributions(logged_in, case):
    digest = "0123456789ab" + "f" * 52
    item = EvidenceItemFactory(title="Crater photo", sha256=digest, status=ReviewStatus.VERIFIED)
    EvidenceLinkFactory(item=item, incident=case["a"])
    content = logged_in.get(REPORT).content.decode()
    assert item.code in content
    assert "<code>0123456789ab</code>" in content
    assert digest not in content
    assert "Squadron 1 (sample)" in content
    assert "direct perpetrator" in content
    assert "Supported by: no evidence linked" in content
    page = reverse("incidents:detail", args=[case["a"].code])
    assert f'<a href="{page}">{case["a"].code}</a>' in content


def test_rejected_attribution_is_not_listed(logged_in, case):
    response = logged_in.get(REPORT)
    b = next(s.incident for s in response.context["sections"] if s.incident.pk == case["b"].pk)
    assert list(b.attributions.all()) == []
    assert Attribution.objects.filter(incident=case["b"]).count() == 1


def test_protected_identity_never_appears(logged_in, case):
    testimony = factories.TestimonyFactory(
        witness__real_name="Fatima Protected-Name",
        witness__contact="+963 999 123 456",
        summary="Saw the aircraft.",
    )
    testimony.item.is_protected = True
    testimony.item.title = "Testimony item title"
    testimony.item.save()
    EvidenceLinkFactory(item=testimony.item, incident=case["a"])
    content = logged_in.get(REPORT).content.decode()
    assert testimony.item.code in content
    assert "testimony" in content
    for secret in ("Fatima Protected-Name", "+963 999 123 456", "Saw the aircraft."):
        assert secret not in content


def test_officials_direct_and_by_command_link_to_their_dossiers(logged_in, case):
    direct = OfficialFactory(name="Colonel Direct")
    commander = OfficialFactory(name="General Commander")
    AttributionFactory(incident=case["b"], unit=None, official=direct)
    wing = UnitFactory(force=case["air"], name="Wing (sample)")
    case["squadron"].parent = wing
    case["squadron"].save()
    PositionFactory(official=commander, unit=wing, is_command=True, start=date(2019, 1, 1))
    PositionFactory(  # ended before the incidents: no link
        official=OfficialFactory(name="Former Commander"),
        unit=wing,
        is_command=True,
        start=date(2017, 1, 1),
        end=date(2018, 1, 1),
    )
    response = logged_in.get(REPORT)
    officials = {entry.official.name: (entry, url) for entry, url in response.context["officials"]}
    assert set(officials) == {"Colonel Direct", "General Commander"}
    entry, url = officials["General Commander"]
    assert url == reverse("officials:dossier", args=[commander.pk])
    assert [incident.code for incident, _ in entry.links] == [case["a"].code, case["c"].code]
    assert {link.basis for _, link in entry.links} == {"command chain"}
    assert all(link.depth == 1 for _, link in entry.links)
    direct_entry, _ = officials["Colonel Direct"]
    assert [(i.code, link.basis) for i, link in direct_entry.links] == [
        (case["b"].code, "direct attribution")
    ]
    content = response.content.decode()
    assert f'href="{url}"' in content
    assert "Former Commander" not in content
    # The same links as the officials' dossiers.
    for official in (direct, commander):
        expected = sorted(
            (entry.incident.code, link.basis)
            for entry in dossier(official).incidents
            for link in entry.links
        )
        found, _ = officials[official.name]
        assert sorted((i.code, link.basis) for i, link in found.links) == expected


def test_map_draws_the_geojson_export_of_the_same_filters(logged_in, case):
    response = logged_in.get(REPORT, {"governorate": "Idlib", "sort": "code"})
    config = response.context["map_config"]
    assert config["geojson"] == reverse("incidents:export_geojson") + "?governorate=Idlib&sort=code"
    assert 'data-map="report-map-config"' in response.content.decode()
    exported = logged_in.get(config["geojson"])
    features = json.loads(b"".join(exported.streaming_content))["features"]
    assert sorted(f["properties"]["code"] for f in features) == sorted(codes_in_report(response))


def test_no_map_when_a_filter_did_not_parse(logged_in, case):
    response = logged_in.get(REPORT, {"occurred_after": "yesterday"})
    assert response.context["map_config"] is None
    assert "No map: some filter values did not parse" in response.content.decode()


def test_account_with_incidents_only_gets_no_evidence_list_or_dossier_links(client, outsider, case):
    outsider.is_staff = True
    outsider.save()
    outsider.user_permissions.add(Permission.objects.get(codename="view_incident"))
    item = EvidenceItemFactory(sha256="ab" * 32)
    EvidenceLinkFactory(item=item, incident=case["a"])
    AttributionFactory(
        incident=case["a"], unit=None, official=OfficialFactory(name="Named Official")
    )
    client.force_login(outsider)
    response = client.get(REPORT)
    content = response.content.decode()
    assert response.status_code == 200
    assert item.code not in content
    assert "abababababab" not in content
    assert "your account may not list evidence" in content
    assert "Named Official" in content
    assert [url for _, url in response.context["officials"]] == [""]


# --- The limit ----------------------------------------------------------------------------


def test_limit_says_how_many_were_left_out_and_figures_cover_all(logged_in, case, monkeypatch):
    monkeypatch.setattr(reports, "MAX_INCIDENTS", 3)
    response = logged_in.get(REPORT)
    assert len(response.context["sections"]) == 3
    assert response.context["left_out"] == 1
    assert response.context["figures"].incidents == 4
    assert sum(m.n for m in response.context["months"].counts) == 3  # + 1 year-only
    content = response.content.decode()
    assert "1 incident left out of the incident sections" in content
    assert "Narrow the filters" in content
    assert "The figures below cover all 4" in content


def test_no_limit_message_when_all_fit(logged_in, case):
    response = logged_in.get(REPORT)
    assert response.context["left_out"] == 0
    assert "left out of the incident sections" not in response.content.decode()


def test_empty_report(logged_in, case):
    response = logged_in.get(REPORT, {"governorate": "Nowhere"})
    assert response.status_code == 200
    assert response.context["figures"].incidents == 0
    assert "No incident matches these filters." in response.content.decode()


# --- Queries ------------------------------------------------------------------------------


def _incidents_with_everything(count: int) -> None:
    force = ForceFactory()
    wing = UnitFactory(force=force)
    squadron = UnitFactory(force=force, parent=wing)
    PositionFactory(unit=wing, is_command=True, start=date(2018, 1, 1))
    official = OfficialFactory()
    for n in range(count):
        incident = IncidentFactory()
        EvidenceLinkFactory(incident=incident, item=EvidenceItemFactory(sha256=f"{n:064x}"))
        attribution = AttributionFactory(incident=incident, unit=squadron, official=official)
        attribution.supporting_evidence.add(EvidenceItemFactory())


# Session, user, two permission lookups; figures, statuses, target types, forces and
# months; the incidents and four prefetches; the unit walk and the command postings; the
# map's target type colours.
QUERIES = 4 + 5 + 5 + 2 + 1


@pytest.mark.parametrize("count", [1, 30])
def test_query_count_does_not_grow_with_incidents(logged_in, django_assert_num_queries, count):
    _incidents_with_everything(count)
    with django_assert_num_queries(QUERIES):
        response = logged_in.get(REPORT)
    assert len(response.context["sections"]) == count
    assert len(response.context["officials"]) == 2
