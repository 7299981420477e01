"""No hidden record inside a visible one (``evidence.visibility.check_support`` and
``check_before``).

An item that stands only behind restricted incidents cannot support an attribution the
team sees, nor be the "before" image of a scene the team sees: its code and preview
would show to the team, and any save by a colleague would drop it. The refusal names
the hidden items and the incident to link them to, on the form's field; removing such
support is always allowed; ``visibility.connect`` installs the check once, under its
name. Several of these were found as mutation survivors (``make mutate``). The
restricted case is ``tests.security.restricted``.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import m2m_changed
from django.urls import reverse

from evidence import visibility
from evidence.models import EvidenceLink
from tests.security import restricted
from tests.security.restricted import ingest, unused_scene_key
from tracker.models import Attribution, Incident
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

case = restricted.case  # the fixture: a restricted incident and what stands behind it


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
