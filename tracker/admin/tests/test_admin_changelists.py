"""Every changelist issues a fixed number of queries, however many rows it shows."""

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from evidence.files import custody
from evidence.models import CustodyEvent
from tracker.models import ApiToken, Job, ReviewEvent, ReviewStatus
from tracker.tests import factories as f

# Queries per changelist page for a logged-in editor: session, user, the editor's
# permissions, the page's rows and their counts, one prefetch per many-to-many
# column, and the choices of each related-model filter. Pinned: a change that
# adds a query per row (or per page) fails here.
PINNED = {
    "tracker_attacktype": 6,
    "tracker_weapon": 6,
    "tracker_targettype": 6,
    "tracker_sourcetype": 6,
    "tracker_place": 7,
    "tracker_incident": 11,
    "tracker_force": 6,
    "tracker_unit": 7,
    "tracker_official": 7,
    "tracker_position": 7,
    "tracker_attribution": 6,
    "tracker_reviewevent": 7,
    "evidence_evidenceitem": 7,
    "evidence_witness": 6,
    "evidence_flightobservation": 6,
    "evidence_flightlog": 6,
    # the restricted codes its hashes may confirm; the page's chains (from the first event
    # a viewer may not see all of, no hash is shown: each covers the one before)
    "evidence_custodyevent": 8,
    "evidence_satelliteimage": 7,
    "evidence_testimony": 6,
    "tracker_job": 7,  # the restricted codes a bundle's incidents may name
    "tracker_apitoken": 7,
}


def add_rows(n: int, actor) -> None:
    """n rows in every table an admin changelist shows."""
    for _ in range(n):
        incident = f.IncidentFactory()
        link = f.EvidenceLinkFactory(incident=incident)
        custody.record(link.item, CustodyEvent.Action.ACQUIRED, actor=actor)
        official = f.OfficialFactory()
        f.OfficialAliasFactory(official=official)
        position = f.PositionFactory(official=official)
        f.AttributionFactory(incident=incident, unit=position.unit, official=official)
        f.TestimonyFactory()
        f.FlightObservationFactory()
        f.SatelliteImageFactory()
        Job.objects.create(kind="fixity", key=f"pinned:{incident.code}", requested_by=actor)
        ApiToken.issue(actor, name=f"laptop {incident.code}", scopes=["read"])
        ReviewEvent.objects.create(
            content_type=ContentType.objects.get_for_model(incident),
            object_id=incident.pk,
            action="submit",
            from_status=ReviewStatus.DRAFT,
            to_status=ReviewStatus.SUBMITTED,
            actor=actor,
        )


def test_every_registered_changelist_is_pinned():
    registered = {
        f"{m._meta.app_label}_{m._meta.model_name}"
        for m in admin.site._registry
        if m._meta.app_label in ("tracker", "evidence")
    }
    assert registered == set(PINNED)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_changelist_queries_do_not_grow_with_rows(name, client, editor, django_assert_num_queries):
    client.force_login(editor)
    url = reverse(f"admin:{name}_changelist")
    add_rows(2, editor)
    with django_assert_num_queries(PINNED[name]):
        small = client.get(url)
    assert small.status_code == 200
    add_rows(8, editor)
    with django_assert_num_queries(PINNED[name]):
        large = client.get(url)
    assert large.status_code == 200
    shown_small = len(small.context["cl"].result_list)
    shown_large = len(large.context["cl"].result_list)
    if name not in (
        "tracker_attacktype",
        "tracker_weapon",
        "tracker_targettype",
        "tracker_sourcetype",
    ):  # vocabularies are seeded, not added here
        assert shown_large > shown_small


def test_deep_pages_show_the_right_rows_in_order(client, editor, monkeypatch):
    """The deferred-join paginator picks a page's keys first, then loads the rows."""
    from tracker.admin.case import IncidentAdmin
    from tracker.models import Incident

    monkeypatch.setattr(IncidentAdmin, "list_per_page", 3)
    for _ in range(10):
        f.IncidentFactory()
    client.force_login(editor)
    expected = list(
        Incident.objects.order_by("-occurred_start", "-id").values_list("code", flat=True)
    )
    url = reverse("admin:tracker_incident_changelist")
    pages = [
        [i.code for i in client.get(url, {"p": n}).context["cl"].result_list] for n in (1, 2, 3, 4)
    ]
    assert pages == [expected[0:3], expected[3:6], expected[6:9], expected[9:10]]
    shown = client.get(url, {"p": 2}).content.decode()
    assert all(code in shown for code in expected[3:6])
