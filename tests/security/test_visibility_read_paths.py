"""Issue 14, B and deliverable 1: one visibility policy on every read path.

A restricted incident (and what stands only behind it) appeared outside the filtered
lists: the review queue and the index's counts, "My work", the choices of forms and
inlines (posting its id linked a new record to it), the related-incidents inline of
another incident, review e-mails, and per-row counts. Each path now reads through
``evidence.visibility.visible_to``; these tests enumerate the paths, flight rankings
and timelines, the "view on site" redirect and near-duplicates included. The restricted
case is ``tests.security.restricted``.
"""

from __future__ import annotations

import io
import json

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import reverse

from evidence.models import EvidenceItem, EvidenceLink, Witness
from evidence.tests.test_restricted_items import named
from tests.security import restricted
from tracker import workflow
from tracker.admin.queues import my_work_for, queue_for, review_counts
from tracker.models import Attribution, Incident, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

ROLES = ("researcher", "reviewer", "editor")

case = restricted.case  # the fixture: a restricted incident and what stands behind it


def project_admins():
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in ("tracker", "evidence")
    ]


def choice_fields(form) -> list[forms.ModelChoiceField]:
    """The form's choices of records; not an inline row's own hidden key, which offers
    nothing (a row is found through the inline's queryset)."""
    own_key = form._meta.model._meta.pk.name
    return [
        field
        for name, field in form.fields.items()
        if isinstance(field, forms.ModelChoiceField)
        and not (name == own_key and field.widget.is_hidden)
    ]


def every_admin_form(user):
    """Each admin's add and change form (of a record the user may see) and each inline's
    forms, as ``(where, form)``."""
    request = RequestFactory().get("/admin/")
    request.user = user
    for model, model_admin in project_admins():
        obj = model_admin.get_queryset(request).first()
        for instance in (None, obj) if obj is not None else (None,):
            where = f"{model._meta.label} {'change' if instance else 'add'}"
            form_class = model_admin.get_form(request, instance, change=instance is not None)
            yield where, form_class(instance=instance)
            if instance is None:
                continue
            for formset_class, inline in model_admin.get_formsets_with_inlines(request, instance):
                formset = formset_class(instance=instance)
                yield f"{where} / {type(inline).__name__}", formset.empty_form
                for form in formset.forms:
                    yield f"{where} / {type(inline).__name__} row", form


@pytest.mark.parametrize("role", ROLES)
def test_no_choice_field_of_any_admin_form_or_inline_offers_a_hidden_record(role, case, request):
    user = request.getfixturevalue(role)
    leaks, offered = [], set()
    for where, form in every_admin_form(user):
        for field in choice_fields(form):
            model = field.queryset.model
            offered.add(model)
            hidden = case["hidden_rows"].get(model, set())
            shown = set(field.queryset.values_list("pk", flat=True))
            if hidden & shown:
                leaks.append(f"{where}: {model.__name__} {sorted(hidden & shown)}")
    assert not leaks, leaks
    # Not vacuous: the forms do offer incidents, evidence items and witnesses.
    assert {Incident, EvidenceItem, Witness} <= offered


def test_posting_a_hidden_incident_in_an_attribution_form_is_refused(client, editor, case):
    client.force_login(editor)
    response = client.post(
        reverse("admin:tracker_attribution_add"),
        {
            "incident": case["restricted"].pk,
            "force": f.ForceFactory().pk,
            "role": "ordered",
            "confidence": "low",
            "relied_on": "on",
            "basis": "posted",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in response.content.decode()
    assert not Attribution.objects.filter(basis="posted").exists()


def autocomplete_fields_of_project():
    for model, model_admin in project_admins():
        owners = [(model, model_admin.autocomplete_fields)]
        owners += [(inline.model, inline.autocomplete_fields) for inline in model_admin.inlines]
        for owner, names in owners:
            for name in names:
                yield owner, name


@pytest.mark.parametrize("role", ROLES)
def test_no_autocomplete_offers_a_hidden_record(client, role, case, request):
    client.force_login(request.getfixturevalue(role))
    leaks, checked = [], 0
    for owner, name in autocomplete_fields_of_project():
        response = client.get(
            reverse("admin:autocomplete"),
            {
                "app_label": owner._meta.app_label,
                "model_name": owner._meta.model_name,
                "field_name": name,
                "term": "",
            },
        )
        if response.status_code == 403:  # the role may not use this field's model
            continue
        assert response.status_code == 200, (owner, name, response.status_code)
        checked += 1
        target = owner._meta.get_field(name).related_model
        hidden = {str(pk) for pk in case["hidden_rows"].get(target, set())}
        ids = {row["id"] for row in json.loads(response.content)["results"]}
        if hidden & ids:
            leaks.append(f"{owner.__name__}.{name}: {sorted(hidden & ids)}")
    assert checked > 5
    assert not leaks, leaks


def test_the_related_incidents_inline_does_not_show_a_restricted_incident(client, editor, case):
    client.force_login(editor)
    response = client.get(reverse("admin:tracker_incident_change", args=[case["visible"].pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert case["restricted"].code not in page
    assert "SECRET" not in page


def counted(response, obj, attribute):
    return next(getattr(row, attribute) for row in response.context["cl"].result_list if row == obj)


def test_per_row_counts_count_only_visible_rows(client, editor, case):
    client.force_login(editor)
    places = client.get(reverse("admin:tracker_place_changelist"))
    assert counted(places, case["place"], "n_incidents") == 1
    items = client.get(reverse("admin:evidence_evidenceitem_changelist"))
    assert counted(items, case["shared"], "n_incidents") == 1
    witnesses = client.get(reverse("admin:evidence_witness_changelist"))
    assert case["witness"] not in witnesses.context["cl"].result_list


def test_every_count_a_holder_of_the_permission_sees_includes_restricted_rows(client, editor, case):
    editor.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    client.force_login(editor)
    places = client.get(reverse("admin:tracker_place_changelist"))
    assert counted(places, case["place"], "n_incidents") == 2


def test_queue_my_work_and_the_index_counts_hold_only_visible_records(
    client, researcher, reviewer, case
):
    queued = [r for _, qs in queue_for(reviewer) for r in qs]
    assert case["restricted"] not in queued and case["hidden"] not in queued
    assert review_counts(reviewer)["queue"] == len(queued)
    mine = [r for _, qs in my_work_for(researcher) for r in qs]
    assert not [r for r in mine if isinstance(r, Incident) and r.sensitivity == "restricted"]
    assert review_counts(researcher)["mine"] == len(mine)
    client.force_login(reviewer)
    for url in (reverse("review_queue"), reverse("my_work"), reverse("admin:index")):
        page = client.get(url).content.decode()
        assert case["restricted"].code not in page
        assert "SECRET" not in page


def test_review_mail_about_a_restricted_incident_goes_only_to_those_who_may_see_it(
    other_researcher, reviewer, editor, mailoutbox, django_capture_on_commit_callbacks
):
    reviewer.email, editor.email = "reviewer@example.org", "editor@example.org"
    reviewer.save(), editor.save()
    editor.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    incident = f.IncidentFactory(
        title="SECRET clinic", sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher
    )
    with django_capture_on_commit_callbacks(execute=True):
        workflow.transition(incident, workflow.Action.SUBMIT, by=other_researcher)
    assert [m.to for m in mailoutbox] == [["editor@example.org"]]
    mail = mailoutbox[0]
    assert incident.code in mail.subject
    assert "SECRET" not in mail.subject + mail.body


def test_the_delete_page_of_a_place_names_no_restricted_incident_and_refuses(client, editor, case):
    """Deleting a place lists the incidents that protect it: a restricted one must not be
    named there, and the deletion is refused rather than half explained."""
    client.force_login(editor)
    url = reverse("admin:tracker_place_delete", args=[case["place"].pk])
    page = client.get(url)
    assert page.status_code == 200
    assert case["restricted"].code not in page.content.decode()
    assert "SECRET" not in page.content.decode()
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert type(case["place"]).objects.filter(pk=case["place"].pk).exists()


def test_submitted_attributions_queue_for_review_unless_their_incident_is_restricted(
    client, researcher, reviewer, case
):
    visible_attribution = f.AttributionFactory(incident=case["visible"], created_by=researcher)
    hidden_attribution = f.AttributionFactory(incident=case["restricted"], created_by=researcher)
    for attribution in (visible_attribution, hidden_attribution):
        workflow.transition(attribution, workflow.Action.SUBMIT, by=researcher)
    queued = [r for _, qs in queue_for(reviewer) for r in qs]
    assert visible_attribution in queued
    assert hidden_attribution not in queued
    client.force_login(reviewer)
    page = client.get(reverse("review_queue")).content.decode()
    assert case["visible"].code in page
    assert case["restricted"].code not in page


# --- Flight logs behind a restricted incident -----------------------------------------------


@pytest.fixture
def hidden_flights(other_researcher):
    """A spotter log imported for a restricted incident only, and a visible strike at the
    time of its first row."""
    named(other_researcher)
    from datetime import datetime, timedelta, timezone

    from evidence.flights import flightlog
    from evidence.flights.tests.flightlog_helpers import EXAMPLE

    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    log = flightlog.import_flight_log(
        io.BytesIO(EXAMPLE.encode()),
        filename="spotter.csv",
        by=other_researcher,
        incident=restricted,
        time_zone="Asia/Damascus",
    ).log
    strike = f.IncidentFactory(
        title="Open strike",
        occurred_start=datetime(2019, 5, 13, 9, 45, tzinfo=timezone(timedelta(hours=3))),
        start_precision="minute",
    )
    return {"log": log, "strike": strike, "observation": log.observations.order_by("pk").first()}


def test_rankings_and_timelines_show_no_observation_of_a_hidden_log(
    client, researcher, reviewer, hidden_flights
):
    from evidence.flights import ranking

    strike, log = hidden_flights["strike"], hidden_flights["log"]
    assert ranking.candidates(strike, viewer=None)  # the operator's command sees the rows
    assert ranking.candidates(strike, viewer=researcher) == []
    client.force_login(reviewer)
    for url in (
        reverse("incidents:detail", args=[strike.code]),
        reverse("admin:tracker_incident_change", args=[strike.pk]),
        reverse("admin:evidence_flightobservation_candidates", args=[strike.pk]),
        reverse("admin:evidence_flightobservation_candidates", args=[strike.pk]) + "?part=1",
        reverse("admin:evidence_flightobservation_timeline") + "?day=2019-05-13",
        reverse("admin:evidence_flightobservation_timeline"),
    ):
        page = client.get(url).content.decode()
        assert log.item.code not in page, url
        assert "Su-24" not in page, url


def test_a_reviewer_cannot_confirm_a_hidden_observation_into_a_visible_incident(
    client, reviewer, hidden_flights
):
    strike, observation = hidden_flights["strike"], hidden_flights["observation"]
    client.force_login(reviewer)
    response = client.post(
        reverse("admin:evidence_flightobservation_confirm", args=[strike.pk]),
        {"flight_match_observation": observation.pk},
        follow=True,
    )
    assert hidden_flights["log"].item.code not in response.content.decode()
    assert not EvidenceLink.objects.filter(incident=strike).exists()


def test_the_view_on_site_redirect_tells_no_restricted_id_from_a_missing_one(
    client, researcher, case
):
    from django.contrib.contenttypes.models import ContentType

    client.force_login(researcher)
    incident_type = ContentType.objects.get_for_model(Incident).pk
    item_type = ContentType.objects.get_for_model(EvidenceItem).pk
    assert client.get(f"/admin/r/{incident_type}/{case['visible'].pk}/").status_code == 302
    assert client.get(f"/admin/r/{incident_type}/{case['restricted'].pk}/").status_code == 404
    assert client.get(f"/admin/r/{incident_type}/999999/").status_code == 404
    assert client.get(f"/admin/r/{item_type}/{case['hidden'].pk}/").status_code == 404


def test_near_duplicates_name_no_hidden_item(client, researcher, case):
    case["shared"].near_duplicates.add(case["hidden"])
    client.force_login(researcher)
    page = client.get(reverse("admin:evidence_evidenceitem_change", args=[case["shared"].pk]))
    assert page.status_code == 200
    assert case["hidden"].code not in page.content.decode()
