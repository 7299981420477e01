"""The ``ingest`` command: folders of files through the intake path, one line per file.

Files are generated here (Pillow, bytes literals); nothing binary is kept in git.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from evidence import intake
from evidence.files.progress import Progress
from evidence.management.commands import ingest as ingest_command
from evidence.models import CustodyEvent, EvidenceItem
from evidence.tests.files import make_jpeg
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
TEXT = b"Interview notes: two aircraft circled before the strike.\n"
NOT_ACCEPTED = intake.UNKNOWN_FORMAT


def run(*args: str) -> tuple[int, list[str], str]:
    """Run the command as manage.py would: (exit status, stdout lines, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("ingest", *args, stdout=out, stderr=err)
        status = 0
    except CommandError as exc:
        status = exc.returncode
        err.write(f"CommandError: {exc}\n")
    return status, out.getvalue().splitlines(), err.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def code_of(data: bytes) -> str:
    return EvidenceItem.objects.get(sha256=sha(data)).code


def stored_originals() -> list[Path]:
    root = Path(settings.DATA_DIR) / "originals"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- A researcher's folder ---------------------------------------------------------------


def test_mixed_folder_prints_one_line_per_file_and_exits_1_for_the_rejects(researcher, tmp_path):
    first = make_jpeg(colour=(200, 30, 30))
    second = make_jpeg(colour=(30, 200, 30))
    nested = make_jpeg(colour=(30, 30, 200))
    field = tmp_path / "field"
    write(field / "IMG_0001.jpg", first)
    write(field / "IMG_0002.jpg", second)
    write(field / "z-copy-from-whatsapp.jpg", first)
    write(field / "holiday.jpg", HTML)
    write(field / "empty.jpg", b"")
    write(field / "day2" / "IMG_0003.jpg", nested)
    write(field / ".DS_Store", b"\x00\x00\x00\x01Bud1")

    status, lines, err = run("--user", "researcher", str(field))

    assert status == 1
    assert lines == [
        f"{code_of(first)} {sha(first)} {field}/IMG_0001.jpg",
        f"{code_of(second)} {sha(second)} {field}/IMG_0002.jpg",
        f"{code_of(nested)} {sha(nested)} {field}/day2/IMG_0003.jpg",
        f"REJECTED {field}/empty.jpg: {intake.EMPTY_FILE}",
        f"REJECTED {field}/holiday.jpg: {NOT_ACCEPTED}",
        f"DUPLICATE {code_of(first)} {sha(first)} {field}/z-copy-from-whatsapp.jpg",
    ]
    assert len({code_of(first), code_of(second), code_of(nested)}) == 3
    assert "6 files: 3 stored, 1 already held, 2 rejected; 1 hidden entries skipped." in err
    assert "CommandError: 2 of 6 files were rejected." in err
    assert EvidenceItem.objects.count() == 3
    assert len(stored_originals()) == 3
    # The client file name kept is the path relative to the argument given.
    assert EvidenceItem.objects.get(sha256=sha(nested)).original_filename == "day2/IMG_0003.jpg"
    assert EvidenceItem.objects.get(sha256=sha(first)).acquired_by == researcher


def test_clean_folder_exits_0(researcher, tmp_path):
    write(tmp_path / "a.jpg", make_jpeg(colour=(1, 2, 3)))
    write(tmp_path / "notes.txt", TEXT)

    status, lines, err = run("--user", "researcher", str(tmp_path))

    assert status == 0
    assert [line.split()[0] for line in lines] == [
        code_of(make_jpeg(colour=(1, 2, 3))),
        code_of(TEXT),
    ]
    assert EvidenceItem.objects.get(sha256=sha(TEXT)).kind == EvidenceItem.Kind.DOCUMENT
    assert "CommandError" not in err


def test_several_paths_files_and_folders_in_the_order_given(researcher, tmp_path):
    b = write(tmp_path / "b" / "x.txt", b"second folder\n")
    a = write(tmp_path / "a.txt", b"a file\n")

    status, lines, _ = run("--user", "researcher", str(tmp_path / "b"), str(a))

    assert status == 0
    assert lines == [
        f"{code_of(b.read_bytes())} {sha(b.read_bytes())} {tmp_path}/b/x.txt",
        f"{code_of(a.read_bytes())} {sha(a.read_bytes())} {a}",
    ]
    # A file argument keeps its own name as the client file name.
    assert EvidenceItem.objects.get(sha256=sha(a.read_bytes())).original_filename == "a.txt"


def test_incident_links_every_file_new_or_already_held(researcher, tmp_path):
    incident = f.IncidentFactory()
    held = make_jpeg(colour=(9, 9, 9))
    intake.ingest(io.BytesIO(held), filename="earlier.jpg", kind=None, by=researcher)
    write(tmp_path / "again.jpg", held)
    write(tmp_path / "new.jpg", make_jpeg(colour=(90, 90, 90)))

    status, lines, _ = run(
        "--user",
        "researcher",
        "--incident",
        incident.code.lower(),
        "--source",
        "Civil defence, Idlib; USB stick",
        str(tmp_path),
    )

    assert status == 0
    assert lines[0].startswith("DUPLICATE ")
    assert set(incident.evidence.all()) == set(EvidenceItem.objects.all())
    assert incident.evidence.count() == 2
    new = EvidenceItem.objects.get(original_filename="new.jpg")
    acquired = new.custody_events.get(action=CustodyEvent.Action.ACQUIRED)
    assert acquired.details["from"] == "Civil defence, Idlib; USB stick"


def test_kind_applies_to_every_file(researcher, tmp_path):
    write(tmp_path / "interview.txt", TEXT)
    write(tmp_path / "photo.jpg", make_jpeg())

    status, lines, _ = run("--user", "researcher", "--kind", "testimony", str(tmp_path))

    assert status == 1
    assert EvidenceItem.objects.get().kind == EvidenceItem.Kind.TESTIMONY
    assert lines[1].startswith(f"REJECTED {tmp_path}/photo.jpg: A testimony must be one of ")
    assert lines[1].endswith("this file is image/jpeg.")


# --- Refused before anything is stored ---------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--user", "ghost"], "No user named 'ghost'."),
        (["--user", "researcher", "--incident", "INC-9999"], "No incident with code 'INC-9999'."),
        (["--user", "researcher", "--kind", "hologram"], "Unknown evidence kind 'hologram'; use"),
        (["--user", "researcher", "MISSING"], "No such file or directory: "),
    ],
    ids=["unknown-user", "unknown-incident", "unknown-kind", "missing-path"],
)
def test_bad_arguments_are_refused_before_anything_is_stored(
    researcher, tmp_path, options, message
):
    write(tmp_path / "field" / "a.jpg", make_jpeg())
    args = [str(tmp_path / "nowhere") if a == "MISSING" else a for a in options]

    status, lines, err = run(*args, str(tmp_path / "field"))

    assert status == 1
    assert f"CommandError: {message}" in err
    assert lines == []
    assert not EvidenceItem.objects.exists()
    assert not CustodyEvent.objects.exists()
    assert stored_originals() == []


def test_inactive_user_is_refused(researcher, tmp_path):
    researcher.is_active = False
    researcher.save()
    write(tmp_path / "a.jpg", make_jpeg())

    status, _, err = run("--user", "researcher", str(tmp_path))

    assert status == 1
    assert "User 'researcher' is inactive." in err
    assert not EvidenceItem.objects.exists()


# --- Hostile names and files -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "printed"),
    [
        ("new\nline.jpg", "new\\nline.jpg"),
        ("cr\rname.jpg", "cr\\rname.jpg"),
        ("\x1b[31mred.jpg", "\\x1b[31mred.jpg"),
        ("photo\u202egpj.exe", "photo\\u202egpj.exe"),
        ("line\u2028sep.jpg", "line\\u2028sep.jpg"),
        ("..\\..\\windows.jpg", "..\\\\..\\\\windows.jpg"),
        ("C:\\x.jpg", "C:\\\\x.jpg"),
        ("صورة القصف.jpg", "صورة القصف.jpg"),
    ],
    ids=[
        "newline",
        "carriage-return",
        "escape",
        "rtl-override",
        "line-separator",
        "windows-traversal",
        "drive",
        "arabic",
    ],
)
def test_file_name_is_printed_escaped_on_one_line(researcher, tmp_path, name, printed):
    data = make_jpeg(colour=(len(name), 7, 7))
    path = write(tmp_path / "in" / name, data)

    # Named directly, so a name starting with "." is used too.
    status, lines, _ = run("--user", "researcher", str(path))

    assert status == 0
    assert lines == [f"{code_of(data)} {sha(data)} {tmp_path}/in/{printed}"]
    item = EvidenceItem.objects.get()
    assert item.original_filename == intake.clean_filename(name)


def test_name_that_is_not_utf8_is_printed_as_byte_escapes(researcher, tmp_path):
    data = make_jpeg()
    folder = os.fsencode(tmp_path)
    with open(os.path.join(folder, b"caf\xe9-\xff.jpg"), "wb") as out:
        out.write(data)

    status, lines, _ = run("--user", "researcher", str(tmp_path))

    assert status == 0
    assert lines == [f"{code_of(data)} {sha(data)} {tmp_path}/caf\\xe9-\\xff.jpg"]
    assert EvidenceItem.objects.get().original_filename == "caf\ufffd-\ufffd.jpg"


def test_traversal_names_are_only_metadata(researcher, tmp_path):
    """A name cannot steer where anything is written: originals go to their content address."""
    data = make_jpeg()
    field = tmp_path / "field"
    write(field / "evil\\..\\..\\etc\\passwd", data)
    before = set(tmp_path.rglob("*"))

    status, lines, _ = run("--user", "researcher", str(field))

    assert status == 0
    assert lines == [f"{code_of(data)} {sha(data)} {field}/evil\\\\..\\\\..\\\\etc\\\\passwd"]
    assert EvidenceItem.objects.get().original_filename == "evil\\..\\..\\etc\\passwd"
    data_dir = Path(settings.DATA_DIR)
    new = set(tmp_path.rglob("*")) - before
    assert new
    assert all(p.is_relative_to(data_dir) for p in new)
    assert stored_originals() == [
        data_dir / "originals" / sha(data)[:2] / sha(data)[2:4] / sha(data)
    ]


def test_symbolic_links_inside_a_folder_are_not_followed(researcher, tmp_path):
    secret = write(tmp_path / "outside" / "secret.txt", b"not for the tracker\n")
    field = tmp_path / "field"
    write(field / "a.txt", TEXT)
    (field / "link.txt").symlink_to(secret)
    (field / "linked-dir").symlink_to(secret.parent, target_is_directory=True)

    status, lines, _ = run("--user", "researcher", str(field))

    assert status == 1
    assert lines == [
        f"{code_of(TEXT)} {sha(TEXT)} {field}/a.txt",
        f"REJECTED {field}/link.txt: symbolic link, not followed",
        f"REJECTED {field}/linked-dir: symbolic link, not followed",
    ]
    assert not EvidenceItem.objects.filter(sha256=sha(secret.read_bytes())).exists()


def test_symbolic_link_named_on_the_command_line_is_followed(researcher, tmp_path):
    data = write(tmp_path / "real" / "a.txt", TEXT).read_bytes()
    (tmp_path / "shortcut").symlink_to(tmp_path / "real", target_is_directory=True)

    status, lines, _ = run("--user", "researcher", str(tmp_path / "shortcut"))

    assert status == 0
    assert lines == [f"{code_of(data)} {sha(data)} {tmp_path}/shortcut/a.txt"]


def test_hidden_entries_are_skipped_and_counted(researcher, tmp_path):
    write(tmp_path / "a.txt", TEXT)
    write(tmp_path / "._a.txt", b"\x00\x05\x16\x07AppleDouble")
    write(tmp_path / ".git" / "config", b"[core]\n")

    status, lines, err = run("--user", "researcher", str(tmp_path))

    assert status == 0
    assert lines == [f"{code_of(TEXT)} {sha(TEXT)} {tmp_path}/a.txt"]
    assert "2 hidden entries skipped" in err
    assert EvidenceItem.objects.count() == 1


def test_fifo_is_rejected_without_blocking(researcher, tmp_path):
    write(tmp_path / "a.txt", TEXT)
    os.mkfifo(tmp_path / "pipe.jpg")

    status, lines, _ = run("--user", "researcher", str(tmp_path))

    assert status == 1
    assert lines[1] == f"REJECTED {tmp_path}/pipe.jpg: not a regular file"


def test_unreadable_file_is_rejected_and_the_rest_goes_on(researcher, tmp_path, monkeypatch):
    """Permission denied is simulated: the suite may run as root, who can read anything."""
    locked = write(tmp_path / "b-locked.jpg", make_jpeg(colour=(5, 5, 5)))
    write(tmp_path / "a.txt", TEXT)
    write(tmp_path / "c.jpg", make_jpeg(colour=(50, 5, 5)))
    real_open = os.open

    def open_denying_locked(path, flags, *args, **kwargs):
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(ingest_command.os, "open", open_denying_locked)

    status, lines, _ = run("--user", "researcher", str(tmp_path))

    assert status == 1
    assert lines[1] == f"REJECTED {locked}: cannot read: Permission denied"
    assert lines[0].startswith("EV-") and lines[2].startswith("EV-")
    assert EvidenceItem.objects.count() == 2


def test_unreadable_folder_is_rejected(researcher, tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    write(locked / "x.txt", TEXT)
    write(tmp_path / "z.txt", b"readable\n")
    real_scandir = os.scandir

    def scandir_denying_locked(path="."):
        if os.fspath(path).rstrip("/") == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(ingest_command.os, "scandir", scandir_denying_locked)

    status, lines, _ = run("--user", "researcher", str(tmp_path))

    assert status == 1
    assert lines[0] == f"REJECTED {locked}/: cannot read directory: Permission denied"
    assert lines[1].endswith(f"{tmp_path}/z.txt")


def test_unexpected_failure_of_one_file_does_not_stop_the_others(researcher, tmp_path, monkeypatch):
    write(tmp_path / "a.txt", b"first\n")
    write(tmp_path / "b.txt", b"second\n")
    write(tmp_path / "c.txt", b"third\n")
    real_ingest = intake.ingest

    def failing_on_b(stream, *, filename, **kwargs):
        if filename == "b.txt":
            raise RuntimeError("injected: database went away for a moment")
        return real_ingest(stream, filename=filename, **kwargs)

    monkeypatch.setattr(ingest_command.intake, "ingest", failing_on_b)

    status, lines, _ = run("--user", "researcher", str(tmp_path))

    assert status == 1
    assert lines[1] == f"REJECTED {tmp_path}/b.txt: unexpected error, see the server log"
    assert sorted(i.original_filename for i in EvidenceItem.objects.all()) == ["a.txt", "c.txt"]


# --- Helpers -----------------------------------------------------------------------------


def test_printable_leaves_ordinary_names_alone():
    assert (
        ingest_command.printable("Aleppo 2019/IMG_0001 (1).jpg") == "Aleppo 2019/IMG_0001 (1).jpg"
    )
    assert ingest_command.printable("tab\there\x00nul\x7fdel") == "tab\\there\\x00nul\\x7fdel"


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_bar_draws_only_on_a_terminal():
    terminal, pipe = FakeTerminal(True), FakeTerminal(False)
    for stream in (terminal, pipe):
        bar = Progress(4, stream)
        for _ in range(4):
            bar.advance()
        bar.close()

    assert pipe.getvalue() == ""
    assert "4/4 [" in terminal.getvalue() and "100%" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\x1b[K")  # closed: the line is cleared
    assert Progress(800, pipe).render(60).startswith("0/800 [.")
    half = Progress(10, pipe)
    half.done = 5
    assert half.render(60) == "5/10 [" + "#" * 20 + "." * 20 + "]  50%"
