"""The chain of command of an incident (``tracker.responsibility.chain``): from each
attributed unit upward, the commanders in post on the incident's date.

Acting commanders, officials holding two posts and overlapping postings all appear; a
constant number of queries however deep the tree; loops refused (with the loop spelled
out, next to the unit form's parent field) and harmless when written around
validation. The ``tree`` of units is ``conftest.py``'s; the builders are
``tracker.responsibility.tests.chains``.
"""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tracker.models import Attribution, Incident, ReviewStatus, Unit
from tracker.responsibility.chain import CERTAIN, chain_of_command, walk
from tracker.responsibility.tests.chains import incident, posting, summary
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


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
