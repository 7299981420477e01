"""The incident browser: the filtered, sorted, paged list at /incidents/.

``incident_filter(request)`` is the one entry point for every workspace output (list,
map, timeline, exports, case report): the request's query string bound to
``IncidentFilter`` over the incidents the user may see.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import InvalidPage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from evidence.models import EvidenceLink
from tracker import vocabulary
from tracker.access import requires_browse, visible_incidents
from tracker.admin.kit import DeferredJoinPaginator, count_of
from tracker.workspace import admin_links
from tracker.workspace.filters import IncidentFilter

PER_PAGE = 50


def incident_filter(request: HttpRequest) -> IncidentFilter:
    """The request's filters over the incidents its user may see."""
    return IncidentFilter(request.GET or None, queryset=visible_incidents(request.user))


def query_without(request: HttpRequest, *names: str) -> str:
    """The current query string minus ``names`` (for sort and page links)."""
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


# Parameters of the workspace's pages that are not filters: kept out of the links from
# one page to another (the map, the timeline, the report).
OWN_PARAMETERS = ("page", "bucket")


def page_query(request: HttpRequest) -> str:
    """The filters of this page as a query string, for the navigation and other pages."""
    return query_without(request, *OWN_PARAMETERS)


def filter_messages(request: HttpRequest, found: IncidentFilter) -> None:
    for line in found.filter_errors():
        messages.warning(request, f"Not applied: {line}")


def page_number(request: HttpRequest) -> tuple[int, str | None]:
    raw = request.GET.get("page", "1")
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if number < 1:
        return 1, f"Page must be a whole number from 1 (got {raw[:20]!r}); showing page 1."
    return number, None


def sort_links(request: HttpRequest, current: str) -> dict[str, dict[str, str]]:
    """Column heading links: the first click sorts the column its natural way (newest,
    most killed, code A-Z), a second click reverses it."""
    base = query_without(request, "page", "sort")
    links = {}
    for column, natural in (("date", "-date"), ("killed", "-killed"), ("code", "code")):
        flipped = natural[1:] if natural.startswith("-") else "-" + natural
        target, aria, arrow = natural, "", ""
        if current in (natural, flipped):
            target = flipped if current == natural else natural
            aria = "descending" if current.startswith("-") else "ascending"
            arrow = " ↓" if current.startswith("-") else " ↑"
        url = "?" + (base + "&" if base else "") + "sort=" + target
        links[column] = {"url": url, "aria": aria, "arrow": arrow}
    return links


@require_safe
@requires_browse
def incident_list(request: HttpRequest) -> HttpResponse:
    found = incident_filter(request)
    filter_messages(request, found)
    rows = (
        found.ordered()
        .select_related("place")
        .annotate(evidence_count=count_of(EvidenceLink.objects, "incident"))
    )
    paginator = DeferredJoinPaginator(rows, PER_PAGE)
    number, problem = page_number(request)
    if problem:
        messages.warning(request, problem)
    try:
        page = paginator.page(number)
    except InvalidPage:
        last = paginator.num_pages
        messages.warning(request, f"There is no page {number}; showing the last page, {last}.")
        page = paginator.page(last)
    vocabulary.target_types_of(page.object_list)  # the names from the cache
    link = reverse("incidents:detail", args=["INC-0"])  # reversed once, not once a row
    for incident in page.object_list:
        incident.url = link.replace("INC-0", incident.code)
    context = {
        "section": "incidents",
        "filter": found,
        "page": page,
        "incidents": page.object_list,
        "sort_links": sort_links(request, found.sort_key),
        "query": query_without(request, "page"),
        "query_no_page": query_without(request, "page"),
        "active": found.active(),
        "new_incident_url": admin_links.new_incident_url(request.user),
        "upload_url": admin_links.upload_url(request.user),
    }
    return render(request, "tracker/incident_list.html", context)
