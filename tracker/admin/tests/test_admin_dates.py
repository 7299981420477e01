"""Dates typed into the admin's forms (``kit.DatedForm``, ``Incident.clean``): a date
alone when the precision is a day or wider, the time when it is finer, nothing that has
not happened yet; a time a file claims (a camera's clock) stays as claimed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from evidence.models import EvidenceItem
from evidence.models import Testimony as WitnessTestimony  # a "Test*" name is collected
from tracker.admin.kit import TIME_NEEDED
from tracker.admin.tests.test_admin_forms import incident_post
from tracker.models import Incident
from tracker.responsibility.periods import IN_FUTURE
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

LOCAL = ZoneInfo("Asia/Damascus")  # the case's zone (settings.TIME_ZONE)


def errors_of(response) -> dict:
    assert response.status_code == 200, "saved, though it should have been refused"
    return response.context["adminform"].form.errors


# --- An incident in the future ---------------------------------------------------------------


def test_an_incident_in_the_future_is_refused_next_to_its_start(client, researcher):
    client.force_login(researcher)
    response = incident_post(client, occurred_start_0="2029-05-13")
    assert errors_of(response)["occurred_start"] == [IN_FUTURE]
    assert not Incident.objects.exists()


def test_an_end_in_the_future_is_refused_next_to_the_end(client, researcher):
    client.force_login(researcher)
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = incident_post(client, occurred_end_0=tomorrow.isoformat(), occurred_end_1="10:00")
    assert errors_of(response) == {"occurred_end": [IN_FUTURE]}
    assert not Incident.objects.exists()


def test_an_incident_of_this_very_minute_is_accepted(client, researcher):
    client.force_login(researcher)
    now = timezone.localtime() - timedelta(minutes=1)
    response = incident_post(
        client, occurred_start_0=now.date().isoformat(), occurred_start_1=now.strftime("%H:%M")
    )
    assert response.status_code == 302


def test_every_write_that_validates_an_incident_asks_the_same_rule():
    """The demo's build and any import call full_clean: the model refuses it too."""
    incident = Incident(title="Strike", occurred_start=datetime(2029, 5, 13, tzinfo=UTC))
    with pytest.raises(ValidationError) as refused:
        incident.full_clean(exclude=["code"])
    assert refused.value.message_dict == {"occurred_start": [IN_FUTURE]}


# --- A date without a time -------------------------------------------------------------------


@pytest.mark.parametrize("precision", ["day", "month", "year"])
def test_a_date_alone_is_its_local_midnight_when_the_time_is_not_known(
    client, researcher, precision
):
    client.force_login(researcher)
    response = incident_post(client, occurred_start_1="", start_precision=precision)
    assert response.status_code == 302, errors_of(response)
    incident = Incident.objects.get()
    assert incident.occurred_start == datetime(2019, 5, 13, tzinfo=LOCAL)
    assert incident.start_precision == precision


@pytest.mark.parametrize(
    ("precision", "label"), [("minute", "to the minute"), ("hour", "to the hour")]
)
def test_a_precision_finer_than_a_day_needs_the_time(client, researcher, precision, label):
    client.force_login(researcher)
    response = incident_post(client, occurred_start_1="", start_precision=precision)
    assert errors_of(response)["occurred_start"] == [TIME_NEEDED.format(precision=label)]
    assert not Incident.objects.exists()


def test_the_end_may_be_a_date_alone_too(client, researcher):
    client.force_login(researcher)
    response = incident_post(
        client, start_precision="day", occurred_end_0="2019-05-15", occurred_end_1=""
    )
    assert response.status_code == 302, errors_of(response)
    assert Incident.objects.get().occurred_end == datetime(2019, 5, 15, tzinfo=LOCAL)

    response = incident_post(client, occurred_end_0="2019-05-15", occurred_end_1="")  # minute
    assert errors_of(response)["occurred_end"] == [TIME_NEEDED.format(precision="to the minute")]


def test_a_day_whose_midnight_the_clocks_skipped_begins_at_one(client, researcher):
    """Damascus went from 00:00 to 01:00 on 29 March 2019: a date alone is still that
    day, never a refusal for a time that did not exist."""
    client.force_login(researcher)
    response = incident_post(
        client, occurred_start_0="2019-03-29", occurred_start_1="", start_precision="day"
    )
    assert response.status_code == 302, errors_of(response)
    start = Incident.objects.get().occurred_start.astimezone(LOCAL)
    assert (start.date().isoformat(), start.hour) == ("2019-03-29", 1)


def test_a_time_without_its_date_is_refused(client, researcher):
    client.force_login(researcher)
    response = incident_post(client, occurred_start_0="", occurred_start_1="09:45")
    assert "Give the date" in errors_of(response)["occurred_start"][0]


# --- Evidence dates typed into forms, and those read from files ------------------------------


def item_post(client, item: EvidenceItem, **fields):
    url = reverse("admin:evidence_evidenceitem_change", args=[item.pk])
    form = client.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None and not isinstance(value, datetime | list)
    }
    for inline in client.get(url).context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name, field in management.fields.items():
            data[f"{management.prefix}-{name}"] = management.initial.get(name, field.initial) or 0
    data.update(fields)
    return client.post(url, data)


def test_a_capture_date_typed_in_the_future_is_refused(client, researcher):
    item = f.EvidenceItemFactory(created_by=researcher, kind="document")
    client.force_login(researcher)
    response = item_post(
        client, item, captured_at_0="2029-01-01", captured_at_1="", captured_precision="day"
    )
    assert errors_of(response)["captured_at"] == [IN_FUTURE]
    item.refresh_from_db()
    assert item.captured_at is None


def test_a_capture_time_claimed_by_a_file_is_kept_even_in_the_future(client, researcher):
    """A camera clock set wrong is evidence: saving the item unchanged keeps its claim."""
    claimed = datetime(2031, 1, 1, 12, 0, tzinfo=UTC)
    item = f.EvidenceItemFactory(created_by=researcher, kind="document", captured_at=claimed)
    client.force_login(researcher)
    shown = claimed.astimezone(LOCAL)
    response = item_post(
        client,
        item,
        title="Renamed",
        captured_at_0=shown.date().isoformat(),
        captured_at_1=shown.strftime("%H:%M:%S"),
    )
    assert response.status_code == 302, errors_of(response)
    item.refresh_from_db()
    assert (item.title, item.captured_at) == ("Renamed", claimed)


def test_an_interview_date_in_the_future_is_refused(client, researcher):
    testimony = f.TestimonyFactory(item__created_by=researcher)
    client.force_login(researcher)
    url = reverse("admin:evidence_testimony_change", args=[testimony.pk])
    response = client.post(
        url,
        {
            "item": testimony.item_id,
            "witness": testimony.witness_id,
            "interview_date": (timezone.localdate() + timedelta(days=2)).isoformat(),
            "method": "in_person",
            "language": "Arabic",
            "interviewer": "Team member",
            "summary": "Two aircraft.",
        },
    )
    assert errors_of(response)["interview_date"] == [IN_FUTURE]
    assert WitnessTestimony.objects.get().interview_date.year == 2019
