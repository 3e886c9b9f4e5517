"""Mobile confirmations, per bot: an offer in which the bot gives items waits for one
when sent ("send") and when the bot accepts a received one ("accept"). What answering
one does to its offer is the offers' business (`Offers.answer_confirmation`)."""

from __future__ import annotations

import secrets

from ..enums import ETradeOfferState
from .shared import Changes, Clock, Ids

# A confirmation is pending while its offer is still in this state.
_WAITS_IN = {"send": ETradeOfferState.CreatedNeedsConfirmation, "accept": ETradeOfferState.Active}


class Confirmations:
    def __init__(self, *, clock: Clock, ids: Ids, changes: Changes):
        self._clock = clock
        self._ids = ids
        self._changes = changes
        self.by_bot: dict[int, dict[int, dict]] = {}  # bot steamid -> confirmation id -> confirmation

    def add(self, bot: int, offer_id: int, kind: str) -> dict:
        conf = {
            "id": self._ids.next("confirmation"),
            "nonce": str(secrets.randbelow(9 * 10**18) + 10**18),
            "offer_id": offer_id,
            "kind": kind,
            "created": self._clock.now(),
        }
        self.by_bot.setdefault(bot, {})[conf["id"]] = conf
        self._changes.touch("confirmation", bot, conf["id"])
        return conf

    def get(self, bot: int, conf_id: int) -> dict | None:
        return self.by_bot.get(bot, {}).get(conf_id)

    def pop(self, bot: int, conf_id: int) -> dict:
        self._changes.touch("confirmation", bot, conf_id)
        return self.by_bot[bot].pop(conf_id)

    def of_bot(self, bot: int) -> list[dict]:
        return sorted(self.by_bot.get(bot, {}).values(), key=lambda c: c["id"])

    def all(self) -> list[dict]:
        return [c for confs in self.by_bot.values() for c in confs.values()]

    def count(self) -> int:
        return sum(len(confs) for confs in self.by_bot.values())

    def waiting(self, bot: int, offer_id: int, kind: str | None = None) -> bool:
        return any(
            c["offer_id"] == offer_id and (kind is None or c["kind"] == kind) for c in self.by_bot.get(bot, {}).values()
        )

    def settle(self, bot: int, offer_id: int, state: int) -> None:
        """The offer moved to `state`: drop its confirmations that no longer wait for anything."""
        confs = self.by_bot.get(bot, {})
        for conf_id in [c for c, conf in confs.items() if conf["offer_id"] == offer_id]:
            if state != _WAITS_IN[confs[conf_id]["kind"]]:
                del confs[conf_id]
                self._changes.touch("confirmation", bot, conf_id)

    def dump(self) -> dict:
        return {"confirmations": {str(bot): list(confs.values()) for bot, confs in self.by_bot.items()}}

    def restore(self, core: dict) -> None:
        self.by_bot = {
            int(bot): {int(c["id"]): c for c in confs} for bot, confs in core.get("confirmations", {}).items()
        }

    def restore_one(self, bot: int, conf_id: int, conf: dict | None) -> None:
        if conf is None:
            self.by_bot.get(bot, {}).pop(conf_id, None)
        else:
            self.by_bot.setdefault(bot, {})[conf_id] = conf
