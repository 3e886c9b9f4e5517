"""astro.steam.session_state(): the cached session as the health check shows it, never a login."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.core.cache import cache

from astro.steam import session_state
from astro.steam.gateway import GatewayConfig
from astro.steam.session import SessionConfig
from tests.steam.gateway_http import fresh_gateway

# Logging in reads and writes the bot's row in bot_sessions.
pytestmark = pytest.mark.django_db


def test_no_cached_session_is_none_and_nothing_is_asked_of_steam(sandbox):
    cache.delete(GatewayConfig.from_settings().session_key)
    mark = sandbox.last_request_seq()

    assert session_state() is None

    assert sandbox.requests_log(since=mark) == []
    assert cache.get(GatewayConfig.from_settings().session_key) is None


def test_a_cached_session_shows_its_path_and_time_and_no_secret(sandbox):
    gateway = fresh_gateway()
    gateway.ensure_session()
    mark = sandbox.last_request_seq()

    state = session_state()

    assert state is not None and set(state) == {"login_path", "logged_in_at"}
    assert state["login_path"] == "password"
    assert datetime.fromisoformat(state["logged_in_at"]).tzinfo is not None
    assert sandbox.requests_log(since=mark) == []


def test_the_key_is_the_gateways(settings):
    settings.STEAM_MODE = "sandbox"
    settings.STEAM_SANDBOX_URL = "http://127.0.0.1:5"
    settings.STEAM_USERNAME = "bot-name"
    assert SessionConfig.from_settings().cache_key == GatewayConfig.from_settings().session_key
    assert GatewayConfig.from_settings().session == SessionConfig.from_settings()


def test_a_cache_error_is_the_callers_to_report(monkeypatch):
    class Down(Exception):
        pass

    class UnreachableCache:
        def get(self, key):
            raise Down

    monkeypatch.setattr("astro.steam.session.cache", UnreachableCache())
    with pytest.raises(Down):
        session_state()
