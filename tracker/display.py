"""How the tracker writes a count known as a range, on every page and in every file.

An incident's killed and injured are each a lowest and a highest credible count, either
of which may be missing. ``count_range`` is the one rendering of such a pair: the admin,
the incident browser and page, the map, the case report and the dossier all show it (in
templates through the ``count_range`` filter of ``tracker.templatetags.display``; dates
known to a precision have theirs in ``tracker.responsibility.periods.format_partial``
and the ``partial_date`` filter). The exports keep the two numbers apart, as numbers.

====================  ============
lowest, highest       written
====================  ============
none, none            unknown
3, 3                  3
3, none               at least 3
none, 5               up to 5
3, 5                  3–5
====================  ============
"""

from __future__ import annotations

UNKNOWN = "unknown"


def count_range(low: int | None, high: int | None) -> str:
    """``3``, ``3–5``, ``at least 3``, ``up to 5`` or ``unknown``."""
    if low is None and high is None:
        return UNKNOWN
    if high is None:
        return f"at least {low}"
    if low is None:
        return f"up to {high}"
    return str(low) if low == high else f"{low}–{high}"


def summed_range(low: int, high: int, unknown: int, incidents: int) -> str:
    """A count summed over ``incidents`` incidents (``low`` and ``high`` the sums of their
    lowest and highest counts, ``unknown`` of them without any): ``unknown`` when no
    incident has a count, else as ``count_range`` writes it."""
    return UNKNOWN if unknown == incidents else count_range(low, high)
