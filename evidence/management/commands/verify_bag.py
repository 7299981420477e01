"""Check an exported bag offline: ``python manage.py verify_bag BAG_DIR``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.files import bag_check, timestamping


class Command(BaseCommand):
    help = (
        "Check a bag made by export_bag without the tracker's database: bagit fixity, "
        "every custody chain and original, every chain head's inclusion proof and every "
        "RFC 3161 timestamp, printing what each proves; exit status 1 on any problem. "
        "Give the TSAs' root certificates (as they publish them) with --tsa-ca to verify "
        "the timestamps under those rather than under the CA the bag carries."
    )
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("bag", metavar="BAG_DIR", help="The bag's directory (unzipped).")
        parser.add_argument(
            "--tsa-ca",
            metavar="FILE",
            help="PEM file of the TSAs' root certificates to trust (default: the bag's own).",
        )

    def handle(self, *args, **options) -> None:
        trusted = None
        if options["tsa_ca"]:
            try:
                trusted = timestamping.load_roots(options["tsa_ca"])
            except timestamping.TimestampError as exc:
                raise CommandError(str(exc)) from exc
        report = bag_check.check(options["bag"], trusted)
        for line in report.lines:
            self.stdout.write(line)
        if report.problems:
            raise CommandError(f"{report.problems} problem(s) in {options['bag']}.")
        self.stdout.write("OK: every check above passed.")
        if trusted is None:
            self.stdout.write(
                "The timestamps were verified under the CA certificates the bag carries: "
                "compare their fingerprints above with the roots the TSAs publish, or run "
                "again with --tsa-ca FILE."
            )
