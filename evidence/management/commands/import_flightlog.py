"""Import a flight-spotter log: ``python manage.py import_flightlog --user U [--tz Z] PATH``."""

from __future__ import annotations

import contextlib
import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from evidence import intake
from evidence.files.local import Entry, NotRegularFile, open_regular, printable
from evidence.files.progress import Progress, quiet_info
from evidence.flights import flightlog, normalise
from tracker.management.arguments import RawHelpCommand, add_user_argument, user_from

HELP = """\
Store a flight-spotter log (docs/formats/flightlog-csv.md) as an evidence item
through the intake path, then create one flight observation per row.

Every row is checked first; each problem is printed on stderr as
  line <n>, <column>: <reason>
By default one invalid row refuses the whole file (nothing is stored, exit 1);
with --skip-invalid the valid rows are imported and the others listed.
On success stdout says:
  EV-000123 <sha256> <path>: <n> observations imported[, <m> invalid rows skipped]
A file already held prints
  DUPLICATE EV-000045 <sha256> <path>: already imported; nothing imported
and exits 0 (importing twice changes nothing)."""


class Command(RawHelpCommand):
    help = HELP

    def add_arguments(self, parser: CommandParser) -> None:
        add_user_argument(parser, help="Username recorded as acquiring.")
        parser.add_argument(
            "--tz",
            default="",
            metavar="ZONE",
            help="IANA time zone of times written without a UTC offset (e.g. Asia/Damascus). "
            "Without it, such times refuse the file.",
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the valid rows and list the invalid ones instead of refusing the file.",
        )
        parser.add_argument(
            "--source", default="", metavar="TEXT", help="How the log reached the team (custody)."
        )
        parser.add_argument("path", metavar="PATH", help="The CSV file.")

    def handle(self, *args, **options) -> None:
        user = user_from(options)
        if options["tz"]:
            try:
                flightlog.parse_zone(options["tz"])
            except flightlog.FlightLogRefused as exc:
                raise CommandError(str(exc)) from None
        path = options["path"]
        shown = printable(path)
        if not os.path.exists(path):
            raise CommandError(f"No such file: {shown}")

        bars: dict[str, Progress] = {}

        def progress(phase: str, done: int, total: int) -> None:
            bar = bars.get(phase)
            if bar is None:
                for other in bars.values():
                    other.close()
                bar = bars[phase] = Progress(total, sys.stderr)
            bar.advance(done - bar.done)

        quiet = quiet_info("evidence") if options["verbosity"] < 2 else contextlib.nullcontext()
        try:
            with quiet, open_regular(Entry(path, os.path.basename(path), follow=True)) as stream:
                result = flightlog.import_flight_log(
                    stream,
                    filename=os.path.basename(path),
                    by=user,
                    time_zone=options["tz"],
                    skip_invalid=options["skip_invalid"],
                    received_from=options["source"],
                    progress=progress,
                )
        except flightlog.FlightLogRefused as exc:
            self._problems(exc.problems, exc.more)
            raise CommandError(f"{shown}: {exc}") from None
        except (intake.IntakeError, ValidationError) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            raise CommandError(f"{shown}: {text}") from None
        except NotRegularFile:
            raise CommandError(f"{shown}: not a regular file") from None
        except OSError as exc:
            raise CommandError(f"{shown}: cannot read: {exc.strerror or exc}") from None
        finally:
            for bar in bars.values():
                bar.close()

        item = result.item
        if result.duplicate:
            self.stdout.write(
                f"DUPLICATE {item.code} {item.sha256} {shown}: already imported "
                f"({result.log.row_count} observations); nothing imported"
            )
            return
        self._problems(result.skipped, result.more_problems)
        summary = f"{item.code} {item.sha256} {shown}: {result.imported} observations imported"
        if result.skipped_rows:
            summary += f", {result.skipped_rows} invalid rows skipped"
        self.stdout.write(summary)

    def _problems(self, problems, more: int) -> None:
        naive = False
        for problem in problems:
            naive = naive or problem.reason == normalise.NAIVE_TIME
            self.stderr.write(str(problem), style_func=lambda text: text)
        if more:
            self.stderr.write(f"… and {more:,} more problems", style_func=lambda text: text)
        if naive:
            self.stderr.write(
                "Give the zone of times written without an offset: --tz Asia/Damascus (or another "
                "IANA zone).",
                style_func=lambda text: text,
            )
