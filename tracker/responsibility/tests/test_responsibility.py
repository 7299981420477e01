"""The chain of command of an incident: uncertain dates read as periods, a constant
number of queries however deep the tree, loops refused; attributions backed by
evidence; one-click commander attributions; overlapping command postings flagged."""

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tracker.admin.attribution import OVERLAP_FLAG, AttributionForm
from tracker.models import Attribution, Incident, Position, ReviewStatus, Unit
from tracker.responsibility.chain import (
    CERTAIN,
    NO_EVIDENCE,
    POSSIBLE,
    UNKNOWN_PRECISION,
    attribute_command,
    can_verify_attribution,
    chain_of_command,
    walk,
)
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


def local(text: str) -> datetime:
    """A local (case time zone) moment, as stored: aware."""
    return timezone.make_aware(datetime.fromisoformat(text))


def incident(when: str, precision: str = "minute", unit: Unit | None = None, **fields):
    found = f.IncidentFactory(occurred_start=local(when), start_precision=precision, **fields)
    if unit is not None:
        f.AttributionFactory(incident=found, unit=unit)
    return found


def posting(official_name: str, unit: Unit, start="", end="", **fields) -> Position:
    """A posting with dates written as in the CSV: "2019", "2019-05" or "2019-05-14"."""
    from tracker.responsibility.periods import parse_partial

    values = {"start": None, "end": None}
    for name, text in (("start", start), ("end", end)):
        if text:
            values[name], values[f"{name}_precision"] = parse_partial(text)
    official = f.OfficialFactory(name=official_name)
    return f.PositionFactory(official=official, unit=unit, **values, **fields)


def summary(entries) -> list[tuple]:
    return [(e.depth, e.unit.name, e.official.name, e.certainty) for e in entries]


@pytest.fixture
def tree():
    """Command -> Northern Group -> Hama Regiment -> 71st Brigade, and a sibling squadron."""
    force = f.ForceFactory(name="Republican Air Force")
    hq = f.UnitFactory(force=force, name="Air Force Command")
    group = f.UnitFactory(force=force, name="Northern Group", parent=hq)
    regiment = f.UnitFactory(force=force, name="Hama Regiment", parent=group)
    brigade = f.UnitFactory(force=force, name="71st Brigade", parent=regiment)
    sibling = f.UnitFactory(force=force, name="678th Squadron", parent=regiment)
    return {"hq": hq, "group": group, "regiment": regiment, "brigade": brigade, "sibling": sibling}


# --- The chain, upward ---------------------------------------------------------------------


def test_chain_runs_from_the_attributed_unit_upward(tree):
    posting("Head of State", tree["hq"], "2000")
    posting("Group Commander", tree["group"], "2017-06")
    posting("Regiment Commander", tree["regiment"], "2018-02", "2019-12-31")
    posting("Brigade Commander", tree["brigade"], "2018")
    posting("Squadron Commander", tree["sibling"], "2018")  # not above the brigade
    strike = incident("2019-05-03 06:50", unit=tree["brigade"])

    assert summary(chain_of_command(strike)) == [
        (0, "71st Brigade", "Brigade Commander", CERTAIN),
        (1, "Hama Regiment", "Regiment Commander", CERTAIN),
        (2, "Northern Group", "Group Commander", CERTAIN),
        (3, "Air Force Command", "Head of State", CERTAIN),
    ]


def test_posting_without_command_is_not_in_the_chain(tree):
    posting("Deputy", tree["brigade"], "2018", title="Deputy Commander", is_command=False)
    strike = incident("2019-05-03 06:50", unit=tree["brigade"])
    assert chain_of_command(strike) == []


def test_incident_attributed_to_no_unit_has_no_chain(tree):
    posting("Commander", tree["brigade"], "2018")
    strike = incident("2019-05-03 06:50")
    f.AttributionFactory(incident=strike, unit=None, force=tree["hq"].force)
    assert chain_of_command(strike) == []


def test_each_attributed_unit_gets_its_own_chain_in_the_order_attributed(tree):
    posting("Squadron Commander", tree["sibling"], "2018")
    posting("Brigade Commander", tree["brigade"], "2018")
    strike = incident("2019-05-03 06:50", unit=tree["sibling"])
    f.AttributionFactory(incident=strike, unit=tree["brigade"])
    f.AttributionFactory(incident=strike, unit=tree["sibling"], role="suspected")  # once only

    entries = chain_of_command(strike)
    assert [(e.attributed_unit.name, e.official.name) for e in entries] == [
        ("678th Squadron", "Squadron Commander"),
        ("71st Brigade", "Brigade Commander"),
    ]


def test_rejected_attribution_has_no_chain(tree):
    posting("Brigade Commander", tree["brigade"], "2018")
    strike = incident("2019-05-03 06:50", unit=tree["brigade"])
    Attribution.objects.filter(incident=strike).update(status=ReviewStatus.REJECTED)
    assert chain_of_command(strike) == []


def test_posting_ended_before_the_incident_is_not_in_the_chain(tree):
    posting("Former Commander", tree["brigade"], "2015", "2018-12-31")
    posting("Later Commander", tree["brigade"], "2019-06-01")
    strike = incident("2019-05-03 06:50", unit=tree["brigade"])
    assert chain_of_command(strike) == []


# --- Uncertain dates ------------------------------------------------------------------------


def test_command_changing_hands_in_the_middle_of_the_incident_period(tree):
    """Done when: the incident is known to the month; command changed on the 15th."""
    posting("Outgoing Commander", tree["brigade"], "2016-03", "2019-05-14")
    posting("Incoming Commander", tree["brigade"], "2019-05-15")
    strike = incident("2019-05-01 00:00", "month", unit=tree["brigade"])

    entries = chain_of_command(strike)

    assert summary(entries) == [
        (0, "71st Brigade", "Outgoing Commander", POSSIBLE),
        (0, "71st Brigade", "Incoming Commander", POSSIBLE),
    ]
    outgoing, incoming = entries
    assert outgoing.reason == "the posting ended 2019-05-14, possibly before the incident (2019-05)"
    assert incoming.reason == "the posting began 2019-05-15, possibly after the incident (2019-05)"


@pytest.mark.parametrize(
    ("when", "holder"),
    [("2019-05-14 23:59", "Outgoing Commander"), ("2019-05-15 00:00", "Incoming Commander")],
)
def test_incident_known_to_the_minute_has_one_certain_commander_at_a_handover(tree, when, holder):
    posting("Outgoing Commander", tree["brigade"], "2016-03", "2019-05-14")
    posting("Incoming Commander", tree["brigade"], "2019-05-15")
    strike = incident(when, unit=tree["brigade"])
    assert summary(chain_of_command(strike)) == [(0, "71st Brigade", holder, CERTAIN)]


def test_attack_lasting_across_a_handover_has_both_commanders_possible(tree):
    posting("Outgoing Commander", tree["brigade"], "2016-03", "2019-05-14")
    posting("Incoming Commander", tree["brigade"], "2019-05-15")
    shelling = incident(
        "2019-05-14 22:00", "hour", unit=tree["brigade"], occurred_end=local("2019-05-15 02:00")
    )
    assert [e.certainty for e in chain_of_command(shelling)] == [POSSIBLE, POSSIBLE]


def test_posting_start_known_to_the_month_is_possible_for_a_day_in_that_month(tree):
    posting("New Commander", tree["brigade"], "2019-05")
    strike = incident("2019-05-10 09:00", unit=tree["brigade"])
    (entry,) = chain_of_command(strike)
    assert entry.certainty == POSSIBLE
    assert "began 2019-05, possibly after the incident (2019-05-10 09:00)" in entry.reason
    later = incident("2019-06-01 00:00", "day", unit=tree["brigade"])
    assert [e.certainty for e in chain_of_command(later)] == [CERTAIN]


def test_posting_end_known_to_the_year_is_possible_within_that_year(tree):
    posting("Commander", tree["brigade"], "2015", "2019")
    assert [
        e.certainty for e in chain_of_command(incident("2019-12-31 23:00", unit=tree["brigade"]))
    ] == [POSSIBLE]
    assert [
        e.certainty for e in chain_of_command(incident("2018-12-31 23:00", unit=tree["brigade"]))
    ] == [CERTAIN]
    assert chain_of_command(incident("2020-01-01 00:00", unit=tree["brigade"])) == []


def test_open_end_means_still_in_post(tree):
    posting("Commander", tree["brigade"], "2018")
    strike = incident("2024-02-29 12:00", unit=tree["brigade"])
    (entry,) = chain_of_command(strike)
    assert (entry.certainty, entry.ended) == (CERTAIN, "")


def test_posting_with_unknown_start_is_only_possible(tree):
    posting("Commander", tree["brigade"], "", "2020-06-30")
    (entry,) = chain_of_command(incident("2019-05-03 06:50", unit=tree["brigade"]))
    assert (entry.certainty, entry.reason) == (POSSIBLE, "the posting's start is not recorded")


def test_incident_year_is_wider_than_a_posting_inside_it(tree):
    posting("Commander", tree["brigade"], "2019-03-01", "2019-08-31")
    (entry,) = chain_of_command(incident("2019-01-01 00:00", "year", unit=tree["brigade"]))
    assert entry.certainty == POSSIBLE
    assert "began 2019-03-01" in entry.reason and "ended 2019-08-31" in entry.reason


@pytest.mark.parametrize("stored", ["", "week"])
def test_incident_with_no_date_precision_is_read_as_up_to_a_year(tree, stored):
    posting("Short Commander", tree["brigade"], "2019-05-01", "2019-05-31")
    posting("Long Commander", tree["brigade"], "2010")
    strike = incident("2019-05-03 00:00", "day", unit=tree["brigade"])
    Incident.objects.filter(pk=strike.pk).update(start_precision=stored)  # a raw write
    strike.refresh_from_db()

    long, short = chain_of_command(strike)  # in order of the postings' start

    assert (short.official.name, short.certainty) == ("Short Commander", POSSIBLE)
    assert UNKNOWN_PRECISION in short.reason
    assert (long.official.name, long.certainty, long.reason) == ("Long Commander", CERTAIN, "")


def test_the_case_time_zone_decides_the_day(tree, settings):
    settings.TIME_ZONE = "Asia/Damascus"
    posting("Outgoing Commander", tree["brigade"], "2016-03", "2019-09-30")
    posting("Incoming Commander", tree["brigade"], "2019-10-01")
    # 01:00 on 1 October in Damascus is still 30 September in UTC.
    strike = incident("2019-10-01 01:00", unit=tree["brigade"])
    assert strike.occurred_start.astimezone(UTC).day == 30
    assert summary(chain_of_command(strike)) == [(0, "71st Brigade", "Incoming Commander", CERTAIN)]


# --- Acting commanders, two posts, overlaps --------------------------------------------------


def test_acting_commander_is_returned_beside_the_commander(tree):
    posting("Commander", tree["sibling"], "2018-09")
    posting("Stand-in", tree["sibling"], "2019-07-15", "2019-08-31", is_acting=True)
    strike = incident("2019-07-27 14:30", unit=tree["sibling"])

    entries = chain_of_command(strike)

    assert summary(entries) == [
        (0, "678th Squadron", "Commander", CERTAIN),
        (0, "678th Squadron", "Stand-in", CERTAIN),
    ]
    assert [e.position.is_acting for e in entries] == [False, True]


def test_official_holding_two_posts_at_once_appears_for_each(tree):
    two_hats = f.OfficialFactory(name="Two Hats")
    f.PositionFactory(official=two_hats, unit=tree["group"], start=date(2017, 6, 1))
    f.PositionFactory(official=two_hats, unit=tree["regiment"], start=date(2018, 2, 1))
    strike = incident("2019-05-03 06:50", unit=tree["brigade"])
    assert summary(chain_of_command(strike)) == [
        (1, "Hama Regiment", "Two Hats", CERTAIN),
        (2, "Northern Group", "Two Hats", CERTAIN),
    ]


def test_overlapping_command_postings_for_one_unit_are_both_returned(tree):
    posting("First Claimant", tree["brigade"], "2018", "2019-12-31")
    posting("Second Claimant", tree["brigade"], "2019-03")
    strike = incident("2019-05-03 06:50", unit=tree["brigade"])
    assert summary(chain_of_command(strike)) == [
        (0, "71st Brigade", "First Claimant", CERTAIN),
        (0, "71st Brigade", "Second Claimant", CERTAIN),
    ]


# --- Queries and loops ------------------------------------------------------------------------


def _chain_of_depth(depth: int) -> Incident:
    force = f.ForceFactory()
    unit = None
    for level in range(depth):
        unit = f.UnitFactory(force=force, name=f"Level {level}", parent=unit)
        posting(f"Commander {level}", unit, "2010")
    return incident("2019-05-03 06:50", unit=unit)


@pytest.mark.parametrize("depth", [1, 2, 8, 20])
def test_chain_takes_three_queries_whatever_the_depth(depth, django_assert_num_queries):
    strike = _chain_of_depth(depth)
    with django_assert_num_queries(3):
        entries = chain_of_command(strike)
    assert [e.depth for e in entries] == list(range(depth))


def test_unit_below_itself_is_refused_with_the_loop_spelled_out(tree):
    hq = tree["hq"]
    hq.parent = tree["brigade"]
    with pytest.raises(ValidationError) as excinfo:
        hq.full_clean()
    assert excinfo.value.message_dict["parent"] == [
        "A unit cannot be below itself; this parent makes a loop: Air Force Command → "
        "71st Brigade → Hama Regiment → Northern Group → Air Force Command."
    ]


def test_moving_a_unit_elsewhere_in_the_tree_is_accepted(tree):
    brigade = tree["brigade"]
    brigade.parent = tree["group"]
    brigade.full_clean()
    brigade.save()
    assert walk([brigade.pk], "up")[brigade.pk] == {
        brigade.pk: 0,
        tree["group"].pk: 1,
        tree["hq"].pk: 2,
    }


def test_loop_written_around_validation_does_not_hang_the_chain(tree):
    Unit.objects.filter(pk=tree["hq"].pk).update(parent=tree["regiment"])  # a raw write
    posting("Brigade Commander", tree["brigade"], "2018")
    posting("Group Commander", tree["group"], "2018")
    strike = incident("2019-05-03 06:50", unit=tree["brigade"])
    assert summary(chain_of_command(strike)) == [
        (0, "71st Brigade", "Brigade Commander", CERTAIN),
        (2, "Northern Group", "Group Commander", CERTAIN),
    ]
    # The unit form refuses to keep the loop.
    hq = Unit.objects.get(pk=tree["hq"].pk)
    with pytest.raises(ValidationError):
        hq.full_clean()


# --- Attributions need evidence to be verified ---------------------------------------------


def test_attribution_without_evidence_cannot_be_verified():
    attribution = f.AttributionFactory()
    assert can_verify_attribution(attribution) == NO_EVIDENCE
    assert can_verify_attribution(Attribution(incident=attribution.incident)) == NO_EVIDENCE


def test_attribution_with_evidence_can_be_verified():
    attribution = f.AttributionFactory()
    attribution.supporting_evidence.add(f.EvidenceItemFactory())
    assert can_verify_attribution(attribution) is None


def _form(attribution: Attribution, evidence: list) -> AttributionForm:
    data = {
        "incident": attribution.incident_id,
        "unit": attribution.unit_id,
        "role": attribution.role,
        "confidence": attribution.confidence,
        "basis": "Flight log and photos.",
        "relied_on": attribution.relied_on,
        "supporting_evidence": [item.pk for item in evidence],
    }
    return AttributionForm(data, instance=attribution)


def test_verified_attribution_cannot_lose_its_last_evidence_item():
    attribution = f.AttributionFactory(basis="Flight log and photos.")
    item = f.EvidenceItemFactory()
    attribution.supporting_evidence.add(item)
    attribution.status = ReviewStatus.VERIFIED  # as tracker.workflow saves it
    attribution.save(update_fields=["status"])

    form = _form(attribution, [])

    assert not form.is_valid()
    assert form.errors["supporting_evidence"] == [NO_EVIDENCE]
    assert _form(attribution, [item]).is_valid()


def test_draft_attribution_may_have_no_evidence_yet():
    assert _form(f.AttributionFactory(), []).is_valid()


# --- One-click commander attributions --------------------------------------------------------


@pytest.fixture
def attributed(tree):
    commander = posting("Brigade Commander", tree["brigade"], "2018").official
    head = posting("Head of State", tree["hq"], "2000").official
    strike = incident("2019-05-03 06:50", unit=tree["brigade"])
    return strike, tree["brigade"], commander, head


def test_attribute_command_adds_a_commander_attribution_once(attributed, editor):
    strike, brigade, commander, _ = attributed

    made, created = attribute_command(strike, official=commander, unit=brigade, by=editor)
    again, created_again = attribute_command(strike, official=commander, unit=brigade, by=editor)

    assert (created, created_again, again) == (True, False, made)
    assert (made.role, made.official, made.unit, made.created_by) == (
        Attribution.Role.COMMANDER,
        commander,
        None,
        editor,
    )
    assert "Commander of 71st Brigade" in made.basis and "certain" in made.basis


def test_attribute_command_refuses_an_official_outside_the_chain(attributed, editor):
    strike, brigade, _, _ = attributed
    stranger = f.OfficialFactory(name="Stranger")
    with pytest.raises(ValueError, match="Stranger held no command over 71st Brigade"):
        attribute_command(strike, official=stranger, unit=brigade, by=editor)
    assert not Attribution.objects.filter(official=stranger).exists()


def test_incident_page_offers_the_chain_as_buttons(client, editor, attributed):
    strike, brigade, commander, head = attributed
    client.force_login(editor)
    page = client.get(reverse("admin:tracker_incident_change", args=[strike.pk])).content.decode()
    action = reverse("incident_add_commander", args=[strike.pk])
    for official in (commander, head):
        assert f'data-add-commander="{action}" data-unit="{brigade.pk}" ' in page
        assert f'data-official="{official.pk}"' in page
        assert reverse("officials:dossier", args=[official.pk]) in page
    # Buttons, not submit buttons: Enter in the incident form never triggers one.
    assert 'type="button" class="button" data-add-commander' in page


def test_one_click_adds_the_attribution_and_returns_to_the_incident(client, editor, attributed):
    strike, brigade, commander, _ = attributed
    client.force_login(editor)
    url = reverse("incident_add_commander", args=[strike.pk])

    response = client.post(url, {"unit": brigade.pk, "official": commander.pk})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:tracker_incident_change", args=[strike.pk])
    attribution = Attribution.objects.get(incident=strike, official=commander)
    assert attribution.role == Attribution.Role.COMMANDER
    page = client.get(response["Location"]).content.decode()
    assert "attributed as commander" in page


def test_one_click_needs_permission_to_add_attributions(client, attributed):
    strike, brigade, commander, _ = attributed
    staff = f.UserFactory(username="staff-without-roles")
    client.force_login(staff)
    url = reverse("incident_add_commander", args=[strike.pk])
    assert client.post(url, {"unit": brigade.pk, "official": commander.pk}).status_code == 403
    assert not Attribution.objects.filter(official=commander).exists()


def test_one_click_refuses_get_and_nonsense(client, editor, attributed):
    strike, brigade, _, _ = attributed
    client.force_login(editor)
    url = reverse("incident_add_commander", args=[strike.pk])
    assert client.get(url).status_code == 405
    response = client.post(url, {"unit": brigade.pk, "official": "x'; DROP TABLE"}, follow=True)
    assert "Choose a unit and an official from the suggestions." in response.content.decode()
    assert Attribution.objects.filter(incident=strike).count() == 1


# --- Overlapping command postings are flagged in the admin ----------------------------------


@pytest.mark.parametrize(
    ("first", "second", "flagged"),
    [
        (("2016", "2019-05-14"), ("2019-05-15", ""), False),  # a clean handover
        (("2016", "2019-05"), ("2019-05-15", ""), True),  # ended some day in May
        (("2016", "2019"), ("2019-05-15", ""), True),  # ended some day in 2019
        (("2016", "2019-05-20"), ("2019-05-15", ""), True),  # five days with two commanders
        (("2016", "2019-04-30"), ("2019-05", ""), False),
        (("", "2019-04-30"), ("2019-05", ""), False),  # unknown start, ended before
        (("2019-06", ""), ("", "2019-05-31"), False),
        (("2019-06", ""), ("", ""), True),  # dates unknown: may overlap
    ],
)
def test_overlapping_command_postings_are_flagged(client, editor, tree, first, second, flagged):
    a = posting("First", tree["brigade"], *first)
    b = posting("Second", tree["brigade"], *second)
    posting("Deputy", tree["brigade"], "2016", title="Deputy", is_command=False)
    client.force_login(editor)

    listing = client.get(reverse("admin:tracker_position_changelist"), {"overlap": "yes"})
    units = client.get(reverse("admin:tracker_unit_changelist"))

    shown = {str(p.official) for p in listing.context["cl"].result_list}
    assert shown == ({"First", "Second"} if flagged else set())
    flags = {u.name: u.overlaps_command for u in units.context["cl"].result_list}
    assert flags["71st Brigade"] is flagged
    assert (OVERLAP_FLAG in units.content.decode()) is flagged
    # The flag agrees with the periods the chain uses.
    from tracker.responsibility.chain import tenure

    assert tenure(a).possible.overlaps(tenure(b).possible) is flagged


def test_unit_form_in_the_admin_puts_the_loop_next_to_the_parent(client, editor, tree):
    hq = tree["hq"]
    client.force_login(editor)
    response = client.post(
        reverse("admin:tracker_unit_change", args=[hq.pk]),
        {"force": hq.force_id, "parent": tree["brigade"].pk, "name": hq.name, "aliases": ""},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parent"] == [
        "A unit cannot be below itself; this parent makes a loop: Air Force Command → "
        "71st Brigade → Hama Regiment → Northern Group → Air Force Command."
    ]
    hq.refresh_from_db()
    assert hq.parent is None


def test_no_buttons_for_someone_who_may_not_edit_the_incident(client, researcher, attributed):
    strike = attributed[0]  # created by nobody: a researcher may look, not edit
    client.force_login(researcher)
    page = client.get(reverse("admin:tracker_incident_change", args=[strike.pk])).content.decode()
    assert "Brigade Commander" in page
    assert "data-add-commander" not in page
