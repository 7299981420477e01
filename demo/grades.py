"""SAMPLE proposals of the demo case's grades (``evidence.corroboration``), and three
incidents whose evidence disagrees on purpose, so that the proposal differs from the
grade the demo gives them and says why: a photo whose camera says it was taken two
days before the strike (``PREDATED``), two sources whose killed figures do not meet,
and a satellite "after" scene dated before the strike."""

from __future__ import annotations

from demo import data
from evidence.corroboration import rules
from evidence.models import EvidenceLink, SatelliteImage

# The photo whose camera says it was taken two days before its strike (the second
# incident's first photo: its EXIF is made so, ``EvidenceSteps._photos``).
PREDATED = (data.INCIDENTS[1].key, 1)


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
        done: set[str] = {PREDATED[0]}
        for key, held in links.items():  # figures that do not meet
            named = {link.item.source_name: link for link in held if link.item.source_name}
            if len(named) >= 2 and key not in done:
                first, second = list(named.values())[:2]
                self._figures(first, 4, 6)
                self._figures(second, 11, 14)
                done.add(key)
                break
        for key, held in links.items():  # an "after" scene dated before the strike
            after = (
                SatelliteImage.objects.filter(
                    item__in=[link.item for link in held], before__isnull=False
                )
                .select_related("before")
                .first()
            )
            if after and after.before.captured_at and key not in done:
                # Between its "before" and the strike: still after its "before".
                before, strike = after.before.captured_at, self.incidents[key].occurred_start
                after.captured_at = before + (strike - before) / 2
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
