"""Test data. Items normally enter the pool through sync; these put rows straight in
for tests of the layers above it."""

from __future__ import annotations

import itertools
from decimal import Decimal

from items.models import Item, SteamUser

_asset_ids = itertools.count(40_000_000_000)
STEAM_ID_BASE = 76561197960265728
_account_ids = itertools.count(100_000_000)


def make_user(steam_id: int | None = None, **fields) -> SteamUser:
    steam_id = steam_id or STEAM_ID_BASE + next(_account_ids)
    user, _ = SteamUser.objects.get_or_create(steam_id=steam_id, defaults=fields)
    return user


def make_item(**fields) -> Item:
    asset_id = next(_asset_ids)
    defaults = dict(
        steam_asset_id=asset_id,
        steam_class_id=6918207757,
        steam_instance_id=302028390,
        steam_app_id=730,
        steam_context_id=2,
        market_hash_name="MP7 | Short Ochre (Minimal Wear)",
        item_name="MP7 | Short Ochre",
        item_type="Consumer Grade SMG",
        item_rarity="Consumer Grade",
        market_value=Decimal("0.25"),
        received_via="initial_import",
    )
    defaults.update(fields)
    return Item.objects.create(**defaults)


def make_items(count: int, **fields) -> list[Item]:
    return [make_item(**fields) for _ in range(count)]
