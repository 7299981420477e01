"""Review states in templates: the review box on the admin index, and ``review_state``,
the one status badge (``adminkit.status_badge``) on the team's pages."""

from django import template

from tracker import findings
from tracker.admin.kit import status_badge
from tracker.admin.queues import review_counts

register = template.Library()


@register.inclusion_tag("admin/tracker/review_box.html", takes_context=True)
def review_box(context):
    user = context["request"].user
    return {"counts": review_counts(user)}


@register.filter
def review_state(status: str) -> str:
    """``{{ record.status|review_state }}``: the record's review state as a badge."""
    return status_badge(status)


@register.filter
def is_checked(status: str) -> bool:
    """True for verified and published (``tracker.findings.is_checked``)."""
    return findings.is_checked(status)
