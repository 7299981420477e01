"""Issue 14 D, by the paths that write without the admin's forms: a verified or
published incident cannot gain, lose or change evidence links, attributions or related
incidents until an editor reopens it (``tracker.locks``).

Each path is driven against a verified and a published incident (``case``, from
``tests.security.locked``): the one-click commander, the services' ORM writes
(cascades and many-to-many managers included), the upload form and
``intake.ingest``, the postings import, a restore. Every refusal leaves the database
as it was and says why; after ``workflow.transition(..., "reopen")`` the same writes
succeed. (Intake is covered in more depth by ``test_intake_paths.py``.)
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from evidence import intake
from evidence.models import EvidenceLink
from evidence.tests.files import make_jpeg
from tests.security import locked
from tests.security.locked import Case, lock_message, snapshot
from tests.security.locked import save_fields as _save
from tests.security.pages import add_row, change_url, messages_of, page_text, save_page
from tracker import locks
from tracker.models import Attribution, IncidentRelation, Position, ReviewStatus
from tracker.responsibility.chain import attribute_command
from tracker.responsibility.postings import import_postings
from tracker.responsibility.tests.test_import_postings import POSTINGS, UNITS
from tracker.tests import factories as f
from tracker.tests.test_backup_restore import new_machine, run
from tracker.workflow import Action, transition

S = ReviewStatus
SAME = IncidentRelation.Kind.SAME_OPERATION
pytestmark = pytest.mark.django_db

case = locked.case  # the fixture: a verified or published incident with its rows


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
