# ruff: noqa: E501 - the tables below are wider than a line, one row per URL
"""Least privilege, the table: every URL of the project and the answer for each persona.

The project's own URLs are listed in PROJECT, one row per URL (and object) with the
expected answer for each persona. The admin's per-model URLs follow one rule
(``admin_expectation``) from MODEL_RIGHTS, the table of what each role may view, add,
change and delete. ``test_every_url_pattern_is_covered`` (``test_access_urls.py``)
fails when a URL pattern appears that neither PROJECT nor the rule covers: add it to
one of them.

Answers: a status code, or LOGIN (302 to the admin's login page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

from django.urls import reverse

LOGIN = "login"  # 302 to the admin's login page
PERSONAS = ("anonymous", "outsider", "researcher", "reviewer", "editor")


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
STAFF_200 = (LOGIN, LOGIN, 200, 200, 200)
API_200 = (401, 403, 200, 200, 200)  # the API: 401 without credentials, staff only
API_404 = (401, 403, 404, 404, 404)  # admin pages: staff only
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
    Row("incidents:flights",                url("incidents:flights", code("incident")),   ALL_200),
    Row("incidents:flights",                url("incidents:flights", code("restricted")), TEAM_404, note="restricted"),
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
    # An item's anchor proof (hashes and codes only): whoever may see the item.
    Row("evidence:anchor_proof",            url("evidence:anchor_proof", code("photo")),  FILE_200),
    Row("evidence:anchor_proof",            url("evidence:anchor_proof", code("testimony")), (403, 403, 403, 403, 403), note="protected: its head's hash covers the withheld file name"),
    Row("evidence:anchor_proof",            url("evidence:anchor_proof", fixed("EV-999999")), (403, 403, 404, 404, 404), note="unknown"),
    # A video's keyframes and playable copy: as its thumbnail.
    Row("evidence:keyframe",                url("evidence:keyframe", code("clip"), fixed(0)), FILE_200),
    Row("evidence:keyframe",                url("evidence:keyframe", code("clip"), fixed(7)), (403, 403, 404, 404, 404), note="no such keyframe"),
    Row("evidence:playable",                url("evidence:playable", code("clip")),       FILE_200),
    Row("evidence:keyframe",                url("evidence:keyframe", code("protected_clip"), fixed(0)), (403, 403, 403, 403, 403), note="protected"),
    Row("evidence:playable",                url("evidence:playable", code("protected_clip")), (403, 403, 403, 403, 403), note="protected"),
    # The API (tracker.api): active staff, as the admin; restricted records absent (404).
    # Here with the admin's session; tokens and their scopes: tracker/api/tests/.
    Row("api:incident-list",                url("api:incident-list"),                     API_200),
    Row("api:incident-detail",              url("api:incident-detail", code("incident")), API_200),
    Row("api:incident-detail",              url("api:incident-detail", code("restricted")), API_404, note="restricted"),
    Row("api:incident-detail",              url("api:incident-detail", fixed("INC-9999")), API_404, note="unknown"),
    Row("api:incident-transitions",         url("api:incident-transitions", code("incident")), (401, 403, 400, 400, 400), method="POST", note="no action named"),
    Row("api:incident-transitions",         url("api:incident-transitions", code("restricted")), API_404, method="POST", note="restricted"),
    Row("api:incident-flights",             url("api:incident-flights", code("incident")), API_200),
    Row("api:incident-export-csv",          url("api:incident-export-csv"),               API_200),
    Row("api:incident-export-geojson",      url("api:incident-export-geojson"),           API_200),
    Row("api:evidence-list",                url("api:evidence-list"),                     API_200),
    Row("api:evidence-detail",              url("api:evidence-detail", code("photo")),    API_200),
    Row("api:evidence-detail",              url("api:evidence-detail", code("testimony")), API_200, note="protected: without its files and file name"),
    Row("api:evidence-detail",              url("api:evidence-detail", fixed("EV-999999")), API_404, note="unknown"),
    Row("api:evidence-custody",             url("api:evidence-custody", code("photo")),   API_200),
    Row("api:evidence-anchor",              url("api:evidence-anchor", code("photo")),    API_200),
    Row("api:evidence-anchor",              url("api:evidence-anchor", code("testimony")), (401, 403, 403, 403, 403), note="protected: its head's hash covers the withheld file name"),
    Row("api:evidence-transitions",         url("api:evidence-transitions", code("photo")), (401, 403, 400, 400, 400), method="POST", note="no action named"),
    Row("api:evidence-list",                url("api:evidence-list"),                     (401, 403, 400, 400, 400), method="POST", note="an upload without a file"),
    Row("api:evidence-stream",              url("api:evidence-stream"),                   (401, 403, 415, 415, 415), method="POST", note="a form, not a streamed body"),
    Row("api:force-list",                   url("api:force-list"),                        API_200),
    Row("api:force-detail",                 url("api:force-detail", pk("force")),         API_200),
    Row("api:unit-list",                    url("api:unit-list"),                         API_200),
    Row("api:unit-detail",                  url("api:unit-detail", pk("unit")),           API_200),
    Row("api:official-list",                url("api:official-list"),                     API_200),
    Row("api:official-detail",              url("api:official-detail", pk("official")),   API_200),
    Row("api:official-detail",              url("api:official-detail", fixed(999999)),    API_404, note="unknown"),
    Row("api:official-dossier",             url("api:official-dossier", pk("official")),  API_200),
    Row("api:posting-list",                 url("api:posting-list"),                      API_200),
    Row("api:posting-detail",               url("api:posting-detail", fixed(999999)),     API_404, note="unknown"),
    Row("api:attribution-list",             url("api:attribution-list"),                  API_200),
    Row("api:attribution-detail",           url("api:attribution-detail", fixed(999999)), API_404, note="unknown"),
    Row("api:observation-list",             url("api:observation-list"),                  API_200),
    Row("api:observation-detail",           url("api:observation-detail", fixed(999999)), API_404, note="unknown"),
    Row("api:incident-confirm-flight",      url("api:incident-confirm-flight", code("incident")), (401, 403, 403, 400, 400), method="POST", note="no observation named; reviewers only"),
    Row("api:job-list",                     url("api:job-list"),                          API_200),
    Row("api:job-detail",                   url("api:job-detail", fixed(999999)),         API_404, note="unknown"),
    Row("api:job-download",                 url("api:job-download", fixed(999999)),       API_404, note="unknown"),
    Row("api:job-bundles",                  url("api:job-bundles"),                       (401, 403, 400, 400, 400), method="POST", note="no incidents named"),
    Row("api:job-captures",                 url("api:job-captures"),                      (401, 403, 400, 400, 400), method="POST", note="no link"),
    # The API's description and its pages: public, they hold no case data.
    Row("api:schema",                       url("api:schema"),                            (200, 200, 200, 200, 200)),
    Row("api:docs",                         url("api:docs"),                              (200, 200, 200, 200, 200)),
    # Review pages in the admin.
    Row("review_queue",                     url("review_queue"),                          STAFF_200),
    Row("my_work",                          url("my_work"),                               STAFF_200),
    Row("ready_to_publish",                 url("ready_to_publish"),                      STAFF_200),
    # The Fixity page (evidence.admin.fixity): Editors (tracker.manage_job).
    Row("fixity",                           url("fixity"),                                (LOGIN, LOGIN, 403, 403, 200)),
    # Capture a link (evidence.admin.capture): add_evidenceitem, which every role holds.
    Row("capture",                          url("capture"),                               STAFF_200),
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
    Row("admin:tracker_incident_review_together", url("admin:tracker_incident_review_together", pk("restricted")), STAFF_404, note="restricted"),
    Row("admin:tracker_incident_review_together", url("admin:tracker_incident_review_together", pk("incident")), STAFF_200),
    Row("admin:tracker_incident_review_together", url("admin:tracker_incident_review_together", pk("restricted")), STAFF_404, method="POST", note="restricted"),
    Row("admin:tracker_incident_tray_upload", url("admin:tracker_incident_tray_upload", pk("restricted")), STAFF_404, method="POST", note="restricted"),
    Row("admin:tracker_incident_tray_link", url("admin:tracker_incident_tray_link", pk("restricted")), STAFF_404, method="POST", note="restricted"),
    Row("admin:tracker_incident_tray_testimony", url("admin:tracker_incident_tray_testimony", pk("restricted")), STAFF_404, note="restricted"),
    Row("admin:tracker_incident_discussion", url("admin:tracker_incident_discussion", pk("restricted")), STAFF_404, method="POST", note="restricted"),
    Row("admin:evidence_evidenceitem_discussion", url("admin:evidence_evidenceitem_discussion", pk("photo")), STAFF_302, method="POST"),
    Row("admin:tracker_incident_tray_act",  url("admin:tracker_incident_tray_act", pk("restricted")), STAFF_404, method="POST", note="restricted"),
    # Court bundles (tracker.admin.bundle): asked for (POST) by whoever may see the incident
    # and open evidence files; a GET goes back to the page. Downloaded by the one who asked
    # only: 404 to anyone else, Editors included (tracker.admin.jobs).
    Row("admin:tracker_incident_bundle",    url("admin:tracker_incident_bundle", pk("incident")), STAFF_302),
    Row("admin:tracker_incident_bundle",    url("admin:tracker_incident_bundle", pk("incident")), STAFF_302, method="POST"),
    Row("admin:tracker_incident_bundle",    url("admin:tracker_incident_bundle", pk("restricted")), STAFF_404, method="POST", note="restricted"),
    # The grade decision (tracker.admin.grade): a form's target, refused as the page is.
    Row("admin:tracker_incident_grade",     url("admin:tracker_incident_grade", pk("incident")), STAFF_302),
    Row("admin:tracker_incident_grade",     url("admin:tracker_incident_grade", pk("restricted")), STAFF_404, method="POST", note="restricted"),
    Row("admin:tracker_job_output",         url("admin:tracker_job_output", pk("bundle")), (LOGIN, LOGIN, 200, 404, 404), note="the researcher's bundle"),
    Row("admin:tracker_job_output",         url("admin:tracker_job_output", fixed(999999)), STAFF_404, note="unknown"),
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
    "tracker.job":                 ("v",   "v",   "v"),     # own jobs; Editors see all (manage_job)
    "tracker.apitoken":            ("va",  "va",  "va"),    # own tokens: made, revoked, never edited
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


def history_form_url(obj) -> str:
    meta = obj._meta
    version = obj.history.order_by("history_id").first().history_id
    return reverse(
        f"admin:{meta.app_label}_{meta.model_name}_simple_history", args=[obj.pk, version]
    )
