"""API tokens in the admin: each user creates, sees and revokes their own (``tracker.api``).
The key is shown once, on the page that answers its creation, and never stored."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from tracker.admin import kit
from tracker.display import time_with_zone
from tracker.models import ApiToken
from tracker.models.tokens import DEFAULT_DAYS, MAX_DAYS, Scope


class TokenForm(forms.ModelForm):
    days = forms.IntegerField(
        min_value=1,
        max_value=MAX_DAYS,
        initial=DEFAULT_DAYS,
        help_text=f"How long it works, in days (at most {MAX_DAYS}).",
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[Scope.READ],
        help_text="What it may do; never more than your account may.",
    )

    class Meta:
        model = ApiToken
        fields = ["name"]


@admin.register(ApiToken)
class ApiTokenAdmin(kit.ModelAdmin):
    form = TokenForm
    list_display = ["name", "prefix", "scope_list", "state", "expires", "last_used"]
    actions = ["revoke"]

    def _staff(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._staff(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._staff(request) and (obj is None or obj.user_id == request.user.pk)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._staff(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a token is revoked, not edited

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # revoked tokens stay listed: when it was used last, and by what name

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).filter(user=request.user)

    def get_fields(self, request: HttpRequest, obj=None):
        if obj is None:
            return ["name", "days", "scopes"]
        return ["name", "prefix", "scope_list", "state", "created", "expires", "last_used"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def save_model(self, request: HttpRequest, obj: ApiToken, form, change: bool) -> None:
        token, key = ApiToken.issue(
            request.user,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            days=form.cleaned_data["days"],
        )
        obj.pk, obj.prefix = token.pk, token.prefix
        request.issued_key = key  # shown once by response_add

    def response_add(self, request: HttpRequest, obj: ApiToken, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "title": "Your new API token",
            "opts": self.model._meta,
            "token": ApiToken.objects.get(pk=obj.pk),
            "key": request.issued_key,
        }
        return TemplateResponse(request, "admin/tracker/apitoken/issued.html", context)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiToken) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description="created")
    def created(self, obj: ApiToken) -> str:
        return time_with_zone(obj.created_at)

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, obj: ApiToken) -> str:
        return time_with_zone(obj.expires_at)

    @admin.display(description="last used", ordering="last_used_at")
    def last_used(self, obj: ApiToken) -> str:
        return time_with_zone(obj.last_used_at) if obj.last_used_at else "never"
