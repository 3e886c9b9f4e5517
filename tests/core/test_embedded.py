"""The embedded PostgreSQL and Redis start, keep their data across a restart, and are reused."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, sys
from astro.core import embedded
import psycopg, redis
action = sys.argv[1]
pg_url, redis_url = embedded.ensure_postgres(), embedded.ensure_redis()
started = sorted(embedded.started_here())
r = redis.Redis.from_url(redis_url)
with psycopg.connect(pg_url, autocommit=True) as conn:
    if action == "write":
        conn.execute("CREATE TABLE IF NOT EXISTS kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('survives')")
        r.set("kept", "survives")
        r.execute_command("SAVE")
    value = conn.execute("SELECT v FROM kept").fetchone()[0]
print(json.dumps({"pg": pg_url, "redis": redis_url, "started": started,
                  "pg_value": value, "redis_value": (r.get("kept") or b"").decode()}))
if action == "stop":
    embedded.stop_redis(); embedded.stop_postgres()
"""


def _run(data_dir, action):
    env = {**os.environ, "ASTRO_DATA_DIR": str(data_dir)}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, action], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_services_start_keep_data_and_are_reused():
    # A short private path of our own: PostgreSQL's socket lives in it (sockets have a
    # ~107-byte path limit), and pytest's shared basetemp can be pruned by other runs.
    data_dir = Path(tempfile.mkdtemp(prefix="astro-embedded-"))
    try:
        _check_start_keep_reuse(data_dir)
    finally:
        _run(data_dir, "stop")
        shutil.rmtree(data_dir, ignore_errors=True)


def _check_start_keep_reuse(data_dir):
    first = _run(data_dir, "write")
    assert first["started"] == ["postgres", "redis"]
    assert (data_dir / "postgres" / "PG_VERSION").exists()

    # A second process finds both running and reuses them.
    second = _run(data_dir, "read")
    assert second["started"] == []
    assert second["redis"] == first["redis"]
    assert second["pg_value"] == "survives"

    # Stopped, then started again: the data is still there.
    _run(data_dir, "stop")
    third = _run(data_dir, "stop")
    assert third["started"] == ["postgres", "redis"]
    assert third["pg_value"] == "survives"
    assert third["redis_value"] == "survives"


def test_the_data_folder_is_the_checkouts_dot_astro(monkeypatch):
    from astro.core import embedded

    monkeypatch.delenv("ASTRO_DATA_DIR", raising=False)
    assert embedded.data_root() == ROOT / ".astro"
