"""Request-level protection: the client's address for login lockouts, the login page
shown during a lockout, and the readable page for refused requests (400).

Settings are in tracker/project/settings.py under "Security"; docs/architecture.md explains
the choices.
"""

from __future__ import annotations

import ipaddress
import math
from http import HTTPStatus

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    DisallowedHost,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults

LOCKED_OUT = (
    "Too many failed logins for this account from your address. "
    "Try again in {minutes} minutes, or ask an administrator to unlock it."
)


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The address a login attempt came from (axes' AXES_CLIENT_IP_CALLABLE).

    Without a configured proxy it is REMOTE_ADDR: an X-Forwarded-For header is then
    the client's own claim and could name any address. With TRACKER_PROXY_COUNT=n,
    each of the n proxies appended the address it received from, so the client is
    the n-th entry from the right; a header shorter than that was not written by our
    proxies, and the proxy's own address is used instead."""
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRACKER_PROXY_COUNT
    if count:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if len(forwarded) >= count:
            chosen = _valid_ip(forwarded[-count])
            if chosen:
                return chosen
    return _valid_ip(remote)


def lockout_message() -> str:
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return LOCKED_OUT.format(minutes=minutes)


def locked_out(request: HttpRequest, response: HttpResponse, credentials: dict) -> HttpResponse:
    """The admin login page again, saying why the login was refused (axes'
    AXES_LOCKOUT_CALLABLE); status 429. The form is unbound, so rendering it does
    not try the password again; the message stands in its error list."""
    form = AdminAuthenticationForm(request, initial={"username": request.POST.get("username")})
    form.errors[NON_FIELD_ERRORS] = form.error_class([lockout_message()], error_class="nonfield")
    next_url = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    context = {
        **admin.site.each_context(request),
        "title": "Log in",
        "subtitle": None,
        "app_path": request.get_full_path(),
        "form": form,
        REDIRECT_FIELD_NAME: next_url,
    }
    return render(request, "admin/login.html", context, status=429)


class BadInput(SuspiciousOperation):
    """A request refused for what it carries (``tracker.accounts.hostile_input``). The message
    is for the log and names no value; ``reason`` is the sentence the 400 page shows."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _reason(exception: Exception | None) -> str:
    if isinstance(exception, BadInput):
        return exception.reason
    if isinstance(exception, TooManyFilesSent):
        return (
            f"The upload held more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files, "
            "the most one request may carry. Nothing was stored. Upload the files in "
            "smaller batches, or ask an administrator to run the ingest command on the folder."
        )
    if isinstance(exception, TooManyFieldsSent):
        return (
            f"The form sent more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields, "
            "the most one request may carry. Nothing was saved. Select fewer rows or "
            "save in smaller steps."
        )
    if isinstance(exception, RequestDataTooBig):
        return "The form's data was larger than the tracker accepts. Nothing was saved."
    if isinstance(exception, DisallowedHost):
        return "This address is not one the tracker answers to. Use the address you were given."
    return "The tracker could not understand this request. Nothing was saved."


API_PREFIX = "/api/"


def api_problem(status: int, detail: str) -> JsonResponse:
    """An error of the API's paths that no API view answered (RFC 9457, as
    ``tracker.api.errors``)."""
    problem = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    problem["detail"] = detail
    return JsonResponse(problem, status=status, content_type="application/problem+json")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: Django's page, or a problem under the API's paths."""
    if request.path_info.startswith(API_PREFIX):
        return api_problem(404, "No such address in the API: see /api/docs/.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django's page, or a problem under the API's paths (no detail of the
    error: it is in the report to the administrators)."""
    if request.path_info.startswith(API_PREFIX):
        return api_problem(500, "The tracker failed to answer; the error has been reported.")
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400: a page in the site's look saying what was refused, never why in
    technical terms (no exception text, no request data). Rendered without the
    request, so a refused Host header or unreadable body cannot fail it again."""
    if request.path_info.startswith(API_PREFIX):  # a script reads a problem, not a page
        return api_problem(400, _reason(exception))
    return HttpResponseBadRequest(render_to_string("400.html", {"reason": _reason(exception)}))
