"""Trade offers, per bot: the ones the bot sent and the ones it received, their
states (ETradeOfferState) and what moves them: the bot over Steam's endpoints, the
partner's behaviour on the sandbox clock, mobile confirmations, the control API.

A state change is one call (`_set_state`): it stamps `updated`, keeps the live set
that the clock scans, and drops the confirmations that no longer wait for anything.
"""

from __future__ import annotations

from ..enums import (
    CONFIRMATION_BY_MOBILE_APP, LIVE_OFFER_STATES, PENDING_OFFER_STATES, EResult, ETradeOfferState, ETradeStatus,
)
from ..errors import Refused, bad_request, invalid_state, not_found
from ..inventory import Asset, Inventory
from ..parsing import parse_bool, parse_int, require_object
from .confirmations import Confirmations
from .inventories import Departed, Inventories
from .shared import Clock, Ids, Versions
from .trades import Trades
from .users import Users

State = ETradeOfferState
ACTIONS = ("accept", "decline", "counter", "expire", "cancel", "confirm", "escrow", "release", "revert")


class Offers:
    def __init__(self, *, clock: Clock, ids: Ids, versions: Versions, config: dict, users: Users,
                 inventories: Inventories, trades: Trades, confirmations: Confirmations):
        self._clock = clock
        self._ids = ids
        self._versions = versions
        self._config = config
        self._users = users
        self._inventories = inventories
        self._trades = trades
        self.confirmations = confirmations
        self.by_bot: dict[int, dict[int, dict]] = {}  # bot steamid -> offer id -> offer
        self.live: set[tuple[int, int]] = set()  # (bot, offer id) of offers in LIVE_OFFER_STATES
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
        self._versions.touch()
        return offer

    def _set_state(self, bot: int, offer: dict, state: State) -> None:
        offer["state"] = state
        offer["updated"] = self._clock.now()
        if state == State.Active and offer["activated"] is None:
            offer["activated"] = offer["updated"]
        if state in LIVE_OFFER_STATES:
            self.live.add((bot, offer["id"]))
        else:
            self.live.discard((bot, offer["id"]))
        self.confirmations.settle(bot, offer["id"], state)
        self._versions.touch()

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
    def send(self, bot: int, *, partner: int, token: str | None, me: list, them: list, message: str) -> dict:
        """POST /tradeoffer/new/send. Raises Refused with Steam's EResult."""
        if self._config["requireTradeAcknowledgement"] and not self.acknowledged.get(bot):
            raise Refused(EResult.AccessDenied, "You must acknowledge the trade protection notice before trading.")
        user = self._users.get(partner)
        if user is None:
            raise Refused(EResult.AccessDenied)
        if token != user["trade_token"]:
            # Not friends, so a valid trade URL token is required.
            raise Refused(EResult.AccessDenied)
        if user["trade_banned"]:
            raise Refused(EResult.AccessDenied, f"You cannot trade with {user['persona_name']} because they have a trade ban.")
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
        if not self.acknowledged.get(bot):
            self.acknowledged[bot] = True
            self._versions.touch()

    def answer_confirmation(self, bot: int, conf_id: int, nonce: str, op: str) -> bool:
        """mobileconf ajaxop: `allow`/`accept` goes ahead, `cancel`/`reject` stops a send."""
        conf = self.confirmations.get(bot, conf_id)
        if conf is None or conf["nonce"] != nonce:
            return False
        offer = self.by_bot[bot][conf["offer_id"]]
        self.confirmations.pop(bot, conf_id)
        self._versions.touch()
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
                self._versions.touch()
            return offer, None
        trade = self._exchange(bot, offer)
        if trade is None:
            raise Refused(EResult.Revoked)
        return offer, trade

    # ------------------------------------------------------------------ what happens to an offer
    def _exchange(self, bot: int, offer: dict, *, protection: bool | None = None) -> dict | None:
        """The offer is accepted: the items move both ways in a trade. None (and
        InvalidItems) if one has left. `protection` overrides the config's."""
        if not self._trades.items_present(bot, offer):
            self._set_state(bot, offer, State.InvalidItems)
            return None
        trade = self._trades.open(bot, offer["partner"], ETradeStatus.Complete, offer["id"])
        offer["trade_id"] = trade["id"]
        # Accepted before the items move, so the invalidation below spares this offer.
        self._set_state(bot, offer, State.Accepted)
        if protection is None:
            protection = self._config["tradeProtection"]
        gone_bot, gone_partner = self._trades.exchange(bot, trade, offer, protection=protection)
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
        trade = self._trades.get(bot, offer["trade_id"]) if offer["trade_id"] else None
        if offer["state"] != State.Accepted or trade is None or trade["status"] != ETradeStatus.Complete:
            raise invalid_state(f"offer {offer['id']} is not an accepted, completed trade", state=offer["state"])
        rollback, departures = self._trades.roll_back(bot, trade)
        for owner, gone in departures:
            self.invalidate(owner, gone)
        self._set_state(bot, offer, State.Reverted)
        return rollback

    # ------------------------------------------------------------------ the sandbox clock
    def due_events(self, now: int) -> list[tuple]:
        """(due, offer id, action, state when seen, bot) of every live offer's next event by `now`."""
        events = []
        for bot, offer_id in self.live:
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

    # ------------------------------------------------------------------ the control API
    def act(self, offer_id: int, action: str, spec: dict | None = None) -> dict:
        """POST /sandbox/offers/{id}/{action}: drive an offer by hand."""
        found = self.find(offer_id)
        if found is None:
            raise not_found(f"no offer {offer_id}")
        bot, offer = found
        state = offer["state"]
        result: dict = {}

        def need(*states: State) -> None:
            if state not in states:
                raise invalid_state(
                    f"cannot {action} offer {offer_id} in state {state} ({State(state).name})",
                    state=state,
                    allowed=list(states),
                )

        if action == "accept":
            need(State.Active)
            if not offer["is_our_offer"]:
                raise invalid_state("the bot accepts received offers through Steam (POST /tradeoffer/{id}/accept)")
            trade = self._exchange(bot, offer)
            if trade is not None:
                result["tradeId"] = str(trade["id"])
        elif action == "decline":
            need(State.Active)
            self._set_state(bot, offer, State.Declined)
        elif action == "counter":
            need(State.Active)
            result["counterOfferId"] = str(self._counter(bot, offer)["id"])
        elif action in ("expire", "cancel"):
            need(State.Active, State.CreatedNeedsConfirmation)
            self._set_state(bot, offer, State.Expired if action == "expire" else State.Canceled)
        elif action == "confirm":
            need(State.CreatedNeedsConfirmation)
            self._set_state(bot, offer, State.Active)
        elif action == "escrow":
            need(State.Active)
            default = self._users.escrow_days(self._users.by_id[offer["partner"]]) or self._config["escrowDays"]
            days = parse_int((spec or {}).get("days", default), "days", minimum=0, maximum=365)
            self._start_escrow(bot, offer, days)
        elif action == "release":
            need(State.InEscrow)
            self._release_escrow(bot, offer)
        elif action == "revert":
            result["rollbackTradeId"] = str(self._revert(bot, offer)["id"])
        else:
            raise not_found(f"unknown action {action!r}", actions=list(ACTIONS))
        return {**self.view(bot, offer), **result}

    def deposit(self, bot: int, steam_id: int, spec) -> dict:
        """The user sends items to the bot in a trade: existing assets of theirs, or
        freshly made ones. Accepted at once unless `autoAccept` is false (then the
        offer waits in the bot's received offers for the bot to accept)."""
        user = self._users.require(steam_id)
        require_object(spec)
        appid = parse_int(spec.get("appid", 730), "appid", minimum=1)
        contextid = parse_int(spec.get("contextid", 2), "contextid", minimum=1)
        refs = []
        if "assets" in spec:
            if not isinstance(spec["assets"], list) or not spec["assets"]:
                raise bad_request("assets must be a non-empty list", field="assets")
            for raw in spec["assets"]:
                if not isinstance(raw, dict):
                    raise bad_request("every asset must be an object", field="assets")
                refs.append({
                    "appid": parse_int(raw.get("appid", appid), "appid"),
                    "contextid": parse_int(raw.get("contextid", contextid), "contextid"),
                    "assetid": parse_int(raw.get("assetid"), "assetid"),
                })
        elif "items" in spec or "count" in spec:
            made = self._inventories.add_items(steam_id, appid, contextid, {k: spec[k] for k in ("items", "count", "seed") if k in spec})
            refs = [{"appid": appid, "contextid": contextid, "assetid": int(m["assetid"])} for m in made]
        else:
            raise bad_request("give assets (the user's existing items), items (specs) or count (generated)")
        receive = []
        for ref in refs:
            inv = self._inventories.get(steam_id, ref["appid"], ref["contextid"])
            asset = inv.get(ref["assetid"]) if inv else None
            if asset is None:
                raise bad_request(f"asset {ref['assetid']} is not in the user's {ref['appid']}/{ref['contextid']} inventory")
            receive.append(self._item(inv, asset))
        auto = parse_bool(spec.get("autoAccept", True), "autoAccept")
        protect = spec.get("tradeProtected")
        message = str(spec.get("message", "Deposit"))[:128]
        offer = self._new(bot, partner=steam_id, ours=False, message=message, give=[], receive=receive, state=State.Active)
        result = {"offerId": str(offer["id"]), "steamId": str(user["steam_id"])}
        if not auto:
            result["assets"] = [dict(i) for i in receive]
            return result
        protection = None if protect is None else parse_bool(protect, "tradeProtected")
        trade = self._exchange(bot, offer, protection=protection)
        result["tradeId"] = str(trade["id"])
        result["assets"] = [
            {
                "appid": e["appid"], "contextid": e["contextid"], "assetid": e["assetid"],
                "classid": e["classid"], "instanceid": e["instanceid"],
                "newAssetId": e["new_assetid"], "newContextId": e["new_contextid"],
                "marketHashName": self._inventories.description(e).market_hash_name,
            }
            for e in trade["received"]
        ]
        return result

    def view(self, bot: int, offer: dict) -> dict:
        def items(entries):
            out = []
            for e in entries:
                desc = self._inventories.description(e)
                out.append({**e, "marketHashName": desc.market_hash_name if desc else None})
            return out

        return {
            "id": str(offer["id"]),
            "state": offer["state"],
            "stateName": State(offer["state"]).name,
            "partnerSteamId": str(offer["partner"]),
            "isOurOffer": offer["is_our_offer"],
            "message": offer["message"],
            "itemsToGive": items(offer["give"]),
            "itemsToReceive": items(offer["receive"]),
            "tradeId": str(offer["trade_id"]) if offer["trade_id"] else None,
            "timeCreated": offer["created"],
            "timeUpdated": offer["updated"],
            "expirationTime": offer["expires"],
            "escrowEndDate": offer["escrow_end"],
            "counterOfferId": str(offer["countered_by"]) if offer["countered_by"] else None,
            "counterOf": str(offer["counter_of"]) if offer["counter_of"] else None,
            "pendingConfirmation": self.confirmations.waiting(bot, offer["id"]),
        }

    # ------------------------------------------------------------------ persistence
    def dump(self) -> dict:
        return {
            "offers": {str(bot): list(offers.values()) for bot, offers in self.by_bot.items()},
            "acknowledged": {str(bot): True for bot, done in self.acknowledged.items() if done},
        }

    def restore(self, core: dict) -> None:
        self.by_bot = {int(bot): {int(o["id"]): o for o in offers} for bot, offers in core.get("offers", {}).items()}
        self.acknowledged = {int(bot): bool(done) for bot, done in core.get("acknowledged", {}).items()}
        self.live = {(bot, oid) for bot, offers in self.by_bot.items() for oid, o in offers.items() if o["state"] in LIVE_OFFER_STATES}
