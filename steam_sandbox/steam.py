"""Steam's endpoints, routed on Host + path, answering in Steam's own shapes
(/work/shared/STEAM-ENDPOINTS.md). Called with the state lock held."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time

from . import pages
from .account import STEAMID64_BASE
from .crypto import confirmation_key, device_id, same
from .errors import Refused
from .state import LIVE_STATES, SandboxState
from .web import Request, Response, html_response, json_body, json_response, unquote_cookie

COMMUNITY = "steamcommunity.com"
API = "api.steampowered.com"
LOGIN = "login.steampowered.com"
STORE = "store.steampowered.com"
# settoken hosts of finalizelogin's transfer_info, with the audience of their token.
SETTOKEN_HOSTS = {
    COMMUNITY: "web:community",
    STORE: "web:store",
    "help.steampowered.com": "web:help",
    "steam.tv": "web:tv",
    "checkout.steampowered.com": "web:checkout",
}
STEAM_HOSTS = frozenset({COMMUNITY, API, LOGIN, *SETTOKEN_HOSTS})

INVALID_KEY_HTML = (
    "<html><head><title>Forbidden</title></head><body><h1>Forbidden</h1>Access is denied. "
    "Retrying will not help. Please verify your <pre>key=</pre> parameter.</body></html>"
)
UNAUTHORIZED_HTML = (
    "<html><head><title>Unauthorized</title></head><body><h1>Unauthorized</h1>"
    "Access to this resource is restricted.</body></html>"
)
INVALID_AUTHENTICATOR = {
    "success": False,
    "message": "Invalid authenticator",
    "detail": (
        "It looks like your Steam Guard Mobile Authenticator is providing incorrect Steam Guard codes. "
        "This could be caused by an inaccurate clock or bad timezone settings on your device. If your time "
        "settings are correct, it could be that a different device has been set up to provide the Steam Guard "
        "codes for your account, which means the authenticator on this device is no longer valid."
    ),
}
# Confirmation tags steampy, the official app and other clients send, per endpoint.
_LIST_TAGS = {"conf", "list"}
_OP_TAGS = {"allow": {"allow", "accept"}, "accept": {"allow", "accept"}, "cancel": {"cancel", "reject"}, "reject": {"cancel", "reject"}}


class Ctx:
    """What a route needs: the state, the request, and cookie policy."""

    def __init__(self, app, req: Request):
        self.app = app
        self.state: SandboxState = app.state
        self.req = req

    # ---------------------------------------------------------------- sessions
    def viewer(self) -> int | None:
        """The steamid logged in by this request's steamLoginSecure cookie, if live."""
        raw = unquote_cookie(self.req.cookies.get("steamLoginSecure", ""))
        steamid, _, token = raw.partition("||")
        if not token:
            return None
        owner = self.state.access_session(token)
        return owner if owner is not None and str(owner) == steamid else None

    def sessionid(self, resp: Response) -> str:
        """The community CSRF cookie; set (with steamCountry) when the browser has none."""
        sid = self.req.cookies.get("sessionid")
        if sid and re.fullmatch(r"[0-9a-f]{24}", sid):
            return sid
        sid = secrets.token_hex(12)
        resp.cookie("sessionid", sid, secure=self.app.secure_cookies)
        if "steamCountry" not in self.req.cookies:
            resp.cookie("steamCountry", "US%7C" + secrets.token_hex(16), secure=self.app.secure_cookies, http_only=True)
        return sid

    def csrf_ok(self) -> bool:
        sent = self.req.arg("sessionid")
        return bool(sent) and sent == self.req.cookies.get("sessionid")


def steam_json(value, *, eresult: int = 1, status: int = 200) -> Response:
    resp = json_response(value, status)
    resp.header("X-eresult", str(eresult))
    return resp


def null(status: int) -> Response:
    return json_response("null", status)


def not_found_page() -> Response:
    return html_response(pages._page("Not Found", "<h1>Not Found</h1>"), 404)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true")


def _int(value, default: int | None = None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


# ====================================================================== router
def route(app, req: Request) -> Response:
    ctx = Ctx(app, req)
    host, path, method = req.host, req.path, req.method
    if host == COMMUNITY:
        return _community(ctx, path, method)
    if host == API:
        return _api(ctx, path, method)
    if host == LOGIN:
        if path == "/jwt/finalizelogin" and method == "POST":
            return finalize_login(ctx)
        return not_found_page()
    if host in SETTOKEN_HOSTS:
        if path == "/login/settoken" and method == "POST":
            return settoken(ctx)
        if path == "/":
            return html_response(pages.plain_home(host))
        return not_found_page()
    return html_response(pages._page("Unknown host", f"<h1>The sandbox does not serve {host}</h1>"), 404)


_INVENTORY = re.compile(r"^/inventory/(\d+)/(\d+)/(\d+)$")
_OFFER_PAGE = re.compile(r"^/tradeoffer/(\d+)$")
_OFFER_ACTION = re.compile(r"^/tradeoffer/(\d+)/(accept|cancel|decline)$")
_CONF_DETAILS = re.compile(r"^/mobileconf/details/(\d+)$")


def _community(ctx: Ctx, path: str, method: str) -> Response:
    if path == "/":
        return community_home(ctx)
    if path == "/login/settoken" and method == "POST":
        return settoken(ctx)
    if path == "/login/logout" and method == "POST":
        return logout(ctx)
    if m := _INVENTORY.match(path):
        return inventory(ctx, int(m[1]), int(m[2]), int(m[3]))
    if path == "/tradeoffer/new/send" and method == "POST":
        return send_offer(ctx)
    if path == "/tradeoffer/new" and method == "GET":
        return new_offer_page(ctx)
    if (m := _OFFER_ACTION.match(path)) and method == "POST":
        return offer_action(ctx, int(m[1]), m[2])
    if (m := _OFFER_PAGE.match(path)) and method == "GET":
        return offer_page(ctx, int(m[1]))
    if path == "/trade/new/acknowledge" and method == "POST":
        return acknowledge(ctx)
    if path == "/mobileconf/getlist":
        return conf_list(ctx)
    if m := _CONF_DETAILS.match(path):
        return conf_details(ctx, int(m[1]))
    if path == "/mobileconf/ajaxop":
        return conf_op(ctx)
    if path == "/mobileconf/multiajaxop" and method == "POST":
        return conf_multi_op(ctx)
    if path == "/market/priceoverview":
        return price_overview(ctx)
    if path == "/market":
        return market_page(ctx)
    return not_found_page()


def _api(ctx: Ctx, path: str, method: str) -> Response:
    parts = path.strip("/").split("/")
    if len(parts) != 3:
        return not_found_page()
    interface, name, version = parts
    handler = _API_METHODS.get((interface, name))
    if handler is None:
        return not_found_page()
    return handler(ctx)


# ====================================================================== login
def community_home(ctx: Ctx) -> Response:
    resp = html_response("")
    sid = ctx.sessionid(resp)
    viewer = ctx.viewer()
    if viewer is not None:
        body = pages.community_home(
            sessionid=sid, steamid=viewer, persona=ctx.state.persona_of(viewer), username=ctx.state.bot.username
        )
    else:
        body = pages.community_home(sessionid=sid, steamid=None)
    resp.body = body.encode()
    return resp


def get_rsa_key(ctx: Ctx) -> Response:
    if not ctx.req.arg("account_name"):
        return steam_json({"response": {}}, eresult=8)
    key = ctx.state.login_key
    key.wait()
    return steam_json({
        "response": {
            "publickey_mod": format(key.public.n, "x"),
            "publickey_exp": format(key.public.e, "06x"),
            "timestamp": key.timestamp,
        }
    })


# The exact 55-byte body Steam answers to a wrong password (steampy issues #409, #439).
_LOGIN_FAILED = '{"response":{"interval":5,"extended_error_message":""}}'


def begin_auth(ctx: Ctx) -> Response:
    req = ctx.req
    session = ctx.state.begin_auth(
        req.arg("account_name") or "", req.arg("encrypted_password") or "", req.arg("encryption_timestamp") or ""
    )
    if session is None:
        return steam_json(_LOGIN_FAILED, eresult=5)
    weak = ctx.state.signer.issue({"iss": "steam", "sub": str(session["steamid"]), "aud": ["web"], "weak": True,
                                   "exp": int(time.time()) + 600, "jti": secrets.token_hex(8).upper()})
    return steam_json({
        "response": {
            "client_id": session["client_id"],
            "request_id": session["request_id"],
            "interval": 5,
            "allowed_confirmations": [{"confirmation_type": 3}],
            "steamid": str(session["steamid"]),
            "weak_token": weak,
            "extended_error_message": "",
        }
    })


def update_auth(ctx: Ctx) -> Response:
    req = ctx.req
    if req.arg("code_type") != "3":
        return steam_json({"response": {}}, eresult=8)
    result = ctx.state.update_auth_with_code(req.arg("client_id") or "", req.arg("steamid") or "", req.arg("code") or "")
    return steam_json({"response": {}}, eresult=result)


def poll_auth(ctx: Ctx) -> Response:
    result = ctx.state.poll_auth(ctx.req.arg("client_id") or "", ctx.req.arg("request_id") or "")
    if result is None:
        return steam_json({"response": {}}, eresult=9)
    if not result:
        return steam_json({"response": {"had_remote_interaction": False}})
    return steam_json({
        "response": {
            "refresh_token": result["refresh_token"],
            "access_token": result["access_token"],
            "had_remote_interaction": False,
            "account_name": ctx.state.bot.username,
        }
    })


def finalize_login(ctx: Ctx) -> Response:
    # Deliberately no Origin/Referer check: steampy 1.2.0 sends neither (see
    # STEAM-ENDPOINTS.md 1.6); the live-Steam workaround lives in the gateway.
    found = ctx.state.refresh_session(ctx.req.arg("nonce") or "")
    if found is None or not ctx.req.arg("sessionid"):
        return json_response({"error": 8})
    jti, steamid = found
    transfer = []
    for host in SETTOKEN_HOSTS:
        nonce = f"{jti}.{secrets.token_hex(12)}"
        transfer.append({
            "url": f"https://{host}/login/settoken",
            "params": {"nonce": nonce, "auth": ctx.state.signer.mac("settoken", nonce, host, steamid)},
        })
    resp = json_response({
        "steamID": steamid,
        "redir": ctx.req.arg("redir") or "https://steamcommunity.com/login/home/?goto=",
        "transfer_info": transfer,
        "primary_domain": COMMUNITY,
    })
    resp.cookie("steamRefresh_steam", f"{steamid}%7C%7C{ctx.req.arg('nonce')}", secure=ctx.app.secure_cookies, http_only=True)
    return resp


def settoken(ctx: Ctx) -> Response:
    req = ctx.req
    nonce, auth, steamid = req.arg("nonce") or "", req.arg("auth") or "", req.arg("steamID") or ""
    jti = nonce.split(".")[0]
    session = ctx.state.sessions.get(jti)
    valid = (
        session is not None
        and not session["revoked"]
        and str(session["steamid"]) == steamid
        and same(auth, ctx.state.signer.mac("settoken", nonce, req.host, steamid))
    )
    if not valid:
        return json_response({"result": 8})
    token = ctx.state.issue_access_token(jti, steamid, SETTOKEN_HOSTS[req.host])
    resp = json_response({"result": 1})
    resp.cookie("steamLoginSecure", f"{steamid}%7C%7C{token}", secure=ctx.app.secure_cookies, http_only=True)
    return resp


def logout(ctx: Ctx) -> Response:
    resp = html_response("")
    sid = ctx.sessionid(resp)
    viewer = ctx.viewer()
    if viewer is not None and ctx.csrf_ok():
        raw = unquote_cookie(ctx.req.cookies.get("steamLoginSecure", ""))
        ctx.state.revoke_session_of(raw.partition("||")[2])
        resp.cookie("steamLoginSecure", "deleted", secure=ctx.app.secure_cookies, http_only=True,
                    expires="Thu, 01 Jan 1970 00:00:01 GMT")
        viewer = None
    resp.body = pages.community_home(
        sessionid=sid, steamid=viewer, persona=ctx.state.persona_of(viewer) if viewer else "",
        username=ctx.state.bot.username if viewer else "",
    ).encode()
    return resp


# ====================================================================== inventory
def inventory(ctx: Ctx, owner: int, appid: int, contextid: int) -> Response:
    state, req = ctx.state, ctx.req
    viewer = ctx.viewer()
    if owner == state.bot.steam_id:
        # The bot's inventory is private: only its own live session sees it, so a
        # dead session answers 403 null like Steam does.
        if viewer != owner:
            return null(403)
    else:
        user = state.users.get(owner)
        if user is None or (user["private_inventory"] and viewer != owner):
            return null(403)
    raw_count = req.arg("count")
    count = state.config["inventoryDefaultCount"] if raw_count is None else _int(raw_count)
    limit = state.config["inventoryCountLimit"]
    fault = state.take_fault("page_size_limit", req.host, req.path, req.method)
    if fault:
        limit = fault["limit"]
    if count is None or count < 1 or count > limit:
        return null(400)
    start = req.arg("start_assetid")
    start_id = None
    if start not in (None, ""):
        start_id = _int(start)
        if start_id is None:
            return null(400)
    if state.take_fault("empty_inventory", req.host, req.path, req.method):
        return json_response('{"total_inventory_count":0,"success":1,"rwgrsn":-2}')
    inv = state.inventory(owner, appid, contextid)
    if inv is None:
        return json_response('{"total_inventory_count":0,"success":1,"rwgrsn":-2}')
    return json_response(inv.page(start_assetid=start_id, count=count, classes=state.classes))


# ====================================================================== trade offers (community)
def _send_error(eresult: int, reason: str = "") -> str:
    text = "There was an error sending your trade offer.  Please try again later."
    if reason:
        text += "<br><br>" + reason
    return f"{text} ({eresult})"


def send_offer(ctx: Ctx) -> Response:
    state, req = ctx.state, ctx.req
    if ctx.viewer() != state.bot.steam_id or not ctx.csrf_ok():
        return null(401)
    partner = _int(req.arg("partner"))
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
        return json_response({"strError": _send_error(8)}, 500)
    if partner is None:
        return json_response({"strError": _send_error(8)}, 500)
    fault = state.take_fault("send_error", req.host, req.path, req.method)
    if fault and not fault["createOffer"]:
        return json_response({"strError": _send_error(fault["eresult"])}, fault["status"])
    try:
        offer = state.send_offer(
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
        body.update({"needs_mobile_confirmation": True, "needs_email_confirmation": False, "email_domain": "sandbox.invalid"})
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
    account = _int(req.arg("partner"))
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
        partner_persona=user["persona_name"], my_escrow_days=0, their_escrow_days=state._escrow_days(user),
    ).encode()
    return resp


def offer_page(ctx: Ctx, offer_id: int) -> Response:
    state = ctx.state
    resp = html_response("")
    sid = ctx.sessionid(resp)
    viewer = ctx.viewer()
    offer = state.offer(offer_id)
    if viewer is None:
        resp.body = pages.community_home(sessionid=sid, steamid=None).encode()
    elif offer is None or offer["state"] not in LIVE_STATES:
        resp.body = pages.error_page(sessionid=sid, steamid=viewer, message="This trade offer is no longer valid.").encode()
    else:
        user = state.users.get(offer["partner"])
        resp.body = pages.trade_offer_page(
            sessionid=sid, steamid=viewer, my_persona=state.persona_of(viewer), partner=offer["partner"],
            partner_persona=state.persona_of(offer["partner"]), my_escrow_days=0,
            their_escrow_days=state._escrow_days(user) if user else 0,
        ).encode()
    return resp


def offer_action(ctx: Ctx, offer_id: int, action: str) -> Response:
    state = ctx.state
    if ctx.viewer() != state.bot.steam_id or not ctx.csrf_ok():
        return null(401 if action != "accept" else 403)
    try:
        if action == "cancel":
            state.bot_cancel(offer_id)
            return json_response({"tradeofferid": str(offer_id)})
        if action == "decline":
            state.bot_decline(offer_id)
            return json_response({"tradeofferid": str(offer_id)})
        offer, trade = state.bot_accept(offer_id)
    except Refused as refused:
        verb = {"cancel": "canceling", "decline": "declining", "accept": "accepting"}[action]
        return json_response({"strError": f"There was an error {verb} this trade offer.  Please try again later. ({refused.eresult})"}, 500)
    if trade is None:
        return json_response({"tradeid": None, "needs_mobile_confirmation": True, "needs_email_confirmation": False, "email_domain": "sandbox.invalid"})
    return json_response({"tradeid": str(trade["id"])})


def acknowledge(ctx: Ctx) -> Response:
    if ctx.viewer() != ctx.state.bot.steam_id or not ctx.csrf_ok():
        return null(401)
    if not ctx.state.acknowledged:
        ctx.state.acknowledged = True
        ctx.state._touch()
    return json_response({"success": 1})


# ====================================================================== mobile confirmations
def _conf_auth(ctx: Ctx, allowed_tags) -> dict | None:
    """None when the query proves the identity secret and device; else the error body."""
    state, req = ctx.state, ctx.req
    if ctx.viewer() != state.bot.steam_id:
        return {"success": False, "needauth": True}
    tag = req.arg("tag") or ""
    t = _int(req.arg("t"))
    ok = (
        req.arg("a") == str(state.bot.steam_id)
        and req.arg("p") == device_id(state.bot.steam_id)
        and t is not None
        and abs(t - time.time()) <= 600
        and (tag in allowed_tags if not callable(allowed_tags) else allowed_tags(tag))
        and same(req.arg("k") or "", confirmation_key(state.bot.identity_secret, t, tag))
    )
    return None if ok else dict(INVALID_AUTHENTICATOR)


def _summary_lines(state: SandboxState, offer: dict) -> list[str]:
    def names(items):
        return ", ".join(
            state.classes[(i["appid"], i["classid"], i["instanceid"])].market_hash_name for i in items
        )

    give, receive = offer["give"], offer["receive"]
    return [
        f"You will give up your {names(give)}" if give else "You will give up nothing",
        f"You will receive {names(receive)}" if receive else "You will receive nothing",
    ]


def conf_list(ctx: Ctx) -> Response:
    error = _conf_auth(ctx, _LIST_TAGS)
    if error:
        return json_response(error)
    state = ctx.state
    confs = []
    for conf in sorted(state.confirmations.values(), key=lambda c: c["id"]):
        offer = state.offers[conf["offer_id"]]
        confs.append({
            "type": 2,
            "type_name": "Trade Offer",
            "id": str(conf["id"]),
            "creator_id": str(offer["id"]),
            "nonce": conf["nonce"],
            "creation_time": conf["created"],
            "cancel": "Cancel",
            "accept": "Accept",
            "icon": "https://avatars.akamai.steamstatic.com/fef49e7fa7e1997310d705b2a6158ff8dc1cdfeb_full.jpg",
            "multi": False,
            "headline": state.persona_of(offer["partner"]),
            "summary": _summary_lines(state, offer),
            "warn": None,
        })
    return json_response({"success": True, "conf": confs})


def conf_details(ctx: Ctx, conf_id: int) -> Response:
    error = _conf_auth(ctx, lambda tag: tag in (f"details{conf_id}", f"detail{conf_id}", "details", "detail"))
    if error:
        return json_response(error)
    state = ctx.state
    conf = state.confirmations.get(conf_id)
    if conf is None:
        return json_response({
            "success": False,
            "message": "There was a problem loading details for that confirmation. Please try refreshing the page or restarting the mobile app and then try again. (15)",
        })
    offer = state.offers[conf["offer_id"]]

    def names(items):
        return [state.classes[(i["appid"], i["classid"], i["instanceid"])].market_hash_name for i in items]

    html = pages.confirmation_details(
        offer_id=offer["id"], partner_persona=state.persona_of(offer["partner"]),
        give=names(offer["give"]), receive=names(offer["receive"]),
    )
    return json_response({"success": True, "html": html})


def conf_op(ctx: Ctx) -> Response:
    op = ctx.req.arg("op") or ""
    if op not in _OP_TAGS:
        return json_response({"success": False})
    error = _conf_auth(ctx, _OP_TAGS[op])
    if error:
        return json_response(error)
    conf_id = _int(ctx.req.arg("cid"))
    ok = conf_id is not None and ctx.state.answer_confirmation(conf_id, ctx.req.arg("ck") or "", op)
    return json_response({"success": bool(ok)})


def conf_multi_op(ctx: Ctx) -> Response:
    op = ctx.req.arg("op") or ""
    if op not in _OP_TAGS:
        return json_response({"success": False})
    error = _conf_auth(ctx, _OP_TAGS[op])
    if error:
        return json_response(error)
    cids, nonces = ctx.req.args("cid[]"), ctx.req.args("ck[]")
    if not cids or len(cids) != len(nonces):
        return json_response({"success": False})
    ok = True
    for cid, nonce in zip(cids, nonces):
        conf_id = _int(cid)
        ok = (conf_id is not None and ctx.state.answer_confirmation(conf_id, nonce, op)) and ok
    return json_response({"success": ok})


# ====================================================================== market
_CURRENCIES = {
    # code: (rate to USD, formatter)
    1: (1.0, lambda c: f"${c // 100}.{c % 100:02d}"),
    2: (0.79, lambda c: f"£{c // 100}.{c % 100:02d}"),
    3: (0.92, lambda c: f"{c // 100},{c % 100:02d}€"),
    5: (92.0, lambda c: f"{c // 100},{c % 100:02d} pуб."),
    6: (3.95, lambda c: f"{c // 100},{c % 100:02d}zł"),
}


def price_overview(ctx: Ctx) -> Response:
    req = ctx.req
    appid = _int(req.arg("appid"))
    name = req.arg("market_hash_name") or ""
    currency = _int(req.arg("currency"), 1)
    price = ctx.state.price_of(appid, name) if appid else None
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
    wallet = json_body({
        "wallet_currency": 1, "wallet_country": "US", "wallet_fee": "1", "wallet_fee_percent": "0.05",
        "wallet_balance": "0", "wallet_delayed_balance": "0", "wallet_max_balance": "200000", "success": True, "rwgrsn": -2,
    })
    resp.body = pages.market_page(sessionid=sid, steamid=ctx.viewer(), wallet_json=wallet).encode()
    return resp


# ====================================================================== Web API
def _api_auth(ctx: Ctx, *, allow_key: bool = True) -> tuple[str | None, Response | None]:
    """("token" | "key", None) for a good access_token / key; (None, error response) else."""
    state, req = ctx.state, ctx.req
    token = req.arg("access_token")
    if token is not None:
        if state.access_session(token) == state.bot.steam_id:
            return "token", None
        return None, html_response(UNAUTHORIZED_HTML, 401)
    key = req.arg("key")
    if allow_key and key is not None and same(key, state.bot.api_key):
        return "key", None
    return None, html_response(INVALID_KEY_HTML, 403)


def _hidden_from_key(offer: dict) -> bool:
    # Since 2024-04 a Web API key no longer sees CS2 offers (steampy #382, TOM #348):
    # only the access token of a web session does.
    return any(i["appid"] == 730 for i in offer["give"] + offer["receive"])


def _offer_item(state: SandboxState, item: dict) -> dict:
    out = {
        "appid": item["appid"], "contextid": item["contextid"], "assetid": item["assetid"],
        "classid": item["classid"], "instanceid": item["instanceid"], "amount": item["amount"],
        "missing": item["missing"],
    }
    desc = state.classes.get((item["appid"], item["classid"], item["instanceid"]))
    price = state.price_of(item["appid"], desc.market_hash_name) if desc else None
    if price and price.get("lowestPrice") is not None:
        out["est_usd"] = str(price["lowestPrice"])
    return out


def offer_json(state: SandboxState, offer: dict) -> dict:
    out = {
        "tradeofferid": str(offer["id"]),
        "accountid_other": offer["partner"] - STEAMID64_BASE,
        "message": offer["message"],
        "expiration_time": offer["expires"],
        "trade_offer_state": offer["state"],
    }
    if offer["give"]:
        out["items_to_give"] = [_offer_item(state, i) for i in offer["give"]]
    if offer["receive"]:
        out["items_to_receive"] = [_offer_item(state, i) for i in offer["receive"]]
    out.update({
        "is_our_offer": offer["is_our_offer"],
        "time_created": offer["created"],
        "time_updated": offer["updated"],
        "from_real_time_trade": False,
        "escrow_end_date": offer["escrow_end"],
        "confirmation_method": offer["confirmation_method"],
    })
    if offer["trade_id"]:
        out["tradeid"] = str(offer["trade_id"])
    return out


def _descriptions(state: SandboxState, items) -> list[dict]:
    seen, out = set(), []
    for item in items:
        key = (item["appid"], item["classid"], item["instanceid"])
        if key not in seen and key in state.classes:
            seen.add(key)
            out.append(state.classes[key].offer_dict())
    return out


def get_trade_offers(ctx: Ctx) -> Response:
    mode, error = _api_auth(ctx)
    if error:
        return error
    state, req = ctx.state, ctx.req
    want_sent, want_received = _flag(req.arg("get_sent_offers")), _flag(req.arg("get_received_offers"))
    active_only, historical_only = _flag(req.arg("active_only")), _flag(req.arg("historical_only"))
    cutoff = _int(req.arg("time_historical_cutoff"))

    def wanted(offer):
        if mode == "key" and _hidden_from_key(offer):
            return False
        active = offer["state"] in LIVE_STATES
        if active_only:
            # Active offers, plus offers whose state changed since the cutoff. An empty
            # cutoff means no such extras here (Steam would use the last page visit).
            return active or (cutoff is not None and offer["updated"] >= cutoff)
        if historical_only:
            return not active and (cutoff is None or offer["updated"] >= cutoff)
        return True

    newest_first = sorted(state.offers.values(), key=lambda o: o["id"], reverse=True)
    sent = [o for o in newest_first if want_sent and o["is_our_offer"] and wanted(o)]
    received = [o for o in newest_first if want_received and not o["is_our_offer"] and wanted(o)]
    cursor = max(0, _int(req.arg("cursor"), 0) or 0)
    size = state.config["tradeOffersPageSize"]
    combined = [("sent", o) for o in sent] + [("received", o) for o in received]
    page = combined[cursor : cursor + size]
    response: dict = {}
    page_sent = [offer_json(state, o) for side, o in page if side == "sent"]
    page_received = [offer_json(state, o) for side, o in page if side == "received"]
    if page_sent:
        response["trade_offers_sent"] = page_sent
    if page_received:
        response["trade_offers_received"] = page_received
    if _flag(req.arg("get_descriptions")):
        descriptions = _descriptions(state, [i for _, o in page for i in o["give"] + o["receive"]])
        if descriptions:
            response["descriptions"] = descriptions
    response["next_cursor"] = cursor + size if cursor + size < len(combined) else 0
    return steam_json({"response": response})


def get_trade_offer(ctx: Ctx) -> Response:
    mode, error = _api_auth(ctx)
    if error:
        return error
    state = ctx.state
    offer = state.offer(_int(ctx.req.arg("tradeofferid"), -1))
    if offer is None or (mode == "key" and _hidden_from_key(offer)):
        return steam_json({"response": {}})
    response = {"offer": offer_json(state, offer)}
    if _flag(ctx.req.arg("get_descriptions")):
        descriptions = _descriptions(state, offer["give"] + offer["receive"])
        if descriptions:
            response["descriptions"] = descriptions
    return steam_json({"response": response})


def get_trade_offers_summary(ctx: Ctx) -> Response:
    _, error = _api_auth(ctx)
    if error:
        return error
    state = ctx.state
    last_visit = _int(ctx.req.arg("time_last_visit"), 0) or 0
    counts = dict.fromkeys((
        "pending_received_count", "new_received_count", "updated_received_count", "historical_received_count",
        "pending_sent_count", "newly_accepted_sent_count", "updated_sent_count", "historical_sent_count",
        "escrow_received_count", "escrow_sent_count",
    ), 0)
    for offer in state.offers.values():
        side = "sent" if offer["is_our_offer"] else "received"
        s = offer["state"]
        if s in (2, 9):
            counts[f"pending_{side}_count"] += 1
            if side == "received" and offer["created"] >= last_visit:
                counts["new_received_count"] += 1
        elif s == 11:
            counts[f"escrow_{side}_count"] += 1
        else:
            counts[f"historical_{side}_count"] += 1
            if offer["updated"] >= last_visit:
                counts[f"updated_{side}_count"] += 1
                if side == "sent" and s == 3:
                    counts["newly_accepted_sent_count"] += 1
    return steam_json({"response": counts})


def trade_json(trade: dict) -> dict:
    out = {
        "tradeid": str(trade["id"]),
        "steamid_other": str(trade["partner"]),
        "time_init": trade["time_init"],
        "status": trade["status"],
    }
    if trade.get("time_escrow_end"):
        out["time_escrow_end"] = trade["time_escrow_end"]
    if trade["given"]:
        out["assets_given"] = [dict(e) for e in trade["given"]]
    if trade["received"]:
        out["assets_received"] = [dict(e) for e in trade["received"]]
    if trade.get("rollback_trade"):
        out["rollback_trade"] = str(trade["rollback_trade"])
    return out


def get_trade_status(ctx: Ctx) -> Response:
    _, error = _api_auth(ctx)
    if error:
        return error
    state = ctx.state
    trade = state.trades.get(_int(ctx.req.arg("tradeid"), -1))
    if trade is None:
        return steam_json({"response": {}}, eresult=42)
    response = {"trades": [trade_json(trade)]}
    if _flag(ctx.req.arg("get_descriptions")):
        response["descriptions"] = _descriptions(state, trade["given"] + trade["received"])
    return steam_json({"response": response})


_FAILED_STATUSES = {4, 5, 6, 7, 8, 9, 11, 12}


def get_trade_history(ctx: Ctx) -> Response:
    _, error = _api_auth(ctx)
    if error:
        return error
    state, req = ctx.state, ctx.req
    max_trades = min(max(_int(req.arg("max_trades"), 100) or 100, 1), 500)
    include_failed = _flag(req.arg("include_failed"))
    trades = sorted(state.trades.values(), key=lambda t: (t["time_init"], t["id"]), reverse=True)
    if not include_failed:
        trades = [t for t in trades if t["status"] not in _FAILED_STATUSES]
    total = len(trades)
    after_time = _int(req.arg("start_after_time"))
    if after_time is not None:
        after_id = _int(req.arg("start_after_tradeid"))
        mark = (after_time, after_id if after_id is not None else (2**64 if _navigating_back(req) else -1))
        if _navigating_back(req):
            trades = [t for t in trades if (t["time_init"], t["id"]) < mark]
        else:
            trades = [t for t in trades if (t["time_init"], t["id"]) > mark]
    page = trades[:max_trades]
    response: dict = {"more": len(trades) > len(page), "trades": [trade_json(t) for t in page]}
    if _flag(req.arg("include_total")):
        response = {"total_trades": total, **response}
    if _flag(req.arg("get_descriptions")):
        response["descriptions"] = _descriptions(state, [e for t in page for e in t["given"] + t["received"]])
    return steam_json({"response": response})


def _navigating_back(req: Request) -> bool:
    value = req.arg("navigating_back")
    return True if value is None else _flag(value)


def get_trade_hold_durations(ctx: Ctx) -> Response:
    _, error = _api_auth(ctx)
    if error:
        return error
    state = ctx.state
    user = state.users.get(_int(ctx.req.arg("steamid_target"), -1))
    if user is None:
        return steam_json({"response": {}}, eresult=8)
    token = ctx.req.arg("trade_offer_access_token")
    if token is not None and token != user["trade_token"]:
        return steam_json({"response": {}}, eresult=15)
    their = state._escrow_days(user) * 86400
    return steam_json({"response": {
        "my_escrow": {"escrow_end_duration_seconds": 0},
        "their_escrow": {"escrow_end_duration_seconds": their},
        "both_escrow": {"escrow_end_duration_seconds": their},
    }})


def _webapi_offer_action(ctx: Ctx, action) -> Response:
    _, error = _api_auth(ctx)
    if error:
        return error
    try:
        action(_int(ctx.req.arg("tradeofferid"), -1))
    except Refused as refused:
        return steam_json({"response": {}}, eresult=refused.eresult)
    return steam_json({"response": {}})


def get_player_summaries(ctx: Ctx) -> Response:
    _, error = _api_auth(ctx)
    if error:
        return error
    state = ctx.state
    ids = [x for x in re.split(r"[,\s]+", ctx.req.arg("steamids") or "") if x]
    if len(ids) > 100:
        return html_response(pages._page("Bad Request", "<h1>Bad Request</h1>Too many steamids (at most 100)."), 400)
    players = []
    for raw in ids:
        steam_id = _int(raw)
        if steam_id == state.bot.steam_id:
            players.append(_player(steam_id, state.bot.persona_name, visible=True, country="US", created=1_400_000_000))
        elif steam_id in state.users:
            user = state.users[steam_id]
            players.append(_player(steam_id, user["persona_name"], visible=not user["private_profile"],
                                   country=user["country"], created=user["created"]))
    return steam_json({"response": {"players": players}})


def _player(steam_id: int, persona: str, *, visible: bool, country: str, created: int) -> dict:
    avatar_hash = hashlib.sha1(f"avatar{steam_id}".encode()).hexdigest()
    base = f"https://avatars.steamstatic.com/{avatar_hash}"
    player = {
        "steamid": str(steam_id),
        "communityvisibilitystate": 3 if visible else 1,
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


_API_METHODS = {
    ("IAuthenticationService", "GetPasswordRSAPublicKey"): get_rsa_key,
    ("IAuthenticationService", "BeginAuthSessionViaCredentials"): begin_auth,
    ("IAuthenticationService", "UpdateAuthSessionWithSteamGuardCode"): update_auth,
    ("IAuthenticationService", "PollAuthSessionStatus"): poll_auth,
    ("IEconService", "GetTradeOffers"): get_trade_offers,
    ("IEconService", "GetTradeOffer"): get_trade_offer,
    ("IEconService", "GetTradeOffersSummary"): get_trade_offers_summary,
    ("IEconService", "GetTradeStatus"): get_trade_status,
    ("IEconService", "GetTradeHistory"): get_trade_history,
    ("IEconService", "GetTradeHoldDurations"): get_trade_hold_durations,
    ("IEconService", "CancelTradeOffer"): lambda ctx: _webapi_offer_action(ctx, ctx.state.bot_cancel),
    ("IEconService", "DeclineTradeOffer"): lambda ctx: _webapi_offer_action(ctx, ctx.state.bot_decline),
    ("ISteamUser", "GetPlayerSummaries"): get_player_summaries,
}
