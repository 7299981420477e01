"""An adversary's review of the API: each neighbour of each endpoint tried against the
rules it must keep (no door the admin does not have; restricted incidents and the
items behind them absent; protected identity absent; locks, four eyes; tokens).

Each test named for a hole (``test_hole_…``) failed when it was written and passes since
the hole was closed; the others confirmed a rule that held."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from evidence.files import bagging
from evidence.models import EvidenceLink
from evidence.tests.files import make_jpeg
from evidence.tests.test_restricted_items import named
from tracker import workflow
from tracker.api.tests.calls import problem, stored, token_client
from tracker.models import ApiToken, Sensitivity
from tracker.tests import factories as f
from tracker.tests.seed import ensure_seed_data

pytestmark = pytest.mark.django_db
INCIDENTS = "/api/incidents/"
EVIDENCE = "/api/evidence/"


def staff_with(*perms: str) -> User:
    """An active staff account an administrator gave only ``perms`` ("app.codename")."""
    ensure_seed_data()
    user = User.objects.create_user("narrow", password="x", is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    return user


def admin_page(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


# --- HOLE 1: the API ignores the per-model view permissions the admin applies ----------------


def test_hole_incident_record_shows_attributions_to_an_account_without_view_attribution(
    researcher,
):
    """The admin's incident page leaves the attributions inline out for an account
    without ``tracker.view_attribution`` (Django's inline permission); the API's
    record lists them, with whom they name and their basis."""
    user = staff_with("tracker.view_incident")
    incident = f.IncidentFactory()
    official = f.OfficialFactory()
    f.AttributionFactory(incident=incident, official=official, basis="Intercepted radio order")
    change = reverse("admin:tracker_incident_change", args=[incident.pk])
    assert "Intercepted radio order" in admin_page(researcher, change)  # (the page shows it)
    page = admin_page(user, change)
    assert "Intercepted radio order" not in page  # the admin: no attributions for them
    body = token_client(user, ["read"]).get(f"{INCIDENTS}{incident.code}/").json()
    assert "attributions" not in body, body["attributions"]


def test_hole_custody_log_and_exif_open_to_an_account_without_their_view_permissions(researcher):
    """An account with ``evidence.view_evidenceitem`` but neither
    ``evidence.view_custodyevent`` nor ``evidence.view_photometadata``: the admin's item
    page has neither the chain of custody nor the EXIF inline; the API gives both (the
    custody log names who handled the file, from which address)."""
    item = stored(make_jpeg(make="Nikon"), by=researcher, received_from="Courier Omar")
    user = staff_with("tracker.view_incident", "evidence.view_evidenceitem")
    change = reverse("admin:evidence_evidenceitem_change", args=[item.pk])
    shown = admin_page(researcher, change)
    assert "Courier Omar" in shown and "Nikon" in shown  # (the page shows them)
    page = admin_page(user, change)
    assert "Courier Omar" not in page and "Nikon" not in page  # the admin shows neither
    client = token_client(user, ["read"])
    custody_log = client.get(f"{EVIDENCE}{item.code}/custody/")
    assert custody_log.status_code in (403, 404), custody_log.json()
    assert "photo" not in client.get(f"{EVIDENCE}{item.code}/").json()


# --- HOLE 2: a restricted incident's code in a visible item's custody log -------------------


def test_hole_custody_log_names_a_restricted_incident(researcher, other_researcher, tmp_path):
    """An item linked to an open and to a restricted incident is visible to the team
    without its restricted link. A named colleague exports the restricted incident's
    court bundle: the item's "exported" custody event names the restricted incident
    (and its bag), and the API's custody log shows it to everyone."""
    named(other_researcher)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    open_incident = f.IncidentFactory()
    shared = stored(make_jpeg(), by=other_researcher, incident=open_incident)
    EvidenceLink.objects.create(item=shared, incident=restricted, relevance="same crater")
    bagging.export_bag([restricted], tmp_path / "bag", by=other_researcher)

    client = token_client(researcher)
    assert client.get(f"{INCIDENTS}{restricted.code}/").status_code == 404
    detail = client.get(f"{EVIDENCE}{shared.code}/").json()
    assert restricted.code not in json.dumps(detail)  # the record hides the link...
    custody_log = client.get(f"{EVIDENCE}{shared.code}/custody/").json()
    assert restricted.code not in json.dumps(custody_log)  # ...the custody log does not


# --- HOLE 3: the anonymous rate never applies to the API's resources -------------------------


@pytest.mark.parametrize("header", [None, "Bearer trk_guessed-key-0000"])
def test_hole_calls_without_valid_credentials_are_never_rate_limited(db, settings, header):
    """docs/api.md: calls without credentials are limited per address (429 beyond it).
    ``ApiAccess`` refuses (401) before DRF checks the rates, and a bad token fails in
    authentication, before them too: neither is ever counted, so guessing keys or
    hammering the token look-up (a query per call) is unlimited."""
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "anonymous": "2/minute"},
    }
    client = Client(HTTP_AUTHORIZATION=header) if header else Client()
    answers = [client.get(INCIDENTS).status_code for _ in range(5)]
    assert 429 in answers, answers


# --- HOLE 4: the custody hash confirms a guessed protected file name --------------------------


def test_hole_custody_hash_confirms_a_guess_of_a_protected_file_name(
    researcher, other_researcher, identity_holder
):
    """The custody log withholds a protected item's file name but gives every other
    hashed value (item, sequence, action, actor id, time, details, previous hash) and
    the event's hash: a list of likely names ("interview_<name>.jpg" for the witnesses
    of a town) is checked offline, and the one that matches is the protected name."""
    item = stored(
        make_jpeg(), by=other_researcher, filename="interview_Hassan.jpg", is_protected=True
    )
    log = token_client(researcher).get(f"{EVIDENCE}{item.code}/custody/").json()
    event = next(e for e in log["events"] if e["details_withheld"])
    assert "Hassan" not in json.dumps(log)

    def digest(details: dict) -> str:
        payload = {
            "item": log["item"],
            "sequence": event["sequence"],
            "action": event["action"],
            "actor": event["actor_id"],
            "at": event["at"],
            "observed_sha256": event["observed_sha256"],
            "details": details,
            "previous_hash": event["previous_hash"],
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    guesses = [f"interview_{name}.jpg" for name in ("Amal", "Omar", "Hassan", "Rania")]
    # Nothing to check a guess against: the event's hash is left out, and so is every
    # later hash (each covers the one before) and every later link.
    later = [e for e in log["events"] if e["sequence"] >= event["sequence"]]
    assert later[1:], "the item's log goes on after the withheld event"
    assert all("event_hash" not in e for e in later)
    assert all("previous_hash" not in e for e in later[1:])
    # The hash left out is the one that would have confirmed the right guess: a holder of
    # the permission gets the whole chain, and its hash matches that name and no other.
    holders = token_client(identity_holder).get(f"{EVIDENCE}{item.code}/custody/").json()
    whole = next(e for e in holders["events"] if e["sequence"] == event["sequence"])
    matching = [
        name
        for name in guesses
        if digest({**event["details"], "filename": name}) == whole["event_hash"]
    ]
    assert matching == ["interview_Hassan.jpg"]
    # The next event's hash would have confirmed it as well: its every other value is
    # shown, and it covers the withheld event's hash.
    after = later[1]
    whole_after = next(e for e in holders["events"] if e["sequence"] == after["sequence"])

    def next_digest(name: str) -> str:
        guessed = digest({**event["details"], "filename": name})
        payload = {**{k: after[k] for k in ("sequence", "action", "at", "observed_sha256")}}
        payload |= {"item": log["item"], "actor": after["actor_id"], "details": after["details"]}
        text = json.dumps(
            {**payload, "previous_hash": guessed},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(text.encode()).hexdigest()

    assert [n for n in guesses if next_digest(n) == whole_after["event_hash"]] == [
        "interview_Hassan.jpg"
    ]


# --- HOLE 5: a write-only token reads records ------------------------------------------------


def test_hole_a_write_only_token_reads_the_record_of_any_file_it_sends(researcher):
    """A "field laptop uploads" token has ``write`` only: it may not read (GET is 403).
    Yet sending bytes the tracker holds answers 200 with the full record of the item
    holding them (description, links to incidents, custody-free but complete), and,
    with no incident given, leaves no trace at all. A stolen upload token is a silent
    oracle: "which of these photos does the team hold, in which case, with what notes?"."""
    incident = f.IncidentFactory()
    data = make_jpeg(colour=(9, 99, 199))
    item = stored(data, by=researcher, incident=incident, description="Sent by Dr. Amal, ICU")
    writer = token_client(researcher, ["write"])
    assert writer.get(f"{EVIDENCE}{item.code}/").status_code == 403
    sent = writer.post(EVIDENCE, {"file": SimpleUploadedFile("probe.jpg", data)})
    assert sent.status_code == 200 and sent.json()["duplicate"] is True
    assert item.custody_events.count() == 2  # acquired, received: the probe left no trace
    assert sent.json() == {"code": item.code, "duplicate": True}


# --- Rules that held --------------------------------------------------------------------------


def test_restricted_and_unknown_codes_answer_alike_everywhere(researcher):
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, status="draft")
    hidden = f.EvidenceItemFactory()
    f.EvidenceLinkFactory(item=hidden, incident=restricted)
    client = token_client(researcher)
    pairs = [
        (f"{INCIDENTS}{restricted.code}/", f"{INCIDENTS}INC-9999/"),
        (f"{EVIDENCE}{hidden.code}/", f"{EVIDENCE}EV-999999/"),
        (f"{EVIDENCE}{hidden.code}/custody/", f"{EVIDENCE}EV-999999/custody/"),
    ]
    for secret, unknown in pairs:
        a, b = client.get(secret), client.get(unknown)
        assert (a.status_code, a.json()) == (b.status_code, b.json()) == (404, b.json())
    posts = [
        (f"{INCIDENTS}{restricted.code}/transitions/", f"{INCIDENTS}INC-9999/transitions/"),
        (f"{EVIDENCE}{hidden.code}/transitions/", f"{EVIDENCE}EV-999999/transitions/"),
    ]
    for secret, unknown in posts:
        a = client.post(secret, {"action": "bogus"}, content_type="application/json")
        b = client.post(unknown, {"action": "bogus"}, content_type="application/json")
        assert (a.status_code, a.json()) == (b.status_code, b.json())
    # Filters that reach restricted data: nothing, as for a code nobody used.
    assert client.get(f"{EVIDENCE}?incident={restricted.code}").json()["results"] == []
    hidden_sha = "a" * 64
    hidden.sha256 = hidden_sha
    hidden.save()
    assert client.get(f"{EVIDENCE}?sha256={hidden_sha}").json()["results"] == []
    # An upload to it: the words of an unknown code.
    sent = [
        problem(
            client.post(EVIDENCE, {"file": SimpleUploadedFile("a.jpg", make_jpeg()), "incident": c})
        )["errors"]["incident"]
        for c in (restricted.code, "INC-9999")
    ]
    assert sent[0] == [m.replace("INC-9999", restricted.code) for m in sent[1]]


def test_incident_filters_find_nothing_through_a_restricted_incident(researcher):
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, title="Secret depot")
    official = f.OfficialFactory()
    attribution = f.AttributionFactory(incident=restricted, official=official, status="verified")
    f.EvidenceLinkFactory(incident=restricted)
    restricted.status = "verified"
    restricted.save()
    client = token_client(researcher)
    for query in (
        f"official={official.pk}",
        f"unit={attribution.unit_id or 1}",
        "q=Secret",
        "has_evidence=photo",
        f"place={restricted.place_id}",
    ):
        assert client.get(f"{INCIDENTS}?{query}").json()["results"] == [], query


def test_etag_of_one_account_is_not_an_oracle_for_another(researcher, identity_holder):
    item = stored(
        make_jpeg(), by=identity_holder, filename="interview_Hassan.jpg", is_protected=True
    )
    holders = token_client(identity_holder).get(f"{EVIDENCE}{item.code}/")
    mine = token_client(researcher)
    asked = mine.get(f"{EVIDENCE}{item.code}/", HTTP_IF_NONE_MATCH=holders["ETag"])
    assert asked.status_code == 200 and "original_filename" not in asked.json()
    again = mine.get(f"{EVIDENCE}{item.code}/", HTTP_IF_NONE_MATCH=asked["ETag"])
    assert again.status_code == 304 and not again.content


def test_four_eyes_and_locks_hold_through_the_api(researcher, reviewer):
    incident = f.IncidentFactory(created_by=reviewer)
    workflow.transition(incident, "submit", by=reviewer)
    verify = token_client(reviewer).post(
        f"{INCIDENTS}{incident.code}/transitions/",
        {"action": "verify"},
        content_type="application/json",
    )
    assert verify.status_code == 409 and "Four eyes" in problem(verify)["detail"]
    other = f.IncidentFactory(created_by=researcher)
    workflow.transition(other, "submit", by=researcher)
    # The reviewer adds evidence to it through the API: no longer a second pair of eyes.
    sent = token_client(reviewer).post(
        EVIDENCE, {"file": SimpleUploadedFile("x.jpg", make_jpeg()), "incident": other.code}
    )
    assert sent.status_code == 201, sent.content
    verify = token_client(reviewer).post(
        f"{INCIDENTS}{other.code}/transitions/",
        {"action": "verify"},
        content_type="application/json",
    )
    assert verify.status_code == 409 and "Four eyes" in problem(verify)["detail"]
    locked = f.IncidentFactory(status="verified")
    refused = token_client(researcher).post(
        EVIDENCE,
        {"file": SimpleUploadedFile("y.jpg", make_jpeg(colour=(1, 2, 3))), "incident": locked.code},
    )
    assert refused.status_code == 400 and "reopens" in json.dumps(problem(refused)["errors"])


def test_the_admin_token_page_keeps_each_users_tokens_and_keys_to_themselves(researcher, superuser):
    theirs, _ = ApiToken.issue(researcher, name="theirs", scopes=["read"])
    client = Client()
    client.force_login(superuser)
    for url in (
        reverse("admin:tracker_apitoken_changelist"),
        reverse("admin:tracker_apitoken_history", args=[theirs.pk]),
    ):
        response = client.get(url)
        assert theirs.prefix not in response.content.decode()
    done = client.post(
        reverse("admin:tracker_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [theirs.pk], "select_across": "1"},
    )
    assert done.status_code in (200, 302)
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    issued = client.post(
        reverse("admin:tracker_apitoken_add"),
        {"name": "mine", "days": "1", "scopes": ["read"], "user": researcher.pk},
    )
    assert "no-store" in issued["Cache-Control"]
    assert ApiToken.objects.get(name="mine").user == superuser


def test_the_public_schema_holds_no_case_data(researcher):
    f.IncidentFactory(title="Strike on the Zeitoun bakery")
    body = Client().get("/api/schema/?format=json")
    assert body.status_code == 200
    text = body.content.decode()
    for secret in ("Zeitoun", "INC-0001", "Airstrike", "Medical staff", "researcher"):
        assert secret not in text, secret


def test_a_session_that_owes_its_second_factor_reads_nothing(researcher, settings):
    settings.TRACKER_OTP_REQUIRED_GROUPS = ["Researcher"]
    f.IncidentFactory()
    client = Client()
    client.force_login(researcher)
    answer = client.get(INCIDENTS)
    assert answer.status_code != 200 and b"INC-" not in answer.content
