"""``manage.py backup OUT_DIR [--link]``: the database, the originals and a manifest.

See ``tracker/backup.py`` for what the directory holds. Exits with status 1 when
an original or derivative could not be backed up (missing, or not matching its
hash): the backup is still complete and restorable, and lists them in
``backup.json``; ``check_storage`` and ``verify_evidence`` say more.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tracker import backup


class Command(BaseCommand):
    help = "Back up the database, every original and derivative, with a SHA-256 manifest."

    def add_arguments(self, parser) -> None:
        parser.add_argument("out_dir", type=Path, help="A new or empty directory.")
        parser.add_argument(
            "--link",
            action="store_true",
            help="Hard-link originals instead of copying them (same filesystem only; "
            "not a second copy on disk).",
        )

    def handle(self, *args, out_dir: Path, link: bool, **options) -> None:
        try:
            summary = backup.backup(out_dir, link=link)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        rows = sum(summary.counts.values())
        self.stdout.write(
            f"Backed up {rows} rows, {summary.originals} originals and "
            f"{summary.derivatives} derivatives to {out_dir}."
        )
        if summary.unavailable:
            for name, reason in sorted(summary.unavailable.items()):
                self.stdout.write(f"{reason.upper()} {name}")
            raise CommandError(
                f"{len(summary.unavailable)} file(s) could not be backed up (listed above "
                "and in backup.json); the rest of the backup is complete."
            )
