"""evidence.views: an item's files only to those allowed to view the item; a refusal
hands out nothing, records no download and is logged without what the item protects.

Files are generated here (Pillow, bytes literals) and go through the real intake path.
"""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse

from evidence.tests.views_helpers import downloads_of, ingest
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


# Who gets what: the same answer for the original, the thumbnail and the preview.
# Anonymous requests are refused with 403 (not redirected to the login page).
EXPECTED_NORMAL = {
    "anonymous": 403,
    "outsider": 403,  # logged in, no role, not staff
    "researcher": 200,
    "reviewer": 200,
    "editor": 200,
    "identity_holder": 200,
    "superuser": 200,
}
EXPECTED_PROTECTED = {
    "anonymous": 403,
    "outsider": 403,
    "researcher": 403,  # no role holds evidence.view_protected_identity
    "reviewer": 403,
    "editor": 403,
    "identity_holder": 200,  # a researcher granted the permission by name
    "superuser": 200,
    "uploader": 200,  # the researcher who ingested it (each opening is in its custody log)
}


@pytest.fixture
def identity_holder(db) -> User:
    """A researcher to whom an administrator granted the protected-identity permission."""
    user = User.objects.create_user("identity_holder", password="x" * 20, is_staff=True)
    user.groups.add(Group.objects.get(name="Researcher"))
    user.user_permissions.add(Permission.objects.get(codename="view_protected_identity"))
    return user


@pytest.fixture
def anonymous() -> None:
    return None


def as_persona(client, request, persona: str):
    user = request.getfixturevalue(persona)
    if user is not None:
        client.force_login(user)
    return user


# --- Who may see what -------------------------------------------------------------------


@pytest.mark.parametrize("what", ["original", "thumbnail", "preview"])
@pytest.mark.parametrize("persona", sorted(EXPECTED_NORMAL))
def test_normal_item_files_by_persona(client, request, item, persona, what):
    as_persona(client, request, persona)
    response = client.get(reverse(f"evidence:{what}", args=[item.code]))
    assert response.status_code == EXPECTED_NORMAL[persona]


@pytest.mark.parametrize("what", ["original", "thumbnail", "preview"])
@pytest.mark.parametrize("persona", sorted(EXPECTED_PROTECTED))
def test_protected_item_files_by_persona(client, request, protected_item, persona, what):
    as_persona(client, request, persona)
    response = client.get(reverse(f"evidence:{what}", args=[protected_item.code]))
    assert response.status_code == EXPECTED_PROTECTED[persona]


def test_inactive_staff_account_is_refused(client, researcher, item):
    client.force_login(researcher)
    researcher.is_active = False
    researcher.save()
    response = client.get(reverse("evidence:original", args=[item.code]))
    # Django's session check logs an inactive user out: refused like an anonymous one.
    assert response.status_code == 403
    assert downloads_of(item) == []


def test_staff_without_the_view_permission_is_refused(client, item):
    clerk = User.objects.create_user("clerk", password="x" * 20, is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("evidence:original", args=[item.code])).status_code == 403


@pytest.mark.parametrize("persona", ["anonymous", "outsider", "researcher"])
def test_refused_download_writes_no_custody_event(client, request, protected_item, persona):
    as_persona(client, request, persona)
    before = list(protected_item.custody_events.values_list("pk", flat=True))
    response = client.get(reverse("evidence:original", args=[protected_item.code]))
    assert response.status_code == 403
    assert list(protected_item.custody_events.values_list("pk", flat=True)) == before


@pytest.mark.parametrize("persona", ["anonymous", "outsider"])
def test_who_may_open_no_file_learns_nothing_about_codes(client, item, persona, request):
    if persona != "anonymous":  # logged in, but not staff and without the permission
        client.force_login(request.getfixturevalue(persona))
    unknown = client.get(reverse("evidence:original", args=["EV-999999"]))
    known = client.get(reverse("evidence:original", args=[item.code]))
    assert unknown.status_code == known.status_code == 403


# --- The access log ---------------------------------------------------------------------


def test_refusal_is_logged_without_witness_identity(client, researcher, uploader, caplog):
    statement = b"The witness described two aircraft over the market at dawn.\n"
    item = ingest(statement, by=uploader, kind="testimony", is_protected=True)
    witness = f.WitnessFactory(
        pseudonym="Witness K-14", real_name="Amina Hidden-Name", contact="+963 555 0101"
    )
    f.TestimonyFactory(item=item, witness=witness, summary="Two aircraft.")
    client.force_login(researcher)
    with caplog.at_level(logging.WARNING, logger="evidence.access"):
        response = client.get(reverse("evidence:original", args=[item.code]))
    assert response.status_code == 403
    [record] = [r for r in caplog.records if r.name == "evidence.access"]
    message = record.getMessage()
    assert record.levelno == logging.WARNING
    assert item.code in message
    assert f"user {researcher.pk} ('researcher')" in message
    assert "protected item" in message
    for secret in ("Amina", "Hidden-Name", "+963", "Witness K-14", "aircraft"):
        assert secret not in caplog.text


def test_anonymous_refusal_is_logged(client, item, caplog):
    with caplog.at_level(logging.WARNING, logger="evidence.access"):
        client.get(reverse("evidence:preview", args=[item.code]), REMOTE_ADDR="192.0.2.4")
    [record] = [r for r in caplog.records if r.name == "evidence.access"]
    assert "not logged in" in record.getMessage()
    assert "192.0.2.4" in record.getMessage()


def test_hostile_code_is_logged_escaped(client, researcher, caplog):
    client.force_login(researcher)
    with caplog.at_level(logging.WARNING, logger="evidence.access"):
        response = client.get("/evidence/EV-1%0AFAKE%20LOG%20LINE/original")
    assert response.status_code == 404
    [record] = [r for r in caplog.records if r.name == "evidence.access"]
    assert "\n" not in record.getMessage()
