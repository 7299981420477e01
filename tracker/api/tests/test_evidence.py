"""Evidence through the API: what a caller may know of an item (protected identity
absent, not null; hidden items 404), its custody log, and uploads through the intake
with the intake's own refusals, duplicates and set-aside copies."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evidence import intake
from evidence.files import custody
from evidence.models import EvidenceItem
from evidence.tests.files import make_bomb_png, make_jpeg
from evidence.tests.intake_helpers import assert_nothing_stored
from evidence.tests.test_restricted_items import named
from tracker.api.tests.calls import problem, stored, token_client
from tracker.models import ApiToken, ReviewStatus, Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db
LIST = "/api/evidence/"
STREAM = "/api/evidence/stream/"


def upload(client, data: bytes, name: str = "IMG_0001.jpg", **fields):
    return client.post(LIST, {"file": SimpleUploadedFile(name, data), **fields})


def streamed(client, data: bytes, name: str = "IMG_0001.jpg", **fields):
    query = urlencode({"filename": name, **fields})
    media = "application/octet-stream"
    empty = {} if data else {"CONTENT_TYPE": media, "CONTENT_LENGTH": "0"}  # as a client sends
    return client.post(f"{STREAM}?{query}", data, content_type=media, **empty)


# Both ways to upload, each held to the same answers.
SENDS = pytest.mark.parametrize("send", [upload, streamed], ids=["form", "streamed"])


# --- What a caller may know ---------------------------------------------------------------


def test_a_protected_items_file_name_and_files_are_absent_for_others(
    researcher, other_researcher, identity_holder
):
    item = stored(
        make_jpeg(), by=other_researcher, filename="interview_Hassan.jpg", is_protected=True
    )
    body = token_client(researcher).get(f"{LIST}{item.code}/").json()
    assert "original_filename" not in body and "files" not in body
    assert "Hassan" not in str(body)
    for field in ("camera_make", "camera_model", "gps_latitude", "gps_longitude"):
        assert field not in body.get("photo", {})
    listed = token_client(researcher).get(LIST).json()["results"]
    assert [row["code"] for row in listed] == [item.code] and "original_filename" not in listed[0]
    custody_log = token_client(researcher).get(f"{LIST}{item.code}/custody/").json()
    assert "Hassan" not in str(custody_log)
    # The uploader gets the files (not the name, as in the admin); a holder of the
    # permission both.
    uploaders = token_client(other_researcher).get(f"{LIST}{item.code}/").json()
    assert "original_filename" not in uploaders
    assert uploaders["files"]["original"].endswith(f"/evidence/{item.code}/original")
    holders = token_client(identity_holder).get(f"{LIST}{item.code}/").json()
    assert holders["original_filename"] == "interview_Hassan.jpg"
    assert holders["files"]["original"] == uploaders["files"]["original"]
    assert "Hassan" in str(token_client(identity_holder).get(f"{LIST}{item.code}/custody/").json())


def test_a_witness_identity_is_absent_without_the_permission(researcher, identity_holder):
    item = stored(
        b"The witness heard two aircraft.\n", by=researcher, kind="testimony", filename="t.txt"
    )
    witness = f.WitnessFactory(pseudonym="W-7", real_name="Hassan Real", contact="+963 555")
    f.TestimonyFactory(item=item, witness=witness)
    body = token_client(researcher).get(f"{LIST}{item.code}/").json()
    assert body["testimony"]["witness"] == {"pseudonym": "W-7", "role": witness.role}
    assert "Hassan Real" not in str(body) and "+963" not in str(body)
    shown = token_client(identity_holder).get(f"{LIST}{item.code}/").json()["testimony"]["witness"]
    assert shown["real_name"] == "Hassan Real" and shown["contact"] == "+963 555"


def test_an_item_behind_restricted_incidents_only_is_404(researcher, other_researcher):
    named(other_researcher)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    hidden = stored(make_jpeg(colour=(1, 2, 3)), by=other_researcher, incident=restricted)
    client = token_client(researcher)
    assert client.get(f"{LIST}{hidden.code}/").status_code == 404
    assert client.get(f"{LIST}{hidden.code}/custody/").status_code == 404
    assert client.get(LIST).json()["results"] == []
    assert client.get(f"{LIST}?sha256={hidden.sha256}").json()["results"] == []
    assert client.get(f"{LIST}?incident={restricted.code}").json()["results"] == []
    transition = client.post(f"{LIST}{hidden.code}/transitions/", {"action": "submit"})
    assert transition.status_code == 404
    assert [r["code"] for r in token_client(other_researcher).get(LIST).json()["results"]] == [
        hidden.code
    ]


def test_a_near_duplicate_the_caller_may_not_open_is_not_named(researcher, other_researcher):
    mine = stored(make_jpeg(colour=(10, 10, 10)), by=researcher)
    protected = stored(make_jpeg(colour=(200, 10, 10)), by=other_researcher, is_protected=True)
    plain = stored(make_jpeg(colour=(10, 200, 10)), by=other_researcher)
    assert len({mine.pk, protected.pk, plain.pk}) == 3
    mine.near_duplicates.add(protected, plain)
    body = token_client(researcher).get(f"{LIST}{mine.code}/").json()
    assert body["near_duplicates"] == [plain.code]


def test_the_custody_log_is_the_chain_the_bag_records(researcher):
    item = stored(make_jpeg(), by=researcher)
    body = token_client(researcher).get(f"{LIST}{item.code}/custody/").json()
    events = list(item.custody_events.order_by("sequence"))
    assert [e["event_hash"] for e in body["events"]] == [e.event_hash for e in events]
    assert custody.verify_chain(item) == []


def test_evidence_is_closed_to_a_staff_account_without_the_evidence_permission(db):
    from tracker.tests.factories import UserFactory

    clerk = UserFactory(username="clerk")
    response = token_client(clerk).get(LIST)
    assert response.status_code == 403
    assert "no permission to view evidence" in problem(response)["detail"]


def test_filters_by_kind_status_and_incident(researcher):
    incident = f.IncidentFactory()
    photo = stored(make_jpeg(), by=researcher, incident=incident)
    note = stored(b"notes\n", by=researcher, kind="document", filename="n.txt")
    client = token_client(researcher)
    assert [r["code"] for r in client.get(f"{LIST}?kind=photo").json()["results"]] == [photo.code]
    assert [
        r["code"] for r in client.get(f"{LIST}?incident={incident.code}").json()["results"]
    ] == [photo.code]
    assert client.get(f"{LIST}?status=verified").json()["results"] == []
    assert len(client.get(f"{LIST}?kind=photo&kind=document").json()["results"]) == 2
    assert problem(client.get(f"{LIST}?incident=bakery"))["errors"]["incident"]
    assert problem(client.get(f"{LIST}?kind=hologram"))["errors"]["kind"]
    assert note.code


# --- Uploads --------------------------------------------------------------------------------


@SENDS
def test_an_upload_is_stored_through_the_intake_and_linked(send, researcher):
    incident = f.IncidentFactory()
    data = make_jpeg()
    client = token_client(researcher, ["read", "write"])
    response = send(client, data, incident=incident.code, relevance="the crater", title="Crater")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["duplicate"] is False
    item = EvidenceItem.objects.get(code=body["item"]["code"])
    assert item.title == "Crater" and item.created_by == researcher
    assert item.links.get().incident == incident and item.links.get().relevance == "the crater"
    assert [e.action for e in item.custody_events.order_by("sequence")][:2] == [
        "acquired",
        "received",
    ]
    again = send(client, data, name="copy.jpg")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["item"]["code"] == item.code
    assert EvidenceItem.objects.count() == 1


@SENDS
def test_a_copy_of_bytes_held_behind_a_restricted_incident_is_set_aside(
    send, researcher, other_researcher
):
    named(other_researcher)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    data = make_jpeg(colour=(9, 9, 9))
    hidden = stored(data, by=other_researcher, incident=restricted)
    response = send(token_client(researcher), data)
    assert response.status_code == 202
    assert response.json() == {"detail": f"IMG_0001.jpg: {intake.SET_ASIDE}"}
    assert hidden.code not in response.content.decode()


HOSTILE = {
    "empty": (b"", "photo"),
    "html-as-photo": (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "photo"),
    "svg-as-photo": (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "photo"),
    "exe-as-document": (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", "document"),
    "jpeg-as-flight-log": (make_jpeg(), "flight_log"),
    "decompression-bomb": (make_bomb_png(), "photo"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
@SENDS
def test_a_hostile_file_gets_the_intakes_own_refusal_and_nothing_is_stored(send, researcher, name):
    data, kind = HOSTILE[name]
    with pytest.raises(intake.IntakeError) as direct:
        intake.ingest(io.BytesIO(data), filename="x.jpg", kind=kind, by=researcher)
    response = send(token_client(researcher), data, name="x.jpg", kind=kind)
    assert response.status_code == 400
    assert problem(response)["errors"]["file"] == [str(direct.value)]
    assert_nothing_stored()


def test_an_upload_too_large_is_refused(researcher, settings):
    settings.TRACKER_MAX_UPLOAD_BYTES = 1000
    response = upload(token_client(researcher), make_jpeg(size=(200, 200), noise=True))
    assert response.status_code == 400 and "larger than" in str(problem(response)["errors"])
    assert_nothing_stored()


@pytest.mark.parametrize(
    "status", [ReviewStatus.VERIFIED, ReviewStatus.PUBLISHED, ReviewStatus.REJECTED]
)
@SENDS
def test_an_upload_to_a_locked_incident_is_refused_with_the_locks_words(send, researcher, status):
    from tracker import locks

    incident = f.IncidentFactory(status=status)
    response = send(token_client(researcher), make_jpeg(), incident=incident.code)
    assert response.status_code == 400
    assert problem(response)["errors"]["file"] == [
        locks.locked_message(incident.code, status, "evidence")
    ]
    assert_nothing_stored()


@SENDS
def test_an_upload_to_a_restricted_or_unknown_incident_says_the_same(send, researcher):
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    client = token_client(researcher)
    hidden = problem(send(client, make_jpeg(), incident=restricted.code))["errors"]["incident"]
    unknown = problem(send(client, make_jpeg(), incident="INC-9999"))["errors"]["incident"]
    assert [m.replace(restricted.code, "X") for m in hidden] == [
        m.replace("INC-9999", "X") for m in unknown
    ]
    assert_nothing_stored()


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"kind": "hologram"},
        {"is_protected": "perhaps"},
        {"title": "x" * 201},
        {"source_type": "Nobody"},
    ],
)
def test_a_bad_upload_request_is_a_400(researcher, fields):
    client = token_client(researcher)
    if fields:
        response = upload(client, make_jpeg(), **fields)
    else:
        response = client.post(LIST, {"title": "no file"})
    assert response.status_code == 400 and problem(response)["errors"]
    assert_nothing_stored()


@SENDS
def test_a_mistyped_field_is_refused_not_ignored(send, researcher):
    """ "is_protect" for "is_protected" must not store a protected file as an open one."""
    response = send(token_client(researcher), make_jpeg(), is_protect="true")
    assert response.status_code == 400
    assert problem(response)["errors"]["non_field_errors"] == ["Unknown fields: 'is_protect'."]
    assert_nothing_stored()


@SENDS
def test_an_account_that_may_not_add_evidence_cannot_upload(send, db):
    from django.contrib.auth.models import Permission

    from tracker.tests.factories import UserFactory

    reader = UserFactory(username="reader")
    reader.user_permissions.add(Permission.objects.get(codename="view_evidenceitem"))
    response = send(token_client(reader), make_jpeg())
    assert response.status_code == 403
    assert problem(response)["detail"] == "This account may not add evidence."
    assert_nothing_stored()


# --- Streamed uploads: what only a body can get wrong ------------------------------------


def test_a_streamed_upload_over_the_limit_is_refused_before_it_is_read(researcher, settings):
    settings.TRACKER_MAX_UPLOAD_BYTES = 1000
    response = streamed(token_client(researcher), make_jpeg(size=(200, 200), noise=True))
    assert response.status_code == 413
    assert problem(response)["detail"] == "The file is larger than the limit of 1,000 bytes."
    assert_nothing_stored()


def test_a_streamed_upload_without_its_length_is_411(researcher):
    response = token_client(researcher).post(
        f"{STREAM}?filename=a.jpg",
        make_jpeg(),
        content_type="application/octet-stream",
        CONTENT_LENGTH="",
    )
    assert response.status_code == 411 and "Content-Length" in problem(response)["detail"]
    assert_nothing_stored()


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=x", "image/jpeg", ""])
def test_a_streamed_upload_of_another_media_type_is_415(researcher, content_type):
    response = token_client(researcher).post(
        f"{STREAM}?filename=a.jpg", make_jpeg(), content_type=content_type
    )
    assert response.status_code == 415 and problem(response)["detail"]
    assert_nothing_stored()


@pytest.mark.parametrize(
    "query",
    ["", "filename=", "filename=a.jpg&filename=b.jpg", "filename=a.jpg&kind=hologram"],
)
def test_a_streamed_upload_with_bad_details_is_a_400(researcher, query):
    response = token_client(researcher).post(
        f"{STREAM}?{query}", make_jpeg(), content_type="application/octet-stream"
    )
    assert response.status_code == 400 and problem(response)["errors"]
    assert_nothing_stored()


def test_a_form_upload_does_not_take_its_details_from_the_query(researcher):
    """The query of a form upload would be ignored (``is_protected`` lost): refused."""
    client = token_client(researcher)
    response = client.post(
        f"{LIST}?is_protected=true", {"file": SimpleUploadedFile("a.jpg", make_jpeg())}
    )
    assert response.status_code == 400
    assert_nothing_stored()


def test_a_streamed_body_that_ends_short_is_refused_and_nothing_is_stored(live_server, researcher):
    """A client that goes away mid-file: what arrived is not an item (the server reads
    the end of the body, not the end of the file)."""
    import socket
    from urllib.parse import urlsplit

    _, key = ApiToken.issue(researcher, name="test", scopes=["write"])
    where = urlsplit(live_server.url)
    data = make_jpeg(size=(300, 300), noise=True)
    with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        head = (
            f"POST {STREAM}?filename=cut.jpg HTTP/1.1\r\nHost: {where.netloc}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode() + data[: len(data) // 2])
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"before its Content-Length; nothing was stored" in answer
    assert_nothing_stored()
