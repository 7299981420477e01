"""The flight-log upload form keeps its file across an error (``evidence.files.held``):
the form comes back with the file held for its sender, the file goes through the intake
only once the form is valid, and the held copy is removed once it is imported."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence.files import storage
from evidence.flights.tests.flightlog_helpers import EXAMPLE
from evidence.forms import FILE_AGAIN
from evidence.models import CustodyEvent, EvidenceItem, FlightLog

pytestmark = pytest.mark.django_db

ADD = reverse("admin:evidence_flightlog_add")


def csv_upload(text: str = EXAMPLE, name: str = "spotters.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def staged() -> list[str]:
    folder = storage.root() / "staging"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def token_of(response) -> str:
    match = re.search(
        r'<input type="hidden" name="held" value="([^"]+)"', response.content.decode()
    )
    assert match, "the form carries no held file"
    return match[1]


def test_a_file_refused_for_want_of_a_zone_is_imported_once_the_zone_is_given(
    client, researcher, django_capture_on_commit_callbacks
):
    client.force_login(researcher)
    # Row 2 of the example is written without an offset: no zone given, the file is refused.
    first = client.post(ADD, {"file": csv_upload()})
    assert first.status_code == 200
    assert not EvidenceItem.objects.exists()  # nothing went through the intake
    assert "Kept from your last attempt: <strong>spotters.csv</strong>" in first.content.decode()
    [kept] = staged()

    # Sent again with the zone and no file chosen: the held file is imported.
    with django_capture_on_commit_callbacks(execute=True):  # the original is placed on commit
        second = client.post(ADD, {"held": token_of(first), "time_zone": "Asia/Damascus"})

    log = FlightLog.objects.select_related("item").get()
    assert second.status_code == 302
    assert second["Location"] == reverse("admin:evidence_flightlog_change", args=[log.pk])
    assert log.row_count == 2 and log.item.original_filename == "spotters.csv"
    assert storage.sha256_of(storage.path_of(log.item.original_path)) == log.item.sha256
    assert [e.action for e in CustodyEvent.objects.filter(item=log.item)] == [
        "acquired",
        "received",
    ]  # one intake
    assert staged() == []  # the held copy is gone, and so is the intake's own


def test_a_form_error_keeps_the_file_and_nothing_reaches_the_intake(
    client, researcher, django_capture_on_commit_callbacks
):
    client.force_login(researcher)
    first = client.post(ADD, {"file": csv_upload(), "time_zone": "Asia/Atlantis"})

    assert "time_zone" in first.context["form"].errors
    assert not EvidenceItem.objects.exists()
    assert len(staged()) == 1

    with django_capture_on_commit_callbacks(execute=True):
        client.post(ADD, {"held": token_of(first), "time_zone": "UTC"})
    assert FlightLog.objects.get().row_count == 2
    assert staged() == []


def test_a_new_file_chosen_replaces_the_held_one(client, researcher):
    client.force_login(researcher)
    first = client.post(ADD, {"file": csv_upload(name="old.csv")})
    [old] = staged()

    second = client.post(ADD, {"held": token_of(first), "file": csv_upload(name="new.csv")})

    assert old not in staged() and len(staged()) == 1
    assert "<strong>new.csv</strong>" in second.content.decode()


def test_another_user_s_token_holds_nothing_for_them(client, researcher, other_researcher):
    client.force_login(researcher)
    token = token_of(client.post(ADD, {"file": csv_upload()}))
    client.force_login(other_researcher)

    response = client.post(ADD, {"held": token, "time_zone": "UTC"})

    assert response.context["form"].errors["file"] == [FILE_AGAIN]
    assert not EvidenceItem.objects.exists()
    assert len(staged()) == 1  # still the sender's


def test_a_forged_token_points_at_no_file(client, researcher):
    client.force_login(researcher)
    first = client.post(ADD, {"file": csv_upload()})
    # The same signature over a payload naming another file of the staging area.
    other = storage.stage(io.BytesIO(b"someone else's upload")).path.name
    payload, stamp, signature = token_of(first).split(":")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["file"] = other
    altered = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    forged = f"{altered}:{stamp}:{signature}"

    response = client.post(ADD, {"held": forged, "time_zone": "UTC"})

    assert response.context["form"].errors["file"] == [FILE_AGAIN]
    assert not EvidenceItem.objects.exists()


def test_without_a_file_or_a_held_one_the_file_is_required(client, researcher):
    client.force_login(researcher)
    response = client.post(ADD, {"time_zone": "UTC"})
    assert response.context["form"].errors["file"] == ["This field is required."]


def test_the_held_file_s_name_is_escaped(client, researcher):
    client.force_login(researcher)
    response = client.post(ADD, {"file": csv_upload(name="<img src=x onerror=alert(1)>.csv")})
    page = response.content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;.csv" in page


def test_a_token_used_once_holds_nothing_afterwards(client, researcher):
    client.force_login(researcher)
    token = token_of(client.post(ADD, {"file": csv_upload()}))
    client.post(ADD, {"held": token, "time_zone": "UTC"})
    assert FlightLog.objects.count() == 1

    again = client.post(ADD, {"held": token, "time_zone": "UTC"})

    assert again.context["form"].errors["file"] == [FILE_AGAIN]
