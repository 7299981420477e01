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
