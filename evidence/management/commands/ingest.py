"""Bring files and folders in as evidence: ``python manage.py ingest --user U PATH ...``.

Every file goes through evidence.intake, one at a time, each failure isolated,
so a folder of 800 photos gets through in one run and the output says what
became of each file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from evidence import intake
from evidence.files.local import Entry, NotRegularFile, open_regular, printable, walk
from evidence.files.progress import Progress, quiet_info
from evidence.models import EvidenceItem
from tracker.management.arguments import (
    RawHelpCommand,
    add_user_argument,
    open_incident_from,
    user_from,
)
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


class Command(RawHelpCommand):
    help = HELP

    def add_arguments(self, parser: CommandParser) -> None:
        add_user_argument(parser, help="Username recorded as acquiring.")
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
        user = user_from(options)

        kind = options["kind"]
        if kind is not None and kind not in EvidenceItem.Kind.values:
            raise CommandError(
                f"Unknown evidence kind {kind!r}; use one of {', '.join(EvidenceItem.Kind.values)}."
            )

        incident = open_incident_from(options, user)

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
