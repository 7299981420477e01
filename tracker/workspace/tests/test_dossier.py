"""An official's dossier (page, print, CSV) and the search by any name: who may see
them, what they hold, and a query count that does not grow with the incidents."""

import csv
import io
from datetime import date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tracker.models import Attribution, Incident, OfficialAlias, ReviewStatus, TargetType
from tracker.responsibility.chain import chain_of_command
from tracker.responsibility.dossier import BASIS_CHAIN, BASIS_DIRECT, dossier
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


def local(text: str) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(text))


@pytest.fixture
def case(db):
    """Dabbagh commands the air force until 30 September 2019; below it, a squadron."""
    force = f.ForceFactory(name="Republican Air Force")
    hq = f.UnitFactory(force=force, name="Air Force Command")
    squadron = f.UnitFactory(force=force, name="678th Squadron", parent=hq)
    dabbagh = f.OfficialFactory(name="Marwan al-Dabbagh", nationality="Syrian", born="1957-03")
    f.OfficialAliasFactory(official=dabbagh, name="مروان الدباغ", script="arabic", language="ar")
    f.OfficialAliasFactory(official=dabbagh, name="Марван Даббаг", script="cyrillic", language="ru")
    f.PositionFactory(
        official=dabbagh,
        unit=hq,
        title="Commander",
        rank="Lieutenant General",
        start=date(2016, 3, 1),
        start_precision="month",
        end=date(2019, 9, 30),
    )
    market, hospital = (
        TargetType.objects.get(name="Market"),
        TargetType.objects.get(name="Hospital or clinic"),
    )
    under = f.IncidentFactory(
        title="Airstrike on the market", occurred_start=local("2019-05-26 19:30"),
        start_precision="minute", killed_min=5, killed_max=8, civilian_harm="confirmed",
        target_types=[market],
    )  # fmt: skip
    attribution = f.AttributionFactory(incident=under, unit=squadron, role="direct")
    log = f.EvidenceItemFactory(title="Spotter log")
    attribution.supporting_evidence.add(log)
    direct = f.IncidentFactory(
        title="Airstrike on the hospital", occurred_start=local("2019-07-03 10:50"),
        start_precision="minute", killed_min=1, killed_max=2, civilian_harm="fair",
        target_types=[hospital],
    )  # fmt: skip
    named = f.AttributionFactory(incident=direct, unit=None, official=dabbagh, role="ordered")
    photo = f.EvidenceItemFactory(title="Photo")
    named.supporting_evidence.add(photo)
    after = f.IncidentFactory(occurred_start=local("2019-12-02 08:10"), target_types=[market])
    f.AttributionFactory(incident=after, unit=squadron)  # after he left: not his
    return {
        "official": dabbagh,
        "squadron": squadron,
        "hq": hq,
        "under": under,
        "direct": direct,
        "after": after,
        "log": log,
        "photo": photo,
        "market": market,
    }


def url(name: str, official) -> str:
    return reverse(f"officials:{name}", args=[official.pk])


# --- Who may see it ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dossier", "dossier_print", "dossier_csv"])
def test_anonymous_visitor_is_sent_to_the_login_page(client, case, name):
    target = url(name, case["official"])
    response = client.get(target)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={target}"


@pytest.mark.parametrize("name", ["dossier", "dossier_print", "dossier_csv"])
def test_user_without_view_permission_is_refused(client, case, outsider, name):
    client.force_login(outsider)
    assert client.get(url(name, case["official"])).status_code == 403


def test_search_without_view_permission_is_refused(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("officials:search"), {"q": "Hasan"}).status_code == 403


def test_unknown_official_is_not_found(client, researcher):
    client.force_login(researcher)
    assert client.get(reverse("officials:dossier", args=[999999])).status_code == 404


# --- What it holds ------------------------------------------------------------------------


def verify_all() -> None:
    """Every attribution verified (a bulk update: the workflow is not what is tested here)."""
    Attribution.objects.update(status=ReviewStatus.VERIFIED)


def test_dossier_lists_direct_and_command_chain_incidents_with_their_evidence(case):
    verify_all()
    found = dossier(case["official"])

    assert [e.incident for e in found.incidents] == [case["under"], case["direct"]]
    under, direct = found.incidents
    (chain,) = under.links
    assert (chain.basis, chain.certainty, chain.depth) == (BASIS_CHAIN, "certain", 1)
    assert chain.evidence == (case["log"].code,)
    (named,) = direct.links
    assert (named.basis, named.evidence) == (BASIS_DIRECT, (case["photo"].code,))
    assert found.totals.incidents == 2
    assert (found.totals.killed_min, found.totals.killed_max) == (6, 10)
    assert found.totals.by_target_type == [("Hospital or clinic", 1), ("Market", 1)]
    assert found.totals.by_month == [("2019-05", 1), ("2019-07", 1)]


def test_dossier_page_shows_identity_names_postings_incidents_and_totals(client, researcher, case):
    verify_all()
    client.force_login(researcher)
    page = client.get(url("dossier", case["official"])).content.decode()

    for name in ("Marwan al-Dabbagh", "مروان الدباغ", "Марван Даббаг"):
        assert f">{name}</bdi>" in page
    assert '<bdi dir="auto" lang="ar">مروان الدباغ</bdi>' in page
    assert "Lieutenant General" in page and "2016-03" in page and "2019-09-30" in page
    for incident in (case["under"], case["direct"]):
        assert incident.code in page
    assert case["after"].code not in page
    assert "<strong>command chain</strong>: Commander of Air Force Command, 1 level above " in page
    assert "<strong>direct attribution</strong>: ordered, low confidence" in page
    assert case["log"].code in page and case["photo"].code in page
    assert "2019-05-26 19:30" in page and "confirmed" in page and "5–8" in page
    assert "6–10" in page  # killed, all incidents
    assert 'aria-current="page"' in page and "<nav" in page
    assert url("dossier_print", case["official"]) in page
    assert url("dossier_csv", case["official"]) in page


def test_printable_dossier_has_no_navigation_and_a_print_stylesheet(client, researcher, case):
    client.force_login(researcher)
    page = client.get(url("dossier_print", case["official"])).content.decode()
    assert "<nav" not in page
    assert "tracker/print.css" in page
    assert case["under"].code in page and "Printed " in page and "researcher" in page


def test_possible_link_shows_its_reason(client, researcher, case):
    september = f.IncidentFactory(occurred_start=local("2019-09-01 00:00"), start_precision="month")
    f.AttributionFactory(incident=september, unit=case["squadron"])
    client.force_login(researcher)
    page = client.get(url("dossier", case["official"])).content.decode()
    assert september.code in page
    assert "possibly before the incident (2019-09)" not in page  # ends 30 Sept: covers it
    october = f.IncidentFactory(occurred_start=local("2019-01-01 00:00"), start_precision="year")
    f.AttributionFactory(incident=october, unit=case["squadron"])
    page = client.get(url("dossier", case["official"])).content.decode()
    assert "possibly before the incident (2019)" in page


def test_rejected_incident_and_rejected_attribution_are_left_out(case):
    Incident.objects.filter(pk=case["under"].pk).update(status=ReviewStatus.REJECTED)
    case["direct"].attributions.update(status=ReviewStatus.REJECTED)
    assert dossier(case["official"]).incidents == []


def test_dossier_agrees_with_the_chain_of_every_incident(case):
    """Both directions read the same facts the same way."""
    others = [
        f.IncidentFactory(occurred_start=local(f"2019-{m:02d}-15 12:00"), start_precision=p)
        for m, p in ((9, "month"), (10, "day"), (1, "year"), (3, "minute"))
    ]
    for incident in others:
        f.AttributionFactory(incident=incident, unit=case["squadron"])
    official = case["official"]
    via_chain = {
        e.incident.pk
        for e in dossier(official).incidents
        if any(link.basis == BASIS_CHAIN for link in e.links)
    }
    expected = {
        i.pk
        for i in Incident.objects.all()
        if any(entry.official == official for entry in chain_of_command(i))
    }
    assert via_chain == expected
    assert len(expected) >= 3


def _add_incidents(case, n: int) -> None:
    for k in range(n):
        incident = f.IncidentFactory(occurred_start=local(f"2019-0{1 + k % 8}-0{1 + k % 9} 09:00"))
        a = f.AttributionFactory(incident=incident, unit=case["squadron"])
        a.supporting_evidence.add(f.EvidenceItemFactory())
        f.AttributionFactory(incident=incident, unit=None, official=case["official"])


@pytest.mark.parametrize("name", ["dossier", "dossier_print", "dossier_csv"])
def test_dossier_queries_do_not_grow_with_incidents(client, researcher, case, name):
    client.force_login(researcher)
    target = url(name, case["official"])
    client.get(target)  # warm the session and permission caches alike for both runs
    with CaptureQueriesContext(connection) as few:
        assert client.get(target).status_code == 200
    _add_incidents(case, 12)
    with CaptureQueriesContext(connection) as many:
        response = client.get(target)
    assert response.status_code == 200
    assert len(dossier(case["official"]).incidents) == 14
    assert len(many.captured_queries) == len(few.captured_queries)


def test_official_with_40_aliases(client, researcher, case, django_assert_max_num_queries):
    official = case["official"]
    for n in range(40):
        OfficialAlias.objects.create(official=official, name=f"Dabbagh variant {n:02d}")
    client.force_login(researcher)
    with django_assert_max_num_queries(12):
        page = client.get(url("dossier", official)).content.decode()
    assert page.count("Dabbagh variant") == 40
    assert "(43)" in page  # the name and 42 aliases
    search = client.get(reverse("officials:search"), {"q": "variant"})
    assert [o.name for o in search.context["officials"]] == ["Marwan al-Dabbagh"]


# --- CSV ------------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_has_one_row_per_link_in_utf8_with_a_bom(client, researcher, case):
    client.force_login(researcher)
    response = client.get(url("dossier_csv", case["official"]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    header, *rows = _csv(response)
    assert header[:3] == ["official", "incident", "title"]
    assert [(r[1], r[12]) for r in rows] == [
        (case["under"].code, BASIS_CHAIN),
        (case["direct"].code, BASIS_DIRECT),
    ]
    assert rows[0][header.index("evidence items")] == case["log"].code
    assert rows[0][header.index("killed max")] == "8"


def test_csv_neutralises_formulas_and_keeps_arabic(client, researcher, case):
    official = case["official"]
    official.name = "@SUM(1+1) الدباغ"
    official.save()
    case["under"].title = '=HYPERLINK("http://evil.example","x")'
    case["under"].save()
    case["direct"].title = "-2+3 and +cmd and \ttab"
    case["direct"].save()
    client.force_login(researcher)
    header, *rows = _csv(client.get(url("dossier_csv", official)))
    assert rows[0][0] == "'@SUM(1+1) الدباغ"
    assert rows[0][2] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows[1][2] == "'-2+3 and +cmd and \ttab"
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    assert not any(cell.startswith(dangerous) for row in rows for cell in row)


# --- Search by any name ---------------------------------------------------------------------


@pytest.fixture
def named(db):
    hassan = f.OfficialFactory(name="Suhail al-Hassan")
    f.OfficialAliasFactory(official=hassan, name="سهيل الحسن", script="arabic")
    f.OfficialAliasFactory(official=hassan, name="Сухейль аль-Хасан", script="cyrillic")
    sukhoi = f.OfficialFactory(name="Pavel Sukhoy")
    f.OfficialAliasFactory(official=sukhoi, name="Павел Сухой", script="cyrillic")
    f.OfficialFactory(name="Hussein Someone")
    unit = f.UnitFactory(name="25th Division", aliases="الفرقة 25\nСилы Тигра")
    f.PositionFactory(official=hassan, unit=unit)
    return hassan, sukhoi


def _found(client, term: str) -> list[str]:
    response = client.get(reverse("officials:search"), {"q": term})
    assert response.status_code == 200
    return [o.name for o in response.context["officials"]]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Сухой", ["Pavel Sukhoy"]),
        ("Suhoi", ["Pavel Sukhoy"]),
        ("SUKHOY", ["Pavel Sukhoy"]),
        ("al-Hassan", ["Suhail al-Hassan"]),
        ("Hasan", ["Suhail al-Hassan"]),
        ("الحسن", ["Suhail al-Hassan"]),
        ("حسن", ["Suhail al-Hassan"]),
        ("Хасан", ["Suhail al-Hassan"]),
        ("suheil", ["Suhail al-Hassan"]),
        ("Husein", ["Hussein Someone"]),
        ("Putin", []),
    ],
)
def test_search_finds_officials_by_any_name_in_any_script(
    client, researcher, named, term, expected
):
    client.force_login(researcher)
    assert _found(client, term) == expected


def test_search_finds_units_and_their_commanders(client, researcher, named):
    client.force_login(researcher)
    response = client.get(reverse("officials:search"), {"q": "сила тигра"})
    assert [u.name for u in response.context["units"]] == []  # different word form
    response = client.get(reverse("officials:search"), {"q": "Силы тигра"})
    assert [u.name for u in response.context["units"]] == ["25th Division"]
    assert reverse("officials:dossier", args=[named[0].pk]) in response.content.decode()
    response = client.get(reverse("officials:search"), {"q": "الفرقه"})  # ta marbuta folded
    assert [u.name for u in response.context["units"]] == ["25th Division"]


def test_search_term_is_shown_escaped(client, researcher, named):
    client.force_login(researcher)
    response = client.get(reverse("officials:search"), {"q": "<script>alert(1)</script>"})
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_empty_search_lists_nothing(client, researcher, named):
    client.force_login(researcher)
    assert _found(client, "  ---  ") == []


# --- Reachable from the admin -----------------------------------------------------------------


def test_admin_links_to_the_dossier(client, editor, case):
    official = case["official"]
    client.force_login(editor)
    listing = client.get(reverse("admin:tracker_official_changelist")).content.decode()
    change = client.get(reverse("admin:tracker_official_change", args=[official.pk]))
    assert url("dossier", official) in listing
    assert url("dossier", official) in change.content.decode()


def test_official_with_no_postings_and_no_incidents(client, researcher):
    nobody = f.OfficialFactory(name="Unposted Person")
    client.force_login(researcher)
    page = client.get(url("dossier", nobody)).content.decode()
    assert "No posting is recorded." in page
    assert "No incident is attributed to this official" in page
    header, *rows = _csv(client.get(url("dossier_csv", nobody)))
    assert rows == []
