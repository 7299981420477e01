"""Capture web pages by link: ``python manage.py capture --user U [--incident CODE] URL...``.

Each URL is asked for as a background capture (``evidence.capture.capturing``); a worker
(``manage.py worker``) fetches it and keeps it as a ``web_capture`` item.
"""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser

from evidence.capture import capturing, fetching
from evidence.files.local import printable
from tracker.management.arguments import (
    RawHelpCommand,
    add_user_argument,
    open_incident_from,
    user_from,
)

HELP = """\
Ask for a capture of each URL and print one line per URL:
  QUEUED <url> job <n>       a worker captures it (see the jobs page, or the job's line)
  REFUSED <url>: <reason>    not asked for (only http and https addresses with a host)
The exit status is 1 if any URL was refused. --incident must be an incident the --user
may see and that is not locked. Addresses on private or local networks are refused when
the worker fetches them (and each redirect is checked again).
"""


class Command(RawHelpCommand):
    help = HELP

    def add_arguments(self, parser: CommandParser) -> None:
        add_user_argument(parser, help="Username who asks for the captures.")
        parser.add_argument("--incident", metavar="CODE", help="Incident to link each capture to.")
        parser.add_argument("urls", nargs="+", metavar="URL")

    def handle(self, *args, **options) -> None:
        user = user_from(options)
        incident = open_incident_from(options, user)
        refused = 0
        for url in options["urls"]:
            shown = printable(url)
            try:
                job = capturing.capture_later(url, by=user, incident=incident)
            except fetching.Refused as exc:
                refused += 1
                self.stdout.write(f"REFUSED {shown}: {exc}")
                continue
            self.stdout.write(f"QUEUED {job.arguments['url']} job {job.pk}")
        if refused:
            raise CommandError(f"{refused} of {len(options['urls'])} URLs refused.")
