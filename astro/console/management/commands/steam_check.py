"""`python manage.py steam_check`: can Astro reach the bot's Steam account?

Logs in (or reuses the shared session), prints the bot's steamid, the item count
of every configured app/context and the open sent offers. Exits non-zero with
the gateway's explanation when any of that fails.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from astro.steam import get_gateway
from astro.steam.errors import SteamError
from astro.steam.gateway import OPEN_OFFER_STATES


class Command(BaseCommand):
    help = "Log in to Steam and print the bot's steamid, inventory counts and open sent offers."

    def handle(self, *args, **options):
        gateway = get_gateway()
        where = f"sandbox at {settings.STEAM_SANDBOX_URL}" if settings.STEAM_MODE == "sandbox" else "live Steam"
        self.stdout.write(f"Steam mode: {settings.STEAM_MODE} ({where})")
        try:
            gateway.ensure_session()
            self.stdout.write(f"Logged in: steamid {gateway.bot_steam_id} (via {gateway.login_path} login)")
            for app_id, context_id in settings.STEAM_INVENTORIES:
                inventory = gateway.fetch_inventory(app_id, context_id)
                tradable = sum(1 for item in inventory.items if item.tradable)
                self.stdout.write(
                    f"Inventory {app_id}/{context_id}: {len(inventory.items)} items "
                    f"({tradable} tradable; Steam total {inventory.total_count}; {inventory.pages} page(s))"
                )
            offers = [o for o in gateway.get_sent_offers(active_only=True) if o.state in OPEN_OFFER_STATES]
            self.stdout.write(f"Open sent offers: {len(offers)}")
            for offer in offers:
                self.stdout.write(
                    f"  offer {offer.offer_id} {offer.state.name} to {offer.partner_steam_id}: "
                    f"{len(offer.items_to_give)} item(s), message {offer.message!r}"
                )
        except SteamError as exc:
            raise CommandError(f"Steam check failed [{exc.code}]: {exc}") from None
        self.stdout.write(self.style.SUCCESS("Steam check passed."))
