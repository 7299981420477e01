"""Who calls the API and what they may do: tokens (``Authorization: Bearer trk_…``) or the
admin's session (CSRF enforced by DRF); the account rules of the admin (active staff);
scopes; rates per token (or per address for a caller without one)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions, throttling
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.settings import api_settings

from tracker.accounts.security import client_ip
from tracker.models import ApiToken
from tracker.models.tokens import PREFIX, Scope, digest

BAD_TOKEN = "The token is unknown, expired or revoked."  # noqa: S105 - a message
# A token's last use is written at most once a minute, not once a call.
LAST_USED_EVERY = timedelta(minutes=1)


class TokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send 'Authorization: Bearer <token>'.")
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(BAD_TOKEN) from None
        if not key.startswith(PREFIX) or len(key) > 100:
            raise exceptions.AuthenticationFailed(BAD_TOKEN)
        token = ApiToken.objects.select_related("user").filter(key_sha256=digest(key)).first()
        if token is None or not token.usable or not token.user.is_active:
            raise exceptions.AuthenticationFailed(BAD_TOKEN)
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


def scopes(request) -> set[str]:
    """The scopes of the call: a token's, or all of them for the admin's session (the
    account's own permissions still decide)."""
    if isinstance(request.auth, ApiToken):
        return set(request.auth.scopes)
    return set(Scope.values)


class ApiAccess(permissions.BasePermission):
    """The admin's door: an active staff account; and the scope the view asks for
    (``required_scope``, else ``read`` for reading and ``write`` for the rest)."""

    message = "The API is for active staff accounts, as the admin is."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            raise exceptions.NotAuthenticated()
        if not (user.is_active and user.is_staff):
            return False
        needed = getattr(view, "required_scope", None) or (
            Scope.READ if request.method in permissions.SAFE_METHODS else Scope.WRITE
        )
        if needed not in scopes(request):
            self.message = f"This token's scopes do not include '{needed}'."
            return False
        return True


class Rated:
    """The rate read from the settings when asked (DRF reads it once, at import)."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class PerToken(Rated, throttling.SimpleRateThrottle):
    scope = "token"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            return self.cache_format % {"scope": self.scope, "ident": f"t{request.auth.pk}"}
        if request.user and request.user.is_authenticated:
            return self.cache_format % {"scope": self.scope, "ident": f"u{request.user.pk}"}
        return None


class Anonymous(Rated, throttling.AnonRateThrottle):
    scope = "anonymous"

    def get_ident(self, request) -> str:
        """The client's address by the project's one rule (``security.client_ip``, as
        for login lockouts), not DRF's own reading of X-Forwarded-For."""
        return client_ip(request) or ""


class TokenScheme(OpenApiAuthenticationExtension):
    """Tokens in the OpenAPI description (``securitySchemes``)."""

    target_class = TokenAuthentication
    name = "token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token made in the admin (API tokens): trk_…",
        }
