"""The control API's side of the `Offers` store: driving an offer by hand, a
user's deposit, glitches in what Steam shows of an offer, and the readable view."""

from __future__ import annotations

from ..enums import ETradeOfferState
from ..errors import bad_request, invalid_state, not_found
from ..parsing import parse_bool, parse_int, require_object

State = ETradeOfferState
ACTIONS = ("accept", "decline", "counter", "expire", "cancel", "confirm", "escrow", "release", "revert", "glitch")


class OfferControl:
    """Mixed into `Offers`, whose records, stores and transitions it uses."""

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
        elif action == "glitch":
            self._glitch(bot, offer, spec or {})
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
            **({"shownState": offer["shown_state"]} if offer.get("shown_state") is not None else {}),
            **({"revertAt": offer["revert_at"]} if offer.get("revert_at") is not None else {}),
        }

    def _glitch(self, bot: int, offer: dict, spec: dict) -> None:
        """What Steam shows of the offer, whatever it is: an offer state (`state`, e.g.
        13, one no enum knows) in GetTradeOffer(s), and a status of its trade
        (`tradeStatus`) in GetTradeStatus / GetTradeHistory; null shows the real one."""
        unknown = sorted(set(spec) - {"state", "tradeStatus"})
        if unknown or not spec:
            raise bad_request("give state and/or tradeStatus (an integer, or null for the real one)", fields=unknown)
        trade = self._trades.get(bot, offer["trade_id"]) if offer["trade_id"] else None
        if "tradeStatus" in spec and trade is None:
            raise invalid_state(f"offer {offer['id']} has no trade")
        shown = {k: None if spec[k] is None else parse_int(spec[k], k, minimum=0, maximum=1000) for k in spec}
        if "state" in shown:
            offer["shown_state"] = shown["state"]
            self._touch(bot, offer)
        if "tradeStatus" in shown:
            trade["shown_status"] = shown["tradeStatus"]
            self._trades.touched(bot, trade)
