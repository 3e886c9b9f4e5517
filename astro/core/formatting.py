"""How the console writes money and game names (one home, used by every admin page)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

GAME_NAMES = {730: "Counter-Strike 2", 440: "Team Fortress 2", 570: "Dota 2", 753: "Steam"}
# Steam's currency codes (STEAM_MARKET_CURRENCY) -> the symbol prices are shown with.
CURRENCY_SYMBOLS = {1: "$", 2: "£", 3: "€", 5: "₽", 6: "zł ", 7: "R$ ", 17: "₺", 23: "¥", 18: "₴"}


def game_name(app_id: int) -> str:
    return GAME_NAMES.get(app_id, f"App {app_id}")


def currency_symbol() -> str:
    return CURRENCY_SYMBOLS.get(settings.STEAM_MARKET_CURRENCY, "")


def money(value) -> str:
    return f"{currency_symbol()}{Decimal(value or 0):,.2f}"
