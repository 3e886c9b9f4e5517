"""api.steampowered.com's Web API: IEconService (trade offers, trades, holds) and
ISteamUser (player summaries). Every method takes an access token or an API key
(`auth.web_api`) and answers for the bot it proved to be.

GetTradeOffers can glitch the way Steam does (config `glitch*`, each on every Nth
listing of a bot): every item listed with asset and context id "0", an empty page, a
false 429, time_updated backdated; and any offer or trade can show a state or status
no enum knows (POST /sandbox/offers/{id}/glitch)."""

from __future__ import annotations

import hashlib
import re

from .. import pages
from ..account import STEAMID64_BASE
from ..enums import FAILED_TRADE_STATUSES, LIVE_OFFER_STATES, PENDING_OFFER_STATES, EResult, ETradeOfferState
from ..errors import Refused
from ..state import SandboxState
from ..web import Request, Response, html_response
from ..state.counters import LISTING, OUTSTANDING_READS
from .auth import web_api
from .context import Ctx, flag, null, steam_json, to_int

MAX_TRADE_HISTORY_PAGE = 500
MAX_PLAYER_SUMMARIES = 100


def _hidden_from_key(offer: dict) -> bool:
    # Since 2024-04 a Web API key no longer sees CS2 offers (steampy #382, TOM #348):
    # only the access token of a web session does.
    return any(i["appid"] == 730 for i in offer["give"] + offer["receive"])


def _offer_item(state: SandboxState, item: dict, *, zero_ids: bool = False) -> dict:
    out = {
        "appid": item["appid"],
        "contextid": "0" if zero_ids else item["contextid"],
        "assetid": "0" if zero_ids else item["assetid"],
        "classid": item["classid"], "instanceid": item["instanceid"], "amount": item["amount"],
        "missing": item["missing"],
    }
    desc = state.inventories.description(item)
    price = state.market.price_of(item["appid"], desc.market_hash_name) if desc else None
    if price and price.get("lowestPrice") is not None:
        out["est_usd"] = str(price["lowestPrice"])
    return out


def shown_updated(state: SandboxState, offer: dict) -> int:
    """time_updated as Steam shows it: backdated by the glitch, never before creation."""
    backdate = state.config["glitchBackdateTimeUpdatedSeconds"]
    if not backdate or offer["updated"] == offer["created"]:
        return offer["updated"]
    return max(offer["created"], offer["updated"] - backdate)


def offer_json(state: SandboxState, offer: dict, *, zero_ids: bool = False) -> dict:
    shown_state = offer.get("shown_state")
    out = {
        "tradeofferid": str(offer["id"]),
        "accountid_other": offer["partner"] - STEAMID64_BASE,
        "message": offer["message"],
        "expiration_time": offer["expires"],
        "trade_offer_state": offer["state"] if shown_state is None else shown_state,
    }
    if offer["give"]:
        out["items_to_give"] = [_offer_item(state, i, zero_ids=zero_ids) for i in offer["give"]]
    if offer["receive"]:
        out["items_to_receive"] = [_offer_item(state, i, zero_ids=zero_ids) for i in offer["receive"]]
    out.update({
        "is_our_offer": offer["is_our_offer"],
        "time_created": offer["created"],
        "time_updated": shown_updated(state, offer),
        "from_real_time_trade": False,
        "escrow_end_date": offer["escrow_end"],
        "confirmation_method": offer["confirmation_method"],
    })
    if offer["trade_id"]:
        out["tradeid"] = str(offer["trade_id"])
    return out


def _descriptions(state: SandboxState, items) -> list[dict]:
    seen, out = set(), []
    classes = state.inventories.classes
    for item in items:
        key = (item["appid"], item["classid"], item["instanceid"])
        if key not in seen and key in classes:
            seen.add(key)
            out.append(classes[key].offer_dict())
    return out


def _every(n: int, count: int) -> bool:
    return n > 0 and count > 0 and count % n == 0


@web_api
def get_trade_offers(ctx: Ctx) -> Response:
    state, req = ctx.state, ctx.req
    bot = ctx.bot.steam_id
    config, counters = state.config, state.counters
    cursor = max(0, to_int(req.arg("cursor"), 0) or 0)
    if cursor == 0:
        # A listing starts: the glitches strike whole listings (every Nth), and
        # Steam's "since your last visit" is the start of the previous one.
        listing = counters.count(bot, LISTING)
        counters.listing_visit[bot] = (counters.last_listing.get(bot), listing)
        counters.last_listing[bot] = state.now()
    last_visit, listing = counters.listing_visit.get(bot, (None, 0))
    if _every(config["glitchFalse429"], listing):
        return null(429)  # "notorious for giving false 429 errors"
    if _every(config["glitchEmptyPage"], listing):
        return steam_json({"response": {"next_cursor": 0}})
    zero_ids = _every(config["glitchZeroAssetIds"], listing)
    want_sent, want_received = flag(req.arg("get_sent_offers")), flag(req.arg("get_received_offers"))
    active_only, historical_only = flag(req.arg("active_only")), flag(req.arg("historical_only"))
    raw_cutoff = req.arg("time_historical_cutoff")
    cutoff = to_int(raw_cutoff)
    if active_only and not raw_cutoff:
        # No cutoff: Steam adds the offers that changed since the bot's previous
        # listing ("active right now + inactive ones changed since our last visit").
        cutoff = last_visit

    def wanted(offer: dict) -> bool:
        if ctx.by_api_key and _hidden_from_key(offer):
            return False
        active = offer["state"] in LIVE_OFFER_STATES
        # Steam compares with the time_updated it shows (a backdated one, too).
        if active_only:
            return active or (cutoff is not None and shown_updated(state, offer) >= cutoff)
        if historical_only:
            return not active and (cutoff is None or shown_updated(state, offer) >= cutoff)
        return True

    newest_first = sorted(state.offers.of_bot(bot), key=lambda o: o["id"], reverse=True)
    sent = [o for o in newest_first if want_sent and o["is_our_offer"] and wanted(o)]
    received = [o for o in newest_first if want_received and not o["is_our_offer"] and wanted(o)]
    size = config["tradeOffersPageSize"]
    combined = [("sent", o) for o in sent] + [("received", o) for o in received]
    page = combined[cursor : cursor + size]
    response: dict = {}
    page_sent = [offer_json(state, o, zero_ids=zero_ids) for side, o in page if side == "sent"]
    page_received = [offer_json(state, o, zero_ids=zero_ids) for side, o in page if side == "received"]
    if page_sent:
        response["trade_offers_sent"] = page_sent
    if page_received:
        response["trade_offers_received"] = page_received
    if flag(req.arg("get_descriptions")):
        descriptions = _descriptions(state, [i for _, o in page for i in o["give"] + o["receive"]])
        if descriptions:
            response["descriptions"] = descriptions
    response["next_cursor"] = cursor + size if cursor + size < len(combined) else 0
    return steam_json({"response": response})


@web_api
def get_trade_offer(ctx: Ctx) -> Response:
    state = ctx.state
    offer = state.offers.get(ctx.bot.steam_id, to_int(ctx.req.arg("tradeofferid"), -1))
    if offer is None or (ctx.by_api_key and _hidden_from_key(offer)):
        return steam_json({"response": {}})
    if offer["state"] in LIVE_OFFER_STATES:
        state.counters.count(ctx.bot.steam_id, OUTSTANDING_READS)
    response = {"offer": offer_json(state, offer)}
    if flag(ctx.req.arg("get_descriptions")):
        descriptions = _descriptions(state, offer["give"] + offer["receive"])
        if descriptions:
            response["descriptions"] = descriptions
    return steam_json({"response": response})


@web_api
def get_trade_offers_summary(ctx: Ctx) -> Response:
    last_visit = to_int(ctx.req.arg("time_last_visit"), 0) or 0
    counts = dict.fromkeys((
        "pending_received_count", "new_received_count", "updated_received_count", "historical_received_count",
        "pending_sent_count", "newly_accepted_sent_count", "updated_sent_count", "historical_sent_count",
        "escrow_received_count", "escrow_sent_count",
    ), 0)
    for offer in ctx.state.offers.of_bot(ctx.bot.steam_id):
        side = "sent" if offer["is_our_offer"] else "received"
        state = offer["state"]
        if state in PENDING_OFFER_STATES:
            counts[f"pending_{side}_count"] += 1
            if side == "received" and offer["created"] >= last_visit:
                counts["new_received_count"] += 1
        elif state == ETradeOfferState.InEscrow:
            counts[f"escrow_{side}_count"] += 1
        else:
            counts[f"historical_{side}_count"] += 1
            if offer["updated"] >= last_visit:
                counts[f"updated_{side}_count"] += 1
                if side == "sent" and state == ETradeOfferState.Accepted:
                    counts["newly_accepted_sent_count"] += 1
    return steam_json({"response": counts})


def trade_json(trade: dict) -> dict:
    out = {
        "tradeid": str(trade["id"]),
        "steamid_other": str(trade["partner"]),
        "time_init": trade["time_init"],
        "status": trade["status"] if trade.get("shown_status") is None else trade["shown_status"],
    }
    if trade.get("time_escrow_end"):
        out["time_escrow_end"] = trade["time_escrow_end"]
    if trade.get("time_settlement"):
        out["time_settlement"] = trade["time_settlement"]
    if trade["given"]:
        out["assets_given"] = [dict(e) for e in trade["given"]]
    if trade["received"]:
        out["assets_received"] = [dict(e) for e in trade["received"]]
    if trade.get("rollback_trade"):
        out["rollback_trade"] = str(trade["rollback_trade"])
    return out


@web_api
def get_trade_status(ctx: Ctx) -> Response:
    state = ctx.state
    trade = state.trades.get(ctx.bot.steam_id, to_int(ctx.req.arg("tradeid"), -1))
    if trade is None:
        return steam_json({"response": {}}, eresult=EResult.NoMatch)
    offer = state.offers.get(ctx.bot.steam_id, trade["offer_id"]) if trade["offer_id"] else None
    if offer is not None and offer["state"] in LIVE_OFFER_STATES:  # e.g. in escrow
        state.counters.count(ctx.bot.steam_id, OUTSTANDING_READS)
    response = {"trades": [trade_json(trade)]}
    if flag(ctx.req.arg("get_descriptions")):
        response["descriptions"] = _descriptions(state, trade["given"] + trade["received"])
    return steam_json({"response": response})


def _navigating_back(req: Request) -> bool:
    value = req.arg("navigating_back")
    return True if value is None else flag(value)


@web_api
def get_trade_history(ctx: Ctx) -> Response:
    state, req = ctx.state, ctx.req
    max_trades = min(max(to_int(req.arg("max_trades"), 100) or 100, 1), MAX_TRADE_HISTORY_PAGE)
    include_failed = flag(req.arg("include_failed"))
    trades = sorted(state.trades.of_bot(ctx.bot.steam_id), key=lambda t: (t["time_init"], t["id"]), reverse=True)
    if not include_failed:
        trades = [t for t in trades if t["status"] not in FAILED_TRADE_STATUSES]
    total = len(trades)
    after_time = to_int(req.arg("start_after_time"))
    if after_time is not None:
        after_id = to_int(req.arg("start_after_tradeid"))
        mark = (after_time, after_id if after_id is not None else (2**64 if _navigating_back(req) else -1))
        if _navigating_back(req):
            trades = [t for t in trades if (t["time_init"], t["id"]) < mark]
        else:
            trades = [t for t in trades if (t["time_init"], t["id"]) > mark]
    page = trades[:max_trades]
    response: dict = {"more": len(trades) > len(page), "trades": [trade_json(t) for t in page]}
    if flag(req.arg("include_total")):
        response = {"total_trades": total, **response}
    if flag(req.arg("get_descriptions")):
        response["descriptions"] = _descriptions(state, [e for t in page for e in t["given"] + t["received"]])
    return steam_json({"response": response})


@web_api
def get_trade_hold_durations(ctx: Ctx) -> Response:
    """The holds a trade with the target would get, from their escrow days: only with
    their trade URL token (not friends); without one Steam answers an empty
    response, which says nothing about a hold."""
    state = ctx.state
    user = state.users.get(to_int(ctx.req.arg("steamid_target"), -1))
    if user is None:
        return steam_json({"response": {}}, eresult=EResult.InvalidParam)
    token = ctx.req.arg("trade_offer_access_token")
    if not token:
        return steam_json({"response": {}})
    if token != user["trade_token"]:
        return steam_json({"response": {}}, eresult=EResult.AccessDenied)
    their = state.users.escrow_days(user) * 86400

    def hold(seconds: int) -> dict:
        return {"escrow_end_duration_seconds": seconds, **({"escrow_end_date": state.now() + seconds} if seconds else {})}

    return steam_json({"response": {"my_escrow": hold(0), "their_escrow": hold(their), "both_escrow": hold(their)}})


@web_api
def cancel_trade_offer(ctx: Ctx) -> Response:
    return _offer_action(ctx, ctx.state.offers.cancel)


@web_api
def decline_trade_offer(ctx: Ctx) -> Response:
    return _offer_action(ctx, ctx.state.offers.decline)


def _offer_action(ctx: Ctx, action) -> Response:
    try:
        action(ctx.bot.steam_id, to_int(ctx.req.arg("tradeofferid"), -1))
    except Refused as refused:
        return steam_json({"response": {}}, eresult=refused.eresult)
    return steam_json({"response": {}})


@web_api
def get_player_summaries(ctx: Ctx) -> Response:
    state = ctx.state
    ids = [x for x in re.split(r"[,\s]+", ctx.req.arg("steamids") or "") if x]
    if len(ids) > MAX_PLAYER_SUMMARIES:
        return html_response(pages.page("Bad Request", "<h1>Bad Request</h1>Too many steamids (at most 100)."), 400)
    players = []
    for raw in ids:
        steam_id = to_int(raw)
        if steam_id in state.bots:
            bot = state.bots[steam_id]
            players.append(_player(steam_id, bot.persona_name, visible=True, country="US", created=1_400_000_000))
        elif steam_id in state.users:
            user = state.users.get(steam_id)
            players.append(_player(steam_id, user["persona_name"], visible=not user["private_profile"],
                                   country=user["country"], created=user["created"]))
    return steam_json({"response": {"players": players}})


def _player(steam_id: int, persona: str, *, visible: bool, country: str, created: int) -> dict:
    avatar_hash = hashlib.sha1(f"avatar{steam_id}".encode()).hexdigest()
    base = f"https://avatars.steamstatic.com/{avatar_hash}"
    player = {
        "steamid": str(steam_id),
        "communityvisibilitystate": 3 if visible else 1,  # 3 public, 1 private
        "profilestate": 1,
        "personaname": persona,
        "profileurl": f"https://steamcommunity.com/profiles/{steam_id}/",
        "avatar": f"{base}.jpg",
        "avatarmedium": f"{base}_medium.jpg",
        "avatarfull": f"{base}_full.jpg",
        "avatarhash": avatar_hash,
        "personastate": 0,
        "personastateflags": 0,
    }
    if visible:
        player.update({"commentpermission": 1, "primaryclanid": "103582791429521408", "timecreated": created, "loccountrycode": country})
    return player


API_METHODS = {
    ("IEconService", "GetTradeOffers"): get_trade_offers,
    ("IEconService", "GetTradeOffer"): get_trade_offer,
    ("IEconService", "GetTradeOffersSummary"): get_trade_offers_summary,
    ("IEconService", "GetTradeStatus"): get_trade_status,
    ("IEconService", "GetTradeHistory"): get_trade_history,
    ("IEconService", "GetTradeHoldDurations"): get_trade_hold_durations,
    ("IEconService", "CancelTradeOffer"): cancel_trade_offer,
    ("IEconService", "DeclineTradeOffer"): decline_trade_offer,
    ("ISteamUser", "GetPlayerSummaries"): get_player_summaries,
}
