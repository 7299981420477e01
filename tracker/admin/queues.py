"""The review pages of the admin: the review queue (grouped by incident, with
thumbnails), "My work" (drafts and changes requested) and "Ready to publish" (verified
records an editor may publish). Every list goes through the visibility policy
(``evidence.visibility.visible_to``), and so do the counts on the admin's index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, Subquery
from django.template.response import TemplateResponse
from django.urls import reverse

from evidence import access
from evidence.models import Derivative, EvidenceItem, EvidenceLink
from tracker import workflow
from tracker.admin.review import change_url
from tracker.models import Attribution, Incident, ReviewEvent, ReviewStatus

LIMIT = 200  # rows of each kind on a page


def _with_submitted_at(queryset):
    ct = ContentType.objects.get_for_model(queryset.model)
    last_submit = (
        ReviewEvent.objects.filter(content_type=ct, object_id=OuterRef("pk"), action="submit")
        .order_by("-at")
        .values("at")[:1]
    )
    return queryset.annotate(submitted_at=Subquery(last_submit))


def review_models():
    return (Incident, EvidenceItem, Attribution)


# What a queue row shows of an attribution: its incident and whom it names (one query).
ROW_RELATIONS = {"attribution": ("incident", "force", "unit", "official")}


def _visible_to(user, queryset):
    from evidence.visibility import visible_to  # evidence's admin imports this package

    related = ROW_RELATIONS.get(queryset.model._meta.model_name)
    return visible_to(user, queryset.select_related(*related) if related else queryset)


def queue_for(user):
    """Submitted work ``user`` may review (not their own), oldest submission first."""
    rows = []
    for model in review_models():
        if workflow.is_reviewer(user, model):
            qs = model.objects.filter(status=ReviewStatus.SUBMITTED).exclude(created_by=user)
            qs = _visible_to(user, qs)
            rows.append((model._meta, _with_submitted_at(qs).order_by("submitted_at", "pk")))
    return rows


def my_work_for(user):
    statuses = [ReviewStatus.DRAFT, ReviewStatus.CHANGES_REQUESTED]
    return [
        (
            model._meta,
            _visible_to(user, model.objects.filter(created_by=user, status__in=statuses)).order_by(
                "-pk"
            ),
        )
        for model in review_models()
    ]


def ready_for(user):
    """Verified records ``user`` may publish (an editor's list), the incidents first."""
    return [
        (
            model._meta,
            _visible_to(user, model.objects.filter(status=ReviewStatus.VERIFIED)).order_by("pk"),
        )
        for model in review_models()
        if workflow.is_editor(user, model)
    ]


def review_counts(user) -> dict[str, int]:
    return {
        "queue": sum(qs.count() for _, qs in queue_for(user)),
        "mine": sum(qs.count() for _, qs in my_work_for(user)),
        "ready": sum(qs.count() for _, qs in ready_for(user)),
        "editor": any(workflow.is_editor(user, model) for model in review_models()),
    }


# --- The queue, grouped by incident ---------------------------------------------------------


@dataclass
class Row:
    record: object
    meta: object
    url: str
    thumbnail: str = ""


@dataclass
class Group:
    """The queue's rows about one incident (or about none: ``incident`` is None)."""

    incident: Incident | None
    rows: list[Row] = field(default_factory=list)
    together_url: str = ""  # "Review with its evidence", for an incident's reviewer

    @property
    def first_submitted(self) -> datetime | None:
        times = [r.record.submitted_at for r in self.rows if r.record.submitted_at]
        return min(times) if times else None


def _row(record, user) -> Row:
    row = Row(record, record._meta, change_url(record))
    shows = isinstance(record, EvidenceItem) and record.has_thumbnail
    if shows and access.can_view_item(user, record):
        row.thumbnail = reverse("evidence:thumbnail", args=[record.code])
    return row


def grouped_queue(user) -> tuple[list[Group], dict[str, int]]:
    """The queue's records in groups by incident: a submitted incident with the submitted
    items and attributions it holds; an item goes to the first incident (by code) it is
    linked to among those the user sees. Oldest submission first; a fixed number of
    queries whatever the number of rows. Also the total per kind."""
    groups: dict[int | None, Group] = {}
    totals: dict[str, int] = {}

    def group(incident: Incident | None) -> Group:
        key = incident.pk if incident else None
        if key not in groups:
            groups[key] = Group(incident)
        return groups[key]

    for meta, qs in queue_for(user):
        totals[meta.model_name] = qs.count()
        if meta.model is EvidenceItem:
            qs = qs.annotate(
                has_thumbnail=Exists(
                    Derivative.objects.filter(item=OuterRef("pk"), kind=Derivative.Kind.THUMBNAIL)
                )
            )
        records = list(qs[:LIMIT])
        if meta.model is Incident:
            for incident in records:
                group(incident).rows.insert(0, _row(incident, user))
        elif meta.model is Attribution:
            for attribution in records:
                group(attribution.incident).rows.append(_row(attribution, user))
        else:
            first_incident = _first_incidents(user, [item.pk for item in records])
            for item in records:
                group(first_incident.get(item.pk)).rows.append(_row(item, user))
    for key, found in groups.items():
        if key is not None and workflow.is_reviewer(user, Incident):
            found.together_url = reverse("admin:tracker_incident_review_together", args=[key])
    ordered = sorted(
        groups.values(),
        key=lambda g: (g.incident is None, g.first_submitted is None, g.first_submitted or 0),
    )
    return ordered, totals


def _first_incidents(user, item_ids: list[int]) -> dict[int, Incident]:
    """Each item's first linked incident (by code) among those ``user`` sees. One query."""
    links = _visible_to(user, EvidenceLink.objects.filter(item_id__in=item_ids))
    found: dict[int, Incident] = {}
    for link in links.select_related("incident").order_by("incident__code"):
        found.setdefault(link.item_id, link.incident)
    return found


# --- The pages ------------------------------------------------------------------------------


def review_queue(request):
    groups, totals = grouped_queue(request.user)
    context = {
        **admin.site.each_context(request),
        "title": "Review queue",
        "groups": groups,
        "total": sum(totals.values()),
        "truncated": any(n > LIMIT for n in totals.values()),
        "limit": LIMIT,
        "empty": "Nothing is waiting for your review.",
    }
    return TemplateResponse(request, "admin/tracker/review_queue.html", context)


def _list_page(request, title, sections, empty, *, publish=False):
    """``sections``: (meta, queryset) or (meta, queryset, what the section holds)."""
    rows = []
    for meta, qs, *what in sections:
        shown = list(_with_submitted_at(qs)[:LIMIT])  # its "Submitted" column
        rows.append((meta, shown, qs.count(), what[0] if what else ""))
    context = {
        **admin.site.each_context(request),
        "title": title,
        "sections": rows,
        "empty": empty,
        "limit": LIMIT,
        "publish": publish,
    }
    return TemplateResponse(request, "admin/tracker/review_list.html", context)


def assigned_for(user):
    """Open records ``user`` is assigned to (not yet verified, published or rejected)."""
    from tracker.discussion import assigned_to

    open_states = [ReviewStatus.DRAFT, ReviewStatus.SUBMITTED, ReviewStatus.CHANGES_REQUESTED]
    return [
        (
            model._meta,
            _visible_to(
                user, model.objects.filter(assigned_to(user, model), status__in=open_states)
            ).order_by("-pk"),
        )
        for model in (Incident, EvidenceItem)
    ]


def my_work(request):
    assigned = [(meta, qs, "assigned to you") for meta, qs in assigned_for(request.user)]
    return _list_page(
        request,
        "My work: drafts, changes requested, and what you are assigned to",
        [*((meta, qs, "") for meta, qs in my_work_for(request.user)), *assigned],
        "You have no drafts and no changes requested.",
    )


def ready_to_publish(request):
    return _list_page(
        request,
        "Ready to publish: verified",
        ready_for(request.user),
        "Nothing verified is waiting to be published, or you are not an editor.",
        publish=True,
    )
