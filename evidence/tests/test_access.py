"""evidence.access: who may open an item's files (gaps found by mutation, issue 15)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from evidence import access
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def not_staff(db):
    """An account that holds the evidence permission but is not staff (the admin's own
    gate): it may open no file either."""
    user = User.objects.create_user("volunteer", password="correct-horse-battery")
    user.user_permissions.add(Permission.objects.get(codename="view_evidenceitem"))
    return User.objects.get(pk=user.pk)


def test_an_account_that_is_not_staff_opens_no_file(client, not_staff):
    item = f.EvidenceItemFactory()
    assert not_staff.has_perm(access.VIEW_EVIDENCE)
    assert access.account_refusal(not_staff) == "not a staff account"
    assert not access.can_view_item(not_staff, item)
    client.force_login(not_staff)
    assert client.get(reverse("evidence:original", args=[item.code])).status_code == 403


def test_the_same_account_made_staff_may(not_staff):
    not_staff.is_staff = True
    not_staff.save()
    assert access.account_refusal(User.objects.get(pk=not_staff.pk)) is None


# --- Mutation survivors (make mutate) ---------------------------------------------------------


def test_an_uploader_who_holds_the_identity_permission_opens_by_it_without_a_viewed_event(
    client, identity_holder
):
    """The uploader's exception (and its custody record) is for an uploader *without* the
    permission: one who holds it opens their own protected item as any holder does."""
    from tests.security.test_protected_access import events_of, get, ingest_protected

    protected = ingest_protected(identity_holder)
    assert access.is_uploader(identity_holder, protected)
    assert not access.opens_as_uploader(identity_holder, protected)
    before = len(events_of(protected))
    response = get(client, identity_holder, "thumbnail", protected)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=600"
    assert len(events_of(protected)) == before


def test_the_refusal_names_why_an_account_may_open_no_file(client, researcher, caplog):
    """The reason goes to the access log: it names the rule the account fails."""
    import logging

    from django.contrib.auth.models import AnonymousUser

    assert access.account_refusal(None) == "not logged in"
    assert access.account_refusal(AnonymousUser()) == "not logged in"
    clerk = User.objects.create_user("clerk", password="correct-horse-battery", is_staff=True)
    assert access.account_refusal(clerk) == "no permission to view evidence"
    item = f.EvidenceItemFactory()
    client.force_login(clerk)
    with caplog.at_level(logging.WARNING, logger="evidence.access"):
        assert client.get(reverse("evidence:original", args=[item.code])).status_code == 403
    [record] = [r for r in caplog.records if r.name == "evidence.access"]
    assert record.getMessage().endswith(": no permission to view evidence")
    assert access.account_refusal(researcher) is None
    researcher.is_active = False  # (a session of it is logged out: "not logged in")
    assert access.account_refusal(researcher) == "inactive account"


def test_a_protected_item_s_file_name_shows_only_where_identity_does():
    """The name the file arrived with may name the person a protected item protects."""
    protected = f.EvidenceItemFactory(is_protected=True, original_filename="interview_Amina.mp3")
    plain = f.EvidenceItemFactory(is_protected=False, original_filename="crater.jpg")
    assert not access.file_name_shown(protected, identity_shown=False)
    assert access.file_name_shown(protected, identity_shown=True)
    assert access.file_name_shown(plain, identity_shown=False)
    assert access.file_name(protected, shown=False) == access.WITHHELD_FILE_NAME
    assert access.file_name(protected, shown=True) == "interview_Amina.mp3"
    assert access.file_name(plain, access.file_name_shown(plain, False)) == "crater.jpg"


def test_custody_details_withhold_the_file_name_only():
    details = {"filename": "interview_name.mp3", "size": 1234, "media_type": "audio/mpeg"}
    assert access.custody_details(details, shown=False) == {
        "filename": access.WITHHELD_FILE_NAME,
        "size": 1234,
        "media_type": "audio/mpeg",
    }
    assert access.custody_details(details, shown=True) == details


def test_openable_items_are_the_unprotected_and_ones_own_unless_the_account_holds_the_permission(
    researcher, other_researcher, identity_holder
):
    from evidence.models import EvidenceItem

    plain = f.EvidenceItemFactory(title="plain")
    theirs = f.EvidenceItemFactory(title="theirs", is_protected=True, created_by=other_researcher)
    made = f.EvidenceItemFactory(title="made", is_protected=True, created_by=researcher)
    # Acquired by the researcher, entered by someone else: theirs to open too.
    acquired = f.EvidenceItemFactory(
        title="acquired", is_protected=True, created_by=other_researcher, acquired_by=researcher
    )
    everything = EvidenceItem.objects.all()

    def titles(user) -> set[str]:
        return set(access.openable_items(user, everything).values_list("title", flat=True))

    assert titles(researcher) == {"plain", "made", "acquired"}
    assert titles(other_researcher) == {"plain", "theirs", "acquired"}
    assert titles(identity_holder) == {"plain", "theirs", "made", "acquired"}
    assert {plain.pk, theirs.pk, made.pk, acquired.pk} == set(
        everything.values_list("pk", flat=True)
    )
