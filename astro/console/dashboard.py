"""The operator dashboard: the admin index, showing the pool and the bot's health at a glance.

Every number comes from a handful of aggregate queries (the selectors below),
so the page costs the same with ten items or a million. Charts are drawn on the
server as SVG: no JavaScript, no CDN, the page works offline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from assignments.models import Assignment, AssignmentStatus
from astro.core.formatting import currency_symbol, game_name, money
from audit.models import SystemEvent
from items.models import HELD_BY_BOT, LEFT_BOT, ItemStatus
from sync.models import InventorySyncLog


# Items the bot holds: the pool proper (free, claimed, offered) and quarantined ones.
# Items that left: their departure time is when they stopped counting toward the pool.
FINISHED_SYNC = ("success", "held", "failed")

VALUE_DAYS = 30
SYNC_DAYS = 14


def _money_tick(value: float, decimals: int) -> str:
    return f"{currency_symbol()}{value:,.{decimals}f}"


# ------------------------------------------------------------------ selectors


@dataclass(frozen=True)
class PoolOverview:
    by_status: dict[str, dict]  # status -> {"count", "value"}
    by_game: dict[int, dict]  # app id -> {"count", "value", "available"}, items the bot holds, by value
    held_count: int
    held_value: Decimal
    unexpected: int  # available items sync found with no trade to explain them, awaiting a decision
    value_series: list[tuple[date, Decimal]]  # value held at the end of each of the last days


_POOL_SQL = """
    SELECT GROUPING(status, steam_app_id, arrived, departed) AS grouping_set,
           status, steam_app_id, arrived, departed,
           count(*), COALESCE(sum(market_value), 0), count(*) FILTER (WHERE received_via = 'sync')
    FROM (
        SELECT status, steam_app_id, market_value, received_via,
               CASE WHEN COALESCE(received_at, created_at) >= %(start)s
                    THEN (COALESCE(received_at, created_at) AT TIME ZONE %(tz)s)::date END AS arrived,
               CASE WHEN status = ANY(%(left)s) AND COALESCE(delivered_at, updated_at) >= %(start)s
                    THEN (COALESCE(delivered_at, updated_at) AT TIME ZONE %(tz)s)::date END AS departed
        FROM items
    ) i
    GROUP BY GROUPING SETS ((status, steam_app_id), (arrived), (departed))
"""
# GROUPING() bitmask (status, steam_app_id, arrived, departed): which set a row belongs to.
_BY_STATUS_AND_GAME, _BY_ARRIVAL, _BY_DEPARTURE = 0b0011, 0b1101, 0b1110


def pool_overview(*, days: int = VALUE_DAYS, now: datetime | None = None) -> PoolOverview:
    """The pool by status and by game, and its value over the last `days` days: one scan of `items`.

    The value history is reconstructed backwards from today's value: an item
    that arrived on day d was not there before d, one that left on day d was
    there until d. Values are today's market values (prices are not kept per
    day). Arrivals and departures are grouped in the same pass as the counts
    (GROUPING SETS), so the dashboard reads the items table once.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    start_at = timezone.make_aware(datetime.combine(today - timedelta(days=days - 1), datetime.min.time()))
    with connection.cursor() as cursor:
        cursor.execute(_POOL_SQL, {"start": start_at, "tz": timezone.get_current_timezone_name(),
                                   "left": [str(s) for s in LEFT_BOT]})
        rows = cursor.fetchall()

    by_status: dict[str, dict] = {s: {"count": 0, "value": Decimal(0)} for s in ItemStatus.values}
    by_game: dict[int, dict] = {}
    inflow: dict[date, Decimal] = {}
    outflow: dict[date, Decimal] = {}
    unexpected = 0
    for grouping_set, status, app_id, arrived, departed, count, value, from_sync in rows:
        if grouping_set == _BY_ARRIVAL:
            if arrived is not None:  # NULL: arrived before the window
                inflow[arrived] = value
        elif grouping_set == _BY_DEPARTURE:
            if departed is not None:
                outflow[departed] = value
        elif grouping_set == _BY_STATUS_AND_GAME:
            entry = by_status.setdefault(status, {"count": 0, "value": Decimal(0)})
            entry["count"] += count
            entry["value"] += value
            if status in HELD_BY_BOT:
                game = by_game.setdefault(app_id, {"count": 0, "value": Decimal(0), "available": 0})
                game["count"] += count
                game["value"] += value
                if status == ItemStatus.AVAILABLE:
                    game["available"] += count
                    unexpected += from_sync
    held_value = sum((by_status[s]["value"] for s in HELD_BY_BOT), Decimal(0))

    series = []
    held = held_value
    for offset in range(days):
        day = today - timedelta(days=offset)
        series.append((day, max(held, Decimal(0))))
        # End of the previous day = end of this day, minus what arrived during it, plus what left.
        held = held - inflow.get(day, 0) + outflow.get(day, 0)
    series.reverse()
    return PoolOverview(
        by_status=by_status,
        by_game=dict(sorted(by_game.items(), key=lambda kv: -kv[1]["value"])),
        held_count=sum(by_status[s]["count"] for s in HELD_BY_BOT),
        held_value=held_value,
        unexpected=unexpected,
        value_series=series,
    )


def sync_summary(*, now: datetime | None = None) -> dict[str, Any]:
    """The last finished run, the one running or queued, held runs waiting, and daily results."""
    now = now or timezone.now()
    recent = list(InventorySyncLog.objects.order_by("-sync_started_at")[:25])
    last = next((log for log in recent if log.sync_status in FINISHED_SYNC), None)
    running = next((log for log in recent if log.sync_status == "running"), None)
    held = list(
        InventorySyncLog.objects.filter(sync_status="held", resolution__isnull=True).order_by("-sync_started_at")[:5]
    )
    start = timezone.localdate(now) - timedelta(days=SYNC_DAYS - 1)
    start_at = timezone.make_aware(datetime.combine(start, datetime.min.time()))
    daily = (
        InventorySyncLog.objects.filter(sync_started_at__gte=start_at, sync_status__in=FINISHED_SYNC)
        .annotate(day=TruncDate("sync_started_at"))
        .values("day")
        .annotate(
            success=Count("id", filter=Q(sync_status="success")),
            held=Count("id", filter=Q(sync_status="held")),
            failed=Count("id", filter=Q(sync_status="failed")),
            discrepancies=Sum("discrepancies_found"),
            added=Sum("items_added_count"),
            removed=Sum("items_removed_count"),
        )
    )
    by_day = {row["day"]: row for row in daily}
    series = []
    for offset in range(SYNC_DAYS - 1, -1, -1):
        day = timezone.localdate(now) - timedelta(days=offset)
        row = by_day.get(day, {})
        series.append({
            "day": day,
            "success": row.get("success", 0), "held": row.get("held", 0), "failed": row.get("failed", 0),
            "discrepancies": row.get("discrepancies") or 0,
            "added": row.get("added") or 0, "removed": row.get("removed") or 0,
        })
    age = (now - (last.sync_completed_at or last.sync_started_at)) if last else None
    stale_after = timedelta(seconds=3 * settings.SYNC_INTERVAL_SECONDS)
    return {
        "last": last,
        "age": age,
        "stale": last is None or age > stale_after,
        "stale_after": stale_after,
        "running": running,
        "held": held,
        "series": series,
    }


def delivery_summary(*, now: datetime | None = None) -> dict[str, Any]:
    """Deliveries in flight (by status and reason) and how the last 24 hours went (two queries)."""
    now = now or timezone.now()
    since = now - timedelta(hours=24)
    in_flight = list(
        Assignment.objects.filter(status__in=[AssignmentStatus.PENDING, AssignmentStatus.PROCESSING])
        .values("status", "status_reason")
        .annotate(count=Count("id"), oldest=Min("created_at"))
        .order_by("status", "status_reason")
    )
    last_day = Assignment.objects.filter(
        Q(status=AssignmentStatus.FAILED, failed_at__gte=since)
        | Q(status=AssignmentStatus.DELIVERED, delivered_at__gte=since)
    ).aggregate(
        failed=Count("id", filter=Q(status=AssignmentStatus.FAILED)),
        delivered=Count("id", filter=Q(status=AssignmentStatus.DELIVERED)),
    )
    pending = sum(r["count"] for r in in_flight if r["status"] == AssignmentStatus.PENDING)
    processing = sum(r["count"] for r in in_flight if r["status"] == AssignmentStatus.PROCESSING)
    oldest = min((r["oldest"] for r in in_flight), default=None)
    return {
        "in_flight": in_flight,
        "pending": pending,
        "processing": processing,
        "total": pending + processing,
        "oldest_age": (now - oldest) if oldest else None,
        "failed_24h": last_day["failed"],
        "delivered_24h": last_day["delivered"],
    }


def recent_errors(*, now: datetime | None = None, limit: int = 6) -> dict[str, Any]:
    """Error and critical events of the last 24 hours: how many, and the newest few."""
    now = now or timezone.now()
    since = now - timedelta(hours=24)
    errors = SystemEvent.objects.filter(created_at__gte=since, severity__in=["error", "critical"])
    stats = errors.aggregate(count=Count("id"), newest=Max("created_at"))
    newest = list(errors.order_by("-created_at")[:limit])
    return {"count": stats["count"], "events": newest}


# --------------------------------------------------------------------- charts


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


def _nice_step(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at least `value` (a tick step people read easily)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude * 1.0000001:
            return step * magnitude
    return 10 * magnitude


def _whole_steps():
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            yield step * magnitude
        magnitude *= 10


def line_chart(series: list[tuple[date, Decimal]], *, width=600, height=200, left=64, bottom=24, top=12, right=16):
    """Geometry for an area/line chart of a daily series (rendered by charts/line.svg.html)."""
    values = [float(v) for _, v in series]
    step = _nice_step(max(values, default=0) / 4)
    top_value = step * 4
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(series) - 1, 1)

    def x(i):
        return round(left + plot_w * i / n, 1)

    def y(v):
        return round(top + plot_h * (1 - v / top_value), 1)

    points = [(x(i), y(v)) for i, v in enumerate(values)]
    line = " ".join(f"{'M' if i == 0 else 'L'}{px},{py}" for i, (px, py) in enumerate(points))
    area = f"{line} L{x(len(values) - 1)},{top + plot_h} L{left},{top + plot_h} Z" if points else ""
    # Whole currency units unless the scale is small.
    decimals = 0 if step >= 1 and float(step).is_integer() else 2
    y_ticks = [Tick(y(step * k), _money_tick(step * k, decimals)) for k in range(5)]
    step = max(len(series) // 5, 1)
    x_ticks = [Tick(x(i), day.strftime("%b %d")) for i, (day, _) in enumerate(series) if i % step == 0]
    dots = [
        {"x": px, "y": py, "title": f"{day:%b %d}: {money(value)}"}
        for (px, py), (day, value) in zip(points, series)
    ]
    return {
        "width": width, "height": height, "left": left, "right": width - right, "top": top,
        "bottom": top + plot_h, "line": line, "area": area, "y_ticks": y_ticks, "x_ticks": x_ticks,
        "dots": dots, "last": dots[-1] if dots else None,
        "summary": f"from {money(values[0] if values else 0)} to {money(values[-1] if values else 0)}",
    }


SYNC_COLOURS = (("success", "Applied", "var(--astro-ok)"), ("held", "Held", "var(--astro-warn)"),
                ("failed", "Failed", "var(--astro-bad)"))


def stacked_bars(series: list[dict], *, width=600, height=200, left=40, bottom=24, top=24, right=16):
    """Geometry for daily stacked bars of sync runs by result (rendered by charts/bars.svg.html)."""
    totals = [sum(day[key] for key, _, _ in SYNC_COLOURS) for day in series]
    # Run counts: whole-number ticks (four steps of a nice whole step).
    most = max(totals, default=0)
    step = next(s for s in _whole_steps() if s * 4 >= most)
    top_value = step * 4
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / max(len(series), 1)
    bar_w = round(slot * 0.66, 1)
    bars = []
    for i, day in enumerate(series):
        bx = round(left + slot * i + (slot - bar_w) / 2, 1)
        base = top + plot_h
        segments = []
        for key, label, colour in SYNC_COLOURS:
            count = day[key]
            if not count:
                continue
            h = plot_h * count / top_value
            base -= h
            segments.append({"y": round(base, 1), "h": round(h, 1), "colour": colour, "key": key})
        title = (
            f"{day['day']:%b %d}: {day['success']} applied, {day['held']} held, {day['failed']} failed; "
            f"{day['discrepancies']} discrepancies, +{day['added']} / −{day['removed']} items"
        )
        bars.append({"x": bx, "w": bar_w, "segments": segments, "title": title,
                     "label": day["day"].strftime("%d"), "label_x": round(bx + bar_w / 2, 1),
                     "discrepancies": day["discrepancies"]})
    y_ticks = [Tick(round(top + plot_h * (1 - k / 4), 1), str(step * k)) for k in range(5)]
    return {
        "width": width, "height": height, "left": left, "right": width - right, "top": top,
        "bottom": top + plot_h, "plot_h": plot_h, "bars": bars, "y_ticks": y_ticks,
        "legend": [{"label": label, "colour": colour} for _, label, colour in SYNC_COLOURS],
    }


# ------------------------------------------------------------------ the page


def _changelist(model_label: str, query: str = "") -> str:
    return reverse(f"admin:{model_label.replace('.', '_')}_changelist") + (f"?{query}" if query else "")


def _attention(pool, sync, deliveries, errors) -> list[dict]:
    """What an operator should look at now, most urgent first, each with where to act."""
    items = []
    if sync["last"] is None:
        items.append({"level": "bad", "text": "No inventory sync has finished yet.",
                      "url": _changelist("sync.inventorysynclog"), "action": "Sync log"})
    elif sync["last"].sync_status == "failed":
        items.append({"level": "bad", "text": f"The last sync failed: {sync['last'].error_message or 'no message'}",
                      "url": reverse("admin:sync_inventorysynclog_change", args=[sync["last"].pk]),
                      "action": "Open the run"})
    if sync["last"] is not None and sync["stale"]:
        items.append({"level": "bad", "text": "The last finished sync is older than three sync intervals: "
                      "is the worker or beat running?", "url": _changelist("sync.inventorysynclog"),
                      "action": "Sync log"})
    for log in sync["held"]:
        items.append({"level": "warn",
                      "text": f"A sync from {timezone.localtime(log.sync_started_at):%b %d %H:%M} is held: "
                              f"{log.items_removed_count} removals, {log.items_added_count} additions wait for "
                              "your decision.",
                      "url": reverse("admin:sync_inventorysynclog_change", args=[log.pk]), "action": "Review"})
    missing = pool.by_status[ItemStatus.MISSING]["count"]
    if missing:
        items.append({"level": "warn", "text": f"{missing} missing item{'s' if missing != 1 else ''}: Steam no "
                      "longer shows them and nothing explains why.",
                      "url": _changelist("items.item", "status__exact=missing"), "action": "Resolve"})
    if pool.unexpected:
        n = pool.unexpected
        items.append({"level": "warn", "text": f"{n} unexpected item{'s' if n != 1 else ''} appeared in the "
                      "inventory: accept or quarantine.",
                      "url": _changelist("items.item", "status__exact=available&received_via__exact=sync"),
                      "action": "Review"})
    if deliveries["failed_24h"]:
        n = deliveries["failed_24h"]
        items.append({"level": "warn", "text": f"{n} deliver{'ies' if n != 1 else 'y'} failed in the last 24 hours.",
                      "url": _changelist("assignments.assignment", "status__exact=failed"), "action": "Retry or cancel"})
    if errors["count"]:
        items.append({"level": "warn", "text": f"{errors['count']} error event{'s' if errors['count'] != 1 else ''} "
                      "in the last 24 hours.",
                      "url": _changelist("audit.systemevent", "severity__in=error,critical"), "action": "Events"})
    return items


def dashboard_context(request) -> dict[str, Any]:
    now = timezone.now()
    pool = pool_overview(now=now)
    sync = sync_summary(now=now)
    deliveries = delivery_summary(now=now)
    errors = recent_errors(now=now)
    attention = _attention(pool, sync, deliveries, errors)
    status_rows = []
    biggest = max((v["count"] for v in pool.by_status.values()), default=0) or 1
    for status, label in ItemStatus.choices:
        entry = pool.by_status.get(status, {"count": 0, "value": 0})
        status_rows.append({
            "status": status, "label": label, "count": entry["count"], "value": money(entry["value"]),
            "share": round(100 * entry["count"] / biggest, 1),
            "url": _changelist("items.item", f"status__exact={status}"),
            "held": status in HELD_BY_BOT,
        })
    game_rows = [
        {"name": game_name(app_id), "app_id": app_id, "count": g["count"], "available": g["available"],
         "value": money(g["value"]), "url": _changelist("items.item", f"steam_app_id={app_id}")}
        for app_id, g in pool.by_game.items()
    ]
    return {
        "now": now,
        "health": "bad" if any(a["level"] == "bad" for a in attention) else ("warn" if attention else "ok"),
        "attention": attention,
        "pool": pool,
        "pool_value": money(pool.held_value),
        "available": pool.by_status[ItemStatus.AVAILABLE],
        "available_value": money(pool.by_status[ItemStatus.AVAILABLE]["value"]),
        "status_rows": status_rows,
        "game_rows": game_rows,
        "sync": sync,
        "deliveries": deliveries,
        "errors": errors,
        "value_chart": line_chart(pool.value_series),
        "sync_chart": stacked_bars(sync["series"]),
        "links": {
            "items": _changelist("items.item"),
            "assignments": _changelist("assignments.assignment"),
            "in_flight": _changelist("assignments.assignment", "status__in=pending,processing"),
            "failed": _changelist("assignments.assignment", "status__exact=failed"),
            "sync_log": _changelist("sync.inventorysynclog"),
            "events": _changelist("audit.systemevent"),
            "errors": _changelist("audit.systemevent", "severity__in=error,critical"),
            "assignment_items": reverse("admin:assignments_assignment_items"),
        },
    }


def index(request, extra_context=None):
    """The admin index: the dashboard above Django's list of models."""
    site = admin.site
    context = {
        **site.each_context(request),
        "title": "Dashboard",
        "subtitle": None,
        "app_list": site.get_app_list(request),
        **dashboard_context(request),
        **(extra_context or {}),
    }
    request.current_app = site.name
    return TemplateResponse(request, "admin/console/dashboard.html", context)
