"""What happens to an offer once it is out (part of the `Offers` store): the
exchange when it is accepted, and how that trade ends (complete; failed before
completing; rolled back later within the protection window), escrow, counters, and
the events the sandbox clock applies (the partner's move, expiry, escrow's end, a
scheduled revert)."""

from __future__ import annotations

from ..enums import PENDING_OFFER_STATES, ETradeOfferState, ETradeStatus
from ..errors import invalid_state
from .users import Users

State = ETradeOfferState


class OfferEvents:
    """Mixed into `Offers`, whose records, stores and `_set_state` it uses."""

    # ------------------------------------------------------------------ the exchange
    def _exchange(self, bot: int, offer: dict, *, protection: bool | None = None) -> dict | None:
        """The offer is accepted: the items move both ways in a trade. None (and
        InvalidItems) if one has left. `protection` overrides the config's. How the
        trade ends is the partner's `tradeOutcome` (for the bot's own offers)."""
        if not self._trades.items_present(bot, offer):
            self._set_state(bot, offer, State.InvalidItems)
            return None
        outcome, revert_after = Users.trade_outcome(self._users.get(offer["partner"])) if offer["is_our_offer"] else ("complete", 0)
        if outcome == "fail":
            return self._fail(bot, offer)
        trade = self._trades.open(bot, offer["partner"], ETradeStatus.Complete, offer["id"])
        offer["trade_id"] = trade["id"]
        # Accepted before the items move, so the invalidation below spares this offer.
        self._set_state(bot, offer, State.Accepted)
        if protection is None:
            protection = self._config["tradeProtection"]
        gone_bot, gone_partner = self._trades.exchange(bot, trade, offer, protection=protection)
        self.invalidate(bot, gone_bot)
        self.invalidate(offer["partner"], gone_partner)
        if outcome == "revert":
            offer["revert_at"] = self._clock.now() + revert_after
            self.reverting.add((bot, offer["id"]))
        return trade

    def _fail(self, bot: int, offer: dict) -> dict:
        """Accepted, but the trade fails before completing (ETradeStatus 4): nothing
        changes hands, yet every item is renumbered where it stays."""
        trade = self._trades.open(bot, offer["partner"], ETradeStatus.Committed, offer["id"])
        offer["trade_id"] = trade["id"]
        self._set_state(bot, offer, State.Accepted)
        gone_bot, gone_partner = self._trades.fail(bot, trade, offer)
        self.invalidate(bot, gone_bot)
        self.invalidate(offer["partner"], gone_partner)
        return trade

    def _start_escrow(self, bot: int, offer: dict, days: int) -> None:
        if not self._trades.items_present(bot, offer):
            self._set_state(bot, offer, State.InvalidItems)
            return
        trade = self._trades.open(bot, offer["partner"], ETradeStatus.InEscrow, offer["id"])
        offer["trade_id"] = trade["id"]
        offer["escrow_end"] = self._clock.now() + days * 86400
        trade["time_escrow_end"] = offer["escrow_end"]
        self._set_state(bot, offer, State.InEscrow)
        gone_bot, gone_partner = self._trades.hold(bot, trade, offer)
        self.invalidate(bot, gone_bot)
        self.invalidate(offer["partner"], gone_partner)

    def _release_escrow(self, bot: int, offer: dict) -> None:
        self._trades.release(bot, self._trades.get(bot, offer["trade_id"]), offer["partner"])
        self._set_state(bot, offer, State.Accepted)

    def _counter(self, bot: int, offer: dict) -> dict:
        """The partner answers with an offer of their own: the same items, to the bot."""
        counter = self._new(
            bot,
            partner=offer["partner"],
            ours=False,
            message="Counter offer",
            give=[dict(item, missing=False) for item in offer["give"]],
            receive=[dict(item, missing=False) for item in offer["receive"]],
            state=State.Active,
        )
        counter["counter_of"] = offer["id"]
        offer["countered_by"] = counter["id"]
        self._set_state(bot, offer, State.Countered)
        return counter

    def _revert(self, bot: int, offer: dict) -> dict:
        """Trade protection rolls the completed trade back: it gets status 12 and a
        `rollback_trade`, a new completed trade that returns the items under new ids.
        The offer goes to 12 Reverted or stays 3 (`revertOfferState`), and its
        time_updated moves or not (`revertTouchesTimeUpdated`)."""
        trade = self._trades.get(bot, offer["trade_id"]) if offer["trade_id"] else None
        if offer["state"] != State.Accepted or trade is None or trade["status"] != ETradeStatus.Complete:
            raise invalid_state(f"offer {offer['id']} is not an accepted, completed trade", state=offer["state"])
        rollback, departures = self._trades.roll_back(bot, trade)
        for owner, gone in departures:
            self.invalidate(owner, gone)
        offer.pop("revert_at", None)
        self.reverting.discard((bot, offer["id"]))
        stamp = self._config["revertTouchesTimeUpdated"]
        if self._config["revertOfferState"] == State.Reverted:
            self._set_state(bot, offer, State.Reverted, stamp=stamp)
        else:
            if stamp:
                offer["updated"] = self._clock.now()
            self._touch(bot, offer)
        return rollback

    # ------------------------------------------------------------------ the sandbox clock
    def due_events(self, now: int) -> list[tuple]:
        """(due, offer id, action, state when seen, bot) of every live or reverting
        offer's next event by `now`."""
        events = []
        for bot, offer_id in self.live | self.reverting:
            offer = self.by_bot[bot][offer_id]
            event = self._next_event(offer)
            if event is not None and event[0] <= now:
                events.append((event[0], offer_id, event[1], offer["state"], bot))
        return events

    def _next_event(self, offer: dict) -> tuple[float, str] | None:
        state = offer["state"]
        candidates = []
        if state == State.InEscrow:
            candidates.append((offer["escrow_end"], "release"))
        if state in PENDING_OFFER_STATES:
            candidates.append((offer["expires"] + 0.5, "expire"))  # the user's move wins a tie
        if state == State.Active and offer["is_our_offer"]:
            user = self._users.get(offer["partner"])
            if user and user["behaviour"] != "ignore":
                candidates.append((offer["activated"] + user["delay_seconds"], user["behaviour"]))
        if state == State.Accepted and offer.get("revert_at") is not None:
            candidates.append((offer["revert_at"], "revert"))
        return min(candidates) if candidates else None

    def apply_event(self, bot: int, offer_id: int, action: str, seen_state: int) -> None:
        offer = self.by_bot[bot][offer_id]
        if offer["state"] != seen_state:  # an earlier event of the same tick changed it
            return
        if action == "expire":
            self._set_state(bot, offer, State.Expired)
        elif action == "accept":
            self._exchange(bot, offer)
        elif action == "decline":
            self._set_state(bot, offer, State.Declined)
        elif action == "counter":
            self._counter(bot, offer)
        elif action == "escrow":
            self._start_escrow(bot, offer, self._users.escrow_days(self._users.by_id[offer["partner"]]))
        elif action == "release":
            self._release_escrow(bot, offer)
        elif action == "revert":
            trade = self._trades.get(bot, offer["trade_id"]) if offer["trade_id"] else None
            if trade is not None and trade["status"] == ETradeStatus.Complete:
                self._revert(bot, offer)
            else:  # reverted by hand meanwhile
                offer.pop("revert_at", None)
                self.reverting.discard((bot, offer_id))
                self._touch(bot, offer)
