"""Forces, units and officials through the API, and an official's dossier: found by any
of their names, each behind the model's view permission, restricted incidents left out
of a dossier for those who may not see them."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import Permission

from evidence.tests.test_restricted_items import named
from tracker.api.tests.calls import problem, token_client
from tracker.models import Incident, ReviewStatus, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def commander(db):
    official = f.OfficialFactory(name="Suhail al-Hassan")
    f.OfficialAliasFactory(official=official, name="سهيل الحسن", script="arabic")
    squadron = f.UnitFactory(name="678th Squadron")
    f.PositionFactory(
        official=official, unit=squadron, title="Commander", is_command=True, start=date(2016, 1, 1)
    )
    return official, squadron


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:300]
    return [row["id"] for row in response.json()["results"]]


def test_an_official_is_found_by_any_of_their_names(researcher, commander):
    official, _ = commander
    f.OfficialFactory(name="Someone Else")
    client = token_client(researcher)
    assert ids(client.get("/api/officials/?q=سهيل")) == [official.pk]
    assert ids(client.get("/api/officials/?q=al hassan")) == [official.pk]
    body = client.get(f"/api/officials/{official.pk}/").json()
    assert body["aliases"] == ["سهيل الحسن"]
    assert body["postings"][0]["unit"] == "678th Squadron"
    assert body["postings"][0]["is_command"] is True


def test_units_by_name_and_force(researcher, commander):
    _, squadron = commander
    other = f.UnitFactory(name="Tiger Forces")
    client = token_client(researcher)
    assert ids(client.get("/api/units/?q=678th")) == [squadron.pk]
    assert ids(client.get(f"/api/units/?force={other.force_id}")) == [other.pk]
    assert client.get(f"/api/forces/{squadron.force_id}/").json()["name"] == squadron.force.name
    for wrong in ("-3.402823466e%2B38", "99999999999999999999999", "ten"):  # found by schemathesis
        assert problem(client.get(f"/api/units/?force={wrong}"))["errors"]["force"]


def test_a_dossier_leaves_out_restricted_incidents_for_whoever_may_not_see_them(
    researcher, commander
):
    official, squadron = commander
    seen = f.IncidentFactory(title="Strike on the market")
    hidden = f.IncidentFactory(title="SECRET clinic", sensitivity=Sensitivity.RESTRICTED)
    for incident in (seen, hidden):
        f.AttributionFactory(
            incident=incident, unit=squadron, status=ReviewStatus.VERIFIED, role="direct"
        )
    Incident.objects.filter(pk__in=[seen.pk, hidden.pk]).update(status=ReviewStatus.VERIFIED)
    body = token_client(researcher).get(f"/api/officials/{official.pk}/dossier/").json()
    codes = [row["code"] for row in body["findings"] + body["in_review"]]
    assert codes == [seen.code] and "SECRET" not in str(body)
    named(researcher)
    body = token_client(researcher).get(f"/api/officials/{official.pk}/dossier/").json()
    codes = {row["code"] for row in body["findings"] + body["in_review"]}
    assert codes == {seen.code, hidden.code}


def test_each_needs_the_models_view_permission(db, commander):
    from tracker.tests.factories import UserFactory

    official, squadron = commander
    clerk = UserFactory(username="clerk")
    client = token_client(clerk)
    for url in ("/api/officials/", f"/api/officials/{official.pk}/dossier/", "/api/units/"):
        response = client.get(url)
        assert response.status_code == 403
        assert problem(response)["detail"].startswith("This account may not view")
    clerk.user_permissions.add(Permission.objects.get(codename="view_unit"))
    assert token_client(clerk).get("/api/units/").status_code == 200


def test_postings_are_listed_by_official_and_unit(researcher, commander):
    official, squadron = commander
    f.PositionFactory(official=f.OfficialFactory(name="Other"), unit=f.UnitFactory(name="Else"))
    client = token_client(researcher)
    rows = client.get(f"/api/postings/?official={official.pk}").json()["results"]
    assert [(r["official"], r["unit"], r["title"]) for r in rows] == [
        ("Suhail al-Hassan", "678th Squadron", "Commander")
    ]
    assert len(ids(client.get(f"/api/postings/?unit={squadron.pk}"))) == 1
    assert len(ids(client.get("/api/postings/"))) == 2
    assert client.get("/api/postings/?official=many").status_code == 400


def test_attributions_of_restricted_incidents_are_absent(researcher, other_researcher, commander):
    official, _ = commander
    named(other_researcher)
    open_incident = f.IncidentFactory()
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    shown = f.AttributionFactory(incident=open_incident, official=official)
    hidden = f.AttributionFactory(incident=restricted, official=official)
    client = token_client(researcher)
    rows = client.get(f"/api/attributions/?official={official.pk}").json()["results"]
    assert [(r["id"], r["incident"]) for r in rows] == [(shown.pk, open_incident.code)]
    assert ids(client.get(f"/api/attributions/?incident={restricted.code}")) == []
    assert client.get(f"/api/attributions/{hidden.pk}/").status_code == 404
    assert token_client(other_researcher).get(f"/api/attributions/{hidden.pk}/").status_code == 200
