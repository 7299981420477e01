"""Bring files and folders in as evidence: ``python manage.py ingest --user U PATH ...``.

Every file goes through evidence.intake, one at a time, each failure isolated,
so a folder of 800 photos gets through in one run and the output says what
became of each file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import sys
from argparse import RawDescriptionHelpFormatter
from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    DjangoHelpFormatter,
)

from evidence import intake
from evidence.files.progress import Progress, quiet_info
from evidence.models import EvidenceItem
from tracker import locks
from tracker.access import visible_incidents
from tracker.models import Incident

log = logging.getLogger(__name__)

HELP = """\
Store files as evidence items through the intake path and print one line per file:
  EV-000123 <sha256> <path>             stored as a new item
  DUPLICATE EV-000045 <sha256> <path>   already held; linked to --incident if given
  SET ASIDE <path>: <message>           received, not linked or stored again: an
                                        editor decides where it belongs
  REJECTED <path>: <reason>             not stored
--incident must be an incident the --user may see and that is not locked
(verified, published or rejected); otherwise nothing is read.
Directories are walked recursively in sorted order. Inside a directory, names
starting with "." (.DS_Store, ._IMG_0001.jpg, .git) are skipped and counted on
stderr, and symbolic links are not followed (each is REJECTED); paths named on
the command line are used even if hidden or a symbolic link. Characters in
paths that could break the one-line-per-file format (control characters such
as newline, invisible formatting characters, bytes that are not UTF-8) and the
backslash are written as Python-style escapes: \\n, \\x1b, \\u202e, \\\\.
Exits 1 if any file was rejected, 0 otherwise."""


@dataclass(frozen=True)
class Entry:
    """One file to ingest, or one thing found that cannot be ingested."""

    path: str  # as the user can find it: the argument joined with the relative name
    name: str  # relative to the argument: the client file name kept as metadata
    follow: bool  # named on the command line: a symbolic link is followed
    refused: str = ""


def printable(path: str) -> str:
    """``path`` on one line: backslashes, control and invisible characters (anything
    ``str.isprintable`` refuses but the space) and undecodable bytes as escapes."""
    out = []
    for ch in path:
        if ch == "\\":
            out.append("\\\\")
        elif 0xDC80 <= ord(ch) <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    return "".join(out)


def walk(argument: str, counter: dict[str, int]) -> Iterator[Entry]:
    """The files under ``argument``, depth first in sorted name order (see HELP for
    what is skipped); a file argument is itself."""
    if not os.path.isdir(argument):
        yield Entry(argument, os.path.basename(argument), follow=True)
        return
    stack: list[tuple[str, Iterator[os.DirEntry]]] = []
    pending = [""]  # a directory (relative to the argument) to open next
    while pending or stack:
        if pending:
            relative = pending.pop()
            try:
                with os.scandir(os.path.join(argument, relative)) as it:
                    listing = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                shown = os.path.join(argument, relative, "")
                yield Entry(shown, relative, False, f"cannot read directory: {exc.strerror}")
                continue
            stack.append((relative, iter(listing)))
        relative, listing = stack[-1]
        entry = next(listing, None)
        if entry is None:
            stack.pop()
            continue
        name = os.path.join(relative, entry.name)
        path = os.path.join(argument, name)
        if entry.name.startswith("."):
            counter["hidden"] += 1
        elif entry.is_symlink():
            yield Entry(path, name, False, "symbolic link, not followed")
        elif entry.is_dir(follow_symlinks=False):
            pending.append(name)
        elif entry.is_file(follow_symlinks=False):
            yield Entry(path, name, False)
        else:
            yield Entry(path, name, False, "not a regular file")


class NotRegularFile(Exception):
    pass


def open_regular(entry: Entry):
    """Open for reading without following a link found in a walked tree, and
    without blocking on a FIFO swapped in since the walk."""
    flags = os.O_RDONLY | os.O_NONBLOCK
    if not entry.follow:
        flags |= os.O_NOFOLLOW
    fd = os.open(entry.path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class HelpFormatter(DjangoHelpFormatter, RawDescriptionHelpFormatter):
    pass


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        kwargs.setdefault("formatter_class", HelpFormatter)  # keep HELP's line breaks
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--user", required=True, metavar="USERNAME", help="Username recorded as acquiring."
        )
        parser.add_argument(
            "--kind",
            metavar="KIND",
            help=f"Evidence kind for every file ({', '.join(EvidenceItem.Kind.values)}). "
            "Default: inferred from each file's content (an image is a photo).",
        )
        parser.add_argument(
            "--incident", metavar="CODE", help="Incident code to link every file to."
        )
        parser.add_argument(
            "--source",
            default="",
            metavar="TEXT",
            help="Where the files came from (custody record).",
        )
        parser.add_argument("paths", nargs="+", metavar="PATH", help="Files or directories.")

    def handle(self, *args, **options) -> None:
        user, incident, kind = self._check(options)
        counter = {"hidden": 0}
        entries = [entry for argument in options["paths"] for entry in walk(argument, counter)]

        bar = Progress(len(entries), sys.stderr)
        totals = {"stored": 0, "duplicate": 0, "set aside": 0, "rejected": 0}
        # The lines on stdout say what the intake's INFO log lines would repeat.
        quiet = quiet_info("evidence") if options["verbosity"] < 2 else contextlib.nullcontext()
        with quiet:
            try:
                bar.advance(0)  # show 0/N before the first (maybe large) file
                for entry in entries:
                    line, outcome = self._one(
                        entry, user=user, incident=incident, kind=kind, source=options["source"]
                    )
                    totals[outcome] += 1
                    bar.clear()
                    self.stdout.write(line)
                    self.stdout.flush()
                    bar.advance()
            finally:
                bar.close()

        summary = (
            f"{len(entries)} files: {totals['stored']} stored, "
            f"{totals['duplicate']} already held, {totals['rejected']} rejected"
        )
        if totals["set aside"]:
            summary += f", {totals['set aside']} set aside"
        if counter["hidden"]:
            summary += f"; {counter['hidden']} hidden entries skipped"
        self.stderr.write(summary + ".", style_func=lambda text: text)
        if totals["rejected"]:
            raise CommandError(f"{totals['rejected']} of {len(entries)} files were rejected.")

    def _check(self, options) -> tuple[AbstractBaseUser, Incident | None, str | None]:
        """Everything that would make the whole run wrong is refused before storing."""
        User = get_user_model()
        try:
            user = User.objects.get(username=options["user"])
        except User.DoesNotExist:
            raise CommandError(f"No user named {options['user']!r}.") from None
        if not user.is_active:
            raise CommandError(f"User {user.username!r} is inactive.")

        kind = options["kind"]
        if kind is not None and kind not in EvidenceItem.Kind.values:
            raise CommandError(
                f"Unknown evidence kind {kind!r}; use one of {', '.join(EvidenceItem.Kind.values)}."
            )

        incident = None
        if options["incident"] is not None:
            code = options["incident"].strip().upper()
            # A restricted incident does not exist for a user who may not see it.
            incident = visible_incidents(user).filter(code=code).first()
            if incident is None:
                raise CommandError(f"No incident with code {options['incident']!r}.")
            try:
                locks.check_incident_open(incident.pk, "evidence")
            except locks.Locked as exc:
                raise CommandError(" ".join(exc.messages)) from None

        missing = [p for p in options["paths"] if not os.path.exists(p)]
        if missing:
            raise CommandError(
                "No such file or directory: " + ", ".join(printable(p) for p in missing)
            )
        return user, incident, kind

    def _one(self, entry: Entry, *, user, incident, kind, source) -> tuple[str, str]:
        shown = printable(entry.path)
        if entry.refused:
            return f"REJECTED {shown}: {entry.refused}", "rejected"
        try:
            with open_regular(entry) as stream:
                result = intake.ingest(
                    stream,
                    filename=entry.name,
                    kind=kind,
                    by=user,
                    incident=incident,
                    received_from=source,
                )
        except intake.IntakeError as exc:
            return f"REJECTED {shown}: {exc}", "rejected"
        except ValidationError as exc:
            return f"REJECTED {shown}: {' '.join(exc.messages)}", "rejected"
        except NotRegularFile:
            return f"REJECTED {shown}: not a regular file", "rejected"
        except OSError as exc:
            return f"REJECTED {shown}: cannot read: {exc.strerror or exc}", "rejected"
        except Exception:
            # One bad file must not stop the other 799; the trace goes to the log.
            log.exception("ingest of %r failed", entry.path)
            return f"REJECTED {shown}: unexpected error, see the server log", "rejected"
        if result.withheld:
            # Held in an item the user may not see: no code, no hash of that item.
            return f"SET ASIDE {shown}: {intake.SET_ASIDE}", "set aside"
        item = result.item
        if result.duplicate:
            return f"DUPLICATE {item.code} {item.sha256} {shown}", "duplicate"
        return f"{item.code} {item.sha256} {shown}", "stored"
