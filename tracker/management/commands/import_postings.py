"""Import units and postings: ``python manage.py import_postings --user USERNAME PATH ...``.

The CSV shape is ``docs/formats/postings-csv.md``: a file of units, a file of
postings, or both in one file with a ``record`` column. Every row is checked before
anything is written; one wrong row and nothing is imported.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracker.management.arguments import add_user_argument, user_from
from tracker.responsibility.postings import ImportRejected, import_postings

HELP = (
    "Import units and postings from CSV files (units before postings, whatever the order "
    "of the files). Prints what was created; on any error prints every one as "
    "'line <n>, <column>: <reason>' (prefixed with the file when several are given), "
    "imports nothing and exits 1."
)


class Command(BaseCommand):
    help = HELP

    def add_arguments(self, parser: CommandParser) -> None:
        add_user_argument(parser, help="Recorded as creating officials.")
        parser.add_argument("paths", nargs="+", metavar="PATH", help="CSV files.")

    def handle(self, *args, **options) -> None:
        user = user_from(options)
        files = []
        for path in options["paths"]:
            try:
                files.append((path, Path(path).read_bytes()))
            except OSError as exc:
                raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from None
        try:
            result = import_postings(files, by=user)
        except ImportRejected as rejected:
            several = len(files) > 1
            for error in rejected.errors:
                line = f"{error.file}: {error}" if several else str(error)
                self.stderr.write(line.replace("\r", "\\r"), style_func=lambda text: text)
            raise CommandError(
                f"{len(rejected.errors)} error(s) found; nothing was imported."
            ) from None
        self.stdout.write(f"Imported: {result.summary()}.")
