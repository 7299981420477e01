"""Incidents through the API: the workspace's filters, keyset pages, ETags, restricted
incidents absent, and review actions with the workflow's own refusals."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing

from evidence.tests.test_restricted_items import named
from tracker import workflow
from tracker.api.pagination import BAD_CURSOR, SALT
from tracker.api.tests.calls import problem, token_client
from tracker.models import ReviewStatus, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db
LIST = "/api/incidents/"


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [row["code"] for row in response.json()["results"]]


def every_page(client, url: str) -> list[str]:
    found = []
    while url:
        response = client.get(url)
        found += codes(response)
        url = response.json()["next"]
    return found


def test_pages_follow_each_other_without_repeats_or_gaps(researcher):
    incidents = [f.IncidentFactory() for _ in range(7)]
    client = token_client(researcher)
    expected = sorted(incidents, key=lambda i: (i.occurred_start, i.pk), reverse=True)
    assert every_page(client, LIST + "?page_size=3") == [i.code for i in expected]
    assert every_page(client, LIST + "?page_size=3&sort=code") == sorted(i.code for i in incidents)
    assert every_page(client, LIST + "?page_size=2&sort=-code") == sorted(
        (i.code for i in incidents), reverse=True
    )


def test_a_page_is_stable_when_rows_are_added_before_it(researcher):
    first_batch = [f.IncidentFactory() for _ in range(4)]
    client = token_client(researcher)
    page = client.get(LIST + "?page_size=2&sort=code").json()
    f.IncidentFactory.create_batch(3)  # newer codes: after the last page; none repeats
    rest = every_page(client, page["next"])
    assert [row["code"] for row in page["results"]] + rest[:2] == [i.code for i in first_batch]
    assert len(rest) == 2 + 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page_size=0", "page_size"),
        ("page_size=501", "page_size"),
        ("page_size=ten", "page_size"),
        ("page_size=%EF%BC%91", "page_size"),  # a full-width digit one
        ("cursor=nonsense", "cursor"),
        ("occurred_after=2019-13-45", "occurred_after"),
        ("status=lost", "status"),
        ("killed_at_least=-1", "killed_at_least"),
        ("killed_at_most=2.5", "killed_at_most"),
        ("sort=sideways", "sort"),
        ("sort=-killed", "sort"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(researcher, query, field):
    f.IncidentFactory()
    response = token_client(researcher).get(f"{LIST}?{query}")
    assert response.status_code == 400
    body = problem(response)
    assert field in body["errors"], body


def test_a_count_beyond_any_column_finds_nothing_rather_than_failing(researcher):
    f.IncidentFactory()
    huge = "9" * 30
    client = token_client(researcher)
    assert codes(client.get(f"{LIST}?killed_at_least={huge}")) == []
    assert problem(client.get(f"{LIST}?attack_type={huge}"))["errors"]["attack_type"]


def test_a_parameter_of_one_value_sent_twice_is_refused(researcher):
    f.IncidentFactory()
    client = token_client(researcher)
    response = client.get(LIST + "?governorate=Idlib&governorate=Hama&status=draft&status=verified")
    assert problem(response)["errors"] == {"governorate": ["Give this parameter once."]}
    assert client.get(LIST + "?status=draft&status=verified").status_code == 200


def test_a_cursor_from_another_order_or_forged_is_refused(researcher):
    f.IncidentFactory.create_batch(3)
    client = token_client(researcher)
    cursor = parse_qs(urlsplit(client.get(LIST + "?page_size=1").json()["next"]).query)["cursor"][0]
    other_order = client.get(f"{LIST}?sort=code&cursor={cursor}")
    assert problem(other_order)["errors"]["cursor"] == [BAD_CURSOR]
    forged = signing.dumps({"order": ["-occurred_start", "-id"], "values": [1]}, salt="other")
    assert client.get(f"{LIST}?cursor={forged}").status_code == 400
    short = signing.dumps({"order": ["-occurred_start", "-id"], "values": [1]}, salt=SALT)
    assert problem(client.get(f"{LIST}?cursor={short}"))["errors"]["cursor"] == [BAD_CURSOR]


def test_the_workspace_filters_apply(researcher):
    market = f.IncidentFactory(title="Strike on the vegetable market", killed_min=9, killed_max=12)
    school = f.IncidentFactory(
        title="Strike on a school", killed_min=0, killed_max=1, created_by=researcher
    )
    workflow.transition(school, "submit", by=researcher)
    client = token_client(researcher)
    assert codes(client.get(LIST + "?q=vegetable")) == [market.code]
    assert codes(client.get(LIST + "?killed_at_least=5")) == [market.code]
    assert codes(client.get(LIST + "?killed_at_most=1")) == [school.code]
    assert codes(client.get(LIST + "?status=submitted")) == [school.code]
    assert codes(client.get(LIST + "?status=draft&status=submitted&sort=code")) == sorted(
        [market.code, school.code]
    )


def test_restricted_incidents_are_absent_unless_the_account_may_see_them(researcher):
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, title="SECRET clinic")
    open_one = f.IncidentFactory()
    client = token_client(researcher)
    assert codes(client.get(LIST)) == [open_one.code]
    assert codes(client.get(LIST + "?q=SECRET")) == []
    detail = client.get(f"{LIST}{restricted.code}/")
    assert detail.status_code == 404 and problem(detail)["detail"]
    assert client.get(f"{LIST}INC-9999/").json() == detail.json()  # the same as unknown
    named(researcher)
    named_client = token_client(researcher)
    assert set(codes(named_client.get(LIST))) == {restricted.code, open_one.code}


def test_a_record_shows_its_evidence_and_attributions(researcher):
    incident = f.IncidentFactory()
    item = f.EvidenceItemFactory(title="Crater photo")
    f.EvidenceLinkFactory(item=item, incident=incident, relevance="the crater")
    attribution = f.AttributionFactory(incident=incident, basis="two witnesses")
    attribution.supporting_evidence.add(item)
    body = token_client(researcher).get(f"{LIST}{incident.code}/").json()
    assert body["evidence"] == [
        {
            "item": item.code,
            "kind": "photo",
            "title": "Crater photo",
            "item_status": "draft",
            "relevance": "the crater",
            "relied_on": True,
        }
    ]
    assert body["attributions"][0]["basis"] == "two witnesses"
    assert body["attributions"][0]["supporting_evidence"] == [item.code]
    assert body["url"].endswith(f"/api/incidents/{incident.code}/")


def test_a_record_names_the_chain_of_command_on_the_incidents_date(researcher):
    from datetime import UTC, date, datetime

    from django.contrib.auth.models import Permission

    division = f.UnitFactory(name="4th Division")
    brigade = f.UnitFactory(name="42nd Brigade", parent=division)
    chief = f.OfficialFactory(name="Chief")
    f.PositionFactory(official=chief, unit=division, title="Commander", start=date(2018, 1, 1))
    f.PositionFactory(  # left before the strike
        official=f.OfficialFactory(name="Former"),
        unit=brigade,
        start=date(2015, 1, 1),
        end=date(2016, 1, 1),
    )
    incident = f.IncidentFactory(
        occurred_start=datetime(2019, 5, 13, 7, 0, tzinfo=UTC), start_precision="day"
    )
    f.AttributionFactory(incident=incident, unit=brigade)
    body = token_client(researcher).get(f"{LIST}{incident.code}/").json()
    assert [
        (c["attributed_unit"], c["unit"], c["levels_above"], c["official"], c["certainty"])
        for c in body["chain_of_command"]
    ] == [("42nd Brigade", "4th Division", 1, "Chief", "certain")]

    reader = f.UserFactory(username="reader")
    reader.user_permissions.add(Permission.objects.get(codename="view_incident"))
    assert "chain_of_command" not in token_client(reader).get(f"{LIST}{incident.code}/").json()


def test_a_record_answers_304_to_the_version_held(researcher):
    incident = f.IncidentFactory()
    client = token_client(researcher)
    first = client.get(f"{LIST}{incident.code}/")
    tag = first["ETag"]
    assert tag and first["Cache-Control"] == "private, no-cache"
    again = client.get(f"{LIST}{incident.code}/", HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 304 and again["ETag"] == tag and not again.content
    incident.title = "Strike on the bakery, corrected"
    incident.save()
    changed = client.get(f"{LIST}{incident.code}/", HTTP_IF_NONE_MATCH=tag)
    assert changed.status_code == 200 and changed["ETag"] != tag


def test_review_actions_go_through_the_workflow(researcher, reviewer):
    incident = f.IncidentFactory(created_by=researcher)
    url = f"{LIST}{incident.code}/transitions/"
    mine = token_client(researcher)
    done = mine.post(url, {"action": "submit"}, content_type="application/json")
    assert done.status_code == 201
    assert done.json()["from_status"] == "draft" and done.json()["status"] == "submitted"
    # Four eyes: the same words as the admin's.
    incident.refresh_from_db()
    assert workflow.refusal(incident, "verify", reviewer, "") is None
    reviewer_client = token_client(reviewer)
    needs_comment = reviewer_client.post(url, {"action": "reject"}, content_type="application/json")
    assert needs_comment.status_code == 409
    assert problem(needs_comment)["detail"] == "'reject' needs a comment saying why."
    verify = reviewer_client.post(url, {"action": "verify"}, content_type="application/json")
    assert verify.status_code == 201
    incident.refresh_from_db()
    assert incident.status == ReviewStatus.VERIFIED
    # Locked now: the workflow's own words, as 409.
    again = reviewer_client.post(url, {"action": "verify"}, content_type="application/json")
    assert problem(again)["detail"] == workflow.refusal(incident, "verify", reviewer, "")
    # Four eyes: the author may not verify their own incident.
    own = f.IncidentFactory(created_by=reviewer)
    workflow.transition(own, "submit", by=reviewer)
    refused = reviewer_client.post(
        f"{LIST}{own.code}/transitions/", {"action": "verify"}, content_type="application/json"
    )
    assert refused.status_code == 409
    assert problem(refused)["detail"].startswith("Four eyes: you cannot verify")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"action": "destroy"},
        {"action": ["submit"]},
        {"action": "submit", "comment": "x" * 5001},
    ],
)
def test_a_bad_transition_request_is_a_400(researcher, body):
    incident = f.IncidentFactory(created_by=researcher)
    response = token_client(researcher).post(
        f"{LIST}{incident.code}/transitions/", body, content_type="application/json"
    )
    assert response.status_code == 400 and problem(response)["errors"]
    incident.refresh_from_db()
    assert incident.status == "draft"


def test_broken_json_is_a_400_not_a_500(researcher):
    incident = f.IncidentFactory(created_by=researcher)
    response = token_client(researcher).post(
        f"{LIST}{incident.code}/transitions/", "{action", content_type="application/json"
    )
    assert response.status_code == 400 and "JSON" in problem(response)["detail"]


def test_a_restricted_incidents_transition_is_404(researcher, other_researcher):
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    response = token_client(researcher).post(
        f"{LIST}{restricted.code}/transitions/",
        {"action": "submit"},
        content_type="application/json",
    )
    assert response.status_code == 404
    restricted.refresh_from_db()
    assert restricted.status == "draft"


def test_exports_hold_the_filtered_incidents_the_account_may_see(researcher):
    import csv
    import io
    import json

    market = f.IncidentFactory(title="Strike on the vegetable market")
    f.IncidentFactory(title="Strike on a school")
    f.IncidentFactory(title="SECRET vegetable depot", sensitivity=Sensitivity.RESTRICTED)
    client = token_client(researcher, ["read"])
    sheet = client.get(LIST + "export.csv?q=vegetable")
    assert sheet.status_code == 200 and sheet["Content-Type"].startswith("text/csv")
    assert sheet["Cache-Control"] == "private, no-store" and "Authorization" in sheet["Vary"]
    rows = list(csv.DictReader(io.StringIO(b"".join(sheet.streaming_content).decode("utf-8-sig"))))
    assert [row["code"] for row in rows] == [market.code]
    shapes = client.get(LIST + "export.geojson?q=vegetable")
    assert shapes["Content-Type"] == "application/geo+json"
    features = json.loads(b"".join(shapes.streaming_content))["features"]
    assert [feature["properties"]["code"] for feature in features] == [market.code]
    refused = client.get(LIST + "export.csv?occurred_after=2019-02-30")
    assert refused.status_code == 400 and "occurred_after" in str(problem(refused)["errors"])
    assert token_client(researcher, ["write"]).get(LIST + "export.csv").status_code == 403


def test_flights_are_ranked_for_a_strike_with_their_reasons(researcher):
    from datetime import UTC, datetime

    strike = f.IncidentFactory(
        occurred_start=datetime(2019, 5, 13, 7, 0, tzinfo=UTC), start_precision="minute"
    )
    near = f.FlightObservationFactory(observed_at=datetime(2019, 5, 13, 6, 50, tzinfo=UTC))
    f.FlightObservationFactory(observed_at=datetime(2019, 5, 13, 3, 0, tzinfo=UTC))  # outside
    client = token_client(researcher)
    ranked = client.get(f"{LIST}{strike.code}/flights/")
    assert ranked.status_code == 200, ranked.content
    body = ranked.json()
    assert [c["observation"]["id"] for c in body] == [near.pk]
    assert 0 <= body[0]["score"] <= 1 and body[0]["reasons"] and body[0]["confirmed"] is False
    assert body[0]["observation"]["log"] == near.log.item.code
    wider = client.get(f"{LIST}{strike.code}/flights/?before=300")
    assert len(wider.json()) == 2
    assert "before" in problem(client.get(f"{LIST}{strike.code}/flights/?before=2000"))["errors"]
    month = f.IncidentFactory(start_precision="month")
    refused = client.get(f"{LIST}{month.code}/flights/")
    assert refused.status_code == 409 and "dated only to the month" in problem(refused)["detail"]


def test_flights_need_the_observations_view_permission(db):
    from django.contrib.auth.models import Permission

    from tracker.tests.factories import UserFactory

    reader = UserFactory(username="reader")
    reader.user_permissions.add(Permission.objects.get(codename="view_incident"))
    incident = f.IncidentFactory()
    response = token_client(reader).get(f"{LIST}{incident.code}/flights/")
    assert response.status_code == 403
