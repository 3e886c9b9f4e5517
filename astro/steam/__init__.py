"""Astro's only door to Steam: `get_gateway()` returns the process's `SteamGateway`."""

from __future__ import annotations

import threading

from astro.steam.types import SteamGateway

_lock = threading.Lock()
_gateway = None


def get_gateway() -> SteamGateway:
    """The gateway for the current settings, one per process (thread-safe).

    Settings are read on every call; when they changed (tests switch the sandbox
    URL) a new gateway is made. Sessions live in the shared cache, so a new
    gateway reuses the logged-in session of its settings.
    """
    global _gateway
    from astro.steam.gateway import GatewayConfig, SteampyGateway

    config = GatewayConfig.from_settings()
    with _lock:
        if _gateway is None or _gateway.config != config:
            _gateway = SteampyGateway(config)
        return _gateway
