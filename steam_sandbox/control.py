"""The control API under /sandbox/ (any Host): JSON in, JSON out. Tests and
`make demo` drive the sandbox's world through it. See docs/sandbox.md."""

from __future__ import annotations

import re

from . import seed
from .errors import ControlError, bad_request, not_found
from .state import STATE_NAMES, SandboxState, _parse_int
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
    state.reset()
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


@_route("GET", "/sandbox/clock")
def get_clock(state, req):
    return ok({"now": state.now(), "offsetSeconds": state.clock_offset})


@_route("POST", "/sandbox/clock")
def set_clock(state, req):
    body = _body(req)
    if "advanceSeconds" not in body:
        raise bad_request("advanceSeconds is required (the sandbox clock only moves forward)")
    state.advance_clock(_parse_int(body["advanceSeconds"], "advanceSeconds", minimum=0, maximum=10 * 365 * 86400))
    state.tick()
    return ok({"now": state.now(), "offsetSeconds": state.clock_offset})


# ---------------------------------------------------------------- inventories
def _inv_args(state, account, appid, contextid):
    return state.resolve_owner(account), int(appid), int(contextid)


@_route("GET", _INV)
def get_inventory(state, req, account, appid, contextid):
    owner, appid, contextid = _inv_args(state, account, appid, contextid)
    inv = state.inventory(owner, appid, contextid)
    limit = _parse_int(req.arg("limit", "100"), "limit", minimum=0, maximum=1_000_000)
    if inv is None:
        return ok({"account": str(owner), "appid": appid, "contextid": str(contextid), "count": 0, "assets": []})
    return ok({**state.inventory_summary(inv), "assets": [state.asset_view(inv, a) for a in inv.newest_first(limit)]})


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
    return ok({"assets": state.add_items(owner, appid, contextid, _body(req))})


@_route("POST", _INV + "/remove")
def remove_assets(state, req, account, appid, contextid):
    owner, appid, contextid = _inv_args(state, account, appid, contextid)
    return ok(state.remove_assets(owner, appid, contextid, _body(req).get("assetIds")))


@_route("PATCH", _INV + r"/assets/(\d+)")
def update_asset(state, req, account, appid, contextid, assetid):
    owner, appid, contextid = _inv_args(state, account, appid, contextid)
    return ok(state.update_asset(owner, appid, contextid, int(assetid), _body(req)))


# ---------------------------------------------------------------- users
@_route("GET", "/sandbox/users")
def list_users(state, req):
    return ok({"users": [state.user_view(u) for u in state.users.values()]})


@_route("POST", "/sandbox/users")
def create_user(state, req):
    return ok(state.create_user(_body(req)), 201)


@_route("GET", r"/sandbox/users/(\d+)")
def get_user(state, req, steam_id):
    return ok(state.user_view(state._user(int(steam_id))))


@_route("PATCH", r"/sandbox/users/(\d+)")
def update_user(state, req, steam_id):
    return ok(state.update_user(int(steam_id), _body(req)))


@_route("POST", r"/sandbox/users/(\d+)/deposit")
def deposit(state, req, steam_id):
    return ok(state.deposit(int(steam_id), _body(req)))


# ---------------------------------------------------------------- offers, trades, confirmations
@_route("GET", "/sandbox/offers")
def list_offers(state, req):
    offers = sorted(state.offers.values(), key=lambda o: o["id"])
    if req.arg("state"):
        wanted = {_parse_int(s, "state") for s in req.arg("state").split(",")}
        offers = [o for o in offers if o["state"] in wanted]
    if req.arg("partner"):
        partner = _parse_int(req.arg("partner"), "partner")
        offers = [o for o in offers if o["partner"] == partner]
    return ok({"offers": [state.offer_view(o) for o in offers], "states": STATE_NAMES})


@_route("GET", r"/sandbox/offers/(\d+)")
def get_offer(state, req, offer_id):
    offer = state.offer(int(offer_id))
    if offer is None:
        raise not_found(f"no offer {offer_id}")
    return ok(state.offer_view(offer))


@_route("POST", r"/sandbox/offers/(\d+)/(\w+)")
def act_on_offer(state, req, offer_id, action):
    return ok(state.act_on_offer(int(offer_id), action, _body(req)))


@_route("GET", "/sandbox/trades")
def list_trades(state, req):
    return ok({"trades": [state.trade_view(t) for t in sorted(state.trades.values(), key=lambda t: t["id"])]})


@_route("GET", r"/sandbox/trades/(\d+)")
def get_trade(state, req, trade_id):
    trade = state.trades.get(int(trade_id))
    if trade is None:
        raise not_found(f"no trade {trade_id}")
    return ok(state.trade_view(trade))


@_route("GET", "/sandbox/confirmations")
def list_confirmations(state, req):
    return ok({"confirmations": [
        {"id": str(c["id"]), "offerId": str(c["offer_id"]), "kind": c["kind"], "created": c["created"]}
        for c in state.confirmations.values()
    ]})


# ---------------------------------------------------------------- faults, sessions
@_route("GET", "/sandbox/faults")
def list_faults(state, req):
    return ok({"faults": [dict(f) for f in state.faults]})


@_route("POST", "/sandbox/faults")
def add_fault(state, req):
    return ok(state.add_fault(_body(req)), 201)


@_route("DELETE", "/sandbox/faults")
def clear_faults(state, req):
    count = len(state.faults)
    state.faults.clear()
    return ok({"cleared": count})


@_route("POST", "/sandbox/faults/clear")
def clear_faults_post(state, req):
    return clear_faults(state, req)


@_route("DELETE", r"/sandbox/faults/(\d+)")
def delete_fault(state, req, fault_id):
    if not state.remove_fault(int(fault_id)):
        raise not_found(f"no fault {fault_id}")
    return ok({"deleted": int(fault_id)})


@_route("POST", "/sandbox/sessions/expire")
def expire_sessions(state, req):
    return ok({"expiredSessions": state.expire_sessions()})


# ---------------------------------------------------------------- prices, request log
@_route("GET", "/sandbox/prices")
def get_price(state, req):
    appid = _parse_int(req.arg("appid", "730"), "appid")
    name = req.arg("marketHashName") or ""
    return ok({"appid": appid, "marketHashName": name, **(state.price_of(appid, name, raw=True) or {})})


@_route("POST", "/sandbox/prices")
def set_price(state, req):
    return ok(state.set_price(_body(req)))


@_route("GET", "/sandbox/requests")
def request_log(state, req):
    since = _parse_int(req.arg("since", "0"), "since")
    host, prefix, method = req.arg("host"), req.arg("pathPrefix"), (req.arg("method") or "").upper()
    entries = [
        e for e in state.request_log
        if e["seq"] > since
        and (not host or e["host"] == host)
        and (not prefix or e["path"].startswith(prefix))
        and (not method or e["method"] == method)
    ]
    return ok({"requests": entries, "lastSeq": state.request_seq})
