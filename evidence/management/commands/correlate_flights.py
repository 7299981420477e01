"""Rank the observed flights consistent with a strike: ``correlate_flights CODE``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.flights import ranking

HELP = (
    "Print the flight observations consistent with an incident, best first, one per line: "
    "<observation id> TAB <observed_at ISO 8601> TAB <aircraft_type> TAB <score 0-1> TAB "
    "<reasons>. The window runs from --before minutes before the incident's time to --after "
    "minutes after it, widened by the precision of that time (the whole hour or day)."
)


class Command(BaseCommand):
    help = HELP

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", metavar="CODE", help="Incident code, e.g. INC-0042.")
        parser.add_argument(
            "--before",
            type=int,
            default=ranking.DEFAULT_BEFORE,
            metavar="MIN",
            help=f"Minutes before the incident's time (default {ranking.DEFAULT_BEFORE}).",
        )
        parser.add_argument(
            "--after",
            type=int,
            default=ranking.DEFAULT_AFTER,
            metavar="MIN",
            help=f"Minutes after the incident's time (default {ranking.DEFAULT_AFTER}).",
        )

    def handle(self, *args, **options) -> None:
        incident = ranking.load_incident(options["code"])
        if incident is None:
            raise CommandError(f"No incident with code {options['code']!r}.")
        try:
            ranked = ranking.candidates(
                incident, viewer=None, before=options["before"], after=options["after"]
            )
        except ranking.CorrelationRefused as exc:
            raise CommandError(str(exc)) from None
        for candidate in ranked:
            self.stdout.write(ranking.line(candidate))
        self.stderr.write(
            f"{len(ranked)} candidate observations for {incident.code}.",
            style_func=lambda text: text,
        )
