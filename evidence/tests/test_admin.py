"""Evidence in the admin: uploads go through intake; protected identity stays hidden."""

import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from evidence import intake
from evidence.files import storage
from evidence.models import CustodyEvent, Derivative, EvidenceItem
from evidence.tests.files import make_jpeg
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


# --- Files in the admin: thumbnails, download link, near-duplicates, GPS ---------------


def stored_photo(by, colour, *, thumbnail: bool = True, data: bytes | None = None, **fields):
    """An item ingested through intake, with a thumbnail and preview written here."""
    item = intake.ingest(
        io.BytesIO(data or jpeg_bytes(colour)), filename="p.jpg", kind="photo", by=by, **fields
    ).item
    # Derivatives and near-duplicate flags are imaging's job: start from none.
    Derivative.objects.filter(item=item).delete()
    item.near_duplicates.clear()
    if thumbnail:
        for kind in ("thumbnail", "preview"):
            key = storage.derivative_key(item.sha256, kind)
            storage.write_derivative(key, jpeg_bytes(colour))
            Derivative.objects.create(
                item=item, kind=kind, path=key, width=64, height=48, sha256="0" * 64
            )
    return item


def row_of(page: str, code: str) -> str:
    """The changelist's table row that shows ``code``."""
    rows = re.findall(r"<tr>.*?</tr>", page, flags=re.S)
    [row] = [r for r in rows if f">{code}</a>" in r]
    return row


def thumbnail_img(code: str) -> str:
    src = reverse("evidence:thumbnail", args=[code])
    return f'<img class="evidence-thumb" src="{src}" alt="{code}" loading="lazy">'


@pytest.fixture
def identity_holder(researcher):
    researcher.user_permissions.add(Permission.objects.get(codename="view_protected_identity"))
    return researcher


def test_changelist_shows_thumbnail_or_says_why_not(client, researcher):
    shown = stored_photo(researcher, (200, 10, 10))
    unmade = stored_photo(researcher, (10, 10, 200), thumbnail=False)
    described = f.EvidenceItemFactory()  # a row without a file yet
    client.force_login(researcher)
    page = client.get(reverse("admin:evidence_evidenceitem_changelist")).content.decode()
    assert thumbnail_img(shown.code) in row_of(page, shown.code)
    # Not made yet (the background job has not run): pending; made impossible: no preview.
    assert '<td class="field-thumbnail">derivatives pending</td>' in row_of(page, unmade.code)
    unmade.derivative_problem = "no derivative: truncated file"
    unmade.save()
    page = client.get(reverse("admin:evidence_evidenceitem_changelist")).content.decode()
    assert '<td class="field-thumbnail">no preview</td>' in row_of(page, unmade.code)
    assert '<td class="field-thumbnail">no file</td>' in row_of(page, described.code)
    assert page.count('class="evidence-thumb"') == 1


def test_changelist_hides_thumbnails_of_protected_items_from_those_refused(
    client, researcher, other_researcher
):
    protected = stored_photo(other_researcher, (1, 150, 1), is_protected=True)  # not theirs
    client.force_login(researcher)
    page = client.get(reverse("admin:evidence_evidenceitem_changelist")).content.decode()
    row = row_of(page, protected.code)
    assert "evidence-thumb" not in row
    assert "restricted" in row


def test_changelist_shows_protected_thumbnails_to_identity_holders(client, identity_holder):
    protected = stored_photo(identity_holder, (1, 150, 1), is_protected=True)
    client.force_login(identity_holder)
    page = client.get(reverse("admin:evidence_evidenceitem_changelist")).content.decode()
    assert thumbnail_img(protected.code) in row_of(page, protected.code)


def test_thumbnail_column_costs_no_query_per_row(client, editor, researcher):
    url = reverse("admin:evidence_evidenceitem_changelist")
    client.force_login(editor)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    for i in range(2):
        stored_photo(researcher, (i, 0, 0), is_protected=bool(i % 2))
    few = queries()
    for i in range(2, 8):
        stored_photo(researcher, (i, 0, 0), is_protected=bool(i % 2))
    assert queries() == few


def test_change_page_shows_preview_and_download_link(client, researcher):
    item = stored_photo(researcher, (90, 90, 0))
    client.force_login(researcher)
    page = client.get(reverse("admin:evidence_evidenceitem_change", args=[item.pk])).content
    body = page.decode()
    assert (
        f'<a class="download-original" href="{reverse("evidence:original", args=[item.code])}">'
        "Download original</a>"
    ) in body
    assert (
        f'<a href="{reverse("evidence:preview", args=[item.code])}" target="_blank" '
        f'rel="noopener"><img class="evidence-preview" '
        f'src="{reverse("evidence:thumbnail", args=[item.code])}" alt="{item.code}"></a>'
    ) in body


def test_change_page_of_protected_item_offers_no_download_to_those_refused(
    client, researcher, other_researcher
):
    item = stored_photo(other_researcher, (0, 90, 90), is_protected=True)  # not theirs
    client.force_login(researcher)
    body = client.get(reverse("admin:evidence_evidenceitem_change", args=[item.pk])).content
    body = body.decode()
    assert reverse("evidence:original", args=[item.code]) not in body
    assert reverse("evidence:thumbnail", args=[item.code]) not in body
    assert "you may not open this item" in body


def test_change_page_of_item_without_file_says_so(client, researcher):
    item = f.EvidenceItemFactory()
    client.force_login(researcher)
    body = client.get(reverse("admin:evidence_evidenceitem_change", args=[item.pk])).content
    assert '<div class="readonly">no file</div>' in body.decode()


def test_change_page_lists_near_duplicates_as_links(client, researcher):
    item = stored_photo(researcher, (50, 50, 50))
    twin = stored_photo(researcher, (51, 50, 50))
    unrelated = stored_photo(researcher, (0, 0, 250))
    item.near_duplicates.add(twin)
    client.force_login(researcher)
    body = client.get(reverse("admin:evidence_evidenceitem_change", args=[item.pk])).content
    twin_url = reverse("admin:evidence_evidenceitem_change", args=[twin.pk])
    assert f'looks like <a href="{twin_url}">{twin.code}</a>' in body.decode()
    assert f">{unrelated.code}</a>" not in body.decode()
    # The relation goes both ways.
    back = client.get(twin_url).content.decode()
    item_url = reverse("admin:evidence_evidenceitem_change", args=[item.pk])
    assert f'looks like <a href="{item_url}">{item.code}</a>' in back


def test_change_page_shows_exif_claims_and_a_map_link(client, researcher):
    item = stored_photo(researcher, (0, 0, 0), data=make_jpeg())
    client.force_login(researcher)
    body = client.get(reverse("admin:evidence_evidenceitem_change", args=[item.pk])).content
    body = body.decode()
    assert "EOS 5D Mark III" in body
    assert (
        '<a href="https://www.openstreetmap.org/?mlat=35.824500&amp;mlon=36.319000'
        '#map=17/35.824500/36.319000" rel="noopener noreferrer" target="_blank">'
        "35.824500, 36.319000 on OpenStreetMap</a>"
    ) in body


def test_protected_item_position_is_not_sent_to_an_outside_map(client, identity_holder):
    item = stored_photo(identity_holder, (0, 0, 0), data=make_jpeg(), is_protected=True)
    client.force_login(identity_holder)
    body = client.get(reverse("admin:evidence_evidenceitem_change", args=[item.pk])).content
    body = body.decode()
    assert "openstreetmap.org" not in body
    assert "not linked to an outside map" in body


# --- Times said with their zone ---------------------------------------------------------


def readonly_of(page: str, field: str) -> str:
    """The text of a read-only field's value on a change page (its ``field-<name>`` row)."""
    match = re.search(rf'field-{field}\b.*?<div class="readonly">(.*?)</div>', page, re.S)
    assert match, f"no read-only {field} on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", match[1]).split())


def test_a_camera_time_without_its_offset_is_shown_as_recorded(client, researcher):
    """The camera wrote 10:30:12 and no offset: shown as read, never as "-"."""
    taken = make_jpeg(taken="2019:05:05 10:30:12", offset="")
    item = stored_photo(researcher, (0, 0, 0), data=taken)
    assert item.photo.taken_at is None  # not placed on the UTC line: its zone is unknown
    client.force_login(researcher)
    page = client.get(reverse("admin:evidence_evidenceitem_change", args=[item.pk]))

    assert readonly_of(page.content.decode(), "taken") == "2019-05-05 10:30:12 (zone not recorded)"


def test_a_camera_time_with_its_offset_is_shown_in_that_offset(client, researcher):
    item = stored_photo(researcher, (0, 0, 0), data=make_jpeg(offset="+02:00"))
    client.force_login(researcher)
    page = client.get(reverse("admin:evidence_evidenceitem_change", args=[item.pk]))

    assert readonly_of(page.content.decode(), "taken") == "2019-05-05 10:30 UTC+02:00"


def test_the_item_list_names_the_zone_of_its_capture_times(client, researcher):
    item = stored_photo(researcher, (0, 0, 0), data=make_jpeg(offset="+00:00"))
    client.force_login(researcher)
    page = client.get(reverse("admin:evidence_evidenceitem_changelist")).content.decode()

    # 10:30 UTC is 13:30 in Damascus in May: converted, and said so.
    assert "2019-05-05 13:30 Damascus time (UTC+03:00)" in row_of(page, item.code)


# --- The upload form, laid out as the admin's own ---------------------------------------


def test_the_upload_form_is_laid_out_as_an_admin_form(client, researcher):
    client.force_login(researcher)
    page = client.get(reverse("admin:evidence_evidenceitem_add")).content.decode()

    headings = re.findall(r'<h2 id="fieldset-[^"]+" class="fieldset-heading">(.*?)</h2>', page)
    assert headings == ["The items", "Source", "Sensitivity"]
    assert page.count('<fieldset class="module aligned ') == 4
    # Ticked boxes as the admin draws them: the box, then a label that says what it means.
    for name, label in [
        ("is_graphic", "Graphic content"),
        ("identifies_people", "Identifies people"),
        ("is_protected", "Protected identity"),
    ]:
        assert re.search(
            rf'<div class="flex-container checkbox-row">\s*<input type="checkbox" name="{name}"'
            rf'[^>]*><label class="vCheckboxLabel" for="id_{name}">{label}</label>',
            page,
        ), name
        assert f'id="id_{name}_helptext"' in page
    assert "graphic:" not in page.lower() and "protected:" not in page.lower()


def test_upload_errors_sit_next_to_their_field(client, researcher):
    client.force_login(researcher)
    response = upload(client, kind="photo")  # no file
    page = response.content.decode()
    assert "Please correct the error below." in page
    assert re.search(
        r'<div class="form-row errors field-files">\s*<ul class="errorlist"[^>]*>'
        r"<li>Choose at least one file.</li>",
        page,
    )


# --- Search by an incident's code -------------------------------------------------------


@pytest.fixture
def linked():
    """Items behind an open incident and a restricted one: ``shared`` is linked to both,
    ``hidden`` only to the restricted one (so it is hidden itself), ``other`` to
    neither."""
    from tracker.models import Sensitivity

    open_incident = f.IncidentFactory(code="INC-0053")
    restricted = f.IncidentFactory(code="INC-0054", sensitivity=Sensitivity.RESTRICTED)
    items = {
        name: f.EvidenceItemFactory(title=f"{name} photo")
        for name in ("open", "shared", "hidden", "other")
    }
    f.EvidenceLinkFactory(item=items["open"], incident=open_incident)
    f.EvidenceLinkFactory(item=items["shared"], incident=open_incident)
    f.EvidenceLinkFactory(item=items["shared"], incident=restricted)
    f.EvidenceLinkFactory(item=items["hidden"], incident=restricted)
    f.EvidenceLinkFactory(item=items["other"], incident=f.IncidentFactory(code="INC-0530"))
    return items


def searched(client, text: str) -> set[str]:
    response = client.get(reverse("admin:evidence_evidenceitem_changelist"), {"q": text})
    assert response.status_code == 200
    return {item.title for item in response.context["cl"].result_list}


@pytest.mark.parametrize("text", ["INC-0053", "inc-0053", " Inc-53 ", "INC-00053"])
def test_an_incident_code_finds_the_items_linked_to_it(client, researcher, linked, text):
    """Issue 17: searching the evidence list for INC-0053 found nothing."""
    client.force_login(researcher)
    assert searched(client, text) == {"open photo", "shared photo"}  # not INC-0530's


def test_an_incident_code_also_finds_items_that_name_it(client, researcher, linked):
    f.EvidenceItemFactory(title="Crater of INC-0053, seen from the east")
    client.force_login(researcher)
    assert searched(client, "INC-0053") == {
        "open photo",
        "shared photo",
        "Crater of INC-0053, seen from the east",
    }


def test_a_restricted_incident_s_code_finds_nothing_for_someone_who_may_not_see_it(
    client, researcher, linked
):
    """Its code must not tell which visible items stand behind the restricted incident."""
    client.force_login(researcher)
    assert searched(client, "INC-0054") == set()
    assert searched(client, "photo") == {"open photo", "shared photo", "other photo"}
    researcher.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    client.force_login(researcher)
    assert searched(client, "INC-0054") == {"shared photo", "hidden photo"}


@pytest.mark.parametrize("text", ["INC-", "INC-0053 photo", "EV-999999", "INC-99999"])
def test_text_that_is_no_incident_code_searches_the_items_only(client, researcher, linked, text):
    client.force_login(researcher)
    assert searched(client, text) == set()


def test_a_search_by_code_costs_no_more_queries_than_the_plain_list(
    client, researcher, linked, django_assert_num_queries
):
    client.force_login(researcher)
    with CaptureQueriesContext(connection) as plain:
        searched(client, "")
    with django_assert_num_queries(len(plain)):
        assert searched(client, "INC-0053") == {"open photo", "shared photo"}
