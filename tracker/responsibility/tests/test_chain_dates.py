"""The chain of command with uncertain dates: an incident's and a posting's dates are
read as periods (``tracker.responsibility.periods``), so a commander is certain, only
possible (with the reason), or absent.

A handover inside the incident's period, an attack lasting across it, a posting known
to the month or the year, an open end, an unknown start or precision, the case's time
zone deciding the day. The ``tree`` of units is ``conftest.py``'s.
"""

from datetime import UTC

import pytest

from tracker.models import Incident
from tracker.responsibility.chain import CERTAIN, POSSIBLE, UNKNOWN_PRECISION, chain_of_command
from tracker.responsibility.tests.chains import incident, local, posting, summary

pytestmark = pytest.mark.django_db


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
