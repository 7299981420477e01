"""Error reports (the technical 500 page, the mail to ADMINS) that never carry a
witness's identity.

Django's SafeExceptionReporterFilter hides POST fields only where a view says so with
``sensitive_post_parameters``, and only while DEBUG is off. A witness's real name or
contact must stay out of every report, whichever view failed and however the tracker
runs, so the fields named here are masked everywhere: in the POST data, in any dict or
QueryDict among a frame's local variables, in local variables of those names, and in any
local variable whose text contains a posted value of theirs or the identity of a Witness
among the frame's variables (``name = witness.real_name``).
Reports list no settings at all: a mail has no need of them, and a setting named
unusually (a token in a URL) would escape the filter's name patterns.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.views.debug import SafeExceptionReporterFilter

from evidence.models import Witness

# Field names of evidence.models.Witness that hold the protected identity.
PROTECTED_FIELDS = frozenset({"real_name", "contact"})


class IdentityReporterFilter(SafeExceptionReporterFilter):
    def get_safe_settings(self) -> dict:
        return {}

    def get_post_parameters(self, request):
        return self.masked(super().get_post_parameters(request))

    def cleanse_special_types(self, request, value):
        return self.masked(super().cleanse_special_types(request, value))

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = list(super().get_traceback_frame_variables(request, tb_frame))
        secrets = posted_identity(request) + [
            secret
            for _, value in variables
            if isinstance(value, Witness)
            for secret in (value.__dict__.get(f) for f in PROTECTED_FIELDS)  # loaded: no query
            if secret and secret.strip()
        ]
        return [
            (name, self.cleansed_substitute if hidden(name, value, secrets) else value)
            for name, value in variables
        ]

    def masked(self, value):
        """``value`` with the protected keys' values replaced (a copy; never the request's
        own POST, which the rest of the request may still read)."""
        if not isinstance(value, Mapping | MultiValueDict):
            return value
        try:
            hidden = PROTECTED_FIELDS.intersection(value.keys())
        except Exception:  # a lazy or broken mapping: leave it to Django's repr
            return value
        if not hidden:
            return value
        copy = value.copy() if isinstance(value, QueryDict | MultiValueDict) else dict(value)
        for name in hidden:
            copy[name] = self.cleansed_substitute
        return copy


def posted_identity(request) -> list[str]:
    """The non-empty values posted under the protected field names."""
    post = getattr(request, "POST", None)
    if not post:
        return []
    return [v for name in PROTECTED_FIELDS for v in post.getlist(name, []) if v.strip()]


def hidden(name: str, value: object, secrets: list[str]) -> bool:
    if name in PROTECTED_FIELDS:
        return True
    if not secrets:
        return False
    try:
        text = value if isinstance(value, str) else repr(value)
    except Exception:  # the report shows Django's own message for an unprintable value
        return False
    return any(secret in text for secret in secrets)
