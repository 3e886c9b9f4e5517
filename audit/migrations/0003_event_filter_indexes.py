"""Indexes for the admin's event filters and searches (bench/admin_bench.py, docs/benchmarks.md).

The event list filters by severity, category and actor, newest first. Most
events are `info`, of category item/delivery/sync, by `system`: for those
values the newest-first index (events_created) finds a page at once. The rare
values — warnings and errors, operators' and external systems' actions, the
small categories — would make that scan read the whole table, so each gets a
partial index over its rare rows only: a page reads ~50 rows, and the indexes
stay a tiny fraction of the table (they add almost nothing to sync's bulk
inserts). Built CONCURRENTLY: the table is append-only and large; writers are
never blocked.
"""

from django.db import migrations

INDEXES = {
    "events_notable_severity_created":
        "(severity, created_at DESC) WHERE severity IN ('warning', 'error', 'critical')",
    "events_named_actor_created": "(actor, created_at DESC) WHERE actor <> 'system'",
    "events_rare_category_created":
        "(event_category, created_at DESC) WHERE event_category IN ('assignment', 'user', 'api', 'operator', 'system')",
}


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("audit", "0002_append_only")]
    operations = [
        migrations.RunSQL(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON system_events {definition}",
            f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        )
        for name, definition in INDEXES.items()
    ]
