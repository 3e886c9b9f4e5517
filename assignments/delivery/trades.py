"""The trade behind an accepted offer, and the items that follow their new asset ids.

An offer in state 3 only says the user accepted. What happened to the items is
the trade's (GetTradeStatus): complete (delivered), in escrow (Steam holds
them), still in progress, failed before it completed (the items are back with
us), or rolled back after it completed (CS2 trade protection: a second,
rollback trade brings them back). Whenever items come back, Steam gives them new
asset ids; their rows (same UUIDs) follow them, so the sync never takes them for
strangers, and they lose the offer id of a trade that no longer holds them.

Nothing here writes outside the caller's transaction; `read_trade` calls Steam
and must run outside any.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field

from assignments.delivery.records import outside_transaction, record_item_events
from assignments.models import Assignment
from astro.steam.types import TradeStatus, TradeStatusCode
from items.models import Item

logger = logging.getLogger(__name__)


class TradeOutcome(str, enum.Enum):
    COMPLETE = "complete"
    ESCROW = "escrow"
    PENDING = "pending"  # not settled yet (or Steam does not show it yet): look again later
    FAILED = "failed"  # ended before completing; the items are back
    REVERTED = "reverted"  # completed, then rolled back


_IN_PROGRESS = {TradeStatusCode.INIT, TradeStatusCode.PRE_COMMITTED, TradeStatusCode.COMMITTED}
# Undone after completing: by support (5, 6, 7) or by the user through trade protection (12).
_ROLLED_BACK = {
    TradeStatusCode.PARTIAL_SUPPORT_ROLLBACK, TradeStatusCode.FULL_SUPPORT_ROLLBACK,
    TradeStatusCode.SUPPORT_ROLLBACK_SELECTIVE, TradeStatusCode.TRADE_PROTECTION_ROLLBACK,
}
_FAILED = {TradeStatusCode.FAILED, TradeStatusCode.ROLLBACK_FAILED, TradeStatusCode.ROLLBACK_ABANDONED,
           TradeStatusCode.ESCROW_ROLLBACK}

# (app id, old asset id) -> (new asset id, new context id)
Moves = dict[tuple[int, int], tuple[int, int]]


@dataclass(frozen=True)
class TradeCheck:
    outcome: TradeOutcome
    trade_id: str | None
    status: int | None = None  # the number Steam sent
    moves: Moves = field(default_factory=dict)  # where our items are now (failed, reverted)


def read_trade(gateway, trade_id: str | None) -> TradeCheck:
    """What the trade of an accepted offer came to. Unknown statuses are logged and
    read as not settled (never delivered, never raised); SteamError propagates."""
    outside_transaction()
    if not trade_id:
        logger.warning("an accepted offer came without a trade id; looking again later")
        return TradeCheck(TradeOutcome.PENDING, None)
    trade = gateway.get_trade_status(trade_id)
    if trade is None:
        logger.warning("Steam does not show trade %s yet; looking again later", trade_id)
        return TradeCheck(TradeOutcome.PENDING, trade_id)
    status = trade.status
    raw = getattr(trade, "raw_status", None)
    number = raw if raw is not None else int(status)
    if status == TradeStatusCode.COMPLETE:
        return TradeCheck(TradeOutcome.COMPLETE, trade_id, number)
    if status == TradeStatusCode.IN_ESCROW:
        return TradeCheck(TradeOutcome.ESCROW, trade_id, number)
    if status in _ROLLED_BACK:
        return TradeCheck(TradeOutcome.REVERTED, trade_id, number, _rollback_moves(gateway, trade))
    if status in _FAILED:
        return TradeCheck(TradeOutcome.FAILED, trade_id, number, _given_moves(trade))
    if status not in _IN_PROGRESS:
        logger.error("trade %s is in a status Astro does not know (%s); not counted as delivered", trade_id, number)
    return TradeCheck(TradeOutcome.PENDING, trade_id, number)


def _given_moves(trade: TradeStatus) -> Moves:
    # A trade that failed before completing gives, for each asset that left us and
    # came back, the id it has now.
    return {
        (a.app_id, a.asset_id): (a.new_asset_id, a.new_context_id or a.context_id)
        for a in trade.assets_given if a.new_asset_id and a.new_asset_id != a.asset_id
    }


def _rollback_moves(gateway, trade: TradeStatus) -> Moves:
    """Our old ids -> our new ids, through the rollback trade: the original trade
    says where each asset went (the user's id), the rollback trade where it came
    back from there. Empty when the rollback trade cannot be found (the sync, which
    reads the trade history, relinks them then)."""
    rollback = _find_rollback(gateway, trade)
    if rollback is None:
        logger.warning("trade %s was rolled back, but its rollback trade is not in sight", trade.trade_id)
        return {}
    back = {(a.app_id, a.asset_id): a for a in rollback.assets_received}
    moves: Moves = {}
    for given in trade.assets_given:
        returned = back.get((given.app_id, given.new_asset_id)) if given.new_asset_id else None
        if returned is not None and returned.new_asset_id:
            moves[(given.app_id, given.asset_id)] = (returned.new_asset_id,
                                                     returned.new_context_id or given.context_id)
    return moves


def _find_rollback(gateway, trade: TradeStatus) -> TradeStatus | None:
    # Steam links the two trades by `rollback_trade`; which side carries it differs
    # between what Steam was seen to do (the new trade names the original) and the
    # other reading (the original names the new one): accept both.
    if trade.rollback_trade_id and trade.rollback_trade_id != trade.trade_id:
        found = gateway.get_trade_status(trade.rollback_trade_id)
        if found is not None:
            return found
    for other in gateway.get_trade_history(since=trade.time_init, max_trades=500):
        if other.rollback_trade_id == trade.trade_id and other.trade_id != trade.trade_id:
            return other
    return None


def relink_items(assignment: Assignment, item_ids, moves: Moves, *, now, actor: str, source: str,
                 why: str, event_type: str = "item.updated", description: str | None = None, **updates) -> list:
    """Rows of `item_ids` follow their assets to the new ids in `moves` (same rows, same
    UUIDs), lose their offer id, and get `updates` too. An id another row already holds
    (the sync got there first) is left alone and logged. Returns the ids relinked; each
    gets an `event_type` event with `previousAssetId`."""
    relinked = []
    for item in Item.objects.filter(id__in=item_ids).order_by("id"):
        move = moves.get((item.steam_app_id, item.steam_asset_id))
        if move is None:
            continue
        new_asset, new_context = move
        if Item.objects.filter(steam_app_id=item.steam_app_id, steam_asset_id=new_asset).exclude(id=item.id).exists():
            logger.warning("asset %s/%s, back from a trade, already has a row; %s keeps its old id",
                           item.steam_app_id, new_asset, item.id)
            continue
        Item.objects.filter(id=item.id).update(steam_asset_id=new_asset, steam_context_id=new_context,
                                               delivery_trade_offer_id=None, updated_at=now, **updates)
        record_item_events(assignment, [item.id], event_type,
                           f"{description or 'Back from a trade under a new asset id'}: {why}.",
                           actor=actor, source=source,
                           data={"previousAssetId": str(item.steam_asset_id), "assetId": str(new_asset),
                                 "contextId": new_context, "reason": why})
        relinked.append(item.id)
    return relinked
