"""API tokens: made by their user in the admin, shown once, stored as a digest only,
expiring, revocable, scoped, and never more than the account may do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tracker.api.tests.calls import problem, token_client
from tracker.models import ApiToken
from tracker.models.tokens import MAX_DAYS, digest
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db
LIST = "/api/incidents/"


def made_in_admin(client: Client, **fields) -> str:
    """The key the admin's add page shows once."""
    data = {"name": "field laptop", "days": "90", "scopes": ["read"], **fields}
    response = client.post(reverse("admin:tracker_apitoken_add"), data)
    assert response.status_code == 200, response.content[:500]
    key = response.context["key"]
    assert key in response.content.decode()
    return key


def test_a_token_is_made_in_the_admin_shown_once_and_stored_as_a_digest(researcher):
    client = Client()
    client.force_login(researcher)
    key = made_in_admin(client)
    token = ApiToken.objects.get(user=researcher)
    assert token.key_sha256 == digest(key) and key not in str(token.__dict__)
    assert token.scopes == ["read"]
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)
    # The list and the token's own page name it by its prefix, never its key.
    for url in (
        reverse("admin:tracker_apitoken_changelist"),
        reverse("admin:tracker_apitoken_change", args=[token.pk]),
    ):
        page = client.get(url).content.decode()
        assert token.prefix in page and key not in page
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get(LIST).status_code == 200


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"days": "0"}, "days"),
        ({"days": str(MAX_DAYS + 1)}, "days"),
        ({"days": "ninety"}, "days"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["admin"]}, "scopes"),
        ({"name": ""}, "name"),
    ],
)
def test_a_token_form_refuses_what_it_cannot_issue(researcher, fields, error):
    client = Client()
    client.force_login(researcher)
    data = {"name": "laptop", "days": "90", "scopes": ["read"], **fields}
    response = client.post(reverse("admin:tracker_apitoken_add"), data)
    assert response.status_code == 200
    assert error in response.context["adminform"].form.errors
    assert not ApiToken.objects.exists()


def test_each_user_sees_and_revokes_only_their_own_tokens(researcher, other_researcher):
    mine, _ = ApiToken.issue(researcher, name="mine", scopes=["read"])
    theirs, their_key = ApiToken.issue(other_researcher, name="theirs", scopes=["read"])
    client = Client()
    client.force_login(researcher)
    listing = client.get(reverse("admin:tracker_apitoken_changelist")).content.decode()
    assert "mine" in listing and "theirs" not in listing
    other_page = client.get(reverse("admin:tracker_apitoken_change", args=[theirs.pk]))
    assert other_page.status_code == 302  # "does not exist", as for any unknown key
    # Revoking "every selected token" with the other's key in the list touches only mine.
    client.post(
        reverse("admin:tracker_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [mine.pk, theirs.pk]},
    )
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
    assert Client(HTTP_AUTHORIZATION=f"Bearer {their_key}").get(LIST).status_code == 200


def test_a_revoked_an_expired_or_an_inactive_accounts_token_is_refused(researcher):
    token, key = ApiToken.issue(researcher, name="t", scopes=["read"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get(LIST).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert problem(client.get(LIST))["detail"] == "The token is unknown, expired or revoked."
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(days=1))
    assert client.get(LIST).status_code == 200
    researcher.is_active = False
    researcher.save()
    assert client.get(LIST).status_code == 401
    researcher.is_active = True
    researcher.save()
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    response = client.get(LIST)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer a b",
        "Bearer trk_not-a-token",
        "Bearer not-ours",
        "Bearer " + "trk_" + "x" * 5000,
        "Bearer trk_\u00e9t\u00e9",
    ],
)
def test_a_malformed_or_unknown_token_is_a_clear_401(researcher, header):
    response = Client(HTTP_AUTHORIZATION=header.encode("utf-8").decode("latin-1")).get(LIST)
    assert response.status_code == 401
    assert problem(response)["title"] == "Unauthorized"


def test_without_credentials_the_answer_is_401_and_names_the_scheme(db):
    response = Client().get(LIST)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_the_last_use_is_recorded(researcher):
    token, key = ApiToken.issue(researcher, name="t", scopes=["read"])
    assert token.last_used_at is None
    Client(HTTP_AUTHORIZATION=f"Bearer {key}").get(LIST)
    token.refresh_from_db()
    assert token.last_used_at is not None and timezone.now() - token.last_used_at < timedelta(
        minutes=1
    )


def test_scopes_narrow_what_a_token_may_do(researcher):
    incident = f.IncidentFactory(created_by=researcher)
    transitions = f"/api/incidents/{incident.code}/transitions/"
    read_only = token_client(researcher, ["read"])
    refused = read_only.post(transitions, {"action": "submit"}, content_type="application/json")
    assert refused.status_code == 403
    assert problem(refused)["detail"] == "This token's scopes do not include 'review'."
    assert problem(read_only.post("/api/evidence/", {}))["detail"].endswith("include 'write'.")
    write_only = token_client(researcher, ["write"])
    assert write_only.get(LIST).status_code == 403
    reviewing = token_client(researcher, ["read", "review"])
    done = reviewing.post(transitions, {"action": "submit"}, content_type="application/json")
    assert done.status_code == 201, done.content
    incident.refresh_from_db()
    assert incident.status == "submitted"


def test_a_token_never_does_more_than_its_account(outsider, researcher):
    """All scopes on an account that is not staff: refused, as the admin refuses it."""
    outsider_token = token_client(outsider)
    response = outsider_token.get(LIST)
    assert response.status_code == 403
    assert problem(response)["detail"] == "The API is for active staff accounts, as the admin is."
    # A researcher's review scope does not make them a reviewer.
    incident = f.IncidentFactory(created_by=researcher)
    from tracker import workflow

    workflow.transition(incident, "submit", by=researcher)
    verify = token_client(researcher).post(
        f"/api/incidents/{incident.code}/transitions/",
        {"action": "verify"},
        content_type="application/json",
    )
    assert verify.status_code == 409
    assert problem(verify)["detail"] == "Only reviewers can review."


def test_rates_are_limited_per_token(researcher, settings):
    from django.core.cache import cache

    cache.clear()
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "token": "3/minute"},
    }
    first, second = token_client(researcher), token_client(researcher)
    answers = [first.get(LIST).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert problem(first.get(LIST))["title"] == "Too Many Requests"
    assert second.get(LIST).status_code == 200  # another token has its own count
    cache.clear()


def test_with_a_shared_cache_the_rate_counts_are_kept_where_every_worker_reads_them(
    researcher, settings
):
    """TRACKER_CACHE_URL=redis://…: the counts live in Redis (the local Redis of every
    session and CI run), so that four workers do not each allow the whole rate."""
    import uuid

    import redis

    url = "redis://127.0.0.1:6379/15"
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "token": "2/minute"},
    }
    store = redis.Redis.from_url(url)
    try:
        client = token_client(researcher)
        assert [client.get(LIST).status_code for _ in range(3)] == [200, 200, 429]
        assert store.keys(f"{prefix}:*throttle_token*")  # in Redis, not in this process
    finally:  # this test's keys only (clear() would empty the whole Redis database)
        for key in store.scan_iter(f"{prefix}:*"):
            store.delete(key)
