"""Sessions on refresh tokens, as Steam has them in 2026: a poll that is not ready at
once, finalizelogin's Origin/Referer, typed tokens (web or mobile app), the mobile
app's protobuf login, GenerateAccessTokenForApp, cookies made from an access token
alone, QueryTime and Steam Guard on the sandbox clock. Over HTTP."""

from __future__ import annotations

import base64
import struct
import time

import pytest
import rsa
from steampy import guard
from steampy.models import GameOptions

from tests.steam_sandbox.clients import (
    AUTH, claims, encoded, mobile_login, pb, raw_session, renew, steam_time, unpb, web_cookies,
)
from tests.support.sandbox import BROWSER_HEADERS

BOT = 76561198080179568
DAY = 86400


def begin_flat(session, bot):
    """steampy's form: no device details (a browser's login)."""
    session.post("https://steamcommunity.com/")
    key = session.get(f"{AUTH}/GetPasswordRSAPublicKey/v1", params={"account_name": bot.username}).json()["response"]
    public = rsa.PublicKey(int(key["publickey_mod"], 16), int(key["publickey_exp"], 16))
    return session.post(f"{AUTH}/BeginAuthSessionViaCredentials/v1", data={
        "persistence": "1", "account_name": bot.username, "encryption_timestamp": key["timestamp"],
        "encrypted_password": base64.b64encode(rsa.encrypt(bot.password.encode(), public)),
    }).json()["response"]


def confirm_flat(session, bot, started):
    code = guard.generate_one_time_code(bot.shared_secret, steam_time(session))
    return session.post(f"{AUTH}/UpdateAuthSessionWithSteamGuardCode/v1", data={
        "client_id": started["client_id"], "steamid": started["steamid"], "code_type": 3, "code": code,
    })


def poll_flat(session, started):
    return session.post(f"{AUTH}/PollAuthSessionStatus/v1", data={
        "client_id": started["client_id"], "request_id": started["request_id"],
    }).json()["response"]


# ---------------------------------------------------------------- polling
@pytest.mark.parametrize("not_ready", [0, 1, 3])
def test_the_poll_is_not_ready_for_the_configured_number_of_polls(sandbox, not_ready):
    sandbox.set_config(pollNotReadyCount=not_ready)
    session = sandbox.steam_session()
    started = begin_flat(session, sandbox.bot)
    confirm_flat(session, sandbox.bot, started)

    answers = [poll_flat(session, started) for _ in range(not_ready + 1)]

    assert answers[:not_ready] == [{"had_remote_interaction": False}] * not_ready
    assert {"refresh_token", "access_token", "account_name"} <= set(answers[-1])


def test_the_poll_interval_is_steams_5_s_unless_shortened(sandbox):
    session = sandbox.steam_session()
    assert begin_flat(session, sandbox.bot)["interval"] == 5

    sandbox.set_config(authPollIntervalSeconds=0.5)

    assert begin_flat(session, sandbox.bot)["interval"] == 0.5


def test_steampys_single_poll_fails_against_the_default(sandbox):
    session = sandbox.steam_session()
    started = begin_flat(session, sandbox.bot)
    confirm_flat(session, sandbox.bot, started)

    assert poll_flat(session, started) == {"had_remote_interaction": False}


def test_the_ready_answer_can_leave_the_access_token_out(sandbox):
    sandbox.set_config(pollOmitsAccessToken=True, pollNotReadyCount=0)
    session = sandbox.steam_session()
    started = begin_flat(session, sandbox.bot)
    confirm_flat(session, sandbox.bot, started)

    ready = poll_flat(session, started)

    assert "refresh_token" in ready and "access_token" not in ready


# ---------------------------------------------------------------- finalizelogin
def test_finalizelogin_wants_origin_and_referer(sandbox):
    sandbox.set_config(pollNotReadyCount=0)
    session = raw_session(sandbox, **BROWSER_HEADERS)
    started = begin_flat(session, sandbox.bot)
    confirm_flat(session, sandbox.bot, started)
    refresh = poll_flat(session, started)["refresh_token"]
    form = {"nonce": refresh, "sessionid": session.cookies["sessionid"], "redir": "https://steamcommunity.com/login/home/?goto="}
    url = "https://login.steampowered.com/jwt/finalizelogin"

    bare = session.post(url, data=form)
    origin_only = session.post(url, data=form, headers={"Origin": "https://steamcommunity.com"})
    both = session.post(url, data=form, headers={"Origin": "https://steamcommunity.com", "Referer": "https://steamcommunity.com/"})

    assert [(r.status_code, r.content) for r in (bare, origin_only)] == [(403, b"")] * 2
    assert both.status_code == 200 and len(both.json()["transfer_info"]) == 5
    sandbox.set_config(finalizeLoginNeedsOrigin=False)
    assert session.post(url, data=form).status_code == 200


# ---------------------------------------------------------------- typed tokens
def test_a_browser_login_mints_web_tokens_on_the_sandbox_clock(sandbox, sandbox_steampy):
    now = sandbox.call("GET", "/sandbox/clock")["now"]
    minted = sandbox.tokens()["minted"]
    refresh = next(m for m in minted if m["kind"] == "refresh")
    access = [m for m in minted if m["kind"] == "access"]

    rt = claims(refresh["token"])
    assert (rt["iss"], rt["sub"], rt["aud"]) == ("steam", str(BOT), ["web", "renew", "derive"])
    assert abs(rt["exp"] - (now + 200 * DAY)) < 60
    assert refresh["platform"] == "web"
    for token in access:
        at = claims(token["token"])
        assert at["iss"] == f"r:{rt['jti']}" and at["sub"] == str(BOT) and "derive" not in at["aud"]
        assert at["aud"][0] == "web" and "mobile" not in at["aud"]
        assert abs(at["exp"] - (now + DAY)) < 60
    # settoken's per-host tokens name their host.
    assert {tuple(claims(t["token"])["aud"]) for t in access} >= {("web", "web:community"), ("web", "web:store")}


def test_the_lifetimes_are_configurable_and_run_on_the_sandbox_clock(sandbox):
    sandbox.set_config(accessTokenLifetimeSeconds=3600, refreshTokenLifetimeSeconds=10 * DAY)
    sandbox.advance_clock(5 * DAY)
    session = sandbox.steam_session()

    tokens = mobile_login(sandbox, session)

    now = sandbox.call("GET", "/sandbox/clock")["now"]
    assert abs(claims(tokens["access_token"])["exp"] - (now + 3600)) < 60
    assert abs(claims(tokens["refresh_token"])["exp"] - (now + 10 * DAY)) < 60
    assert now - time.time() > 5 * DAY - 60  # the client learnt Steam's time from QueryTime


def test_the_mobile_app_login_in_protobuf_mints_mobile_tokens(sandbox):
    session = sandbox.steam_session()

    tokens = mobile_login(sandbox, session)

    assert claims(tokens["refresh_token"])["aud"] == ["web", "mobile", "renew", "derive"]
    assert claims(tokens["refresh_token"])["iss"] == "steam"
    access = claims(tokens["access_token"])
    assert access["aud"] == ["web", "mobile"] and access["iss"] == f"r:{claims(tokens['refresh_token'])['jti']}"
    assert tokens["account_name"] == sandbox.bot.username and tokens["steamid"] == BOT
    [session_record] = sandbox.tokens()["sessions"]
    assert session_record["platform"] == "mobile"


def test_protobuf_answers_protobuf_and_device_details_need_it(sandbox):
    session = sandbox.steam_session()
    key = session.get(f"{AUTH}/GetPasswordRSAPublicKey/v1", params=encoded(pb((1, sandbox.bot.username))))
    assert key.headers["Content-Type"] == "application/octet-stream" and key.headers["X-eresult"] == "1"
    fields = unpb(key.content)
    assert int(fields[1][0], 16) > 2**2000 and fields[2][0] == b"010001"
    wrong = session.post(f"{AUTH}/BeginAuthSessionViaCredentials/v1", files={k: (None, v) for k, v in encoded(pb(
        (2, sandbox.bot.username), (3, "bm90IHRoZSBwYXNzd29yZA=="), (4, fields[3][0]),
        (9, pb((2, 3))),
    )).items()})
    assert wrong.headers["X-eresult"] == "5"
    assert unpb(wrong.content)[3] == [struct.pack("<f", 5.0)]  # interval 5, as in the JSON form

    # The old flat form with nested device details is refused since 2025-10-29.
    flat = session.post(f"{AUTH}/BeginAuthSessionViaCredentials/v1", data={
        "account_name": sandbox.bot.username, "device_details[platform_type]": 3,
    })
    assert flat.status_code == 400


# ---------------------------------------------------------------- GenerateAccessTokenForApp
def test_a_mobile_refresh_token_renews_access_tokens(sandbox):
    session = sandbox.steam_session()
    tokens = mobile_login(sandbox, session)

    eresult, answer = renew(session, tokens["refresh_token"], BOT)
    eresult_pb, answer_pb = renew(session, tokens["refresh_token"], BOT, protobuf=True)

    assert (eresult, set(answer)) == (1, {"access_token"})
    assert (eresult_pb, set(answer_pb)) == (1, {"access_token"})
    assert claims(answer["access_token"])["aud"] == ["web", "mobile"]
    assert claims(answer["access_token"])["iss"] == f"r:{claims(tokens['refresh_token'])['jti']}"


def test_a_browsers_refresh_token_is_refused_access_denied(sandbox, sandbox_steampy):
    web_refresh = next(m["token"] for m in sandbox.tokens()["minted"] if m["kind"] == "refresh")
    session = sandbox.steam_session()

    assert renew(session, web_refresh, BOT) == (15, {})
    sandbox.set_config(mobileOnlyTokenRenewal=False)
    assert renew(session, web_refresh, BOT)[0] == 1


@pytest.mark.parametrize("policy", ["always", "never"])
def test_renewal_type_1_may_bring_a_new_refresh_token_and_spends_the_old(sandbox, policy):
    sandbox.set_config(renewRefreshToken=policy)
    session = sandbox.steam_session()
    old = mobile_login(sandbox, session)["refresh_token"]

    eresult, answer = renew(session, old, BOT, renewal_type=1)

    assert eresult == 1 and "access_token" in answer
    if policy == "never":
        assert "refresh_token" not in answer
        assert renew(session, old, BOT)[0] == 1
        return
    new = answer["refresh_token"]
    assert claims(new)["aud"] == ["web", "mobile", "renew", "derive"] and claims(new)["jti"] != claims(old)["jti"]
    assert renew(session, old, BOT) == (15, {})
    assert renew(session, new, BOT)[0] == 1
    # The access token of the old one still works until its exp.
    web_cookies(session, BOT, answer["access_token"])
    assert f'g_steamID = "{BOT}"' in session.get("https://steamcommunity.com/").text


def test_expired_and_revoked_refresh_tokens_are_refused(sandbox):
    session = sandbox.steam_session()
    first = mobile_login(sandbox, session)
    sandbox.advance_clock(1)

    assert sandbox.expire_refresh_tokens() == 1
    assert renew(session, first["refresh_token"], BOT) == (15, {})
    # Its access token lives on until its own exp...
    web_cookies(session, BOT, first["access_token"])
    assert f'g_steamID = "{BOT}"' in session.get("https://steamcommunity.com/").text

    second = mobile_login(sandbox, sandbox.steam_session())
    assert sandbox.revoke_tokens() >= 1
    assert renew(session, second["refresh_token"], BOT) == (15, {})
    # ...a revoked session's do not.
    assert "g_steamID = false;" in session.get("https://steamcommunity.com/").text


def test_a_refresh_token_expires_by_its_lifetime_on_the_sandbox_clock(sandbox):
    sandbox.set_config(refreshTokenLifetimeSeconds=10 * DAY)
    session = sandbox.steam_session()
    tokens = mobile_login(sandbox, session)

    sandbox.advance_clock(10 * DAY + 1)

    assert renew(session, tokens["refresh_token"], BOT) == (15, {})


def test_a_forged_or_someone_elses_refresh_token_is_invalid_param(sandbox):
    session = sandbox.steam_session()
    tokens = mobile_login(sandbox, session)

    assert renew(session, tokens["refresh_token"][:-4] + "AAAA", BOT)[0] == 8
    assert renew(session, tokens["refresh_token"], 76561198000000001)[0] == 8
    assert renew(session, tokens["access_token"], BOT)[0] == 8  # an access token cannot derive


# ---------------------------------------------------------------- cookies from the token alone
@pytest.mark.parametrize("separator", ["||", "%7C%7C"])
def test_a_mobile_access_token_logs_the_community_in_without_finalizelogin(sandbox, separator):
    sandbox.add_items(count=2)
    user = sandbox.create_user("ignore")
    session = sandbox.steam_session()
    tokens = mobile_login(sandbox, session)

    sessionid = web_cookies(session, BOT, tokens["access_token"], separator=separator)

    assert f'g_steamID = "{BOT}"' in session.get("https://steamcommunity.com/").text
    inventory = session.get(f"https://steamcommunity.com/inventory/{BOT}/730/2", params={"count": 10}).json()
    assert inventory["total_inventory_count"] == 2
    sent = session.post("https://steamcommunity.com/tradeoffer/new/send", data={
        "sessionid": sessionid, "partner": user["steamId"], "json_tradeoffer": '{"me":{"assets":[]},"them":{"assets":[]}}',
        "trade_offer_create_params": '{"trade_offer_access_token":"%s"}' % user["tradeToken"],
    })
    assert sent.status_code == 500 and sent.json()["strError"].endswith("(8)")  # logged in; the offer was empty
    assert not [e for e in sandbox.requests_log() if "finalizelogin" in e["path"] or "settoken" in e["path"]]


# ---------------------------------------------------------------- Steam's time
def test_query_time_answers_the_sandbox_clock_plus_the_skew(sandbox):
    session = sandbox.steam_session()
    sandbox.advance_clock(3600)
    sandbox.set_config(clockSkewSeconds=-90)

    answer = session.post("https://api.steampowered.com/ITwoFactorService/QueryTime/v1").json()["response"]
    in_protobuf = unpb(session.post("https://api.steampowered.com/ITwoFactorService/QueryTime/v1",
                                    files={k: (None, v) for k, v in encoded(pb((1, int(time.time())))).items()}).content)

    sandbox_now = sandbox.call("GET", "/sandbox/clock")["now"]
    assert abs(int(answer["server_time"]) - (sandbox_now - 90)) <= 2
    assert answer["skew_tolerance_seconds"] == "60"
    assert abs(in_protobuf[1][0] - (sandbox_now - 90)) <= 2 and in_protobuf[2] == [60]


def test_steam_guard_codes_and_confirmation_keys_follow_steams_time(sandbox):
    sandbox.advance_clock(2 * 3600)  # Steam's time is two hours from this machine's
    local = sandbox.steam_session()
    started = begin_flat(local, sandbox.bot)
    stale = local.post(f"{AUTH}/UpdateAuthSessionWithSteamGuardCode/v1", data={
        "client_id": started["client_id"], "steamid": started["steamid"], "code_type": 3,
        "code": guard.generate_one_time_code(sandbox.bot.shared_secret, int(time.time())),
    })
    assert stale.headers["X-eresult"] == "88"
    assert confirm_flat(local, sandbox.bot, started).headers["X-eresult"] == "1"  # the code at QueryTime's time

    client = sandbox.steampy_client()
    client.login()  # takes Steam's time too (tests.support.sandbox)
    sandbox.add_items(count=1)
    local_t = int(time.time())
    query = {"p": guard.generate_device_id(str(BOT)), "a": str(BOT), "t": local_t, "m": "react", "tag": "conf",
             "k": guard.generate_confirmation_key(sandbox.bot.identity_secret, "conf", local_t)}
    assert client._session.get("https://steamcommunity.com/mobileconf/getlist", params=query).json()["message"] == "Invalid authenticator"
    assert client.confirmation_executor()._get_confirmations() == []
    sandbox.set_config(authClock="real")
    assert client._session.get("https://steamcommunity.com/mobileconf/getlist", params=query).json()["success"] is True
    assert len(client.get_my_inventory(GameOptions.CS, count=10)) == 1
