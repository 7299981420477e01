"""Load the SAMPLE demo case (idempotent): ``python manage.py load_demo``."""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError

import demo
from demo.data import ADMIN_URL


class Command(BaseCommand):
    help = (
        "Build an illustrative case labelled SAMPLE (incidents, forces, officials, evidence "
        "files through the intake) and demo users. Does nothing if it is already loaded."
    )

    def handle(self, *args, **options) -> None:
        intake_log = logging.getLogger("evidence.intake")
        level = intake_log.level
        if options["verbosity"] < 2:
            intake_log.setLevel(logging.WARNING)  # one INFO line per file is noise here
        try:
            result = demo.load()
        except demo.DemoError as exc:
            raise CommandError(str(exc)) from None
        finally:
            intake_log.setLevel(level)
        if result.already_loaded:
            self.stdout.write(
                "The SAMPLE demo case is already loaded; nothing changed. "
                "`python manage.py demo_logins` shows the demo logins."
            )
            return
        counts = ", ".join(f"{n} {what}" for what, n in result.counts.items())
        kinds = ", ".join(f"{n} {kind}" for kind, n in result.evidence_by_kind.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded the SAMPLE demo case in {result.seconds:.1f} s: {counts} ({kinds})."
            )
        )
        if result.new_logins:
            self.stdout.write(
                f"Demo logins (shown once; kept in {demo.logins_path()}, readable by you only; "
                "`python manage.py demo_logins` shows them again):"
            )
            for username, password in result.new_logins.items():
                self.stdout.write(f"  {username:<12} {password}")
            self.stdout.write(f"Admin: {ADMIN_URL}")
        if result.kept_users:
            self.stdout.write(
                f"Existing accounts left unchanged: {', '.join(result.kept_users)} "
                "(their passwords are not in the demo logins)."
            )
