"""The auth decorators of the Steam routes (steam_sandbox/steam/auth.py): each lets a
request through with `ctx.bot` set only when it proves to be a bot, and otherwise
answers what Steam answers. In process, on a state of the test's own; then over
HTTP, that every Web API method carries the Web API's check."""

from __future__ import annotations

import base64
import io
import json
import time
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
import rsa
from steampy import guard

from steam_sandbox import crypto
from steam_sandbox.server import data_root
from steam_sandbox.state import SandboxState
from steam_sandbox.steam import webapi
from steam_sandbox.steam.auth import bot_session, mobile_confirmation, web_api
from steam_sandbox.steam.context import Ctx
from steam_sandbox.web import Request, json_response

API = "api.steampowered.com"
COMMUNITY = "steamcommunity.com"
BOT_KEY = "<the bot's key>"


@pytest.fixture
def state(tmp_path, steam_sandbox):
    # After the session's sandbox started, the checkout's login key exists: no keygen here.
    return SandboxState(tmp_path, steam_sandbox.bot, key_cache=data_root() / "sandbox-login-key.json")


def log_in(state: SandboxState) -> dict:
    """A bot session made the way a client makes it: credentials, Steam Guard code,
    then polls until Steam has the tokens ready (it takes a poll or more since 2023)."""
    bot, key = state.bot, state.login_key
    key.wait()
    password = base64.b64encode(rsa.encrypt(bot.password.encode(), key.public)).decode()
    login = state.sessions.begin(bot.username, password, key.timestamp)
    state.sessions.confirm_code(login["client_id"], str(bot.steam_id), crypto.totp_code(bot.shared_secret, int(time.time())))
    for _ in range(5):
        tokens = state.sessions.poll(login["client_id"], login["request_id"])
        if tokens:
            return tokens
    raise AssertionError("the login never became ready")


def call(route, state, host, path="/", *, query=None, form=None, cookies=None, args=()):
    body = urlencode(form or {}).encode()
    environ = {
        "REQUEST_METHOD": "POST" if form else "GET", "HTTP_HOST": host, "PATH_INFO": path,
        "QUERY_STRING": urlencode(query or {}), "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-www-form-urlencoded", "wsgi.input": io.BytesIO(body),
        "HTTP_COOKIE": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items()),
    }
    ctx = Ctx(SimpleNamespace(state=state, secure_cookies=True), Request(environ))
    return route(ctx, *args), ctx


def probe():
    """A route that tells what the decorator handed it."""
    seen = []

    def route(ctx, *args):
        seen.append((ctx.bot, ctx.by_api_key, args))
        return json_response({"reached": True})

    return route, seen


# ---------------------------------------------------------------- @web_api
def test_web_api_lets_a_live_access_token_or_a_bots_key_through(state):
    route, seen = probe()
    checked = web_api(route)
    token = log_in(state)["access_token"]

    by_token, _ = call(checked, state, API, query={"access_token": token})
    by_key, _ = call(checked, state, API, query={"key": state.bot.api_key})

    assert (by_token.status, by_key.status) == (200, 200)
    assert seen == [(state.bot, False, ()), (state.bot, True, ())]


@pytest.mark.parametrize("query, status, text", [
    ({}, 403, "Please verify your <pre>key=</pre> parameter."),
    ({"key": "0" * 32}, 403, "Please verify your <pre>key=</pre> parameter."),
    ({"access_token": "not.a.token"}, 401, "Access to this resource is restricted."),
    ({"access_token": "not.a.token", "key": BOT_KEY}, 401, "Access to this resource is restricted."),  # no rescue
])
def test_web_api_refuses_with_steams_answer(state, query, status, text):
    route, seen = probe()
    query = {name: state.bot.api_key if value == BOT_KEY else value for name, value in query.items()}

    resp, _ = call(web_api(route), state, API, query=query)

    assert (resp.status, seen) == (status, [])
    assert text in resp.body.decode() and resp.headers[0] == ("Content-Type", "text/html; charset=UTF-8")


def test_web_api_refuses_the_token_of_a_dead_session(state):
    route, seen = probe()
    tokens = log_in(state)
    state.sessions.revoke(tokens["access_token"])

    resp, _ = call(web_api(route), state, API, query={"access_token": tokens["access_token"]})

    assert (resp.status, seen) == (401, [])


# ---------------------------------------------------------------- @bot_session
def test_bot_session_needs_the_login_cookie_and_the_csrf_sessionid(state):
    route, seen = probe()
    checked = bot_session(403)(route)
    token = log_in(state)["access_token"]
    login = {"steamLoginSecure": f"{state.bot.steam_id}%7C%7C{token}", "sessionid": "0123456789abcdef01234567"}

    nobody, _ = call(checked, state, COMMUNITY, form={"sessionid": login["sessionid"]}, args=(7,))
    wrong_csrf, _ = call(checked, state, COMMUNITY, form={"sessionid": "ffffffffffffffffffffffff"}, cookies=login, args=(7,))
    someone_else, _ = call(checked, state, COMMUNITY, form={"sessionid": login["sessionid"]},
                           cookies={**login, "steamLoginSecure": f"76561198000000001%7C%7C{token}"}, args=(7,))
    assert [(r.status, r.body) for r in (nobody, wrong_csrf, someone_else)] == [(403, b"null")] * 3
    assert seen == []

    ok, _ = call(checked, state, COMMUNITY, form={"sessionid": login["sessionid"]}, cookies=login, args=(7,))

    assert ok.status == 200 and seen == [(state.bot, False, (7,))]


# ---------------------------------------------------------------- @mobile_confirmation
def confirmation_query(bot, tag: str, *, t: int | None = None, **changes) -> dict:
    """A right query (as steampy sends it) but for `changes`; `k` is right for `t` and `tag`."""
    t = int(time.time()) if t is None else t
    query = {
        "p": guard.generate_device_id(str(bot.steam_id)), "a": str(bot.steam_id), "t": t, "m": "android", "tag": tag,
        "k": guard.generate_confirmation_key(bot.identity_secret, tag, t),
    }
    return {**query, **changes}


def test_mobile_confirmation_checks_the_device_and_the_identity_secret(state):
    route, seen = probe()
    checked = mobile_confirmation(lambda ctx, conf_id: {f"details{conf_id}"})(route)
    token = log_in(state)["access_token"]
    cookies = {"steamLoginSecure": f"{state.bot.steam_id}%7C%7C{token}"}
    bot = state.bot

    logged_out, _ = call(checked, state, COMMUNITY, query=confirmation_query(bot, "details5"), args=(5,))
    refused = [
        call(checked, state, COMMUNITY, query=query, cookies=cookies, args=(5,))[0]
        for query in (
            confirmation_query(bot, "details6"),  # a tag of another confirmation
            confirmation_query(bot, "details5", p="android:not-our-device"),
            confirmation_query(bot, "details5", a="76561198000000001"),
            confirmation_query(bot, "details5", k="d3Jvbmc="),
            confirmation_query(bot, "details5", t=int(time.time()) - 3600),  # the phone's clock is off
        )
    ]
    assert json_of(logged_out) == {"success": False, "needauth": True}
    assert all(json_of(r)["message"] == "Invalid authenticator" for r in refused)
    assert seen == []

    ok, _ = call(checked, state, COMMUNITY, query=confirmation_query(bot, "details5"), cookies=cookies, args=(5,))

    assert json_of(ok) == {"reached": True} and seen == [(bot, False, (5,))]


def test_mobile_confirmation_refuses_a_malformed_request_before_any_check(state):
    route, seen = probe()

    resp, _ = call(mobile_confirmation(lambda ctx: None)(route), state, COMMUNITY)  # e.g. an unknown op, logged out

    assert json_of(resp) == {"success": False} and seen == []


def json_of(resp) -> dict:
    return json.loads(resp.body)


# ---------------------------------------------------------------- every Web API method
@pytest.mark.parametrize("interface, method", sorted(webapi.API_METHODS))
def test_every_web_api_method_checks_the_token_or_key(sandbox, interface, method):
    session = sandbox.steam_session()
    url = f"https://api.steampowered.com/{interface}/{method}/v1"

    missing = session.get(url)
    bad_token = session.get(url, params={"access_token": "not.a.token"})
    key = session.get(url, params={"key": sandbox.bot.api_key})

    assert missing.status_code == 403 and "Please verify your <pre>key=</pre> parameter." in missing.text
    assert bad_token.status_code == 401
    assert key.status_code == 200
