"""Issue 14 B and D at intake: every way a file comes in respects the incident's rules.

B: a restricted incident does not exist for someone without
``tracker.view_restricted_incident``: the upload form does not offer it, refuses its id,
and ``ingest --incident`` does not find it for such a user.
D: a verified, published or rejected incident keeps its evidence links: the intake
refuses to link to it, before anything is stored, for new files and files already held,
whichever face sends them (the upload form, ``ingest``, the flight-log import).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence import intake
from evidence.flights import flightlog
from evidence.flights.tests.flightlog_helpers import EXAMPLE
from evidence.models import CustodyEvent, EvidenceItem, EvidenceLink
from evidence.tests.files import make_jpeg
from evidence.tests.test_ingest_command import run
from tracker import locks
from tracker.models import ReviewStatus, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

ADD = reverse("admin:evidence_evidenceitem_add")
INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."


def files_under(name: str) -> list[Path]:
    root = Path(settings.DATA_DIR) / name
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_nothing_stored(*, held: int = 0) -> None:
    """No evidence: no row, no original; in staging only the files ``held`` for the
    sender to send again without choosing them (``evidence.files.held``)."""
    assert not EvidenceItem.objects.exists()
    assert not EvidenceLink.objects.exists()
    assert not CustodyEvent.objects.exists()
    assert files_under("originals") == []
    assert len(files_under("staging")) == held


def lock_message(incident, what: str = "evidence") -> str:
    return locks.locked_message(incident.code, incident.status, what)


@pytest.fixture
def restricted(db):
    return f.IncidentFactory(
        title="Strike on the field hospital", sensitivity=Sensitivity.RESTRICTED
    )


@pytest.fixture
def keeper(researcher):
    """The researcher, named by an administrator for the restricted incidents."""
    researcher.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    return type(researcher).objects.get(pk=researcher.pk)  # a fresh permission cache


def upload(client, data: bytes, **fields):
    return client.post(
        ADD, {"files": [SimpleUploadedFile("IMG_0001.jpg", data)], "kind": "photo", **fields}
    )


# --- B: the upload form offers only incidents the user may see -----------------------------


def test_upload_form_does_not_offer_a_restricted_incident(client, researcher, restricted):
    visible = f.IncidentFactory(title="Strike on the bakery")
    client.force_login(researcher)

    response = client.get(ADD)

    offered = list(response.context["form"].fields["incident"].queryset)
    assert visible in offered and restricted not in offered
    page = response.content.decode()
    assert restricted.code not in page and restricted.title not in page
    assert visible.code in page


def test_upload_form_offers_a_restricted_incident_to_those_named(client, keeper, restricted):
    client.force_login(keeper)
    assert restricted.code in client.get(ADD).content.decode()


def test_posting_the_id_of_a_restricted_incident_is_an_invalid_choice(
    client, researcher, restricted
):
    client.force_login(researcher)

    response = upload(client, make_jpeg(), incident=restricted.pk)

    assert response.status_code == 200
    assert response.context["form"].errors["incident"] == [INVALID_CHOICE]
    assert restricted.code not in response.content.decode()
    assert_nothing_stored(held=1)  # kept for the sender to send again without choosing it


def test_the_named_may_upload_to_a_restricted_incident(client, keeper, restricted):
    client.force_login(keeper)

    upload(client, make_jpeg(), incident=restricted.pk)

    assert EvidenceLink.objects.get().incident == restricted


def test_ingest_command_does_not_find_a_restricted_incident_for_others(
    researcher, restricted, tmp_path
):
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(make_jpeg())

    status, lines, err = run("--user", "researcher", "--incident", restricted.code, str(path))

    assert status == 1
    assert lines == []
    assert f"CommandError: No incident with code {restricted.code!r}." in err
    assert "Traceback" not in err
    assert_nothing_stored()


def test_ingest_command_links_a_restricted_incident_for_the_named(keeper, restricted, tmp_path):
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(make_jpeg())

    status, _, _ = run("--user", keeper.username, "--incident", restricted.code, str(path))

    assert status == 0
    assert EvidenceLink.objects.get().incident == restricted


# --- D: a locked incident takes no new evidence ------------------------------------------


@pytest.mark.parametrize(
    "status", [ReviewStatus.VERIFIED, ReviewStatus.PUBLISHED, ReviewStatus.REJECTED]
)
def test_ingest_to_a_locked_incident_is_refused_before_anything_is_read(researcher, status):
    incident = f.IncidentFactory(status=status)

    class Unread(io.BytesIO):
        def read(self, *args):  # staging would read the stream
            raise AssertionError("the stream was read")

    with pytest.raises(intake.IntakeError) as refused:
        intake.ingest(Unread(), filename="a.jpg", kind="photo", by=researcher, incident=incident)

    assert str(refused.value) == lock_message(incident)
    assert_nothing_stored()


def test_file_already_held_is_not_linked_to_a_locked_incident(researcher):
    data = make_jpeg()
    held = intake.ingest(io.BytesIO(data), filename="a.jpg", kind="photo", by=researcher).item
    published = f.IncidentFactory(status=ReviewStatus.PUBLISHED)

    with pytest.raises(intake.IntakeError, match=lock_message(published)):
        intake.ingest(
            io.BytesIO(data), filename="b.jpg", kind="photo", by=researcher, incident=published
        )

    assert not EvidenceLink.objects.exists()
    assert held.custody_events.count() == 2
    assert len(files_under("originals")) == 1
    assert files_under("staging") == []


def test_upload_to_a_published_incident_shows_the_lock_next_to_the_incident(client, researcher):
    published = f.IncidentFactory(status=ReviewStatus.PUBLISHED)
    client.force_login(researcher)

    response = upload(client, make_jpeg(), incident=published.pk)

    assert response.status_code == 200
    assert response.context["form"].errors["incident"] == [lock_message(published)]
    assert lock_message(published) in response.content.decode()
    assert_nothing_stored(held=1)  # kept for the sender to send again without choosing it


def test_ingest_command_refuses_a_published_incident_clearly(researcher, tmp_path):
    published = f.IncidentFactory(status=ReviewStatus.PUBLISHED)
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(make_jpeg())

    status, lines, err = run("--user", "researcher", "--incident", published.code, str(path))

    assert status == 1
    assert lines == []
    assert f"CommandError: {lock_message(published)}" in err
    assert "Traceback" not in err
    assert_nothing_stored()


def test_flight_log_import_to_a_published_incident_is_refused(researcher):
    published = f.IncidentFactory(status=ReviewStatus.PUBLISHED)

    with pytest.raises(intake.IntakeError, match=lock_message(published)):
        flightlog.import_flight_log(
            io.BytesIO(EXAMPLE.encode()),
            filename="log.csv",
            by=researcher,
            time_zone="UTC",
            incident=published,
        )

    assert_nothing_stored()


def test_flight_log_upload_to_a_published_incident_says_why(client, researcher):
    published = f.IncidentFactory(status=ReviewStatus.PUBLISHED)
    client.force_login(researcher)

    response = client.post(
        reverse("admin:evidence_flightlog_add"),
        {
            "file": SimpleUploadedFile("log.csv", EXAMPLE.encode(), content_type="text/csv"),
            "time_zone": "UTC",
            "incident": published.code,
        },
    )

    assert response.status_code == 200
    assert lock_message(published) in response.content.decode()
    # The file is held for the form shown again (another incident may be chosen), not stored.
    assert_nothing_stored(held=1)
    assert response.context["form"].kept.path == files_under("staging")[0]


def test_intake_itself_refuses_an_incident_the_sender_may_not_see(researcher, restricted):
    """Every face (upload form, command, a later API or task) calls intake.ingest: the
    rule is there, not only in the form's choices."""
    with pytest.raises(intake.IntakeError, match=intake.NO_SUCH_INCIDENT):
        intake.ingest(
            io.BytesIO(make_jpeg()),
            filename="a.jpg",
            kind="photo",
            by=researcher,
            incident=restricted,
        )
    assert_nothing_stored()
