"""Inventories and trades built in memory, in the gateway's types, for the pure
reconciliation tests (the end-to-end ones read them from the sandbox over HTTP)."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

from astro.steam.types import Inventory, InventoryItem, TradeAsset, TradeStatus, TradeStatusCode

_asset_ids = itertools.count(50_000_000_000)
_trade_ids = itertools.count(3_871_405_456_557_000_000)
PARTNER = 76561198155110999

_DESCRIPTIONS: dict[tuple, dict] = {}


def description(name: str, *, flavour: str = "A weapon.") -> dict:
    key = (name, flavour)
    if key not in _DESCRIPTIONS:
        _DESCRIPTIONS[key] = {
            "icon_url": f"icon-{abs(hash(name)) % 10_000}",
            "descriptions": [{"type": "html", "value": flavour, "name": "description"}],
            "name_color": "D2D2D2",
        }
    return _DESCRIPTIONS[key]


def item(
    *, asset_id: int | None = None, name: str = "MP7 | Short Ochre", app_id: int = 730, context_id: int = 2,
    class_id: int = 6918207757, instance_id: int = 302028390, tradable: bool = True,
    tradable_after: datetime | None = None, properties: list | None = None, flavour: str = "A weapon.",
    rarity: str = "Consumer Grade",
) -> InventoryItem:
    return InventoryItem(
        app_id=app_id, context_id=context_id, asset_id=asset_id or next(_asset_ids), class_id=class_id,
        instance_id=instance_id, amount=1, market_hash_name=f"{name} (Minimal Wear)", name=name,
        type="Consumer Grade SMG", rarity=rarity, tradable=tradable, marketable=True,
        tradable_after=tradable_after, icon_url=None, tags=[{"category": "Rarity", "name": rarity}],
        properties=properties or [], description=description(name, flavour=flavour),
    )


def inventory(items: list[InventoryItem], *, app_id: int = 730, context_id: int = 2) -> Inventory:
    return Inventory(app_id=app_id, context_id=context_id, items=items, total_count=len(items), pages=1)


def trade(*, given=(), received=(), partner: int = PARTNER, status=TradeStatusCode.COMPLETE,
          rollback_trade_id: str | None = None, trade_id: str | None = None) -> TradeStatus:
    """`given`: (our asset id, their new id); `received`: (their asset id, our new id)."""
    return TradeStatus(
        trade_id=trade_id or str(next(_trade_ids)), partner_steam_id=partner, status=status,
        time_init=datetime.now(timezone.utc),
        assets_given=[TradeAsset(730, 2, ours, None, None, theirs, 2) for ours, theirs in given],
        assets_received=[TradeAsset(730, 2, theirs, None, None, ours, 2) for theirs, ours in received],
        rollback_trade_id=rollback_trade_id,
    )


def next_asset_id() -> int:
    return next(_asset_ids)
