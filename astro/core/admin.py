"""Admin plumbing shared by every app: read-only history, operator operations, fast paging.

An *operation* is one operator decision (confirm an item removed, retry a
delivery, apply a held sync). The admin offers it twice — as a list action on
the selected rows and as a button on an object's page — and both go through
the same intermediate page that asks for a reason (like Django's delete
confirmation), check the operation's permission, call the service with
`actor=request.user.username` and `source="admin"`, and report with
`message_user` what was done and what was refused. The service does the work
and writes the audit event; the admin only asks and reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from astro.core.errors import DomainError, UpstreamError
from astro.core.reasons import MAX_REASON_LENGTH

# What a service raises when the decision does not apply (or Steam did not
# answer): reported as "not done", never a 500, and nothing was changed.
REFUSALS = (DomainError, UpstreamError)

# A list action runs its service once per selected row, each in its own
# transaction; more than this at once is a mistake, not an operation.
MAX_OBJECTS_PER_OPERATION = 200


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is looked at, never edited: no add, change or delete, for anyone."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# ------------------------------------------------------------------ paging


class CappedCountPaginator(Paginator):
    """A paginator that never counts a huge table to the end.

    The admin's paginator needs a count for its page links. COUNT(*) over a
    million events reads a million rows; this counts at most `cap` + 1 rows
    (an index-ordered LIMIT), so a page costs the same at any table size.
    Past the cap the list shows "more than N" and pages up to the cap.
    """

    cap = 10_000

    @cached_property
    def count(self) -> int:
        query = self.object_list
        if not hasattr(query, "query"):
            return super().count
        # Sliced subquery: SELECT COUNT(*) FROM (SELECT ... LIMIT cap+1).
        counted = query.order_by()[: self.cap + 1].count()
        self.capped = counted > self.cap
        return min(counted, self.cap)

    capped = False


class FastChangeListMixin:
    """Lists for big tables: capped counts, no total count, and says when capped."""

    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context=extra_context)
        cl = getattr(response, "context_data", {}).get("cl") if hasattr(response, "context_data") else None
        if cl is not None:
            response.context_data["count_capped"] = getattr(cl.paginator, "capped", False)
        return response


# -------------------------------------------------------------- operations


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60, "placeholder": "Why? This goes into the audit trail."}),
        help_text="Recorded in the audit trail with your username.",
        error_messages={"required": "Say why: the reason is recorded in the audit trail."},
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why: the reason is recorded in the audit trail.")
        return reason


@dataclass(frozen=True)
class Operation:
    """One operator decision offered by an admin.

    `run(obj, actor=..., reason=...)` calls the service for one object and returns
    what it did, in words; it raises a `DomainError` (or an `UpstreamError`: Steam) when the
    decision does not apply, which the admin reports as "not done". For
    list-level operations (no object, e.g. "run a sync now") `obj` is None.
    `applies(obj)` only decides whether the object page shows the button; the
    service alone decides whether the operation may happen.
    """

    name: str
    label: str
    permission: str
    run: Callable[..., str]
    explanation: str
    applies: Callable[[Any], bool] = lambda obj: True
    danger: bool = False
    asks_steam: bool = False
    needs_reason: bool = True
    on_list: bool = True  # offered as a list action on selected rows
    renders: Callable[..., Any] | None = None  # optional: build a response from results (e.g. a key shown once)
    # Optional: called once per confirmed run; its dict is passed to every `run` call
    # of that run as keyword arguments (e.g. one Steam inventory read shared by all rows).
    prepare: Callable[[], dict] | None = None


class OperationsAdminMixin:
    """Adds `operations` (per object) and `list_operations` (no object) to a ModelAdmin."""

    operations: tuple[Operation, ...] = ()
    list_operations: tuple[Operation, ...] = ()
    change_form_template = "admin/core/change_form.html"
    change_list_template = "admin/core/change_list.html"
    confirmation_template = "admin/core/confirm_operation.html"

    # ---- permissions

    def may_run(self, request, operation: Operation) -> bool:
        return request.user.is_active and request.user.is_staff and request.user.has_perm(operation.permission)

    # ---- list actions

    def get_actions(self, request):
        actions = super().get_actions(request)
        for operation in self.operations:
            if operation.on_list and self.may_run(request, operation):
                actions[operation.name] = (self._list_action(operation), operation.name, operation.label)
        return actions

    def _list_action(self, operation: Operation):
        def action(modeladmin, request, queryset):
            return modeladmin.run_operation(request, operation, queryset=queryset)

        action.__name__ = operation.name
        return action

    # ---- URLs for object and list operations

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        urls = [
            path(
                "<path:object_id>/operation/<str:name>/",
                self.admin_site.admin_view(self.object_operation_view),
                name="%s_%s_operation" % info,
            ),
            path(
                "operation/<str:name>/",
                self.admin_site.admin_view(self.list_operation_view),
                name="%s_%s_list_operation" % info,
            ),
        ]
        return urls + super().get_urls()

    def _find(self, operations, name) -> Operation:
        for operation in operations:
            if operation.name == name:
                return operation
        raise PermissionDenied  # unknown names look exactly like forbidden ones

    def object_operation_view(self, request, object_id, name):
        operation = self._find(self.operations, name)
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj):
            raise PermissionDenied
        return self.run_operation(request, operation, objects=[obj], single=True)

    def list_operation_view(self, request, name):
        operation = self._find(self.list_operations, name)
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self.run_operation(request, operation, objects=[None], single=True)

    # ---- the one path every operation takes

    def run_operation(self, request, operation: Operation, *, queryset=None, objects=None, single=False):
        if not self.may_run(request, operation):
            raise PermissionDenied
        if objects is None:
            objects = list(queryset[: MAX_OBJECTS_PER_OPERATION + 1])
            if len(objects) > MAX_OBJECTS_PER_OPERATION:
                self.message_user(
                    request,
                    f"Select at most {MAX_OBJECTS_PER_OPERATION} rows for “{operation.label}”; nothing was done.",
                    messages.WARNING,
                )
                return None
        form = ReasonForm(request.POST if request.method == "POST" and request.POST.get("post") == "yes" else None)
        if not operation.needs_reason and request.method == "POST" and request.POST.get("post") == "yes":
            form = ReasonForm({"reason": request.POST.get("reason") or "-"})
        if form.is_bound and form.is_valid():
            return self._perform(request, operation, objects, form.cleaned_data["reason"], single=single)
        return self._confirmation(request, operation, objects, form, single=single)

    def _perform(self, request, operation, objects, reason, *, single):
        actor = request.user.get_username()
        done, refused, results = [], [], []
        shared = operation.prepare() if operation.prepare is not None else {}
        for obj in objects:
            try:
                result = operation.run(obj, actor=actor, reason=reason, **shared)
            except REFUSALS as exc:
                refused.append((obj, getattr(exc, "message", None) or str(exc)))
            else:
                done.append(obj)
                results.append((obj, result))
        if operation.renders is not None and results:
            response = operation.renders(self, request, results, refused)
            if response is not None:
                return response
        for obj, message in results:
            self.message_user(request, message if isinstance(message, str) else f"{operation.label}: done.",
                              messages.SUCCESS)
        for obj, message in refused:
            label = f"{obj}: " if obj is not None and len(objects) > 1 else ""
            self.message_user(request, f"Not done — {label}{message}", messages.ERROR)
        if single:
            obj = objects[0]
            if obj is not None:
                return HttpResponseRedirect(
                    reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk],
                            current_app=self.admin_site.name)
                )
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist",
                        current_app=self.admin_site.name)
            )
        return None  # list action: back to the list, with the messages

    def _confirmation(self, request, operation, objects, form, *, single):
        opts = self.opts
        context = {
            **self.admin_site.each_context(request),
            "title": f"{operation.label}: are you sure?",
            "subtitle": None,
            "operation": operation,
            "objects": [obj for obj in objects if obj is not None],
            "object_lines": [self.operation_object_line(obj) for obj in objects if obj is not None],
            "single": single,
            "form": form,
            "opts": opts,
            "app_label": opts.app_label,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "queryset_pks": [str(obj.pk) for obj in objects if obj is not None],
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.confirmation_template, context)

    def operation_object_line(self, obj) -> str:
        """One line per object on the confirmation page (override for more detail)."""
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk],
                      current_app=self.admin_site.name)
        return format_html('<a href="{}">{}</a>', url, obj)

    # ---- buttons on the object page and the list

    def object_buttons(self, request, obj) -> list[dict]:
        if obj is None:
            return []
        buttons = []
        for operation in self.operations:
            if self.may_run(request, operation) and operation.applies(obj):
                buttons.append({
                    "label": operation.label,
                    "danger": operation.danger,
                    "url": reverse(
                        f"admin:{self.opts.app_label}_{self.opts.model_name}_operation",
                        args=[obj.pk, operation.name], current_app=self.admin_site.name,
                    ),
                })
        return buttons

    def list_buttons(self, request) -> list[dict]:
        return [
            {
                "label": operation.label,
                "danger": operation.danger,
                "url": reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_list_operation",
                    args=[operation.name], current_app=self.admin_site.name,
                ),
            }
            for operation in self.list_operations
            if self.may_run(request, operation)
        ]

    def get_object_notice(self, request, obj) -> dict | None:
        """A sentence at the top of an object's page: what its state means and what can be done.

        Returns {"level": "ok" | "warn" | "bad" | "info", "text": ...} or None.
        """
        return None

    def get_object_sections(self, request, obj) -> list[dict]:
        """Extra sections under an object's fields (history tables): see `section()`."""
        return []

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["operation_buttons"] = self.object_buttons(request, obj)
        context["object_sections"] = self.get_object_sections(request, obj) if obj is not None else []
        context["object_notice"] = self.get_object_notice(request, obj) if obj is not None else None
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "list_operation_buttons": self.list_buttons(request)}
        return super().changelist_view(request, extra_context=extra_context)


def section(section_id: str, title: str, template: str, context: dict) -> dict:
    """One titled section of an object page, rendered from `template` (a full template name)."""
    return {
        "id": section_id,
        "title": title,
        "html": mark_safe(render_to_string(template, context)),
    }


def status_pill(value: str, label: str | None = None):
    return format_html('<span class="astro-status astro-status-{}">{}</span>', value, label or value)

