"""``manage.py check_storage [--delete-orphans [--min-age SECONDS]]``: files against rows.

Prints one line per finding (see ``evidence/files/storage_audit.py``), then a summary,
and exits with status 1 if anything is wrong:

    ORPHAN originals/ab/cd/<sha256>                 a stored file nothing points at
    LOGGED-ONLY EV-000123 originals/ab/cd/<sha256> (named by the custody log of
        EV-000123, not by its row)                  an original the log vouches for
    MISSING EV-000123 originals/ab/cd/<sha256>      a row whose original is gone
    MISSING-DERIVATIVE EV-000123 derivatives/...    a preview row whose file is gone
    STALE-STAGING staging/<name>                    an abandoned upload
    STAGING staging/<name>                          an upload in progress (not a problem)
    REMOVED originals/ab/cd/<sha256>                removed by --delete-orphans

Nothing is removed without ``--delete-orphans``, and never a file a row points
at or a custody event names (the log, not the row, says which bytes an item is:
a ``LOGGED-ONLY`` file is most likely the real original of an item whose row was
pointed elsewhere; run ``verify_evidence``). An orphan original may be the only
copy of something someone meant to keep (say, files whose rows were lost with a
database restored from an older backup): look at the list before removing.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from evidence.files import storage, storage_audit


class Command(BaseCommand):
    help = (
        "List stored files no row points at, rows whose files are missing and "
        "abandoned uploads; exit with status 1 on any problem."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--delete-orphans",
            action="store_true",
            help="Remove orphan files and abandoned staged uploads (never a file a row "
            "points at or a custody event names).",
        )
        parser.add_argument(
            "--min-age",
            type=float,
            default=storage.STAGING_MAX_AGE,
            metavar="SECONDS",
            help="With --delete-orphans, remove only files older than this (default "
            f"{storage.STAGING_MAX_AGE}: younger ones may belong to work in progress). "
            "0 only when nothing else is running.",
        )

    def handle(self, *args, delete_orphans: bool, min_age: float, **options) -> None:
        if min_age < 0:
            raise CommandError("--min-age cannot be negative.")
        # A logged-only file means a row was pointed away from its original: it is
        # summed only when found, so the summary of a healthy store stays as it was.
        usual = storage_audit.PROBLEMS - {storage_audit.LOGGED_ONLY}
        counts: dict[str, int] = dict.fromkeys(
            [*sorted(usual), storage_audit.STAGING, storage_audit.REMOVED], 0
        )
        for finding in storage_audit.scan(delete_orphans=delete_orphans, min_age=min_age):
            counts[finding.kind] = counts.get(finding.kind, 0) + 1
            self.stdout.write(str(finding))
        summary = ", ".join(f"{count} {kind}" for kind, count in counts.items())
        problems = sum(counts.get(kind, 0) for kind in storage_audit.PROBLEMS)
        if problems:
            raise CommandError(f"{problems} problem(s): {summary}.")
        self.stdout.write(f"OK: {summary}.")
