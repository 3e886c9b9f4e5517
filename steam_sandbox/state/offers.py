"""Trade offers, per bot: the ones the bot sent and the ones it received, their
states (ETradeOfferState) and what moves them: the bot over Steam's endpoints (here),
the partner's behaviour on the sandbox clock (offer_events.py), mobile
confirmations, the control API (offer_control.py).

A state change is one call (`_set_state`): it stamps `updated`, keeps the live set
that the clock scans, and drops the confirmations that no longer wait for anything.
Every change of an offer is named to the journal (`_touch`).
"""

from __future__ import annotations

from ..enums import CONFIRMATION_BY_MOBILE_APP, LIVE_OFFER_STATES, PENDING_OFFER_STATES, EResult, ETradeOfferState
from ..errors import Refused
from ..inventory import Asset, Inventory
from .confirmations import Confirmations
from .inventories import Departed, Inventories
from .offer_control import OfferControl
from .offer_events import OfferEvents
from .shared import Changes, Clock, Ids
from .trades import Trades
from .users import Users

State = ETradeOfferState
# Steam's words for a send past the pending-offer limits (then "(25)").
TOO_MANY_OFFERS = (
    "You have sent too many trade offers, or have too many outstanding trade offers with {persona}. "
    "Please cancel some before sending more."
)


class Offers(OfferEvents, OfferControl):
    def __init__(self, *, clock: Clock, ids: Ids, changes: Changes, config: dict, users: Users,
                 inventories: Inventories, trades: Trades, confirmations: Confirmations):
        self._clock = clock
        self._ids = ids
        self._changes = changes
        self._config = config
        self._users = users
        self._inventories = inventories
        self._trades = trades
        self.confirmations = confirmations
        self.by_bot: dict[int, dict[int, dict]] = {}  # bot steamid -> offer id -> offer
        self.live: set[tuple[int, int]] = set()  # (bot, offer id) of offers in LIVE_OFFER_STATES
        self.reverting: set[tuple[int, int]] = set()  # (bot, offer id) of accepted offers with a revert due
        self.acknowledged: dict[int, bool] = {}  # bot steamid -> trade protection notice acknowledged

    # ------------------------------------------------------------------ lookups
    def get(self, bot: int, offer_id: int) -> dict | None:
        return self.by_bot.get(bot, {}).get(offer_id)

    def find(self, offer_id: int) -> tuple[int, dict] | None:
        """(bot, offer) of any bot's offer (the control API names offers by id alone)."""
        for bot, offers in self.by_bot.items():
            if offer_id in offers:
                return bot, offers[offer_id]
        return None

    def of_bot(self, bot: int) -> list[dict]:
        return list(self.by_bot.get(bot, {}).values())

    def all(self) -> list[tuple[int, dict]]:
        return [(bot, offer) for bot, offers in self.by_bot.items() for offer in offers.values()]

    # ------------------------------------------------------------------ records
    def _new(self, bot: int, *, partner: int, ours: bool, message: str, give: list, receive: list, state: State) -> dict:
        now = self._clock.now()
        offer = {
            "id": self._ids.next("offer"),
            "partner": partner,
            "is_our_offer": ours,
            "message": message,
            "state": state,
            "give": give,
            "receive": receive,
            "created": now,
            "updated": now,
            "expires": now + self._config["offerLifetimeSeconds"],
            "activated": now if state == State.Active else None,
            "escrow_end": 0,
            "confirmation_method": 0,
            "trade_id": None,
            "counter_of": None,
            "countered_by": None,
        }
        self.by_bot.setdefault(bot, {})[offer["id"]] = offer
        if state in LIVE_OFFER_STATES:
            self.live.add((bot, offer["id"]))
        self._touch(bot, offer)
        return offer

    def _touch(self, bot: int, offer: dict) -> None:
        self._changes.touch("offer", bot, offer["id"])

    def _set_state(self, bot: int, offer: dict, state: State, *, stamp: bool = True) -> None:
        offer["state"] = state
        if stamp:
            offer["updated"] = self._clock.now()
        if state == State.Active and offer["activated"] is None:
            offer["activated"] = self._clock.now()
        if state in LIVE_OFFER_STATES:
            self.live.add((bot, offer["id"]))
        else:
            self.live.discard((bot, offer["id"]))
        self.confirmations.settle(bot, offer["id"], state)
        self._touch(bot, offer)

    @staticmethod
    def _item(inv: Inventory, asset: Asset, amount: int | None = None) -> dict:
        return {
            "appid": inv.appid,
            "contextid": str(inv.contextid),
            "assetid": str(asset.assetid),
            "classid": asset.classid,
            "instanceid": asset.instanceid,
            "amount": str(amount or asset.amount),
            "missing": False,
        }

    def invalidate(self, owner: int, departed: Departed) -> None:
        """Assets left `owner`'s inventory: every pending offer that would move one of
        them becomes InvalidItems, with that item `missing`, as on Steam."""
        if not departed:
            return
        for bot, offer_id in list(self.live):
            offer = self.by_bot[bot][offer_id]
            if offer["state"] not in PENDING_OFFER_STATES:
                continue
            if owner == bot:
                items = offer["give"]
            elif owner == offer["partner"]:
                items = offer["receive"]
            else:
                continue
            hit = False
            for item in items:
                if (item["appid"], int(item["contextid"]), int(item["assetid"])) in departed:
                    item["missing"] = True
                    hit = True
            if hit:
                self._set_state(bot, offer, State.InvalidItems)

    # ------------------------------------------------------------------ the bot, over Steam's endpoints
    def must_acknowledge(self, bot: int, symptom: str) -> bool:
        """Whether the unacknowledged trade protection notice shows as `symptom`
        ("confirmations" or "send") for this bot now."""
        return (
            self._config["requireTradeAcknowledgement"]
            and self._config["tradeAcknowledgementSymptom"] == symptom
            and not self.acknowledged.get(bot)
        )

    def pending_sent(self, bot: int) -> list[dict]:
        return [
            offer for b, offer_id in self.live if b == bot
            for offer in (self.by_bot[b][offer_id],)
            if offer["is_our_offer"] and offer["state"] in PENDING_OFFER_STATES
        ]

    def send(self, bot: int, *, partner: int, token: str | None, me: list, them: list, message: str) -> dict:
        """POST /tradeoffer/new/send. Raises Refused with Steam's EResult."""
        if self.must_acknowledge(bot, "send"):
            raise Refused(EResult.AccessDenied)  # no friendly text on Steam either
        user = self._users.get(partner)
        if user is None:
            raise Refused(EResult.AccessDenied)
        if token != user["trade_token"]:
            # Not friends, so a valid trade URL token is required.
            raise Refused(EResult.AccessDenied)
        if user["trade_banned"]:
            raise Refused(EResult.AccessDenied, f"You cannot trade with {user['persona_name']} because they have a trade ban.")
        pending = self.pending_sent(bot)
        with_partner = sum(1 for o in pending if o["partner"] == partner)
        if with_partner >= self._config["maxPendingOffersPerPartner"] or len(pending) >= self._config["maxPendingOffers"]:
            raise Refused(EResult.LimitExceeded, TOO_MANY_OFFERS.format(persona=user["persona_name"]))
        if not me and not them:
            raise Refused(EResult.InvalidParam, "You must include at least one item in the trade offer.")
        give = self._side(bot, me)
        receive = self._side(partner, them)
        state = State.CreatedNeedsConfirmation if give else State.Active
        offer = self._new(bot, partner=partner, ours=True, message=message[:128], give=give, receive=receive, state=state)
        if give:
            offer["confirmation_method"] = CONFIRMATION_BY_MOBILE_APP
            self.confirmations.add(bot, offer["id"], "send")
        return offer

    def _side(self, owner: int, assets: list) -> list:
        items = []
        seen = set()
        for raw in assets:
            try:
                appid, contextid, assetid = int(raw["appid"]), int(raw["contextid"]), int(raw["assetid"])
                amount = int(raw.get("amount", 1))
            except (KeyError, TypeError, ValueError):
                raise Refused(EResult.InvalidParam) from None
            if (appid, contextid, assetid) in seen:
                raise Refused(EResult.InvalidParam)
            seen.add((appid, contextid, assetid))
            inv = self._inventories.get(owner, appid, contextid)
            asset = inv.get(assetid) if inv else None
            if asset is None or amount < 1 or amount > asset.amount:
                raise Refused(EResult.Revoked)
            if not self._inventories.classes[(appid, asset.classid, asset.instanceid)].tradable:
                raise Refused(EResult.Revoked)
            items.append(self._item(inv, asset, amount))
        return items

    def acknowledge(self, bot: int) -> None:
        """POST /trade/new/acknowledge: the trade protection notice."""
        self.set_acknowledged(bot, True)

    def set_acknowledged(self, bot: int, done: bool) -> None:
        if self.acknowledged.get(bot, False) != done:
            self.acknowledged[bot] = done
            self._changes.touch()  # the flags are in the journal's meta record

    def answer_confirmation(self, bot: int, conf_id: int, nonce: str, op: str) -> bool:
        """mobileconf ajaxop: `allow`/`accept` goes ahead, `cancel`/`reject` stops a
        send. An unacknowledged trade protection notice fails every answer, as on
        Steam, which says no more than `{"success":false}`."""
        if self.must_acknowledge(bot, "confirmations"):
            return False
        conf = self.confirmations.get(bot, conf_id)
        if conf is None or conf["nonce"] != nonce:
            return False
        offer = self.by_bot[bot][conf["offer_id"]]
        self.confirmations.pop(bot, conf_id)
        if op in ("allow", "accept"):
            if conf["kind"] == "send" and offer["state"] == State.CreatedNeedsConfirmation:
                self._set_state(bot, offer, State.Active)
            elif conf["kind"] == "accept" and offer["state"] == State.Active:
                self._exchange(bot, offer)
            return True
        if conf["kind"] == "send" and offer["state"] == State.CreatedNeedsConfirmation:
            self._set_state(bot, offer, State.CanceledBySecondFactor)
        return True

    def cancel(self, bot: int, offer_id: int) -> dict:
        offer = self.get(bot, offer_id)
        if offer is None:
            raise Refused(EResult.InvalidParam)
        if not offer["is_our_offer"]:
            raise Refused(EResult.AccessDenied)
        if offer["state"] not in PENDING_OFFER_STATES:
            raise Refused(EResult.InvalidState)
        self._set_state(bot, offer, State.Canceled)
        return offer

    def decline(self, bot: int, offer_id: int) -> dict:
        offer = self.get(bot, offer_id)
        if offer is None:
            raise Refused(EResult.InvalidParam)
        if offer["is_our_offer"]:
            raise Refused(EResult.AccessDenied)
        if offer["state"] != State.Active:
            raise Refused(EResult.InvalidState)
        self._set_state(bot, offer, State.Declined)
        return offer

    def accept(self, bot: int, offer_id: int) -> tuple[dict, dict | None]:
        """The bot accepts a received offer: at once when it gives nothing, else after a
        mobile confirmation. Returns (offer, trade or None)."""
        offer = self.get(bot, offer_id)
        if offer is None:
            raise Refused(EResult.InvalidParam)
        if offer["is_our_offer"]:
            raise Refused(EResult.AccessDenied)
        if offer["state"] != State.Active:
            raise Refused(EResult.AlreadyRedeemed if offer["state"] == State.Accepted else EResult.InvalidState)
        if offer["give"]:
            if not self.confirmations.waiting(bot, offer_id, "accept"):
                self.confirmations.add(bot, offer_id, "accept")
            return offer, None
        trade = self._exchange(bot, offer)
        if trade is None:
            raise Refused(EResult.Revoked)
        return offer, trade

    # ------------------------------------------------------------------ persistence
    def dump(self) -> dict:
        return {
            "offers": {str(bot): list(offers.values()) for bot, offers in self.by_bot.items()},
            "acknowledged": {str(bot): True for bot, done in self.acknowledged.items() if done},
        }

    def restore(self, core: dict) -> None:
        self.by_bot = {int(bot): {int(o["id"]): o for o in offers} for bot, offers in core.get("offers", {}).items()}
        self.acknowledged = {int(bot): bool(done) for bot, done in core.get("acknowledged", {}).items()}
        self.reindex()

    def restore_one(self, bot: int, offer_id: int, offer: dict | None) -> None:
        """The journal's word on one offer; `reindex` once all are back."""
        if offer is None:
            self.by_bot.get(bot, {}).pop(offer_id, None)
        else:
            self.by_bot.setdefault(bot, {})[offer_id] = offer

    def reindex(self) -> None:
        self.live = {(bot, oid) for bot, offers in self.by_bot.items() for oid, o in offers.items() if o["state"] in LIVE_OFFER_STATES}
        self.reverting = {
            (bot, oid) for bot, offers in self.by_bot.items() for oid, o in offers.items()
            if o["state"] == State.Accepted and o.get("revert_at") is not None
        }
