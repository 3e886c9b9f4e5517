"""Real Celery worker processes against the test database, real Redis and the sandbox.

`celery_worker_factory` starts `celery -A config worker --pool=solo` as a child
process with the test database's URL (pytest-django's test database, not the
development one), the same REDIS_URL, and STEAM_SANDBOX_URL; it waits until the
worker answers a ping and stops (or is told to SIGKILL) it at the end.
Tests here must use `transaction=True`: a worker only sees committed rows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from config.celery import app
from tests.support.database import database_url
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(self, proc: subprocess.Popen, name: str, log: Path):
        self.proc = proc
        self.name = name
        self.log = log

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no ack, exactly what a crashed host looks like."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def celery_worker_factory(transactional_db, steam_sandbox, tmp_path):
    """Start real worker processes: `start(**env_overrides) -> Worker`."""
    workers: list[Worker] = []
    # Messages queued by earlier tests (on_commit of rows long flushed) would only
    # make the worker look up assignments that no longer exist; drop them.
    app.control.purge()

    def start(**env_overrides: str) -> Worker:
        name = f"e2e-{uuid.uuid4().hex[:8]}@localhost"
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": os.environ["REDIS_URL"],
            "STEAM_MODE": "sandbox",
            "STEAM_SANDBOX_URL": steam_sandbox.url,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "PYTHONUNBUFFERED": "1",
            **{key: str(value) for key, value in env_overrides.items()},
        }
        log = tmp_path / f"{name.split('@')[0]}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", name],
            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        )
        worker = Worker(proc, name, log)
        workers.append(worker)

        def answers():
            if not worker.alive():
                raise AssertionError(f"worker exited at start:\n{worker.output()}")
            return app.control.ping(destination=[name], timeout=0.5)

        wait_for(answers, timeout=90, what=f"worker {name} to answer a ping")
        return worker

    yield start
    for worker in workers:
        worker.stop()
