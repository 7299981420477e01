"""The second factor (tracker.accounts.otp): members of the groups in
TRACKER_OTP_REQUIRED_GROUPS pair an authenticator app, then give its code after
every password; everyone else logs in as before. Codes are computed here from the
device's key, as the app on a phone would."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tracker.accounts import otp

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"
SETUP_URL = reverse(otp.SETUP)
VERIFY_URL = reverse(otp.VERIFY)


@pytest.fixture(autouse=True)
def _required_for_reviewers_and_editors(settings):
    settings.TRACKER_OTP_REQUIRED_GROUPS = ["Reviewer", "Editor"]


def code(device: TOTPDevice, *, seconds_ago: int = 0) -> str:
    """The code the device's app shows now (or ``seconds_ago``)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() - seconds_ago
    return f"{totp.token():0{device.digits}d}"


def password_login(client, username: str):
    response = client.post(
        reverse("admin:login"), {"username": username, "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def paired(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


# --- A required member without a device: setup ------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/admin/", "/admin/tracker/incident/", "/admin/review/queue/", "/officials/"],
)
def test_required_member_without_device_is_sent_to_setup(client, reviewer, url):
    client.force_login(reviewer)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{SETUP_URL}?next=")


def test_setup_shows_a_qr_code_and_a_code_confirms_the_device(client, reviewer):
    password_login(client, "reviewer")
    page = client.get(f"{SETUP_URL}?next=/admin/review/queue/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<img class="otp-qr" src="data:image/svg+xml' in html
    device = TOTPDevice.objects.get(user=reviewer)
    assert device.confirmed is False
    assert "".join(page.context["key_groups"]) in html.replace(" ", "")
    assert page["Cache-Control"].startswith("max-age=0")  # the key is never cached

    response = client.post(SETUP_URL, {"token": code(device), "next": "/admin/review/queue/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/review/queue/"
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get("/admin/review/queue/").status_code == 200


def test_a_wrong_code_at_setup_is_refused_and_the_device_stays_unconfirmed(client, reviewer):
    password_login(client, "reviewer")
    client.get(SETUP_URL)
    device = TOTPDevice.objects.get(user=reviewer)
    wrong = f"{(int(code(device)) + 1) % 1_000_000:06d}"
    response = client.post(SETUP_URL, {"token": wrong})
    assert response.status_code == 200
    assert otp.WRONG_CODE in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False
    assert client.get("/admin/")["Location"].startswith(SETUP_URL)


def test_reloading_setup_keeps_the_same_key(client, reviewer):
    password_login(client, "reviewer")
    first = client.get(SETUP_URL).context["key_groups"]
    assert client.get(SETUP_URL).context["key_groups"] == first
    assert TOTPDevice.objects.filter(user=reviewer).count() == 1


def test_letters_instead_of_digits_get_a_clear_error(client, reviewer):
    password_login(client, "reviewer")
    response = client.post(SETUP_URL, {"token": "12ab56"})
    assert otp.NOT_DIGITS in response.content.decode()


# --- A required member with a device: a code after the password -------------------------


def test_with_a_device_the_password_alone_is_not_enough(client, reviewer):
    paired(reviewer)
    password_login(client, "reviewer")
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{VERIFY_URL}?next=")
    assert client.get("/admin/tracker/incident/")["Location"].startswith(VERIFY_URL)


def test_a_wrong_code_is_refused_and_the_right_one_lets_in(client, reviewer):
    device = paired(reviewer)
    password_login(client, "reviewer")
    wrong = f"{(int(code(device)) + 1) % 1_000_000:06d}"
    refused = client.post(VERIFY_URL, {"token": wrong, "next": "/admin/"})
    assert refused.status_code == 200
    assert otp.WRONG_CODE in refused.content.decode()
    assert client.get("/admin/")["Location"].startswith(VERIFY_URL)

    # django-otp makes the next try wait a second after a failure: let it pass.
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=device.throttling_failure_timestamp - timedelta(seconds=2)
    )
    accepted = client.post(VERIFY_URL, {"token": code(device), "next": "/admin/"})
    assert accepted.status_code == 302
    assert accepted["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_an_expired_code_is_refused(client, reviewer):
    device = paired(reviewer)
    password_login(client, "reviewer")
    response = client.post(VERIFY_URL, {"token": code(device, seconds_ago=150)})
    assert otp.WRONG_CODE in response.content.decode()
    assert client.get("/admin/")["Location"].startswith(VERIFY_URL)


def test_a_code_cannot_be_used_twice(client, reviewer):
    device = paired(reviewer)
    token = code(device)
    password_login(client, "reviewer")
    assert client.post(VERIFY_URL, {"token": token})["Location"] == "/admin/"
    client.post(reverse("admin:logout"))
    password_login(client, "reviewer")
    replay = client.post(VERIFY_URL, {"token": token})
    assert otp.WRONG_CODE in replay.content.decode()


def test_repeated_wrong_codes_are_slowed_down(client, reviewer, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    device = paired(reviewer)
    password_login(client, "reviewer")
    client.post(VERIFY_URL, {"token": "000000" if code(device) != "000000" else "111111"})
    response = client.post(VERIFY_URL, {"token": code(device)})  # right, but too soon
    assert "Too many wrong codes. Wait 60 seconds" in response.content.decode()
    assert client.get("/admin/")["Location"].startswith(VERIFY_URL)


def test_a_member_with_a_device_cannot_pair_another_one(client, reviewer):
    """Someone holding only the password must not enrol an app of their own."""
    paired(reviewer)
    password_login(client, "reviewer")
    response = client.get(SETUP_URL)
    assert response.status_code == 302
    assert response["Location"] == VERIFY_URL
    assert TOTPDevice.objects.filter(user=reviewer).count() == 1


def test_the_code_page_does_not_redirect_off_site(client, reviewer):
    device = paired(reviewer)
    password_login(client, "reviewer")
    response = client.post(VERIFY_URL, {"token": code(device), "next": "https://evil.example/"})
    assert response["Location"] == "/admin/"


def test_logging_out_needs_no_code(client, reviewer):
    paired(reviewer)
    password_login(client, "reviewer")
    assert client.post(reverse("admin:logout")).status_code == 200
    assert "_auth_user_id" not in client.session


# --- Everyone else ---------------------------------------------------------------------


def test_users_outside_the_groups_are_unaffected(client, researcher):
    password_login(client, "researcher")
    assert client.get("/admin/").status_code == 200
    assert not TOTPDevice.objects.exists()


def test_nobody_is_asked_while_the_setting_is_empty(client, reviewer, settings):
    settings.TRACKER_OTP_REQUIRED_GROUPS = []
    paired(reviewer)
    password_login(client, "reviewer")
    assert client.get("/admin/").status_code == 200


def test_anonymous_visitors_still_get_the_login_page(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
