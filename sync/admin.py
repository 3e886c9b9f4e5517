"""The sync log in the operator console: read-only history, plus run-now and held-run decisions.

Runs are written by `sync.services` only. Operators ask for a sync now, and
apply or discard a held run (one whose answer from Steam looked suspicious, so
nothing was applied) through `sync_request`, `sync_apply_held` and
`sync_discard_held`.
"""

from __future__ import annotations

from django.contrib import admin

from astro.core.admin import (
    FastChangeListMixin,
    Operation,
    OperationsAdminMixin,
    ReadOnlyAdmin,
    section,
    status_pill,
)
from sync.models import InventorySyncLog, SyncStatus
from sync.services import sync_apply_held, sync_discard_held, sync_request

CONTROL = "sync.control_sync"

# Sample lists a run keeps (sync.reconcile), with what each means for an operator.
SAMPLE_KINDS = (
    ("missing", "Vanished, nothing explains it (become missing)"),
    ("protected", "Vanished while an assignment holds them (left to you: release them from their assignment)"),
    ("removed", "Left in a trade Astro did not send"),
    ("delivered", "Left in Astro's own trades"),
    ("add_unexplained", "Appeared with no trade to explain them (unexpected)"),
    ("add", "New items"),
    ("restore", "Back in the inventory"),
    ("present_delivered", "Steam still shows them, the database says delivered"),
)


class AwaitingDecisionFilter(admin.SimpleListFilter):
    title = "awaiting a decision"
    parameter_name = "awaiting"

    def lookups(self, request, model_admin):
        return [("yes", "Held, not yet applied or discarded")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(sync_status=SyncStatus.HELD, resolution__isnull=True)
        return queryset


class ResolutionFilter(admin.SimpleListFilter):
    """Fixed choices: the log grows by ~100,000 runs a year; no DISTINCT over it."""

    title = "operator decision"
    parameter_name = "resolution__exact"

    def lookups(self, request, model_admin):
        return [("applied", "Applied"), ("discarded", "Discarded")]

    def queryset(self, request, queryset):
        return queryset.filter(resolution=self.value()) if self.value() else queryset


def _is_open_held(log) -> bool:
    return log.sync_status == SyncStatus.HELD and log.resolution is None


def _apply(log, *, actor, reason):
    log = sync_apply_held(sync_log_id=log.id, actor=actor, reason=reason, source="admin")
    return (f"Held sync applied: {log.items_added_count} added, {log.items_removed_count} removed, "
            f"{log.items_updated_count} updated.")


def _discard(log, *, actor, reason):
    sync_discard_held(sync_log_id=log.id, actor=actor, reason=reason, source="admin")
    return "Held sync discarded: nothing of it was applied. The next sync reads Steam afresh."


def _run_now(_none, *, actor, reason):
    log = sync_request(trigger="admin", actor=actor)
    if log.sync_status == SyncStatus.SKIPPED:
        return "A sync was already waiting to start; your request joined it."
    return "Sync queued: a worker reads the inventory now. Refresh this list to follow it."


SYNC_OPERATIONS = (
    Operation(
        name="apply_held", label="Apply this held sync", permission=CONTROL, run=_apply, danger=True,
        applies=_is_open_held,
        explanation="The changes this run computed are applied exactly as reviewed (items added, removed, "
                    "marked missing), although they crossed the safety thresholds. If the database changed "
                    "since, nothing is applied and you are told to discard it and sync again.",
    ),
    Operation(
        name="discard_held", label="Discard this held sync", permission=CONTROL, run=_discard,
        applies=_is_open_held,
        explanation="Nothing of this run is applied; its snapshot is dropped. Use this when Steam's answer was "
                    "wrong (e.g. an empty inventory during a Steam outage).",
    ),
)

RUN_NOW = Operation(
    name="run_sync_now", label="Run a sync now", permission=CONTROL, run=_run_now, needs_reason=False,
    explanation="A worker reads the bot's whole inventory from Steam and reconciles the database with it, "
                "like the scheduled sync does. If a sync is already waiting to start, this request joins it.",
)


@admin.register(InventorySyncLog)
class InventorySyncLogAdmin(OperationsAdminMixin, FastChangeListMixin, ReadOnlyAdmin):
    list_display = (
        "sync_started_at", "status_pill", "trigger", "steam_inventory_count", "items_added_count",
        "items_removed_count", "items_updated_count", "discrepancies_found", "sync_duration_ms", "resolution",
    )
    list_filter = (AwaitingDecisionFilter, "sync_status", "trigger", ResolutionFilter)
    search_fields = ("error_message", "=resolved_by")
    ordering = ("-sync_started_at",)
    operations = SYNC_OPERATIONS
    list_operations = (RUN_NOW,)
    fieldsets = (
        (None, {"fields": ("sync_status", "trigger", "sync_started_at", "sync_completed_at", "sync_duration_ms",
                           "error_message")}),
        ("Counts", {"fields": ("steam_inventory_count", "items_added_count", "items_removed_count",
                               "items_updated_count", "discrepancies_found", "database_available_count",
                               "database_assigned_count", "database_delivered_count", "database_total_count")}),
        ("Decision", {"fields": ("resolution", "resolved_by", "resolved_at")}),
        ("Raw details", {"classes": ("collapse",), "fields": ("error_details", "id")}),
    )

    @admin.display(description="status", ordering="sync_status")
    def status_pill(self, obj):
        return status_pill(obj.sync_status, obj.get_sync_status_display())

    def get_object_notice(self, request, obj):
        if _is_open_held(obj):
            return {"level": "warn", "text": "Held: Steam's answer looked suspicious, so nothing was applied. Look at "
                    "what it found below, then apply it (if the changes are real) or discard it (if Steam was "
                    "wrong)."}
        if obj.sync_status == SyncStatus.FAILED:
            return {"level": "bad", "text": f"Failed: {obj.error_message or 'no message'} Nothing was applied."}
        if obj.sync_status == SyncStatus.SUCCESS and obj.discrepancies_found:
            return {"level": "warn", "text": f"Applied, with {obj.discrepancies_found} discrepancies for an "
                    "operator: see below."}
        return None

    def get_object_sections(self, request, obj):
        details = obj.error_details or {}
        plan = details.get("plan") or {}
        samples = plan.get("samples") or {}
        if not samples:
            # A finished run keeps only what an operator must act on.
            samples = {"protected": details.get("protected_vanished") or [],
                       "present_delivered": details.get("present_but_delivered") or []}
        groups = [
            {"kind": kind, "label": label, "rows": samples.get(kind) or [],
             "count": (plan.get("counts") or {}).get(kind)}
            for kind, label in SAMPLE_KINDS if samples.get(kind)
        ]
        return [section("details", "What this run found", "admin/sync/sections/sync_details.html", {
            "log": obj,
            "hold_reasons": details.get("hold_reasons") or [],
            "breakdown": details.get("breakdown") or {},
            "inventories": details.get("inventories") or [],
            "groups": groups,
        })]
