"""Anchor the custody chains now: ``python manage.py anchor_custody``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from evidence import jobs
from evidence.files import anchoring


class Command(BaseCommand):
    help = (
        "Put every custody chain head that changed since its last anchor under a new "
        "Merkle root and ask each TSA of TRACKER_TSA_URLS for a timestamp of it (and of "
        "earlier anchors still without one). The worker does this every "
        "TRACKER_ANCHOR_EVERY_HOURS; exit status 1 if a TSA gave no valid token."
    )

    def handle(self, *args, **options) -> None:
        try:
            self.stdout.write(jobs.anchor_now())
        except anchoring.NotTimestamped as exc:
            raise CommandError(str(exc)) from exc
