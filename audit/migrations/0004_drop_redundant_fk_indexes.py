"""Drop the single-column ForeignKey indexes on system_events.user_id, item_id and
assignment_id (db_index=False on the three fields).

The composite (user_id|item_id|assignment_id, created_at DESC) indexes lead with
the same columns and serve every lookup by them (history pages, PROTECT checks,
the FK triggers); the single-column copies only cost every insert
(bench/sync_bench.py, docs/benchmarks.md).

By hand rather than AlterField: Django's AlterField drops and re-adds the
foreign key constraints to change db_index, which re-validates the whole
append-only table under a lock that blocks writers. Here only the indexes go,
CONCURRENTLY, and the migration state records db_index=False.
"""

import django.db.models.deletion
from django.db import migrations, models

# Django's names for its automatic ForeignKey indexes (0001_initial).
INDEXES = {
    "system_events_user_id_820258d7": "user_id",
    "system_events_item_id_7951386b": "item_id",
    "system_events_assignment_id_0d0f7c4f": "assignment_id",
}


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("assignments", "0003_delivery_attempts"),
        ("audit", "0003_event_filter_indexes"),
        ("items", "0003_assigned_user_single_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON system_events ({column})",
                )
                for name, column in INDEXES.items()
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="systemevent",
                    name="assignment",
                    field=models.ForeignKey(
                        blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                        related_name="events", to="assignments.assignment",
                    ),
                ),
                migrations.AlterField(
                    model_name="systemevent",
                    name="item",
                    field=models.ForeignKey(
                        blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                        related_name="events", to="items.item",
                    ),
                ),
                migrations.AlterField(
                    model_name="systemevent",
                    name="user",
                    field=models.ForeignKey(
                        blank=True, db_column="user_id", db_index=False, null=True,
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="items.steamuser",
                    ),
                ),
            ],
        ),
    ]
