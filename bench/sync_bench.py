"""Inventory sync benchmark: a 100,000-item inventory served by the Steam sandbox.

    .venv/bin/python bench/sync_bench.py [--items 100000] [--small 5000]

Scenarios (each timed end to end through `sync.services.sync_run`: HTTP paging
from the sandbox, parsing, staging, diff, apply, events, log row):

  first import       empty database, 100k items on Steam
  unchanged re-sync  nothing changed on Steam
  1% changed         800 description/tradability changes, 150 deposits, 50 removals
  small unchanged    5,000 items, unchanged re-sync

Next to each, the raw-SQL floor on the same database state and the same
snapshot: COPY into the same temp tables plus one set-based diff on the same
digests (and, where the diff finds rows, the bare INSERT/UPDATEs without
events, counters or re-checks), rolled back (so it pays no commit).
"database part" is everything sync does after the Steam read: staging, diff,
apply, events, log row and the commit (end to end minus the read).

It runs against its own database (BENCH_DATABASE, default astro_sync_bench, created
and migrated here) and its own sandbox on a free port, both torn down after.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup_environment(database: str) -> None:
    base = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
    os.environ["DATABASE_URL"] = f"{base}/{database}"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    os.environ.setdefault("DEBUG", "true")
    os.environ["STEAM_INVENTORIES"] = "730/2"
    os.environ["LOG_LEVEL"] = "WARNING"
    # A 100k first import is the point of the exercise, not a suspicious answer.
    os.environ["SYNC_MAX_REMOVALS_ABSOLUTE"] = "1000000"


class Sandbox:
    def __init__(self):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = tempfile.mkdtemp(prefix="astro-bench-sandbox-")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "steam_sandbox", "--port", str(self.port), "--state-dir", self.dir, "--reset"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.get("/sandbox/health")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the sandbox did not start")

    def call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.loads(response.read() or b"null")

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body):
        return self.call("POST", path, body)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


FLOOR_DIFF = """
CREATE TEMP TABLE floor_diff AS
SELECT a.app_id, a.asset_id, a.context_id, a.dkey, a.tradable, a.tradable_after, a.extra, a.fingerprint,
       i.id AS item_id,
       CASE WHEN i.id IS NULL THEN 'add' WHEN a.asset_id IS NULL THEN 'gone' ELSE 'update' END AS action
FROM sync_asset a
FULL JOIN (SELECT items.id, items.steam_app_id, items.steam_asset_id, f.fingerprint
           FROM items LEFT JOIN sync_item_state f ON f.item_id = items.id
           WHERE items.status IN ('available', 'reserved', 'in_offer', 'quarantined')) i
       ON i.steam_app_id = a.app_id AND i.steam_asset_id = a.asset_id
WHERE i.id IS NULL OR a.asset_id IS NULL OR i.fingerprint IS DISTINCT FROM a.fingerprint
"""
FLOOR_WRITES = [
    """WITH ins AS (
        INSERT INTO items (id, steam_asset_id, steam_class_id, steam_instance_id, steam_app_id, steam_context_id,
            market_hash_name, item_name, item_type, item_rarity, steam_metadata, custom_metadata, status, tradable,
            tradable_after, created_at, updated_at)
        SELECT gen_random_uuid(), f.asset_id, d.class_id, d.instance_id, f.app_id, f.context_id, d.market_hash_name,
               d.name, d.type, d.rarity, CASE WHEN f.extra IS NULL THEN d.meta ELSE d.meta || f.extra END, '{}',
               'available', f.tradable, f.tradable_after, now(), now()
        FROM floor_diff f JOIN sync_desc d ON d.dkey = f.dkey WHERE f.action = 'add'
        RETURNING id, steam_app_id, steam_asset_id)
       INSERT INTO sync_item_state (item_id, fingerprint)
       SELECT ins.id, f.fingerprint FROM ins JOIN floor_diff f
         ON f.app_id = ins.steam_app_id AND f.asset_id = ins.steam_asset_id""",
    """UPDATE items i SET steam_context_id = f.context_id, steam_class_id = d.class_id,
        steam_instance_id = d.instance_id, market_hash_name = d.market_hash_name, item_name = d.name,
        item_type = d.type, item_rarity = d.rarity, tradable = f.tradable, tradable_after = f.tradable_after,
        steam_metadata = CASE WHEN f.extra IS NULL THEN d.meta ELSE d.meta || f.extra END, updated_at = now()
       FROM floor_diff f JOIN sync_desc d ON d.dkey = f.dkey WHERE f.action = 'update' AND i.id = f.item_id""",
    """INSERT INTO sync_item_state (item_id, fingerprint) SELECT item_id, fingerprint FROM floor_diff
       WHERE action = 'update' ON CONFLICT (item_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint""",
    "UPDATE items i SET status = 'missing', updated_at = now() FROM floor_diff f "
    "WHERE f.action = 'gone' AND i.id = f.item_id",
]


def floor_ms(snapshot) -> int:
    """COPY + one set-based diff + bare writes, in a transaction that is rolled back."""
    from django.db import connection, transaction

    from sync import reconcile

    started = time.monotonic()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            reconcile.stage(cursor, snapshot)
            cursor.execute("DROP TABLE IF EXISTS floor_diff")
            cursor.execute(FLOOR_DIFF)
            for statement in FLOOR_WRITES:
                cursor.execute(statement)
            elapsed = int((time.monotonic() - started) * 1000)
            raise _Rollback(elapsed)
    except _Rollback as done:
        return done.elapsed


class _Rollback(Exception):
    def __init__(self, elapsed):
        self.elapsed = elapsed


def fetched_snapshot():
    """What sync's read step produces, for the floor to stage the very same rows."""
    from django.utils import timezone

    from astro.steam import get_gateway
    from sync.snapshot import build_snapshot

    gateway = get_gateway()
    inventory = gateway.fetch_inventory(730, 2)
    return build_snapshot(inventories=[inventory], trades=[], fetched_at=timezone.now())


def measure(name: str, results: list):
    from sync.services import sync_run

    snapshot = fetched_snapshot()
    floor = floor_ms(snapshot)
    started = time.monotonic()
    log = sync_run(trigger="command", actor="bench")
    total = int((time.monotonic() - started) * 1000)
    timings = log.error_details.get("timings", {})
    row = {
        "scenario": name, "status": log.sync_status, "items": log.steam_inventory_count,
        "added": log.items_added_count, "removed": log.items_removed_count, "updated": log.items_updated_count,
        # Everything after the read: staging, diff, apply, events, log row, bookkeeping and the commit.
        "end_to_end_ms": total, "fetch_ms": timings["fetch_ms"], "database_ms": total - timings["fetch_ms"],
        "floor_ms": floor, "ratio": round((total - timings["fetch_ms"]) / floor, 2) if floor else None,
    }
    results.append(row)
    print(json.dumps(row), flush=True)
    assert log.sync_status == "success", log.error_message


def change_one_percent(sandbox: Sandbox, total: int) -> None:
    inv = sandbox.get(f"/sandbox/inventories/bot/730/2?limit={total}")
    assets = [a["assetid"] for a in inv["assets"]]
    updates, deposits, removals = total * 8 // 1000, total * 15 // 10000, total * 5 // 10000
    for n, asset in enumerate(assets[:updates]):
        change = {"tradable": False} if n % 2 else {"description": {"descriptions": [
            {"type": "html", "value": f"Sticker changed {n}", "name": "sticker_info"}]}}
        sandbox.call("PATCH", f"/sandbox/inventories/bot/730/2/assets/{asset}", change)
    user = sandbox.post("/sandbox/users", {})
    sandbox.post(f"/sandbox/users/{user['steamId']}/deposit", {"appid": 730, "contextid": 2, "count": deposits})
    sandbox.post("/sandbox/inventories/bot/730/2/remove", {"assetIds": assets[-removals:]})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=5_000)
    args = parser.parse_args(argv)

    database = os.environ.get("BENCH_DATABASE", "astro_sync_bench")
    _setup_environment(database)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], capture_output=True)
    sandbox = Sandbox()
    os.environ["STEAM_SANDBOX_URL"] = sandbox.url
    os.environ["STEAM_SANDBOX_STATE_DIR"] = sandbox.dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)

        def empty_database():
            with connection.cursor() as cursor:
                # The audit trail refuses TRUNCATE by trigger; replica mode is the bench's own database only.
                cursor.execute("SET session_replication_role = replica")
                cursor.execute("TRUNCATE system_events, assignment_items, items, users, sync_held_asset, "
                               "sync_held_snapshot, inventory_sync_log CASCADE")
                cursor.execute("SET session_replication_role = DEFAULT")

        results: list[dict] = []
        empty_database()
        sandbox.post("/sandbox/inventories/bot/730/2/generate", {"count": args.items, "seed": 7})
        measure(f"first import, {args.items:,} items", results)
        measure(f"unchanged re-sync, {args.items:,} items", results)
        change_one_percent(sandbox, args.items)
        measure(f"1% changed, {args.items:,} items", results)

        empty_database()
        sandbox.post("/sandbox/inventories/bot/730/2/generate", {"count": args.small, "seed": 8})
        measure(f"first import, {args.small:,} items", results)
        measure(f"unchanged re-sync, {args.small:,} items", results)
        print("\n| scenario | end to end | Steam read + parse | database part | raw-SQL floor | ratio |")
        print("|---|---|---|---|---|---|")
        for r in results:
            print(f"| {r['scenario']} | {r['end_to_end_ms'] / 1000:.2f} s | {r['fetch_ms'] / 1000:.2f} s | "
                  f"{r['database_ms'] / 1000:.2f} s | {r['floor_ms'] / 1000:.2f} s | {r['ratio']} |")
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
