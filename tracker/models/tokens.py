"""API tokens: a user's key for their own scripts (``tracker.api``), created by the user
in the admin, shown once, stored only as its SHA-256, with an expiry and scopes. A token
never does more than its user could in the admin: the scopes only narrow that."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

PREFIX = "trk_"
DEFAULT_DAYS = 90
MAX_DAYS = 365


class Scope(models.TextChoices):
    READ = "read", "read (look at what the account may see)"
    WRITE = "write", "write (upload and link evidence)"
    REVIEW = "review", "review (submit, verify, reject, publish)"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What it is for: 'field laptop uploads'.")
    # The first characters of the key, to tell tokens apart in a list; the key itself
    # is never stored.
    prefix = models.CharField(max_length=12, editable=False)
    key_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user, *, name: str, scopes: list[str], days: int = DEFAULT_DAYS):
        """A new token for ``user`` and its key (shown once, never stored)."""
        if not 1 <= days <= MAX_DAYS:
            raise ValueError(f"A token lasts from 1 to {MAX_DAYS} days.")
        unknown = set(scopes) - set(Scope.values)
        if unknown or not scopes:
            raise ValueError("Choose at least one scope among " + ", ".join(Scope.values) + ".")
        token = cls(user=user, name=name, scopes=[s for s in Scope.values if s in scopes])
        token.expires_at = timezone.now() + timedelta(days=days)
        key = token.new_key()
        token.save()
        return token, key

    def new_key(self) -> str:
        """A fresh key for this token: only its prefix and digest are kept."""
        key = PREFIX + secrets.token_urlsafe(32)
        self.prefix = key[: len(PREFIX) + 6]
        self.key_sha256 = digest(key)
        return key

    @property
    def usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= timezone.now() else "active"
