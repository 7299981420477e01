"""Evidence in the admin: uploads go through intake; protected identity stays hidden."""

import io

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from evidence.models import CustodyEvent, EvidenceItem
from tracker.tests import factories as f


def jpeg_bytes(colour=(120, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def upload(client, *files, kind="photo", **extra):
    return client.post(
        reverse("admin:evidence_evidenceitem_add"),
        {"files": list(files), "kind": kind, **extra},
        follow=True,
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_upload_stores_hashes_and_links(client, researcher):
    incident = f.IncidentFactory()
    client.force_login(researcher)
    response = upload(
        client,
        SimpleUploadedFile("market.jpg", jpeg_bytes(), content_type="image/jpeg"),
        incident=incident.pk,
        received_from="Field researcher, USB stick",
    )
    item = EvidenceItem.objects.get()
    assert messages_of(response) == [f"Stored market.jpg as {item.code}."]
    assert item.media_type == "image/jpeg"
    assert item.acquired_by == researcher
    assert list(item.incidents.all()) == [incident]
    assert [e.action for e in item.custody_events.all()] == [
        CustodyEvent.Action.ACQUIRED,
        CustodyEvent.Action.RECEIVED,
    ]


def test_many_files_at_once_with_one_refused(client, researcher):
    client.force_login(researcher)
    response = upload(
        client,
        SimpleUploadedFile("a.jpg", jpeg_bytes((1, 2, 3))),
        SimpleUploadedFile("b.jpg", jpeg_bytes((200, 2, 3))),
        SimpleUploadedFile("evil.jpg", b"<html><script>alert(1)</script></html>"),
    )
    assert EvidenceItem.objects.count() == 2
    refused = [m for m in messages_of(response) if m.startswith("Refused evil.jpg")]
    assert len(refused) == 1
    assert "image/jpeg" in refused[0]


def test_same_file_twice_is_linked_not_stored_again(client, researcher):
    client.force_login(researcher)
    data = jpeg_bytes()
    upload(client, SimpleUploadedFile("one.jpg", data))
    response = upload(client, SimpleUploadedFile("copy.jpg", data))
    item = EvidenceItem.objects.get()
    assert messages_of(response) == [
        f"copy.jpg is already held as {item.code}: linked, not stored again."
    ]


def test_integrity_fields_are_read_only(client, researcher):
    client.force_login(researcher)
    upload(client, SimpleUploadedFile("one.jpg", jpeg_bytes()))
    item = EvidenceItem.objects.get()
    url = reverse("admin:evidence_evidenceitem_change", args=[item.pk])
    form = client.get(url).context["adminform"].form
    for name in ("sha256", "size", "media_type", "original_path", "kind"):
        assert name not in form.fields


@pytest.fixture
def witness(db):
    return f.WitnessFactory(pseudonym="Witness K-14", real_name="Hidden Name", contact="+963 555")


def test_researcher_does_not_see_protected_identity(client, researcher, witness):
    client.force_login(researcher)
    page = client.get(reverse("admin:evidence_witness_change", args=[witness.pk]))
    body = page.content.decode()
    assert "Witness K-14" in body
    assert "Hidden Name" not in body
    assert "+963 555" not in body


def test_permission_holder_sees_protected_identity(client, researcher, witness):
    researcher.user_permissions.add(Permission.objects.get(codename="view_protected_identity"))
    client.force_login(researcher)
    page = client.get(reverse("admin:evidence_witness_change", args=[witness.pk]))
    assert "Hidden Name" in page.content.decode()


def test_no_group_holds_the_protected_identity_permission(db):
    perm = Permission.objects.get(codename="view_protected_identity")
    assert not perm.group_set.exists()
