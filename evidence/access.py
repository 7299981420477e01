"""Who may open an evidence item's files: the one object-level rule.

The file views, the admin's thumbnails and links, and any later export or API
ask ``can_view_item``; none of them re-states the rule. A new condition (the
review workflow's "drafts of others", say) is one more line in ``refusal``.
"""

from __future__ import annotations

from evidence.models import EvidenceItem

VIEW_EVIDENCE = "evidence.view_evidenceitem"
VIEW_PROTECTED = "evidence.view_protected_identity"


def refusal(user, item: EvidenceItem) -> str | None:
    """Why ``user`` may not open ``item``'s files, or None if they may.

    The reason is for the access log; it names the rule, never the item's content.
    Costs no query beyond the user's permission cache (loaded once per request)."""
    if user is None or not user.is_authenticated:
        return "not logged in"
    if not user.is_active:
        return "inactive account"
    if not user.is_staff:
        return "not a staff account"
    if not user.has_perm(VIEW_EVIDENCE):
        return "no permission to view evidence"
    if item.is_protected and not user.has_perm(VIEW_PROTECTED):
        return "protected item, no permission for protected identity"
    return None


def can_view_item(user, item: EvidenceItem) -> bool:
    """True if ``user`` may see ``item``'s original and its thumbnail and preview."""
    return refusal(user, item) is None
