"""One-click commander attributions: the incident's page offers each commander of its
chain as a button (to whoever may edit the incident), and one click attributes the
incident to that official as commander, once (``attribute_command``); an official
outside the chain, a GET, nonsense or a user without the right are refused. The
``tree`` of units is ``conftest.py``'s.
"""

import pytest
from django.urls import reverse

from tracker.models import Attribution
from tracker.responsibility.chain import attribute_command
from tracker.responsibility.tests.chains import incident, posting
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


# --- One-click commander attributions --------------------------------------------------------


@pytest.fixture
def attributed(tree):
    commander = posting("Brigade Commander", tree["brigade"], "2018").official
    head = posting("Head of State", tree["hq"], "2000").official
    strike = incident("2019-05-03 06:50", unit=tree["brigade"])
    return strike, tree["brigade"], commander, head


def test_attribute_command_adds_a_commander_attribution_once(attributed, editor):
    strike, brigade, commander, _ = attributed

    made, created = attribute_command(strike, official=commander, unit=brigade, by=editor)
    again, created_again = attribute_command(strike, official=commander, unit=brigade, by=editor)

    assert (created, created_again, again) == (True, False, made)
    assert (made.role, made.official, made.unit, made.created_by) == (
        Attribution.Role.COMMANDER,
        commander,
        None,
        editor,
    )
    assert "Commander of 71st Brigade" in made.basis and "certain" in made.basis


def test_attribute_command_refuses_an_official_outside_the_chain(attributed, editor):
    strike, brigade, _, _ = attributed
    stranger = f.OfficialFactory(name="Stranger")
    with pytest.raises(ValueError, match="Stranger held no command over 71st Brigade"):
        attribute_command(strike, official=stranger, unit=brigade, by=editor)
    assert not Attribution.objects.filter(official=stranger).exists()


def test_incident_page_offers_the_chain_as_buttons(client, editor, attributed):
    strike, brigade, commander, head = attributed
    client.force_login(editor)
    page = client.get(reverse("admin:tracker_incident_change", args=[strike.pk])).content.decode()
    action = reverse("incident_add_commander", args=[strike.pk])
    for official in (commander, head):
        assert f'data-add-commander="{action}" data-unit="{brigade.pk}" ' in page
        assert f'data-official="{official.pk}"' in page
        assert reverse("officials:dossier", args=[official.pk]) in page
    # Buttons, not submit buttons: Enter in the incident form never triggers one.
    assert 'type="button" class="button" data-add-commander' in page


def test_one_click_adds_the_attribution_and_returns_to_the_incident(client, editor, attributed):
    strike, brigade, commander, _ = attributed
    client.force_login(editor)
    url = reverse("incident_add_commander", args=[strike.pk])

    response = client.post(url, {"unit": brigade.pk, "official": commander.pk})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:tracker_incident_change", args=[strike.pk])
    attribution = Attribution.objects.get(incident=strike, official=commander)
    assert attribution.role == Attribution.Role.COMMANDER
    page = client.get(response["Location"]).content.decode()
    assert "attributed as commander" in page


def test_one_click_needs_permission_to_add_attributions(client, attributed):
    strike, brigade, commander, _ = attributed
    staff = f.UserFactory(username="staff-without-roles")
    client.force_login(staff)
    url = reverse("incident_add_commander", args=[strike.pk])
    assert client.post(url, {"unit": brigade.pk, "official": commander.pk}).status_code == 403
    assert not Attribution.objects.filter(official=commander).exists()


def test_one_click_refuses_get_and_nonsense(client, editor, attributed):
    strike, brigade, _, _ = attributed
    client.force_login(editor)
    url = reverse("incident_add_commander", args=[strike.pk])
    assert client.get(url).status_code == 405
    response = client.post(url, {"unit": brigade.pk, "official": "x'; DROP TABLE"}, follow=True)
    assert "Choose a unit and an official from the suggestions." in response.content.decode()
    assert Attribution.objects.filter(incident=strike).count() == 1


def test_no_buttons_for_someone_who_may_not_edit_the_incident(client, researcher, attributed):
    strike = attributed[0]  # created by nobody: a researcher may look, not edit
    client.force_login(researcher)
    page = client.get(reverse("admin:tracker_incident_change", args=[strike.pk])).content.decode()
    assert "Brigade Commander" in page
    assert "data-add-commander" not in page
