"""evidence.intake: the same bytes twice are one item, stored once and linked again;
a copy of an item the sender may not see is set aside, logged by its hash.

Files are generated here (Pillow, bytes literals); nothing binary is kept in git.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User

from evidence import intake
from evidence.files import storage
from evidence.models import CustodyEvent, EvidenceItem, EvidenceLink
from evidence.tests.files import make_jpeg
from evidence.tests.intake_helpers import ingest, originals, staging
from tracker.models import Incident, Sensitivity

pytestmark = pytest.mark.django_db


# --- The same file twice ----------------------------------------------------------------


def test_same_bytes_again_is_the_same_item_stored_once(researcher, incident, other_incident):
    data = make_jpeg()
    first = ingest(data, by=researcher, incident=incident)

    again = ingest(data, by=researcher, filename="copy-from-whatsapp.jpg", incident=other_incident)

    assert again.duplicate is True
    assert again.item.pk == first.item.pk
    assert EvidenceItem.objects.count() == 1
    assert len(originals()) == 1
    assert staging() == []
    assert set(first.item.incidents.all()) == {incident, other_incident}
    # The held item is untouched: no new custody events, its first name kept.
    assert first.item.custody_events.count() == 2
    assert EvidenceItem.objects.get().original_filename == "IMG_0001.jpg"


def test_same_bytes_for_the_same_incident_is_linked_once(researcher, incident):
    data = make_jpeg()
    ingest(data, by=researcher, incident=incident)
    assert ingest(data, by=researcher, incident=incident).duplicate is True
    assert EvidenceLink.objects.count() == 1


# --- Mutation survivors (make mutate) ---------------------------------------------------


def test_a_link_made_for_a_copy_is_recorded_as_made_by_its_sender(
    researcher, other_researcher, incident, other_incident
):
    """Four eyes reads who made a link from its history: the sender of the copy."""
    data = make_jpeg()
    ingest(data, by=researcher, incident=incident)

    ingest(data, by=other_researcher, incident=other_incident)

    link = EvidenceLink.objects.get(incident=other_incident)
    assert link.history.get().history_user == other_researcher


def test_a_copy_of_an_item_whose_row_names_no_file_is_linked_with_nothing_to_read(researcher):
    """A row without a storage key (damaged, or pointed elsewhere) is not a reason to
    refuse the copy: it is linked, and no place to read it is claimed."""
    data = make_jpeg()
    held = ingest(data, by=researcher).item
    EvidenceItem.objects.filter(pk=held.pk).update(original_path="")

    again = ingest(data, by=researcher, filename="copy.jpg")

    assert (again.duplicate, again.item, again.received) == (True, held, None)


@pytest.fixture
def keeper(superuser) -> User:
    """Someone who may see restricted incidents, with an address to be told at."""
    superuser.email = "keeper@example.org"
    superuser.save()
    return superuser


@pytest.fixture
def hidden_bytes(keeper) -> bytes:
    """The bytes of an item that stands only behind a restricted incident."""
    restricted = Incident.objects.create(
        title="Clinic basement",
        occurred_start=datetime(2019, 5, 5, 7, 30, tzinfo=UTC),
        sensitivity=Sensitivity.RESTRICTED,
    )
    data = make_jpeg(colour=(200, 30, 30))
    ingest(data, by=keeper, filename="nurse_amal.jpg", incident=restricted)
    return data


def test_a_set_aside_copy_is_logged_with_the_hash_of_the_bytes_received(researcher, hidden_bytes):
    """The held item's custody log records what was observed of the copy: its hash."""
    result = ingest(hidden_bytes, by=researcher, filename="from_whatsapp.jpg")

    assert result.withheld is True
    event = CustodyEvent.objects.get(action=CustodyEvent.Action.DUPLICATE)
    assert event.observed_sha256 == hashlib.sha256(hidden_bytes).hexdigest()


def test_the_set_aside_mail_names_who_sent_the_copy(
    researcher, keeper, hidden_bytes, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ingest(hidden_bytes, by=researcher, filename="from_whatsapp.jpg")

    [mail] = mailoutbox
    assert mail.to == [keeper.email]
    assert f"{researcher.username} sent a file" in mail.body


def test_a_set_aside_notice_that_fails_does_not_undo_the_upload(
    researcher, hidden_bytes, monkeypatch, django_capture_on_commit_callbacks
):
    """The notice runs after the commit; its failure is logged, never raised to the sender."""

    def notice_fails(item, *, by):
        raise RuntimeError("injected: the notice failed")

    monkeypatch.setattr(intake.notifications, "duplicate_set_aside", notice_fails)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = ingest(hidden_bytes, by=researcher, filename="from_whatsapp.jpg")

    assert len(callbacks) == 1  # the notice was attempted
    assert result.withheld is True
    assert CustodyEvent.objects.filter(action=CustodyEvent.Action.DUPLICATE).count() == 1


def test_a_set_aside_copy_is_logged_by_its_hash_only(researcher, hidden_bytes, caplog):
    """The ingest command shows this line at -v 2: the hash, and no item code."""
    with caplog.at_level(logging.INFO, logger="evidence.intake"):
        ingest(hidden_bytes, by=researcher, filename="from_whatsapp.jpg")

    sha = hashlib.sha256(hidden_bytes).hexdigest()
    assert [r.getMessage() for r in caplog.records if r.name == "evidence.intake"] == [
        f"set aside a copy of a held item ({sha}) for an editor"
    ]


@pytest.mark.parametrize("committed", ["before the insert", "before the validation"])
def test_bytes_stored_by_another_request_a_moment_ago_are_linked_and_kept(
    researcher, other_researcher, incident, monkeypatch, committed
):
    """Two requests with the same bytes: the other one committed after this one's
    look-up, before its insert (the insert fails on the unique hash) or even before
    its validation. This request links the other's item, and the other's original
    stays where it is."""
    data = make_jpeg()
    theirs = ingest(data, by=other_researcher).item
    real_filter, real_full_clean = EvidenceItem.objects.filter, EvidenceItem.full_clean
    looked_up = []

    def look_up_before_their_commit(*args, **kwargs):
        if "sha256" in kwargs and not looked_up:
            looked_up.append(kwargs["sha256"])
            return real_filter(pk__in=[])
        return real_filter(*args, **kwargs)

    def validate_before_their_commit(self, *args, **kwargs):
        return real_full_clean(self, *args, **kwargs, validate_constraints=False)

    monkeypatch.setattr(EvidenceItem.objects, "filter", look_up_before_their_commit)
    if committed == "before the insert":
        monkeypatch.setattr(EvidenceItem, "full_clean", validate_before_their_commit)

    result = ingest(data, by=researcher, filename="copy.jpg", incident=incident)

    assert looked_up == [theirs.sha256]
    assert (result.item, result.duplicate, result.withheld) == (theirs, True, False)
    assert list(EvidenceItem.objects.all()) == [theirs]
    assert list(theirs.incidents.all()) == [incident]
    assert originals() == [storage.path_of(theirs.original_path)]
    assert originals()[0].read_bytes() == data


def test_a_copy_already_held_is_read_from_the_held_original(researcher):
    first = ingest(make_jpeg(), by=researcher)
    again = ingest(make_jpeg(), by=researcher, filename="copy.jpg")
    assert again.duplicate and again.item == first.item
    assert again.received == storage.path_of(first.item.original_path)
    assert again.received.read_bytes() == make_jpeg()
