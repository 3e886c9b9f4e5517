"""Gateway vs sandbox: login paths, the shared session, expiry, secrets kept out of logs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.cache import cache

from astro.steam.errors import SteamAuthError, SteamTransientError
from astro.steam.models import BotSession
from astro.steam.gateway import GatewayConfig, RetryPolicy
from tests.steam.gateway_http import child_database_url, fresh_gateway, logins, stored_refresh_token

# Logging in reads and writes the bot's row in bot_sessions.
pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway(sandbox):
    return fresh_gateway()


def test_password_login_and_session_shared_through_the_cache(sandbox, gateway):
    assert gateway.bot_steam_id == sandbox.bot.steam_id
    assert gateway.login_path == "password"
    cached = cache.get(gateway.config.session_key)
    assert cached["login_path"] == "password" and cached["steam_id"] == sandbox.bot.steam_id

    # Another gateway (another task, another process) adopts the session: no second login.
    from astro.steam.gateway import SteampyGateway

    other = SteampyGateway(gateway.config)
    assert other.fetch_inventory(730, 2).items == []
    assert logins(sandbox) == 1


def test_wrong_password_says_which_step_failed(sandbox):
    gateway = fresh_gateway(password="not-the-password")
    with pytest.raises(SteamAuthError) as failed:
        gateway.ensure_session()
    message = str(failed.value)
    assert failed.value.login_path == "password"
    assert "password login failed at the password check (BeginAuthSessionViaCredentials)" in message
    assert "not-the-password" not in message


def test_wrong_shared_secret_fails_at_the_steam_guard_step(sandbox):
    gateway = fresh_gateway(shared_secret="d3Jvbmctc2hhcmVkLXNlY3JldC0wMDAwMDA=")
    with pytest.raises(SteamAuthError, match="Steam Guard code"):
        gateway.ensure_session()


def test_no_login_configured(sandbox):
    gateway = fresh_gateway(password=None, refresh_token=None, login_cookies=None)
    with pytest.raises(SteamAuthError) as failed:
        gateway.ensure_session()
    assert failed.value.code == "steam_login_not_configured"


def test_unreachable_steam_is_transient_not_auth(sandbox):
    gateway = fresh_gateway(sandbox_url="http://127.0.0.1:9")
    with pytest.raises(SteamTransientError) as failed:
        gateway.ensure_session()
    assert failed.value.code == "steam_unreachable"


def _session_cookie(gateway, name: str) -> str:
    cookies = gateway.steam_session.current().client.session.cookies
    (value,) = [c.value for c in cookies if c.name == name and c.domain == "steamcommunity.com"]
    return value


def test_operator_mobile_refresh_token_login(sandbox, gateway):
    # A mobile-app refresh token, as steamguard-cli or Astro's own login issue one.
    gateway.ensure_session()
    refresh = stored_refresh_token(sandbox.bot.steam_id)
    BotSession.objects.all().delete()

    operator = fresh_gateway(username="operator-refresh", password=None, refresh_token=refresh)
    sandbox.add_items(count=3)
    assert len(operator.fetch_inventory(730, 2).items) == 3
    assert operator.login_path == "refresh_token"
    assert logins(sandbox) == 1  # the password was sent once, by the first gateway
    # Stored encrypted on first use: the next login needs neither the setting nor the password.
    assert stored_refresh_token(sandbox.bot.steam_id)
    assert BotSession.objects.get().refresh_token_encrypted != refresh


def test_cookie_login_and_fallback_when_the_cookies_died(sandbox, gateway):
    gateway.ensure_session()
    cookies = f"steamLoginSecure={_session_cookie(gateway, 'steamLoginSecure')}"

    operator = fresh_gateway(username="operator-cookies", password=None, login_cookies=cookies)
    assert operator.bot_steam_id == sandbox.bot.steam_id
    assert operator.login_path == "cookies"

    sandbox.expire_sessions()
    # Only cookies configured: a clear error naming the cookie path.
    dead = fresh_gateway(username="operator-cookies", password=None, login_cookies=cookies)
    with pytest.raises(SteamAuthError) as failed:
        dead.ensure_session()
    assert failed.value.login_path == "cookies"
    assert "Steam does not accept the cookies" in str(failed.value)
    # Password configured too: the gateway falls back to it.
    fallback = fresh_gateway(login_cookies=cookies)
    fallback.ensure_session()
    assert fallback.login_path == "password"


def test_expired_session_is_renewed_and_the_read_repeated(sandbox, gateway):
    sandbox.add_items(count=2)
    assert len(gateway.fetch_inventory(730, 2).items) == 2
    mark = sandbox.last_request_seq()
    sandbox.expire_sessions()

    assert len(gateway.fetch_inventory(730, 2).items) == 2

    assert logins(sandbox, mark) == 1
    statuses = [r["status"] for r in sandbox.requests_log(since=mark, path_prefix="/inventory/")]
    assert statuses == [403, 200]  # 403 null on our own inventory = session gone


def test_renewal_adopts_a_session_another_process_already_made(sandbox, gateway):
    from astro.steam.gateway import SteampyGateway

    other = SteampyGateway(gateway.config)
    gateway.ensure_session()
    other.ensure_session()
    sandbox.expire_sessions()
    mark = sandbox.last_request_seq()

    gateway.fetch_inventory(730, 2)  # renews
    other.fetch_inventory(730, 2)  # sees its session dead, finds the new one in the cache

    assert logins(sandbox, mark) == 1


CONCURRENT_LOGIN = """
import django, pathlib, sys, time
django.setup()
from astro.steam import get_gateway
gateway = get_gateway()
folder = pathlib.Path(sys.argv[1])
(folder / f"ready-{sys.argv[2]}").touch()
deadline = time.monotonic() + 60
while not (folder / "go").exists() and time.monotonic() < deadline:
    time.sleep(0.005)
gateway.ensure_session()
print(gateway.bot_steam_id)
"""


@pytest.mark.django_db(transaction=True)  # the processes write the bot's row where this test can see it
def test_processes_log_in_once_under_the_redis_lock(sandbox, tmp_path):
    cache.delete(GatewayConfig.from_settings().session_key)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "STEAM_MODE": "sandbox",
           "DATABASE_URL": child_database_url()}
    procs = [
        subprocess.Popen([sys.executable, "-c", CONCURRENT_LOGIN, str(tmp_path), str(i)], cwd=settings.BASE_DIR,
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(3)
    ]
    # Release all three at once, so their logins really race for the lock.
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    (tmp_path / "go").touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    assert {out.strip().splitlines()[-1] for out, _ in outputs} == {str(sandbox.bot.steam_id)}
    assert logins(sandbox) == 1


def test_no_secret_reaches_the_logs_or_the_errors(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    gateway = fresh_gateway()
    sandbox.add_items(count=1)
    gateway.fetch_inventory(730, 2)
    access_token = gateway.steam_session.current().client.access_token
    sandbox.set_fault("latency", ms=1500, count=1, pathPrefix="/IEconService/")
    slow = fresh_gateway(timeout=1.0, retry=RetryPolicy(attempts=1))
    slow.ensure_session()
    with pytest.raises(SteamTransientError) as timed_out:
        slow.get_sent_offers()  # the URL of this timed-out request carries the access token
    BotSession.objects.all().delete()  # else the stored refresh token logs in, and the password is never sent
    bad = fresh_gateway(password="wrong-password-value")
    with pytest.raises(SteamAuthError) as failed:
        bad.ensure_session()

    text = caplog.text + str(timed_out.value) + str(failed.value)
    c = gateway.config.session
    for secret in (c.password, c.shared_secret, c.identity_secret, c.api_key, access_token,
                   slow.steam_session.current().client.access_token, "wrong-password-value"):
        assert secret and secret not in text
