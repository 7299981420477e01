"""SAMPLE proposals of the demo case's grades (``evidence.corroboration``), and three
incidents whose evidence disagrees on purpose, so that the proposal differs from the
grade the demo gives them and says why: two sources whose killed figures do not meet,
a photo whose capture time is two days before the strike, and a satellite "after"
scene dated before it."""

from __future__ import annotations

from datetime import timedelta

from evidence.corroboration import rules
from evidence.models import EvidenceItem, EvidenceLink, SatelliteImage

K = EvidenceItem.Kind


class GradeSteps:
    incidents: dict
    researcher: object

    def _disagreements(self) -> None:
        """Before review (a verified incident's links are locked)."""
        links = {
            key: list(
                EvidenceLink.objects.filter(incident=incident, relied_on=True)
                .select_related("item")
                .order_by("item__code")
            )
            for key, incident in self.incidents.items()
        }
        done: set[str] = set()
        for key, held in links.items():  # figures that do not meet
            named = {link.item.source_name: link for link in held if link.item.source_name}
            if len(named) >= 2 and key not in done:
                first, second = list(named.values())[:2]
                self._figures(first, 4, 6)
                self._figures(second, 11, 14)
                done.add(key)
                break
        for key, held in links.items():  # a photo from before the strike
            photos = [
                link.item for link in held if link.item.kind == K.PHOTO and link.item.captured_at
            ]
            if photos and key not in done:
                photo = photos[0]
                photo.captured_at = self.incidents[key].occurred_start - timedelta(days=2)
                photo._history_user = self.researcher
                photo.save()
                done.add(key)
                break
        for key, held in links.items():  # an "after" scene dated before the strike
            after = SatelliteImage.objects.filter(
                item__in=[link.item for link in held], before__isnull=False
            ).first()
            if after and key not in done:
                after.captured_at = self.incidents[key].occurred_start - timedelta(days=3)
                after._history_user = self.researcher
                after.save()
                done.add(key)
                break

    def _figures(self, link: EvidenceLink, low: int, high: int) -> None:
        link.killed_min, link.killed_max = low, high
        link._history_user = self.researcher
        link.save()

    def _proposals(self) -> None:
        rules.store_all()
