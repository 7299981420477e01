"""Admin lists written once a page, not through widget templates a row: the rows' action
boxes are Django's own, character for character, whatever the record's name."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.options import ModelAdmin as DjangoModelAdmin
from django.contrib.admin.views.main import ChangeList as DjangoChangeList
from django.urls import reverse

from evidence.models import EvidenceItem
from tracker.models import Incident
from tracker.tests.factories import EvidenceItemFactory, IncidentFactory

pytestmark = pytest.mark.django_db

HOSTILE = "A <b>\"quoted\"</b> & 'title' <script>alert(1)</script>"


@pytest.mark.parametrize("model", [Incident, EvidenceItem])
def test_the_action_box_is_django_s_own_for_any_name(model):
    row = (
        IncidentFactory(title=HOSTILE) if model is Incident else EvidenceItemFactory(title=HOSTILE)
    )
    ours = admin.site._registry[model]
    written = ours.action_checkbox(row)
    assert written == DjangoModelAdmin.action_checkbox(ours, row)
    assert "<script>" not in written and "&lt;script&gt;" in written


def test_a_list_renders_no_widget_template_per_row(client, editor):
    for _ in range(5):
        IncidentFactory()
    client.force_login(editor)
    response = client.get(reverse("admin:tracker_incident_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="action-select"') == Incident.objects.count()
    names = [t.name for t in response.templates]
    assert names.count("django/forms/widgets/checkbox.html") == 0


@pytest.mark.parametrize("model", [Incident, EvidenceItem])
def test_each_row_links_to_its_own_change_page_as_django_links_it(rf, editor, model):
    rows = (
        [IncidentFactory() for _ in range(3)]
        if model is Incident
        else [EvidenceItemFactory() for _ in range(3)]
    )
    request = rf.get("/")
    request.user = editor
    listed = admin.site._registry[model].get_changelist_instance(request)
    for row in rows:
        mine = listed.url_for_result(row)
        assert mine == DjangoChangeList.url_for_result(listed, row)
        assert mine == reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[row.pk]
        )


def test_the_list_page_links_every_row(client, editor):
    made = [IncidentFactory() for _ in range(3)]
    client.force_login(editor)
    html = client.get(reverse("admin:tracker_incident_changelist")).content.decode()
    for row in made:
        assert f'href="{reverse("admin:tracker_incident_change", args=[row.pk])}"' in html
