"""Import of units and postings (docs/formats/postings-csv.md): every row error by
line, nothing half-imported, precision kept, and the alias rule for officials."""

from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tracker.models import Force, Official, OfficialAlias, Position, Unit
from tracker.responsibility.postings import ImportRejected, import_postings
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

UNITS = """\
unit,force,parent,aliases,source
Air Force Command,Republican Air Force,,قيادة القوى الجوية|Командование ВВС,Report 1
Northern Group,Republican Air Force,Air Force Command,NAG,Report 1
71st Brigade,Republican Air Force,Northern Group,اللواء 71|71 Heli Bde,Report 2
"""
POSTINGS = """\
official,aliases,unit,title,rank,is_command,start,end,source
Marwan al-Dabbagh,مروان الدباغ|Марван Даббаг,Air Force Command,Commander,Lt Gen,,2016-03,\
2019-09-30,Decree 12
Fadi Sawwan,,Air Force Command,Commander,Lt Gen,,2019-10-01,,Decree 40
Bassam Nakhleh,,71 Heli Bde,Commander,Brig Gen,yes,2018,,Report 2
Omar Hijazi,,71st Brigade,Deputy Commander,Lt Col,no,2018-09,,Report 2
Omar Hijazi,,71st Brigade,Acting Commander,Lt Col,,2019-07-15,2019-08-31,Report 3
Rami Shaheen,,Northern Group,Chief of Staff,Col,,2017,,Report 1
"""


def run(*files: str, user) -> dict:
    named = [(f"file{n}.csv", text.encode("utf-8")) for n, text in enumerate(files)]
    return dict(import_postings(named, by=user).counts)


def rejected(*files: str, user) -> list[str]:
    named = [(f"file{n}.csv", text.encode("utf-8")) for n, text in enumerate(files)]
    with pytest.raises(ImportRejected) as excinfo:
        import_postings(named, by=user)
    return [str(e) for e in excinfo.value.errors]


def nothing_imported() -> bool:
    return not (Unit.objects.exists() or Official.objects.exists() or Position.objects.exists())


def test_units_and_postings_are_imported_with_their_precision(editor):
    counts = run(UNITS, POSTINGS, user=editor)

    assert counts["units created"] == 3 and counts["forces created"] == 1
    assert counts["officials created"] == 5 and counts["postings created"] == 6
    brigade = Unit.objects.get(name="71st Brigade")
    assert brigade.parent.name == "Northern Group"
    assert brigade.parent.parent.name == "Air Force Command"
    assert brigade.aliases.splitlines() == ["اللواء 71", "71 Heli Bde"]
    assert brigade.force.name == "Republican Air Force"
    dabbagh = Position.objects.get(official__name="Marwan al-Dabbagh")
    assert (dabbagh.start, dabbagh.start_precision) == (date(2016, 3, 1), "month")
    assert (dabbagh.end, dabbagh.end_precision) == (date(2019, 9, 30), "day")
    assert dabbagh.source == "Decree 12" and dabbagh.rank == "Lt Gen"
    nakhleh = Position.objects.get(official__name="Bassam Nakhleh")
    assert (nakhleh.unit, nakhleh.start_precision, nakhleh.end) == (brigade, "year", None)
    official = Official.objects.get(name="Marwan al-Dabbagh")
    assert official.created_by == editor
    scripts = dict(official.aliases.values_list("name", "script"))
    assert scripts == {"مروان الدباغ": "arabic", "Марван Даббаг": "cyrillic"}


def test_is_command_follows_the_title_unless_given(editor):
    run(UNITS, POSTINGS, user=editor)
    command = dict(Position.objects.values_list("title", "is_command"))
    assert command == {
        "Commander": True,
        "Deputy Commander": False,  # "no" given
        "Acting Commander": True,
        "Chief of Staff": False,
    }
    assert Position.objects.get(title="Acting Commander").is_acting


def test_one_file_with_a_record_column(editor):
    text = """\
record,unit,force,parent,official,title,start
unit,Air Force Command,Republican Air Force,,,,
posting,Air Force Command,,,Marwan al-Dabbagh,Commander,2016
unit,Squadron 1,Republican Air Force,Air Force Command,,,
"""
    counts = run(text, user=editor)
    assert (counts["units created"], counts["postings created"]) == (2, 1)


def test_importing_the_same_files_twice_changes_nothing(editor):
    run(UNITS, POSTINGS, user=editor)
    again = run(UNITS, POSTINGS, user=editor)
    assert again["postings already recorded"] == 6
    assert again.get("postings created", 0) == 0 and again.get("officials created", 0) == 0
    assert again["officials found"] == 5 and again.get("units updated", 0) == 0
    assert Position.objects.count() == 6 and Official.objects.count() == 5


def test_header_is_case_insensitive_and_a_bom_is_accepted(editor):
    text = "\ufeffUNIT,Force,PARENT\nAir Force Command,Republican Air Force,\n"
    assert run(text, user=editor)["units created"] == 1


def test_quoted_fields_keep_commas_and_line_numbers_count_physical_lines(editor):
    text = (
        "unit,force,source\n"
        'Air Force Command,Republican Air Force,"Report, p. 4\nand annex"\n'
        ",Republican Air Force,\n"
    )
    assert rejected(text, user=editor) == ["line 4, unit: required"]


# --- Errors: all reported, nothing imported ----------------------------------------------


def test_every_row_error_is_reported_by_line_and_nothing_is_imported(editor):
    postings = """\
official,unit,title,is_command,start,end
Marwan al-Dabbagh,Air Force Command,Commander,,2016-03,2019-09-30
,Air Force Command,Commander,,,
Fadi Sawwan,Nowhere Brigade,Commander,,2019,
Fadi Sawwan,Air Force Command,Commander,perhaps,2019-13,
Rami Shaheen,Northern Group,,,2019-02-30,
Omar Hijazi,71st Brigade,Commander,,2019-05-10,2019-05-01
"""
    errors = rejected(UNITS, postings, user=editor)
    assert errors == [
        "line 3, official: required",
        "line 4, unit: no unit named 'Nowhere Brigade' in this file or the tracker",
        "line 5, is_command: expected yes or no",
        "line 6, title: required",
        "line 7, end: the posting ends (2019-05-01) before it starts (2019-05-10)",
    ]
    assert nothing_imported() and not Force.objects.exists()


def test_bad_dates_are_explained(editor):
    postings = """\
official,unit,title,start,end
A,Air Force Command,Commander,2019-13,
B,Air Force Command,Commander,2019-02-30,
C,Air Force Command,Commander,May 2019,
D,Air Force Command,Commander,2019-05-15,2019-05
E,Air Force Command,Commander,2020,2019-12
"""
    assert rejected(UNITS, postings, user=editor) == [
        "line 2, start: '2019-13': 2019-13 is not a date in the calendar",
        "line 3, start: '2019-02-30': 2019-02-30 is not a date in the calendar",
        "line 4, start: 'May 2019': expected YYYY, YYYY-MM or YYYY-MM-DD",
        "line 5, end: an end known only to 2019-05 cannot be recorded with a start in "
        "2019-05-15; give the end as precisely as the start",
        "line 6, end: the posting ends (2019-12) before it starts (2020)",
    ]
    assert nothing_imported()


def test_a_parent_chain_that_loops_is_refused(editor):
    units = """\
unit,force,parent
Air Force Command,Republican Air Force,71st Brigade
Northern Group,Republican Air Force,Air Force Command
71st Brigade,Republican Air Force,Northern Group
Other,Republican Air Force,Other
"""
    assert rejected(units, user=editor) == [
        "line 2, parent: the parent chain loops: Air Force Command → 71st Brigade → "
        "Northern Group → Air Force Command",
        "line 5, parent: the parent chain loops: Other → Other",
    ]
    assert nothing_imported()


def test_a_loop_through_units_already_in_the_tracker_is_refused(editor):
    run(UNITS, user=editor)
    units = "unit,force,parent\nAir Force Command,Republican Air Force,71st Brigade\n"
    assert rejected(units, user=editor) == [
        "line 2, parent: the parent chain loops: Air Force Command → 71st Brigade → "
        "Northern Group → Air Force Command"
    ]
    assert Unit.objects.get(name="Air Force Command").parent is None


def test_unknown_parent_and_duplicate_unit_rows(editor):
    units = """\
unit,force,parent
Air Force Command,Republican Air Force,
air force command,Republican Air Force,
Squadron,Republican Air Force,Missing Group
"""
    assert rejected(units, user=editor) == [
        "line 3, unit: 'air force command' is already on line 2",
        "line 4, parent: no unit named 'Missing Group' in 'Republican Air Force', in this file "
        "or in the tracker",
    ]


def test_a_unit_name_used_in_two_forces_must_be_told_apart(editor):
    units = """\
unit,force
Command,Republican Air Force
Command,Expeditionary Aerospace Force
"""
    postings = "official,unit,title\nA,Command,Commander\n"
    assert rejected(units, postings, user=editor) == [
        "line 2, unit: 'Command' names 2 units (in Expeditionary Aerospace Force, Republican "
        "Air Force); use the name that is unique"
    ]


def test_files_that_are_not_postings_csv(editor):
    assert rejected("", user=editor) == ["line 1, file: empty: expected a header row"]
    assert rejected("name,date\nx,y\n", user=editor)[0].startswith("line 1, header: expected")
    assert rejected("official,unit\nA,B\n", user=editor) == [
        "line 1, title: missing column (required for posting rows)"
    ]
    latin1 = [("a.csv", "unit,force\nCafé,Forces\n".encode("latin-1"))]
    with pytest.raises(ImportRejected) as excinfo:
        import_postings(latin1, by=editor)
    assert [str(e) for e in excinfo.value.errors] == ["line 2, file: not UTF-8 text"]
    assert rejected('unit,force\n"Open quote,Forces\n', user=editor) == [
        "line 2, file: not readable as CSV: unexpected end of data"
    ]
    assert rejected("unit,force\nA,B,C\n", user=editor) == [
        "line 2, row: 3 cells but the header has 2"
    ]
    assert nothing_imported()


def test_control_characters_and_overlong_names_are_refused(editor):
    units = f'unit,force\n"Tab\tUnit",Forces\n{"X" * 151},Forces\n'
    assert rejected(units, user=editor) == [
        "line 2, unit: contains a line break or control character",
        "line 3, unit: longer than 150 characters",
    ]


# --- Officials under two spellings --------------------------------------------------------


def test_two_spellings_without_an_alias_are_two_officials(editor):
    postings = """\
official,aliases,unit,title,start
Suhail al-Hassan,,Air Force Command,Commander,2015
Suheil al-Hasan,,Northern Group,Commander,2016
"""
    run(UNITS, postings, user=editor)
    assert sorted(Official.objects.values_list("name", flat=True)) == [
        "Suhail al-Hassan",
        "Suheil al-Hasan",
    ]


@pytest.mark.parametrize("which", [1, 2])
def test_two_spellings_are_one_official_when_an_alias_says_so(editor, which):
    aliases = ["Suheil al-Hasan", ""] if which == 1 else ["", "Suhail al-Hassan"]
    postings = f"""\
official,aliases,unit,title,start
Suhail al-Hassan,{aliases[0]},Air Force Command,Commander,2015
Suheil al-Hasan,{aliases[1]},Northern Group,Commander,2016
"""
    counts = run(UNITS, postings, user=editor)
    (official,) = Official.objects.all()
    assert official.name == "Suhail al-Hassan"  # as first written
    assert list(official.aliases.values_list("name", flat=True)) == ["Suheil al-Hasan"]
    assert official.positions.count() == 2
    assert counts["officials created"] == 1


def test_same_spelling_in_other_case_is_the_same_official(editor):
    postings = """\
official,unit,title,start
Fadi Sawwan,Air Force Command,Commander,2019
FADI SAWWAN,Northern Group,Commander,2017
"""
    run(UNITS, postings, user=editor)
    assert Official.objects.count() == 1


def test_an_official_on_record_is_found_by_name_or_by_an_alias(editor):
    on_record = f.OfficialFactory(name="Marwan al-Dabbagh")
    f.OfficialAliasFactory(official=on_record, name="Marwan Dabbag")
    postings = """\
official,aliases,unit,title,start
Marwan Dabbag,,Air Force Command,Commander,2016
Marwan al-Dabbagh,,Northern Group,Commander,2015
M. Dabbagh,Marwan al-Dabbagh,71st Brigade,Commander,2014
M. al-Dabbagh,,71st Brigade,Deputy,2013
"""
    counts = run(UNITS, postings, user=editor)
    assert counts["officials found"] == 1 and counts["officials created"] == 1
    assert on_record.positions.count() == 3
    assert Official.objects.get(name="M. al-Dabbagh").positions.count() == 1
    assert "M. Dabbagh" in on_record.aliases.values_list("name", flat=True)


def test_a_group_matching_two_officials_on_record_is_refused(editor):
    f.OfficialFactory(name="Marwan al-Dabbagh")
    f.OfficialFactory(name="Marwan Dabbag")
    postings = """\
official,aliases,unit,title
Marwan al-Dabbagh,Marwan Dabbag,Air Force Command,Commander
"""
    errors = rejected(UNITS, postings, user=editor)
    assert len(errors) == 1
    assert errors[0].startswith("line 2, official: 'Marwan al-Dabbagh' matches several officials")
    assert not Unit.objects.exists() and not Position.objects.exists()


def test_official_with_40_aliases(editor):
    aliases = "|".join(f"Spelling {n}" for n in range(40))
    run(
        UNITS,
        f"official,aliases,unit,title\nMany Names,{aliases},Air Force Command,Commander\n",
        user=editor,
    )
    official = Official.objects.get()
    assert official.aliases.count() == 40
    assert OfficialAlias.objects.filter(official=official, loose_key="speling 39").exists()


def test_existing_unit_gets_new_aliases_and_a_parent(editor):
    force = f.ForceFactory(name="Republican Air Force")
    hq = f.UnitFactory(force=force, name="Air Force Command")
    f.UnitFactory(force=force, name="Northern Group", aliases="NAG")
    units = (
        "unit,force,parent,aliases\n"
        "Northern Group,republican air force,Air Force Command,NAG|North\n"
    )
    counts = run(units, user=editor)
    group = Unit.objects.get(name="Northern Group")
    assert (group.parent, group.aliases.splitlines()) == (hq, ["NAG", "North"])
    assert counts == {"units updated": 1}
    assert Force.objects.count() == 1


# --- The command ---------------------------------------------------------------------------


def test_command_imports_files_and_reports(tmp_path, editor, capsys):
    units, postings = tmp_path / "units.csv", tmp_path / "postings.csv"
    units.write_text(UNITS, encoding="utf-8")
    postings.write_text(POSTINGS, encoding="utf-8")
    call_command("import_postings", "--user", "editor", str(postings), str(units))
    out = capsys.readouterr().out
    assert "Imported: 1 forces created, 3 units created" in out
    assert "6 postings created" in out


def test_command_prints_every_error_and_exits_1(tmp_path, editor, capsys):
    postings = tmp_path / "postings.csv"
    postings.write_text("official,unit,title\n,X,Commander\nA,,\n", encoding="utf-8")
    with pytest.raises(CommandError, match="3 error"):
        call_command("import_postings", "--user", "editor", str(postings))
    assert capsys.readouterr().err.splitlines() == [
        "line 2, official: required",
        "line 3, unit: required",
        "line 3, title: required",
    ]
    assert nothing_imported()


def test_command_names_the_file_when_given_several(tmp_path, editor, capsys):
    good, bad = tmp_path / "units.csv", tmp_path / "bad.csv"
    good.write_text(UNITS, encoding="utf-8")
    bad.write_text("official,unit,title\nA,Nowhere,Commander\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_postings", "--user", "editor", str(good), str(bad))
    assert f"{bad}: line 2, unit: no unit named 'Nowhere'" in capsys.readouterr().err
    assert nothing_imported()


def test_command_refuses_unknown_user_and_missing_file(tmp_path, editor):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("import_postings", "--user", "nobody", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_postings", "--user", "editor", str(tmp_path / "missing.csv"))
