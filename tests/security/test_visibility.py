"""Issue 14, B and deliverable 1: one visibility policy on every read path.

A restricted incident (and what stands only behind it) appeared outside the filtered
lists: the review queue and the index's counts, "My work", the choices of forms and
inlines (posting its id linked a new record to it), the related-incidents inline of
another incident, review e-mails, and per-row counts. Each path now reads through
``evidence.visibility.visible_to``; these tests enumerate the paths.
"""

from __future__ import annotations

import io
import json

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import m2m_changed
from django.test import RequestFactory
from django.urls import reverse

from evidence import intake, visibility
from evidence import models as evidence_models
from evidence.models import CustodyEvent, EvidenceItem, EvidenceLink, Witness
from evidence.tests.files import make_jpeg
from evidence.tests.test_restricted_items import named
from evidence.visibility import may_see, visible_to
from tracker import workflow
from tracker.access import VIEW_RESTRICTED
from tracker.admin.review import my_work_for, queue_for, review_counts
from tracker.models import Attribution, Incident, IncidentRelation, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

ROLES = ("researcher", "reviewer", "editor")


def ingest(by, incident, colour):
    return intake.ingest(
        io.BytesIO(make_jpeg(colour=colour)),
        filename="strike.jpg",
        kind="photo",
        by=by,
        incident=incident,
    ).item


@pytest.fixture
def case(researcher, other_researcher, reviewer, editor):
    named(other_researcher)  # the author of the restricted incident may see it
    place = f.PlaceFactory(name="SAMPLE Maarat")
    restricted = f.IncidentFactory(
        title="SECRET strike on the clinic",
        sensitivity=Sensitivity.RESTRICTED,
        created_by=other_researcher,
        place=place,
    )
    mine_restricted = f.IncidentFactory(
        title="SECRET draft of mine", sensitivity=Sensitivity.RESTRICTED, created_by=researcher
    )
    visible = f.IncidentFactory(title="Open strike on the bakery", place=place)
    hidden = ingest(other_researcher, restricted, (200, 30, 30))
    shared = ingest(other_researcher, visible, (30, 200, 30))
    EvidenceLink.objects.create(item=shared, incident=restricted)
    witness = f.WitnessFactory(pseudonym="SECRET witness W")
    f.TestimonyFactory(item=hidden, witness=witness)
    attribution = f.AttributionFactory(incident=restricted, basis="SECRET basis")
    attribution.supporting_evidence.add(hidden)
    f.AttributionFactory(incident=visible)
    relation = IncidentRelation.objects.create(
        from_incident=visible, to_incident=restricted, kind=IncidentRelation.Kind.FOLLOW_UP
    )
    workflow.transition(hidden, workflow.Action.SUBMIT, by=other_researcher)
    workflow.transition(restricted, workflow.Action.SUBMIT, by=other_researcher)
    hidden_rows = {
        Incident: {restricted.pk, mine_restricted.pk},
        EvidenceItem: {hidden.pk},
        Attribution: {attribution.pk},
        Witness: {witness.pk},
        EvidenceLink: set(restricted.evidence_links.values_list("pk", flat=True)),
        IncidentRelation: {relation.pk},
        CustodyEvent: set(hidden.custody_events.values_list("pk", flat=True)),
        evidence_models.Testimony: set(
            evidence_models.Testimony.objects.filter(item=hidden).values_list("pk", flat=True)
        ),
    }
    return {
        "place": place,
        "restricted": restricted,
        "visible": visible,
        "hidden": hidden,
        "shared": shared,
        "witness": witness,
        "hidden_rows": hidden_rows,
    }


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


def test_the_policy_governs_every_record_about_a_restricted_incident(researcher, case):
    for model, hidden in case["hidden_rows"].items():
        shown = set(visible_to(researcher, model.objects.all()).values_list("pk", flat=True))
        assert not hidden & shown, model
    assert not may_see(researcher, case["restricted"])
    assert may_see(researcher, case["visible"])


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


# --- No hidden record inside a visible one ---------------------------------------------------


@pytest.fixture
def cleared_editor(editor):
    editor.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    return type(editor).objects.get(pk=editor.pk)


def test_a_hidden_item_cannot_support_an_attribution_the_team_sees(client, cleared_editor, case):
    """Someone who may see it could name it as support on a visible incident: its code and
    preview would then show to the team, and any save by a colleague would drop it."""
    from django.core.exceptions import ValidationError

    attribution = f.AttributionFactory(incident=case["visible"], created_by=cleared_editor)
    from django.db import transaction

    with pytest.raises(ValidationError, match=case["hidden"].code), transaction.atomic():
        attribution.supporting_evidence.add(case["hidden"])
    with pytest.raises(ValidationError), transaction.atomic():
        case["hidden"].attributions.add(attribution)
    client.force_login(cleared_editor)
    url = reverse("admin:tracker_attribution_change", args=[attribution.pk])
    response = client.post(
        url,
        {
            "incident": case["visible"].pk,
            "force": attribution.force_id or "",
            "unit": attribution.unit_id or "",
            "official": attribution.official_id or "",
            "role": attribution.role,
            "confidence": attribution.confidence,
            "relied_on": "on",
            "basis": "x",
            "supporting_evidence": [case["hidden"].pk],
        },
    )
    assert response.status_code == 200
    assert "stands only behind restricted incidents" in response.content.decode()
    assert not attribution.supporting_evidence.exists()
    # Linked to the visible incident first, it is part of the team's case: then it may.
    EvidenceLink.objects.create(item=case["hidden"], incident=case["visible"])
    attribution.supporting_evidence.add(case["hidden"])


def test_a_hidden_scene_cannot_be_the_before_image_of_one_the_team_sees(case, researcher):
    from django.core.exceptions import ValidationError

    hidden_scene = f.SatelliteImageFactory(item=case["hidden"])
    open_scene = f.SatelliteImageFactory(item=case["shared"])
    open_scene.before = hidden_scene
    with pytest.raises(ValidationError, match=case["hidden"].code):
        open_scene.full_clean()


# --- Mutation survivors (make mutate) ---------------------------------------------------------


@pytest.fixture
def every_rule(other_researcher):
    """For each model the policy governs (``visibility.RULES``), the keys of rows that
    stand only behind a restricted incident (``hidden``) and of rows of the team's case
    (``open``). The open side is made first, so that no key of a hidden row equals a
    hidden item's key by chance (a rule filtering by the wrong field would go unseen)."""
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from evidence.files import custody
    from evidence.models import Derivative, FlightMatch, PhotoMetadata
    from tracker.models import ReviewEvent

    named(other_researcher)
    visible = f.IncidentFactory(title="Open strike on the bakery")
    other_visible = f.IncidentFactory(title="Open strike on the mill")
    restricted = f.IncidentFactory(
        title="SECRET strike", sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher
    )
    rows = {model: {"hidden": set(), "open": set()} for model in visibility.RULES}

    def add(side, *records):
        for record in records:
            rows[type(record)][side].add(record.pk)

    def review_event(record):
        return ReviewEvent.objects.create(
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            action="submit",
            from_status="draft",
            to_status="submitted",
            actor=other_researcher,
        )

    def item(kind, incident):
        made = f.EvidenceItemFactory(kind=kind)
        link = EvidenceLink.objects.create(item=made, incident=incident)
        return made, link

    observations = {}
    for side, incident in (("open", visible), ("hidden", restricted)):
        photo, link = item(EvidenceItem.Kind.PHOTO, incident)
        add(side, photo, link, custody.record(photo, "acquired", actor=other_researcher))
        add(side, PhotoMetadata.objects.create(item=photo, width=64, height=48))
        add(
            side,
            Derivative.objects.create(
                item=photo, kind="thumbnail", path="x", width=64, height=48, sha256="0" * 64
            ),
        )
        scene, link = item(EvidenceItem.Kind.SATELLITE, incident)
        add(side, scene, link, f.SatelliteImageFactory(item=scene))
        statement, link = item(EvidenceItem.Kind.TESTIMONY, incident)
        witness = f.WitnessFactory(pseudonym=f"{side} witness")
        add(side, statement, link, witness, f.TestimonyFactory(item=statement, witness=witness))
        spotted, link = item(EvidenceItem.Kind.FLIGHT_LOG, incident)
        log = f.FlightLogFactory(item=spotted)
        observations[side] = f.FlightObservationFactory(log=log)
        add(side, spotted, link, log, observations[side])
        attribution = f.AttributionFactory(incident=incident)
        add(side, attribution, review_event(incident), review_event(attribution))
        add(side, review_event(photo))
    add("open", visible, other_visible)
    add("hidden", restricted)
    # Records about the restricted incident hide, even of an open observation or item.
    for side, incident in (("open", visible), ("hidden", restricted)):
        match = FlightMatch.objects.create(
            observation=observations["open"],
            incident=incident,
            score=0.5,
            reasons="time",
            confirmed_by=other_researcher,
            confirmed_at=timezone.now(),
        )
        add(side, match)
    shared = EvidenceItem.objects.get(pk=min(rows[EvidenceItem]["open"]))
    add("hidden", EvidenceLink.objects.create(item=shared, incident=restricted))
    follow_up = IncidentRelation.Kind.FOLLOW_UP
    relation = IncidentRelation.objects.create
    add("open", relation(from_incident=visible, to_incident=other_visible, kind=follow_up))
    add("hidden", relation(from_incident=visible, to_incident=restricted, kind=follow_up))
    add("hidden", relation(from_incident=restricted, to_incident=visible, kind=follow_up))
    # A witness heard in a hidden and in an open testimony stays open; so does one not
    # heard yet in any.
    both = f.WitnessFactory(pseudonym="witness of both")
    add("open", both, f.WitnessFactory(pseudonym="witness not heard yet"))
    for side, incident in (("hidden", restricted), ("open", visible)):
        statement, link = item(EvidenceItem.Kind.TESTIMONY, incident)
        add(side, statement, link, f.TestimonyFactory(item=statement, witness=both))
    return rows


def shown_to(user, model) -> set[int]:
    return set(visible_to(user, model.objects.all()).values_list("pk", flat=True))


def test_every_governed_model_hides_from_the_team_what_stands_only_behind_restricted_incidents(
    researcher, every_rule
):
    """Each rule of ``visibility.RULES``, by its own field: the hidden rows are gone, every
    open row is kept (a rule filtering nothing, or by the wrong field, fails here)."""
    for model, rows in every_rule.items():
        assert rows["hidden"] and rows["open"], f"no example of {model.__name__}"
        shown = shown_to(researcher, model)
        assert not rows["hidden"] & shown, f"{model.__name__} shows hidden rows"
        assert rows["open"] <= shown, f"{model.__name__} hides open rows"
        for side, hidden in (("hidden", True), ("open", False)):
            for pk in rows[side]:
                record = model.objects.get(pk=pk)
                assert may_see(researcher, record) is not hidden, (model.__name__, pk)
                assert visibility.is_hidden_from_some(record) is hidden, (model.__name__, pk)


def test_every_governed_model_shows_every_row_to_a_holder_of_the_restricted_permission(
    editor, every_rule
):
    named(editor)
    for model, rows in every_rule.items():
        assert rows["hidden"] | rows["open"] <= shown_to(editor, model), model.__name__
        for pk in rows["hidden"]:
            assert may_see(editor, model.objects.get(pk=pk)), (model.__name__, pk)


def unused_scene_key() -> int:
    """A key no satellite image and no evidence item has."""
    from django.db.models import Max

    from evidence.models import SatelliteImage

    highest = [
        m.objects.aggregate(top=Max("pk"))["top"] or 0 for m in (SatelliteImage, EvidenceItem)
    ]
    return max(highest) + 1


def before_refusal(scene) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        visibility.check_before(scene)
    return refused.value.message_dict


def test_a_hidden_before_image_is_refused_on_its_field_naming_its_code_and_the_scene_s_incident(
    case,
):
    """The "before" image is judged by its item (whatever the scene's own key), and the
    refusal stands on the form's ``before`` field, naming the hidden item's code."""
    hidden_scene = f.SatelliteImageFactory(item=case["hidden"], pk=unused_scene_key())
    open_scene = f.SatelliteImageFactory(item=case["shared"], before=None)
    open_scene.before = hidden_scene
    errors = before_refusal(open_scene)
    assert list(errors) == ["before"]
    [message] = errors["before"]
    assert message.startswith(f"{case['hidden'].code} stands only behind restricted incidents")
    assert "link it to this scene's incident first" in message


def test_a_hidden_before_image_of_a_scene_not_yet_saved_with_its_item_names_an_incident(case):
    """On the add page of a satellite item the scene has no item yet: the refusal then
    asks to link the before image to an incident (the scene has none to name)."""
    from evidence.models import SatelliteImage

    hidden_scene = f.SatelliteImageFactory(item=case["hidden"], pk=unused_scene_key())
    new_scene = SatelliteImage(provider="Imagery provider", before=hidden_scene)
    errors = before_refusal(new_scene)
    assert list(errors) == ["before"]
    [message] = errors["before"]
    assert message.startswith(f"{case['hidden'].code} stands only behind restricted incidents")
    assert "link it to an incident first" in message


@pytest.fixture
def m2m_receivers():
    """The receivers of ``m2m_changed`` as they were, back after the test."""
    with m2m_changed.lock:
        saved = list(m2m_changed.receivers)
    yield
    with m2m_changed.lock:
        m2m_changed.receivers = saved
        m2m_changed.sender_receivers_cache.clear()


def test_connect_installs_the_support_check_on_supporting_evidence_once_under_its_name(
    case, m2m_receivers
):
    """``connect`` puts the support check on the supporting-evidence relation only, once
    however often it is called, under the name ``visibility_support`` (by which it can be
    found and switched off)."""
    through = Attribution.supporting_evidence.through
    assert m2m_changed.disconnect(sender=through, dispatch_uid="visibility_support")
    attribution = f.AttributionFactory(incident=case["visible"])
    with transaction.atomic():  # unchecked now: the hidden item is accepted
        attribution.supporting_evidence.add(case["hidden"])
        transaction.set_rollback(True)
    visibility.connect()
    visibility.connect()
    with pytest.raises(ValidationError, match=case["hidden"].code), transaction.atomic():
        attribution.supporting_evidence.add(case["hidden"])
    # Another many-to-many relation is none of its business.
    case["shared"].near_duplicates.add(case["hidden"])
    assert case["hidden"] in case["shared"].near_duplicates.all()
    # One receiver, found by its name: removed, nothing checks any more.
    assert m2m_changed.disconnect(sender=through, dispatch_uid="visibility_support")
    attribution.supporting_evidence.add(case["hidden"])
    assert case["hidden"] in attribution.supporting_evidence.all()


@pytest.fixture
def all_receivers():
    """The receivers of the model signals as they were, back after the test."""
    from django.db.models.signals import post_delete, post_save, pre_save

    signals = (m2m_changed, pre_save, post_save, post_delete)
    saved = {}
    for signal in signals:
        with signal.lock:
            saved[signal] = list(signal.receivers)
    yield
    for signal in signals:
        with signal.lock:
            signal.receivers = saved[signal]
            signal.sender_receivers_cache.clear()


def test_connect_installs_each_disclosure_check_once_under_its_name(all_receivers):
    """Each receiver of the rule from the other side can be found (and switched off) by
    its name, and is installed once however often ``connect`` runs."""
    from django.db.models.signals import post_delete, post_save, pre_save

    named = [
        (pre_save, EvidenceLink, "visibility_link_pre"),
        (post_save, EvidenceLink, "visibility_link_save"),
        (post_delete, EvidenceLink, "visibility_link_del"),
        (m2m_changed, EvidenceLink, "visibility_link_add"),
        (post_save, Incident, "visibility_incident"),
        (post_save, Attribution, "visibility_attr"),
    ]
    visibility.connect()
    for signal, sender, uid in named:
        before = len(signal._live_receivers(sender)[0])
        assert signal.disconnect(sender=sender, dispatch_uid=uid), uid
        assert len(signal._live_receivers(sender)[0]) == before - 1, uid
        assert not signal.disconnect(sender=sender, dispatch_uid=uid), uid  # it was one


def test_may_see_costs_no_query_for_a_record_no_rule_governs_nor_for_a_holder(
    researcher, editor, case, django_assert_num_queries
):
    """``may_see`` asks the database only when a rule may hide the record (the admin asks
    it for every row of a page)."""
    named(editor)
    editor.has_perm(VIEW_RESTRICTED)  # the permission cache, loaded once per request
    researcher.has_perm(VIEW_RESTRICTED)
    with django_assert_num_queries(0):
        assert may_see(researcher, case["place"])
        assert may_see(editor, case["restricted"])
    assert not visibility.is_hidden_from_some(case["place"])


def test_review_events_hide_by_the_record_they_are_about_not_by_its_key_alone(
    researcher, other_researcher
):
    """An event is hidden when the record it is about (its model, in its app, and key) is:
    an event about another record with the same key (of another model, in the same app
    or not, or of a model of the same name in another app) stays."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Max

    from tracker.models import ReviewEvent

    named(other_researcher)
    tables = (Incident, Attribution, EvidenceItem)
    k = 1 + max(m.objects.aggregate(top=Max("pk"))["top"] or 0 for m in tables)
    keys = {"incident": k, "attribution": k + 1, "evidenceitem": k + 2}
    visible = f.IncidentFactory(pk=k + 3)
    restricted = f.IncidentFactory(
        pk=keys["incident"], sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher
    )
    hidden_records = [
        restricted,
        f.AttributionFactory(pk=keys["attribution"], incident=restricted),
        EvidenceLink.objects.create(
            item=f.EvidenceItemFactory(pk=keys["evidenceitem"]), incident=restricted
        ).item,
    ]
    # Open records of the other two models under each hidden record's key.
    open_records = [
        f.IncidentFactory(pk=keys["attribution"]),
        f.IncidentFactory(pk=keys["evidenceitem"]),
        f.AttributionFactory(pk=keys["incident"], incident=visible),
        f.AttributionFactory(pk=keys["evidenceitem"], incident=visible),
        EvidenceLink.objects.create(
            item=f.EvidenceItemFactory(pk=keys["incident"]), incident=visible
        ).item,
        EvidenceLink.objects.create(
            item=f.EvidenceItemFactory(pk=keys["attribution"]), incident=visible
        ).item,
    ]

    def event(content_type, object_id):
        return ReviewEvent.objects.create(
            content_type=content_type,
            object_id=object_id,
            action="submit",
            from_status="draft",
            to_status="submitted",
            actor=other_researcher,
        ).pk

    get_type = ContentType.objects.get_for_model
    hidden = {event(get_type(r), r.pk) for r in hidden_records}
    kept = {event(get_type(r), r.pk) for r in open_records}
    for model, pk in keys.items():  # a model of the same name in another app
        kept.add(event(ContentType.objects.create(app_label="archive", model=model), pk))
    for model in (Witness, evidence_models.Testimony):  # other models of the item's app
        kept.add(event(get_type(model), keys["evidenceitem"]))
    shown = set(visible_to(researcher, ReviewEvent.objects.all()).values_list("pk", flat=True))
    assert not hidden & shown
    assert kept <= shown


def test_a_refused_support_names_every_hidden_item_in_code_order_and_the_incident(case):
    """The refusal lists the items that stand only behind restricted incidents (not the
    others), by code, joined with ", ", and names the incident to link them to."""
    second = ingest(case["hidden"].created_by, case["restricted"], (90, 90, 200))
    codes = sorted([case["hidden"].code, second.code])
    with pytest.raises(ValidationError) as refused:
        visibility.check_support(
            case["visible"].pk, [second.pk, case["shared"].pk, case["hidden"].pk]
        )
    [message] = refused.value.messages
    assert message.startswith(f"{codes[0]}, {codes[1]} stands only behind restricted incidents")
    assert case["shared"].code not in message
    assert f"link it to {case['visible'].code} first" in message


def test_support_of_an_attribution_with_no_incident_yet_is_checked_once_it_has_one(case):
    """On an incident's add page its attributions have no incident yet: nothing to refuse
    then; the support is refused when the saved attribution is given it."""
    assert visibility.check_support(None, [case["hidden"].pk]) is None
    attribution = f.AttributionFactory(incident=case["visible"])
    with pytest.raises(ValidationError), transaction.atomic():
        attribution.supporting_evidence.add(case["hidden"])
    assert not attribution.supporting_evidence.exists()


def test_a_hidden_item_can_always_be_removed_from_the_support_of_a_visible_attribution(case):
    """Only additions are checked: support recorded before the rule (or by an operator)
    can be taken away, from either side, and cleared."""
    attribution = f.AttributionFactory(incident=case["visible"])
    through = Attribution.supporting_evidence.through
    old = {"attribution": attribution, "evidenceitem": case["hidden"]}
    through.objects.create(**old)  # written around the check, as a legacy row
    attribution.supporting_evidence.remove(case["hidden"])
    assert not attribution.supporting_evidence.exists()
    through.objects.create(**old)
    case["hidden"].attributions.remove(attribution)
    through.objects.create(**old)
    attribution.supporting_evidence.clear()
    assert not attribution.supporting_evidence.exists()


def new_incident_with_attribution(client, case, sensitivity: str, items):
    """The incident add page posted with one attribution inline citing ``items``."""
    from tracker.admin.tests.test_admin_forms import form_data

    url = reverse("admin:tracker_incident_add")
    data = form_data(client.get(url))
    [total] = [k for k in data if k.endswith("-TOTAL_FORMS") and "attribution" in k.lower()]
    row = total.removesuffix("TOTAL_FORMS") + "0-"
    data.update(
        {
            "title": "New strike",
            "occurred_start_0": "2019-05-13",
            "occurred_start_1": "09:45",
            "start_precision": "minute",
            "location_precision": "town",
            "sensitivity": sensitivity,
            "place": case["place"].pk,
            total: 1,
            row + "unit": f.UnitFactory().pk,
            row + "role": "direct",
            row + "confidence": "low",
            row + "relied_on": "on",
            row + "basis": "posted",
            row + "supporting_evidence": [item.pk for item in items],
        }
    )
    return client.post(url, data)


def test_a_new_incident_s_attribution_cannot_cite_a_hidden_item_unless_it_is_restricted(
    client, cleared_editor, case
):
    """Found through the mutants of ``check_support`` (no incident yet): on the add page
    the refusal came only from the save, as a server error. It is now the form's, by the
    sensitivity the new incident is given."""
    items = [case["hidden"], ingest(case["hidden"].created_by, case["restricted"], (9, 9, 9))]
    client.force_login(cleared_editor)
    client.raise_request_exception = False
    response = new_incident_with_attribution(client, case, "normal", items)
    assert response.status_code == 200
    page = response.content.decode()
    codes = ", ".join(sorted(item.code for item in items))
    assert f"{codes} stands only behind restricted incidents" in page
    assert "link it to this incident first" in page
    assert not Incident.objects.filter(title="New strike").exists()
    response = new_incident_with_attribution(client, case, "restricted", items)
    assert response.status_code == 302
    incident = Incident.objects.get(title="New strike")
    assert set(incident.attributions.get().supporting_evidence.all()) == set(items)


def test_a_stranger_sees_no_incident_and_the_team_no_restricted_one_but_its_named_people_do(
    researcher, outsider, editor
):
    """``tracker.access`` on its own, whoever calls it: no incident at all (not even a
    normal one) for an anonymous visitor, an account without ``view_incident`` or an
    inactive one; normal ones for the team; restricted ones for their named people."""
    from django.contrib.auth.models import AnonymousUser

    from tracker import access as incidents

    normal = f.IncidentFactory()
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    gone = type(researcher).objects.create_user("gone", is_staff=True, is_active=False)
    gone.groups.set(researcher.groups.all())
    for stranger in (None, AnonymousUser(), outsider, gone):
        assert not incidents.may_browse(stranger), stranger
        assert not incidents.visible_incidents(stranger).exists(), stranger
        if stranger is not None:
            assert not incidents.can_view_incident(stranger, normal), stranger
    assert incidents.may_browse(researcher)
    assert set(incidents.visible_incidents(researcher)) == {normal}
    assert incidents.can_view_incident(researcher, normal)
    assert not incidents.can_view_incident(researcher, restricted)
    named(editor)
    assert set(incidents.visible_incidents(editor)) == {normal, restricted}
    assert incidents.can_view_incident(editor, restricted)
    assert incidents.restricted_incidents().get() == restricted


# --- The same rule from the other side: no write may leave a hidden item named by a record
# the team sees (evidence.visibility.check_disclosed). Each write rolls back whole.


def cited_by_visible_attribution(case, *, linked: bool = True):
    """The hidden item, also linked to the visible incident (so it is visible) when
    ``linked``, and cited by an attribution of the visible incident."""
    link = None
    if linked:
        link = EvidenceLink.objects.create(item=case["hidden"], incident=case["visible"])
    attribution = f.AttributionFactory(incident=case["visible"])
    attribution.supporting_evidence.add(case["hidden"])  # allowed: the team sees it
    return link, attribution


def refused(write) -> str:
    with pytest.raises(visibility.Undisclosed) as caught, transaction.atomic():
        write()
    return " ".join(caught.value.messages)


def test_removing_the_open_link_of_a_cited_item_is_refused_and_the_link_stays(
    client, researcher, case
):
    link, attribution = cited_by_visible_attribution(case)
    message = refused(link.delete)
    code = case["visible"].code
    assert message.startswith(f"Refused: {case['hidden'].code} would then stand only behind")
    assert f"{code}'s attribution to {attribution}" in message
    assert EvidenceLink.objects.filter(pk=link.pk).exists()
    assert may_see(researcher, case["hidden"])


def test_removing_it_through_the_many_to_many_managers_is_refused_too(case):
    link, _ = cited_by_visible_attribution(case)
    refused(lambda: case["visible"].evidence.remove(case["hidden"]))
    refused(lambda: case["hidden"].incidents.remove(case["visible"]))
    refused(lambda: EvidenceLink.objects.filter(pk=link.pk).delete())
    assert EvidenceLink.objects.filter(pk=link.pk).exists()


def test_moving_the_open_link_to_another_item_is_refused(case):
    link, _ = cited_by_visible_attribution(case)
    link.item = f.EvidenceItemFactory()
    refused(link.save)
    assert EvidenceLink.objects.get(pk=link.pk).item == case["hidden"]


def test_removing_every_link_is_allowed_the_item_then_belongs_to_no_incident(case):
    """An item on no incident is not hidden: nothing is disclosed."""
    _, attribution = cited_by_visible_attribution(case)
    case["hidden"].incidents.clear()
    assert not visibility.is_hidden_from_some(case["hidden"])
    assert case["hidden"] in attribution.supporting_evidence.all()


def test_a_link_that_is_not_the_last_open_one_goes(case):
    link, attribution = cited_by_visible_attribution(case)
    EvidenceLink.objects.create(item=case["hidden"], incident=f.IncidentFactory())
    link.delete()
    assert case["hidden"] in attribution.supporting_evidence.all()


def test_deleting_the_incident_whose_own_attribution_cites_the_item_is_allowed(case):
    """The attribution goes with the incident: nothing visible names the item after."""
    link, attribution = cited_by_visible_attribution(case)
    case["visible"].delete()
    assert not Attribution.objects.filter(pk=attribution.pk).exists()
    assert not EvidenceLink.objects.filter(pk=link.pk).exists()


def test_deleting_the_incident_is_refused_when_another_visible_incident_cites_the_item(case):
    link, _ = cited_by_visible_attribution(case)
    other = f.AttributionFactory(incident=f.IncidentFactory())
    other.supporting_evidence.add(case["hidden"])  # allowed: the item is visible
    assert f"{other.incident.code}'s attribution" in refused(case["visible"].delete)
    assert Incident.objects.filter(pk=case["visible"].pk).exists()


def test_deleting_several_incidents_at_once_counts_the_attributions_going_with_them(case):
    link, attribution = cited_by_visible_attribution(case)
    Incident.objects.filter(pk=case["visible"].pk).delete()
    assert not Attribution.objects.filter(pk=attribution.pk).exists()


def test_opening_a_restricted_incident_whose_attribution_cites_a_hidden_item_is_refused(
    researcher, other_researcher, case
):
    second = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    attribution = f.AttributionFactory(incident=second)
    attribution.supporting_evidence.add(case["hidden"])  # allowed: both restricted
    second.sensitivity = Sensitivity.NORMAL
    assert f"{second.code}'s attribution" in refused(second.save)
    second.refresh_from_db()
    assert second.sensitivity == Sensitivity.RESTRICTED
    cited = visible_to(researcher, Attribution.objects.filter(pk=attribution.pk)).values_list(
        "supporting_evidence", flat=True
    )
    assert case["hidden"].pk not in set(cited)


def test_opening_it_is_allowed_once_the_item_is_linked_to_it(other_researcher, case):
    """Linking the item to the incident is the step that shows it to the team."""
    second = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    attribution = f.AttributionFactory(incident=second)
    attribution.supporting_evidence.add(case["hidden"])
    EvidenceLink.objects.create(item=case["hidden"], incident=second)
    second.sensitivity = Sensitivity.NORMAL
    second.save(update_fields=["sensitivity"])
    assert not visibility.is_hidden_from_some(case["hidden"])


def test_restricting_the_incident_that_shows_a_cited_item_is_refused(case):
    """The visible incident is the item's only open link; another incident's attribution
    cites it: restricting the first would hide it from the team reading the second."""
    link, _ = cited_by_visible_attribution(case)
    other = f.AttributionFactory(incident=f.IncidentFactory())
    other.supporting_evidence.add(case["hidden"])
    case["visible"].sensitivity = Sensitivity.RESTRICTED
    assert f"{other.incident.code}'s attribution" in refused(case["visible"].save)
    assert Incident.objects.get(pk=case["visible"].pk).sensitivity == Sensitivity.NORMAL


def test_an_unrelated_save_of_the_incident_is_not_checked(case):
    """The workflow's saves name their fields: no check when the sensitivity is not one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cited_by_visible_attribution(case)
    table = Attribution.supporting_evidence.through._meta.db_table
    for fields, checked in ((["title"], False), (["sensitivity"], True), (None, True)):
        with CaptureQueriesContext(connection) as queries:
            case["visible"].save(update_fields=fields)
        assert any(table in q["sql"] for q in queries.captured_queries) is checked, fields


def test_linking_a_cited_unlinked_item_only_to_a_restricted_incident_is_refused(
    researcher, other_researcher, case
):
    loose = intake.ingest(
        io.BytesIO(make_jpeg(colour=(9, 9, 200))), filename="x.jpg", kind="photo", by=researcher
    ).item
    attribution = f.AttributionFactory(incident=case["visible"])
    attribution.supporting_evidence.add(loose)  # an item on no incident is visible
    refused(lambda: case["restricted"].evidence.add(loose))
    refused(lambda: loose.incidents.add(case["restricted"]))
    refused(lambda: EvidenceLink.objects.create(item=loose, incident=case["restricted"]))
    assert not loose.links.exists()
    # The same bytes sent again for the restricted incident: refused as an upload error.
    with pytest.raises(intake.IntakeError, match="would then stand only behind"):
        intake.ingest(
            io.BytesIO(make_jpeg(colour=(9, 9, 200))),
            filename="again.jpg",
            kind="photo",
            by=other_researcher,
            incident=case["restricted"],
        )
    assert not loose.links.exists()


def test_moving_an_attribution_that_cites_a_hidden_item_to_a_visible_incident_is_refused(case):
    [attribution] = Attribution.objects.filter(incident=case["restricted"])
    assert case["hidden"] in attribution.supporting_evidence.all()
    attribution.incident = case["visible"]
    refused(attribution.save)
    assert Attribution.objects.get(pk=attribution.pk).incident == case["restricted"]


def test_showing_a_scene_whose_before_image_is_hidden_is_refused(case):
    """A scene behind restricted incidents may name a hidden "before" image; linking the
    scene to an incident the team sees would show that image with it."""
    hidden_scene = f.SatelliteImageFactory(item=case["hidden"], pk=unused_scene_key())
    scene_item = f.EvidenceItemFactory(kind=EvidenceItem.Kind.SATELLITE)
    EvidenceLink.objects.create(item=scene_item, incident=case["restricted"])
    scene = f.SatelliteImageFactory(item=scene_item, before=hidden_scene)  # both hidden
    message = refused(
        lambda: EvidenceLink.objects.create(item=scene_item, incident=case["visible"])
    )
    assert f"the scene {scene.item.code}" in message
    assert case["hidden"].code in message
    assert not scene_item.links.filter(incident=case["visible"]).exists()


def test_hiding_the_before_image_of_a_visible_scene_is_refused(case):
    link = EvidenceLink.objects.create(item=case["hidden"], incident=case["visible"])
    before = f.SatelliteImageFactory(item=case["hidden"], pk=unused_scene_key())
    f.SatelliteImageFactory(item=case["shared"], before=before)  # allowed: both visible
    refused(link.delete)


def test_the_incident_page_answers_a_refused_opening_with_its_message_not_an_error(
    client, other_researcher, case
):
    from tests.security.test_locks import change_url, save_page

    second = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    f.AttributionFactory(incident=second).supporting_evidence.add(case["hidden"])
    client.force_login(other_researcher)

    def open_it(data):
        data["sensitivity"] = [Sensitivity.NORMAL]

    answer = save_page(client, change_url(second), open_it)
    assert answer.status_code == 302
    page = client.get(answer.url).content.decode()
    assert "Not saved: Refused:" in page
    assert Incident.objects.get(pk=second.pk).sensitivity == Sensitivity.RESTRICTED


def test_the_incident_page_answers_a_refused_removal_with_its_message_not_an_error(
    client, researcher, case
):
    from tests.security.test_locks import change_url, row_of, save_page

    link, _ = cited_by_visible_attribution(case)
    incident = case["visible"]
    incident.created_by = researcher
    incident.save(update_fields=["created_by"])
    client.force_login(researcher)

    def untick(data):
        data[f"{row_of(data, 'evidence_links', link.pk)}DELETE"] = ["on"]

    answer = save_page(client, change_url(incident), untick)
    assert answer.status_code == 302
    assert answer.url == change_url(incident)
    page = client.get(answer.url).content.decode()
    assert "Not saved: Refused:" in page
    assert EvidenceLink.objects.filter(pk=link.pk).exists()
