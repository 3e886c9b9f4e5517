"""One index on items.assigned_to_user_id, not two.

Meta's `items_assigned_user` and Django's automatic ForeignKey index were the
same btree; the automatic one is dropped (db_index=False on the field;
bench/sync_bench.py, docs/benchmarks.md). By hand, CONCURRENTLY, rather than
AlterField, which would drop and re-validate the foreign key under a lock.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "items_assigned_to_user_id_e2a1c7c8"  # Django's name for it (0001_initial)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("items", "0002_api_pool_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}",
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON items (assigned_to_user_id)",
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="item",
                    name="assigned_to_user",
                    field=models.ForeignKey(
                        blank=True, db_column="assigned_to_user_id", db_index=False, null=True,
                        on_delete=django.db.models.deletion.PROTECT, related_name="items_assigned",
                        to="items.steamuser",
                    ),
                ),
            ],
        ),
    ]
