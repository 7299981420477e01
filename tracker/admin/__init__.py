"""The case in Django's admin: incidents, attributions, vocabularies (``case``),
the attribution form and its commander helper (``attribution``), the review
panel, queue and "My work" (``review``) and the shared admin kit every admin and
inline derives from (``kit``: the visibility policy, lookups, badges). A face: it
calls the services (workflow, responsibility, visibility) and is imported by
nothing but the URLs."""

from tracker.admin import case  # noqa: F401 - registers the case's admins
