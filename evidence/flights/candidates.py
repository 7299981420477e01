"""The flights consistent with a strike, ranked (``ranking.candidates``), as an HTML
table: on the incident's admin page (a read-only field) and on the flight
observations' candidates page.

Its confirm buttons post to ``FlightObservationAdmin.confirm_view`` with
``formaction``, so they work inside the incident's change form, whose CSRF token they
send along.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from evidence.flights import ranking
from evidence.models import FlightMatch
from tracker.locks import LOCKED
from tracker.models import DatePrecision, Incident

SHOWN_CANDIDATES = 20  # on the incident's page; the candidates page and the command show all


def candidates_html(
    incident: Incident,
    *,
    viewer,
    can_confirm: bool = False,
    before: int = ranking.DEFAULT_BEFORE,
    after: int = ranking.DEFAULT_AFTER,
    limit: int | None = SHOWN_CANDIDATES,
) -> SafeString:
    """The flights consistent with ``incident`` that ``viewer`` may see, best first, as
    an HTML table.

    With ``can_confirm`` (give it ``request.user.has_perm("tracker.review_incident")``)
    each unconfirmed row has a Confirm button posting to ``confirm_view``; the view
    checks the permission again. Costs three queries for an incident loaded with
    ``select_related("weapon", "place")`` (attributions, candidates, confirmed
    matches), and one more with ``can_confirm`` (the attributions to support)."""
    refused = ""
    ranked: list[ranking.Candidate] = []
    try:
        ranked = ranking.candidates(incident, viewer=viewer, before=before, after=after)
    except ranking.CorrelationRefused as exc:
        refused = str(exc)
    shown = ranked if limit is None else ranked[:limit]
    matches = list(
        FlightMatch.objects.filter(incident=incident)
        .select_related("observation__log__item", "confirmed_by")
        .order_by("confirmed_at")
    )
    attributions = []
    if can_confirm and incident.status not in LOCKED:
        attributions = list(
            incident.attributions.select_related("force", "unit", "official").order_by("pk")
        )
    precision = DatePrecision(incident.start_precision).label
    context = {
        "incident": incident,
        "refused": refused,
        "rows": [
            {
                "rank": n,
                "candidate": c,
                "obs": c.observation,
                "percent": round(c.score * 100),
                "reasons": c.reasons,
            }
            for n, c in enumerate(shown, start=1)
        ],
        "hidden": len(ranked) - len(shown),
        "total": len(ranked),
        "before": before,
        "after": after,
        "precision": precision,
        "matches": matches,
        "can_confirm": can_confirm and incident.status not in LOCKED,
        "locked": can_confirm and incident.status in LOCKED,
        "attributions": attributions,
        "confirm_url": reverse("admin:evidence_flightobservation_confirm", args=[incident.pk]),
        "page_url": reverse("admin:evidence_flightobservation_candidates", args=[incident.pk]),
        "timeline_url": reverse("admin:evidence_flightobservation_timeline")
        + f"?day={timezone.localtime(incident.occurred_start).date().isoformat()}",
    }
    return mark_safe(render_to_string("admin/evidence/flight_candidates.html", context))  # noqa: S308 - the template escapes
