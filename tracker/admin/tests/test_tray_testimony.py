"""A testimony in one form from the incident's tray (tracker.admin.tray_testimony)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence.forms import FILE_AGAIN, NewTestimonyForm
from evidence.models import EvidenceItem, EvidenceLink, Witness
from evidence.models import Testimony as Told  # not "Test…": pytest would collect it
from tracker.models import Incident, ReviewStatus, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db
TRANSCRIPT = b"Interview transcript.\nThe jets came from the north at dawn.\n"


def url(incident):
    return reverse("admin:tracker_incident_tray_testimony", args=[incident.pk])


@pytest.fixture
def incident(researcher):
    return f.IncidentFactory(created_by=researcher)


def data(**extra):
    return {
        "transcript": SimpleUploadedFile("interview.txt", TRANSCRIPT),
        "pseudonym": "Witness K-14",
        "role": "survivor",
        "real_name": "Real Name Of The Witness",
        "contact": "+963 000 000",
        "interview_date": "2019-05-20",
        "method": "phone",
        "language": "Arabic",
        "interviewer": "Team member A",
        "summary": "Saw two jets at dawn.",
        "consent_given": "on",
        "consent_quote": "on",
        "is_protected": "on",
        **extra,
    }


def nothing_stored():
    return not (EvidenceItem.objects.exists() or Witness.objects.exists() or Told.objects.exists())


def test_the_tray_offers_the_one_form(client, researcher, incident):
    client.force_login(researcher)
    page = client.get(reverse("admin:tracker_incident_change", args=[incident.pk]))
    assert url(incident) in page.content.decode()
    form = client.get(url(incident)).content.decode()
    for label in ("Transcript", "Witness", "Interview", "Consent", "May share with courts"):
        assert label in form


def test_one_form_stores_the_item_the_witness_and_the_testimony(client, researcher, incident):
    client.force_login(researcher)
    answer = client.post(url(incident), data())
    assert answer.status_code == 302 and answer.url.endswith("#tray")
    item = EvidenceItem.objects.get()
    assert item.kind == EvidenceItem.Kind.TESTIMONY and item.is_protected
    assert item.title == "Testimony of Witness K-14"  # no identity in the title
    assert EvidenceLink.objects.filter(item=item, incident=incident).exists()
    told = Told.objects.get(item=item)
    assert told.witness.real_name == "Real Name Of The Witness"
    assert (told.method, told.consent_given, told.consent_quote) == ("phone", True, True)


def test_a_known_witness_is_chosen_by_pseudonym(client, researcher, incident):
    known = f.WitnessFactory(pseudonym="Witness B-2")
    client.force_login(researcher)
    client.post(url(incident), data(witness=known.pk, pseudonym="", real_name=""))
    assert Told.objects.get().witness == known and Witness.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pseudonym": ""}, "Choose the witness, or name a new one below."),
        ({"consent_given": ""}, "A consent scope needs consent to have been given."),
        ({"interview_date": (date.today() + timedelta(days=2)).isoformat()}, "in the future"),
        ({"interview_date": "20-05-2019x"}, "Enter a valid date."),
        ({"method": "telepathy"}, "Select a valid choice"),
        ({"transcript": SimpleUploadedFile("empty.txt", b"")}, "The submitted file is empty."),
        (
            {"transcript": SimpleUploadedFile("x.exe", b"MZ\x90\x00\x03")},
            "A testimony must be one of",
        ),
        ({"summary": ""}, "This field is required."),
    ],
)
def test_a_refused_form_stores_nothing(client, researcher, incident, change, message):
    client.force_login(researcher)
    answer = client.post(url(incident), data(**change))
    assert answer.status_code == 200 and message in answer.content.decode()
    assert nothing_stored()


def test_both_a_known_and_a_new_witness_is_refused(client, researcher, incident):
    known = f.WitnessFactory(pseudonym="Witness B-2")
    client.force_login(researcher)
    answer = client.post(url(incident), data(witness=known.pk))
    assert "not both" in answer.content.decode() and not EvidenceItem.objects.exists()


def test_a_transcript_already_holding_a_testimony_is_refused_and_the_witness_not_kept(
    client, researcher, incident
):
    client.force_login(researcher)
    client.post(url(incident), data())
    answer = client.post(url(incident), data(pseudonym="Witness Z-9"))
    assert "with its own testimony" in answer.content.decode()
    assert not Witness.objects.filter(pseudonym="Witness Z-9").exists()
    assert Told.objects.count() == 1


def test_a_witness_the_user_may_not_see_is_not_a_choice(client, researcher, incident):
    secret = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    hidden_item = f.EvidenceItemFactory(kind=EvidenceItem.Kind.TESTIMONY)
    EvidenceLink.objects.create(item=hidden_item, incident=secret)
    hidden = f.WitnessFactory(pseudonym="Witness H-1")
    f.TestimonyFactory(item=hidden_item, witness=hidden)
    client.force_login(researcher)
    assert "Witness H-1" not in client.get(url(incident)).content.decode()
    answer = client.post(url(incident), data(witness=hidden.pk, pseudonym=""))
    assert "Select a valid choice" in answer.content.decode()


def test_a_locked_incident_takes_no_testimony(client, editor, incident):
    Incident.objects.filter(pk=incident.pk).update(status=ReviewStatus.PUBLISHED)
    client.force_login(editor)
    assert client.get(url(incident)).status_code == 403
    assert client.post(url(incident), data()).status_code == 403
    assert nothing_stored()


def test_a_restricted_incident_is_not_there(client, researcher):
    secret = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    client.force_login(researcher)
    assert client.post(url(secret), data()).status_code == 404
    assert nothing_stored()


def test_after_an_error_the_transcript_is_kept_for_its_sender_only(
    client, researcher, other_researcher, incident
):
    """A form refused for another field (no summary) shows the transcript as kept: sent
    again with the token alone, it is stored, and the held copy is gone. Another user
    sending the same token claims nothing."""
    client.force_login(researcher)
    first = client.post(url(incident), data(summary=""))
    assert first.status_code == 200 and nothing_stored()
    form = first.context["form"]
    token = form.kept.token
    body = first.content.decode()
    assert f'name="held" value="{token}"' in body
    assert "Kept from your last attempt: <strong>interview.txt</strong>" in body
    # Someone else's post with the token: no file, nothing stored.
    incident.created_by = other_researcher  # so that the other researcher sees it too
    incident.save()
    client.force_login(other_researcher)
    stolen = client.post(url(incident), data(transcript="", held=token))
    assert stolen.status_code == 200 and nothing_stored()
    assert stolen.context["form"].errors["transcript"] == [FILE_AGAIN]
    incident.created_by = researcher
    incident.save()
    client.force_login(researcher)
    again = client.post(url(incident), data(transcript="", held=token))
    assert again.status_code == 302, again.context["form"].errors
    item = EvidenceItem.objects.get()
    assert item.original_filename == "interview.txt"
    assert form.kept.path.exists() is False  # released once stored


def test_a_token_no_longer_held_asks_for_the_file_again(client, researcher, incident):
    client.force_login(researcher)
    answer = client.post(url(incident), data(transcript="", held="forged"))
    assert answer.status_code == 200 and nothing_stored()
    assert answer.context["form"].errors["transcript"] == [FILE_AGAIN]


def test_a_file_the_intake_refuses_is_not_kept_to_be_sent_again(client, researcher, incident):
    client.force_login(researcher)
    answer = client.post(url(incident), data(transcript=SimpleUploadedFile("empty.txt", b"")))
    assert answer.status_code == 200 and nothing_stored()
    form = answer.context["form"]
    assert form.errors["transcript"] and form.kept is None
    assert 'name="held" value=' not in answer.content.decode()  # no token to send back
    assert not list((Path(settings.DATA_DIR) / "staging").glob("*"))


def test_a_held_file_gone_before_it_is_read_asks_for_it_again(client, researcher, incident):
    client.force_login(researcher)
    token = client.post(url(incident), data(summary="")).context["form"].kept.token
    form = NewTestimonyForm(data(transcript="", held=token), {}, user=researcher)
    assert form.is_valid(), form.errors
    form.kept.path.unlink()  # released by the same form sent twice, say
    with pytest.raises(ValidationError, match="no longer held"), form.source():
        pass
