"""Compute every incident's proposed grade now: ``python manage.py propose_grades``."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from evidence.corroboration import decisions, rules
from evidence.files.progress import Progress
from tracker.models import Incident


class Command(BaseCommand):
    help = (
        "Compute and keep the proposed civilian-harm grade of every incident (read in "
        "batches of 500). The grade job keeps each incident's proposal as its evidence "
        "changes; run this once after an upgrade that brings proposals, or after changing "
        "the rules. No incident's grade is changed."
    )

    def handle(self, *args, **options) -> None:
        progress = Progress(Incident.objects.count(), self.stderr)
        done = 0

        def step(count: int, total: int) -> None:
            nonlocal done
            progress.advance(count - done)
            done = count

        stored = rules.store_all(step)
        progress.close()
        differ = decisions.differs(Incident.objects.all()).count()
        self.stdout.write(
            f"{stored} incident{'s' * (stored != 1)}: proposals kept; the grade of {differ} "
            "differs from its proposal (not graded yet, or graded otherwise)."
        )
