"""steamcommunity.com: the home page, inventories, trade offers (pages, send, accept,
cancel, decline, the trade protection acknowledgement) and the market; mobile
confirmations are in mobileconf.py. The routes are in the package's router
(steam/__init__.py)."""

from __future__ import annotations

import json

from .. import pages
from ..account import STEAMID64_BASE
from ..enums import LIVE_OFFER_STATES, EResult
from ..errors import Refused
from ..web import Response, html_response, json_body, json_response
from .auth import bot_session
from .context import Ctx, null, to_int

# What Steam sends for an inventory with nothing in it: no assets or descriptions keys at all.
EMPTY_INVENTORY = '{"total_inventory_count":0,"success":1,"rwgrsn":-2}'
_NEEDS_MOBILE_CONFIRMATION = {"needs_mobile_confirmation": True, "needs_email_confirmation": False,
                              "email_domain": "sandbox.invalid"}


def home(ctx: Ctx) -> Response:
    resp = html_response("")
    sid = ctx.sessionid(resp)
    viewer = ctx.viewer()
    if viewer is not None:
        body = pages.community_home(
            sessionid=sid, steamid=viewer, persona=ctx.state.persona_of(viewer), username=ctx.state.bots[viewer].username,
        )
    else:
        body = pages.community_home(sessionid=sid, steamid=None)
    resp.body = body.encode()
    return resp


# ---------------------------------------------------------------- inventory
def inventory(ctx: Ctx, owner: int, appid: int, contextid: int) -> Response:
    state, req = ctx.state, ctx.req
    viewer = ctx.viewer()
    if owner in state.bots:
        # A bot's inventory is private: only its own live session sees it, so a dead
        # session answers 403 null like Steam does.
        if viewer != owner:
            return null(403)
    else:
        user = state.users.get(owner)
        if user is None or (user["private_inventory"] and viewer != owner):
            return null(403)
    least = state.config["inventoryMinIntervalSeconds"]
    since = state.counters.host_call("inventory")  # paced per host, whoever asks
    if least and since is not None and since < least:
        return null(429)
    raw_count = req.arg("count")
    count = state.config["inventoryDefaultCount"] if raw_count is None else to_int(raw_count)
    limit = state.config["inventoryCountLimit"]
    fault = state.take_fault("page_size_limit", req.host, req.path, req.method)
    if fault:
        limit = fault["limit"]
    if count is None or count < 1 or count > limit:
        return null(400)
    start = req.arg("start_assetid")
    start_id = None
    if start not in (None, ""):
        start_id = to_int(start)
        if start_id is None:
            return null(400)
    if state.take_fault("empty_inventory", req.host, req.path, req.method):
        return json_response(EMPTY_INVENTORY)
    inv = state.inventories.get(owner, appid, contextid)
    if inv is None:
        return json_response(EMPTY_INVENTORY)
    return json_response(inv.page(start_assetid=start_id, count=count, classes=state.inventories.classes))


# ---------------------------------------------------------------- trade offers
def _send_error(eresult: int, reason: str = "") -> str:
    text = "There was an error sending your trade offer.  Please try again later."
    if reason:
        text += "<br><br>" + reason
    return f"{text} ({int(eresult)})"


@bot_session(401)
def send_offer(ctx: Ctx) -> Response:
    state, req = ctx.state, ctx.req
    state.counters.count(ctx.bot.steam_id, "send")
    partner = to_int(req.arg("partner"))
    if partner is not None and 0 < partner < STEAMID64_BASE:
        partner += STEAMID64_BASE  # an account id rather than a steamid64
    try:
        offer_json = json.loads(req.arg("json_tradeoffer") or "")
        me = offer_json["me"]["assets"]
        them = offer_json["them"]["assets"]
        create_params = json.loads(req.arg("trade_offer_create_params") or "{}")
        if not isinstance(me, list) or not isinstance(them, list) or not isinstance(create_params, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return json_response({"strError": _send_error(EResult.InvalidParam)}, 500)
    if partner is None:
        return json_response({"strError": _send_error(EResult.InvalidParam)}, 500)
    fault = state.take_fault("send_error", req.host, req.path, req.method)
    if fault and not fault["createOffer"]:
        return json_response({"strError": _send_error(fault["eresult"])}, fault["status"])
    try:
        offer = state.offers.send(
            ctx.bot.steam_id,
            partner=partner,
            token=create_params.get("trade_offer_access_token"),
            me=me,
            them=them,
            message=req.arg("tradeoffermessage") or "",
        )
    except Refused as refused:
        return json_response({"strError": _send_error(refused.eresult, refused.reason)}, 500)
    if fault:
        # Steam created the offer but reports a failure (e.g. (16) Timeout).
        return json_response({"strError": _send_error(fault["eresult"])}, fault["status"])
    body = {"tradeofferid": str(offer["id"])}
    if offer["give"]:
        body.update(_NEEDS_MOBILE_CONFIRMATION)
    resp = json_response(body)
    timeout = state.take_fault("send_timeout", req.host, req.path, req.method)
    if timeout:
        # The offer exists now; the answer never arrives.
        resp.after = ("drop",) if timeout["mode"] == "drop" else ("hang", timeout["holdSeconds"])
    return resp


def new_offer_page(ctx: Ctx) -> Response:
    state, req = ctx.state, ctx.req
    resp = html_response("")
    sid = ctx.sessionid(resp)
    viewer = ctx.viewer()
    if viewer is None:
        resp.body = pages.community_home(sessionid=sid, steamid=None).encode()
        return resp
    account = to_int(req.arg("partner"))
    user = state.users.get(account + STEAMID64_BASE) if account is not None else None
    if user is None:
        resp.body = pages.error_page(sessionid=sid, steamid=viewer, message="There was an error with your trade offer.").encode()
        return resp
    if req.arg("token") != user["trade_token"]:
        resp.body = pages.error_page(
            sessionid=sid, steamid=viewer,
            message=f"This Trade URL is no longer valid for sending a trade offer to {user['persona_name']}.",
        ).encode()
        return resp
    resp.body = pages.trade_offer_page(
        sessionid=sid, steamid=viewer, my_persona=state.persona_of(viewer), partner=user["steam_id"],
        partner_persona=user["persona_name"], my_escrow_days=0, their_escrow_days=state.users.escrow_days(user),
    ).encode()
    return resp


def offer_page(ctx: Ctx, offer_id: int) -> Response:
    state = ctx.state
    resp = html_response("")
    sid = ctx.sessionid(resp)
    viewer = ctx.viewer()
    offer = state.offers.get(viewer, offer_id) if viewer is not None else None
    if viewer is None:
        resp.body = pages.community_home(sessionid=sid, steamid=None).encode()
    elif offer is None or offer["state"] not in LIVE_OFFER_STATES:
        resp.body = pages.error_page(sessionid=sid, steamid=viewer, message="This trade offer is no longer valid.").encode()
    else:
        user = state.users.get(offer["partner"])
        resp.body = pages.trade_offer_page(
            sessionid=sid, steamid=viewer, my_persona=state.persona_of(viewer), partner=offer["partner"],
            partner_persona=state.persona_of(offer["partner"]), my_escrow_days=0,
            their_escrow_days=state.users.escrow_days(user) if user else 0,
        ).encode()
    return resp


def _action_error(verb: str, refused: Refused) -> Response:
    return json_response(
        {"strError": f"There was an error {verb} this trade offer.  Please try again later. ({int(refused.eresult)})"}, 500
    )


@bot_session(401)
def cancel_or_decline_offer(ctx: Ctx, offer_id: int, action: str) -> Response:
    act = ctx.state.offers.cancel if action == "cancel" else ctx.state.offers.decline
    try:
        act(ctx.bot.steam_id, offer_id)
    except Refused as refused:
        return _action_error("canceling" if action == "cancel" else "declining", refused)
    return json_response({"tradeofferid": str(offer_id)})


@bot_session(403)
def accept_offer(ctx: Ctx, offer_id: int) -> Response:
    try:
        _, trade = ctx.state.offers.accept(ctx.bot.steam_id, offer_id)
    except Refused as refused:
        return _action_error("accepting", refused)
    if trade is None:
        return json_response({"tradeid": None, **_NEEDS_MOBILE_CONFIRMATION})
    return json_response({"tradeid": str(trade["id"])})


@bot_session(401)
def acknowledge(ctx: Ctx) -> Response:
    """The trade protection notice: once is enough, again is harmless. (Nobody reads
    Steam's answer; its body is unknown.)"""
    ctx.state.offers.acknowledge(ctx.bot.steam_id)
    return json_response({"success": 1})


# ---------------------------------------------------------------- market
_CURRENCIES = {
    # code: (rate to USD, formatter)
    1: (1.0, lambda c: f"${c // 100}.{c % 100:02d}"),
    2: (0.79, lambda c: f"£{c // 100}.{c % 100:02d}"),
    3: (0.92, lambda c: f"{c // 100},{c % 100:02d}€"),
    5: (92.0, lambda c: f"{c // 100},{c % 100:02d} pуб."),
    6: (3.95, lambda c: f"{c // 100},{c % 100:02d}zł"),
}
_WALLET = {
    "wallet_currency": 1, "wallet_country": "US", "wallet_fee": "1", "wallet_fee_percent": "0.05",
    "wallet_balance": "0", "wallet_delayed_balance": "0", "wallet_max_balance": "200000", "success": True, "rwgrsn": -2,
}


def price_overview(ctx: Ctx) -> Response:
    req = ctx.req
    appid = to_int(req.arg("appid"))
    name = req.arg("market_hash_name") or ""
    currency = to_int(req.arg("currency"), 1)
    price = ctx.state.market.price_of(appid, name) if appid else None
    if price is None or currency not in _CURRENCIES:
        return json_response({"success": False}, 500)
    rate, fmt = _CURRENCIES[currency]
    body = {"success": True}
    if price.get("lowestPrice") is not None:
        body["lowest_price"] = fmt(round(price["lowestPrice"] * rate))
    if price.get("volume") is not None:
        body["volume"] = f"{price['volume']:,}"
    if price.get("medianPrice") is not None:
        body["median_price"] = fmt(round(price["medianPrice"] * rate))
    return json_response(body)


def market_page(ctx: Ctx) -> Response:
    resp = html_response("")
    sid = ctx.sessionid(resp)
    resp.body = pages.market_page(sessionid=sid, steamid=ctx.viewer(), wallet_json=json_body(_WALLET)).encode()
    return resp
