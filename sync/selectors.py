"""Reads of the sync log for the admin dashboard and the API."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from sync.lock import sync_lock_held_elsewhere
from sync.models import InventorySyncLog, SyncStatus


def sync_run_get(*, sync_log_id) -> InventorySyncLog | None:
    try:
        return InventorySyncLog.objects.filter(id=sync_log_id).first()
    except (ValidationError, ValueError, TypeError):
        return None  # not a uuid


def sync_recent_runs(*, limit: int = 20, status: str | None = None) -> QuerySet[InventorySyncLog]:
    runs = InventorySyncLog.objects.order_by("-sync_started_at")
    if status:
        runs = runs.filter(sync_status=status)
    return runs[:limit]


def sync_last_run() -> InventorySyncLog | None:
    """The latest run that read Steam (success, held or failed): skipped and queued ones say nothing."""
    return (
        InventorySyncLog.objects.filter(sync_status__in=[SyncStatus.SUCCESS, SyncStatus.HELD, SyncStatus.FAILED])
        .order_by("-sync_started_at")
        .first()
    )


def sync_last_success() -> InventorySyncLog | None:
    return InventorySyncLog.objects.filter(sync_status=SyncStatus.SUCCESS).order_by("-sync_started_at").first()


def sync_held_runs() -> QuerySet[InventorySyncLog]:
    """Held runs waiting for an operator (at most one stays unresolved: newer runs supersede older)."""
    return InventorySyncLog.objects.filter(sync_status=SyncStatus.HELD, resolution__isnull=True).order_by(
        "-sync_started_at"
    )


def sync_status_summary() -> dict:
    """One dict for a dashboard: what runs, what waits, what needs an operator."""
    return {
        "running": InventorySyncLog.objects.filter(sync_status=SyncStatus.RUNNING).first(),
        "queued": InventorySyncLog.objects.filter(sync_status=SyncStatus.QUEUED).first(),
        "lock_held": sync_lock_held_elsewhere(),
        "last_run": sync_last_run(),
        "last_success": sync_last_success(),
        "held": list(sync_held_runs()[:5]),
    }
