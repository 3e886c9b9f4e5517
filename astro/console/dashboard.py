"""The operator dashboard: the admin index, showing the pool and the bot's health at a glance.

Each app contributes its part as a selector (items: the pool, sync: the runs,
assignments: deliveries in flight, audit: recent errors); this module only
composes them into the page. Every number comes from a handful of aggregate
queries, so the page costs the same with ten items or a million.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from assignments.selectors import delivery_summary
from astro.console.charts import line_chart, stacked_bars
from astro.core.formatting import game_name, money
from audit.selectors import recent_errors
from items.models import HELD_BY_BOT, ItemStatus
from items.selectors import pool_overview
from sync.selectors import sync_summary

VALUE_DAYS = 30
SYNC_DAYS = 14


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
    pool = pool_overview(days=VALUE_DAYS, now=now)
    sync = sync_summary(days=SYNC_DAYS, now=now)
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
        "steam_mode": settings.STEAM_MODE,
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


DASHBOARD_PERMISSION = "console.view_dashboard"


def index(request, extra_context=None):
    """The admin index: the dashboard above Django's list of models, for those who may
    see it (astro/console/roles.py); other staff get the plain app index."""
    site = admin.site
    if not request.user.has_perm(DASHBOARD_PERMISSION):
        return site.index(request, {"title": "Site administration", **(extra_context or {})})
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
