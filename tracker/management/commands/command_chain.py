"""Who commanded the units an incident is attributed to: ``python manage.py command_chain CODE``.

One line per entry, tab-separated:

    <depth>\t<unit>\t<official>\t<position title>\t<from>\t<to>\t<certain|possible>

depth 0 is the attributed unit, 1 the unit above it, and so on; an empty <from> means
the start is not recorded, an empty <to> still in post. ``--reasons`` adds an eighth
column saying why an entry is only possible.
"""

from __future__ import annotations

import re

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracker.models import Incident
from tracker.responsibility.chain import chain_of_command

# Tabs and line breaks inside a name would break the one-line, tab-separated format.
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def cell(text: str) -> str:
    return _BREAKS.sub(" ", text).strip()


class Command(BaseCommand):
    help = (
        "Print the chain of command of an incident's attributed units on its date: "
        "<depth> <unit> <official> <position title> <from> <to> <certain|possible>, "
        "tab-separated, from the attributed unit upward. Exits 1 for an unknown code."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", metavar="CODE", help="Incident code, e.g. INC-0042.")
        parser.add_argument(
            "--reasons", action="store_true", help="Add why an entry is only possible."
        )

    def handle(self, *args, **options) -> None:
        code = options["code"].strip().upper()
        incident = Incident.objects.filter(code=code).first()
        if incident is None:
            raise CommandError(f"No incident with code {cell(options['code'])!r}.")
        entries = chain_of_command(incident)
        if not entries:
            self.stderr.write(
                f"{incident.code}: no command posting over its attributed units on its date "
                "(or it is attributed to no unit).",
                style_func=lambda text: text,
            )
        for entry in entries:
            title = entry.position.title + (" (acting)" if entry.position.is_acting else "")
            columns = [
                str(entry.depth),
                entry.unit.name,
                entry.official.name,
                title,
                entry.started,
                entry.ended,
                entry.certainty,
            ]
            if options["reasons"]:
                columns.append(entry.reason)
            self.stdout.write("\t".join(cell(c) for c in columns))
