"""`make demo`: everything Astro needs, on one machine, in the foreground.

Migrates, installs the schedules, creates the admin login and a demo external
system with its API key, starts the Steam sandbox (unless live Steam credentials
are configured) with a seeded bot inventory and demo users, runs a first sync,
then runs web, worker and beat until Ctrl-C, which stops everything it started.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from astro.core import embedded
from astro.integrations.models import ApiKey, ExternalSystem
from astro.integrations.services import api_key_create, external_system_create
from items.services import user_set_trade_url
from sync.services import sync_run

DEMO_STATE = "demo.json"
DEMO_SYSTEM = "sourcemod_giveaway"
# The ADR-002 example request's userId: a simulated Steam user who accepts offers.
DEMO_USER_STEAM_ID = 76561198123456789
STOP_GRACE_SECONDS = 15


class Command(BaseCommand):
    help = "Run Astro locally: web, worker, beat and the Steam sandbox, with demo data."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="web port (default 8000)")
        parser.add_argument("--sandbox-port", type=int, default=8765, help="Steam sandbox port (default 8765)")

    def handle(self, *args, port: int, sandbox_port: int, **options):
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.stopping = False
        # Explicitly, for both: a shell that starts us in the background ignores SIGINT.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self._raise_interrupt())
        try:
            self._run(port, sandbox_port)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop_all()

    # ------------------------------------------------------------- steps

    def _run(self, port: int, sandbox_port: int) -> None:
        self._say_services()
        self._step("Migrating the database")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("setup_periodic_tasks", verbosity=0)
        self._say("  schedules installed (sync every 5 minutes, delivery sweeper and offer polling)")

        state = self._load_state()
        username, password = self._admin_login(state)
        api_key = self._demo_api_key(state)
        self._save_state(state)

        sandbox_url = None
        if settings.STEAM_MODE == "sandbox":
            sandbox_url = f"http://127.0.0.1:{sandbox_port}"
            os.environ["STEAM_SANDBOX_URL"] = sandbox_url
            settings.STEAM_SANDBOX_URL = sandbox_url
            self._start_sandbox(sandbox_port, sandbox_url)
            self._seed_sandbox(sandbox_url)
        else:
            self._say("Live Steam: STEAM_USERNAME is set, so the sandbox is not started.")

        self._first_sync()

        self._step("Starting web, worker and beat")
        python = sys.executable
        celery = str(Path(python).with_name("celery"))
        # gunicorn, as in production: Django's development server resets connections under load.
        gunicorn = str(Path(python).with_name("gunicorn"))
        self._spawn("web", [gunicorn, "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "3",
                            "--timeout", "60", "--limit-request-line", "8190", "--no-control-socket"])
        self._spawn("worker", [celery, "-A", "config", "worker", "-l", "info", "--concurrency", "2", "-n", "demo@%h"])
        self._spawn("beat", [celery, "-A", "config", "beat", "-l", "info"])
        self._wait_for_http(f"http://127.0.0.1:{port}/api/health", "web", accept_status={200, 503})

        self._banner(port, username, password, api_key, sandbox_url)
        while True:
            for name, process in self.processes:
                if process.poll() is not None:
                    raise CommandError(f"{name} exited with code {process.returncode}; stopping the demo.")
            time.sleep(0.5)

    def _say_services(self) -> None:
        started = embedded.started_here()
        db = "embedded PostgreSQL (.astro/postgres)" if "DATABASE_URL" not in self._configured() else "DATABASE_URL"
        redis = "embedded Redis (.astro/redis)" if "REDIS_URL" not in self._configured() else "REDIS_URL"
        self._step("Services")
        self._say(f"  database: {db}{' — started' if 'postgres' in started else ''}")
        self._say(f"  redis:    {redis}{' — started' if 'redis' in started else ''}")

    def _configured(self) -> set[str]:
        return set(getattr(settings, "ASTRO_CONFIGURED_SERVICES", set()))

    def _admin_login(self, state: dict) -> tuple[str, str]:
        User = get_user_model()
        username = "admin"
        password = state.setdefault("admin_password", secrets.token_urlsafe(12))
        user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True, "is_superuser": True})
        if created or not user.check_password(password):
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
        self._say(f"  admin login {'created' if created else 'ready'}: {username}")
        return username, password

    def _demo_api_key(self, state: dict) -> str:
        system = ExternalSystem.objects.filter(slug=DEMO_SYSTEM).first() or external_system_create(
            slug=DEMO_SYSTEM, name="SourceMod giveaway (demo)", actor="demo", source="command"
        )
        key = state.get("api_key")
        # Keys are stored hashed and shown once; the demo keeps its own in .astro/demo.json.
        if key and ApiKey.objects.filter(system=system, prefix=key.split("_")[1], revoked_at__isnull=True).exists():
            self._say(f"  demo external system {DEMO_SYSTEM!r}: key ready")
            return key
        _, key = api_key_create(system=system, name="demo key", actor="demo", source="command")
        state["api_key"] = key
        self._say(f"  demo external system {DEMO_SYSTEM!r}: new API key created")
        return key

    def _start_sandbox(self, sandbox_port: int, sandbox_url: str) -> None:
        self._step(f"Starting the Steam sandbox on {sandbox_url}")
        self._spawn("sandbox", [sys.executable, "-m", "steam_sandbox", "--port", str(sandbox_port),
                               "--state-dir", str(settings.STEAM_SANDBOX_STATE_DIR)])
        self._wait_for_http(f"{sandbox_url}/sandbox/state", "sandbox")

    def _seed_sandbox(self, sandbox_url: str) -> None:
        state = requests.get(f"{sandbox_url}/sandbox/state", timeout=10).json()
        if not state.get("botItemCount"):
            requests.post(f"{sandbox_url}/sandbox/seed", timeout=30).raise_for_status()
            self._say("  seeded the bot inventory")
        users = {int(u["steamId"]): u for u in requests.get(f"{sandbox_url}/sandbox/users", timeout=10).json()["users"]}
        demo = users.get(DEMO_USER_STEAM_ID)
        if demo is None:
            response = requests.post(
                f"{sandbox_url}/sandbox/users",
                json={"steamId": str(DEMO_USER_STEAM_ID), "personaName": "Demo Player", "behaviour": "accept", "delaySeconds": 5},
                timeout=10,
            )
            response.raise_for_status()
            demo = response.json()
        user_set_trade_url(steam_id=DEMO_USER_STEAM_ID, trade_url=demo["tradeUrl"], actor="demo", source="command")
        self._say(f"  demo Steam user {DEMO_USER_STEAM_ID} accepts offers after 5 s (trade URL on file)")

    def _first_sync(self) -> None:
        self._step("Syncing the bot inventory")
        log = sync_run(trigger="command", actor="demo")
        self._say(
            f"  {log.sync_status}: {log.steam_inventory_count} items on Steam, "
            f"{log.items_added_count} added, {log.items_removed_count} removed, {log.items_updated_count} updated"
        )

    # --------------------------------------------------------- processes

    def _spawn(self, name: str, command: list[str]) -> None:
        # Own session: Ctrl-C reaches only this supervisor, which then stops the
        # children in order instead of all of them racing to exit at once.
        process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=dict(os.environ), start_new_session=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        )
        self.processes.append((name, process))
        threading.Thread(target=self._relay, args=(name, process), daemon=True).start()

    def _relay(self, name: str, process: subprocess.Popen) -> None:
        for line in process.stdout:
            sys.stdout.write(f"{name:>7} | {line}")
            sys.stdout.flush()

    def _wait_for_http(self, url: str, name: str, accept_status=frozenset({200}), timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc_name, process in self.processes:
                if process.poll() is not None:
                    raise CommandError(f"{proc_name} exited with code {process.returncode} during start-up.")
            try:
                if requests.get(url, timeout=2).status_code in accept_status:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise CommandError(f"{name} did not answer at {url} within {timeout:.0f} s.")

    def _raise_interrupt(self):
        if not self.stopping:
            raise KeyboardInterrupt

    def _stop_all(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        if self.processes:
            self._step("Stopping")
        for name, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, process in reversed(self.processes):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            self._say(f"  {name} stopped")
        for service in embedded.stop_started():
            self._say(f"  embedded {service} stopped (data kept in .astro/)")

    # ------------------------------------------------------------ output

    def _state_path(self) -> Path:
        return embedded.data_root() / DEMO_STATE

    def _load_state(self) -> dict:
        path = self._state_path()
        return json.loads(path.read_text()) if path.exists() else {}

    def _save_state(self, state: dict) -> None:
        path = self._state_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(state, indent=2))
        path.chmod(0o600)

    def _step(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"==> {text}"))

    def _say(self, text: str) -> None:
        self.stdout.write(text)

    def _banner(self, port, username, password, api_key, sandbox_url) -> None:
        base = f"http://127.0.0.1:{port}"
        lines = [
            "",
            "Astro is running. Ctrl-C stops everything.",
            f"  Admin:        {base}/admin/   login {username} / {password}",
            f"  API docs:     {base}/api/docs/",
            f"  Health:       {base}/api/health",
            f"  Demo API key: {api_key}   (system {DEMO_SYSTEM})",
        ]
        if sandbox_url:
            lines.append(f"  Steam sandbox: {sandbox_url}/sandbox/state   (docs/sandbox.md)")
        lines += [
            "",
            "Try it (README.md walks through it):",
            f"  curl -s -H 'Authorization: Api-Key {api_key}' '{base}/api/items?status=available' | python3 -m json.tool | head -40",
            "",
        ]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
