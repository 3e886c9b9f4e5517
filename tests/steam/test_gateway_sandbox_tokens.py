"""Gateway vs sandbox: the mobile-app login, sessions kept on a refresh token in PostgreSQL,
access-token renewal, Steam's time, and what is (not) kept in Redis."""

from __future__ import annotations

import base64
import json

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from steampy.login import LoginExecutor

from astro.core import crypto
from astro.steam.auth import MobileAuth
from astro.steam.errors import SteamAuthError
from astro.steam.models import BotSession
from astro.steam.steampy_fixes import LoginStepFailed
from astro.steam.tokens import read_token
from astro.steam.types import AssetRef
from tests.steam.gateway_http import fresh_gateway, logins, stored_refresh_token

pytestmark = pytest.mark.django_db


def calls(sandbox, method: str, since: int = 0) -> list[dict]:
    return sandbox.requests_log(since=since, path_prefix=f"/IAuthenticationService/{method}/")


def fake_jwt(**claims) -> str:
    """A token with Steam's claim shape (unsigned: the gateway decides on its claims alone)."""
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part({'typ': 'JWT', 'alg': 'EdDSA'})}.{part(claims)}.c2lnbmF0dXJl"


def test_the_password_login_is_the_mobile_apps_and_its_token_is_kept_encrypted(sandbox):
    gateway = fresh_gateway()
    gateway.ensure_session()

    row = BotSession.objects.get(steam_id=sandbox.bot.steam_id)
    token = crypto.decrypt(row.refresh_token_encrypted)
    info = read_token(token)
    assert (row.token_type, info.platform, info.is_refresh) == ("mobile", "mobile", True)
    assert "mobile" in info.audience and row.refresh_token_expires_at == info.expires_at
    assert token not in row.refresh_token_encrypted
    (begin,) = calls(sandbox, "BeginAuthSessionViaCredentials")
    assert "input_protobuf_encoded" in begin["params"]  # protobuf, as Steam requires with device details
    # Neither the refresh token nor the session's cookies are readable in Redis.
    raw = redis.Redis.from_url(settings.REDIS_URL)
    entry = raw.get(cache.make_key(gateway.config.session_key))
    access = gateway.steam_session.current().client.access_token
    assert entry and token.encode() not in entry and access.encode() not in entry
    assert json.loads(entry)["login_path"] == "password"


def test_the_password_is_not_sent_again_while_the_refresh_token_works(sandbox):
    fresh_gateway().ensure_session()
    mark = sandbox.last_request_seq()

    again = fresh_gateway()  # the cached session is gone (fresh_gateway deletes it): a new one is made
    sandbox.add_items(count=2)
    assert len(again.fetch_inventory(730, 2).items) == 2

    assert again.login_path == "refresh_token"
    assert logins(sandbox, mark) == 0
    assert len(calls(sandbox, "GenerateAccessTokenForApp", mark)) == 1


def test_polls_at_steams_interval_until_the_tokens_are_ready(sandbox):
    sandbox.set_config(pollNotReadyCount=1)
    gateway = fresh_gateway()
    gateway.ensure_session()
    assert gateway.login_path == "password"
    assert len(calls(sandbox, "PollAuthSessionStatus")) == 2


def _steampy_login(sandbox) -> LoginExecutor:
    bot = sandbox.bot
    executor = LoginExecutor(bot.username, bot.password, bot.shared_secret, sandbox.steam_session())
    executor._update_steam_guard(executor._send_login_request())
    return executor


def test_steampys_login_polls_once_and_yields_a_browser_token(sandbox):
    sandbox.set_config(pollNotReadyCount=1)
    with pytest.raises(KeyError):  # steampy reads refresh_token from the "not ready yet" answer
        _steampy_login(sandbox)
    sandbox.set_config(pollNotReadyCount=0)
    web = _steampy_login(sandbox).refresh_token
    assert read_token(web).platform == "web"

    # Such a token (what STEAM_REFRESH_TOKEN meant until now) is refused by Steam's renewal...
    sandbox.set_config(mobileOnlyTokenRenewal=True)
    with pytest.raises(LoginStepFailed) as refused:
        MobileAuth(sandbox.steam_session(), poll_timeout=5).generate_access_token(
            refresh_token=web, steam_id=sandbox.bot.steam_id, renew=False)
    assert refused.value.eresult == 15
    mark = sandbox.last_request_seq()
    gateway = fresh_gateway(password=None, refresh_token=web)
    with pytest.raises(SteamAuthError) as failed:
        gateway.ensure_session()
    # ...and by the gateway before it asks: with what to do instead.
    assert failed.value.code == "steam_refresh_token_not_mobile"
    assert calls(sandbox, "GenerateAccessTokenForApp", mark) == []


def test_an_access_token_left_out_of_the_poll_is_made_from_the_refresh_token(sandbox):
    sandbox.set_config(pollOmitsAccessToken=True)
    gateway = fresh_gateway()
    sandbox.add_items(count=1)
    assert len(gateway.fetch_inventory(730, 2).items) == 1
    assert len(calls(sandbox, "GenerateAccessTokenForApp")) == 1


def test_the_access_token_is_renewed_before_it_ends_without_the_password(sandbox):
    # Tokens that live less than the renewal margin: every use finds it ending.
    sandbox.set_config(accessTokenLifetimeSeconds=120)
    gateway = fresh_gateway(renew_margin=300)
    gateway.ensure_session()
    mark = sandbox.last_request_seq()

    gateway.fetch_inventory(730, 2)
    gateway.fetch_inventory(730, 2)

    assert logins(sandbox, mark) == 0
    assert len(calls(sandbox, "GenerateAccessTokenForApp", mark)) == 2
    assert [r["status"] for r in sandbox.requests_log(since=mark, path_prefix="/inventory/")] == [200, 200]


def test_the_refresh_token_is_renewed_in_its_last_days(sandbox):
    sandbox.set_config(refreshTokenLifetimeSeconds=10 * 86400, renewRefreshToken="always")
    fresh_gateway(refresh_renew_days=30).ensure_session()
    first = stored_refresh_token(sandbox.bot.steam_id)

    fresh_gateway(refresh_renew_days=30).ensure_session()

    renewed = stored_refresh_token(sandbox.bot.steam_id)
    assert renewed != first  # Steam spent the old one: only the new one is kept
    assert logins(sandbox) == 1
    (generate,) = calls(sandbox, "GenerateAccessTokenForApp")
    # Far from its end a token is only used, never renewed (renewal_type 0).
    fresh_gateway(refresh_renew_days=1).ensure_session()
    assert stored_refresh_token(sandbox.bot.steam_id) == renewed
    assert generate


def test_a_refresh_token_steam_refuses_is_dropped_and_the_password_used(sandbox):
    fresh_gateway().ensure_session()
    first = stored_refresh_token(sandbox.bot.steam_id)
    sandbox.call("POST", "/sandbox/bots/bot/tokens/revoke")
    mark = sandbox.last_request_seq()

    gateway = fresh_gateway()
    gateway.ensure_session()

    assert gateway.login_path == "password"
    assert [r["status"] for r in calls(sandbox, "GenerateAccessTokenForApp", mark)] == [200]
    assert logins(sandbox, mark) == 1
    assert stored_refresh_token(sandbox.bot.steam_id) not in (None, first)


def test_a_refused_refresh_token_without_a_password_says_so(sandbox):
    fresh_gateway().ensure_session()
    sandbox.call("POST", "/sandbox/bots/bot/tokens/expire")

    gateway = fresh_gateway(password=None)
    with pytest.raises(SteamAuthError) as failed:
        gateway.ensure_session()
    assert failed.value.login_path == "refresh_token" and failed.value.code == "steam_refresh_token_refused"
    assert "making an access token (GenerateAccessTokenForApp)" in str(failed.value)
    assert "Steam refused the refresh token" in str(failed.value)
    assert stored_refresh_token(sandbox.bot.steam_id) is None  # dropped: never sent again


def test_a_web_refresh_token_is_refused_with_how_to_get_a_mobile_one(sandbox):
    web = fake_jwt(iss="steam", sub=str(sandbox.bot.steam_id), aud=["web", "renew", "derive"], exp=2_000_000_000)
    gateway = fresh_gateway(password=None, refresh_token=web)

    with pytest.raises(SteamAuthError) as failed:
        gateway.ensure_session()

    assert failed.value.code == "steam_refresh_token_not_mobile"
    message = str(failed.value)
    assert "web-type token" in message and "mobile-app refresh token" in message and "steamguard-cli" in message
    assert web not in message
    assert calls(sandbox, "GenerateAccessTokenForApp") == []  # refused before anything is sent


def test_a_web_refresh_token_beside_a_password_still_logs_in(sandbox):
    web = fake_jwt(iss="steam", sub=str(sandbox.bot.steam_id), aud=["web", "renew", "derive"], exp=2_000_000_000)
    gateway = fresh_gateway(refresh_token=web)
    gateway.ensure_session()
    assert gateway.login_path == "password"
    # Told once: the token is not looked at again while its stored successor works.
    again = fresh_gateway(refresh_token=web)
    again.ensure_session()
    assert again.login_path == "refresh_token" and logins(sandbox) == 1


def test_a_new_operator_token_replaces_the_stored_one(sandbox):
    fresh_gateway().ensure_session()
    handed = stored_refresh_token(sandbox.bot.steam_id)
    fresh_gateway().ensure_session()  # the stored token is in use (and may be renewed)
    BotSession.objects.update(operator_token_digest="")
    mark = sandbox.last_request_seq()

    operator = fresh_gateway(password=None, refresh_token=handed)
    operator.ensure_session()

    (generate,) = calls(sandbox, "GenerateAccessTokenForApp", mark)
    assert operator.login_path == "refresh_token" and generate["status"] == 200
    assert BotSession.objects.get().operator_token_digest  # taken: not tried again


@pytest.mark.parametrize("skew", [3 * 3600, -3 * 3600])
def test_steams_time_feeds_the_steam_guard_code_and_the_confirmation_keys(sandbox, skew):
    sandbox.set_config(authClock="sandbox", clockSkewSeconds=skew)
    user = sandbox.create_user("ignore")
    gateway = fresh_gateway()
    asset = sandbox.add_items(count=1)[0]
    sent = gateway.send_offer(trade_url=user["tradeUrl"], assets=[AssetRef(730, 2, int(asset["assetid"]))],
                              message="astro:time")
    gateway.confirm_offer(sent.offer_id)

    assert sandbox.offer(sent.offer_id)["state"] == 2
    row = BotSession.objects.get(steam_id=sandbox.bot.steam_id)
    assert abs(row.steam_time_offset_seconds - skew) <= 5


def test_a_jump_of_steams_clock_is_noticed_when_steam_refuses_the_keys(sandbox):
    sandbox.set_config(authClock="sandbox")
    user = sandbox.create_user("ignore")
    gateway = fresh_gateway()
    asset = sandbox.add_items(count=1)[0]
    sent = gateway.send_offer(trade_url=user["tradeUrl"], assets=[AssetRef(730, 2, int(asset["assetid"]))],
                              message="astro:jump")
    gateway.steam_session.time_offset()  # known now, and not asked again for an hour
    sandbox.advance_clock(2 * 86400)

    gateway.confirm_offer(sent.offer_id)
    assert sandbox.offer(sent.offer_id)["state"] == 2


# ------------------------------------------------------------------ the cookie path
def test_cookies_carrying_a_mobile_refresh_token_are_renewed_from_it(sandbox):
    first = fresh_gateway()
    client = first.steam_session.current().client
    secure = client.session.cookies.get("steamLoginSecure", domain="steamcommunity.com")
    refresh = stored_refresh_token(sandbox.bot.steam_id)
    BotSession.objects.all().delete()
    cookies = f"steamLoginSecure={secure}; steamRefresh_steam={sandbox.bot.steam_id}%7C%7C{refresh}"
    mark = sandbox.last_request_seq()

    operator = fresh_gateway(username="operator-cookies", password=None, login_cookies=cookies)
    operator.ensure_session()

    assert operator.login_path == "cookies"
    assert len(calls(sandbox, "GenerateAccessTokenForApp", mark)) == 1  # a fresh access token, not the pasted one
    assert operator.steam_session.current().client.access_token != client.access_token
    assert stored_refresh_token(sandbox.bot.steam_id)  # kept: the next renewal needs no cookies
    assert logins(sandbox, mark) == 0


def test_cookies_whose_access_token_ended_are_refused_with_what_to_do(sandbox):
    ended = fake_jwt(iss="r:1234", sub=str(sandbox.bot.steam_id), aud=["web:community"], exp=1_700_000_000)
    mark = sandbox.last_request_seq()
    gateway = fresh_gateway(username="operator-cookies", password=None,
                            login_cookies=f"steamLoginSecure={sandbox.bot.steam_id}%7C%7C{ended}")

    with pytest.raises(SteamAuthError) as failed:
        gateway.ensure_session()

    assert failed.value.login_path == "cookies"
    assert "access token ended at 2023-11-14" in str(failed.value) and "STEAM_REFRESH_TOKEN" in str(failed.value)
    assert sandbox.requests_log(since=mark) == []  # not even the page was asked


def test_a_refresh_token_from_the_cookies_is_renewed_and_the_renewed_one_kept(sandbox):
    sandbox.set_config(refreshTokenLifetimeSeconds=10 * 86400, renewRefreshToken="always")
    first = fresh_gateway()
    secure = first.steam_session.current().client.session.cookies.get("steamLoginSecure", domain="steamcommunity.com")
    carried = stored_refresh_token(sandbox.bot.steam_id)
    BotSession.objects.all().delete()
    cookies = f"steamLoginSecure={secure}; steamRefresh_steam={sandbox.bot.steam_id}%7C%7C{carried}"

    for _ in range(2):  # each login renews the refresh token (its last days): the old one is spent
        gateway = fresh_gateway(username="operator-cookies", password=None, login_cookies=cookies,
                                refresh_renew_days=30)
        gateway.ensure_session()
        assert stored_refresh_token(sandbox.bot.steam_id) != carried
    assert [r["status"] for r in calls(sandbox, "GenerateAccessTokenForApp")] == [200, 200]
