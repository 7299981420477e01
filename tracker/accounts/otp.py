"""A second factor (TOTP authenticator app) for the groups that an administrator
lists in TRACKER_OTP_REQUIRED_GROUPS.

After the password, a member of such a group is verified by django-otp only once
a code from a confirmed device was entered in this session. Until then every
page sends them to the next step: ``setup`` (scan a QR code, confirm a code) when
they have no confirmed device, else ``verify`` (enter a code). Everyone else is
untouched, at no extra query while the setting is empty.
"""

from __future__ import annotations

from base64 import b32encode
from collections.abc import Callable
from urllib.parse import urlencode

import segno
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

SETUP = "otp_setup"
VERIFY = "otp_verify"
WRONG_CODE = "That code is wrong or has expired. Enter the code your authenticator app shows now."
NOT_DIGITS = "Enter the 6 digits your authenticator app shows (spaces are fine)."
THROTTLED = "Too many wrong codes. Wait {wait}, then enter the code your app shows now."
DEVICE_NAME = "Authenticator app"


def pending_step(request: HttpRequest) -> str:
    """SETUP or VERIFY when this request's user still owes a second factor, else ""."""
    required = settings.TRACKER_OTP_REQUIRED_GROUPS
    user = request.user
    if not required or not user.is_authenticated or user.is_verified():
        return ""
    if not user.groups.filter(name__in=required).exists():
        return ""
    return VERIFY if TOTPDevice.objects.devices_for_user(user, confirmed=True).exists() else SETUP


class SecondFactorMiddleware:
    """Sends a user who owes a second factor to its page from anywhere else (after
    django_otp's OTPMiddleware, which tells whether this session was verified)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.TRACKER_OTP_REQUIRED_GROUPS and not self._exempt(request.path_info):
            step = pending_step(request)
            if step:
                query = urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})
                return HttpResponseRedirect(f"{reverse(step)}?{query}")
        return self.get_response(request)

    @staticmethod
    def _exempt(path: str) -> bool:
        """The steps themselves, logging in and out, and static files."""
        names = (SETUP, VERIFY, "admin:login", "admin:logout")
        return path.startswith(settings.STATIC_URL) or path in {reverse(n) for n in names}


class CodeForm(forms.Form):
    token = forms.CharField(
        label="Code",
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self) -> str:
        token = "".join(self.cleaned_data["token"].split())
        if not token.isdigit() or len(token) not in (6, 8):
            raise forms.ValidationError(NOT_DIGITS)
        return token


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("admin:index")


def _check(device_id: int, user, token: str) -> str:
    """Try ``token`` on the device, locked against a concurrent try; "" when accepted,
    else the message to show. django-otp throttles: each failure doubles the wait."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device_id, user=user)
        allowed, details = device.verify_is_allowed()
        if allowed:
            return "" if device.verify_token(token) else WRONG_CODE
    wait = max(1, round((details["locked_until"] - timezone.now()).total_seconds()))
    return THROTTLED.format(wait=f"{wait} second{'' if wait == 1 else 's'}")


def _page(request: HttpRequest, template: str, title: str, **context) -> TemplateResponse:
    return TemplateResponse(
        request,
        template,
        {
            **admin.site.each_context(request),
            "title": title,
            REDIRECT_FIELD_NAME: _next_url(request),
            **context,
        },
    )


def setup(request: HttpRequest) -> HttpResponse:
    """Pair an authenticator app: show its key as a QR code, confirm with a code.

    Only for a user who owes a second factor and has no confirmed device: someone
    holding just the password of an enrolled colleague cannot enrol a device of
    their own here."""
    step = pending_step(request)
    if step != SETUP:
        return HttpResponseRedirect(_next_url(request) if not step else reverse(step))
    device = (
        TOTPDevice.objects.devices_for_user(request.user, confirmed=False).order_by("pk").first()
    )
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name=DEVICE_NAME, confirmed=False)
    form = CodeForm(request.POST or None)
    if form.is_valid():
        problem = _check(device.pk, request.user, form.cleaned_data["token"])
        if not problem:
            device.refresh_from_db()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(request, "Your authenticator app is set up: it will be asked for.")
            return HttpResponseRedirect(_next_url(request))
        form.add_error("token", problem)
    key = b32encode(device.bin_key).decode()
    return _page(
        request,
        "admin/otp/setup.html",
        "Set up your authenticator app",
        form=form,
        qr_code=segno.make(device.config_url, error="m").svg_data_uri(scale=5),
        key_groups=[key[i : i + 4] for i in range(0, len(key), 4)],
    )


def verify(request: HttpRequest) -> HttpResponse:
    """Ask for the code of the user's confirmed device after the password."""
    step = pending_step(request)
    if step != VERIFY:
        return HttpResponseRedirect(_next_url(request) if not step else reverse(step))
    device = (
        TOTPDevice.objects.devices_for_user(request.user, confirmed=True).order_by("pk").first()
    )
    form = CodeForm(request.POST or None)
    if form.is_valid():
        problem = _check(device.pk, request.user, form.cleaned_data["token"])
        if not problem:
            device.refresh_from_db()
            otp_login(request, device)
            return HttpResponseRedirect(_next_url(request))
        form.add_error("token", problem)
    return _page(request, "admin/otp/verify.html", "Enter your code", form=form)
