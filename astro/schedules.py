"""Every periodic task Astro runs, in one place.

Beat reads its schedule from the database (django-celery-beat), so operators can
change an interval or disable a task in the admin. This list is what gets
installed there: by `python manage.py setup_periodic_tasks` (run by `make demo`
and on every deploy) and by sync's data migration on a fresh database.
Installing is idempotent and never overwrites an operator's edits to an
existing entry (use `setup_periodic_tasks --reset` to restore these defaults).

To add a periodic task, append a `Schedule` here; nothing else is needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from django.conf import settings


@dataclass(frozen=True)
class Schedule:
    name: str  # PeriodicTask.name: unique, shown in the admin
    task: str  # the Celery task's registered name
    every_seconds: Callable[[], int]  # read when installing, so settings apply
    kwargs: dict = field(default_factory=dict)
    description: str = ""


SCHEDULES: list[Schedule] = [
    Schedule(
        name="Inventory sync",
        task="sync.tasks.sync_inventory_task",
        every_seconds=lambda: settings.SYNC_INTERVAL_SECONDS,
        kwargs={"trigger": "schedule", "actor": "system"},
        description="Full reconciliation of the bot's Steam inventory with the item pool (DESIGN §5).",
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


def install_schedules(*, periodic_task_model=None, interval_model=None, reset: bool = False) -> list[tuple[str, str]]:
    """Create the missing PeriodicTasks (and reset existing ones with `reset`).

    Takes the models so a data migration can pass its historical ones.
    Returns (name, "created" | "reset" | "kept") for each schedule.
    """
    if periodic_task_model is None or interval_model is None:
        from django_celery_beat.models import IntervalSchedule, PeriodicTask

        periodic_task_model, interval_model = PeriodicTask, IntervalSchedule
    results = []
    for schedule in SCHEDULES:
        interval, _ = interval_model.objects.get_or_create(every=schedule.every_seconds(), period="seconds")
        values = {
            "task": schedule.task, "interval": interval, "kwargs": json.dumps(schedule.kwargs),
            "description": schedule.description, "enabled": True,
        }
        existing = periodic_task_model.objects.filter(name=schedule.name).first()
        if existing is None:
            periodic_task_model.objects.create(name=schedule.name, **values)
            results.append((schedule.name, "created"))
        elif reset:
            for key, value in values.items():
                setattr(existing, key, value)
            existing.save()
            results.append((schedule.name, "reset"))
        else:
            results.append((schedule.name, "kept"))
    return results
