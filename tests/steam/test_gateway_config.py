"""get_gateway(): one gateway per process and settings, made from settings."""

from __future__ import annotations

import threading

from astro.steam import get_gateway
from astro.steam.gateway import GatewayConfig, SteampyGateway


def test_one_gateway_per_settings(settings):
    settings.STEAM_MODE = "sandbox"
    settings.STEAM_SANDBOX_URL = "http://127.0.0.1:1"
    first = get_gateway()
    assert isinstance(first, SteampyGateway)
    assert get_gateway() is first

    settings.STEAM_SANDBOX_URL = "http://127.0.0.1:2"
    second = get_gateway()
    assert second is not first
    assert second.config.session.sandbox_url == "http://127.0.0.1:2"
    assert get_gateway() is second


def test_threads_share_one_gateway(settings):
    settings.STEAM_SANDBOX_URL = "http://127.0.0.1:3"
    barrier = threading.Barrier(8)
    seen = []

    def grab():
        barrier.wait()
        seen.append(get_gateway())

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and len({id(g) for g in seen}) == 1


def test_config_from_settings_and_secrets_out_of_repr(settings):
    settings.STEAM_MODE = "sandbox"
    settings.STEAM_SANDBOX_URL = "http://127.0.0.1:4"
    settings.STEAM_USERNAME = "bot-name"
    settings.STEAM_PASSWORD = "hunter2-password"
    settings.STEAM_SHARED_SECRET = "shared-secret-value"
    settings.STEAM_IDENTITY_SECRET = "identity-secret-value"
    settings.STEAM_API_KEY = "api-key-value"
    settings.STEAM_REFRESH_TOKEN = "refresh-token-value"
    settings.STEAM_LOGIN_COOKIES = "steamLoginSecure=cookie-value"
    settings.STEAM_INVENTORIES = [(730, 2), (440, 2)]
    settings.STEAM_INVENTORY_PAGE_SIZE = 500

    config = GatewayConfig.from_settings()

    assert config.inventories == ((730, 2), (440, 2))
    assert config.page_size == 500
    assert config.session.password == "hunter2-password"
    assert (config.inventory_pacing, config.confirmation_pacing) == (
        settings.STEAM_INVENTORY_PACING_SECONDS, settings.STEAM_CONFIRMATION_PACING_SECONDS)
    text = repr(config) + str(config)
    for secret in ("hunter2-password", "shared-secret-value", "identity-secret-value", "api-key-value",
                   "refresh-token-value", "cookie-value"):
        assert secret not in text
    # The shared-session key separates modes, sandboxes and accounts.
    assert config.session_key == "steam-session:sandbox:http://127.0.0.1:4:bot-name"
    settings.STEAM_MODE = "live"
    assert GatewayConfig.from_settings().session_key == "steam-session:live:steam:bot-name"
