"""The upload page as the "+" pop-up beside an item field, and opened from an incident:
no dead ends (the item comes back to the row; the incident is already chosen)."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence.forms import UploadForm
from evidence.models import EvidenceItem
from evidence.tests.files import make_jpeg
from tracker.models import Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db
ADD = reverse("admin:evidence_evidenceitem_add")


def popup_post(client, *files, **extra):
    data = {"files": list(files), "kind": "photo", "_popup": "1", "_to_field": "id", **extra}
    return client.post(f"{ADD}?_to_field=id&_popup=1", data)


def handed_back(response) -> dict:
    """What the pop-up hands back to the row (Django's popup_response page)."""
    match = re.search(r'data-popup-response="([^"]*)"', response.content.decode())
    assert match, response.content.decode()[:500]
    return json.loads(match.group(1).replace("&quot;", '"'))


def test_the_popup_form_keeps_its_popup_fields(client, researcher):
    client.force_login(researcher)
    page = client.get(f"{ADD}?_to_field=id&_popup=1").content.decode()
    assert 'name="_popup" value="1"' in page and 'name="_to_field" value="id"' in page


def test_an_upload_in_the_popup_fills_the_row(client, researcher):
    client.force_login(researcher)
    answer = popup_post(client, SimpleUploadedFile("street.jpg", make_jpeg()))
    assert answer.status_code == 200
    item = EvidenceItem.objects.get()
    assert handed_back(answer)["value"] == str(item.pk)


def test_a_file_already_held_hands_back_the_item_holding_it(client, researcher):
    client.force_login(researcher)
    data = make_jpeg()
    first = handed_back(popup_post(client, SimpleUploadedFile("a.jpg", data)))
    again = handed_back(popup_post(client, SimpleUploadedFile("b.jpg", data)))
    assert again["value"] == first["value"] and EvidenceItem.objects.count() == 1


def test_two_files_in_the_popup_are_refused_and_nothing_is_stored(client, researcher):
    client.force_login(researcher)
    answer = popup_post(
        client,
        SimpleUploadedFile("a.jpg", make_jpeg()),
        SimpleUploadedFile("b.jpg", make_jpeg(colour=(10, 200, 10))),
    )
    assert answer.status_code == 200 and UploadForm.ONE_FILE in answer.content.decode()
    assert not EvidenceItem.objects.exists()


@pytest.mark.parametrize("field", ["original_filename", "sha256", "nonsense"])
def test_a_forged_to_field_is_refused(client, researcher, field):
    client.force_login(researcher)
    answer = popup_post(client, SimpleUploadedFile("a.jpg", make_jpeg()), _to_field=field)
    assert answer.status_code == 400
    assert not EvidenceItem.objects.exists()


def test_opened_from_an_incident_the_incident_is_chosen(client, researcher):
    incident = f.IncidentFactory(created_by=researcher)
    client.force_login(researcher)
    page = client.get(f"{ADD}?incident={incident.pk}").content.decode()
    assert re.search(rf'<option value="{incident.pk}" selected>', page)


def test_a_restricted_incident_is_not_chosen_for_those_who_may_not_see_it(client, researcher):
    hidden = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, title="SECRET clinic")
    client.force_login(researcher)
    page = client.get(f"{ADD}?incident={hidden.pk}").content.decode()
    choices = re.search(r'<select name="incident".*?</select>', page, re.S).group(0)
    assert "SECRET" not in page and f'value="{hidden.pk}"' not in choices
    for bad in ("x", "-1", "9" * 30):
        assert client.get(ADD, {"incident": bad}).status_code == 200
    assert client.get(ADD, {"incident": "1\x00"}).status_code == 400  # refused on arrival


# --- Files kept across an error ----------------------------------------------------------------


def held_tokens(response) -> list[str]:
    return re.findall(r'name="held" value="([^"]+)"', response.content.decode())


def test_after_an_error_the_files_are_kept_and_need_not_be_chosen_again(client, researcher):
    from tracker.models import Incident, ReviewStatus

    locked = f.IncidentFactory(created_by=researcher)
    Incident.objects.filter(pk=locked.pk).update(status=ReviewStatus.VERIFIED)
    open_one = f.IncidentFactory(created_by=researcher)
    client.force_login(researcher)
    files = [SimpleUploadedFile(f"p{n}.jpg", make_jpeg(colour=(n * 40, 9, 9))) for n in (1, 2)]
    first = client.post(ADD, {"files": files, "kind": "photo", "incident": locked.pk})
    assert first.status_code == 200 and not EvidenceItem.objects.exists()
    tokens = held_tokens(first)
    assert len(tokens) == 2 and "Kept from your last attempt: p1.jpg, p2.jpg" in (
        first.content.decode()
    )
    second = client.post(
        ADD, {"held": tokens, "kind": "photo", "incident": open_one.pk}, follow=True
    )
    assert second.status_code == 200
    stored = EvidenceItem.objects.order_by("code")
    assert [i.original_filename for i in stored] == ["p1.jpg", "p2.jpg"]
    assert all(i.links.filter(incident=open_one).exists() for i in stored)


def test_the_names_of_kept_files_are_shown_as_text(client, researcher):
    client.force_login(researcher)
    name = "<img src=x onerror=alert(1)>.jpg"
    first = client.post(ADD, {"files": [SimpleUploadedFile(name, make_jpeg())], "kind": "x"})
    assert first.status_code == 200 and len(held_tokens(first)) == 1
    page = first.content.decode()
    assert "<img src=x onerror" not in page
    assert "Kept from your last attempt: &lt;img src=x onerror=alert(1)&gt;.jpg" in page


def test_kept_files_are_the_senders_only(client, researcher, other_researcher):
    client.force_login(researcher)
    answer = client.post(
        ADD, {"files": [SimpleUploadedFile("p.jpg", make_jpeg())], "kind": "nonsense"}
    )
    [token] = held_tokens(answer)
    client.force_login(other_researcher)
    stolen = client.post(ADD, {"held": [token], "kind": "photo"})
    assert "Choose at least one file." in stolen.content.decode()
    forged = client.post(ADD, {"held": ["x" * 60, token + "x"], "kind": "photo"})
    assert "Choose at least one file." in forged.content.decode()
    assert not EvidenceItem.objects.exists()
