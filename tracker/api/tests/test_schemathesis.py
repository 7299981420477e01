"""The API against its own description (schemathesis): for generated requests, valid and
not, no answer is a server error and every answer matches the schema (status, media
type, body, headers). Bounded examples; run on both databases by ``make test``. The
examples are the same from run to run (``derandomize``), so that a red run is one that
a change caused: to explore afresh, run this file with ``derandomize`` off."""

from __future__ import annotations

import io
from contextlib import contextmanager

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from evidence import intake
from evidence.tests.files import make_jpeg
from tracker.models import ApiToken
from tracker.project.wsgi import application
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db
SLOW_IS_FINE = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@contextmanager
def connection_kept():
    """Requests to the application do not close the test's database connection (as in
    Django's test client)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# The description, read from the application itself (WSGI, in this process).
with connection_kept():
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture(autouse=True)
def _rates_out_of_the_way(settings):
    """Conformance, not rates: schemathesis' calls without credentials would soon meet
    the anonymous rate (its own tests: test_tokens.py, test_adversary.py)."""
    rates = {"token": "100000/minute", "anonymous": "100000/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


@pytest.fixture
def key(editor):
    """An editor's token with every scope, and a case to act on."""
    incident = f.IncidentFactory(created_by=editor)
    photo = io.BytesIO(make_jpeg())
    intake.ingest(photo, filename="a.jpg", kind="photo", by=editor, incident=incident)
    with connection_kept():
        yield ApiToken.issue(editor, name="schemathesis", scopes=["read", "write", "review"])[1]


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=SLOW_IS_FINE, derandomize=True)
def test_the_api_answers_as_it_describes(case, key):
    # Every check but "valid data is accepted": a value of the right type may still name
    # no record (attack_type=0, incident=INC-0000) or be no cursor the API gave out, and
    # a file of the right type may be refused by the intake; each of those is a 400. And
    # a form's values are text: a "boolean" sent in a text field of an upload is text.
    excluded = [positive_data_acceptance]
    if case.media_type == "multipart/form-data":
        excluded.append(negative_data_rejection)
    case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, excluded_checks=excluded)


def test_sequences_of_calls_answer_as_described(key):
    """Stateful: calls chained through the links schemathesis finds between operations
    (an incident's code from the list to its record, its transitions; an uploaded item
    to its record and custody log), a bounded number of steps."""
    headers = {"Authorization": f"Bearer {key}"}

    class Calls(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # As call_and_validate does: the headers named as the caller's own. Negative
            # data is the other test's: in a sequence, schemathesis reports some valid
            # uploads as "schema-violating" without naming what violates it.
            case.validate_response(
                response,
                headers=headers,
                excluded_checks=[positive_data_acceptance, negative_data_rejection],
                transport_kwargs=kwargs,
            )

    with connection_kept():
        Calls.run(
            settings=settings(
                max_examples=10,
                stateful_step_count=6,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
        )
