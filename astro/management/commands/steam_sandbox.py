"""`python manage.py steam_sandbox`: run the Steam sandbox (astro/steam/sandbox).

The bot's credentials come from Django settings (the sandbox values of
astro/settings.py when STEAM_MODE=sandbox), so the gateway and the sandbox agree.
It needs no database: the sandbox is a plain WSGI app with its state on disk.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from astro.steam.sandbox import BotAccount, serve
from astro.steam.sandbox.server import check_loopback


class Command(BaseCommand):
    help = "Run the Steam sandbox: an HTTP emulator of the Steam endpoints Astro uses (loopback only)."
    requires_system_checks: list = []

    def add_arguments(self, parser):
        default_port = urlsplit(settings.STEAM_SANDBOX_URL).port or 8765
        parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=default_port, help=f"port (default {default_port}, from STEAM_SANDBOX_URL)")
        parser.add_argument("--state-dir", default=str(settings.STEAM_SANDBOX_STATE_DIR), help="where the state is kept (default STEAM_SANDBOX_STATE_DIR)")
        parser.add_argument("--seed", action="store_true", help="load the demo seed inventory and users when the state is empty")
        parser.add_argument("--reset", action="store_true", help="start from an empty state")
        parser.add_argument("--ready-file", help="write the URL to this file once listening")

    def handle(self, *args, host: str, port: int, state_dir: str, seed: bool, reset: bool, ready_file: str | None, **options):
        try:
            check_loopback(host)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        serve(
            state_dir=state_dir, host=host, port=port, bot=BotAccount.from_django_settings(),
            load_seed=seed, reset=reset, ready_file=ready_file, out=self.stdout,
        )
