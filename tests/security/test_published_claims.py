"""What is presented as published holds only what was checked (issue 14, finding H).

The attack: an incident was published while its attributions were still drafts, one
naming an official as commander with no evidence linked. The incident's page, the case
report and the exports filtered to published incidents, and the official's dossier all
presented that draft as part of the finding, with no review state; a draft photo linked
to the incident (while it was open, and left in draft) appeared in the report filtered to
published. Now a verified or published incident's finding is made of verified or
published attributions and items only (``tracker.findings``): the rest is left out, or
shown apart with its review state, and the dossier counts verified attributions only.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from tracker.models import Attribution, Incident, ReviewStatus
from tracker.tests.factories import (
    AttributionFactory,
    EvidenceItemFactory,
    EvidenceLinkFactory,
    ForceFactory,
    IncidentFactory,
    OfficialFactory,
    PositionFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db

PUBLISHED = {"status": "published"}
CHECKED = {"status": ["verified", "published"]}
DRAFT_BADGE = 'class="status-badge status-draft">draft</span>'
SUBMITTED_BADGE = 'class="status-badge status-submitted">submitted</span>'


def set_status(record, status: str) -> None:
    """The state the attack left behind, written directly: what is tested is how it is
    presented, not the workflow that should have refused it."""
    type(record).objects.filter(pk=record.pk).update(status=status)
    record.refresh_from_db()


@pytest.fixture
def attack(researcher):
    force = ForceFactory(name="Checked Air Force")
    squadron = UnitFactory(force=force, name="Unchecked Squadron")
    colonel = OfficialFactory(name="Colonel Drafted")
    general = OfficialFactory(name="General Chained")
    PositionFactory(official=general, unit=squadron, is_command=True, start=date(2018, 1, 1))
    incident = IncidentFactory(
        title="Published strike", occurred_start=datetime(2019, 5, 5, 9, tzinfo=UTC)
    )
    checked_photo = EvidenceItemFactory(title="Checked photo", sha256="a1" * 32)
    draft_photo = EvidenceItemFactory(title="Draft photo", sha256="d2" * 32)
    # Linked while the incident was open; the photo stays a draft.
    EvidenceLinkFactory(item=checked_photo, incident=incident)
    EvidenceLinkFactory(item=draft_photo, incident=incident)
    checked = AttributionFactory(incident=incident, unit=None, force=force)
    checked.supporting_evidence.add(checked_photo)
    commander = AttributionFactory(
        incident=incident, unit=None, official=colonel, role=Attribution.Role.COMMANDER
    )  # no evidence linked
    by_unit = AttributionFactory(incident=incident, unit=squadron)
    by_unit.supporting_evidence.add(draft_photo)
    submitted_incident = IncidentFactory(
        title="Submitted strike", occurred_start=datetime(2019, 6, 1, 9, tzinfo=UTC)
    )
    submitted = AttributionFactory(
        incident=submitted_incident, unit=None, official=colonel, role=Attribution.Role.ORDERED
    )
    set_status(checked_photo, ReviewStatus.PUBLISHED)
    set_status(checked, ReviewStatus.VERIFIED)
    set_status(submitted, ReviewStatus.SUBMITTED)
    set_status(submitted_incident, ReviewStatus.SUBMITTED)
    set_status(incident, ReviewStatus.PUBLISHED)
    return {
        "incident": incident,
        "submitted_incident": submitted_incident,
        "checked": checked,
        "commander": commander,
        "by_unit": by_unit,
        "submitted": submitted,
        "checked_photo": checked_photo,
        "draft_photo": draft_photo,
        "colonel": colonel,
        "general": general,
    }


@pytest.fixture
def logged_in(client, researcher):
    client.force_login(researcher)
    return client


def between(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


# --- The incident page ----------------------------------------------------------------------


def test_published_page_shows_checked_attributions_as_the_finding_and_drafts_apart(
    logged_in, attack
):
    response = logged_in.get(reverse("incidents:detail", args=[attack["incident"].code]))
    attributions = response.context["attributions"]
    assert attributions.finding == [attack["checked"]]
    assert attributions.apart == [attack["commander"], attack["by_unit"]]
    html = response.content.decode()
    finding = between(html, 'id="attributions-heading"', 'id="apart-heading"')
    assert "Attributions: the finding" in finding
    assert "Checked Air Force" in finding
    assert "Colonel Drafted" not in finding and "Unchecked Squadron" not in finding
    apart = between(html, 'id="apart-heading"', 'id="chain-heading"')
    assert "Not part of the finding" in apart
    assert "Colonel Drafted" in apart and "Unchecked Squadron" in apart
    assert apart.count(DRAFT_BADGE) == 2


def test_published_page_marks_the_chain_and_the_draft_photo(logged_in, attack):
    response = logged_in.get(reverse("incidents:detail", args=[attack["incident"].code]))
    [row] = response.context["chain"]
    assert row.entry.official == attack["general"]
    assert (row.status, row.in_finding) == (ReviewStatus.DRAFT, False)
    html = response.content.decode()
    chain = between(html, 'id="chain-heading"', "</table>")
    assert DRAFT_BADGE in chain and "not part of the finding" in chain
    draft_card = between(html, f'id="evidence-{attack["draft_photo"].code}"', "</li>")
    assert DRAFT_BADGE in draft_card and "not part of the finding" in draft_card
    checked_card = between(html, f'id="evidence-{attack["checked_photo"].code}"', "</li>")
    assert "status-published" in checked_card and "not part of the finding" not in checked_card
    # The map's feature is the export's row: the finding only.
    feature = response.context["map_config"]["features"]["features"][0]["properties"]
    assert feature["attributed_to"] == "Checked Air Force"
    assert feature["evidence_items"] == 1


def test_a_draft_incident_shows_every_attribution_with_its_state(logged_in, attack):
    incident = attack["incident"]
    set_status(incident, ReviewStatus.DRAFT)
    response = logged_in.get(reverse("incidents:detail", args=[incident.code]))
    attributions = response.context["attributions"]
    assert not attributions.checked and attributions.apart == []
    assert len(attributions.finding) == 3
    html = response.content.decode()
    assert "Attributions: the finding" not in html
    assert html.count(DRAFT_BADGE) >= 3  # two attributions, the photo (and the incident)


# --- The case report, filtered to published ---------------------------------------------------


@pytest.mark.parametrize("query", [PUBLISHED, CHECKED])
def test_report_filtered_to_published_holds_the_finding_only(logged_in, attack, query):
    response = logged_in.get(reverse("case_report"), query)
    [section] = response.context["sections"]
    assert [a for a, _ in section.attributions] == [attack["checked"]]
    assert [link.item for link in section.incident.evidence_links.all()] == [
        attack["checked_photo"]
    ]
    html = response.content.decode()
    for absent in (
        attack["draft_photo"].code,
        "Colonel Drafted",
        "General Chained",
        "Unchecked Squadron",
        DRAFT_BADGE,
    ):
        assert absent not in html
    assert attack["checked_photo"].code in html and "Checked Air Force" in html
    assert [entry.official for entry, _ in response.context["officials"]] == []
    assert [(force.name, n) for force, n in response.context["forces"]] == [
        ("Checked Air Force", 1)
    ]


def test_unfiltered_report_shows_drafts_of_open_incidents_with_their_state(logged_in, attack):
    set_status(attack["incident"], ReviewStatus.SUBMITTED)
    response = logged_in.get(reverse("case_report"))
    html = response.content.decode()
    section = between(html, f'id="{attack["incident"].code}"', "</section>")
    assert attack["draft_photo"].code in section and "Colonel Drafted" in section
    assert DRAFT_BADGE in section
    officials = between(html, 'id="officials-heading"', "</article>")
    assert "Colonel Drafted" in officials and DRAFT_BADGE in officials
    assert SUBMITTED_BADGE in officials  # the other incident's submitted attribution


# --- The exports, filtered to published ---------------------------------------------------------


def csv_rows(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("query", [PUBLISHED, CHECKED])
def test_csv_filtered_to_published_names_and_counts_the_finding_only(logged_in, attack, query):
    [row] = csv_rows(logged_in.get(reverse("incidents:export_csv"), query))
    assert row["code"] == attack["incident"].code
    assert row["status"] == "published"
    assert row["attributed_to"] == "Checked Air Force"
    assert row["evidence_items"] == "1"


def test_geojson_filtered_to_published_names_and_counts_the_finding_only(logged_in, attack):
    response = logged_in.get(reverse("incidents:export_geojson"), PUBLISHED)
    [feature] = json.loads(b"".join(response.streaming_content))["features"]
    assert feature["properties"]["attributed_to"] == "Checked Air Force"
    assert feature["properties"]["evidence_items"] == 1


def test_unfiltered_export_still_names_the_drafts_of_an_open_incident(logged_in, attack):
    set_status(attack["incident"], ReviewStatus.DRAFT)
    rows = {r["code"]: r for r in csv_rows(logged_in.get(reverse("incidents:export_csv")))}
    row = rows[attack["incident"].code]
    assert row["attributed_to"] == "Checked Air Force; Colonel Drafted; Unchecked Squadron"
    assert row["evidence_items"] == "2"


# --- The official's dossier -------------------------------------------------------------------


def dossier_url(official, name: str = "dossier") -> str:
    return reverse(f"officials:{name}", args=[official.pk])


def test_dossier_counts_no_draft_and_labels_every_state(logged_in, attack):
    response = logged_in.get(dossier_url(attack["colonel"]))
    found = response.context["dossier"]
    assert [e.incident for e in found.incidents] == [
        attack["incident"],
        attack["submitted_incident"],
    ]
    assert found.totals.incidents == 0 and found.findings == []
    assert (found.totals.killed_min, found.totals.killed_max) == (0, 0)
    html = response.content.decode()
    totals = between(html, 'id="totals-heading"', "</section>")
    assert re.search(r"<dt>Incidents</dt><dd>0</dd>", totals)
    assert "2 more incidents linked only by attributions still in review" in totals
    findings = between(html, 'id="incidents-heading"', "</section>")
    assert attack["incident"].code not in findings
    in_review = between(html, 'id="in-review-heading"', "</section>")
    for code in (attack["incident"].code, attack["submitted_incident"].code):
        assert code in in_review
    # Each incident and each attribution carries its state.
    assert 'class="status-badge status-published">published</span>' in in_review
    assert in_review.count(SUBMITTED_BADGE) == 2  # the incident and its attribution
    assert DRAFT_BADGE in in_review


def test_dossier_counts_the_attribution_once_verified(logged_in, attack):
    set_status(attack["commander"], ReviewStatus.VERIFIED)
    response = logged_in.get(dossier_url(attack["colonel"]))
    found = response.context["dossier"]
    assert [e.incident for e in found.findings] == [attack["incident"]]
    assert [e.incident for e in found.in_review] == [attack["submitted_incident"]]
    assert found.totals.incidents == 1


def test_dossier_by_command_chain_counts_no_draft_either(logged_in, attack):
    found = logged_in.get(dossier_url(attack["general"])).context["dossier"]
    assert [e.incident for e in found.in_review] == [attack["incident"]]
    assert found.totals.incidents == 0


def test_dossier_marks_evidence_still_in_review(logged_in, attack):
    set_status(attack["by_unit"], ReviewStatus.VERIFIED)
    html = logged_in.get(dossier_url(attack["general"])).content.decode()
    findings = between(html, 'id="incidents-heading"', "</section>")
    assert f"{attack['draft_photo'].code}</a> <span " in findings
    assert DRAFT_BADGE in findings


@pytest.mark.parametrize("name", ["dossier_print"])
def test_printed_dossier_labels_the_states_too(logged_in, attack, name):
    html = logged_in.get(dossier_url(attack["colonel"], name)).content.decode()
    assert "In review, not findings" in html
    assert DRAFT_BADGE in html and SUBMITTED_BADGE in html


def test_dossier_csv_says_the_states_and_what_counts(logged_in, attack):
    response = logged_in.get(dossier_url(attack["colonel"], "dossier_csv"))
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [
        (r["incident"], r["incident status"], r["attribution status"], r["counted as a finding"])
        for r in rows
    ] == [
        (attack["incident"].code, "published", "draft", "no: attribution in review"),
        (attack["submitted_incident"].code, "submitted", "submitted", "no: attribution in review"),
    ]


def test_the_attack_state_is_what_the_tests_assume(attack):
    """Guards the fixture: a published incident with draft attributions and a draft photo."""
    incident = Incident.objects.get(pk=attack["incident"].pk)
    assert incident.status == ReviewStatus.PUBLISHED
    assert sorted(incident.attributions.values_list("status", flat=True)) == [
        ReviewStatus.DRAFT,
        ReviewStatus.DRAFT,
        ReviewStatus.VERIFIED,
    ]
    assert attack["draft_photo"].status == ReviewStatus.DRAFT
