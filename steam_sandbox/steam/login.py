"""Logging in and out, as steampy 1.2.0 does it: IAuthenticationService on
api.steampowered.com (RSA key, credentials, Steam Guard code, poll),
login.steampowered.com/jwt/finalizelogin, `/login/settoken` on each of the five
hosts of its transfer_info, and steamcommunity.com's logout."""

from __future__ import annotations

import secrets
import time

from .. import pages
from ..crypto import same
from ..enums import EResult
from ..web import Response, html_response, json_response
from .context import COMMUNITY, SETTOKEN_HOSTS, Ctx, steam_json

# The exact 55-byte body Steam answers to a wrong password (steampy issues #409, #439).
LOGIN_FAILED = '{"response":{"interval":5,"extended_error_message":""}}'
_WEAK_TOKEN_SECONDS = 600


def get_rsa_key(ctx: Ctx) -> Response:
    if not ctx.req.arg("account_name"):
        return steam_json({"response": {}}, eresult=EResult.InvalidParam)
    key = ctx.state.login_key
    key.wait()
    return steam_json({
        "response": {
            "publickey_mod": format(key.public.n, "x"),
            "publickey_exp": format(key.public.e, "06x"),
            "timestamp": key.timestamp,
        }
    })


def begin_auth(ctx: Ctx) -> Response:
    req = ctx.req
    login = ctx.state.sessions.begin(
        req.arg("account_name") or "", req.arg("encrypted_password") or "", req.arg("encryption_timestamp") or ""
    )
    if login is None:
        return steam_json(LOGIN_FAILED, eresult=EResult.InvalidPassword)
    weak = ctx.state.signer.issue({"iss": "steam", "sub": str(login["steamid"]), "aud": ["web"], "weak": True,
                                   "exp": int(time.time()) + _WEAK_TOKEN_SECONDS, "jti": secrets.token_hex(8).upper()})
    return steam_json({
        "response": {
            "client_id": login["client_id"],
            "request_id": login["request_id"],
            "interval": 5,
            "allowed_confirmations": [{"confirmation_type": 3}],
            "steamid": str(login["steamid"]),
            "weak_token": weak,
            "extended_error_message": "",
        }
    })


def update_auth(ctx: Ctx) -> Response:
    req = ctx.req
    if req.arg("code_type") != "3":  # 3: a Steam Guard code of the mobile app
        return steam_json({"response": {}}, eresult=EResult.InvalidParam)
    result = ctx.state.sessions.confirm_code(req.arg("client_id") or "", req.arg("steamid") or "", req.arg("code") or "")
    return steam_json({"response": {}}, eresult=result)


def poll_auth(ctx: Ctx) -> Response:
    result = ctx.state.sessions.poll(ctx.req.arg("client_id") or "", ctx.req.arg("request_id") or "")
    if result is None:
        return steam_json({"response": {}}, eresult=EResult.FileNotFound)
    if not result:
        return steam_json({"response": {"had_remote_interaction": False}})
    return steam_json({
        "response": {
            "refresh_token": result["refresh_token"],
            "access_token": result["access_token"],
            "had_remote_interaction": False,
            "account_name": result["account_name"],
        }
    })


API_METHODS = {
    ("IAuthenticationService", "GetPasswordRSAPublicKey"): get_rsa_key,
    ("IAuthenticationService", "BeginAuthSessionViaCredentials"): begin_auth,
    ("IAuthenticationService", "UpdateAuthSessionWithSteamGuardCode"): update_auth,
    ("IAuthenticationService", "PollAuthSessionStatus"): poll_auth,
}


def finalize_login(ctx: Ctx) -> Response:
    # Deliberately no Origin/Referer check: steampy 1.2.0 sends neither (see
    # docs/sandbox.md); the live-Steam workaround lives in the gateway.
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
