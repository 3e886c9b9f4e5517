"""Operator console benchmark: admin pages at 100,000 items and 1,000,000 events.

    .venv/bin/python bench/admin_bench.py [--items 100000] [--events 1000000] [--runs 15] [--keep]

Builds its own database (BENCH_DATABASE, default astro_admin_bench: created,
migrated, filled with SQL `generate_series` in about a minute), then renders each
page in-process through Django's test client as a logged-in superuser and
reports server time (request in, response out: URL routing, middleware, queries,
template rendering; no network, no browser) as median and p95 over `--runs`
requests after one warm-up, with the number of SQL queries per page and the
median time PostgreSQL took for them ("db ms"). Then it measures the pages the
partial event indexes of audit/0003 serve, with and without them, in the same run.

The data is shaped like a busy pool: items across CS2 and TF2 in every status
(a few hundred missing / unexpected), 5,000 users, 20,000 assignments with
28,000 assignment items, 2,000 sync runs, and events over 90 days in the
proportions sync and delivery write them (mostly item.* info, a few errors, a
handful of operator actions).
"""

from __future__ import annotations

import argparse
import os
import statistics
import warnings
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup_environment(database: str) -> None:
    base = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
    os.environ["DATABASE_URL"] = f"{base}/{database}"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    os.environ["DEBUG"] = "false"  # measured as in production (no debug toolbar, no query log)
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1"
    os.environ.setdefault("SECRET_KEY", "admin-bench-not-a-secret-0123456789-abcdefghijklmnop")
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"


GENERATE = """
INSERT INTO users (steam_id, display_name, first_seen_at, last_seen_at, created_at, updated_at)
SELECT 76561198000000000 + n, 'Player ' || n, now(), now() - (n || ' minutes')::interval, now(), now()
FROM generate_series(1, 5000) n;

INSERT INTO items (id, steam_asset_id, steam_class_id, steam_instance_id, steam_app_id, steam_context_id,
                   market_hash_name, market_value, item_name, item_type, item_rarity, steam_metadata,
                   custom_metadata, status, tradable, received_at, received_via, assigned_to_user_id,
                   created_at, updated_at)
SELECT gen_random_uuid(), 30000000000 + n, 1000 + n % 400, 0,
       CASE WHEN n % 5 = 0 THEN 440 ELSE 730 END, 2,
       (ARRAY['AK-47 | Redline (Field-Tested)', 'AWP | Asiimov (Battle-Scarred)', 'Glock-18 | Water Elemental',
              'Mann Co. Supply Crate Key', 'Team Captain', 'Operation Breakout Weapon Case'])[1 + n % 6]
         || ' #' || (n % 997),
       round((random() * 60)::numeric, 2),
       (ARRAY['AK-47 | Redline', 'AWP | Asiimov', 'Glock-18 | Water Elemental', 'Mann Co. Supply Crate Key',
              'Team Captain', 'Operation Breakout Weapon Case'])[1 + n % 6],
       'Rifle', 'Classified', '{}'::jsonb, '{}'::jsonb, s.status, true,
       now() - ((n % 90) || ' days')::interval,
       CASE WHEN n % 400 = 7 THEN 'sync' ELSE 'initial_import' END,
       CASE WHEN s.status IN ('reserved', 'in_offer') THEN 76561198000000000 + 1 + n % 5000 END,
       now() - ((n % 90) || ' days')::interval, now() - ((n % 30) || ' days')::interval
FROM generate_series(1, %(items)s) n
CROSS JOIN LATERAL (SELECT CASE
    WHEN n % 100 < 62 THEN 'available' WHEN n % 100 < 66 THEN 'reserved' WHEN n % 100 < 68 THEN 'in_offer'
    WHEN n % 100 < 96 THEN 'delivered' WHEN n % 100 < 97 THEN 'missing' WHEN n % 100 < 99 THEN 'removed'
    ELSE 'quarantined' END AS status) s;

INSERT INTO assignments (id, user_id, assignment_type, external_system, external_context, total_items_count,
                         total_estimated_value, assignment_priority, status, assigned_at, delivery_attempts,
                         created_at, updated_at, failed_at, delivered_at)
SELECT gen_random_uuid(), 76561198000000000 + 1 + n % 5000, (ARRAY['giveaway', 'shop', 'vip'])[1 + n % 3],
       (ARRAY['sourcemod_giveaway', 'discord_bot', 'web_shop'])[1 + n % 3], '{}'::jsonb, 2, 10, 0,
       CASE WHEN n % 50 = 0 THEN 'failed' WHEN n % 20 = 0 THEN 'processing' WHEN n % 25 = 0 THEN 'pending'
            ELSE 'delivered' END,
       now() - ((n % 60) || ' days')::interval, 1, now() - ((n % 60) || ' days')::interval, now(),
       CASE WHEN n % 50 = 0 THEN now() - ((n % 3) || ' hours')::interval END,
       CASE WHEN n % 50 <> 0 AND n % 20 <> 0 AND n % 25 <> 0 THEN now() - ((n % 60) || ' days')::interval END
FROM generate_series(1, 20000) n;

-- Two delivered items per delivered assignment (the is_active trigger fills the flag).
INSERT INTO assignment_items (assignment_id, item_id, item_value_at_assignment, item_name_at_assignment,
                              delivery_status, created_at, is_active)
SELECT a.id, i.id, i.market_value, i.item_name, 'delivered', a.created_at, false
FROM (SELECT id, created_at, row_number() OVER (ORDER BY id) AS r FROM assignments WHERE status = 'delivered') a
JOIN (SELECT id, market_value, item_name, row_number() OVER (ORDER BY id) AS r FROM items
      WHERE status = 'delivered') i ON i.r IN (2 * a.r, 2 * a.r - 1);

INSERT INTO inventory_sync_log (id, sync_started_at, sync_completed_at, sync_status, steam_inventory_count,
                                items_added_count, items_removed_count, items_updated_count,
                                discrepancies_found, sync_duration_ms, trigger, created_at)
SELECT gen_random_uuid(), now() - (n * 5 || ' minutes')::interval, now() - (n * 5 || ' minutes')::interval + '40 s',
       CASE WHEN n % 97 = 0 THEN 'failed' ELSE 'success' END, 68000, n % 4, n % 3, n % 11,
       CASE WHEN n % 13 = 0 THEN 1 ELSE 0 END, 40000, 'schedule', now()
FROM generate_series(1, 2000) n;

INSERT INTO system_events (id, event_type, event_category, event_description, user_id, item_id, assignment_id,
                           external_system, event_data, severity, source, actor, created_at)
SELECT gen_random_uuid(), t.event_type, split_part(t.event_type, '.', 1),
       t.event_type || ' for item ' || n, NULL,
       CASE WHEN t.event_type LIKE 'item.%%' THEN (SELECT id FROM items WHERE steam_asset_id = 30000000000 + 1 + n %% %(items)s) END,
       NULL, NULL, '{}'::jsonb, t.severity,
       CASE WHEN t.event_type = 'item.quarantined' THEN 'admin' WHEN t.event_type LIKE 'delivery.%%' THEN 'worker'
            ELSE 'sync' END,
       CASE WHEN t.event_type = 'item.quarantined' THEN 'olga' ELSE 'system' END,
       now() - (n * (90 * 86400.0 / %(events)s) || ' seconds')::interval
FROM generate_series(1, %(events)s) n
CROSS JOIN LATERAL (SELECT CASE
    WHEN n %% 1000 = 0 THEN 'delivery.failed' WHEN n %% 5000 = 1 THEN 'item.quarantined'
    WHEN n %% 100 < 40 THEN 'item.updated' WHEN n %% 100 < 60 THEN 'item.added'
    WHEN n %% 100 < 80 THEN 'item.delivered' WHEN n %% 100 < 90 THEN 'delivery.offer_sent'
    ELSE 'sync.completed' END AS event_type) e
CROSS JOIN LATERAL (SELECT e.event_type,
    CASE WHEN e.event_type = 'delivery.failed' THEN 'error' WHEN e.event_type = 'item.quarantined' THEN 'warning'
         ELSE 'info' END AS severity) t;
"""


def _create_database(database: str) -> None:
    base = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
    subprocess.run(["psql", f"{base}/postgres", "-qc", f"DROP DATABASE IF EXISTS {database}"], check=True)
    subprocess.run(["psql", f"{base}/postgres", "-qc", f"CREATE DATABASE {database}"], check=True)


def _fill(items: int, events: int) -> float:
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        # The events INSERT uses %% for literal percents; the others are run without parameters.
        head, events_sql = GENERATE.rsplit("INSERT INTO system_events", 1)
        cursor.execute(head.replace("%(items)s", str(items)))
        cursor.execute("INSERT INTO system_events" + events_sql, {"items": items, "events": events})
        cursor.execute("ANALYZE")
    return time.monotonic() - started


PAGES = [
    ("dashboard", "/admin/", {}),
    ("items: first page", "/admin/items/item/", {}),
    ("items: status = missing", "/admin/items/item/", {"status__exact": "missing"}),
    ("items: CS2, available, 10–100", "/admin/items/item/",
     {"steam_app_id": "730", "status__exact": "available", "value": "10to100"}),
    ("items: unexpected (needs a decision)", "/admin/items/item/", {"decision": "unexpected"}),
    ("items: search 'Redline'", "/admin/items/item/", {"q": "Redline"}),
    ("items: search an asset id", "/admin/items/item/", {"q": "30000054321"}),
    ("item page (with its history)", "ITEM", {}),
    ("events: first page", "/admin/audit/systemevent/", {}),
    ("events: severity = error", "/admin/audit/systemevent/", {"severity__exact": "error"}),
    ("events: type = item.quarantined", "/admin/audit/systemevent/", {"event_type__exact": "item.quarantined"}),
    ("events: category = delivery, last 24 h", "/admin/audit/systemevent/",
     {"event_category__exact": "delivery", "since": "24h"}),
    ("events: search an operator", "/admin/audit/systemevent/", {"q": "olga"}),
    ("events: search an item id", "/admin/audit/systemevent/", {"q": "ITEM_ID"}),
    ("assignments: first page", "/admin/assignments/assignment/", {}),
    ("assignments: failed", "/admin/assignments/assignment/", {"status__exact": "failed"}),
    ("assignment items", "/admin/assignments/assignment/items/", {}),
    ("sync runs", "/admin/sync/inventorysynclog/", {}),
]


def _measure(runs: int, pages=None) -> list[tuple[str, float, float, int, int]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from items.models import Item

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True,
                                                                               "is_superuser": True})
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    item = Item.objects.filter(status="delivered", assignment_items__isnull=False).first()
    results = []
    for label, url, params in pages or PAGES:
        if url == "ITEM":
            url = f"/admin/items/item/{item.pk}/change/"
        params = {k: (str(item.pk) if v == "ITEM_ID" else v) for k, v in params.items()}
        response = client.get(url, params)  # warm-up (and the status check)
        assert response.status_code == 200, (label, response.status_code)
        timings, database = [], []
        for _ in range(runs):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url, params)
                response.content  # noqa: B018 - rendered
                timings.append((time.perf_counter() - started) * 1000)
            database.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
        timings.sort()
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        results.append((label, statistics.median(timings), p95, len(queries), statistics.median(database)))
    return results


EVENT_INDEX_PAGES = [page for page in PAGES if page[0] in (
    "events: severity = error", "events: search an operator", "events: first page")]


def _compare_event_indexes(runs: int) -> None:
    """The same pages without audit/0003's partial indexes: dropped inside a transaction
    that the measurement runs in and then rolls back (PostgreSQL DDL is transactional)."""
    from django.db import connection, transaction

    import importlib

    names = importlib.import_module("audit.migrations.0003_event_filter_indexes").INDEXES
    with_indexes = {label: (median, p95) for label, median, p95, _, _ in _measure(runs, EVENT_INDEX_PAGES)}
    with transaction.atomic():
        with connection.cursor() as cursor:
            for name in names:
                cursor.execute(f"DROP INDEX {name}")
        without = {label: (median, p95) for label, median, p95, _, _ in _measure(runs, EVENT_INDEX_PAGES)}
        transaction.set_rollback(True)
    print("\naudit/0003 partial indexes, same run (median / p95 ms):")
    print(f"{'page':42} {'with':>14} {'without':>14} {'ratio':>7}")
    for label, _, _ in EVENT_INDEX_PAGES:
        (m1, p1), (m2, p2) = with_indexes[label], without[label]
        print(f"{label:42} {m1:6.1f} / {p1:5.1f} {m2:6.1f} / {p2:5.1f} {m2 / m1:6.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE", "astro_admin_bench"))
    parser.add_argument("--keep", action="store_true", help="keep the database (skip re-creating it next time)")
    parser.add_argument("--reuse", action="store_true", help="measure an existing, already filled database")
    args = parser.parse_args()

    _setup_environment(args.database)
    if not args.reuse:
        _create_database(args.database)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if not args.reuse:
        call_command("migrate", verbosity=0)
        seconds = _fill(args.items, args.events)
        print(f"generated {args.items:,} items and {args.events:,} events in {seconds:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM system_events), "
                       "(SELECT count(*) FROM assignments), (SELECT count(*) FROM assignment_items)")
        counts = cursor.fetchone()
    print("rows: items {:,}, events {:,}, assignments {:,}, assignment items {:,}".format(*counts))
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic here
    print(f"server time per page over {args.runs} requests (after one warm-up)\n")
    print(f"{'page':42} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'db ms':>7}")
    for label, median, p95, queries, database in _measure(args.runs):
        print(f"{label:42} {median:10.1f} {p95:8.1f} {queries:8d} {database:7.1f}")
    _compare_event_indexes(args.runs)
    connection.close()
    if not args.keep and not args.reuse:
        _create_database(args.database)  # leave an empty database behind, not 2 GB


if __name__ == "__main__":
    main()
