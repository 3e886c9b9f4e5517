"""manage.py create_api_key <system> [--name ...] [--scopes a,b] [--rate-limit 600/min]

Creates the external system when it does not exist yet (with the given scopes; by
default items:read, assignments:read, assignments:write and events:read, not
sync:trigger), then a key for it, and prints the key once.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from astro.core.errors import DomainError
from astro.integrations.models import ALL_SCOPES, DEFAULT_SCOPES, ExternalSystem
from astro.integrations.services import api_key_create, external_system_create


class Command(BaseCommand):
    help = "Create an API key for an external system (creating the system if needed); the key is printed once."

    def add_arguments(self, parser):
        parser.add_argument("system", help="The system's slug, the value of externalSystem (e.g. sourcemod_giveaway).")
        parser.add_argument("--name", default="", help="A label for the key (and the system's name when it is new).")
        parser.add_argument(
            "--scopes", default=None,
            help=f"Comma-separated scopes for the key (and a new system), of {', '.join(ALL_SCOPES)}. Default: a new "
                 f"system gets {', '.join(DEFAULT_SCOPES)}; the key gets every scope of its system.",
        )
        parser.add_argument("--rate-limit", default=None, help="A new system's rate limit per key, e.g. 600/min.")
        parser.add_argument("--quiet", action="store_true", help="Print only the key.")

    def handle(self, *args, system: str, name: str, scopes: str | None, rate_limit: str | None, quiet: bool, **options):
        scope_list = [s.strip() for s in scopes.split(",") if s.strip()] if scopes is not None else None
        actor = "manage.py create_api_key"
        try:
            with transaction.atomic():
                existing = ExternalSystem.objects.filter(slug=system).first()
                if existing is None:
                    existing = external_system_create(
                        slug=system, name=name or system, scopes=scope_list, rate_limit=rate_limit,
                        actor=actor, source="command",
                    )
                elif rate_limit:
                    raise CommandError("--rate-limit applies to a new system only; change it in the admin.")
                key, plaintext = api_key_create(
                    system=existing, scopes=scope_list, name=name, actor=actor, source="command"
                )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if quiet:
            self.stdout.write(plaintext)
            return
        self.stdout.write(f"External system: {existing.slug} (scopes: {', '.join(sorted(key.effective_scopes())) or 'none'})")
        self.stdout.write(f"API key (shown once, store it now): {plaintext}")
        self.stdout.write("Send it as:  Authorization: Api-Key <key>")
