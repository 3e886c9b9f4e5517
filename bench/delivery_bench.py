"""Delivery latency benchmark: creation -> `delivered`, and what it costs in Steam calls.

    .venv/bin/python bench/delivery_bench.py [--count 30] [--gap 12] [--burst 10] [--workers 3]

The whole product runs as in production, on the production defaults of every
DELIVERY_* and STEAM_* setting: real `celery worker` processes (prefork,
--workers children) and `celery beat` (the database schedule installed by
`setup_periodic_tasks`: the poller every DELIVERY_POLL_INTERVAL_SECONDS, the
sweeper every minute), PostgreSQL, Redis, and the Steam sandbox with its 2026
behaviours on (its defaults). Every simulated user accepts 1 s after the offer
becomes active ("accept", delaySeconds 1).

Scenarios:
  steady   --count assignments, one every --gap seconds (each its own user, round-robin over 10)
  burst    --burst assignments created at the same moment (10 users)

Reported per scenario: creation -> delivered p50 / p95 / max (the assignment's
created_at and delivered_at, both written by Astro), and from the sandbox's per-bot
call counters: GetTradeOffers listings (count, per 10 s, the smallest gap between
two), single-offer reads (GetTradeOffer + GetTradeStatus; those of outstanding
offers separately), confirmation calls and sends.

It runs against its own database (BENCH_DATABASE, default astro_delivery_bench,
created and migrated here), REDIS_URL (default redis://127.0.0.1:6379/13, flushed
here) and its own sandbox on a free port, all torn down after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USERS = 10


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sandbox:
    def __init__(self):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = tempfile.mkdtemp(prefix="astro-delivery-bench-")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "steam_sandbox", "--port", str(self.port), "--state-dir", self.dir, "--reset"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.call("GET", "/sandbox/health")
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the sandbox did not start")

    def call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read() or b"null")

    def counters(self) -> dict:
        return self.call("GET", "/sandbox/bots/bot/counters")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)


def _environment(database: str, sandbox: Sandbox) -> dict:
    base = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
    env = {
        **os.environ,
        "DATABASE_URL": f"{base}/{database}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"),
        "DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "STEAM_MODE": "sandbox",
        "STEAM_SANDBOX_URL": sandbox.url,
        "STEAM_SANDBOX_STATE_DIR": sandbox.dir,
        "STEAM_INVENTORIES": "730/2",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    return env


def _spawn(name: str, args: list[str], env: dict, logs: Path) -> subprocess.Popen:
    log = (logs / f"{name}.log").open("wb")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _run_scenario(name: str, sandbox: Sandbox, make, count: int, gap: float, timeout: float) -> dict:
    from assignments.models import Assignment

    sandbox.call("POST", "/sandbox/counters/reset", {})
    started = time.monotonic()
    ids = []
    for n in range(count):
        if gap and n:
            time.sleep(max(0.0, started + n * gap - time.monotonic()))
        ids.append(make(n))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = Assignment.objects.filter(id__in=ids, status="delivered").count()
        if done == len(ids):
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    rows = list(Assignment.objects.filter(id__in=ids).values_list("status", "created_at", "delivered_at"))
    latencies = [(d - c).total_seconds() for s, c, d in rows if s == "delivered"]
    view = sandbox.counters()
    listing = view["endpoints"].get("GetTradeOffers:listing", {})
    return {
        "scenario": name,
        "assignments": len(ids),
        "delivered": len(latencies),
        "p50": statistics.median(latencies) if latencies else None,
        "p95": _percentile(latencies, 95) if latencies else None,
        "max": max(latencies) if latencies else None,
        "seconds": elapsed,
        "listings": view["listings"],
        "listings_per_10s": view["listings"] / elapsed * 10,
        "listing_min_gap": listing.get("minGapSeconds"),
        "single_reads": view["singleOfferReads"],
        "outstanding_reads": view["outstandingOfferReads"],
        "get_trade_offer": view["endpoints"].get("GetTradeOffer", {}).get("count", 0),
        "get_trade_status": view["endpoints"].get("GetTradeStatus", {}).get("count", 0),
        "confirmations": view["confirmationCalls"],
        "sends": view["sends"],
    }


def _machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal")).split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    load = os.getloadavg()
    return (f"{os.cpu_count()} cores ({cpu}){memory}, Python {platform.python_version()}, "
            f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=30, help="steady scenario: assignments")
    parser.add_argument("--gap", type=float, default=12.0, help="steady scenario: seconds between two")
    parser.add_argument("--burst", type=int, default=10, help="burst scenario: assignments at once (0: skip)")
    parser.add_argument("--workers", type=int, default=3, help="celery worker processes (prefork children)")
    parser.add_argument("--trace", action="store_true", help="print the Steam requests of the last scenario")
    args = parser.parse_args(argv)

    database = os.environ.get("BENCH_DATABASE", "astro_delivery_bench")
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database], capture_output=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True, capture_output=True)
    sandbox = Sandbox()
    env = _environment(database, sandbox)
    logs = Path(tempfile.mkdtemp(prefix="astro-delivery-bench-logs-"))
    processes: list[subprocess.Popen] = []
    try:
        import django

        django.setup()
        import redis
        from django.core.management import call_command

        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
        call_command("migrate", verbosity=0)
        call_command("setup_periodic_tasks", verbosity=0)

        from assignments.services import assignment_create
        from sync.services import sync_run
        from items.models import Item

        users = [sandbox.call("POST", "/sandbox/users", {"behaviour": "accept", "delaySeconds": 1})
                 for _ in range(USERS)]
        needed = args.count + args.burst
        sandbox.call("POST", "/sandbox/inventories/bot/730/2/generate", {"count": needed, "seed": 11})
        assert sync_run(trigger="command", actor="bench").sync_status == "success"
        pool = list(Item.objects.filter(status="available").order_by("steam_asset_id").values_list("id", flat=True))

        celery = str(Path(sys.executable).with_name("celery"))
        processes.append(_spawn("worker", [celery, "-A", "config", "worker", "--loglevel=WARNING", "--concurrency",
                                           str(args.workers), "-n", "bench@%h"], env, logs))
        processes.append(_spawn("beat", [celery, "-A", "config", "beat", "--loglevel=WARNING"], env, logs))
        time.sleep(8)  # worker and beat up

        def make(n: int) -> str:
            user = users[n % USERS]
            assignment = assignment_create(
                user_id=int(user["steamId"]), item_ids=[pool.pop()], assignment_type="bench",
                external_system="bench", actor="bench", trade_url=user["tradeUrl"])
            return assignment.id

        results = [_run_scenario(f"steady: {args.count}, one every {args.gap:g} s", sandbox, make, args.count,
                                 args.gap, timeout=120)]
        trace_from = (sandbox.call("GET", "/sandbox/requests?since=0")["lastSeq"], time.time())
        if args.burst:
            time.sleep(15)  # the steady scenario's last offers settle
            trace_from = (sandbox.call("GET", "/sandbox/requests?since=0")["lastSeq"], time.time())
            results.append(_run_scenario(f"burst: {args.burst} at once", sandbox, make, args.burst, 0, timeout=180))

        print(f"\nMachine: {_machine()}")
        print(f"Command: .venv/bin/python bench/delivery_bench.py --count {args.count} --gap {args.gap:g} "
              f"--burst {args.burst} --workers {args.workers}\n")
        print("| scenario | delivered | p50 | p95 | max | listings (per 10 s, smallest gap) "
              "| single reads (outstanding) | GetTradeOffer / GetTradeStatus | confirmation calls | sends |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in results:
            def s(value):
                return "-" if value is None else f"{value:.1f} s"

            gap = "-" if r["listing_min_gap"] is None else f"{r['listing_min_gap']:.1f} s"
            print(f"| {r['scenario']} | {r['delivered']}/{r['assignments']} | {s(r['p50'])} | {s(r['p95'])} | "
                  f"{s(r['max'])} | {r['listings']} ({r['listings_per_10s']:.2f}, {gap}) | "
                  f"{r['single_reads']} ({r['outstanding_reads']}) | {r['get_trade_offer']} / "
                  f"{r['get_trade_status']} | {r['confirmations']} | {r['sends']} |")
        if args.trace:
            print("\nSteam requests of the last scenario (seconds from its start):")
            for request in sandbox.call("GET", f"/sandbox/requests?since={trace_from[0]}")["requests"]:
                print(f"  {request['time'] - trace_from[1]:7.2f}  {request['method']:4} {request['path']} "
                      f"{request['status']} {request.get('fault') or ''}")
        print(f"\nLogs: {logs}")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        sandbox.stop()


if __name__ == "__main__":
    main()
