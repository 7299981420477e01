"""Export incidents and their evidence as a BagIt bag: ``python manage.py export_bag``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.files import bagging
from tracker.management.arguments import add_user_argument, user_from


class Command(BaseCommand):
    help = (
        "Write a BagIt bag (RFC 8493; sha256 and sha512 manifests) with the originals, "
        "metadata and custody logs of the evidence linked to the given incidents, and "
        "record an 'exported' custody event per item. OUT_DIR must not exist or be empty. "
        "Witnesses' real names, contact details and notes, and the originals of items "
        "marked protected, are left out unless --include-protected is given by a user "
        "allowed to view protected identity. Check the result with `bagit.py --validate`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--incident",
            action="append",
            required=True,
            metavar="CODE",
            help="Incident code to export (repeat for several).",
        )
        add_user_argument(parser, required=False, help="Who is exporting (recorded in custody).")
        parser.add_argument(
            "--include-protected",
            action="store_true",
            help="Include protected identity and protected originals (needs the permission).",
        )
        parser.add_argument(
            "--organization",
            default="",
            metavar="TEXT",
            help="Source-Organization in bag-info.txt.",
        )
        parser.add_argument("out_dir", metavar="OUT_DIR", help="Directory to create.")

    def handle(self, *args, **options) -> None:
        user = user_from(options)
        try:
            incidents = bagging.incidents_by_code(options["incident"], by=user)
            result = bagging.export_bag(
                incidents,
                options["out_dir"],
                by=user,
                include_protected=options["include_protected"],
                organization=options["organization"],
            )
        except bagging.ExportError as exc:
            raise CommandError(str(exc)) from exc

        size, files = result.payload_oxum.split(".")
        self.stdout.write(
            f"Wrote {result.path}: {_count(len(result.incidents), 'incident')}, "
            f"{_count(len(result.items), 'evidence item')}, "
            f"{int(size):,} bytes in {_count(int(files), 'payload file')}."
        )
        if result.withheld:
            self.stdout.write(
                f"Originals withheld as protected: {', '.join(result.withheld)} "
                "(--include-protected includes them)."
            )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
