"""Reads of the sync log, for the API, the health check and the console's dashboard."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from sync.models import InventorySyncLog, SyncStatus

# The runs that read Steam: skipped and queued ones say nothing about the inventory.
FINISHED = (SyncStatus.SUCCESS, SyncStatus.HELD, SyncStatus.FAILED)


def sync_max_age() -> timedelta:
    """How old the last finished run may be before sync counts as stalled: three missed
    scheduled runs (one slow or skipped run is not an outage)."""
    return timedelta(seconds=3 * settings.SYNC_INTERVAL_SECONDS)


def sync_last_success() -> InventorySyncLog | None:
    return InventorySyncLog.objects.filter(sync_status=SyncStatus.SUCCESS).order_by("-sync_started_at").first()


def sync_held_runs() -> QuerySet[InventorySyncLog]:
    """Held runs waiting for an operator (newer runs supersede older ones, so there are few)."""
    return InventorySyncLog.objects.filter(sync_status=SyncStatus.HELD, resolution__isnull=True).order_by(
        "-sync_started_at"
    )


def sync_daily_results(*, days: int, now: datetime) -> list[dict[str, Any]]:
    """Per day of the last `days`: finished runs by result, discrepancies, items added and removed."""
    start = timezone.localdate(now) - timedelta(days=days - 1)
    start_at = timezone.make_aware(datetime.combine(start, datetime.min.time()))
    daily = (
        InventorySyncLog.objects.filter(sync_started_at__gte=start_at, sync_status__in=FINISHED)
        .annotate(day=TruncDate("sync_started_at"))
        .values("day")
        .annotate(
            success=Count("id", filter=Q(sync_status=SyncStatus.SUCCESS)),
            held=Count("id", filter=Q(sync_status=SyncStatus.HELD)),
            failed=Count("id", filter=Q(sync_status=SyncStatus.FAILED)),
            discrepancies=Sum("discrepancies_found"),
            added=Sum("items_added_count"),
            removed=Sum("items_removed_count"),
        )
    )
    by_day = {row["day"]: row for row in daily}
    series = []
    for offset in range(days - 1, -1, -1):
        day = timezone.localdate(now) - timedelta(days=offset)
        row = by_day.get(day, {})
        series.append({
            "day": day,
            "success": row.get("success", 0), "held": row.get("held", 0), "failed": row.get("failed", 0),
            "discrepancies": row.get("discrepancies") or 0,
            "added": row.get("added") or 0, "removed": row.get("removed") or 0,
        })
    return series


def sync_summary(*, days: int = 14, now: datetime | None = None) -> dict[str, Any]:
    """The last finished run and its age, the one running, held runs waiting, and daily results."""
    now = now or timezone.now()
    recent = list(InventorySyncLog.objects.order_by("-sync_started_at")[:25])
    last = next((log for log in recent if log.sync_status in FINISHED), None)
    running = next((log for log in recent if log.sync_status == SyncStatus.RUNNING), None)
    age = (now - (last.sync_completed_at or last.sync_started_at)) if last else None
    return {
        "last": last,
        "age": age,
        "stale": last is None or age > sync_max_age(),
        "stale_after": sync_max_age(),
        "running": running,
        "held": list(sync_held_runs()[:5]),
        "series": sync_daily_results(days=days, now=now),
    }
