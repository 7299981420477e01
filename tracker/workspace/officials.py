"""Pages for logged-in users outside the admin: find an official by any name, and an
official's dossier (on screen, printable and as CSV).

Anonymous visitors are sent to the login page; a logged-in account without
``tracker.view_official`` gets 403.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from tracker.access import VIEW_RESTRICTED
from tracker.admin.kit import status_badge
from tracker.findings import is_checked
from tracker.models import Official, Position, ReviewStatus, Unit
from tracker.responsibility.chain import tenure
from tracker.responsibility.dossier import BASIS_DIRECT, Dossier, dossier
from tracker.responsibility.names import official_name_q, unit_name_q
from tracker.responsibility.periods import EARLIEST, LATEST, format_partial, midnight
from tracker.workspace.exports import neutralise

VIEW_OFFICIAL = "tracker.view_official"
SEARCH_LIMIT = 50
PLACEHOLDER = 2_147_483_647


def requires_view_official(view: Callable) -> Callable:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.has_perm(VIEW_OFFICIAL):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


# --- Search ---------------------------------------------------------------------------------


@require_safe
@requires_view_official
def official_search(request: HttpRequest) -> HttpResponse:
    term = request.GET.get("q", "").strip()[:200]
    officials, units = [], []
    official_q, unit_q = official_name_q(term), unit_name_q(term)
    if official_q is not None and unit_q is not None:
        officials = list(
            Official.objects.filter(official_q).prefetch_related("aliases")[:SEARCH_LIMIT]
        )
        commanders = Position.objects.filter(is_command=True).select_related("official")
        units = list(
            Unit.objects.filter(unit_q)
            .select_related("force", "parent")
            .prefetch_related(Prefetch("positions", queryset=commanders.order_by("start")))[
                :SEARCH_LIMIT
            ]
        )
    context = {
        "term": term,
        "officials": officials,
        "units": units,
        "limit": SEARCH_LIMIT,
        "section": "officials",
    }
    return render(request, "tracker/official_search.html", context)


# --- Dossier --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One posting on the timeline: where it may have been held (``left``, ``width``, in
    percent of the timeline) and, within that, where it surely was (in percent of the bar)."""

    position: Position
    label: str
    started: str
    ended: str
    left: float
    width: float
    sure_left: float
    sure_width: float


@dataclass(frozen=True)
class Timeline:
    bars: list[Bar]
    years: list[tuple[int, float]]  # (year, percent from the left)


def timeline(postings: list[Position], today: date) -> Timeline | None:
    """Bars for the postings from the first year a date is known to the year after today
    (or after the latest end). An unknown start runs from the timeline's left edge; an
    open end runs to today."""
    spans = [(p, tenure(p)) for p in postings]
    known = [
        moment
        for _, held in spans
        for moment in (held.possible.earliest, held.possible.latest)
        if moment not in (EARLIEST, LATEST)
    ]
    if not known:
        return None
    first = datetime(min(known).year, 1, 1)
    last = datetime(max([*known, midnight(today)]).year + 1, 1, 1)
    now = midnight(today)
    total = (last - first).total_seconds()

    def pct(moment: datetime) -> float:
        moment = min(max(moment, first), last)
        return 100 * (moment - first).total_seconds() / total

    bars = []
    for position, held in spans:
        acting = " (acting)" if position.is_acting else ""
        left = pct(held.possible.earliest)
        right = max(pct(min(held.possible.latest, max(now, held.possible.earliest))), left + 0.5)
        width = right - left
        sure_from = pct(held.sure.earliest) if held.sure.earliest != LATEST else right
        sure_to = pct(min(held.sure.latest, max(now, held.sure.earliest)))
        sure_from, sure_to = min(max(sure_from, left), right), min(max(sure_to, left), right)
        bars.append(
            Bar(
                position,
                f"{position.unit.name} · {position.title}{acting}",
                format_partial(position.start, position.start_precision) or "start unknown",
                format_partial(position.end, position.end_precision) or "still in post",
                round(left, 2),
                round(width, 2),
                round(100 * (sure_from - left) / width, 2),
                round(100 * max(sure_to - sure_from, 0) / width, 2),
            )
        )
    years = [(y, round(pct(datetime(y, 1, 1)), 2)) for y in range(first.year, last.year)]
    step = max(1, -(-len(years) // 12))
    return Timeline(bars, years[::step])


def in_review_badge(status: str) -> str:
    """Nothing for a checked item; the status badge, after a space, for one in review."""
    return "" if is_checked(status) else format_html(" {}", status_badge(status))


def _context(request: HttpRequest, pk: int) -> dict:
    official = get_object_or_404(Official, pk=pk)
    found = dossier(official, include_restricted=request.user.has_perm(VIEW_RESTRICTED))
    # One reverse() for all rows, and evidence links built here: with thousands of rows,
    # per-row url tags and loops in the template would cost most of the page.
    change = reverse("admin:tracker_incident_change", args=[PLACEHOLDER])
    search = reverse("admin:evidence_evidenceitem_changelist")

    def codes(link) -> str:
        if not link.evidence_states:
            return "none linked"
        # An item still in review carries its state: it is not checked evidence.
        return format_html_join(
            ", ",
            '<a href="{}?q={}">{}</a>{}',
            ((search, code, code, in_review_badge(state)) for code, state in link.evidence_states),
        )

    def rows(entries) -> list:
        return [
            (
                entry,
                change.replace(str(PLACEHOLDER), str(entry.incident.pk)),
                [(link, codes(link)) for link in entry.links],
            )
            for entry in entries
        ]

    return {
        "findings": rows(found.findings),
        "in_review": rows(found.in_review),
        "dossier": found,
        "official": official,
        "timeline": timeline(found.postings, timezone.localdate()),
        "postings": [
            (
                p,
                format_partial(p.start, p.start_precision) or "unknown",
                format_partial(p.end, p.end_precision) or "still in post",
            )
            for p in found.postings
        ],
        "basis_direct": BASIS_DIRECT,
        "generated": timezone.localtime(),
        "can_change": request.user.has_perm("tracker.change_official"),
        "section": "officials",
    }


@require_safe
@requires_view_official
def official_dossier(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "tracker/official_dossier.html", _context(request, pk))


@require_safe
@requires_view_official
def official_dossier_print(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "tracker/official_dossier_print.html", _context(request, pk))


CSV_HEADER = (
    "official",
    "incident",
    "title",
    "date",
    "date precision",
    "place",
    "governorate",
    "target types",
    "killed min",
    "killed max",
    "civilian-harm grade",
    "sensitivity",
    "basis",
    "link",
    "certainty",
    "reason",
    "posting from",
    "posting to",
    "evidence items",
    "incident status",
    "attribution status",
    "counted as a finding",
    "evidence in review",
)


def dossier_rows(found: Dossier) -> list[list[str]]:
    """One row per link; each names its incident's and attribution's review states and
    whether it counts as a finding."""
    rows = []
    for entry in found.incidents:
        i = entry.incident
        for link in entry.links:
            p = link.position
            in_review = link.evidence_in_review
            row = [
                found.official.name,
                i.code,
                i.title,
                entry.date,
                i.start_precision,
                i.place.name if i.place else "",
                i.place.governorate if i.place else "",
                "; ".join(entry.target_types),
                i.killed_min,
                i.killed_max,
                i.get_civilian_harm_display(),
                i.get_sensitivity_display(),
                link.basis,
                link.description,
                link.certainty,
                link.reason,
                format_partial(p.start, p.start_precision) if p else "",
                format_partial(p.end, p.end_precision) if p else "",
                " ".join(link.evidence),
                i.get_status_display(),
                link.attribution.get_status_display(),
                "yes" if link.is_finding else "no: attribution in review",
                " ".join(f"{code} ({ReviewStatus(state).label})" for code, state in in_review),
            ]
            rows.append([neutralise(cell) for cell in row])
    return rows


@require_safe
@requires_view_official
def official_dossier_csv(request: HttpRequest, pk: int) -> HttpResponse:
    official = get_object_or_404(Official, pk=pk)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    found = dossier(official, include_restricted=request.user.has_perm(VIEW_RESTRICTED))
    writer.writerows(dossier_rows(found))
    # The BOM makes spreadsheet programs read the file as UTF-8 (Arabic, Cyrillic).
    response = HttpResponse(
        ("\ufeff" + out.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = content_disposition_header(
        True, f"dossier-official-{official.pk}.csv"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
