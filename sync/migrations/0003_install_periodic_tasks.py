"""Install the periodic tasks on a fresh database, so a bare `migrate` gives beat a
working schedule (`setup_periodic_tasks` installs later additions).

The schedule is frozen here as it stood when this migration was written: a
migration must not change meaning when the live list (config/schedules.py) does.
"""

import json

from django.conf import settings
from django.db import migrations

# (name, task, every_seconds, kwargs, description)
SCHEDULES = [
    ("Inventory sync", "sync.tasks.sync_inventory_task", lambda: settings.SYNC_INTERVAL_SECONDS,
     {"trigger": "schedule", "actor": "system"},
     "Full reconciliation of the bot's Steam inventory with the item pool."),
    ("Market values", "items.tasks.market_refresh_task", lambda: 60, {},
     "Prices stale market_hash_names, at most MARKET_PRICE_REQUESTS_PER_MINUTE a minute."),
    ("Steam profiles", "items.tasks.profiles_refresh_task", lambda: 3600, {},
     "Refreshes the stalest Steam user profiles from player summaries."),
    ("Delivery poll", "assignments.poll_offers", lambda: settings.DELIVERY_POLL_INTERVAL_SECONDS, {},
     "Follows every active trade offer and applies its state (accepted, declined, expired...)."),
    ("Delivery sweeper", "assignments.sweep_deliveries", lambda: 60, {},
     "Queues deliveries that are due, waiting for a retry, or stuck after a worker stopped."),
    ("Idempotency keys", "astro.purge_idempotency_records", lambda: 3600, {},
     "Deletes Idempotency-Key records older than IDEMPOTENCY_KEY_TTL_HOURS."),
]


def install(apps, schema_editor):
    # The migrating connection (the owner role, when two roles are configured).
    db = schema_editor.connection.alias
    periodic_task = apps.get_model("django_celery_beat", "PeriodicTask")
    interval_schedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    for name, task, every_seconds, kwargs, description in SCHEDULES:
        if periodic_task.objects.using(db).filter(name=name).exists():
            continue
        interval, _ = interval_schedule.objects.using(db).get_or_create(every=every_seconds(), period="seconds")
        periodic_task.objects.using(db).create(
            name=name, task=task, interval=interval, kwargs=json.dumps(kwargs), description=description, enabled=True
        )


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0002_held_snapshot_and_queue"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
