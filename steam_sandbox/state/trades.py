"""Trades: the record of items that changed hands between a bot and a partner, and
the moving itself.

Steam re-numbers every item that changes hands, so a trade maps each old asset id to
its new one (`new_assetid`, `new_contextid`). Trades are kept per bot, like the
bot's trade history on Steam.

The moves return the (appid, contextid, assetid) keys that left each owner; the
offers decide what that does to other live offers (see `Offers.invalidate`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ..enums import ETradeStatus
from ..inventory import Asset
from .inventories import TRADE_PROTECTION_CONTEXT, Departed, Inventories
from .shared import Changes, Clock, Ids


class Trades:
    def __init__(self, *, clock: Clock, ids: Ids, changes: Changes, config: dict, inventories: Inventories):
        self._clock = clock
        self._ids = ids
        self._changes = changes
        self._config = config
        self._inventories = inventories
        self.by_bot: dict[int, dict[int, dict]] = {}  # bot steamid -> trade id -> trade

    def get(self, bot: int, trade_id: int) -> dict | None:
        return self.by_bot.get(bot, {}).get(trade_id)

    def find(self, trade_id: int) -> dict | None:
        """Any bot's trade (the control API names trades by id alone)."""
        return next((t[trade_id] for t in self.by_bot.values() if trade_id in t), None)

    def of_bot(self, bot: int) -> list[dict]:
        return list(self.by_bot.get(bot, {}).values())

    def all(self) -> list[dict]:
        return [t for trades in self.by_bot.values() for t in trades.values()]

    def count(self) -> int:
        return sum(len(trades) for trades in self.by_bot.values())

    def open(self, bot: int, partner: int, status: ETradeStatus, offer_id: int | None) -> dict:
        trade = {
            "id": self._ids.next("trade"),
            "partner": partner,
            "time_init": self._clock.now(),
            "status": status,
            "given": [],
            "received": [],
            "offer_id": offer_id,
            "rollback_trade": None,
            "rollback_of": None,
            "held": [],  # [side, index, asset row] while in escrow
            "time_escrow_end": None,
        }
        self.by_bot.setdefault(bot, {})[trade["id"]] = trade
        self.touched(bot, trade)
        return trade

    def touched(self, bot: int, trade: dict) -> None:
        """The trade changed (its status, its items): news for the journal."""
        self._changes.touch("trade", bot, trade["id"])

    def set_status(self, bot: int, trade: dict, status: ETradeStatus) -> None:
        trade["status"] = status
        self.touched(bot, trade)

    def items_present(self, bot: int, offer: dict) -> bool:
        """Whether every item of the offer is still with its owner; marks the missing ones."""
        ok = True
        for owner, items in ((bot, offer["give"]), (offer["partner"], offer["receive"])):
            for item in items:
                if not self._inventories.holds_item(owner, item):
                    item["missing"] = True
                    ok = False
        return ok

    # ------------------------------------------------------------------ moving items
    def exchange(self, bot: int, trade: dict, offer: dict, *, protection: bool) -> tuple[Departed, Departed]:
        """Move the offer's items both ways at once; `protection`: CS2 items the bot
        receives are trade-protected."""
        partner = offer["partner"]
        gone_bot: Departed = set()
        gone_partner: Departed = set()
        for item in offer["give"]:
            asset = self._inventories.take(bot, item, gone_bot)
            new, ctx = self._arrive(partner, item["appid"], int(item["contextid"]), asset)
            trade["given"].append(_moved(item, asset, new, ctx))
        for item in offer["receive"]:
            asset = self._inventories.take(partner, item, gone_partner)
            new, ctx = self._arrive(bot, item["appid"], int(item["contextid"]), asset, protected=protection)
            trade["received"].append(_moved(item, asset, new, ctx))
        if protection and any(e["new_contextid"] == str(TRADE_PROTECTION_CONTEXT) for e in trade["received"]):
            trade["time_settlement"] = self._clock.now() + self._config["tradeProtectionDays"] * 86400
        self.touched(bot, trade)
        return gone_bot, gone_partner

    def fail(self, bot: int, trade: dict, offer: dict) -> tuple[Departed, Departed]:
        """The trade failed before completing: every item stays with its owner, but
        under a new asset id (listed as `new_assetid` of the trade's entries)."""
        gone_bot: Departed = set()
        gone_partner: Departed = set()
        sides = (("given", bot, offer["give"], gone_bot), ("received", offer["partner"], offer["receive"], gone_partner))
        for side, owner, items, gone in sides:
            for item in items:
                asset = self._inventories.take(owner, item, gone)
                new, ctx = self._arrive(owner, item["appid"], int(item["contextid"]), asset)
                trade[side].append(_moved(item, asset, new, ctx))
        self.set_status(bot, trade, ETradeStatus.Failed)
        return gone_bot, gone_partner

    def record_move(self, bot: int, old: Asset, new: Asset, appid: int) -> dict:
        """Trade protection ended and the item got a new asset id on its way from
        context 16 to 2: the bot's trade history shows the move as a completed trade
        (the bot on both sides), so a reader can follow the item."""
        trade = self.open(bot, bot, ETradeStatus.Complete, None)
        entry = {
            "appid": appid, "contextid": str(TRADE_PROTECTION_CONTEXT), "assetid": str(old.assetid),
            "amount": str(old.amount), "classid": old.classid, "instanceid": old.instanceid,
            "new_assetid": str(new.assetid), "new_contextid": "2",
        }
        trade["received"].append(entry)
        trade["protection_move"] = True
        self.touched(bot, trade)
        return trade

    def hold(self, bot: int, trade: dict, offer: dict) -> tuple[Departed, Departed]:
        """Escrow: Steam holds the items. They leave both inventories now and arrive
        when the escrow ends (`release`)."""
        gone_bot: Departed = set()
        gone_partner: Departed = set()
        sides = (("given", bot, offer["give"], gone_bot), ("received", offer["partner"], offer["receive"], gone_partner))
        for side, owner, items, gone in sides:
            for item in items:
                asset = self._inventories.take(owner, item, gone)
                trade[side].append(_entry(item, asset))
                trade["held"].append([side, len(trade[side]) - 1, asset.to_row()])
        self.touched(bot, trade)
        return gone_bot, gone_partner

    def release(self, bot: int, trade: dict, partner: int) -> None:
        """The escrow is over: the held items arrive under new ids."""
        for side, index, row in trade["held"]:
            entry = trade[side][index]
            owner = partner if side == "given" else bot
            new, ctx = self._arrive(
                owner, entry["appid"], int(entry["contextid"]), Asset.from_row(row),
                protected=side == "received" and self._config["tradeProtection"],
            )
            entry["new_assetid"], entry["new_contextid"] = str(new.assetid), str(ctx)
        trade["held"] = []
        self.set_status(bot, trade, ETradeStatus.Complete)

    def roll_back(self, bot: int, trade: dict) -> tuple[dict, list[tuple[int, Departed]]]:
        """Undo a completed trade: what is still there goes back under new ids, in a
        rollback trade. Returns it and, in order, what left whom on the way."""
        partner = trade["partner"]
        rollback = self.open(bot, partner, ETradeStatus.Complete, None)
        rollback["rollback_of"] = trade["id"]
        departures: list[tuple[int, Departed]] = []
        for side_from, owner_from, owner_to, side_to in (("given", partner, bot, "received"), ("received", bot, partner, "given")):
            for entry in trade[side_from]:
                ref = {"appid": entry["appid"], "contextid": entry["new_contextid"], "assetid": entry["new_assetid"]}
                if not self._inventories.holds_item(owner_from, ref):
                    continue  # already traded on or consumed: nothing to take back
                gone: Departed = set()
                asset = self._inventories.take(owner_from, dict(ref, amount=entry["amount"]), gone)
                departures.append((owner_from, gone))
                # A trade-protected item goes back to the context it came from.
                back_ctx = int(entry["contextid"]) if int(ref["contextid"]) == TRADE_PROTECTION_CONTEXT else int(ref["contextid"])
                new, ctx = self._arrive(owner_to, entry["appid"], back_ctx, asset)
                rollback[side_to].append(_moved(ref, asset, new, ctx))
        trade["rollback_trade"] = rollback["id"]
        self.set_status(bot, trade, ETradeStatus.TradeProtectionRollback)
        self.touched(bot, rollback)
        return rollback, departures

    def _arrive(self, owner: int, appid: int, contextid: int, asset: Asset, *, protected: bool = False) -> tuple[Asset, int]:
        desc = self._inventories.classes[(appid, asset.classid, asset.instanceid)]
        if protected and appid == 730:
            until = datetime.fromtimestamp(self._clock.now(), timezone.utc) + timedelta(days=self._config["tradeProtectionDays"])
            desc = self._inventories.register_class(self._inventories.with_hold(desc.data, until, protected=True))
            contextid = TRADE_PROTECTION_CONTEXT
        return self._inventories.put(owner, contextid, asset, desc), contextid

    # ------------------------------------------------------------------ views, persistence
    @staticmethod
    def view(trade: dict) -> dict:
        return {
            "tradeId": str(trade["id"]),
            "partnerSteamId": str(trade["partner"]),
            "status": trade["status"],
            "timeInit": trade["time_init"],
            "offerId": str(trade["offer_id"]) if trade["offer_id"] else None,
            "assetsGiven": trade["given"],
            "assetsReceived": trade["received"],
            "rollbackTradeId": str(trade["rollback_trade"]) if trade["rollback_trade"] else None,
            "rollbackOf": str(trade["rollback_of"]) if trade["rollback_of"] else None,
            "escrowEnd": trade["time_escrow_end"],
            **({"shownStatus": trade["shown_status"]} if trade.get("shown_status") is not None else {}),
        }

    def dump(self) -> dict:
        return {"trades": {str(bot): list(trades.values()) for bot, trades in self.by_bot.items()}}

    def restore(self, core: dict) -> None:
        self.by_bot = {int(bot): {int(t["id"]): t for t in trades} for bot, trades in core.get("trades", {}).items()}

    def restore_one(self, bot: int, trade_id: int, trade: dict | None) -> None:
        if trade is None:
            self.by_bot.get(bot, {}).pop(trade_id, None)
        else:
            self.by_bot.setdefault(bot, {})[trade_id] = trade


def _entry(item: dict, asset: Asset) -> dict:
    return {
        "appid": item["appid"],
        "contextid": item["contextid"],
        "assetid": item["assetid"],
        "amount": str(asset.amount),
        "classid": asset.classid,
        "instanceid": asset.instanceid,
    }


def _moved(item: dict, asset: Asset, new: Asset, contextid: int) -> dict:
    return {**_entry(item, asset), "new_assetid": str(new.assetid), "new_contextid": str(contextid)}
