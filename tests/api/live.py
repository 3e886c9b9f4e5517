"""Astro served by gunicorn, as in production, on the suite's test database and Redis.

`gunicorn_api(workers=...)` starts `gunicorn config.wsgi` as a child process with the
test database's URL (pytest-django's, so only committed rows are seen: tests using it
are transactional), waits for /api/health to answer and stops it at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.database import database_url
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, proc: subprocess.Popen, url: str, log: Path):
        self.proc, self.url, self.log = proc, url, log

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


@pytest.fixture
def gunicorn_api(transactional_db, tmp_path):
    servers: list[Server] = []

    def start(*, workers: int = 2, **env_overrides: str) -> Server:
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": os.environ["REDIS_URL"],
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
            **{key: str(value) for key, value in env_overrides.items()},
        }
        log = tmp_path / f"gunicorn-{port}.log"
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--timeout", "60", "--graceful-timeout", "10", "--limit-request-line", "8190",
             # One control socket per user is gunicorn's default: several servers would share it.
             "--no-control-socket"],
            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        )
        server = Server(proc, f"http://127.0.0.1:{port}", log)
        servers.append(server)

        def answers():
            if proc.poll() is not None:
                raise AssertionError(f"gunicorn exited at start:\n{server.output()}")
            try:
                return requests.get(f"{server.url}/api/health", timeout=10).status_code in (200, 503)
            except requests.RequestException:  # not listening yet, or a worker still booting
                return False

        wait_for(answers, timeout=120, what="gunicorn to answer")
        return server

    yield start
    for server in servers:
        server.stop()
