"""Indexes for the integration API's pool queries (bench/api_bench.py, docs/benchmarks.md).

- (status, steam_app_id, created_at DESC) and (created_at DESC): "available
  items of a game, newest first", paged by a created_at cursor, read 51 index
  entries instead of sorting every available item.
- Trigram GIN indexes on upper(item_name) and upper(market_hash_name): the
  `search` filter is a case-insensitive substring match (Django's icontains,
  `UPPER(col::text) LIKE UPPER('%term%')`), which no btree can serve. They need
  the pg_trgm extension, which ships with PostgreSQL's contrib (every packaged
  server, the official Docker image) but not with the embedded development
  server; where it is missing, or the role may not create it, the search still
  works, by scanning, and a NOTICE says why.
"""

from django.db import migrations, models

TRIGRAM_FORWARD = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        RAISE NOTICE 'pg_trgm is not available: item name search runs without a trigram index';
        RETURN;
    END IF;
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'no privilege to create pg_trgm: item name search runs without a trigram index';
        RETURN;
    END;
    CREATE INDEX IF NOT EXISTS items_item_name_trgm ON items USING gin (upper(item_name::text) gin_trgm_ops);
    CREATE INDEX IF NOT EXISTS items_market_hash_name_trgm ON items USING gin (upper(market_hash_name::text) gin_trgm_ops);
END
$$;
"""

TRIGRAM_BACKWARD = """
DROP INDEX IF EXISTS items_item_name_trgm;
DROP INDEX IF EXISTS items_market_hash_name_trgm;
"""


class Migration(migrations.Migration):
    dependencies = [("items", "0001_initial")]

    operations = [
        migrations.AddIndex(
            model_name="item",
            index=models.Index(fields=["status", "steam_app_id", "-created_at"], name="items_status_app_created"),
        ),
        migrations.AddIndex(
            model_name="item",
            index=models.Index(fields=["-created_at"], name="items_created"),
        ),
        migrations.RunSQL(TRIGRAM_FORWARD, TRIGRAM_BACKWARD),
    ]
