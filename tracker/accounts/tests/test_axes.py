"""Login lockout (django-axes): a username is refused from one address after
TRACKER_LOGIN_FAILURE_LIMIT failures there, for TRACKER_LOGIN_COOLOFF_MINUTES; other
addresses and other accounts go on; X-Forwarded-For counts only behind a proxy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest
from django.test import RequestFactory
from django.urls import reverse

from tracker.accounts.security import client_ip, lockout_message

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"
HOME = "127.0.0.1"
ELSEWHERE = "203.0.113.9"


def attempt(client, username: str, password: str, **meta):
    """One POST to the admin login form; ``meta`` sets REMOTE_ADDR and headers."""
    meta.setdefault("REMOTE_ADDR", HOME)
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        **meta,
    )


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def fail_until_locked(client, username: str = "researcher", **meta):
    responses = [attempt(client, username, "wrong-password-1", **meta) for _ in range(5)]
    assert [r.status_code for r in responses[:4]] == [200] * 4  # the form, with its error
    return responses[-1]


def test_the_defaults_are_five_failures_and_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_five_failures_lock_and_the_login_page_says_why(client, researcher):
    locked = fail_until_locked(client)
    assert locked.status_code == 429
    page = locked.content.decode()
    assert lockout_message() in page
    assert "Try again in 15 minutes" in page
    assert 'name="username"' in page  # still the login page, in the admin's look


def test_the_right_password_is_refused_while_locked(client, researcher):
    fail_until_locked(client)
    response = attempt(client, "researcher", PASSWORD)
    assert response.status_code == 429
    assert lockout_message() in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302  # to the login page


def test_after_the_cool_off_the_right_password_works(client, researcher):
    fail_until_locked(client)
    # Fifteen minutes and one pass: move the recorded failures back in time.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert logged_in(attempt(client, "researcher", PASSWORD))
    assert client.get(reverse("admin:index")).status_code == 200


def test_one_minute_before_the_end_of_the_cool_off_it_is_still_locked(client, researcher):
    fail_until_locked(client)
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=14)
    )
    assert attempt(client, "researcher", PASSWORD).status_code == 429


def test_failures_during_the_lockout_do_not_prolong_it(client, researcher):
    fail_until_locked(client)
    first = AccessAttempt.objects.get().attempt_time
    for _ in range(3):
        attempt(client, "researcher", "wrong-password-1")
    assert AccessAttempt.objects.get().attempt_time == first


def test_another_address_is_not_locked(client, researcher):
    fail_until_locked(client)
    assert logged_in(attempt(client, "researcher", PASSWORD, REMOTE_ADDR=ELSEWHERE))


def test_another_account_from_the_same_address_is_not_locked(client, researcher, editor):
    fail_until_locked(client)
    assert logged_in(attempt(client, "editor", PASSWORD))


def test_a_success_before_the_limit_starts_the_count_again(client, researcher):
    for _ in range(4):
        attempt(client, "researcher", "wrong-password-1")
    assert logged_in(attempt(client, "researcher", PASSWORD))
    client.post(reverse("admin:logout"))
    for _ in range(4):
        assert attempt(client, "researcher", "wrong-password-1").status_code == 200
    assert logged_in(attempt(client, "researcher", PASSWORD))


# --- The client's address -----------------------------------------------------------


def test_forwarded_for_is_ignored_without_a_proxy(client, researcher):
    """Without TRACKER_PROXY_COUNT the header is the client's own claim: a locked-out
    guesser cannot step around the lock by naming another address."""
    assert settings.TRACKER_PROXY_COUNT == 0
    fail_until_locked(client)
    response = attempt(client, "researcher", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert response.status_code == 429


def test_forwarded_for_is_honoured_behind_a_configured_proxy(client, researcher, settings):
    settings.TRACKER_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    fail_until_locked(client, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)
    assert AccessAttempt.objects.get().ip_address == "198.51.100.7"
    # The guesser is locked; a colleague behind the same proxy is not.
    assert (
        attempt(
            client, "researcher", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy
        ).status_code
        == 429
    )
    assert logged_in(
        attempt(client, "researcher", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.8", **proxy)
    )


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "192.0.2.1", "", "192.0.2.1"),
        (0, "192.0.2.1", "198.51.100.7", "192.0.2.1"),  # no proxy: the header is ignored
        (1, "10.0.0.2", "198.51.100.7", "198.51.100.7"),
        (1, "10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # a forged prefix is skipped
        (2, "10.0.0.3", "6.6.6.6, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
        (2, "10.0.0.3", "198.51.100.7", "10.0.0.3"),  # shorter than the chain: not ours
        (1, "10.0.0.2", "not-an-address", "10.0.0.2"),
        (1, "10.0.0.2", " 2001:db8::7 ", "2001:db8::7"),
    ],
)
def test_client_address(settings, proxies, remote, forwarded, expected):
    settings.TRACKER_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


# --- The test client keeps working --------------------------------------------------


def test_force_login_is_unaffected(client, researcher):
    client.force_login(researcher)
    assert client.get(reverse("admin:index")).status_code == 200


def test_client_login_needs_a_request_for_axes(client, researcher):
    """axes checks the lock in an authentication backend that needs the request:
    tests that use client.login pass one."""
    assert client.login(request=HttpRequest(), username="researcher", password=PASSWORD)
    assert client.get(reverse("admin:index")).status_code == 200
