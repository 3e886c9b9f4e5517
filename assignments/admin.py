"""Assignments and their delivery in the operator console.

Assignments come from external systems through the API and are never edited
here; operators control their delivery (retry, cancel, resend, check the offer
now) through the services in `assignments.delivery` / `assignments.services`.
The item page gets from here what depends on an item's assignments: its
assignment history and the overrides of `assignments.overrides` (through
`items.admin.item_page_extend`: items may not import assignments).
`assignment_items` has a composite primary key, which the Django 5.2 admin
cannot register: its rows are shown inside their assignment's and their item's
pages, and in a read-only list of their own (`assignment_items_view`).
"""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse

from assignments import delivery, overrides
from assignments.models import (
    Assignment,
    AssignmentItem,
    AssignmentStatus,
    DeliveryAttempt,
    DeliveryStatus,
    StatusReason,
    WAITING_FOR_URL,
)
from assignments.services import assignment_cancel
from astro.core.admin import (
    CappedCountPaginator,
    FastChangeListMixin,
    Operation,
    OperationsAdminMixin,
    ReadOnlyAdmin,
    section,
    status_pill,
)
from astro.core.formatting import money
from astro.integrations.models import ExternalSystem
from astro.steam import get_gateway
from audit.models import SystemEvent
from items.admin import OVERRIDES, item_page_extend
from items.models import ItemStatus

CONTROL = "assignments.control_delivery"
HISTORY_ROWS = 50


class StatusReasonFilter(admin.SimpleListFilter):
    """The StatusReason codes: filter choices that cost no DISTINCT scan."""

    title = "why (status reason)"
    parameter_name = "status_reason__exact"

    def lookups(self, request, model_admin):
        return StatusReason.choices

    def queryset(self, request, queryset):
        return queryset.filter(status_reason=self.value()) if self.value() else queryset


class ExternalSystemFilter(admin.SimpleListFilter):
    title = "external system"
    parameter_name = "external_system__exact"

    def lookups(self, request, model_admin):
        # The registered systems: a handful of rows, where a DISTINCT over assignments would scan them all.
        return [(slug, slug) for slug in ExternalSystem.objects.order_by("slug").values_list("slug", flat=True)]

    def queryset(self, request, queryset):
        return queryset.filter(external_system=self.value()) if self.value() else queryset


# ----------------------------------------------------------------- operations


def _retry(assignment, *, actor, reason):
    delivery.delivery_retry(assignment_id=assignment.id, actor=actor, reason=reason, source="admin")
    return f"Delivery of {assignment} will be tried again: its items are reserved and a new offer is on its way."


def _cancel(assignment, *, actor, reason):
    result = assignment_cancel(assignment_id=assignment.id, actor=actor, source="admin", reason=reason)
    if result.status == AssignmentStatus.CANCELLED:
        return f"Assignment {result.id} cancelled; its items are back in the pool."
    return (f"Cancel of {result.id} requested; Steam has not settled the offer yet "
            f"({result.status_reason or result.status}). Check it again in a moment.")


def _resend(assignment, *, actor, reason):
    result = delivery.delivery_resend(assignment_id=assignment.id, actor=actor, reason=reason, source="admin")
    if result.status == AssignmentStatus.DELIVERED:
        return f"The user accepted the offer meanwhile: {result.id} is delivered, nothing was resent."
    return f"The offer of {result.id} was replaced: a new one is being sent."


def _check_now(assignment, *, actor, reason):
    result = delivery.delivery_check_now(assignment_id=assignment.id, actor=actor, source="admin")
    state = result.get_status_display().lower() + (f" ({result.status_reason})" if result.status_reason else "")
    return f"Steam checked: {result.id} is {state}."


ASSIGNMENT_OPERATIONS = (
    Operation(
        name="retry_delivery", label="Retry delivery", permission=CONTROL, run=_retry,
        applies=lambda a: a.status == AssignmentStatus.FAILED,
        explanation="A failed assignment gets a fresh round of delivery attempts. Its items must still be "
                    "available in the pool; they are reserved again and a new trade offer is sent.",
    ),
    Operation(
        name="cancel_assignment", label="Cancel assignment", permission=CONTROL, run=_cancel, danger=True,
        applies=lambda a: a.status in (AssignmentStatus.PENDING, AssignmentStatus.PROCESSING),
        asks_steam=True,
        explanation="The assignment is cancelled and its items go back to the pool. If an offer is out, it is "
                    "cancelled on Steam first; if the user accepted it meanwhile, Steam wins and the assignment "
                    "ends delivered.",
    ),
    Operation(
        name="resend_offer", label="Resend the offer", permission=CONTROL, run=_resend, asks_steam=True,
        applies=lambda a: a.status == AssignmentStatus.PENDING
        or (a.status == AssignmentStatus.PROCESSING and a.delivery_trade_offer_id),
        explanation="The current trade offer is cancelled on Steam and a new one is sent at once (it does not "
                    "count toward the attempt limit). A pending assignment is simply sent now.",
    ),
    Operation(
        name="check_offer_now", label="Check the offer now", permission=CONTROL, run=_check_now,
        asks_steam=True, needs_reason=False,
        applies=lambda a: a.status in (AssignmentStatus.PROCESSING, AssignmentStatus.DELIVERED),
        explanation="Astro asks Steam for the offer's state now, instead of waiting for the next poll, and "
                    "applies it (accepted, declined, expired, ...). A delivered assignment is checked for a "
                    "reverted trade.",
    ),
)


# ---------------------------------------------------------------------- admin


@admin.register(Assignment)
class AssignmentAdmin(OperationsAdminMixin, FastChangeListMixin, ReadOnlyAdmin):
    list_display = (
        "short_id", "user", "assignment_type", "external_system", "status_pill", "status_reason",
        "total_items_count", "value", "delivery_attempts", "created_at",
    )
    list_display_links = ("short_id",)
    list_filter = ("status", StatusReasonFilter, ExternalSystemFilter)
    search_fields = ("assignment_type",)
    search_help_text = "An assignment id, a Steam id, a trade offer id, an assignment type or external system."
    # Users are fetched for the page's 50 rows after the sort (prefetch), not joined
    # to every assignment before it.
    list_select_related = ()
    ordering = ("-created_at",)
    operations = ASSIGNMENT_OPERATIONS
    fieldsets = (
        (None, {"fields": ("id", "user", "status", "status_reason", "assignment_type", "assignment_reason",
                           "external_system", "external_context", "assignment_priority")}),
        ("Items", {"fields": ("total_items_count", "total_estimated_value")}),
        ("Delivery", {"fields": ("delivery_attempts", "last_delivery_attempt_at", "next_attempt_at",
                                 "delivery_trade_offer_id", "delivery_error_message")}),
        ("Timeline", {"classes": ("collapse",), "fields": ("assigned_at", "processing_started_at", "delivered_at", "failed_at",
                                 "cancelled_at", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("user")

    @admin.display(description="assignment", ordering="created_at")
    def short_id(self, obj):
        return str(obj.id)[:8]

    @admin.display(description="status", ordering="status")
    def status_pill(self, obj):
        return status_pill(obj.status, obj.get_status_display())

    @admin.display(description="value", ordering="total_estimated_value")
    def value(self, obj):
        return money(obj.total_estimated_value)

    def get_object_notice(self, request, obj):
        reason = f" ({obj.status_reason.replace('_', ' ')})" if obj.status_reason else ""
        error = f" {obj.delivery_error_message}" if obj.delivery_error_message else ""
        if obj.status == AssignmentStatus.FAILED:
            return {"level": "bad", "text": f"Delivery failed{reason}.{error} Its items went back to the pool. "
                    "“Retry delivery” reserves them again and sends a new offer, if they are all still available."}
        if obj.status == AssignmentStatus.PROCESSING:
            return {"level": "info", "text": f"Being delivered{reason}.{error} “Check the offer now” asks Steam "
                    "instead of waiting for the next poll; “Resend the offer” replaces a lost offer; “Cancel "
                    "assignment” withdraws it."}
        if obj.status == AssignmentStatus.PENDING:
            return {"level": "warn" if obj.status_reason else "info",
                    "text": f"Waiting to be sent{reason}.{error}"
                    + (" The external system sets the user's trade URL through the API; delivery starts then."
                       if obj.status_reason in WAITING_FOR_URL else "")}
        if obj.status == AssignmentStatus.DELIVERED:
            return {"level": "ok", "text": "Delivered: the user accepted the offer and Steam's trade completed. "
                    "Steam may still revert it within 7 days (CS2 trade protection); Astro checks and would "
                    "mark it failed (reverted)."}
        return {"level": "info", "text": "Cancelled: its items went back to the pool."}

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(id=uuid.UUID(term)), False
        except ValueError:
            pass
        if term.isdigit():
            if len(term) == 17:
                return queryset.filter(user_id=int(term)), False
            return queryset.filter(delivery_trade_offer_id=term), False
        return queryset.filter(assignment_type=term) | queryset.filter(external_system=term), False

    def get_object_sections(self, request, obj):
        rows = list(obj.assignment_items.select_related("item").order_by("item_name_at_assignment"))
        attempts = list(DeliveryAttempt.objects.filter(assignment_id=obj.id).order_by("-number")[:HISTORY_ROWS])
        events = list(SystemEvent.objects.filter(assignment_id=obj.id).order_by("-created_at")[: HISTORY_ROWS + 1])
        return [
            section("items", f"Items ({len(rows)})", "admin/assignments/sections/assignment_rows.html",
                    {"rows": rows, "show_assignment": False, "empty": "No items."}),
            section("attempts", "Delivery attempts", "admin/assignments/sections/attempts.html", {"attempts": attempts}),
            section("events", "Event history", "admin/core/sections/events.html", {
                "events": events[:HISTORY_ROWS],
                "more_url": reverse("admin:audit_systemevent_changelist") + f"?assignment={obj.id}"
                if len(events) > HISTORY_ROWS else None,
            }),
        ]

    # ---- assignment items: a read-only list of their own

    def get_urls(self):
        return [
            path("items/", self.admin_site.admin_view(self.assignment_items_view), name="assignments_assignment_items"),
        ] + super().get_urls()

    def assignment_items_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        # The page of rows is chosen first, then its items and assignments are fetched
        # (prefetch): joining every row to `items` before sorting would read them all.
        rows = AssignmentItem.objects.prefetch_related("item", "assignment__user").order_by("-created_at")
        status = request.GET.get("delivery_status")
        if status in DeliveryStatus.values:
            rows = rows.filter(delivery_status=status)
        active = request.GET.get("active")
        if active in ("1", "0"):
            rows = rows.filter(is_active=active == "1")
        query = request.GET.get("q", "").strip()
        if query:
            try:
                key = uuid.UUID(query)
            except ValueError:
                rows = rows.filter(item_name_at_assignment__icontains=query)
            else:
                rows = rows.filter(assignment_id=key) | rows.filter(item_id=key)
        paginator = CappedCountPaginator(rows, 100)
        page = paginator.get_page(request.GET.get("p"))

        def link(**changes):
            params = request.GET.copy()
            for key, value in changes.items():
                if value is None:
                    params.pop(key, None)
                else:
                    params[key] = value
            params.pop("p", None)
            return "?" + params.urlencode()

        context = {
            **self.admin_site.each_context(request),
            "title": "Assignment items",
            "subtitle": None,
            "opts": self.opts,
            "page": page,
            "capped": paginator.capped,
            "query": query,
            "statuses": [
                {"label": label, "url": link(delivery_status=value), "selected": status == value}
                for value, label in DeliveryStatus.choices
            ],
            "all_statuses_url": link(delivery_status=None),
            "active_links": [
                {"label": "Active (pending or processing)", "url": link(active="1"), "selected": active == "1"},
                {"label": "Ended", "url": link(active="0"), "selected": active == "0"},
            ],
            "all_active_url": link(active=None),
            "page_params": link().lstrip("?"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/assignments/assignment_items.html", context)


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(FastChangeListMixin, ReadOnlyAdmin):
    list_display = ("assignment", "number", "outcome", "trade_offer_id", "adopted", "started_at", "finished_at")
    list_filter = ("outcome", "adopted")
    search_fields = ("=trade_offer_id", "=tag")
    list_select_related = ("assignment", "assignment__user")
    ordering = ("-started_at",)


# ------------------------------------------------------------------ item page


def _confirm_removed(item, *, actor, reason):
    item = overrides.item_confirm_removed(item_id=item.id, actor=actor, reason=reason)
    return f"{item.item_name} confirmed removed: it no longer counts toward the pool."


class _InventoryReads:
    """The gateway, with each app/context inventory read at most once per operator action.

    Restoring 20 missing items from the list reads the bot's inventory once per
    context, not 20 times (a live inventory of 100,000 items is 100 pages).
    """

    def __init__(self):
        self._gateway = get_gateway()
        self._read = {}

    def fetch_inventory(self, app_id, context_id, **kwargs):
        key = (app_id, context_id)
        if key not in self._read:
            self._read[key] = self._gateway.fetch_inventory(app_id, context_id, **kwargs)
        return self._read[key]


def _restore(item, *, actor, reason, gateway=None):
    outcome = overrides.item_restore_after_check(item_id=item.id, actor=actor, reason=reason, gateway=gateway)
    where = "back in the pool" if outcome.item.status == ItemStatus.AVAILABLE else "reserved again for its assignment"
    return f"Steam shows {outcome.item.item_name} in the bot inventory (context {outcome.context_id}): {where}."


def _release(item, *, actor, reason):
    item = overrides.item_release_from_assignment(item_id=item.id, actor=actor, reason=reason)
    return (f"{item.item_name} released from its assignment and marked missing; confirm it removed, or "
            "check Steam and restore it.")


ITEM_PAGE_OPERATIONS = (
    Operation(
        name="confirm_removed", label="Confirm removed", permission=OVERRIDES, run=_confirm_removed, danger=True,
        applies=lambda item: item.status == ItemStatus.MISSING,
        explanation="The item really left the bot's inventory (traded away by hand, lost to a support action, "
                    "...). It becomes removed and stops counting toward the pool. Only missing items that no "
                    "pending or processing assignment still holds.",
    ),
    Operation(
        name="restore_after_check", label="Check Steam and restore", permission=OVERRIDES, run=_restore,
        asks_steam=True, prepare=lambda: {"gateway": _InventoryReads()},
        applies=lambda item: item.status in overrides.RESTORABLE,
        explanation="Astro reads the bot's inventory from Steam now. Only if the item's asset is there does it "
                    "become available again (or reserved again, when an assignment still waits for it). If Steam "
                    "does not show it, nothing changes.",
    ),
    Operation(
        name="release_from_assignment", label="Release from its assignment", permission=OVERRIDES, run=_release,
        applies=lambda item: item.status in (ItemStatus.RESERVED, ItemStatus.MISSING)
        and item.assigned_to_user_id is not None,
        explanation="For an item Steam no longer shows that a pending assignment still holds (sync reports it "
                    "as a discrepancy and leaves it to you). The item leaves the assignment, which goes on with "
                    "its other items, and becomes missing. Not possible while an offer is out, or for the "
                    "assignment's last item (cancel the assignment instead).",
    ),
)


def _item_assignment_history(request, item) -> list[dict]:
    rows = list(
        AssignmentItem.objects.filter(item_id=item.id)
        .select_related("assignment", "assignment__user")
        .order_by("-created_at")[:HISTORY_ROWS]
    )
    return [
        section("assignments", "Assignment history", "admin/assignments/sections/assignment_rows.html",
                {"rows": rows, "show_assignment": True, "empty": "This item was never assigned."}),
    ]


item_page_extend(operations=ITEM_PAGE_OPERATIONS, sections=[_item_assignment_history])
