"""Every periodic task Astro runs, in one place.

Beat reads its schedule from the database (django-celery-beat), so operators can
change an interval or disable a task in the admin. This list is what gets
installed there by `python manage.py setup_periodic_tasks` (run by `make demo`
and on every deploy), which finds this list through the ASTRO_SCHEDULES setting.
Installing is idempotent and never overwrites an operator's edits to an
existing entry (use `setup_periodic_tasks --reset` to restore these defaults).

To add a periodic task, append a `Schedule` here; nothing else is needed.
"""

from __future__ import annotations

from django.conf import settings

from astro.core.schedules import Schedule

SCHEDULES: list[Schedule] = [
    Schedule(
        name="Inventory sync",
        task="sync.tasks.sync_inventory_task",
        every_seconds=lambda: settings.SYNC_INTERVAL_SECONDS,
        kwargs={"trigger": "schedule", "actor": "system"},
        description="Full reconciliation of the bot's Steam inventory with the item pool.",
    ),
    Schedule(
        name="Market values",
        task="items.tasks.market_refresh_task",
        every_seconds=lambda: 60,
        description="Prices stale market_hash_names, at most MARKET_PRICE_REQUESTS_PER_MINUTE a minute.",
    ),
    Schedule(
        name="Steam profiles",
        task="items.tasks.profiles_refresh_task",
        every_seconds=lambda: 3600,
        description="Refreshes the stalest Steam user profiles from player summaries.",
    ),
    Schedule(
        name="Delivery poll",
        task="assignments.poll_offers",
        every_seconds=lambda: settings.DELIVERY_POLL_INTERVAL_SECONDS,
        description="Follows every active trade offer and applies its state (accepted, declined, expired...).",
    ),
    Schedule(
        name="Delivery sweeper",
        task="assignments.sweep_deliveries",
        every_seconds=lambda: 60,
        description="Queues deliveries that are due, waiting for a retry, or stuck after a worker stopped.",
    ),
    Schedule(
        name="Idempotency keys",
        task="astro.purge_idempotency_records",
        every_seconds=lambda: 3600,
        description="Deletes Idempotency-Key records older than IDEMPOTENCY_KEY_TTL_HOURS.",
    ),
]
