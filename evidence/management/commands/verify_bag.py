"""Check an exported bag offline: ``python manage.py verify_bag BAG_DIR``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.files import bag_check


class Command(BaseCommand):
    help = (
        "Check a bag made by export_bag without the tracker's database: bagit fixity, "
        "every custody chain, every chain head's inclusion proof and every RFC 3161 "
        "timestamp, printing what each proves; exit status 1 on any problem."
    )
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("bag", metavar="BAG_DIR", help="The bag's directory (unzipped).")

    def handle(self, *args, **options) -> None:
        report = bag_check.check(options["bag"])
        for line in report.lines:
            self.stdout.write(line)
        if report.problems:
            raise CommandError(f"{report.problems} problem(s) in {options['bag']}.")
        self.stdout.write("OK: every check above passed.")
