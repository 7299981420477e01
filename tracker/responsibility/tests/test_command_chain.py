"""``manage.py command_chain CODE``: one tab-separated line per entry of the chain."""

from datetime import date, datetime

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.utils import timezone

from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def strike():
    force = f.ForceFactory()
    hq = f.UnitFactory(force=force, name="Air Force Command")
    squadron = f.UnitFactory(force=force, name="678th Squadron", parent=hq)
    f.PositionFactory(
        official=f.OfficialFactory(name="Rami Shaheen"),
        unit=squadron,
        start=date(2018, 9, 1),
        start_precision="month",
    )
    f.PositionFactory(
        official=f.OfficialFactory(name="Omar Hijazi"),
        unit=squadron,
        start=date(2019, 7, 15),
        end=date(2019, 8, 31),
        is_acting=True,
    )
    f.PositionFactory(
        official=f.OfficialFactory(name="Marwan Dabbagh"),
        unit=hq,
        start=date(2016, 3, 1),
        start_precision="month",
        end=date(2019, 9, 30),
    )
    f.PositionFactory(
        official=f.OfficialFactory(name="Fadi Sawwan"),
        unit=hq,
        start=date(2019, 10, 1),
    )
    incident = f.IncidentFactory(
        occurred_start=timezone.make_aware(datetime(2019, 7, 1)), start_precision="month"
    )
    f.AttributionFactory(incident=incident, unit=squadron)
    return incident


def lines(capsys, *args) -> list[list[str]]:
    call_command("command_chain", *args)
    return [line.split("\t") for line in capsys.readouterr().out.splitlines()]


def test_prints_one_tab_separated_line_per_entry_from_the_unit_upward(capsys, strike):
    assert lines(capsys, strike.code) == [
        ["0", "678th Squadron", "Rami Shaheen", "Commander", "2018-09", "", "certain"],
        ["0", "678th Squadron", "Omar Hijazi", "Commander (acting)", "2019-07-15", "2019-08-31",
         "possible"],
        ["1", "Air Force Command", "Marwan Dabbagh", "Commander", "2016-03", "2019-09-30",
         "certain"],
    ]  # fmt: skip


def test_code_is_matched_whatever_its_case(capsys, strike):
    assert len(lines(capsys, f"  {strike.code.lower()} ")) == 3


def test_reasons_add_an_eighth_column(capsys, strike):
    rows = lines(capsys, strike.code, "--reasons")
    assert [len(row) for row in rows] == [8, 8, 8]
    assert [row[7] for row in rows] == [
        "",
        "the posting began 2019-07-15, possibly after the incident (2019-07)",
        "",
    ]


def test_names_with_tabs_and_line_breaks_stay_on_one_line(capsys, strike):
    official = strike.attributions.get().unit.positions.get(official__name="Rami Shaheen").official
    official.name = "Rami\tShaheen\nInjected\t9"
    official.save()
    rows = lines(capsys, strike.code)
    assert rows[0][2] == "Rami Shaheen Injected 9"
    assert len(rows) == 3 and all(len(row) == 7 for row in rows)


def test_unknown_code_is_an_error(strike):
    with pytest.raises(CommandError, match="No incident with code 'INC-9999'"):
        call_command("command_chain", "INC-9999")


def test_unknown_code_exits_1_from_the_command_line(strike, capsys):
    with pytest.raises(SystemExit) as excinfo:
        execute_from_command_line(["manage.py", "command_chain", "INC-9999"])
    assert excinfo.value.code == 1
    assert "No incident with code 'INC-9999'" in capsys.readouterr().err


def test_incident_without_a_chain_says_so_and_prints_nothing(capsys):
    incident = f.IncidentFactory()
    call_command("command_chain", incident.code)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no command posting over its attributed units" in captured.err
