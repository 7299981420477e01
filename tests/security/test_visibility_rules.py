"""The visibility policy itself (``evidence.visibility``, and ``tracker.access`` for
incidents), on its own, whoever calls it.

Each rule of ``visibility.RULES`` hides from the team what stands only behind
restricted incidents, by its own field, keeps every open row, and shows everything to a
holder of the permission; ``may_see`` asks the database only when a rule may hide the
record; review events hide by the record they are about; a stranger sees no incident
at all. Several of these were found as mutation survivors (``make mutate``). The
restricted case is ``tests.security.restricted``.
"""

from __future__ import annotations

import pytest

from evidence import models as evidence_models
from evidence import visibility
from evidence.models import EvidenceItem, EvidenceLink, Witness
from evidence.tests.test_restricted_items import named
from evidence.visibility import may_see, visible_to
from tests.security import restricted
from tracker.access import VIEW_RESTRICTED
from tracker.models import Attribution, Incident, IncidentRelation, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

case = restricted.case  # the fixture: a restricted incident and what stands behind it


def test_the_policy_governs_every_record_about_a_restricted_incident(researcher, case):
    for model, hidden in case["hidden_rows"].items():
        shown = set(visible_to(researcher, model.objects.all()).values_list("pk", flat=True))
        assert not hidden & shown, model
    assert not may_see(researcher, case["restricted"])
    assert may_see(researcher, case["visible"])


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
    from evidence.models import (
        AudioMetadata,
        Derivative,
        FlightMatch,
        PhotoMetadata,
        VideoMetadata,
        WebCapture,
    )
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
        clip, link = item(EvidenceItem.Kind.VIDEO, incident)
        add(side, clip, link, VideoMetadata.objects.create(item=clip, location_text="+35+36/"))
        page, link = item(EvidenceItem.Kind.WEB_CAPTURE, incident)
        seen = WebCapture.objects.create(
            item=page, url=f"https://example.org/{side}", captured_at=timezone.now()
        )
        add(side, page, link, seen)
        sound, link = item(EvidenceItem.Kind.AUDIO, incident)
        add(side, sound, link, AudioMetadata.objects.create(item=sound, duration=4.0))
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
    # A job names its target by code: an incident's or an item's.
    from tracker.models import Job

    for side, incident in (("open", visible), ("hidden", restricted)):
        photo = EvidenceItem.objects.get(pk=min(rows[EvidenceItem][side]))
        for code in (incident.code, photo.code):
            add(side, Job.objects.create(kind="fixity", target=code, key=f"rule:{code}"))
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
