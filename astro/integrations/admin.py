"""External systems and their API keys in the operator console.

Keys are created, rotated and revoked through `astro.integrations.services` only. A new key
is shown once, on the page that answers the request (never in a flash message,
which would sit in a cookie or the session), and is not stored anywhere.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from astro.core.admin import REFUSALS, Operation, OperationsAdminMixin, ReadOnlyAdmin, ReasonForm, status_pill
from astro.integrations.models import (
    ALL_SCOPES, DEFAULT_SCOPES, PRIORITY_MAX, PRIORITY_MIN, RATE_LIMIT_PATTERN, ApiKey, ExternalSystem, Scope,
)
from astro.integrations.services import (
    api_key_create, api_key_revoke, api_key_rotate, external_system_create, external_system_update,
)

MANAGE = "astro.manage_api_keys"


def _key_page(request, admin_obj, created: list[tuple[ApiKey, str]], *, title: str, refused=()):
    context = {
        **admin_obj.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": admin_obj.opts,
        "created": [{"key": key, "plaintext": plaintext} for key, plaintext in created],
        "refused": refused,
        "changelist_url": reverse("admin:astro_apikey_changelist"),
    }
    response = TemplateResponse(request, "admin/integrations/api_key_created.html", context)
    response["Cache-Control"] = "no-store"  # the page holds a secret: never keep it in a cache
    return response


def _revoke(key, *, actor, reason):
    api_key_revoke(key_id=key.id, actor=actor, source="admin", reason=reason)
    return f"API key {key.prefix} of {key.system.slug} revoked: the next request with it gets 401."


def _rotate(key, *, actor, reason):
    return api_key_rotate(key_id=key.id, actor=actor, source="admin")


def _show_rotated(admin_obj, request, results, refused):
    created = [result for _, result in results]
    return _key_page(request, admin_obj, created, title="New API key — copy it now",
                     refused=[f"{obj}: {message}" for obj, message in refused])


KEY_OPERATIONS = (
    Operation(
        name="rotate_key", label="Rotate key", permission=MANAGE, run=_rotate, renders=_show_rotated,
        needs_reason=False, applies=lambda key: not key.is_revoked,
        explanation="A new key with the same name and exactly the same scopes replaces this one, which is revoked "
                    "at once (refused if the system no longer grants one of its scopes). The new key is shown "
                    "once, on the next page: give it to the external system's owner.",
    ),
    Operation(
        name="revoke_key", label="Revoke key", permission=MANAGE, run=_revoke, danger=True,
        applies=lambda key: not key.is_revoked,
        explanation="The key stops working at once: the next request made with it is refused (401). This "
                    "cannot be undone; create a new key if the system still needs one.",
    ),
)


class ApiKeyCreateForm(forms.Form):
    system = forms.ModelChoiceField(queryset=ExternalSystem.objects.filter(is_active=True).order_by("slug"))
    name = forms.CharField(max_length=255, required=False, help_text="A label, e.g. where the key is used.")
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for every scope of the system.",
    )


class RevokedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(OperationsAdminMixin, ReadOnlyAdmin):
    list_display = ("prefix", "system", "name", "state", "scope_list", "created_by", "created_at", "last_used_at")
    list_filter = (RevokedFilter, "system")
    search_fields = ("=prefix", "name", "system__slug")
    list_select_related = ("system",)
    ordering = ("-created_at",)
    operations = KEY_OPERATIONS
    fields = ("prefix", "system", "name", "scope_list", "created_by", "created_at", "last_used_at", "revoked_at",
              "revoked_by", "id")
    readonly_fields = fields

    @admin.display(description="state")
    def state(self, obj):
        return status_pill("cancelled", "revoked") if obj.is_revoked else status_pill("success", "active")

    @admin.display(description="scopes")
    def scope_list(self, obj):
        return ", ".join(sorted(obj.effective_scopes())) or "—"

    def has_add_permission(self, request):
        return request.user.has_perm(MANAGE)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiKeyCreateForm(request.POST or None, initial={"system": request.GET.get("system")})
        if request.method == "POST" and form.is_valid():
            try:
                key, plaintext = api_key_create(
                    system=form.cleaned_data["system"], scopes=form.cleaned_data["scopes"],
                    name=form.cleaned_data["name"], actor=request.user.get_username(), source="admin",
                )
            except REFUSALS as exc:
                form.add_error(None, exc.message)
            else:
                return _key_page(request, self, [(key, plaintext)], title="New API key — copy it now")
        context = {
            **self.admin_site.each_context(request),
            "title": "Create an API key",
            "subtitle": None,
            "opts": self.opts,
            "form": form,
            "all_scopes": ALL_SCOPES,
        }
        context.update(submit_label="Create the key",
                       intro="The key is shown once, on the next page. Only a hash of it is stored.")
        return TemplateResponse(request, "admin/core/form_page.html", context)


class ExternalSystemForm(forms.Form):
    slug = forms.SlugField(max_length=64, help_text="The value of externalSystem in the API, e.g. discord_bot. "
                                                    "It can never change once used.")
    name = forms.CharField(max_length=255, required=False)
    scopes = forms.MultipleChoiceField(choices=Scope.choices, required=False, widget=forms.CheckboxSelectMultiple,
                                       initial=list(DEFAULT_SCOPES),
                                       help_text="Leave all unticked for the default: every scope but sync:trigger.")
    rate_limit = forms.CharField(max_length=32, required=False,
                                 help_text="Per key, e.g. 600/min (default API_DEFAULT_RATE_LIMIT).")
    max_priority = forms.IntegerField(
        min_value=PRIORITY_MIN, max_value=PRIORITY_MAX, required=False,
        help_text="The highest assignment priority this system may use; higher requests are clamped to it "
                  "(default API_DEFAULT_MAX_PRIORITY).",
    )


class ExternalSystemSettingsForm(forms.Form):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="What its keys may do. A key never has more than its system: unticking a scope takes it from "
                  "every key at once.",
    )
    rate_limit = forms.RegexField(RATE_LIMIT_PATTERN, max_length=32, help_text="Per key, e.g. 600/min or 10/s.",
                                  error_messages={"invalid": "Use <count>/<period>, e.g. 600/min or 10/s."})
    max_priority = forms.IntegerField(
        min_value=PRIORITY_MIN, max_value=PRIORITY_MAX,
        help_text="The highest assignment priority this system may use; higher requests are clamped to it.",
    )
    reason = ReasonForm.base_fields["reason"]

    def clean_reason(self):
        return ReasonForm.clean_reason(self)


def _set_active(active: bool):
    def run(system, *, actor, reason):
        external_system_update(system_id=system.pk, is_active=active, actor=actor, source="admin", reason=reason)
        if active:
            return f"{system.slug} is active again: its keys work from the next request."
        return (f"{system.slug} is deactivated: its keys get 401 system_inactive from the next request. "
                "Its assignments already made are still delivered.")
    return run


SYSTEM_OPERATIONS = (
    Operation(
        name="deactivate_system", label="Deactivate", permission=MANAGE, run=_set_active(False), danger=True,
        applies=lambda system: system.is_active,
        explanation="Every key of this system stops working at once (401 system_inactive). Assignments it has "
                    "already made are still delivered: the promise to the user stands. It can be reactivated.",
    ),
    Operation(
        name="activate_system", label="Reactivate", permission=MANAGE, run=_set_active(True),
        applies=lambda system: not system.is_active,
        explanation="The system's keys that are not revoked work again from the next request.",
    ),
)


@admin.register(ExternalSystem)
class ExternalSystemAdmin(OperationsAdminMixin, ReadOnlyAdmin):
    """Systems are registered, deactivated and re-scoped here, each change through
    `external_system_update` (one audited event naming the change and why)."""

    list_display = ("slug", "name", "is_active", "scope_list", "rate_limit", "max_priority", "created_at")
    list_filter = ("is_active",)
    search_fields = ("slug", "name")
    ordering = ("slug",)
    readonly_fields = ("slug", "name", "is_active", "scope_list", "rate_limit", "max_priority", "created_at",
                       "updated_at")
    fields = readonly_fields
    operations = SYSTEM_OPERATIONS

    @admin.display(description="scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes) or "—"

    def has_add_permission(self, request):
        return request.user.has_perm(MANAGE)

    def get_urls(self):
        settings_view = path("<path:object_id>/settings/", self.admin_site.admin_view(self.settings_view),
                             name="astro_externalsystem_settings")
        return [settings_view, *super().get_urls()]

    def object_buttons(self, request, obj) -> list[dict]:
        buttons = super().object_buttons(request, obj)
        if obj is not None and request.user.has_perm(MANAGE):
            url = reverse("admin:astro_externalsystem_settings", args=[obj.pk], current_app=self.admin_site.name)
            buttons.insert(0, {"label": "Change scopes and limits", "danger": False, "url": url})
        return buttons

    def settings_view(self, request, object_id):
        if not request.user.has_perm(MANAGE):
            raise PermissionDenied
        system = self.get_object(request, unquote(object_id))
        if system is None:
            raise PermissionDenied
        initial = {"scopes": system.scopes, "rate_limit": system.rate_limit, "max_priority": system.max_priority}
        form = ExternalSystemSettingsForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                external_system_update(
                    system_id=system.pk, scopes=data["scopes"], rate_limit=data["rate_limit"],
                    max_priority=data["max_priority"], actor=request.user.get_username(), source="admin",
                    reason=data["reason"],
                )
            except REFUSALS as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"{system.slug}: scopes and limits saved.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:astro_externalsystem_change", args=[system.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"{system.slug}: scopes and limits",
            "subtitle": None,
            "opts": self.opts,
            "form": form,
            "submit_label": "Save",
            "intro": "Changes apply to every key of this system from its next request, and are recorded in the "
                     "audit trail with your reason.",
        }
        return TemplateResponse(request, "admin/core/form_page.html", context)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ExternalSystemForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                system = external_system_create(
                    slug=data["slug"], name=data["name"] or None, scopes=data["scopes"] or None,
                    rate_limit=data["rate_limit"] or None, max_priority=data["max_priority"],
                    actor=request.user.get_username(), source="admin",
                )
            except REFUSALS as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"External system {system.slug} created. Now create its API key.",
                                  messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:astro_apikey_add") + f"?system={system.pk}")
        context = {
            **self.admin_site.each_context(request),
            "title": "Register an external system",
            "subtitle": None,
            "opts": self.opts,
            "form": form,
        }
        context.update(submit_label="Register",
                       intro="An external system (a SourceMod plugin, a Discord bot, a shop) acts through the API "
                             "with its own keys, and sees only its own assignments.")
        return TemplateResponse(request, "admin/core/form_page.html", context)
