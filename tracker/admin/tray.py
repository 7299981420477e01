"""The evidence tray of an incident's admin page: the evidence behind it as cards
(thumbnail, kind, capture time and place, review state, near-duplicate mark), files
dropped straight onto the incident (each through ``evidence.intake``, with its own
progress), items linked by code, and in place: unlink, "relied on" or not.

Its forms sit above the incident's own form, so each action is its own request; the
script (``tracker/static/tracker/js/tray.js``) sends them without leaving the page,
and without it every form still works and comes back here. Every write goes through
the one service (``evidence.intake``, ``evidence.links``), whose rules (locks, the
visibility of what is disclosed, four eyes through the history) refuse what they
must; the tray only offers what ``workflow.can_edit`` allows. A page of cards costs a
fixed number of queries whatever the number of items; large trays are paged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.functional import SimpleLazyObject

from evidence import access, intake, links
from evidence.files import derivation
from evidence.models import Derivative, EvidenceItem, EvidenceLink
from evidence.visibility import visible_to
from tracker import locks, workflow
from tracker.admin.kit import primary_key
from tracker.admin.review import incident_page
from tracker.display import time_with_zone
from tracker.models import Incident

PER_PAGE = 48
MAX_CODES = 50  # items linked by code at once
CODE = re.compile(r"[A-Za-z]{1,8}-\d{1,12}")
NO_SUCH_ITEM = "No such item: {code}."


@dataclass
class Card:
    link: EvidenceLink
    item: EvidenceItem
    page: str
    thumbnail: str = ""
    pending: bool = False  # an image whose thumbnail the background job has not made yet
    captured: str = ""
    look_alikes: int = 0


def _near_duplicate_counts(user, item_ids: list[int]) -> dict[int, int]:
    """How many items each item looks like, among those ``user`` may see. One query."""
    through = EvidenceItem.near_duplicates.through
    seen = visible_to(user, access.openable_items(user, EvidenceItem.objects.all())).values("pk")
    rows = through.objects.filter(
        from_evidenceitem_id__in=item_ids, to_evidenceitem_id__in=seen
    ).values_list("from_evidenceitem_id", flat=True)
    counts: dict[int, int] = {}
    for item_id in rows:
        counts[item_id] = counts.get(item_id, 0) + 1
    return counts


def _cards(rows, user) -> list[Card]:
    """Cards of evidence links (with their items and places): two queries more, for
    the thumbnails and the look-alikes, whatever their number."""
    found = list(rows)
    ids = [link.item_id for link in found]
    thumbs = set(
        Derivative.objects.filter(item_id__in=ids, kind=Derivative.Kind.THUMBNAIL).values_list(
            "item_id", flat=True
        )
    )
    alike = _near_duplicate_counts(user, ids)
    cards = []
    for link in found:
        item = link.item
        card = Card(
            link,
            item,
            reverse("admin:evidence_evidenceitem_change", args=[item.pk]),
            captured=time_with_zone(item.captured_at, precision=item.captured_precision),
            look_alikes=alike.get(item.pk, 0),
        )
        if item.pk in thumbs and access.can_view_item(user, item):
            card.thumbnail = reverse("evidence:thumbnail", args=[item.code])
        card.pending = derivation.pending(item, item.pk in thumbs)
        cards.append(card)
    return cards


def _links(**where):
    return EvidenceLink.objects.filter(**where).select_related("item", "item__captured_place")


def cards_of(incident: Incident, user, page_number) -> dict:
    """One page of the tray: four queries (count, links with items, thumbnails,
    look-alikes) whatever the number of items."""
    page = Paginator(_links(incident=incident).order_by("item__code"), PER_PAGE).get_page(
        page_number
    )
    return {"page": page, "cards": _cards(page.object_list, user)}


def card_of(link: EvidenceLink, user) -> Card:
    """The card of one link (after an action)."""
    return _cards(_links(pk=link.pk), user)[0]


def may_work_on(incident: Incident, user) -> bool:
    """May ``user`` change what stands behind ``incident`` now (as its page's inlines)?"""
    return (
        incident.pk is not None
        and user.has_perm("tracker.change_incident")
        and workflow.can_edit(incident, user)  # False while it is locked
    )


def tray_flags(incident: Incident, user) -> dict:
    """What ``user`` may do in the tray, and where its forms go. No query."""
    work = may_work_on(incident, user)
    base = "admin:tracker_incident_tray"
    return {
        "incident": incident,
        "may_work": work,
        "may_upload": work and user.has_perm("evidence.add_evidenceitem"),
        "may_link": work and user.has_perm("evidence.add_evidencelink"),
        "may_change": work and user.has_perm("evidence.change_evidencelink"),
        "may_unlink": work and user.has_perm("evidence.delete_evidencelink"),
        "upload_url": reverse(f"{base}_upload", args=[incident.pk]),
        "link_url": reverse(f"{base}_link", args=[incident.pk]),
        "act_url": reverse(f"{base}_act", args=[incident.pk]),
        "testimony_url": reverse(f"{base}_testimony", args=[incident.pk]),
        "flight_log_url": f"{reverse('admin:evidence_flightlog_add')}?incident={incident.code}",
        "may_import_log": work
        and user.has_perm("evidence.add_evidenceitem")
        and user.has_perm("evidence.add_flightobservation"),
        "may_add_testimony": work
        and user.has_perm("evidence.add_evidenceitem")
        and user.has_perm("evidence.add_testimony"),
    }


def tray_context(incident: Incident, request: HttpRequest) -> dict:
    return {
        **tray_flags(incident, request.user),
        **cards_of(incident, request.user, request.GET.get("tray")),
    }


class TrayMixin:
    """For the incident's ModelAdmin: the tray's URLs, and the tray on its change page."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/tray/upload/",
                view(self.tray_upload),
                name="tracker_incident_tray_upload",
            ),
            path(
                "<path:object_id>/tray/link/",
                view(self.tray_link),
                name="tracker_incident_tray_link",
            ),
            path(
                "<path:object_id>/tray/act/", view(self.tray_act), name="tracker_incident_tray_act"
            ),
            *super().get_urls(),
        ]

    def change_page_extras(self, request, obj) -> dict:
        def tray() -> str:
            return render_to_string("admin/tracker/tray.html", tray_context(obj, request), request)

        return {**super().change_page_extras(request, obj), "tray": SimpleLazyObject(tray)}

    def _tray_incident(self, request, object_id, perm: str) -> Incident:
        incident = self.get_object(request, unquote(object_id))
        if incident is None:  # not there, or restricted: the same answer
            raise Http404("No such incident.")
        if not (may_work_on(incident, request.user) and request.user.has_perm(perm)):
            raise PermissionDenied
        return incident

    def _answer(self, request, incident, said: list[tuple[int, str]], extra=None):
        """JSON for the script, else the messages and back to the incident's page."""
        if request.headers.get("Accept", "").startswith("application/json"):
            return JsonResponse(
                {
                    "messages": [{"level": level, "text": text} for level, text in said],
                    **(extra or {}),
                }
            )
        for level, text in said:
            self.message_user(request, text, level)
        url = reverse("admin:tracker_incident_change", args=[incident.pk])
        return HttpResponseRedirect(f"{url}#tray")

    def _card_html(self, request, incident, link: EvidenceLink, tray: dict) -> str:
        context = {**tray, "card": card_of(link, request.user)}
        return render_to_string("admin/tracker/tray_card.html", context, request)

    # --- Files dropped on the incident ---------------------------------------------------

    def tray_upload(self, request: HttpRequest, object_id: str):
        if request.method != "POST":
            return HttpResponseRedirect(incident_page(object_id))
        incident = self._tray_incident(request, object_id, "evidence.add_evidenceitem")
        files = request.FILES.getlist("files")
        if not files:
            return self._answer(request, incident, [(messages.ERROR, "Choose at least one file.")])
        said, cards = [], []
        flags = tray_flags(incident, request.user)
        for upload in files:
            try:
                result = intake.ingest(
                    upload, filename=upload.name, kind=None, by=request.user, incident=incident
                )
            except intake.IntakeError as exc:
                said.append((messages.ERROR, f"Refused {upload.name}: {exc}"))
                continue
            if result.withheld:
                said.append((messages.WARNING, f"{upload.name}: {intake.SET_ASIDE}"))
                continue
            item = result.item
            if result.duplicate:
                said.append(
                    (
                        messages.WARNING,
                        f"{upload.name} is already held as {item.code}: linked, not stored again.",
                    )
                )
            else:
                said.append((messages.SUCCESS, f"Stored {upload.name} as {item.code}."))
            link = EvidenceLink.objects.get(item=item, incident=incident)
            cards.append(self._card_html(request, incident, link, flags))
        return self._answer(request, incident, said, {"cards": cards})

    # --- Items linked by code ------------------------------------------------------------

    @staticmethod
    def _codes(text: str) -> list[str]:
        return list(dict.fromkeys(c.upper() for c in CODE.findall(text or "")))[:MAX_CODES]

    def tray_link(self, request: HttpRequest, object_id: str):
        if request.method != "POST":
            raise PermissionDenied
        incident = self._tray_incident(request, object_id, "evidence.add_evidencelink")
        codes = self._codes(request.POST.get("codes", ""))
        if not codes:
            said = [(messages.ERROR, "Give the codes of the items to link, e.g. EV-000123.")]
            return self._answer(request, incident, said)
        seen = visible_to(request.user, EvidenceItem.objects.filter(code__in=codes))
        items = {item.code: item for item in seen}
        said, cards = [], []
        flags = tray_flags(incident, request.user)
        for code in codes:
            item = items.get(code)
            if item is None:  # not there, or hidden: the same answer
                said.append((messages.ERROR, NO_SUCH_ITEM.format(code=code)))
                continue
            try:
                link = links.link(item, incident, by=request.user)
            except locks.Refused as exc:
                said.append((messages.ERROR, f"{code} not linked: {' '.join(exc.messages)}"))
                continue
            said.append((messages.SUCCESS, f"Linked {code}."))
            cards.append(self._card_html(request, incident, link, flags))
        return self._answer(request, incident, said, {"cards": cards})

    # --- Unlink, relied on ----------------------------------------------------------------

    ACTIONS = {
        "unlink": "evidence.delete_evidencelink",
        "rely": "evidence.change_evidencelink",
        "not_rely": "evidence.change_evidencelink",
    }

    def tray_act(self, request: HttpRequest, object_id: str):
        if request.method != "POST":
            raise PermissionDenied
        action = request.POST.get("action", "")
        if action not in self.ACTIONS:
            incident = self._tray_incident(request, object_id, "evidence.view_evidencelink")
            return self._answer(
                request, incident, [(messages.ERROR, f"Unknown action {action[:40]!r}.")]
            )
        incident = self._tray_incident(request, object_id, self.ACTIONS[action])
        link = (
            EvidenceLink.objects.filter(incident=incident, pk=primary_key(request.POST.get("link")))
            .select_related("item")
            .first()
        )
        if link is None:
            return self._answer(request, incident, [(messages.ERROR, "No such link.")])
        code, link_id = link.item.code, link.pk
        try:
            if action == "unlink":
                links.unlink(link, by=request.user)
                said = f"{code} is no longer linked to {incident.code}."
            else:
                links.set_relied_on(link, action == "rely", by=request.user)
                said = f"{code}: {'relied on' if link.relied_on else 'not relied on'}."
        except locks.Refused as exc:
            return self._answer(
                request, incident, [(messages.ERROR, f"{code}: {' '.join(exc.messages)}")]
            )
        if action == "unlink":
            extra: dict = {"removed": link_id}
        else:
            flags = tray_flags(incident, request.user)
            extra = {"cards": [self._card_html(request, incident, link, flags)]}
        return self._answer(request, incident, [(messages.SUCCESS, said)], extra)
