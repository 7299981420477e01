"""Bad input is a 400, never a 500 (issue 14, ``tracker/accounts/hostile_input.py``).

Every URL pattern of the project, the admin's included, is requested with hostile
values in its parameters and with hostile query strings, as a superuser and as a
researcher: nothing answers 500, and what the middleware refuses (NUL bytes,
over-long values, unreadable patterns) answers the readable 400 page. Forms posted
with a NUL are refused and save nothing; long legitimate text still goes through. The
safety net (a value the database refuses after all) is tested with views of this
module that pass input to the database unchecked.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DataError, OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, path, reverse
from django.views.decorators.csrf import csrf_exempt

from evidence.models import EvidenceItem
from evidence.tests.files import make_jpeg
from tracker.accounts import hostile_input
from tracker.accounts.hostile_input import (
    BAD_PATTERN,
    MAX_URL_TEXT,
    TOO_LONG,
    UNSTORABLE,
    UNUSABLE_VALUE,
    check_request,
)
from tracker.accounts.security import BadInput
from tracker.admin.tests.test_admin_forms import incident_post
from tracker.models import Incident, Official, Place
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

OVER_LONG = "x" * (MAX_URL_TEXT + 500)

# Substituted for every parameter of every URL pattern: value, and whether the
# middleware must refuse it (400) or the view may answer anything below 500.
HOSTILE_PARAMETERS: list[tuple[str, bool]] = [
    ("\x00", True),
    ("EV-000001\x00", True),
    (OVER_LONG, True),
    ("(", False),  # not a pattern where it stands: the view answers (404, redirect...)
    ("%00", False),  # the three characters, percent-encoded on the way: ordinary text
]
# Appended to every URL pattern (its parameters filled with an ordinary value).
HOSTILE_QUERIES: list[tuple[str, bool]] = [
    ("q=%00", True),
    ("title__regex=(", True),
    ("p=%00", True),
    ("%00=1", True),  # in the parameter's name
    ("q=" + "a" * 5000, True),
    ("o=" + "1" * 5000, True),
    # Not refused by the middleware, so the page must cope; in one request to keep the
    # walk quick. %ED%A0%80 is a surrogate's UTF-8 form: Django decodes it as U+FFFD.
    ("q=(%ED%A0%80&p=99999999999999999999&o=-9.x&all=&e=1", False),
]

# <conv:name>, (?P<name>...) or an unnamed group, in the route of a URL pattern.
_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)|\([^)]*\)")


def every_route(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[str]:
    """The full route of every URL pattern of the project, the admin's included."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from every_route(entry, prefix + str(entry.pattern))
        else:
            assert isinstance(entry, URLPattern)
            yield prefix + str(entry.pattern)


def fill(route: str, value_for) -> str:
    """The URL of ``route`` with each parameter replaced by ``value_for(name)``
    (percent-encoded, as a browser would send it)."""
    filled = _PARAMETER.sub(lambda m: quote(value_for(m.group(1) or m.group(2)), safe=""), route)
    return "/" + filled.replace("^", "").replace("$", "")


@pytest.fixture
def incident(researcher) -> Incident:
    return f.IncidentFactory(created_by=researcher, title="Strike on the bakery")


def ordinary_value(incident: Incident):
    """A parameter value such as the project's own links carry."""
    values = {
        "code": incident.code,
        "action": "submit",
        "app_label": "tracker",
        "content_type_id": str(ContentType.objects.get_for_model(Incident).pk),
        "url": "no-such-page/",
    }
    return lambda name: values.get(name, str(incident.pk))


def assert_readable_refusal(response, reason: str, *, served: bool = True) -> None:
    assert response.status_code == 400
    page = response.content.decode()
    assert "<title>Request refused" in page
    assert reason in page
    assert "Traceback" not in page
    if served:  # through all the middleware: CSP's sits outside the refusal
        assert "Content-Security-Policy" in response.headers


def walk(client: Client, incident: Incident) -> list[str]:
    """Every route with every hostile parameter and query; the unexpected answers."""
    wrong = []

    def expect(url: str, refused: bool) -> None:
        status = client.get(url).status_code
        if status >= 500 or (refused and status != 400):
            shown = url if len(url) < 150 else url[:150] + "…"
            wrong.append(f"GET {shown!r}: {status}, expected {400 if refused else '< 500'}")

    ordinary = ordinary_value(incident)
    for route in sorted(set(every_route())):
        if _PARAMETER.search(route):
            for value, refused in HOSTILE_PARAMETERS:
                expect(fill(route, lambda name, value=value: value), refused)
        base = fill(route, ordinary)
        for query, refused in HOSTILE_QUERIES:
            expect(f"{base}?{query}", refused)
    return wrong


@pytest.mark.parametrize("persona", ["superuser", "researcher"])
def test_no_url_pattern_answers_500_to_hostile_input(request, incident, persona):
    client = Client(raise_request_exception=False)
    client.force_login(request.getfixturevalue(persona))
    routes = list(every_route())
    assert len(routes) > 100  # the admin's patterns are walked too
    wrong = walk(client, incident)
    assert not wrong, f"{len(wrong)} unexpected answers:\n" + "\n".join(wrong)


def test_the_refusals_reported_in_issue_14(client, superuser, incident):
    client.force_login(superuser)
    item = f.EvidenceItemFactory()
    assert_readable_refusal(client.get(f"/evidence/{item.code}%00/original"), UNSTORABLE)
    assert_readable_refusal(client.get("/admin/tracker/incident/?title__regex=("), BAD_PATTERN)
    assert_readable_refusal(client.get("/admin/tracker/incident/?q=" + OVER_LONG), TOO_LONG)
    assert_readable_refusal(client.get("/incidents/" + OVER_LONG + "/"), TOO_LONG)


def test_anonymous_visitors_get_the_same_refusal(client):
    assert_readable_refusal(client.get("/admin/login/?next=%00"), UNSTORABLE)


def test_a_nul_in_a_cookie_or_header_is_refused_before_the_session_is_read(client, superuser):
    """PostgreSQL would refuse the session key; the lookup runs before any view."""
    client.force_login(superuser)
    client.cookies["sessionid"] = client.cookies["sessionid"].value + "\x00"
    assert_readable_refusal(client.get("/admin/"), UNSTORABLE)
    fresh = Client()
    assert_readable_refusal(fresh.get("/admin/login/", HTTP_USER_AGENT="x\x00y"), UNSTORABLE)


def test_lone_surrogates_are_refused():
    """Django's decoding of a URL or form replaces them (see the walk's %ED%A0%80), so
    they cannot arrive that way today; the check refuses them should that change."""
    request = HttpRequest()
    request.method = "GET"
    request.path = "/incidents/"
    request.GET = QueryDict(mutable=True)
    request.GET["q"] = "\ud800"
    with pytest.raises(BadInput) as refused:
        check_request(request)
    assert refused.value.reason == UNSTORABLE


def test_a_search_of_hundreds_of_words_is_no_server_error(superuser):
    """Within the length limit, 999 words would make the admin's default search one
    nested condition per word, deeper than SQLite allows; the admin searches the first
    words only (tracker.admin.kit.MAX_SEARCH_WORDS)."""
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    response = client.get("/admin/evidence/evidenceitem/?q=" + "a+" * 999)
    assert response.status_code == 200


def test_limits_are_the_boundary(client, researcher):
    client.force_login(researcher)
    exactly = "a" * MAX_URL_TEXT
    assert client.get(f"/incidents/?q={exactly}").status_code == 200
    assert client.get(f"/incidents/?q={exactly}a").status_code == 400


# --- Forms ----------------------------------------------------------------------------------

ADD_FORMS = [
    ("admin:tracker_incident_add", Incident, {"title": "Strike\x00", "sensitivity": "normal"}),
    ("admin:tracker_place_add", Place, {"name": "Kafr\x00Nabl"}),
    ("admin:tracker_official_add", Official, {"name": "Official\x00"}),
    ("admin:tracker_place_add", Place, {"name": "Kafr Nabl", "notes\x00": "x"}),  # in a name
]


@pytest.mark.parametrize(("url_name", "model", "data"), ADD_FORMS)
def test_a_nul_in_a_posted_form_is_refused_and_nothing_saved(superuser, url_name, model, data):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    before = model.objects.count()
    assert_readable_refusal(client.post(reverse(url_name), data), UNSTORABLE)
    assert model.objects.count() == before


def test_a_nul_in_an_upload_form_field_is_refused(client, researcher):
    client.force_login(researcher)
    upload = SimpleUploadedFile("IMG_0001.jpg", make_jpeg(), content_type="image/jpeg")
    response = client.post(
        reverse("admin:evidence_evidenceitem_add"),
        {"files": [upload], "kind": "photo", "title": "Seen\x00"},
    )
    assert_readable_refusal(response, UNSTORABLE)
    assert not EvidenceItem.objects.exists()


def test_a_long_narrative_is_saved(client, researcher):
    """Form fields have no length limit of ours: a narrative of 60,000 characters, in
    two scripts and with line breaks, is saved whole."""
    place = f.PlaceFactory(name="Kafr Nabl")
    line = "Witnesses heard two aircraft at dawn. شهود سمعوا طائرتين عند الفجر.\n"
    narrative = (line * 900)[:60_000].strip()
    assert len(narrative) > 50_000
    client.force_login(researcher)
    response = incident_post(client, place=place.pk, narrative=narrative)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Incident.objects.get().narrative == narrative


def test_an_ordinary_search_is_not_refused(client, researcher, incident):
    client.force_login(researcher)
    for url in ("/incidents/?q=bakery", "/admin/tracker/incident/?q=bakery"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert incident.code in response.content.decode(), url
    long_but_fine = "/incidents/?q=" + quote("bakery " + "مخبز " * 300)
    assert client.get(long_but_fine).status_code == 200


# --- The safety net: a value the database refuses after the checks --------------------------


def regex_search(request: HttpRequest) -> HttpResponse:
    """Passes a pattern to the database under a name the middleware does not check."""
    with transaction.atomic():
        f.PlaceFactory(name="Written before the failing query")
        found = Incident.objects.filter(title__regex=request.GET["pattern"]).exists()
    return HttpResponse(str(found))


def python_pattern(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(bool(re.compile(request.GET["pattern"]).search("bakery"))))


@csrf_exempt
def json_lookup(request: HttpRequest) -> HttpResponse:
    """A NUL inside a JSON body is no form field: only the net stands behind it."""
    name = json.loads(request.body)["name"]
    return HttpResponse(str(Place.objects.filter(name=name).exists()))


def locked(request: HttpRequest) -> HttpResponse:
    raise OperationalError("database is locked")


urlpatterns = [
    path("regex/", regex_search),
    path("pattern/", python_pattern),
    path("json/", json_lookup),
    path("locked/", locked),
]
handler400 = "tracker.accounts.security.bad_request"


@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
def test_a_pattern_the_database_refuses_is_a_400_and_the_connection_stays_usable(researcher):
    f.IncidentFactory(created_by=researcher, title="Strike on the bakery")
    client = Client(raise_request_exception=False)
    response = client.get("/regex/", {"pattern": "("})
    assert_readable_refusal(response, UNUSABLE_VALUE)
    # The view's write was rolled back with its block, and the next query works.
    assert not Place.objects.filter(name="Written before the failing query").exists()
    assert client.get("/regex/", {"pattern": "bak+ery"}).content == b"True"


@pytest.mark.urls(__name__)
def test_a_pattern_python_refuses_is_a_400(client):
    assert_readable_refusal(client.get("/pattern/", {"pattern": "[a-"}), UNUSABLE_VALUE)
    assert client.get("/pattern/", {"pattern": "bak+"}).content == b"True"


@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
def test_a_nul_the_database_refuses_is_a_400():
    client = Client(raise_request_exception=False)
    response = client.post("/json/", json.dumps({"name": "Kafr\x00Nabl"}), "application/json")
    if connection.vendor == "postgresql":
        assert_readable_refusal(response, UNUSABLE_VALUE)
    else:  # SQLite stores NUL: nothing to refuse
        assert response.content == b"False"
    ordinary = client.post("/json/", json.dumps({"name": "Kafr Nabl"}), "application/json")
    assert ordinary.status_code == 200


def test_an_open_transaction_of_the_caller_is_marked_for_rollback(rf):
    """Inside a caller's block (a test's, a script's), nothing of the failed request
    commits."""
    middleware = hostile_input.HostileInputMiddleware(lambda request: HttpResponse())
    with transaction.atomic():
        response = middleware.process_exception(rf.get("/"), re.error("bad pattern"))
        assert not transaction.get_rollback()  # Python refused it; the database did nothing
        too_deep = OperationalError("Expression tree is too large (maximum depth 1000)")
        middleware.process_exception(rf.get("/"), too_deep)
        assert not transaction.get_rollback()  # SQLite refuses before running anything
        response = middleware.process_exception(rf.get("/"), DataError("refused"))
        assert transaction.get_rollback()
    assert_readable_refusal(response, UNUSABLE_VALUE, served=False)


@pytest.mark.urls(__name__)
def test_other_database_failures_stay_server_errors():
    """The net catches refused values only: a locked database is not the user's fault."""
    client = Client(raise_request_exception=False)
    assert client.get("/locked/").status_code == 500
    assert not hostile_input.is_refused_input(OperationalError("database is locked"))


def test_an_unreadable_body_is_left_to_csrf_and_the_view(rf):
    """A client that went away mid-body: the check does not turn it into a 500."""

    class Gone(io.RawIOBase):
        def read(self, *args):
            raise OSError("connection reset")

    request = rf.post("/admin/login/", "a=b", content_type="application/x-www-form-urlencoded")
    request._stream = Gone()
    check_request(request)  # no exception: CSRF and the view meet the error as before


# --- Found by playing the adversary after the first round ------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "place=²",
        "force=²",
        "unit=²",
        "official=¹²",
        "occurred_before=9999-12-31",
        "occurred_after=0001-01-01",
    ],
)
@pytest.mark.parametrize("page", ["/incidents/", "/map/", "/timeline/", "/reports/case/"])
def test_workspace_filters_with_unusual_digits_or_dates_are_not_a_500(
    client, researcher, page, query
):
    client.force_login(researcher)
    assert client.get(f"{page}?{query}").status_code < 500


@pytest.mark.parametrize(
    "url",
    [
        "/admin/evidence/flightobservation/timeline/?day=9999-12-31",
        "/admin/evidence/flightobservation/timeline/?day=0001-01-01",
        "/admin/evidence/flightobservation/?observed_on=9999-12-31",
        "/admin/tracker/incident/1/history/x/",
        "/admin/evidence/evidenceitem/1/history/%C2%B2/",
    ],
)
def test_admin_days_and_versions_no_calendar_holds_are_not_a_500(client, editor, url):
    from tracker.tests import factories as f

    f.IncidentFactory()
    client.force_login(editor)
    assert client.get(url).status_code < 500


def test_a_date_no_period_can_be_computed_for_is_refused_next_to_its_field(client, editor):
    """9999-12-31 saved, then every page of the incident failed (the day after overflows);
    0001-01-01 in the case's time zone is a date before Christ in UTC."""
    from tracker.responsibility.periods import YEAR_OUT_OF_RANGE
    from tracker.tests import factories as f

    incident = f.IncidentFactory(created_by=editor)
    client.force_login(editor)
    url = f"/admin/tracker/incident/{incident.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    data = {
        "title": incident.title,
        "sensitivity": incident.sensitivity,
        "occurred_start_0": "2019-05-05",
        "occurred_start_1": "07:30",
        "start_precision": "year",
        "occurred_end_0": "9999-12-31",
        "occurred_end_1": "23:59",
        "civilian_harm": incident.civilian_harm,
        "location_precision": incident.location_precision,
    }
    for prefix in ("evidence_links", "attributions", "relations_from"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    response = client.post(url, data)
    assert response.status_code == 200
    assert YEAR_OUT_OF_RANGE in response.content.decode()
    incident.refresh_from_db()
    assert incident.occurred_end is None
    assert client.get(f"/incidents/{incident.code}/").status_code == 200
