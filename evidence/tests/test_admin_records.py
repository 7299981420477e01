"""The records about evidence in the admin (``evidence.admin.records``): a testimony is
given testimony items only, and a custody event's details read as rows."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.urls import reverse

from evidence import intake
from evidence.admin.records import detail_rows
from evidence.files import custody
from evidence.models import CustodyEvent, EvidenceItem, EvidenceLink
from evidence.models import Testimony as WitnessTestimony  # a "Test*" name is collected
from tracker.models import Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."


# --- A testimony's item ----------------------------------------------------------------------


@pytest.fixture
def items(researcher):
    """A testimony item, a photo, and a testimony item behind a restricted incident."""
    statement = f.EvidenceItemFactory(kind="testimony", title="Statement of W-01")
    photo = f.EvidenceItemFactory(kind="photo", title="Statement photo")
    hidden = f.EvidenceItemFactory(kind="testimony", title="Statement of W-02")
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    EvidenceLink.objects.create(item=hidden, incident=restricted)
    return {"statement": statement, "photo": photo, "hidden": hidden}


def test_the_testimony_form_offers_testimony_items_only(client, researcher, items):
    client.force_login(researcher)
    form = client.get(reverse("admin:evidence_testimony_add")).context["adminform"].form
    assert list(form.fields["item"].queryset) == [items["statement"]]


def test_the_item_autocomplete_of_a_testimony_finds_testimony_items_only(client, researcher, items):
    client.force_login(researcher)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "evidence", "model_name": "testimony", "field_name": "item", "term": "St"},
    )
    found = [row["id"] for row in json.loads(response.content)["results"]]
    assert found == [str(items["statement"].pk)]  # not the photo, not the hidden statement


def test_a_photo_posted_as_a_testimony_s_item_is_refused(client, researcher, items):
    client.force_login(researcher)
    response = client.post(
        reverse("admin:evidence_testimony_add"),
        {
            "item": items["photo"].pk,
            "witness": f.WitnessFactory().pk,
            "interview_date": "2019-06-01",
            "method": "in_person",
            "language": "Arabic",
            "interviewer": "Team member",
            "summary": "Two aircraft.",
        },
    )
    assert response.context["adminform"].form.errors["item"] == [INVALID_CHOICE]
    assert not WitnessTestimony.objects.exists()


# --- Custody details as rows -----------------------------------------------------------------

SHA = "9f" * 32
PAYLOAD = '<script>alert("custody")</script>'


@pytest.fixture
def logged(researcher) -> EvidenceItem:
    item = intake.ingest(
        io.BytesIO(b"a statement\n"),
        filename="statement.txt",
        kind="document",
        by=researcher,
        received_from=PAYLOAD,
    ).item
    custody.record(
        item,
        CustodyEvent.Action.EXPORTED,
        actor=researcher,
        details={
            "bag": "court-001",
            "tagmanifest_sha256": SHA,
            "incidents": ["INC-0001", "INC-0002"],
            "original_included": True,
            "found": {"received": SHA, "log": "ok", "notes": None},
        },
    )
    return item


def rows_text(html: str) -> list[tuple[str, str]]:
    """(term, description) of every row of the details that holds a value (a row of
    nested rows is read through them), in the page's order."""
    pairs = re.findall(r"<dt>([^<]*)</dt>\s*<dd>((?:(?!<dl|</dd>).)*)</dd>", html, re.S)
    return [(term, " ".join(re.sub(r"<[^>]+>", " ", dd).split())) for term, dd in pairs]


def test_details_become_rows_nested_rows_and_plain_values():
    rows = detail_rows({"a_key": {"inner": [1, 2]}, "flag": False, "empty": "", "list": [{"x": 1}]})
    assert rows[0]["key"] == "a key" and rows[0]["rows"][0]["text"] == "1, 2"
    assert [r["text"] for r in rows[1:3]] == ["no", "–"]
    assert rows[3]["rows"][0]["rows"][0] == {"key": "x", "rows": None, "hash": False, "text": "1"}


def test_the_item_page_shows_custody_details_as_escaped_rows(client, researcher, logged):
    client.force_login(researcher)
    page = client.get(reverse("admin:evidence_evidenceitem_change", args=[logged.pk]))
    html = page.content.decode()

    assert PAYLOAD not in html and "&lt;script&gt;alert(&quot;custody&quot;)&lt;/script&gt;" in html
    assert f"<dd><code>{SHA}</code></dd>" in html  # a hash, in monospace
    assert '{"bag"' not in html and "&quot;bag&quot;" not in html  # no raw JSON
    shown = rows_text(html)
    assert ("filename", "statement.txt") in shown
    assert ("incidents", "INC-0001, INC-0002") in shown
    assert ("original included", "yes") in shown
    assert ("log", "ok") in shown and ("notes", "–") in shown  # nested, under "found"
    assert re.search(r"<dt>found</dt>\s*<dd>\s*<dl class=\"custody-details\">", html)


def test_the_custody_event_page_shows_details_and_hashes_readably(client, researcher, logged):
    event = logged.custody_events.get(action="exported")
    client.force_login(researcher)
    html = client.get(reverse("admin:evidence_custodyevent_change", args=[event.pk])).content
    html = html.decode()

    assert ("tagmanifest sha256", SHA) in rows_text(html)
    assert f"<code>{event.event_hash}</code>" in html
    assert f"<code>{event.previous_hash}</code>" in html


def test_a_protected_item_s_file_name_stays_withheld_in_the_rows(client, researcher):
    item = intake.ingest(
        io.BytesIO(b"a statement\n"),
        filename="Jane Doe interview.txt",
        kind="document",
        by=researcher,
        is_protected=True,
    ).item
    event = item.custody_events.get(action="acquired")
    client.force_login(researcher)
    html = client.get(reverse("admin:evidence_custodyevent_change", args=[event.pk])).content
    assert ("filename", "(withheld: protected item)") in rows_text(html.decode())
