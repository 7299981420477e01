"""The ``correlate_flights`` command: an incident's candidate flights, best first, one
tab-separated line each; an unknown or imprecisely dated incident exits 1.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evidence.flights import ranking
from evidence.flights.ranking import candidates
from evidence.flights.tests.correlation_helpers import TOWARDS, make_incident, observe
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


# --- correlate_flights -----------------------------------------------------------------------


def correlate(*args: str) -> tuple[int, list[str], str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("correlate_flights", *args, stdout=out, stderr=err)
        status = 0
    except CommandError as exc:
        status = exc.returncode
        err.write(f"CommandError: {exc}\n")
    return status, out.getvalue().splitlines(), err.getvalue()


def test_command_prints_one_tab_separated_line_per_candidate_best_first(log):
    incident = make_incident()
    true = observe(log, -5)
    observe(log, -4, heading=(TOWARDS + 180) % 360)
    tabbed = observe(log, -5, aircraft_type="Mi-8\tfake column", aircraft_class="helicopter")

    status, lines, err = correlate(incident.code.lower())

    assert status == 0, err
    fields = [line.split("\t") for line in lines]
    assert all(len(f_) == 5 for f_ in fields)  # a tab in a value cannot add a column
    assert fields[0][:4] == [str(true.pk), "2019-05-13T11:55:00+03:00", "Su-34", "1.00"]
    assert fields[0][4].startswith("5 min before the strike; heading ")
    scores = [float(f_[3]) for f_ in fields]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert next(f_ for f_ in fields if f_[0] == str(tabbed.pk))[2] == "Mi-8 fake column"
    assert "3 candidate observations" in err


def test_command_window_options(log):
    incident = make_incident()
    observe(log, -90)

    assert correlate(incident.code)[1] == []
    assert len(correlate(incident.code, "--before", "120")[1]) == 1


def test_command_unknown_code_exits_1_with_a_clear_message(db):
    status, lines, err = correlate("INC-9999")
    assert status == 1 and lines == []
    assert "No incident with code 'INC-9999'." in err


def test_command_refuses_an_incident_dated_to_the_month(log):
    incident = make_incident(start_precision="month")
    status, _, err = correlate(incident.code)
    assert status == 1 and "is dated only to the month" in err


# --- Mutation survivors (make mutate) --------------------------------------------------------


def test_the_command_loads_what_the_ranking_reads_with_the_incident(log, django_assert_num_queries):
    place = f.PlaceFactory(name="Kafr Nabl", latitude=Decimal("35.80"), longitude=Decimal("36.60"))
    code = make_incident(latitude=None, longitude=None, place=place).code
    observe(log, -5)
    incident = ranking.load_incident(f"  {code.lower()} ")
    with django_assert_num_queries(2):  # the attributions, then the window's observations
        (only,) = candidates(incident, viewer=None)
    assert "fixed-wing jet fits air-launched missile (fixed-wing aircraft)" in only.reasons
