"""The Fixity page (evidence.admin.fixity): Editors only, the pass's state and the
recent failures, in a number of queries that does not grow with the items."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from evidence.files import fixity_runs, storage
from evidence.files.tests.test_verify_evidence import flip_a_byte
from evidence.tests.files import make_jpeg
from evidence.tests.intake_helpers import ingest

pytestmark = pytest.mark.django_db

TITLE = "Interview with Umm Khaled in Saraqib"


def photos(by, n: int, start: int = 0):
    return [
        ingest(make_jpeg(colour=(5 * i, 90, 250 - 5 * i)), by=by, filename=f"IMG_{i}.jpg").item
        for i in range(start, start + n)
    ]


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(user):
    return client_of(user).get(reverse("fixity"))


def test_the_editor_sees_the_pass_and_its_failures(editor, researcher):
    sound = photos(researcher, 2)
    damaged = ingest(
        make_jpeg(colour=(7, 7, 7)), by=researcher, title=TITLE, is_protected=True
    ).item
    flip_a_byte(storage.path_of(damaged.original_path))
    response = page(editor)
    assert response.status_code == 200
    assert response.context["state"].never_checked == 3
    assert response.context["state"].last_full_pass is None

    fixity_runs.run(started=timezone.now(), budget=60)
    photos(researcher, 1, start=10)  # arrived after the pass: never checked
    response = page(editor)

    text = response.content.decode()
    state = response.context["state"]
    assert (state.items, state.never_checked, state.failing) == (4, 1, 1)
    assert state.last_full_pass is None  # one item never checked
    assert damaged.code in text
    assert reverse("admin:evidence_evidenceitem_change", args=[damaged.pk]) in text
    assert f"MISMATCH {damaged.code}" in text
    assert all(item.code not in text for item in sound)  # sound items are not listed
    assert TITLE not in text


def test_the_last_full_pass_is_the_oldest_latest_check(editor, researcher):
    photos(researcher, 2)
    started = timezone.now()
    fixity_runs.run(started=started, budget=60)
    state = page(editor).context["state"]
    assert state.never_checked == 0
    assert started <= state.last_full_pass <= timezone.now()


def test_other_roles_are_refused(researcher, reviewer):
    assert page(researcher).status_code == 403
    assert page(reviewer).status_code == 403


def test_the_admin_index_links_the_page_for_editors_only(editor, researcher):
    link = reverse("fixity")
    assert link in client_of(editor).get(reverse("admin:index")).content.decode()
    assert link not in client_of(researcher).get(reverse("admin:index")).content.decode()


def queries_of_the_page(user) -> int:
    client = client_of(user)
    client.get(reverse("fixity"))  # the session and permissions read once
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("fixity")).status_code == 200
    return len(queries)


def test_the_page_reads_a_fixed_number_of_queries(editor, researcher):
    def damage_and_check(items):
        for item in items:
            flip_a_byte(storage.path_of(item.original_path))
        fixity_runs.run(started=timezone.now(), budget=60)

    damage_and_check(photos(researcher, 2))
    few = queries_of_the_page(editor)
    damage_and_check(photos(researcher, 8, start=20))
    response = page(editor)
    assert response.context["state"].failing == 10
    assert len(response.context["failures"]) == 12  # the first two, checked in both passes
    assert queries_of_the_page(editor) == few
