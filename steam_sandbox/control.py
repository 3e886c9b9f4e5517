"""The control API under /sandbox/ (any Host): JSON in, JSON out. Tests and
`make demo` drive the sandbox's world through it. See docs/sandbox.md."""

from __future__ import annotations

import re

from . import seed
from .errors import ControlError, bad_request, not_found
from .enums import ETradeOfferState
from .parsing import parse_bool, parse_int
from .state import SandboxState
from .state.config import DEFAULT_CONFIG
from .web import Request, Response, json_response

_INV = r"/sandbox/inventories/(\w+)/(\d+)/(\d+)"
_ROUTES: list[tuple[str, re.Pattern, object]] = []


def _route(method: str, pattern: str):
    def register(fn):
        _ROUTES.append((method, re.compile(f"^{pattern}$"), fn))
        return fn

    return register


def route(app, req: Request) -> Response:
    allowed = []
    for method, pattern, fn in _ROUTES:
        match = pattern.match(req.path)
        if match:
            if method == req.method:
                return fn(app.state, req, *match.groups())
            allowed.append(method)
    if allowed:
        raise ControlError(405, "method_not_allowed", f"{req.method} is not allowed here", {"allowed": allowed})
    raise not_found(f"no control endpoint {req.method} {req.path}", docs="docs/sandbox.md")


def ok(value, status: int = 200) -> Response:
    return json_response(value, status)


def _body(req: Request) -> dict:
    body = req.json()
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


# ---------------------------------------------------------------- whole state
@_route("GET", "/sandbox/health")
def health(state: SandboxState, req):
    return ok({"ok": True, "steamId": str(state.bot.steam_id)})


@_route("GET", "/sandbox/state")
def summary(state, req):
    return ok(state.summary())


@_route("GET", "/sandbox/bot")
def bot(state, req):
    b = state.bot
    return ok({
        "steamId": str(b.steam_id), "accountId": b.account_id, "username": b.username, "password": b.password,
        "sharedSecret": b.shared_secret, "identitySecret": b.identity_secret, "apiKey": b.api_key,
        "personaName": b.persona_name,
    })


@_route("POST", "/sandbox/reset")
def reset(state, req):
    body = _body(req)
    config = body.get("config", "start")
    if config not in ("start", "steam"):
        raise bad_request('config must be "start" (what this process started with) or "steam" (Steam\'s defaults)',
                          field="config")
    state.reset(steam_defaults=config == "steam")
    result = {"reset": True}
    if body.get("seed"):
        result["seed"] = seed.load(state)
    return ok(result)


@_route("POST", "/sandbox/seed")
def load_seed(state, req):
    return ok(seed.load(state))


@_route("GET", "/sandbox/config")
def get_config(state, req):
    return ok(dict(state.config))


@_route("POST", "/sandbox/config")
def set_config(state, req):
    return ok(state.update_config(_body(req)))


@_route("GET", "/sandbox/config/defaults")
def config_defaults(state, req):
    return ok({"steam": dict(DEFAULT_CONFIG), "start": dict(state.start_config)})


@_route("GET", "/sandbox/clock")
def get_clock(state, req):
    return ok({"now": state.now(), "offsetSeconds": state.clock.offset})


@_route("POST", "/sandbox/clock")
def set_clock(state, req):
    body = _body(req)
    if "advanceSeconds" not in body:
        raise bad_request("advanceSeconds is required (the sandbox clock only moves forward)")
    state.advance_clock(parse_int(body["advanceSeconds"], "advanceSeconds", minimum=0, maximum=10 * 365 * 86400))
    state.tick()
    return ok({"now": state.now(), "offsetSeconds": state.clock.offset})


# ---------------------------------------------------------------- inventories
def _inv_args(state, account, appid, contextid):
    return state.resolve_owner(account), int(appid), int(contextid)


@_route("GET", _INV)
def get_inventory(state, req, account, appid, contextid):
    owner, appid, contextid = _inv_args(state, account, appid, contextid)
    inv = state.inventories.get(owner, appid, contextid)
    limit = parse_int(req.arg("limit", "100"), "limit", minimum=0, maximum=1_000_000)
    if inv is None:
        return ok({"account": str(owner), "appid": appid, "contextid": str(contextid), "count": 0, "assets": []})
    views = state.inventories
    return ok({**views.summary(inv), "assets": [views.asset_view(inv, a) for a in inv.newest_first(limit)]})


@_route("POST", _INV)
def load_inventory(state, req, account, appid, contextid):
    owner, appid, contextid = _inv_args(state, account, appid, contextid)
    return ok(state.load_inventory(owner, appid, contextid, req.json()))


@_route("POST", _INV + "/generate")
def generate_inventory(state, req, account, appid, contextid):
    owner, appid, contextid = _inv_args(state, account, appid, contextid)
    return ok(state.generate_inventory(owner, appid, contextid, _body(req)))


@_route("POST", _INV + "/add")
def add_items(state, req, account, appid, contextid):
    owner, appid, contextid = _inv_args(state, account, appid, contextid)
    return ok({"assets": state.inventories.add_items(owner, appid, contextid, _body(req))})


@_route("POST", _INV + "/remove")
def remove_assets(state, req, account, appid, contextid):
    owner, appid, contextid = _inv_args(state, account, appid, contextid)
    return ok(state.remove_assets(owner, appid, contextid, _body(req).get("assetIds")))


@_route("POST", _INV + "/hidden")
def set_hidden(state, req, account, appid, contextid):
    owner, appid, contextid = _inv_args(state, account, appid, contextid)
    return ok(state.inventories.set_hidden(owner, appid, contextid, _body(req)))


@_route("PATCH", _INV + r"/assets/(\d+)")
def update_asset(state, req, account, appid, contextid, assetid):
    owner, appid, contextid = _inv_args(state, account, appid, contextid)
    return ok(state.inventories.update_asset(owner, appid, contextid, int(assetid), _body(req)))


# ---------------------------------------------------------------- users
@_route("GET", "/sandbox/users")
def list_users(state, req):
    return ok({"users": [state.users.view(u) for u in state.users.all()]})


@_route("POST", "/sandbox/users")
def create_user(state, req):
    return ok(state.users.create(_body(req)), 201)


@_route("GET", r"/sandbox/users/(\d+)")
def get_user(state, req, steam_id):
    return ok(state.users.view(state.users.require(int(steam_id))))


@_route("PATCH", r"/sandbox/users/(\d+)")
def update_user(state, req, steam_id):
    return ok(state.users.update(int(steam_id), _body(req)))


@_route("POST", r"/sandbox/users/(\d+)/deposit")
def deposit(state, req, steam_id):
    return ok(state.deposit(int(steam_id), _body(req)))


# ---------------------------------------------------------------- offers, trades, confirmations
@_route("GET", "/sandbox/offers")
def list_offers(state, req):
    offers = sorted(state.offers.all(), key=lambda found: found[1]["id"])
    if req.arg("state"):
        wanted = {parse_int(s, "state") for s in req.arg("state").split(",")}
        offers = [(bot, o) for bot, o in offers if o["state"] in wanted]
    if req.arg("partner"):
        partner = parse_int(req.arg("partner"), "partner")
        offers = [(bot, o) for bot, o in offers if o["partner"] == partner]
    return ok({
        "offers": [state.offers.view(bot, o) for bot, o in offers],
        "states": {s.value: s.name for s in ETradeOfferState},
    })


@_route("GET", r"/sandbox/offers/(\d+)")
def get_offer(state, req, offer_id):
    found = state.offers.find(int(offer_id))
    if found is None:
        raise not_found(f"no offer {offer_id}")
    return ok(state.offers.view(*found))


@_route("POST", r"/sandbox/offers/(\d+)/(\w+)")
def act_on_offer(state, req, offer_id, action):
    return ok(state.offers.act(int(offer_id), action, _body(req)))


@_route("GET", "/sandbox/trades")
def list_trades(state, req):
    return ok({"trades": [state.trades.view(t) for t in sorted(state.trades.all(), key=lambda t: t["id"])]})


@_route("GET", r"/sandbox/trades/(\d+)")
def get_trade(state, req, trade_id):
    trade = state.trades.find(int(trade_id))
    if trade is None:
        raise not_found(f"no trade {trade_id}")
    return ok(state.trades.view(trade))


@_route("GET", "/sandbox/confirmations")
def list_confirmations(state, req):
    return ok({"confirmations": [
        {"id": str(c["id"]), "offerId": str(c["offer_id"]), "kind": c["kind"], "created": c["created"]}
        for c in state.confirmations.all()
    ]})


# ---------------------------------------------------------------- faults, sessions
@_route("GET", "/sandbox/faults")
def list_faults(state, req):
    return ok({"faults": state.faults.listed()})


@_route("POST", "/sandbox/faults")
def add_fault(state, req):
    return ok(state.add_fault(_body(req)), 201)


@_route("DELETE", "/sandbox/faults")
def clear_faults(state, req):
    return ok({"cleared": state.faults.clear()})


@_route("POST", "/sandbox/faults/clear")
def clear_faults_post(state, req):
    return clear_faults(state, req)


@_route("DELETE", r"/sandbox/faults/(\d+)")
def delete_fault(state, req, fault_id):
    if not state.faults.remove(int(fault_id)):
        raise not_found(f"no fault {fault_id}")
    return ok({"deleted": int(fault_id)})


@_route("POST", "/sandbox/sessions/expire")
def expire_sessions(state, req):
    return ok({"expiredSessions": state.sessions.expire_all()})


# ---------------------------------------------------------------- per bot: trade protection, tokens, call counters
_BOT = r"/sandbox/bots/(\w+)"


@_route("GET", _BOT + "/trade-protection")
def get_trade_protection(state, req, bot):
    steam_id = state.resolve_bot(bot)
    return ok({"steamId": str(steam_id), "acknowledged": state.offers.acknowledged.get(steam_id, False)})


@_route("POST", _BOT + "/trade-protection")
def set_trade_protection(state, req, bot):
    steam_id = state.resolve_bot(bot)
    body = _body(req)
    if "acknowledged" not in body:
        raise bad_request("acknowledged (true or false) is required", field="acknowledged")
    state.offers.set_acknowledged(steam_id, parse_bool(body["acknowledged"], "acknowledged"))
    return get_trade_protection(state, req, bot)


@_route("GET", _BOT + "/tokens")
def minted_tokens(state, req, bot):
    steam_id = state.resolve_bot(bot)
    sessions = [
        {"jti": jti, "platform": s.get("platform", "web"), "revoked": s["revoked"], "replaced": s.get("replaced", False),
         "refreshExpires": s.get("refresh_expires"), "created": s["created"]}
        for jti, s in state.sessions.by_bot.get(steam_id, {}).items()
    ]
    return ok({"steamId": str(steam_id), "minted": state.sessions.minted_of(steam_id), "sessions": sessions})


@_route("POST", _BOT + "/tokens/expire")
def expire_tokens(state, req, bot):
    return ok({"expiredRefreshTokens": state.sessions.expire_refresh_tokens(state.resolve_bot(bot))})


@_route("POST", _BOT + "/tokens/revoke")
def revoke_tokens(state, req, bot):
    return ok({"revokedSessions": state.sessions.revoke_all(state.resolve_bot(bot))})


@_route("GET", _BOT + "/counters")
def bot_counters(state, req, bot):
    return ok(state.counters.view(state.resolve_bot(bot)))


@_route("GET", "/sandbox/counters")
def all_counters(state, req):
    return ok({"bots": [state.counters.view(b) for b in state.bots]})


@_route("POST", "/sandbox/counters/reset")
def reset_counters(state, req):
    state.counters.reset()
    return all_counters(state, req)


# ---------------------------------------------------------------- prices, request log
@_route("GET", "/sandbox/prices")
def get_price(state, req):
    appid = parse_int(req.arg("appid", "730"), "appid")
    name = req.arg("marketHashName") or ""
    return ok({"appid": appid, "marketHashName": name, **(state.market.price_of(appid, name, raw=True) or {})})


@_route("POST", "/sandbox/prices")
def set_price(state, req):
    return ok(state.market.set_price(_body(req)))


@_route("GET", "/sandbox/requests")
def request_log(state, req):
    since = parse_int(req.arg("since", "0"), "since")
    host, prefix, method = req.arg("host"), req.arg("pathPrefix"), (req.arg("method") or "").upper()
    entries = [
        e for e in state.request_log
        if e["seq"] > since
        and (not host or e["host"] == host)
        and (not prefix or e["path"].startswith(prefix))
        and (not method or e["method"] == method)
    ]
    return ok({"requests": entries, "lastSeq": state.request_seq})
