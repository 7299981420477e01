# ruff: noqa: E501 - the tables below are wider than a line, one row per URL
"""Least privilege: every URL pattern of the project, requested as every persona.

The project's own URLs are listed in PROJECT, one row per URL (and object) with the
expected answer for each persona. The admin's per-model URLs follow one rule
(``admin_expectation``) from MODEL_RIGHTS, the table of what each role may view, add,
change and delete. ``test_every_url_pattern_is_covered`` fails when a URL pattern
appears that neither PROJECT nor the rule covers: add it to one of them.

Answers: a status code, or LOGIN (302 to the admin's login page).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from evidence import intake
from evidence.models import CustodyEvent, EvidenceItem
from evidence.tests.files import make_jpeg
from evidence.tests.views_helpers import add_derivative
from tracker import workflow
from tracker.models import (
    AttackType,
    Incident,
    ReviewEvent,
    Sensitivity,
    SourceType,
    TargetType,
    Weapon,
)
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db

LOGIN = "login"  # 302 to the admin's login page
PERSONAS = ("anonymous", "outsider", "researcher", "reviewer", "editor")
PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class Row:
    """One URL of the project, with one object, and the answer for each persona."""

    name: str  # the URL pattern's name ("" for the unnamed root)
    target: Callable[[SimpleNamespace], str]  # the URL, built from the test's objects
    expected: tuple  # anonymous, outsider, researcher, reviewer, editor
    method: str = "GET"
    note: str = ""


def url(name: str, *args: Callable[[SimpleNamespace], object], query: str = ""):
    def build(w: SimpleNamespace) -> str:
        return reverse(name, args=[arg(w) for arg in args]) + query

    return build


def code(attr: str) -> Callable[[SimpleNamespace], str]:
    return lambda w: getattr(w, attr).code


def pk(attr: str) -> Callable[[SimpleNamespace], int]:
    return lambda w: getattr(w, attr).pk


def fixed(value: object) -> Callable[[SimpleNamespace], object]:
    return lambda w: value


ALL_200 = (LOGIN, 403, 200, 200, 200)  # workspace page: team roles only
TEAM_404 = (LOGIN, 403, 404, 404, 404)  # not there, or restricted: absent for the team
FILE_200 = (403, 403, 200, 200, 200)  # evidence files: anonymous learns nothing
STAFF_200 = (LOGIN, LOGIN, 200, 200, 200)  # admin pages: staff only
STAFF_302 = (LOGIN, LOGIN, 302, 302, 302)
STAFF_403 = (LOGIN, LOGIN, 403, 403, 403)
STAFF_404 = (LOGIN, LOGIN, 404, 404, 404)
AUTOCOMPLETE = "?app_label=tracker&model_name=attribution&field_name=incident&term="

# fmt: off
PROJECT: list[Row] = [
    #   name                                target                                        anonymous, outsider, researcher, reviewer, editor
    Row("",                                 fixed("/"),                                   (302, 302, 302, 302, 302), note="to /incidents/"),
    # The workspace (tracker.access): view_incident, and restricted incidents absent.
    Row("incidents:list",                   url("incidents:list"),                        ALL_200),
    Row("incidents:export_csv",             url("incidents:export_csv"),                  ALL_200),
    Row("incidents:export_geojson",         url("incidents:export_geojson"),              ALL_200),
    Row("incidents:detail",                 url("incidents:detail", code("incident")),    ALL_200),
    Row("incidents:detail",                 url("incidents:detail", code("restricted")),  TEAM_404, note="restricted"),
    Row("incidents:detail",                 url("incidents:detail", fixed("INC-9999")),   TEAM_404, note="unknown"),
    Row("map",                              url("map"),                                   ALL_200),
    Row("timeline",                         url("timeline"),                              ALL_200),
    Row("case_report",                      url("case_report"),                           ALL_200),
    # Officials (tracker.workspace.officials): view_official.
    Row("officials:search",                 url("officials:search", query="?q=Official"), ALL_200),
    Row("officials:dossier",                url("officials:dossier", pk("official")),     ALL_200),
    Row("officials:dossier",                url("officials:dossier", fixed(999999)),      TEAM_404, note="unknown"),
    Row("officials:dossier_print",          url("officials:dossier_print", pk("official")), ALL_200),
    Row("officials:dossier_csv",            url("officials:dossier_csv", pk("official")), ALL_200),
    # Evidence files (evidence.access): staff with view_evidenceitem; protected items
    # need evidence.view_protected_identity, which no role has (or to be their uploader).
    Row("evidence:original",                url("evidence:original", code("photo")),      FILE_200),
    Row("evidence:thumbnail",               url("evidence:thumbnail", code("photo")),     FILE_200),
    Row("evidence:preview",                 url("evidence:preview", code("photo")),       FILE_200),
    Row("evidence:original",                url("evidence:original", code("testimony")),  (403, 403, 403, 403, 403), note="protected"),
    Row("evidence:thumbnail",               url("evidence:thumbnail", code("testimony")), (403, 403, 403, 403, 403), note="protected"),
    Row("evidence:preview",                 url("evidence:preview", code("testimony")),   (403, 403, 403, 403, 403), note="protected"),
    Row("evidence:original",                url("evidence:original", fixed("EV-999999")), (403, 403, 404, 404, 404), note="unknown (403 to whoever may open no file)"),
    # Review pages in the admin.
    Row("review_queue",                     url("review_queue"),                          STAFF_200),
    Row("my_work",                          url("my_work"),                               STAFF_200),
    # Commander suggestions: POST only, add_attribution and the right to edit the incident
    # (its author's draft: the author and editors; a reviewer only once it is submitted).
    Row("incident_add_commander",           url("incident_add_commander", pk("incident")), (LOGIN, LOGIN, 405, 405, 405)),
    Row("incident_add_commander",           url("incident_add_commander", pk("incident")), (LOGIN, LOGIN, 302, 403, 302), method="POST"),
    Row("incident_add_commander",           url("incident_add_commander", pk("restricted")), (LOGIN, LOGIN, 404, 404, 404), method="POST", note="restricted"),
    # Second factor: nobody owes one here (TRACKER_OTP_REQUIRED_GROUPS is empty).
    Row("otp_setup",                        url("otp_setup"),                             STAFF_302),
    Row("otp_verify",                       url("otp_verify"),                            STAFF_302),
    # The admin site's own pages.
    Row("admin:index",                      url("admin:index"),                           STAFF_200),
    Row("admin:login",                      url("admin:login"),                           (200, 200, 302, 302, 302)),
    Row("admin:logout",                     url("admin:logout"),                          (302, 302, 405, 405, 405), note="POST only"),
    Row("admin:password_change",            url("admin:password_change"),                 STAFF_200),
    Row("admin:password_change_done",       url("admin:password_change_done"),            STAFF_200),
    Row("admin:autocomplete",               url("admin:autocomplete", query=AUTOCOMPLETE), STAFF_200),
    Row("admin:jsi18n",                     url("admin:jsi18n"),                          STAFF_200),
    Row("admin:view_on_site",               url("admin:view_on_site", lambda w: w.incident_type, pk("incident")), STAFF_302),
    Row("admin_view_on_site",               url("admin:view_on_site", lambda w: w.incident_type, pk("incident")), STAFF_302, note="the admin's, checked"),
    Row("admin_view_on_site",               url("admin:view_on_site", lambda w: w.incident_type, pk("restricted")), STAFF_404, note="restricted"),
    Row("admin:app_list",                   url("admin:app_list", fixed("tracker")),      STAFF_200),
    Row("admin:app_list",                   url("admin:app_list", fixed("evidence")),     STAFF_200),
    Row("admin:app_list",                   url("admin:app_list", fixed("auth")),         STAFF_404),
    Row("admin:app_list",                   url("admin:app_list", fixed("axes")),         STAFF_404),
    Row("admin:app_list",                   url("admin:app_list", fixed("otp_totp")),     STAFF_404),
    Row("admin/(?P<url>.*)$",               fixed("/admin/no-such-page/"),                STAFF_404, note="catch-all"),
    # Flight pages (evidence.flights.admin): view_flightobservation; confirming needs review_incident.
    Row("admin:evidence_flightobservation_timeline",   url("admin:evidence_flightobservation_timeline"), STAFF_200),
    Row("admin:evidence_flightobservation_candidates", url("admin:evidence_flightobservation_candidates", pk("incident")), STAFF_200),
    Row("admin:evidence_flightobservation_candidates", url("admin:evidence_flightobservation_candidates", pk("restricted")), STAFF_404, note="restricted"),
    Row("admin:evidence_flightobservation_confirm",    url("admin:evidence_flightobservation_confirm", pk("incident")), (LOGIN, LOGIN, 403, 302, 302), method="POST"),
    Row("admin:evidence_flightobservation_confirm",    url("admin:evidence_flightobservation_confirm", pk("restricted")), (LOGIN, LOGIN, 403, 404, 404), method="POST", note="restricted"),
    # Authenticator devices are the administrator's: no role may see their keys.
    Row("admin:auth_user_password_change",  lambda w: reverse("admin:auth_user_password_change", args=[w.objects["auth.user"].pk]), STAFF_403),
    Row("admin:otp_totp_totpdevice_config", url("admin:otp_totp_totpdevice_config", pk("device")), STAFF_403),
    Row("admin:otp_totp_totpdevice_qrcode", url("admin:otp_totp_totpdevice_qrcode", pk("device")), STAFF_403),
    # Review steps of one record (tracker.admin.review): the page asks to confirm.
    # A restricted incident is absent from the admin too: its pages answer "does not exist"
    # (the admin's change and delete pages redirect to the index with that message).
    Row("admin:tracker_incident_review",    url("admin:tracker_incident_review", pk("restricted"), fixed("submit")), STAFF_404, note="restricted"),
    Row("admin:tracker_incident_change",    url("admin:tracker_incident_change", pk("restricted")), STAFF_302, note="restricted"),
    Row("admin:tracker_incident_delete",    url("admin:tracker_incident_delete", pk("restricted")), STAFF_403, note="no role deletes"),
    Row("admin:tracker_incident_history",   url("admin:tracker_incident_history", pk("restricted")), STAFF_404, note="restricted"),
    Row("admin:tracker_incident_simple_history", lambda w: history_form_url(w.restricted), STAFF_404, note="restricted"),
    Row("admin:tracker_attribution_change", url("admin:tracker_attribution_change", pk("restricted_attribution")), STAFF_302, note="restricted"),
    Row("admin:tracker_attribution_history", url("admin:tracker_attribution_history", pk("restricted_attribution")), STAFF_404, note="restricted"),
]

# What each role may do in the admin, per model: v(iew), a(dd), c(hange), d(elete).
# Anonymous visitors and the outsider (not staff) get the login page everywhere.
#   model                          researcher reviewer editor
MODEL_RIGHTS: dict[str, tuple[str, str, str]] = {
    "auth.group":                  ("",    "",    ""),      # the administrator's
    "auth.user":                   ("",    "",    ""),
    "axes.accessattempt":          ("",    "",    ""),
    "axes.accesslog":              ("",    "",    ""),
    "axes.accessfailurelog":       ("",    "",    ""),
    "otp_totp.totpdevice":         ("",    "",    ""),
    "tracker.attacktype":          ("v",   "v",   "vacd"),  # vocabularies: editors
    "tracker.sourcetype":          ("v",   "v",   "vacd"),
    "tracker.weapon":              ("v",   "v",   "vacd"),
    "tracker.targettype":          ("v",   "v",   "vacd"),
    "tracker.place":               ("vac", "vac", "vacd"),
    "tracker.incident":            ("vac", "vac", "vac"),   # never deleted by a role
    "tracker.force":               ("v",   "v",   "vacd"),  # forces, units, officials,
    "tracker.unit":                ("v",   "v",   "vacd"),  # postings: editors
    "tracker.official":            ("v",   "v",   "vacd"),
    "tracker.position":            ("v",   "v",   "vacd"),
    "tracker.attribution":         ("vac", "vac", "vacd"),
    "tracker.reviewevent":         ("v",   "v",   "v"),     # written by the workflow only
    "evidence.flightlog":          ("va",  "va",  "va"),    # imported, then read-only
    "evidence.flightobservation":  ("v",   "v",   "v"),
    "evidence.evidenceitem":       ("vac", "vac", "vac"),   # never deleted by a role
    "evidence.witness":            ("vac", "vac", "vac"),   # identity fields need a permission
    "evidence.custodyevent":       ("v",   "v",   "v"),     # written by evidence.files.custody only
    "evidence.satelliteimage":     ("vac", "vac", "vac"),
    "evidence.testimony":          ("vac", "vac", "vac"),
}
# fmt: on

# The per-model URLs the rule covers, by the suffix of their name, and the right each needs.
MODEL_VIEWS = {
    "changelist": "v",
    "add": "a",
    "change": "v",  # read-only without the change right
    "history": "v",
    "simple_history": "v",  # one historical version
    "delete": "d",
    "review": "v",  # the confirmation page of a review step
    "object": "",  # admin/<app>/<model>/<id>/: a redirect to the change page
}
ROLE_COLUMN = {"researcher": 0, "reviewer": 1, "editor": 2}


def admin_expectation(persona: str, model: str, view: str) -> int | str:
    """The answer to ``persona`` for the admin's ``view`` of ``model`` (see MODEL_RIGHTS)."""
    if persona not in ROLE_COLUMN:  # anonymous, or not staff
        return LOGIN
    if view == "object":
        return 302
    rights = MODEL_RIGHTS[model][ROLE_COLUMN[persona]]
    return 200 if MODEL_VIEWS[view] in rights else 403


# --- The objects behind the URLs ------------------------------------------------------------


def ingest(data: bytes, *, by: User, kind: str, **fields) -> EvidenceItem:
    return intake.ingest(io.BytesIO(data), filename="upload", kind=kind, by=by, **fields).item


def build_world(researcher, other_researcher, reviewer, editor) -> SimpleNamespace:
    """One object of every model in the admin, and the cases of the PROJECT table."""
    w = SimpleNamespace()
    w.incident = f.IncidentFactory(created_by=researcher, title="Open strike on the bakery")
    w.restricted = f.IncidentFactory(
        created_by=other_researcher,
        title="Restricted strike on the clinic",
        sensitivity=Sensitivity.RESTRICTED,
    )
    w.submitted = f.IncidentFactory(created_by=researcher)
    workflow.transition(w.submitted, workflow.Action.SUBMIT, by=researcher)
    w.photo = ingest(make_jpeg(), by=researcher, kind="photo", incident=w.incident)
    w.testimony = ingest(  # protected, and not the researcher persona's own upload
        b"The witness heard two aircraft at dawn.\n",
        by=other_researcher,
        kind="testimony",
        incident=w.incident,
        is_protected=True,
    )
    for item in (w.photo, w.testimony):
        add_derivative(item, "thumbnail", make_jpeg(size=(32, 24), gps=False))
        add_derivative(item, "preview", make_jpeg(size=(48, 36), gps=False))
    w.official = f.OfficialFactory(name="Official Akram")
    w.incident_type = ContentType.objects.get_for_model(Incident).pk
    position = f.PositionFactory(official=w.official, is_command=True)
    attribution = f.AttributionFactory(
        incident=w.incident, unit=position.unit, created_by=researcher
    )
    w.restricted_attribution = f.AttributionFactory(incident=w.restricted, unit=position.unit)
    testimony = f.TestimonyFactory(item=w.testimony)
    observation = f.FlightObservationFactory()
    w.device = TOTPDevice.objects.create(user=editor, name="phone", confirmed=True)
    attempt = {"username": "someone", "ip_address": "192.0.2.1", "user_agent": "x"}
    w.objects = {  # model label: the object its admin URLs are requested with
        "auth.group": Group.objects.get(name="Researcher"),
        "auth.user": editor,
        "axes.accessattempt": AccessAttempt.objects.create(failures_since_start=1, **attempt),
        "axes.accesslog": AccessLog.objects.create(**attempt),
        "axes.accessfailurelog": AccessFailureLog.objects.create(**attempt),
        "otp_totp.totpdevice": w.device,
        "tracker.attacktype": AttackType.objects.first(),
        "tracker.sourcetype": SourceType.objects.first(),
        "tracker.weapon": Weapon.objects.first(),
        "tracker.targettype": TargetType.objects.first(),
        "tracker.place": w.incident.place,
        "tracker.incident": w.incident,
        "tracker.force": position.unit.force,
        "tracker.unit": position.unit,
        "tracker.official": w.official,
        "tracker.position": position,
        "tracker.attribution": attribution,
        "tracker.reviewevent": ReviewEvent.objects.get(object_id=w.submitted.pk),
        "evidence.flightlog": observation.log,
        "evidence.flightobservation": observation,
        "evidence.evidenceitem": w.photo,
        "evidence.witness": testimony.witness,
        "evidence.custodyevent": CustodyEvent.objects.filter(item=w.photo).first(),
        "evidence.satelliteimage": f.SatelliteImageFactory(),
        "evidence.testimony": testimony,
    }
    return w


@pytest.fixture
def world(researcher, other_researcher, reviewer, editor) -> SimpleNamespace:
    return build_world(researcher, other_researcher, reviewer, editor)


def client_for(request, persona: str) -> Client:
    client = Client()
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    return client


# --- Walking the URL patterns ---------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    route: str
    name: str  # namespaced, e.g. "admin:tracker_incident_change"; "" when unnamed


def every_pattern(resolver: URLResolver | None = None, route="", namespace="") -> Iterator[Pattern]:
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from every_pattern(entry, route + str(entry.pattern), inner)
        else:
            assert isinstance(entry, URLPattern)
            name = f"{namespace}{entry.name}" if entry.name else ""
            yield Pattern(route + str(entry.pattern), name)


def model_urls() -> dict[str, tuple[str, str]]:
    """The admin's per-model URL names (and the unnamed redirects, by route), each with
    its model label and the view it is in MODEL_VIEWS."""
    found = {}
    for model in admin.site._registry:
        meta = model._meta
        prefix = f"admin:{meta.app_label}_{meta.model_name}_"
        for view in MODEL_VIEWS:
            found[prefix + view] = (meta.label_lower, view)
        found[f"admin/{meta.app_label}/{meta.model_name}/<path:object_id>/"] = (
            meta.label_lower,
            "object",
        )
    return found


def test_every_url_pattern_is_covered():
    """A new URL pattern must get a row in PROJECT or fall under the per-model rule."""
    listed = {row.name for row in PROJECT}
    per_model = model_urls()
    uncovered = [
        p
        for p in every_pattern()
        if (p.name or p.route) not in listed and (p.name or p.route) not in per_model
    ]
    assert not uncovered, "add these URL patterns to PROJECT or MODEL_RIGHTS: " + ", ".join(
        p.name or p.route for p in uncovered
    )
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(MODEL_RIGHTS), "every model in the admin needs a MODEL_RIGHTS row"


def test_model_rights_match_the_roles(researcher, reviewer, editor, rf):
    """MODEL_RIGHTS says what the roles' permissions give (admin's model-level answers)."""
    wrong = []
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        for persona, user in (
            ("researcher", researcher),
            ("reviewer", reviewer),
            ("editor", editor),
        ):
            request = rf.get("/admin/")
            request.user = user
            rights = "".join(
                letter
                for letter, allowed in (
                    ("v", model_admin.has_view_permission(request)),
                    ("a", model_admin.has_add_permission(request)),
                    ("c", model_admin.has_change_permission(request)),
                    ("d", model_admin.has_delete_permission(request)),
                )
                if allowed
            )
            if rights != MODEL_RIGHTS[label][ROLE_COLUMN[persona]]:
                wrong.append(f"{label} {persona}: {rights or '-'}")
    assert not wrong, wrong


def admin_requests(w: SimpleNamespace) -> Iterator[tuple[str, str, str]]:
    """(model label, view, URL) for every per-model admin URL of every registered model."""
    names = {p.name for p in every_pattern()}
    for model in admin.site._registry:
        meta = model._meta
        label = meta.label_lower
        obj = w.objects[label]
        prefix = f"admin:{meta.app_label}_{meta.model_name}_"
        yield label, "changelist", reverse(prefix + "changelist")
        yield label, "add", reverse(prefix + "add")
        for view in ("change", "history", "delete"):
            yield label, view, reverse(prefix + view, args=[obj.pk])
        yield label, "object", f"/admin/{meta.app_label}/{meta.model_name}/{obj.pk}/"
        if prefix + "simple_history" in names:
            version = obj.history.order_by("history_id").first().history_id
            yield (
                label,
                "simple_history",
                reverse(prefix + "simple_history", args=[obj.pk, version]),
            )
        if prefix + "review" in names:
            yield label, "review", reverse(prefix + "review", args=[obj.pk, "submit"])


def answer(client: Client, method: str, target: str) -> int | str:
    response = client.post(target) if method == "POST" else client.get(target)
    if response.status_code == 302 and response.url.startswith(reverse("admin:login")):
        return LOGIN
    return response.status_code


@pytest.mark.parametrize("persona", PERSONAS)
def test_project_urls(request, world, persona):
    """Every row of PROJECT, as ``persona``; all mismatches reported at once."""
    client = client_for(request, persona)
    column = PERSONAS.index(persona)
    wrong = []
    for row in PROJECT:
        target = row.target(world)
        got = answer(client, row.method, target)
        if got != row.expected[column]:
            wrong.append(
                f"{row.method} {target} ({row.note or row.name}): {got}, expected {row.expected[column]}"
            )
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("persona", PERSONAS)
def test_admin_model_urls(request, world, persona):
    """Every per-model admin URL of every registered model, as ``persona``."""
    client = client_for(request, persona)
    wrong = []
    for label, view, target in admin_requests(world):
        got = answer(client, "GET", target)
        expected = admin_expectation(persona, label, view)
        if got != expected:
            wrong.append(f"GET {target} ({label} {view}): {got}, expected {expected}")
    assert not wrong, "\n".join(wrong)


# --- Object-level rules ---------------------------------------------------------------------


def history_form_url(obj) -> str:
    meta = obj._meta
    version = obj.history.order_by("history_id").first().history_id
    return reverse(
        f"admin:{meta.app_label}_{meta.model_name}_simple_history", args=[obj.pk, version]
    )


def test_history_page_cannot_overwrite_a_record_read_only_to_the_user(client, world, researcher):
    """A researcher may only view officials: posting the historical version's form must
    not save it (simple_history saves any valid POST from whoever may view)."""
    official = world.official
    client.force_login(researcher)
    response = client.post(history_form_url(official), {"name": "Renamed by a researcher"})
    official.refresh_from_db()
    assert response.status_code in (403, 405)
    assert official.name == "Official Akram"


def test_history_page_cannot_revert_a_verified_record(client, world, researcher, reviewer, editor):
    """Reverting to a draft version would unlock a verified record behind the workflow."""
    incident = world.submitted
    workflow.transition(incident, workflow.Action.VERIFY, by=reviewer)
    client.force_login(researcher)
    response = client.post(history_form_url(incident), {"title": "Rewritten after review"})
    incident.refresh_from_db()
    assert response.status_code in (403, 405)
    assert incident.status == "verified"
    assert incident.title != "Rewritten after review"


def flight_day(w: SimpleNamespace) -> str:
    day = timezone.localdate(w.incident.occurred_start)
    return reverse("admin:evidence_flightobservation_timeline") + f"?day={day.isoformat()}"


# Pages that list incidents: the team's open incident is there, the restricted one is not.
RESTRICTED_PAGES = [
    url("incidents:list"),
    url("incidents:export_csv"),
    url("incidents:export_geojson"),
    url("case_report"),
    url("officials:dossier", pk("official")),
    url("officials:dossier_print", pk("official")),
    url("officials:dossier_csv", pk("official")),
    url("admin:tracker_incident_changelist"),
    url("admin:tracker_attribution_changelist"),
    url("admin:autocomplete", query=AUTOCOMPLETE),
    flight_day,
]
COUNTS_ONLY = [url("map"), url("timeline")]  # no codes: only absence can be checked


@pytest.mark.parametrize("persona", ["researcher", "reviewer", "editor"])
def test_restricted_incident_is_absent_for_the_team(request, world, persona):
    """Lists, exports, maps, reports, dossiers and admin lists hold no trace of it."""
    client = client_for(request, persona)
    world.restricted.occurred_start = world.incident.occurred_start
    world.restricted.save()
    for page in RESTRICTED_PAGES + COUNTS_ONLY:
        target = page(world)
        response = client.get(target)
        assert response.status_code == 200, target
        body = b"".join(response) if response.streaming else response.content
        assert (world.incident.code.encode() in body) is (page not in COUNTS_ONLY), target
        assert world.restricted.code.encode() not in body, target
        assert b"Restricted strike" not in body, target


def test_restricted_incident_is_listed_for_a_named_holder(client, world, researcher):
    """The same pages show it once an administrator grants the permission by name."""
    researcher.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    client.force_login(researcher)
    for target in ("/incidents/export.csv", reverse("admin:tracker_incident_changelist")):
        body = b"".join(client.get(target)) if "csv" in target else client.get(target).content
        assert world.restricted.code.encode() in body, target
    assert client.get(reverse("incidents:detail", args=[world.restricted.code])).status_code == 200


@pytest.mark.parametrize("what", ["original", "thumbnail", "preview"])
def test_protected_testimony_files_need_the_identity_permission(
    client, world, identity_holder, what
):
    target = reverse(f"evidence:{what}", args=[world.testimony.code])
    client.force_login(identity_holder)
    assert client.get(target).status_code == 200
    identity_holder.user_permissions.clear()
    client.force_login(User.objects.get(pk=identity_holder.pk))  # a fresh permission cache
    assert client.get(target).status_code == 403


@pytest.mark.parametrize("name", ["tracker_incident", "evidence_evidenceitem"])
def test_another_researchers_draft_is_read_only(client, world, other_researcher, name):
    """README: a researcher sees other researchers' drafts read-only."""
    record = world.incident if name == "tracker_incident" else world.photo
    assert record.status == "draft"
    client.force_login(other_researcher)
    change = reverse(f"admin:{name}_change", args=[record.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b'name="title"' not in page.content  # shown as text, not as a field
    response = client.post(change, {"title": "Taken over by a colleague"})
    record.refresh_from_db()
    assert response.status_code == 403
    assert record.title != "Taken over by a colleague"
