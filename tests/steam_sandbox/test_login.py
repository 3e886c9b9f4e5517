"""Login against the sandbox: steampy 1.2.0's whole flow, and the raw endpoints where
steampy hides what Steam answered (wrong password, wrong code)."""

from __future__ import annotations

import base64
import json
import time

import pytest
import rsa
from steampy import guard
from steampy.exceptions import ApiException, LoginRequired
from steampy.models import Asset, GameOptions

from steam_sandbox import crypto

BOT = 76561198080179568
API = "https://api.steampowered.com/IAuthenticationService"
HEADERS = {"Referer": "https://steamcommunity.com/", "Origin": "https://steamcommunity.com"}


def begin(session, bot, password):
    session.post("https://steamcommunity.com/")
    key = session.get(f"{API}/GetPasswordRSAPublicKey/v1", params={"account_name": bot.username}, headers=HEADERS).json()["response"]
    public = rsa.PublicKey(int(key["publickey_mod"], 16), int(key["publickey_exp"], 16))
    return session.post(f"{API}/BeginAuthSessionViaCredentials/v1", headers=HEADERS, data={
        "persistence": "1",
        "encrypted_password": base64.b64encode(rsa.encrypt(password.encode(), public)),
        "account_name": bot.username,
        "encryption_timestamp": key["timestamp"],
    })


def test_the_secrets_arithmetic_matches_published_vectors_and_steampy():
    # steamguard-cli's confirmation-key vector, and the bot's device id as steampy's guard makes it.
    assert crypto.confirmation_key("GQP46b73Ws7gr8GmZFR0sDuau5c=", 1617591917, "conf") == "NaL8EIMhfy/7vBounJ0CvpKbrPk="
    assert crypto.device_id(BOT) == "android:1fa4e85b-2756-abd6-4aa8-b185fc5cb359"
    secret = "c2FuZGJveC1zaGFyZWQtc2VjcmV0LTAwMA=="
    for t in (0, 1_700_000_000, 1_700_000_029, 2_000_000_000):
        assert crypto.totp_code(secret, t) == guard.generate_one_time_code(secret, t)


def test_steampy_logs_in_and_the_cookies_are_steams(sandbox):
    client = sandbox.steampy_client()
    client.login()

    assert client.get_steam_id() == BOT
    assert client.is_session_alive()
    jar = client._session.cookies
    login_hosts = {c.domain for c in jar if c.name == "steamLoginSecure"}
    assert login_hosts >= {"steamcommunity.com", "store.steampowered.com", "help.steampowered.com", "steam.tv", "checkout.steampowered.com"}
    assert {c.domain for c in jar if c.name == "steamRefresh_steam"} >= {"login.steampowered.com"}
    # The access token steampy takes from the cookie is a JWT for the bot.
    header, claims, _ = client._access_token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "=="))["typ"] == "JWT"
    assert json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["sub"] == str(BOT)
    assert sandbox.state()["bot"]["liveSessions"] == 1


def test_cookies_are_host_only_and_secure_like_steams(sandbox):
    session = sandbox.steam_session()
    session.post("https://steamcommunity.com/")

    cookies = {c.name: c for c in session.cookies}
    assert set(cookies) == {"sessionid", "steamCountry"}
    for cookie in cookies.values():
        # No Domain attribute: stored under the request's host, sent only to it.
        assert (cookie.domain, cookie.domain_specified, cookie.secure) == ("steamcommunity.com", False, True)
    assert len(cookies["sessionid"].value) == 24
    # The same browser keeps its sessionid.
    session.post("https://steamcommunity.com/")
    assert [c.value for c in session.cookies if c.name == "sessionid"] == [cookies["sessionid"].value]


def test_a_wrong_password_gets_steams_55_byte_answer(sandbox):
    resp = begin(sandbox.steam_session(), sandbox.bot, "not-the-password")

    assert resp.status_code == 200
    assert resp.content == b'{"response":{"interval":5,"extended_error_message":""}}'
    assert len(resp.content) == 55 and resp.headers["X-eresult"] == "5"
    with pytest.raises(KeyError, match="client_id"):  # how steampy 1.2.0 fails on it
        sandbox.steampy_client(password="not-the-password").login()
    assert sandbox.state()["bot"]["liveSessions"] == 0


def test_a_wrong_steam_guard_code_is_refused(sandbox):
    session = sandbox.steam_session()
    started = begin(session, sandbox.bot, sandbox.bot.password).json()["response"]
    resp = session.post(f"{API}/UpdateAuthSessionWithSteamGuardCode/v1", headers=HEADERS, data={
        "client_id": started["client_id"], "steamid": started["steamid"], "code_type": 3, "code": "BBBBB",
    })
    assert (resp.status_code, resp.headers["X-eresult"]) == (200, "88")
    poll = session.post(f"{API}/PollAuthSessionStatus/v1", headers=HEADERS,
                        data={"client_id": started["client_id"], "request_id": started["request_id"]})
    assert "refresh_token" not in poll.json()["response"]

    other_secret = base64.b64encode(b"some-other-shared-secret-000").decode()
    with pytest.raises(KeyError, match="refresh_token"):
        sandbox.steampy_client(shared_secret=other_secret).login()


@pytest.mark.parametrize("steps, accepted", [(-1, True), (0, True), (1, True), (-3, False), (3, False)])
def test_codes_of_the_neighbouring_time_steps_are_accepted(sandbox, steps, accepted):
    session = sandbox.steam_session()
    started = begin(session, sandbox.bot, sandbox.bot.password).json()["response"]
    code = guard.generate_one_time_code(sandbox.bot.shared_secret, int(time.time()) + 30 * steps)

    resp = session.post(f"{API}/UpdateAuthSessionWithSteamGuardCode/v1", headers=HEADERS, data={
        "client_id": started["client_id"], "steamid": started["steamid"], "code_type": 3, "code": code,
    })

    assert (resp.headers["X-eresult"] == "1") is accepted


def test_finalizelogin_refuses_a_forged_refresh_token(sandbox):
    session = sandbox.steam_session()
    session.post("https://steamcommunity.com/")
    forged = crypto.TokenSigner(b"x" * 32).issue({"iss": "steam", "sub": str(BOT), "jti": "X", "exp": 2**40})

    # With Origin and Referer, which finalizelogin wants since 2025-02 (else a bare 403).
    resp = session.post("https://login.steampowered.com/jwt/finalizelogin", headers=HEADERS,
                        data={"nonce": forged, "sessionid": session.cookies["sessionid"], "redir": "x"})

    assert resp.json() == {"error": 8}


def test_logout_ends_the_session(sandbox):
    client = sandbox.steampy_client()
    client.login()

    client.logout()

    assert sandbox.state()["bot"]["liveSessions"] == 0
    page = client._session.get("https://steamcommunity.com/")
    assert "g_steamID = false;" in page.text and sandbox.bot.username not in page.text
    with pytest.raises(LoginRequired):
        client.get_my_inventory(GameOptions.CS, count=10)


def test_an_expired_session_looks_like_steams_and_a_new_login_works(sandbox):
    user = sandbox.create_user("ignore")
    sandbox.generate_inventory(3)
    asset = sandbox.asset_ids()[0]
    client = sandbox.steampy_client()
    client.login()

    assert sandbox.expire_sessions() == 1

    inventory = client._session.get(f"https://steamcommunity.com/inventory/{BOT}/730/2", params={"count": 10})
    assert (inventory.status_code, inventory.text) == (403, "null")
    with pytest.raises(ApiException):
        client.get_my_inventory(GameOptions.CS, count=10)
    assert not client.is_session_alive()
    conf = client._session.get("https://steamcommunity.com/mobileconf/getlist", params={
        "p": guard.generate_device_id(str(BOT)), "a": str(BOT), "t": int(time.time()), "m": "android", "tag": "conf",
        "k": guard.generate_confirmation_key(sandbox.bot.identity_secret, "conf", int(time.time())),
    })
    assert conf.json() == {"success": False, "needauth": True}
    sent = client._session.post("https://steamcommunity.com/tradeoffer/new/send", data={
        "sessionid": client._get_session_id(), "partner": user["steamId"], "json_tradeoffer": "{}",
    })
    assert (sent.status_code, sent.text) == (401, "null")
    offers = client._session.get("https://api.steampowered.com/IEconService/GetTradeOffers/v1",
                                 params={"access_token": client._access_token, "get_sent_offers": 1})
    assert offers.status_code == 401
    assert sandbox.offers() == []

    fresh = sandbox.steampy_client()
    fresh.login()
    assert asset in fresh.get_my_inventory(GameOptions.CS, count=10)
    assert fresh.make_offer_with_url([Asset(asset, GameOptions.CS)], [], user["tradeUrl"])["success"] is True


def test_junk_in_secret_fields_is_refused_not_a_crash(sandbox):
    session = sandbox.steam_session()
    started = begin(session, sandbox.bot, sandbox.bot.password).json()["response"]
    code = session.post(f"{API}/UpdateAuthSessionWithSteamGuardCode/v1", headers=HEADERS, data={
        "client_id": started["client_id"], "steamid": started["steamid"], "code_type": 3, "code": "ÄÖÜ€✓",
    })
    settoken = session.post("https://store.steampowered.com/login/settoken",
                            data={"nonce": "x.y", "auth": "ünïcode", "steamID": str(BOT)})
    key = session.get("https://api.steampowered.com/IEconService/GetTradeOffers/v1", params={"key": "ключ"})

    assert (code.status_code, code.headers["X-eresult"]) == (200, "88")
    assert settoken.json() == {"result": 8}
    assert key.status_code == 403
