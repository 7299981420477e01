"""The review box on the admin index: the queue and the user's own work, with counts."""

from django import template

from tracker.review_admin import review_counts

register = template.Library()


@register.inclusion_tag("admin/tracker/review_box.html", takes_context=True)
def review_box(context):
    user = context["request"].user
    return {"counts": review_counts(user)}
