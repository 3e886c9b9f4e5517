"""Integration API benchmark: core reads on 100,000 items and 1,000,000 events, and
POST /api/assignments throughput with 8 concurrent clients.

    .venv/bin/python bench/api_bench.py [--items 100000] [--events 1000000] [--requests 300] [--keep]

Runs against its own database (BENCH_DATABASE, default astro_api_bench): created,
migrated and filled here with generate_series (system_events is append-only, so
it never goes into a database anyone uses), dropped at the end unless --keep.

Reads are timed in-process through the real Django/DRF stack (auth, throttle,
selectors, serializers, JSON): "server time" is the request's time inside
Astro, without network. Throughput is measured over HTTP against gunicorn
(3 sync workers) with 8 client threads, each creating 1-item assignments.
EXPLAIN shows which index each core query uses.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NAMES = ["AK-47", "M4A1-S", "AWP", "Glock-18", "USP-S", "Desert Eagle", "P250", "Karambit", "Mann Co. Key", "Arcana"]
# Real CS2 finish names: a search term matches about 1 item in 40, as in a real pool.
FINISHES = ["Redline", "Asiimov", "Vulcan", "Fire Serpent", "Hyper Beast", "Neo-Noir", "Bloodsport", "Fade",
            "Doppler", "Tiger Tooth", "Slaughter", "Case Hardened", "Crimson Web", "Printstream", "Dragon Lore",
            "Howl", "Hot Rod", "Cyrex", "Kill Confirmed", "Decimator", "Wasteland Rebel", "Fuel Injector",
            "Water Elemental", "Desolate Space", "Phantom Disruptor", "The Empress", "Neon Rider", "Icarus Fell",
            "Safari Mesh", "Sand Dune", "Boreal Forest", "Urban DDPAT", "Forest Leaves", "Jungle Tiger",
            "Blue Steel", "Night", "Stained", "Scorched", "Ultraviolet", "Damascus Steel"]
SYSTEMS = ["sourcemod_giveaway", "discord_bot", "web_shop", "bench_shop", "other"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup_environment(database: str) -> str:
    base = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
    os.environ["DATABASE_URL"] = f"{base}/{database}"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    os.environ.setdefault("DEBUG", "true")
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    return base


def _admin_sql(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql)


GENERATE = """
INSERT INTO users (steam_id, first_seen_at, last_seen_at, created_at, updated_at)
SELECT 76561198000000000 + g, now(), now(), now(), now() FROM generate_series(1, 10000) g;

INSERT INTO items (id, steam_asset_id, steam_class_id, steam_instance_id, steam_app_id, steam_context_id,
                   market_hash_name, market_value, item_name, item_type, item_rarity, steam_metadata, custom_metadata,
                   status, tradable, received_at, received_via, assigned_to_user_id, assigned_at, created_at, updated_at)
SELECT gen_random_uuid(), 30000000000 + g, 1000 + g %% 500, 0, (ARRAY[730, 730, 730, 440, 570])[1 + g %% 5],
       2, n.name || ' | ' || (%(finishes)s::text[])[1 + (g / 10) %% 40] || ' (Field-Tested)',
       round((random() * 200)::numeric, 2),
       n.name || ' | ' || (%(finishes)s::text[])[1 + (g / 10) %% 40], 'Rifle', 'Classified', '{}', '{}',
       CASE WHEN g %% 10 < 7 THEN 'available' WHEN g %% 10 = 7 THEN 'delivered' WHEN g %% 10 = 8 THEN 'reserved'
            ELSE 'missing' END,
       true, now() - g * interval '1 second', 'initial_import',
       CASE WHEN g %% 10 IN (7, 8) THEN 76561198000000000 + 1 + g %% 10000 END,
       CASE WHEN g %% 10 IN (7, 8) THEN now() END,
       now() - g * interval '1 second', now()
  FROM generate_series(1, %(items)s) g
  JOIN (SELECT ordinality - 1 AS k, name FROM unnest(%(names)s::text[]) WITH ORDINALITY AS t(name)) n
    ON n.k = g %% 10;

CREATE TEMP TABLE bench_claimed AS
SELECT i.id AS item_id, gen_random_uuid() AS assignment_id, i.status, i.assigned_to_user_id, i.market_value,
       i.item_name, row_number() OVER () AS rn
  FROM items i WHERE i.status IN ('reserved', 'delivered');

INSERT INTO assignments (id, user_id, assignment_type, external_system, external_context, total_items_count,
                         total_estimated_value, assignment_priority, status, assigned_at, delivery_attempts,
                         delivered_at, created_at, updated_at)
SELECT assignment_id, assigned_to_user_id, 'giveaway', (%(systems)s::text[])[1 + rn %% 5],
       '{"giveawayId": "gw"}', 1, coalesce(market_value, 0), 0,
       CASE status WHEN 'reserved' THEN 'pending' ELSE 'delivered' END, now(), 1,
       CASE status WHEN 'delivered' THEN now() END, now() - rn * interval '1 second', now()
  FROM bench_claimed;

INSERT INTO assignment_items (assignment_id, item_id, item_value_at_assignment, item_name_at_assignment,
                              delivery_status, is_active, created_at)
SELECT assignment_id, item_id, market_value, item_name,
       CASE status WHEN 'reserved' THEN 'pending' ELSE 'delivered' END, status = 'reserved', now()
  FROM bench_claimed;

CREATE TEMP TABLE bench_numbered AS SELECT row_number() OVER () AS rn, item_id, assignment_id FROM bench_claimed;

INSERT INTO system_events (id, event_type, event_category, event_description, user_id, item_id, assignment_id,
                           external_system, event_data, severity, source, actor, created_at)
SELECT gen_random_uuid(), (ARRAY['item.reserved', 'assignment.created', 'delivery.offer_sent', 'sync.completed'])[1 + g %% 4],
       'item', 'bench event', NULL, b.item_id, b.assignment_id, (%(systems)s::text[])[1 + g %% 5], '{}', 'info',
       'api', 'bench', now() - g * interval '100 milliseconds'
  FROM generate_series(1, %(events)s) g
  JOIN bench_numbered b ON b.rn = 1 + g %% (SELECT count(*) FROM bench_numbered);

ANALYZE;
"""


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def time_requests(client, urls: list[str]) -> tuple[float, float, float, float]:
    """(p50, p99) of each request's server time, and (p50, p99) of the database's share of it."""
    from django.db import connection

    samples, db_samples = [], []
    db_time = [0.0]

    def timed(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            db_time[0] += time.perf_counter() - start

    with connection.execute_wrapper(timed):
        for url in urls:
            db_time[0] = 0.0
            start = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - start) * 1000)
            db_samples.append(db_time[0] * 1000)
            assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return statistics.median(samples), percentile(samples, 99), statistics.median(db_samples), percentile(db_samples, 99)


def explain(sql: str, params) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def reads(args) -> list[tuple[str, float, float]]:
    from django.test import Client

    from assignments.models import Assignment
    from astro.integrations.models import ExternalSystem
    from astro.integrations.services import api_key_create
    from items.models import Item

    system = ExternalSystem.objects.get(slug="bench_shop")
    plaintext = api_key_create(system=system, actor="bench", source="command")[1]
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {plaintext}")
    rng = random.Random(1)
    n = args.requests
    item_ids = list(Item.objects.values_list("id", flat=True)[:5000])
    own = list(Assignment.objects.filter(external_system="bench_shop").values_list("id", "user_id")[:5000])
    results = []

    def run(label, urls):
        client.get(urls[0])  # warm-up (connection, caches)
        p50, p99, db50, db99 = time_requests(client, urls)
        results.append((label, p50, p99))
        print(f"  {label:<62} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   (database p50 {db50:5.1f} ms, p99 {db99:5.1f} ms)",
              flush=True)

    run("available items, app 730, name search (one finish), page of 50",
        [f"/api/items?status=available&appId=730&search={quote(rng.choice(FINISHES).lower())}" for _ in range(n)])
    run("available items, app 730, market hash name (exact), page of 50",
        [f"/api/items?status=available&appId=730&marketHashName="
         f"{quote(rng.choice(NAMES[:8]) + ' | ' + rng.choice(FINISHES) + ' (Field-Tested)')}" for _ in range(n)])
    run("available items, app 730, newest first, page of 50", ["/api/items?status=available&appId=730"] * n)
    run("item detail", [f"/api/items/{rng.choice(item_ids)}" for _ in range(n)])
    run("a user's assignments (own system)", [f"/api/assignments?userId={rng.choice(own)[1]}" for _ in range(n)])
    run("assignment status (detail with items)", [f"/api/assignments/{rng.choice(own)[0]}" for _ in range(n)])
    run("own events, newest page", ["/api/events"] * n)
    run("own events of one assignment", [f"/api/events?assignmentId={rng.choice(own)[0]}" for _ in range(n)])

    free = list(Item.objects.filter(status="available").order_by("?").values_list("id", flat=True)[: n + 1])
    samples = []
    for item_id in free:
        body = {"userId": "76561198000000042", "itemIds": [str(item_id)], "assignmentType": "bench",
                "externalSystem": "bench_shop"}
        start = time.perf_counter()
        response = client.post("/api/assignments", body, content_type="application/json")
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 201, response.content[:300]
    samples = samples[1:]  # warm-up
    p50, p99 = statistics.median(samples), percentile(samples, 99)
    results.append(("POST /api/assignments, one client (1 item)", p50, p99))
    print(f"  {'POST /api/assignments, one client at a time (1 item)':<62} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    return results


def explains() -> None:
    from assignments.selectors import assignment_list
    from audit.selectors import event_list
    from django.http import QueryDict
    from items.selectors import item_list

    def sql_of(queryset):
        sql, params = queryset.query.sql_with_params()
        return sql, params

    queries = {
        "items by status/app/name search": item_list(
            filters=QueryDict("status=available&appId=730&search=redline")).order_by("-created_at")[:51],
        "items by status/app, newest first": item_list(
            filters=QueryDict("status=available&appId=730")).order_by("-created_at")[:51],
        "a user's assignments": assignment_list(
            external_system="bench_shop", filters=QueryDict("userId=76561198000000005")).order_by("-created_at")[:51],
        "own events, newest first": event_list(external_system="bench_shop").order_by("-created_at")[:51],
    }
    for label, queryset in queries.items():
        print(f"\n-- {label}\n{explain(*sql_of(queryset))}")


def throughput(args, base: str, database: str) -> tuple[float, float, float, int, int]:
    import requests

    from astro.integrations.models import ExternalSystem
    from astro.integrations.services import api_key_create
    from items.models import Item

    system = ExternalSystem.objects.get(slug="bench_shop")
    plaintext = api_key_create(system=system, actor="bench", source="command")[1]
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=f"{base}/{database}")
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "-w", "3", "-b", f"127.0.0.1:{port}", "--log-level", "error"],
        cwd=ROOT, env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/assignments"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/api/health", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.2)
        available = [str(i) for i in Item.objects.filter(status="available").values_list("id", flat=True)[:20000]]
        clients, per_client = 8, args.posts // 8
        # Every client draws from the same pool with some overlap, so some requests lose (409) as in real life.
        rng = random.Random(2)
        plans = [[rng.choice(available) for _ in range(per_client)] for _ in range(clients)]
        latencies, codes, lock = [], [], threading.Lock()
        barrier = threading.Barrier(clients)

        def client(n):
            session = requests.Session()
            session.headers["Authorization"] = f"Api-Key {plaintext}"
            barrier.wait()
            for item_id in plans[n]:
                body = {"userId": 76561198000000000 + 1 + n, "itemIds": [item_id], "assignmentType": "bench",
                        "externalSystem": "bench_shop"}
                start = time.perf_counter()
                response = session.post(url, json=body, timeout=30)
                elapsed = (time.perf_counter() - start) * 1000
                with lock:
                    latencies.append(elapsed)
                    codes.append(response.status_code)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - start
        unexpected = [c for c in codes if c not in (201, 409)]
        assert not unexpected, f"unexpected statuses: {sorted(set(unexpected))}"
        return (len(codes) / wall, statistics.median(latencies), percentile(latencies, 99),
                codes.count(201), codes.count(409))
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per read query")
    parser.add_argument("--posts", type=int, default=2000, help="POST /api/assignments in the throughput run")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    database = os.environ.get("BENCH_DATABASE", "astro_api_bench")
    base = _setup_environment(database)
    _admin_sql(base, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    _admin_sql(base, f'CREATE DATABASE "{database}"')
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from astro.integrations.services import external_system_create

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(GENERATE, {"items": args.items, "events": args.events, "names": NAMES, "systems": SYSTEMS,
                                      "finishes": FINISHES})
        print(f"generated {args.items:,} items, {args.events:,} events in {time.perf_counter() - started:.1f} s")
        for slug in SYSTEMS:
            external_system_create(slug=slug, rate_limit="1000000/min", actor="bench", source="command")

        print("\nserver time of core reads (in-process, DRF stack included):")
        reads(args)
        rps, p50, p99, created, conflicts = throughput(args, base, database)
        print(f"\nPOST /api/assignments, 8 concurrent clients over HTTP (gunicorn, 3 workers): {rps:.0f} requests/s, "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms ({created} created, {conflicts} refused as items_unavailable)")
        explains()
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _admin_sql(base, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
