"""Logging in and out: IAuthenticationService on api.steampowered.com (RSA key,
credentials, Steam Guard code, poll, GenerateAccessTokenForApp), as steampy 1.2.0
sends it (a flat form) and as the mobile app does (protobuf in
`input_protobuf_encoded`, answered in protobuf); login.steampowered.com/jwt/finalizelogin,
`/login/settoken` on each of the five hosts of its transfer_info, and
steamcommunity.com's logout."""

from __future__ import annotations

import secrets

from .. import pages, protos
from ..crypto import same
from ..enums import EAuthTokenPlatformType, EResult
from ..state.sessions import MOBILE, WEB
from ..web import Response, html_response, json_response
from .context import COMMUNITY, SETTOKEN_HOSTS, Ctx, steam_json, to_int

# The exact 55-byte body Steam answers to a wrong password (steampy issues #409, #439).
LOGIN_FAILED = '{"response":{"interval":5,"extended_error_message":""}}'
_AUTH = "CAuthentication_"


class _Call:
    """One IAuthenticationService call: its fields from the flat form or the
    protobuf, and the answer in the same form."""

    def __init__(self, ctx: Ctx, message: str):
        self.message = message
        encoded = ctx.req.arg("input_protobuf_encoded")
        self.protobuf = encoded is not None
        self.fields = protos.decode(f"{message}_Request", encoded) if self.protobuf else ctx.req.params()

    def get(self, name: str, default=None):
        value = self.fields.get(name, default)
        return default if value is None else value

    def answer(self, value: dict | str, *, eresult: int = EResult.OK) -> Response:
        if not self.protobuf:
            return steam_json(value if isinstance(value, str) else {"response": value}, eresult=eresult)
        if isinstance(value, str):  # LOGIN_FAILED
            value = {"interval": 5, "extended_error_message": ""}
        resp = Response(protos.encode(f"{self.message}_Response", value), 200, "application/octet-stream")
        resp.header("X-eresult", str(int(eresult)))
        return resp


def _call(ctx: Ctx, message: str) -> _Call | Response:
    try:
        return _Call(ctx, message)
    except protos.ProtobufError:
        return steam_json({"response": {}}, eresult=EResult.InvalidParam, status=400)


def get_rsa_key(ctx: Ctx) -> Response:
    call = _call(ctx, f"{_AUTH}GetPasswordRSAPublicKey")
    if isinstance(call, Response):
        return call
    if not call.get("account_name"):
        return call.answer({}, eresult=EResult.InvalidParam)
    key = ctx.state.login_key
    key.wait()
    return call.answer({
        "publickey_mod": format(key.public.n, "x"),
        "publickey_exp": format(key.public.e, "06x"),
        "timestamp": key.timestamp,
    })


def begin_auth(ctx: Ctx) -> Response:
    if ctx.req.arg("input_protobuf_encoded") is None and any(k.startswith("device_details") for k in ctx.req.params()):
        # Since 2025-10-29 Steam takes device details in protobuf only.
        return html_response(pages.page("Bad Request", "<h1>Bad Request</h1>"), 400)
    call = _call(ctx, f"{_AUTH}BeginAuthSessionViaCredentials")
    if isinstance(call, Response):
        return call
    details = call.get("device_details", {})
    mobile = to_int(details.get("platform_type") if isinstance(details, dict) else None) == EAuthTokenPlatformType.MobileApp
    login = ctx.state.sessions.begin(
        str(call.get("account_name", "")), str(call.get("encrypted_password", "")), str(call.get("encryption_timestamp", "")),
        platform=MOBILE if mobile else WEB,
    )
    if login is None:
        return call.answer(LOGIN_FAILED, eresult=EResult.InvalidPassword)
    return call.answer({
        "client_id": login["client_id"],
        "request_id": login["request_id"],
        "interval": ctx.state.config["authPollIntervalSeconds"],
        "allowed_confirmations": [{"confirmation_type": 3}],  # 3: a code of the mobile authenticator
        "steamid": str(login["steamid"]),
        "weak_token": ctx.state.sessions.weak_token(login),
        "extended_error_message": "",
    })


def update_auth(ctx: Ctx) -> Response:
    call = _call(ctx, f"{_AUTH}UpdateAuthSessionWithSteamGuardCode")
    if isinstance(call, Response):
        return call
    if to_int(call.get("code_type")) != 3:  # 3: a Steam Guard code of the mobile app
        return call.answer({}, eresult=EResult.InvalidParam)
    result = ctx.state.sessions.confirm_code(str(call.get("client_id", "")), str(call.get("steamid", "")),
                                             str(call.get("code", "")))
    return call.answer({}, eresult=result)


def poll_auth(ctx: Ctx) -> Response:
    call = _call(ctx, f"{_AUTH}PollAuthSessionStatus")
    if isinstance(call, Response):
        return call
    result = ctx.state.sessions.poll(str(call.get("client_id", "")), str(call.get("request_id", "")))
    if result is None:
        return call.answer({}, eresult=EResult.FileNotFound)
    if not result:
        return call.answer({"had_remote_interaction": False})
    answer = {"refresh_token": result["refresh_token"], "access_token": result["access_token"],
              "had_remote_interaction": False, "account_name": result["account_name"]}
    if ctx.state.config["pollOmitsAccessToken"]:
        del answer["access_token"]
    return call.answer(answer)


def generate_access_token(ctx: Ctx) -> Response:
    """GenerateAccessTokenForApp: a new access token (and maybe refresh token) from a
    refresh token, without the password."""
    call = _call(ctx, f"{_AUTH}AccessToken_GenerateForApp")
    if isinstance(call, Response):
        return call
    eresult, answer = ctx.state.sessions.generate_access_token(
        str(call.get("refresh_token", "")), str(call.get("steamid", "")), to_int(call.get("renewal_type"), 0) or 0,
    )
    return call.answer(answer, eresult=eresult)


API_METHODS = {
    ("IAuthenticationService", "GetPasswordRSAPublicKey"): get_rsa_key,
    ("IAuthenticationService", "BeginAuthSessionViaCredentials"): begin_auth,
    ("IAuthenticationService", "UpdateAuthSessionWithSteamGuardCode"): update_auth,
    ("IAuthenticationService", "PollAuthSessionStatus"): poll_auth,
    ("IAuthenticationService", "GenerateAccessTokenForApp"): generate_access_token,
}


def finalize_login(ctx: Ctx) -> Response:
    if ctx.state.config["finalizeLoginNeedsOrigin"] and not (ctx.req.header("Origin") and ctx.req.header("Referer")):
        # Steam since 2025-02: 403 and not a byte more (steampy 1.2.0 sends neither).
        return Response(b"", 403, "text/html; charset=UTF-8")
    found = ctx.state.sessions.refresh(ctx.req.arg("nonce") or "")
    if found is None or not ctx.req.arg("sessionid"):
        return json_response({"error": EResult.InvalidParam})
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
    """One host's steamLoginSecure: an access token of the session finalizelogin named
    in the nonce, signed for this host only."""
    req = ctx.req
    nonce, auth, steamid = req.arg("nonce") or "", req.arg("auth") or "", req.arg("steamID") or ""
    jti = nonce.split(".")[0]
    valid = (
        ctx.state.sessions.live(steamid, jti) is not None
        and same(auth, ctx.state.signer.mac("settoken", nonce, req.host, steamid))
    )
    if not valid:
        return json_response({"result": EResult.InvalidParam})
    token = ctx.state.sessions.issue_access_token(jti, steamid, SETTOKEN_HOSTS[req.host])
    resp = json_response({"result": EResult.OK})
    resp.cookie("steamLoginSecure", f"{steamid}%7C%7C{token}", secure=ctx.app.secure_cookies, http_only=True)
    return resp


def logout(ctx: Ctx) -> Response:
    resp = html_response("")
    sid = ctx.sessionid(resp)
    viewer = ctx.viewer()
    if viewer is not None and ctx.csrf_ok():
        ctx.state.sessions.revoke(ctx.login_cookie()[1])
        resp.cookie("steamLoginSecure", "deleted", secure=ctx.app.secure_cookies, http_only=True,
                    expires="Thu, 01 Jan 1970 00:00:01 GMT")
        viewer = None
    resp.body = pages.community_home(
        sessionid=sid, steamid=viewer, persona=ctx.state.persona_of(viewer) if viewer else "",
        username=ctx.state.bots[viewer].username if viewer else "",
    ).encode()
    return resp
