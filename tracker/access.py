"""Who may see which incidents outside the admin: the one rule for pages, maps, exports
and reports.

- Every workspace page needs a logged-in, active account with ``tracker.view_incident``
  (the Researcher, Reviewer and Editor groups have it).
- ``normal`` and ``sensitive`` incidents are visible to the whole team: sensitivity
  "team only" means staff of this tracker, which every such account is.
- ``restricted`` incidents are for named people only: holders of
  ``tracker.view_restricted_incident``, which no group has; an administrator grants it
  to a person. For anyone else a restricted incident does not exist: it is absent from
  lists, counts, maps, timelines, exports and reports, and its page answers 404.

Protected witness identity is a separate permission (``evidence.access``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from tracker.models import Incident, Sensitivity

VIEW_INCIDENT = "tracker.view_incident"
VIEW_RESTRICTED = "tracker.view_restricted_incident"


def may_browse(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(VIEW_INCIDENT))


def restricted_incidents() -> QuerySet[Incident]:
    """The restricted incidents (few: found through a partial index)."""
    return Incident.objects.filter(sensitivity=Sensitivity.RESTRICTED)


def without_restricted(user, queryset: QuerySet, field: str = "") -> QuerySet:
    """``queryset`` (of incidents, or of records whose ``field`` is an incident) without
    the restricted ones, unless ``user`` may see them. The admin and the workspace both
    filter through here."""
    if user.has_perm(VIEW_RESTRICTED):
        return queryset
    sensitivity = f"{field}__sensitivity" if field else "sensitivity"
    return queryset.exclude(**{sensitivity: Sensitivity.RESTRICTED})


def visible_incidents(user) -> QuerySet[Incident]:
    """The incidents ``user`` may see anywhere in the workspace (none for a stranger)."""
    if not may_browse(user):
        return Incident.objects.none()
    return without_restricted(user, Incident.objects.all())


def can_view_incident(user, incident: Incident) -> bool:
    if not may_browse(user):
        return False
    return incident.sensitivity != Sensitivity.RESTRICTED or user.has_perm(VIEW_RESTRICTED)


def requires_browse(view: Callable) -> Callable:
    """Anonymous visitors go to the login page; an account without the permission gets 403."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not may_browse(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped
