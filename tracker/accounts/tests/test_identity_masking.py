"""A witness's real name and contact never reach history, error reports or logs.

Each test gives the witness a distinctive real name and contact, does what could leak
them, and searches the output for both.
"""

from __future__ import annotations

import io
import logging

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt

from evidence import intake
from evidence.admin.records import WitnessAdmin
from evidence.models import EvidenceItem, Witness
from tracker.accounts.errors import IdentityReporterFilter
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

REAL_NAME = "Zubaida Qarawi-Unlikelyname"
CONTACT = "+963 944 771 0391"
SECRETS = (REAL_NAME, "Unlikelyname", CONTACT, "944 771")
PASSWORD = "correct-horse-battery"


def assert_no_identity(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} appears in {where}"


@pytest.fixture
def witness(researcher) -> Witness:
    return f.WitnessFactory(
        pseudonym="Witness K-14", real_name=REAL_NAME, contact=CONTACT, created_by=researcher
    )


@pytest.fixture
def testimony_item(researcher, witness) -> EvidenceItem:
    """A protected testimony whose transcript names the witness (its content is the
    evidence: it stays in the original, never in a row)."""
    statement = f"Interview with {REAL_NAME}, {CONTACT}: two aircraft at dawn.\n".encode()
    item = intake.ingest(
        io.BytesIO(statement),
        filename="interview-k14.txt",
        kind="testimony",
        by=researcher,
        title="Testimony of Witness K-14",
        is_protected=True,
    ).item
    f.TestimonyFactory(item=item, witness=witness)
    return item


# --- (a) History ----------------------------------------------------------------------------


def historical_models() -> list:
    return [m for m in apps.get_models() if m.__name__.startswith("Historical")]


def test_witness_and_testimony_keep_no_field_history():
    """Witness is not under simple_history, and no historical table has identity columns."""
    assert historical_models(), "simple_history is in use: the check below must see it"
    assert not hasattr(Witness, "history")
    for model in historical_models():
        assert model.instance_type is not Witness
        names = {field.name for field in model._meta.get_fields()}
        assert not names & {"real_name", "contact"}, model


def test_identity_in_no_history_row_and_no_history_page(
    client, identity_holder, researcher, witness, testimony_item
):
    client.force_login(identity_holder)
    change = reverse("admin:evidence_witness_change", args=[witness.pk])
    response = client.post(
        change,
        {
            "pseudonym": "Witness K-14",
            "role": "survivor",
            "real_name": REAL_NAME + " Jr",
            "contact": CONTACT + " ext 2",
            "notes": "",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    witness.refresh_from_db()
    assert witness.real_name == REAL_NAME + " Jr"  # the change was made
    item_change = reverse("admin:evidence_evidenceitem_change", args=[testimony_item.pk])
    assert client.get(item_change).status_code == 200
    testimony_item.title = "Testimony of Witness K-14, reviewed"
    testimony_item.save()  # one more historical row for the item

    rows = [str(list(model.objects.values())) for model in historical_models()]
    rows.append(str(list(LogEntry.objects.values())))
    assert "Witness K-14" in "".join(rows)  # the log entry names the witness by pseudonym
    assert_no_identity("".join(rows), "history tables or the admin log")

    version = testimony_item.history.order_by("history_id").first().history_id
    pages = [
        reverse("admin:evidence_witness_history", args=[witness.pk]),
        reverse("admin:evidence_evidenceitem_history", args=[testimony_item.pk]),
        reverse("admin:evidence_evidenceitem_simple_history", args=[testimony_item.pk, version]),
        reverse("admin:evidence_testimony_history", args=[witness.testimonies.get().pk]),
    ]
    for user in (identity_holder, researcher):
        client.force_login(user)
        for page in pages:
            response = client.get(page)
            assert response.status_code == 200, page
            assert_no_identity(response.content.decode(), f"{page} as {user}")


# --- (b) Error reports ----------------------------------------------------------------------


@csrf_exempt
def crashing_view(request: HttpRequest) -> HttpResponse:
    """Fails while a witness, its identity and the posted form are all in its locals."""
    witness = Witness.objects.get(pseudonym="Witness K-14")
    real_name = witness.real_name  # noqa: F841 - the report must not show it
    details = {"real_name": witness.real_name, "contact": witness.contact}  # noqa: F841
    spoken = f"as told by {witness.real_name}"  # noqa: F841
    posted = request.POST.get("real_name", "")  # noqa: F841
    raise RuntimeError("crashing view for the error-report test")


urlpatterns = [path("crash/", crashing_view)]


def crash(client: Client) -> HttpResponse:
    return client.post("/crash/", {"real_name": REAL_NAME, "contact": CONTACT, "note": "kept"})


def test_the_project_uses_the_identity_filter():
    from django.views.debug import get_default_exception_reporter_filter

    assert isinstance(get_default_exception_reporter_filter(), IdentityReporterFilter)


@pytest.mark.urls(__name__)
def test_technical_500_page_hides_identity_and_settings(settings, witness):
    settings.DEBUG = True  # the page a developer sees; Django filters nothing then
    client = Client(raise_request_exception=False)
    response = crash(client)
    page = response.content.decode()
    assert response.status_code == 500
    assert "crashing view for the error-report test" in page  # it is the technical page
    assert "kept" in page  # other POST fields are still shown
    assert_no_identity(page, "the technical 500 page")
    assert "SECRET_KEY" not in page and "DATABASES" not in page


@pytest.mark.urls(__name__)
def test_mail_to_admins_hides_identity_and_settings(settings, witness):
    settings.DEBUG = False
    settings.ADMINS = [("Admin", "admin@example.org")]
    client = Client(raise_request_exception=False)
    assert crash(client).status_code == 500
    [report] = mail.outbox
    text = report.body + "".join(str(body) for body, _ in report.alternatives)
    assert "crashing view for the error-report test" in text
    assert_no_identity(text, "the error mail")
    assert "SECRET_KEY" not in text


@pytest.mark.parametrize("debug", [True, False])
def test_witness_admin_failure_report_hides_identity(
    settings, monkeypatch, identity_holder, witness, debug
):
    """The witness form itself, failing on save: neither report shows what was posted."""
    settings.DEBUG = debug
    settings.ADMINS = [("Admin", "admin@example.org")]

    def broken_save(self, request, obj, form, change):
        raise RuntimeError("storage failed while saving the witness")

    monkeypatch.setattr(WitnessAdmin, "save_model", broken_save)
    client = Client(raise_request_exception=False)
    client.force_login(identity_holder)
    response = client.post(
        reverse("admin:evidence_witness_change", args=[witness.pk]),
        {
            "pseudonym": "Witness K-14",
            "role": "survivor",
            "real_name": REAL_NAME,
            "contact": CONTACT,
        },
    )
    assert response.status_code == 500
    reports = response.content.decode() if debug else "".join(m.body for m in mail.outbox)
    assert "storage failed while saving the witness" in reports
    assert_no_identity(reports, "the report of the witness admin")


# --- (c) Logs -------------------------------------------------------------------------------


def test_intake_access_and_admin_logs_hold_no_identity(
    client, caplog, researcher, other_researcher, identity_holder, witness
):
    caplog.set_level(logging.DEBUG)
    item = None
    with caplog.at_level(logging.DEBUG):
        statement = f"Interview with {REAL_NAME}, {CONTACT}.\n".encode()
        item = intake.ingest(
            io.BytesIO(statement),
            filename=f"{REAL_NAME}.txt",
            kind="testimony",
            by=other_researcher,
            is_protected=True,
        ).item
        f.TestimonyFactory(item=item, witness=witness)
        client.force_login(researcher)  # not its uploader, refused: logged to evidence.access
        assert client.get(reverse("evidence:original", args=[item.code])).status_code == 403
        client.force_login(identity_holder)  # allowed: a custody event
        assert client.get(reverse("evidence:original", args=[item.code])).status_code == 200
        assert client.get(reverse("admin:evidence_witness_changelist")).status_code == 200
    names = {record.name for record in caplog.records}
    assert {"evidence.intake", "evidence.access"} <= names  # both logs were written
    assert_no_identity(caplog.text, "the logs")


# --- (d) A protected item's file name -------------------------------------------------------


@pytest.fixture
def named_file(researcher) -> EvidenceItem:
    """A protected testimony whose file name carries the witness's name."""
    return intake.ingest(
        io.BytesIO(b"Two aircraft at dawn.\n"),
        filename=f"interview {REAL_NAME}.txt",
        kind="testimony",
        by=researcher,
        title="Testimony of Witness K-14",
        is_protected=True,
    ).item


def admin_pages_of(item: EvidenceItem) -> list[str]:
    event = item.custody_events.get(action="acquired")
    return [
        reverse("admin:evidence_evidenceitem_change", args=[item.pk]),
        reverse("admin:evidence_custodyevent_change", args=[event.pk]),
        reverse("admin:evidence_custodyevent_changelist"),
    ]


def test_a_protected_item_s_file_name_is_withheld_in_the_admin(client, researcher, named_file):
    client.force_login(researcher)
    for url in admin_pages_of(named_file):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_identity(response.content.decode(), url)
    page = client.get(admin_pages_of(named_file)[0]).content.decode()
    assert "(withheld: protected item)" in page
    found = client.get(reverse("admin:evidence_evidenceitem_changelist"), {"q": "Unlikelyname"})
    assert list(found.context["cl"].result_list) == []


def test_a_holder_of_the_permission_sees_and_finds_the_file_name(
    client, identity_holder, named_file
):
    client.force_login(identity_holder)
    item_page, event_page, _ = admin_pages_of(named_file)
    assert REAL_NAME in client.get(item_page).content.decode()
    assert REAL_NAME in client.get(event_page).content.decode()
    found = client.get(reverse("admin:evidence_evidenceitem_changelist"), {"q": "Unlikelyname"})
    assert list(found.context["cl"].result_list) == [named_file]


def test_an_open_item_s_file_name_is_shown_to_the_team(client, researcher):
    item = intake.ingest(
        io.BytesIO(b"a document\n"), filename="crater_north.txt", kind="document", by=researcher
    ).item
    client.force_login(researcher)
    for url in admin_pages_of(item)[:2]:
        assert "crater_north.txt" in client.get(url).content.decode(), url
