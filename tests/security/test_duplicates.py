"""Issue 14 G: sending the bytes of an item one may not see reveals nothing.

An item that stands only behind restricted incidents does not exist for someone
without ``tracker.view_restricted_incident``. Uploading its bytes again, linked to an
incident the team may see, used to answer "already held as EV-…: linked" and, by the
new link, to make the item (its page, title, description and file) visible to the
whole team. Now such a copy is set aside: nothing is linked or stored again, the
sender gets a neutral message, the hidden item's custody log records the upload and
those who may see it get a mail naming its code only.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence import access, intake
from evidence.files import custody
from evidence.models import CustodyEvent, EvidenceItem, EvidenceLink
from evidence.tests.files import make_jpeg
from evidence.tests.test_ingest_command import run
from tracker.models import Sensitivity
from tracker.tests import factories as f
from tracker.tests.seed import ensure_seed_data

pytestmark = pytest.mark.django_db

ADD = reverse("admin:evidence_evidenceitem_add")
HIDDEN_BYTES = make_jpeg(colour=(200, 30, 30))
HIDDEN_TITLE = "Clinic basement, faces of the wounded"
HIDDEN_DESCRIPTION = "Taken by the nurse on duty; do not share."
HIDDEN_FILE_NAME = "nurse_amal_clinic.jpg"
SENT_AS = "from_whatsapp.jpg"
SET_ASIDE = f"{SENT_AS}: received; it is set aside for an editor to decide where it belongs."


def member(username: str, *, group: str | None = "Researcher", restricted=False, **extra):
    ensure_seed_data()
    extra.setdefault("email", f"{username}@example.org")
    user = User.objects.create_user(username, password="x", is_staff=True, **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    if restricted:
        user.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    return user


def originals() -> list[Path]:
    root = Path(settings.DATA_DIR) / "originals"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def staging() -> list[Path]:
    root = Path(settings.DATA_DIR) / "staging"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def sender(researcher):
    researcher.email = "researcher@example.org"
    researcher.save()
    return researcher


@pytest.fixture
def keeper(db):
    """A researcher an administrator named for the restricted incidents."""
    return member("keeper", restricted=True)


@pytest.fixture
def case(keeper, sender):
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=keeper)
    open_incident = f.IncidentFactory(title="Strike on the bakery")
    hidden = intake.ingest(
        io.BytesIO(HIDDEN_BYTES),
        filename=HIDDEN_FILE_NAME,
        kind="photo",
        by=keeper,
        title=HIDDEN_TITLE,
        description=HIDDEN_DESCRIPTION,
        incident=restricted,
    ).item
    assert not access.visible_items(sender, EvidenceItem.objects.filter(pk=hidden.pk)).exists()
    return {"restricted": restricted, "open": open_incident, "hidden": hidden}


@pytest.fixture
def bystanders(db):
    """People who must not hear of the hidden item: no permission, no address, inactive."""
    return [
        member("editor_without_restricted", group="Editor"),
        member("keeper_without_address", restricted=True, email=""),
        member("former_keeper", restricted=True, is_active=False),
        member("restricted_but_no_evidence", group=None, restricted=True),
    ]


def assert_set_aside(case, sender) -> None:
    hidden = case["hidden"]
    assert list(hidden.incidents.all()) == [case["restricted"]]
    assert not EvidenceLink.objects.filter(incident=case["open"]).exists()
    assert not access.visible_items(sender, EvidenceItem.objects.filter(pk=hidden.pk)).exists()
    assert EvidenceItem.objects.count() == 1
    assert len(originals()) == 1
    assert staging() == []
    event = hidden.custody_events.order_by("-sequence").first()
    assert event.action == CustodyEvent.Action.DUPLICATE
    assert event.actor == sender
    assert event.details == {"incident": case["open"].code, "filename": SENT_AS}
    assert custody.verify_chain(hidden) == []
    hidden.refresh_from_db()
    assert hidden.original_filename == HIDDEN_FILE_NAME


def assert_one_mail_to_the_keeper(mailoutbox, case, keeper) -> None:
    assert [mail.to for mail in mailoutbox] == [[keeper.email]]
    mail = mailoutbox[0]
    text = mail.subject + mail.body
    assert case["hidden"].code in text
    for secret in (HIDDEN_TITLE, HIDDEN_DESCRIPTION, HIDDEN_FILE_NAME, SENT_AS):
        assert secret not in text


# --- Through the intake ------------------------------------------------------------------


def test_ingest_of_hidden_bytes_links_nothing_and_names_nothing(
    case, sender, keeper, bystanders, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = intake.ingest(
            io.BytesIO(HIDDEN_BYTES),
            filename=SENT_AS,
            kind="photo",
            by=sender,
            incident=case["open"],
            relevance="Same crater",
        )

    assert result.withheld is True
    assert result.duplicate is True
    assert result.item is None  # no caller can print what the sender may not know
    assert result.received is None
    assert_set_aside(case, sender)
    assert_one_mail_to_the_keeper(mailoutbox, case, keeper)


def test_hidden_bytes_sent_without_an_incident_are_set_aside_too(
    case, sender, keeper, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = intake.ingest(io.BytesIO(HIDDEN_BYTES), filename=SENT_AS, kind="photo", by=sender)

    assert result.withheld is True and result.item is None
    event = case["hidden"].custody_events.order_by("-sequence").first()
    assert event.action == CustodyEvent.Action.DUPLICATE
    assert event.details == {"filename": SENT_AS}
    assert [mail.to for mail in mailoutbox] == [[keeper.email]]


def test_the_sender_file_name_in_the_custody_log_follows_the_protected_item_rule(keeper, sender):
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    data = make_jpeg(colour=(10, 10, 240))
    hidden = intake.ingest(
        io.BytesIO(data),
        filename="a.jpg",
        kind="photo",
        by=keeper,
        incident=restricted,
        is_protected=True,
    ).item
    intake.ingest(io.BytesIO(data), filename="witness_name.jpg", kind="photo", by=sender)

    event = hidden.custody_events.get(action=CustodyEvent.Action.DUPLICATE)
    assert access.custody_details(event.details, shown=False) == {
        "filename": access.WITHHELD_FILE_NAME
    }


# --- Through the admin upload ------------------------------------------------------------


def test_admin_upload_of_hidden_bytes_reveals_nothing(
    client, case, sender, keeper, bystanders, mailoutbox, django_capture_on_commit_callbacks
):
    hidden = case["hidden"]
    client.force_login(sender)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            ADD,
            {
                "files": [SimpleUploadedFile(SENT_AS, HIDDEN_BYTES)],
                "kind": "photo",
                "incident": case["open"].pk,
                "relevance": "Same crater",
            },
            follow=True,
        )

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [SET_ASIDE]
    page = response.content.decode()
    for secret in (hidden.code, HIDDEN_TITLE, HIDDEN_FILE_NAME):
        assert secret not in page
    assert_set_aside(case, sender)
    assert_one_mail_to_the_keeper(mailoutbox, case, keeper)

    # From then on too, the item is not there for the sender.
    change = reverse("admin:evidence_evidenceitem_change", args=[hidden.pk])
    page = client.get(change, follow=True).content.decode()
    assert HIDDEN_TITLE not in page and HIDDEN_DESCRIPTION not in page
    listing = client.get(reverse("admin:evidence_evidenceitem_changelist")).content.decode()
    assert hidden.code not in listing and HIDDEN_TITLE not in listing
    incident_page = client.get(
        reverse("admin:tracker_incident_change", args=[case["open"].pk])
    ).content.decode()
    assert hidden.code not in incident_page
    assert client.get(reverse("evidence:original", args=[hidden.code])).status_code == 404


def test_the_same_wording_for_every_set_aside_copy(
    client, case, sender, keeper, django_capture_on_commit_callbacks
):
    """The message carries nothing of the item: two hidden items answer alike."""
    other = make_jpeg(colour=(20, 160, 90))
    intake.ingest(
        io.BytesIO(other),
        filename="other.jpg",
        kind="photo",
        by=keeper,
        title="Another secret",
        incident=f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED),
    )
    client.force_login(sender)

    answers = []
    for data in (HIDDEN_BYTES, other):
        response = client.post(
            ADD, {"files": [SimpleUploadedFile(SENT_AS, data)], "kind": "photo"}, follow=True
        )
        answers.append([str(m) for m in response.context["messages"]])

    assert answers == [[SET_ASIDE], [SET_ASIDE]]


# --- Who may see the item: as before -----------------------------------------------------


def test_duplicate_of_a_visible_item_is_still_linked(
    client, sender, other_researcher, mailoutbox, django_capture_on_commit_callbacks
):
    first, second = f.IncidentFactory(), f.IncidentFactory()
    data = make_jpeg(colour=(30, 200, 30))
    held = intake.ingest(
        io.BytesIO(data), filename="a.jpg", kind="photo", by=other_researcher, incident=first
    ).item
    client.force_login(sender)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            ADD,
            {
                "files": [SimpleUploadedFile("copy.jpg", data)],
                "kind": "photo",
                "incident": second.pk,
            },
            follow=True,
        )

    assert [str(m) for m in response.context["messages"]] == [
        f"copy.jpg is already held as {held.code}: linked, not stored again."
    ]
    assert set(held.incidents.all()) == {first, second}
    assert not held.custody_events.filter(action=CustodyEvent.Action.DUPLICATE).exists()
    assert len(originals()) == 1
    assert mailoutbox == []


def test_item_also_behind_an_open_incident_is_linked(case, sender):
    hidden = case["hidden"]
    EvidenceLink.objects.create(item=hidden, incident=f.IncidentFactory())
    result = intake.ingest(
        io.BytesIO(HIDDEN_BYTES), filename=SENT_AS, kind="photo", by=sender, incident=case["open"]
    )
    assert result.withheld is False
    assert result.item == hidden
    assert hidden.incidents.filter(pk=case["open"].pk).exists()


def test_keeper_sending_the_bytes_again_links_them(case, keeper, mailoutbox):
    result = intake.ingest(
        io.BytesIO(HIDDEN_BYTES), filename=SENT_AS, kind="photo", by=keeper, incident=case["open"]
    )
    assert result.withheld is False and result.duplicate is True
    assert result.item == case["hidden"]
    assert case["hidden"].incidents.filter(pk=case["open"].pk).exists()
    assert mailoutbox == []


# --- The ingest command ------------------------------------------------------------------


def test_ingest_command_prints_no_code_for_hidden_bytes(case, sender, tmp_path):
    path = tmp_path / SENT_AS
    path.write_bytes(HIDDEN_BYTES)

    status, lines, err = run("--user", sender.username, "--incident", case["open"].code, str(path))

    assert status == 0
    assert lines == [
        f"SET ASIDE {path}: received; it is set aside for an editor to decide where it belongs."
    ]
    assert case["hidden"].code not in err
    assert "1 set aside" in err
    assert not EvidenceLink.objects.filter(incident=case["open"]).exists()
    event = case["hidden"].custody_events.order_by("-sequence").first()
    assert event.action == CustodyEvent.Action.DUPLICATE


# --- Flight logs: the same rule through their own import -----------------------------------


def test_a_flight_log_held_only_behind_a_restricted_incident_is_set_aside(keeper, sender):
    from evidence.flights import flightlog
    from evidence.flights.tests.flightlog_helpers import EXAMPLE

    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=keeper)
    open_incident = f.IncidentFactory(title="Strike on the bakery")
    hidden = flightlog.import_flight_log(
        io.BytesIO(EXAMPLE.encode()),
        filename="spotter.csv",
        by=keeper,
        incident=restricted,
        time_zone="Asia/Damascus",
    ).item
    with pytest.raises(flightlog.FlightLogRefused) as refused:
        flightlog.import_flight_log(
            io.BytesIO(EXAMPLE.encode()),
            filename=SENT_AS,
            by=sender,
            incident=open_incident,
            time_zone="Asia/Damascus",
        )
    assert str(refused.value) == SET_ASIDE
    assert hidden.code not in str(refused.value)
    assert not EvidenceLink.objects.filter(item=hidden, incident=open_incident).exists()
    assert hidden.custody_events.filter(action=CustodyEvent.Action.DUPLICATE).count() == 1


def test_the_flight_log_form_answers_a_restricted_incident_as_an_unknown_code(
    client, keeper, sender
):
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=keeper)
    client.force_login(sender)
    response = client.post(
        reverse("admin:evidence_flightlog_add"),
        {
            "file": SimpleUploadedFile("log.csv", b"x"),
            "incident": restricted.code,
        },
    )
    assert response.status_code == 200
    assert f"No incident with code {restricted.code}." in response.content.decode()
