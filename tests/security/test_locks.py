"""Issue 14 D: a verified or published incident cannot gain, lose or change evidence
links, attributions or related incidents by any path until an editor reopens it
(``tracker.locks``); a verified attribution keeps its content too.

Each path is driven against a verified and a published incident: the incident's own
page, the evidence item's page, another incident's page, the attribution admin, the
one-click commander, the services' ORM writes (cascades and many-to-many managers
included), the upload form and ``intake.ingest``, the postings import, a restore. Every
refusal leaves the database as it was and answers with the reason (a form error, or a
redirect with a message), never a server error; the locked incident's own page is
read-only, so a crafted POST to it is forbidden. After ``workflow.transition(...,
"reopen")`` the same writes succeed. Untouched rows of an editable page still save.
(Intake is covered in more depth by ``test_intake_paths.py``.)
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from evidence import intake
from evidence.flights import ranking
from evidence.models import EvidenceItem, EvidenceLink, FlightMatch
from evidence.tests.files import make_jpeg
from tracker import locks
from tracker.models import Attribution, Incident, IncidentRelation, Position, ReviewStatus
from tracker.responsibility.chain import attribute_command
from tracker.responsibility.postings import import_postings
from tracker.responsibility.tests.test_import_postings import POSTINGS, UNITS
from tracker.tests import factories as f
from tracker.tests.test_backup_restore import new_machine, run
from tracker.workflow import Action, transition

S = ReviewStatus
SAME = IncidentRelation.Kind.SAME_OPERATION
pytestmark = pytest.mark.django_db

PLEASE_CORRECT = "Please correct the error"


@dataclass
class Case:
    incident: Incident  # locked (verified or published)
    neighbour: Incident  # related to it both ways
    other: Incident  # unrelated, open
    item: EvidenceItem  # linked to it, supports its attribution
    spare: EvidenceItem  # linked to nothing
    link: EvidenceLink
    attribution: Attribution
    relation: IncidentRelation  # incident -> neighbour


@pytest.fixture(params=[S.VERIFIED, S.PUBLISHED])
def case(request, researcher) -> Case:
    """An incident with a link, an attribution with supporting evidence and relations
    both ways, written while it was a draft, then locked as the workflow leaves it."""
    incident = f.IncidentFactory(created_by=researcher, title="Strike on the market")
    neighbour = f.IncidentFactory(created_by=researcher, title="Strike on the bakery")
    other = f.IncidentFactory(created_by=researcher, title="Strike on the school")
    item = f.EvidenceItemFactory(created_by=researcher, title="Photo of the crater")
    spare = f.EvidenceItemFactory(created_by=researcher, title="Video of the rescue")
    link = f.EvidenceLinkFactory(item=item, incident=incident, relevance="Shows the crater.")
    attribution = f.AttributionFactory(
        incident=incident, created_by=researcher, basis="Flight log and the crater."
    )
    attribution.supporting_evidence.add(item)
    relation = IncidentRelation.objects.create(
        from_incident=incident, to_incident=neighbour, kind=IncidentRelation.Kind.FOLLOW_UP
    )
    IncidentRelation.objects.create(from_incident=neighbour, to_incident=incident, kind=SAME)
    Incident.objects.filter(pk=incident.pk).update(status=request.param)
    incident.refresh_from_db()
    return Case(incident, neighbour, other, item, spare, link, attribution, relation)


def snapshot() -> dict[str, list]:
    """Every row the locks keep, by value."""
    return {
        "links": sorted(
            EvidenceLink.objects.values_list("item_id", "incident_id", "relevance", "relied_on")
        ),
        "attributions": sorted(
            Attribution.objects.values_list(
                "pk",
                "incident_id",
                "force_id",
                "unit_id",
                "official_id",
                "role",
                "confidence",
                "basis",
                "relied_on",
            )
        ),
        "supporting": sorted(
            Attribution.supporting_evidence.through.objects.values_list(
                "attribution_id", "evidenceitem_id"
            )
        ),
        "relations": sorted(
            IncidentRelation.objects.values_list(
                "from_incident_id", "to_incident_id", "kind", "note"
            )
        ),
        "items": sorted(EvidenceItem.objects.values_list("pk", flat=True)),
        "incidents": sorted(Incident.objects.values_list("pk", "status")),
    }


def lock_message(incident: Incident, what: str) -> str:
    return locks.locked_message(incident.code, incident.status, what)


def attribution_message(attribution: Attribution) -> str:
    attribution.refresh_from_db()
    return locks.attribution_message(attribution, attribution.incident.code, attribution.status)


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def assert_form_error(response, message: str) -> None:
    """The form came back (200) saying what to correct, with the lock's reason."""
    assert response.status_code == 200
    text = page_text(response)
    assert PLEASE_CORRECT in text
    assert message in text


# --- Posting an admin page as a browser would ------------------------------------------------


class _FormValues(HTMLParser):
    """The name/value pairs a browser posts from the form with id ``form_id``."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside = form_id, False
        self.pairs: list[tuple[str, str]] = []
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        name = a.get("name") or ""
        if "__prefix__" in name:
            return  # the template rows that "Add another" copies
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.pairs.append((name, a.get("value") or "on"))
                return
            self.pairs.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
            self._multiple = "multiple" in a
        elif tag == "option" and self._select:
            value = a.get("value") or ""
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self.pairs.append((self._select, value))
                self._select_chosen = True
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            if not self._select_chosen and not self._multiple and self._select_first is not None:
                self.pairs.append((self._select, self._select_first))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.pairs.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None

    def handle_data(self, data) -> None:
        if self._textarea:
            self._text.append(data)


def page_data(response) -> dict[str, list[str]]:
    """What saving the admin change form on ``response`` unchanged would post."""
    assert response.status_code == 200
    form_id = f"{response.context['opts'].model_name}_form"
    parser = _FormValues(form_id)
    parser.feed(response.content.decode())
    data: dict[str, list[str]] = {}
    for name, value in parser.pairs:
        data.setdefault(name, []).append(value)
    assert data, f"no form {form_id!r} on the page"
    return data


def save_page(client, url: str, change: Callable[[dict], None] = lambda data: None):
    """GET the change page at ``url``, let ``change`` alter what it would post, POST it."""
    data = page_data(client.get(url))
    change(data)
    data["_save"] = ["Save"]
    return client.post(url, data)


def add_row(data: dict, prefix: str, **fields) -> None:
    """One more row in the inline formset ``prefix``."""
    n = int(data[f"{prefix}-TOTAL_FORMS"][0])
    data[f"{prefix}-TOTAL_FORMS"] = [str(n + 1)]
    for name, value in fields.items():
        data[f"{prefix}-{n}-{name}"] = [str(value)]


def row_of(data: dict, prefix: str, pk: int) -> str:
    """The field-name prefix of the row of object ``pk`` in the inline formset ``prefix``."""
    for key, values in data.items():
        if key.startswith(f"{prefix}-") and key.endswith("-id") and values == [str(pk)]:
            return key.removesuffix("id")
    raise AssertionError(f"no row of {pk} in {prefix}")


def change_url(record) -> str:
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])


def delete_url(record) -> str:
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[record.pk])


# --- The incident's own page: read-only while locked -----------------------------------------


def test_a_locked_incident_page_shows_its_rows_without_inputs(client, editor, case):
    client.force_login(editor)

    page = client.get(change_url(case.incident)).content.decode()

    assert case.item.code in page
    for field in ("evidence_links-0-relevance", "attributions-0-basis", "relations_from-0-note"):
        assert f'name="{field}"' not in page
        assert f'name="{field.split("-")[0]}-0-DELETE"' not in page
    assert 'name="_save"' not in page


@pytest.mark.parametrize("persona", ["editor", "superuser"])
def test_a_crafted_post_to_a_locked_incident_page_changes_nothing(client, request, case, persona):
    client.force_login(request.getfixturevalue(persona))
    url = change_url(case.incident)
    data = page_data(client.get(url))
    for prefix in ("evidence_links", "attributions", "relations_from"):
        data[f"{prefix}-INITIAL_FORMS"] = ["1"]
    data.update(
        {
            "evidence_links-TOTAL_FORMS": ["2"],
            "evidence_links-0-id": [str(case.link.pk)],
            "evidence_links-0-item": [str(case.item.pk)],
            "evidence_links-0-DELETE": ["on"],
            "evidence_links-1-item": [str(case.spare.pk)],
            "evidence_links-1-relied_on": ["on"],
            "attributions-TOTAL_FORMS": ["1"],
            "attributions-0-id": [str(case.attribution.pk)],
            "attributions-0-unit": [str(case.attribution.unit_id)],
            "attributions-0-role": ["ordered"],
            "attributions-0-confidence": ["high"],
            "attributions-0-basis": ["Rewritten."],
            "relations_from-TOTAL_FORMS": ["1"],
            "relations_from-0-id": [str(case.relation.pk)],
            "relations_from-0-DELETE": ["on"],
        }
    )
    before = snapshot()

    response = client.post(url, data)

    assert response.status_code == 403  # the page is read-only: nothing is posted from it
    assert snapshot() == before


# --- The evidence item's own page (IncidentLinkInline) -----------------------------------------


def test_item_page_cannot_link_an_item_to_a_locked_incident(client, researcher, case):
    client.force_login(researcher)
    before = snapshot()

    response = save_page(
        client,
        change_url(case.spare),
        lambda data: add_row(
            data, "links", item=case.spare.pk, incident=case.incident.pk, relied_on="on"
        ),
    )

    assert_form_error(response, lock_message(case.incident, "evidence"))
    assert snapshot() == before


def test_item_page_cannot_untick_relied_on_of_a_locked_incident(client, researcher, case):
    client.force_login(researcher)
    before = snapshot()

    def untick(data):
        data.pop(row_of(data, "links", case.link.pk) + "relied_on")

    response = save_page(client, change_url(case.item), untick)

    assert_form_error(response, lock_message(case.incident, "evidence"))
    assert snapshot() == before


def test_item_page_cannot_move_a_link_off_a_locked_incident(client, researcher, case):
    client.force_login(researcher)
    before = snapshot()

    def move(data):
        data[row_of(data, "links", case.link.pk) + "incident"] = [str(case.other.pk)]

    response = save_page(client, change_url(case.item), move)

    assert_form_error(response, lock_message(case.incident, "evidence"))
    assert snapshot() == before


def test_item_page_cannot_delete_the_link_to_a_locked_incident(client, researcher, case):
    client.force_login(researcher)
    before = snapshot()

    def delete(data):
        data[row_of(data, "links", case.link.pk) + "DELETE"] = ["on"]

    response = save_page(client, change_url(case.item), delete)

    assert_form_error(response, f"Not removed: {lock_message(case.incident, 'evidence')}")
    assert snapshot() == before


def test_item_page_saves_when_its_link_to_a_locked_incident_is_untouched(client, researcher, case):
    client.force_login(researcher)
    before = snapshot()

    def retitle(data):
        data["title"] = ["Photo of the crater, north side"]

    response = save_page(client, change_url(case.item), retitle)

    assert response.status_code == 302, page_text(response)
    case.item.refresh_from_db()
    assert case.item.title == "Photo of the crater, north side"
    assert snapshot() == before


# --- Another incident's page (IncidentRelationInline) -------------------------------------------


def test_another_incident_page_cannot_relate_it_to_a_locked_incident(client, researcher, case):
    client.force_login(researcher)
    before = snapshot()

    response = save_page(
        client,
        change_url(case.other),
        lambda data: add_row(
            data,
            "relations_from",
            from_incident=case.other.pk,
            to_incident=case.incident.pk,
            kind=SAME,
        ),
    )

    assert_form_error(response, lock_message(case.incident, "related incidents"))
    assert snapshot() == before


def test_another_incident_page_cannot_remove_its_relation_to_a_locked_incident(
    client, researcher, case
):
    client.force_login(researcher)
    before = snapshot()
    relation = IncidentRelation.objects.get(from_incident=case.neighbour)

    def delete(data):
        data[row_of(data, "relations_from", relation.pk) + "DELETE"] = ["on"]

    response = save_page(client, change_url(case.neighbour), delete)

    message = lock_message(case.incident, "related incidents")
    assert_form_error(response, f"Not removed: {message}")
    assert snapshot() == before


def test_item_delete_view_keeps_an_ingested_item_and_its_link(client, superuser, researcher):
    """Every stored item has custody events, which protect it: the page says so."""
    incident = f.IncidentFactory(created_by=researcher)
    item = intake.ingest(
        io.BytesIO(make_jpeg()), filename="a.jpg", kind="photo", by=researcher, incident=incident
    ).item
    Incident.objects.filter(pk=incident.pk).update(status=S.VERIFIED)
    client.force_login(superuser)
    before = snapshot()

    response = client.post(delete_url(item), {"post": "yes"})

    assert response.status_code == 200
    assert "Cannot delete evidence item" in page_text(response)
    assert "custody event" in page_text(response)
    assert snapshot() == before


def test_item_delete_view_refuses_a_cascade_into_a_locked_incident(client, superuser, case):
    """An item without custody events (made by a factory or a bench script only)."""
    client.force_login(superuser)
    before = snapshot()

    response = client.post(delete_url(case.item), {"post": "yes"}, follow=True)

    assert f"Not deleted: {lock_message(case.incident, 'evidence')}" in messages_of(response)
    assert snapshot() == before


def test_incident_delete_view_refuses_a_cascade_into_a_locked_incident(client, superuser, case):
    client.force_login(superuser)
    before = snapshot()

    response = client.post(delete_url(case.neighbour), {"post": "yes"}, follow=True)

    message = lock_message(case.incident, "related incidents")
    assert f"Not deleted: {message}" in messages_of(response)
    assert snapshot() == before


# --- The attribution admin ----------------------------------------------------------------------


def test_attribution_admin_cannot_add_to_a_locked_incident(client, editor, case):
    client.force_login(editor)
    before = snapshot()

    response = client.post(
        reverse("admin:tracker_attribution_add"),
        {
            "incident": case.incident.pk,
            "unit": case.attribution.unit_id,
            "role": Attribution.Role.ORDERED,
            "confidence": Attribution.Confidence.HIGH,
            "relied_on": "on",
            "basis": "A defector's account.",
        },
    )

    assert_form_error(response, lock_message(case.incident, "attributions"))
    assert snapshot() == before


def test_attribution_admin_cannot_move_an_attribution_onto_a_locked_incident(
    client, editor, researcher, case
):
    elsewhere = f.AttributionFactory(incident=case.other, created_by=researcher)
    client.force_login(editor)
    before = snapshot()

    def move(data):
        data["incident"] = [str(case.incident.pk)]

    response = save_page(client, change_url(elsewhere), move)

    assert_form_error(response, lock_message(case.incident, "attributions"))
    assert snapshot() == before


def test_attribution_admin_shows_a_locked_incidents_attribution_read_only(client, editor, case):
    client.force_login(editor)
    url = change_url(case.attribution)
    assert 'name="_save"' not in client.get(url).content.decode()
    before = snapshot()

    response = client.post(
        url,
        {
            "incident": case.incident.pk,
            "unit": case.attribution.unit_id,
            "role": Attribution.Role.ORDERED,
            "confidence": Attribution.Confidence.HIGH,
            "basis": "Rewritten.",
        },
    )

    assert response.status_code == 403  # read-only: nothing is posted from the page
    assert snapshot() == before


def test_attribution_admin_delete_of_a_locked_incidents_attribution_says_why(client, editor, case):
    client.force_login(editor)
    before = snapshot()

    response = client.post(delete_url(case.attribution), {"post": "yes"})

    assert response.status_code == 302
    assert response["Location"] == change_url(case.attribution)
    page = client.get(response["Location"])
    assert f"Not deleted: {lock_message(case.incident, 'attributions')}" in messages_of(page)
    assert snapshot() == before


def test_attribution_admin_says_why_when_the_incident_was_locked_after_validation(
    client, editor, case, monkeypatch
):
    """The form was valid (here: the lock's clean() skipped) but the save meets the lock,
    as when a reviewer verifies the incident meanwhile: a message, not an error page."""
    monkeypatch.setattr(Attribution, "clean", lambda self: None)
    client.force_login(editor)
    before = snapshot()

    response = client.post(
        reverse("admin:tracker_attribution_add"),
        {
            "incident": case.incident.pk,
            "unit": case.attribution.unit_id,
            "role": Attribution.Role.ORDERED,
            "confidence": Attribution.Confidence.HIGH,
            "relied_on": "on",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert f"Not saved: {lock_message(case.incident, 'attributions')}" in messages_of(response)
    assert snapshot() == before


# --- The one-click commander -----------------------------------------------------------------


@pytest.fixture
def commander(case):
    """An official commanding the attributed unit on the incident's date."""
    return Position.objects.create(
        official=f.OfficialFactory(name="Brigade Commander"),
        unit=case.attribution.unit,
        title="Commander",
        start=case.incident.occurred_start.date().replace(month=1, day=1),
    ).official


@pytest.mark.parametrize("persona", ["editor", "researcher"])
def test_add_commander_on_a_locked_incident_says_why(client, request, case, commander, persona):
    client.force_login(request.getfixturevalue(persona))
    before = snapshot()

    response = client.post(
        reverse("incident_add_commander", args=[case.incident.pk]),
        {"unit": case.attribution.unit_id, "official": commander.pk},
    )

    assert response.status_code == 302
    assert response["Location"] == change_url(case.incident)
    page = client.get(response["Location"])
    assert lock_message(case.incident, "attributions") in messages_of(page)
    assert snapshot() == before


def test_attribute_command_refuses_a_locked_incident(editor, case, commander):
    before = snapshot()

    with pytest.raises(locks.Locked) as refused, transaction.atomic():
        attribute_command(case.incident, official=commander, unit=case.attribution.unit, by=editor)

    assert refused.value.messages == [lock_message(case.incident, "attributions")]
    assert snapshot() == before


def test_add_commander_works_again_once_reopened(client, editor, case, commander):
    transition(case.incident, Action.REOPEN, by=editor, comment="A new witness came forward.")
    client.force_login(editor)

    client.post(
        reverse("incident_add_commander", args=[case.incident.pk]),
        {"unit": case.attribution.unit_id, "official": commander.pk},
    )

    assert Attribution.objects.filter(incident=case.incident, official=commander).exists()


# --- Services writing through the ORM ----------------------------------------------------------


def _save(record, **values) -> None:
    for name, value in values.items():
        setattr(record, name, value)
    record.save()


# (what the message names, the write)
ORM_WRITES: dict[str, tuple[str, Callable[[Case], object]]] = {
    "create a link": (
        "evidence",
        lambda c: EvidenceLink.objects.create(item=c.spare, incident=c.incident),
    ),
    "untick relied on": ("evidence", lambda c: _save(c.link, relied_on=False)),
    "move the link away": ("evidence", lambda c: _save(c.link, incident=c.other)),
    "delete the link": ("evidence", lambda c: c.link.delete()),
    "item.incidents.add": ("evidence", lambda c: c.spare.incidents.add(c.incident)),
    "incident.evidence.add": ("evidence", lambda c: c.incident.evidence.add(c.spare)),
    "delete the item (cascade)": ("evidence", lambda c: c.item.delete()),
    "create an attribution": (
        "attributions",
        lambda c: Attribution.objects.create(incident=c.incident, unit=c.attribution.unit),
    ),
    "edit the attribution": ("attributions", lambda c: _save(c.attribution, basis="Changed.")),
    "move the attribution away": (
        "attributions",
        lambda c: _save(c.attribution, incident=c.other),
    ),
    "delete the attribution": ("attributions", lambda c: c.attribution.delete()),
    "add supporting evidence": (
        "attributions",
        lambda c: c.attribution.supporting_evidence.add(c.spare),
    ),
    "remove supporting evidence": (
        "attributions",
        lambda c: c.attribution.supporting_evidence.remove(c.item),
    ),
    "item.attributions.add": ("attributions", lambda c: c.spare.attributions.add(c.attribution)),
    "relate from it": (
        "related incidents",
        lambda c: IncidentRelation.objects.create(
            from_incident=c.incident, to_incident=c.other, kind=SAME
        ),
    ),
    "relate to it": (
        "related incidents",
        lambda c: IncidentRelation.objects.create(
            from_incident=c.other, to_incident=c.incident, kind=SAME
        ),
    ),
    "incident.related.add": (
        "related incidents",
        lambda c: c.incident.related.add(c.other, through_defaults={"kind": SAME}),
    ),
    "change a relation": ("related incidents", lambda c: _save(c.relation, note="Unsure.")),
    "delete a relation": ("related incidents", lambda c: c.relation.delete()),
    "delete the related incident (cascade)": ("related incidents", lambda c: c.neighbour.delete()),
}


@pytest.mark.parametrize(("what", "write"), ORM_WRITES.values(), ids=ORM_WRITES.keys())
def test_a_service_cannot_change_a_locked_incident_through_the_orm(case, what, write):
    before = snapshot()

    with pytest.raises(locks.Locked) as refused, transaction.atomic():
        write(case)

    assert refused.value.messages == [lock_message(case.incident, what)]
    assert snapshot() == before


@pytest.mark.parametrize(("what", "write"), ORM_WRITES.values(), ids=ORM_WRITES.keys())
def test_the_same_writes_succeed_once_an_editor_reopens_it(case, editor, what, write):
    transition(case.incident, Action.REOPEN, by=editor, comment="A new witness came forward.")
    before = snapshot()

    with transaction.atomic():
        write(case)

    assert snapshot() != before


def test_an_item_page_links_again_once_reopened(client, researcher, editor, case):
    transition(case.incident, Action.REOPEN, by=editor, comment="A new witness came forward.")
    client.force_login(researcher)

    response = save_page(
        client,
        change_url(case.spare),
        lambda data: add_row(
            data, "links", item=case.spare.pk, incident=case.incident.pk, relied_on="on"
        ),
    )

    assert response.status_code == 302, page_text(response)
    assert EvidenceLink.objects.filter(item=case.spare, incident=case.incident).exists()


# --- Intake and imports -------------------------------------------------------------------------


def test_upload_form_refuses_a_locked_incident_next_to_the_field(client, researcher, case):
    client.force_login(researcher)
    before = snapshot()

    response = client.post(
        reverse("admin:evidence_evidenceitem_add"),
        {
            "files": [SimpleUploadedFile("IMG_0001.jpg", make_jpeg())],
            "kind": "photo",
            "incident": case.incident.pk,
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["incident"] == [lock_message(case.incident, "evidence")]
    assert snapshot() == before


def test_ingest_refuses_a_locked_incident(researcher, case):
    before = snapshot()

    with pytest.raises(intake.IntakeError) as refused:
        intake.ingest(
            io.BytesIO(make_jpeg()),
            filename="a.jpg",
            kind="photo",
            by=researcher,
            incident=case.incident,
        )

    assert str(refused.value) == lock_message(case.incident, "evidence")
    assert snapshot() == before


def test_postings_import_writes_no_attribution(editor, case):
    """It changes units and postings, never attributions: nothing of the incident moves."""
    before = snapshot()

    result = import_postings(
        [("units.csv", UNITS.encode()), ("p.csv", POSTINGS.encode())], by=editor
    )

    assert result.counts["postings created"] == 6
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_a_restore_brings_back_a_locked_incident_with_its_rows(case, tmp_path, settings):
    """A restore loads rows as they were (raw saves), supporting evidence included."""
    Attribution.objects.filter(pk=case.attribution.pk).update(status=S.VERIFIED)
    before = snapshot()
    run("backup", str(tmp_path / "backup"))
    new_machine(tmp_path, settings)

    run("restore", str(tmp_path / "backup"))

    assert snapshot() == before


# --- A verified attribution keeps its content ----------------------------------------------------


@dataclass
class Reviewed:
    incident: Incident  # open
    attribution: Attribution  # verified
    item: EvidenceItem  # supports it
    spare: EvidenceItem


@pytest.fixture
def reviewed(researcher) -> Reviewed:
    incident = f.IncidentFactory(created_by=researcher, title="Strike on the market")
    item = f.EvidenceItemFactory(created_by=researcher, title="Flight log")
    spare = f.EvidenceItemFactory(created_by=researcher, title="Video of the rescue")
    attribution = f.AttributionFactory(
        incident=incident, created_by=researcher, basis="Flight log and the crater."
    )
    attribution.supporting_evidence.add(item)
    attribution.status = S.VERIFIED
    attribution.save(update_fields=["status"])  # tracker.workflow's write passes the lock
    return Reviewed(incident, attribution, item, spare)


ATTRIBUTION_WRITES: dict[str, Callable[[Reviewed], object]] = {
    "edit it": lambda r: _save(r.attribution, basis="Changed."),
    "untick relied on": lambda r: _save(r.attribution, relied_on=False),
    "delete it": lambda r: r.attribution.delete(),
    "add supporting evidence": lambda r: r.attribution.supporting_evidence.add(r.spare),
    "remove supporting evidence": lambda r: r.attribution.supporting_evidence.remove(r.item),
    "clear supporting evidence": lambda r: r.attribution.supporting_evidence.clear(),
    "item.attributions.add": lambda r: r.spare.attributions.add(r.attribution),
    "delete a supporting item (cascade)": lambda r: r.item.delete(),
}


@pytest.mark.parametrize("write", ATTRIBUTION_WRITES.values(), ids=ATTRIBUTION_WRITES.keys())
def test_a_verified_attribution_cannot_be_changed(reviewed, write):
    before = snapshot()

    with pytest.raises(locks.Locked) as refused, transaction.atomic():
        write(reviewed)

    assert refused.value.messages == [attribution_message(reviewed.attribution)]
    assert snapshot() == before


@pytest.mark.parametrize("write", ATTRIBUTION_WRITES.values(), ids=ATTRIBUTION_WRITES.keys())
def test_a_reopened_attribution_can_be_changed(reviewed, editor, write):
    transition(reviewed.attribution, Action.REOPEN, by=editor, comment="Wrong squadron.")
    reviewed.attribution.refresh_from_db()
    assert reviewed.attribution.status == S.DRAFT
    before = snapshot()

    with transaction.atomic():
        write(reviewed)

    assert snapshot() != before


def test_confirming_a_flight_cannot_add_support_to_a_verified_attribution(reviewed, reviewer):
    observation = f.FlightObservationFactory()
    before = snapshot()

    with pytest.raises(ValidationError) as refused:
        ranking.confirm(
            observation=observation,
            incident=reviewed.incident,
            by=reviewer,
            attribution=reviewed.attribution,
        )

    assert refused.value.messages == [attribution_message(reviewed.attribution)]
    assert snapshot() == before
    assert not FlightMatch.objects.exists()


def test_the_workflow_changes_the_state_of_a_locked_incidents_attribution(case, editor):
    """The status-only save is the workflow's: the lock lets it through."""
    Attribution.objects.filter(pk=case.attribution.pk).update(status=S.VERIFIED)
    case.attribution.refresh_from_db()

    transition(case.attribution, Action.REOPEN, by=editor, comment="Wrong squadron.")

    case.attribution.refresh_from_db()
    assert case.attribution.status == S.DRAFT


def _attribution_row(data: dict, reviewed: Reviewed) -> str:
    return row_of(data, "attributions", reviewed.attribution.pk)


@pytest.mark.parametrize(
    ("change", "prefix"),
    [
        (lambda data, row, r: data.update({row + "basis": ["Changed."]}), ""),
        (lambda data, row, r: data.update({row + "supporting_evidence": [str(r.spare.pk)]}), ""),
        (lambda data, row, r: data.update({row + "DELETE": ["on"]}), "Not removed: "),
    ],
    ids=["edit it", "change only its supporting evidence", "delete it"],
)
def test_incident_page_refuses_changes_to_a_verified_attribution(
    client, editor, reviewed, change, prefix
):
    client.force_login(editor)  # an editor may also delete attributions
    before = snapshot()

    response = save_page(
        client,
        change_url(reviewed.incident),
        lambda data: change(data, _attribution_row(data, reviewed), reviewed),
    )

    assert_form_error(response, prefix + attribution_message(reviewed.attribution))
    assert snapshot() == before


def test_incident_page_saves_with_a_verified_attribution_untouched(client, researcher, reviewed):
    client.force_login(researcher)
    before = snapshot()

    response = save_page(
        client,
        change_url(reviewed.incident),
        lambda data: data.update({"title": ["Strike on the central market"]}),
    )

    assert response.status_code == 302, page_text(response)
    reviewed.incident.refresh_from_db()
    assert reviewed.incident.title == "Strike on the central market"
    assert snapshot() == before
