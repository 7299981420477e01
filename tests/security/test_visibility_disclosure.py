"""The visibility rule from the other side (``evidence.visibility.check_disclosed``):
no write may leave a hidden item named by a record the team sees.

Removing or moving the last open link of a cited item (by the ORM or the many-to-many
managers), deleting an incident whose item another visible incident cites, opening or
restricting an incident, linking a cited item only to a restricted incident (intake
included), moving an attribution, showing a scene whose "before" image is hidden: each
is refused and rolls back whole, and the incident's page answers with the message,
not an error. What discloses nothing goes through. ``visibility.connect`` installs
each check once, under its name. The restricted case is ``tests.security.restricted``.
"""

from __future__ import annotations

import io

import pytest
from django.db import transaction
from django.db.models.signals import m2m_changed

from evidence import intake, visibility
from evidence.models import EvidenceItem, EvidenceLink
from evidence.tests.files import make_jpeg
from evidence.visibility import may_see, visible_to
from tests.security import restricted
from tests.security.restricted import unused_scene_key
from tracker.models import Attribution, Incident, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

case = restricted.case  # the fixture: a restricted incident and what stands behind it


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
    installed = {
        (signal, sender): len(signal._live_receivers(sender)[0]) for signal, sender, _ in named
    }
    for signal, sender, uid in named:  # what start-up installed, found by its name
        assert signal.disconnect(sender=sender, dispatch_uid=uid), uid
    visibility.connect()
    visibility.connect()
    for signal, sender, uid in named:
        assert len(signal._live_receivers(sender)[0]) == installed[(signal, sender)], uid
    for signal, sender, uid in named:
        before = len(signal._live_receivers(sender)[0])
        assert signal.disconnect(sender=sender, dispatch_uid=uid), uid
        assert len(signal._live_receivers(sender)[0]) == before - 1, uid
        assert not signal.disconnect(sender=sender, dispatch_uid=uid), uid  # it was one


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
    cited_by_visible_attribution(case)
    for fields, checked in ((["title"], False), (["sensitivity"], True), (None, True)):
        save = lambda fields=fields: case["visible"].save(update_fields=fields)  # noqa: E731
        assert (_support_queries(save) > 0) is checked, fields


def test_a_new_incident_is_not_checked(case):
    """A new incident has no attributions or links yet: its first save looks for none."""
    cited_by_visible_attribution(case)
    new = f.IncidentFactory.build(sensitivity=Sensitivity.RESTRICTED, place=f.PlaceFactory())
    assert _support_queries(new.save) == 0
    assert Incident.objects.filter(pk=new.pk).exists()


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
    from tests.security.pages import change_url, save_page

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
    from django.urls import reverse

    from tests.security.pages import change_url

    link, _ = cited_by_visible_attribution(case)
    incident = case["visible"]
    incident.created_by = researcher
    incident.save(update_fields=["created_by"])
    client.force_login(researcher)
    # Evidence is unlinked from the incident's page through its tray (tracker.admin.tray).
    act = reverse("admin:tracker_incident_tray_act", args=[incident.pk])
    answer = client.post(act, {"link": link.pk, "action": "unlink"})
    assert answer.status_code == 302
    assert answer.url == change_url(incident) + "#tray"
    page = client.get(answer.url).content.decode()
    assert "Refused:" in page and case["hidden"].code in page
    assert EvidenceLink.objects.filter(pk=link.pk).exists()


def _support_queries(write) -> int:
    """How many of ``write``'s queries look for hidden items in the supporting evidence
    (the history's own reading of the supporting evidence does not count)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    tables = (Attribution.supporting_evidence.through._meta.db_table, "evidence_evidencelink")
    with CaptureQueriesContext(connection) as queries:
        write()
    return sum(all(t in q["sql"] for t in tables) for q in queries.captured_queries)


def test_an_attribution_is_checked_when_its_incident_may_have_changed_only(case):
    """A new attribution cites nothing yet; a save naming its fields is checked only when
    they include the incident (the workflow saves the status alone)."""
    new = f.AttributionFactory.build(incident=case["visible"], unit=f.UnitFactory())
    assert _support_queries(new.save) == 0
    [attribution] = Attribution.objects.filter(incident=case["restricted"])
    assert _support_queries(lambda: attribution.save(update_fields=["basis"])) == 0
    attribution.incident = case["visible"]
    refused(lambda: attribution.save(update_fields=["incident"]))
    assert Attribution.objects.get(pk=attribution.pk).incident == case["restricted"]


def _cite_unchecked(attribution, *items) -> None:
    """Rows of the supporting evidence written past every check (as old data may hold)."""
    through = Attribution.supporting_evidence.through
    through.objects.bulk_create(
        [through(attribution=attribution, evidenceitem=item) for item in items]
    )


def test_the_refusal_names_the_first_hidden_item_by_code_and_its_first_citing_attribution(
    case,
):
    author = case["restricted"].created_by
    second_hidden = restricted.ingest(author, case["restricted"], (7, 7, 7))
    first, second, third = (f.AttributionFactory(incident=case["visible"]) for _ in range(3))
    _cite_unchecked(first, second_hidden)  # the first attribution, the later item
    _cite_unchecked(third, case["hidden"])  # written before the second's row
    _cite_unchecked(second, case["hidden"])
    items = [second_hidden.pk, case["hidden"].pk]
    with pytest.raises(visibility.Undisclosed) as caught:
        visibility.check_disclosed(items=items)
    message = " ".join(caught.value.messages)
    assert message.startswith(f"Refused: {case['hidden'].code} would then")
    assert f"{case['visible'].code}'s attribution to {second}" in message


def test_an_incident_is_checked_when_its_sensitivity_may_have_changed_only(case):
    """A new incident has no links or attributions yet; a save naming its fields is
    checked only when they include the sensitivity (the workflow saves the status alone)."""
    new = f.IncidentFactory.build(place=case["visible"].place)
    assert _support_queries(new.save) == 0
    incident = case["visible"]
    assert _support_queries(lambda: incident.save(update_fields=["title"])) == 0
    assert _support_queries(lambda: incident.save(update_fields=["sensitivity"])) > 0
    assert _support_queries(incident.save) > 0
