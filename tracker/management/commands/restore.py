"""``manage.py restore IN_DIR``: a backup into an empty, migrated instance.

Verifies every file against the backup's manifest first; refuses a damaged
backup, one made at other migrations, and an instance that already holds
anything. See ``tracker/backup.py``. Run ``verify_evidence`` afterwards.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tracker import backup


class Command(BaseCommand):
    help = "Restore a backup made by `backup` into an empty instance."

    def add_arguments(self, parser) -> None:
        parser.add_argument("in_dir", type=Path, help="The backup's directory.")

    def handle(self, *args, in_dir: Path, **options) -> None:
        try:
            summary = backup.restore(in_dir)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Restored {sum(summary.counts.values())} rows, {summary.originals} originals "
            f"and {summary.derivatives} derivatives from {in_dir}."
        )
        for name, reason in sorted(summary.unavailable.items()):
            self.stdout.write(f"{reason.upper()} {name} (already so when backed up)")
