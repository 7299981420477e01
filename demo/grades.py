"""SAMPLE proposals of the demo case's grades (``evidence.corroboration``).

The demo's grades are its proposals, but for five incidents that differ on purpose:
three whose evidence disagrees, so the proposal is "contested" while the demo's grade
stays as typed (a photo whose camera says it was taken two days before the strike,
``PREDATED``; two sources whose killed figures do not meet; a satellite "after" scene
dated before the strike), and the two the demo grades "contested" for reasons outside
the evidence, which the demo's reviewer sets with a reason against the proposal, as the
review log shows."""

from __future__ import annotations

from demo import data
from evidence.corroboration import decisions, rules
from evidence.models import EvidenceLink, GradeProposal, SatelliteImage
from tracker.locks import LOCKED
from tracker.models import Incident

# The photo whose camera says it was taken two days before its strike (the second
# incident's first photo: its EXIF is made so, ``EvidenceSteps._photos``).
PREDATED = (data.INCIDENTS[1].key, 1)


OVERRIDE_REASON = (
    "SAMPLE: the local council and the civil defence give different accounts of who was "
    "hit; the evidence held does not settle it."
)


class GradeSteps:
    incidents: dict
    researcher: object
    users: dict
    disagreeing: set[str]

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
        done = self.disagreeing = {PREDATED[0]}
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
        """After review (a verified item counts), each incident's proposal; then the
        demo's grades settled against them (the module's docstring)."""
        rules.store_all()
        proposed = dict(GradeProposal.objects.values_list("incident_id", "grade"))
        for key, incident in self.incidents.items():
            incident.refresh_from_db()
            grade = proposed.get(incident.pk, "")
            if key in self.disagreeing or not grade:
                continue
            if (
                incident.civilian_harm == Incident.HarmGrade.CONTESTED
                and grade != incident.civilian_harm
            ):
                if incident.status not in LOCKED:
                    seen = rules.proposals([incident.pk])[incident.pk].digest
                    decisions.decide(
                        incident,
                        by=self.users["reviewer"],
                        grade=Incident.HarmGrade.CONTESTED,
                        seen=seen,
                        reason=OVERRIDE_REASON,
                    )
                continue
            # The demo's typed grade is the proposal (an update: no review step claimed).
            Incident.objects.filter(pk=incident.pk).update(civilian_harm=grade)
