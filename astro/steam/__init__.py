"""Astro's only door to Steam: `get_gateway()` returns the process's `SteamGateway`;
`session_state()` says what the shared Steam session is, without logging in.

The gateway and the session are imported inside the functions, not here: Django
imports this package at start (models and services use `astro.steam.types`), and
`gateway`/`session` bring steampy, BeautifulSoup, rsa and redis (~0.25 s) that a
process which never talks to Steam (migrate, the API serving reads) should not pay.
"""

from __future__ import annotations

import threading
from typing import Any

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
    from astro.steam.gateway import GatewayConfig, SteampyGateway  # lazy: see the module docstring

    config = GatewayConfig.from_settings()
    with _lock:
        if _gateway is None or _gateway.config != config:
            _gateway = SteampyGateway(config)
        return _gateway


def session_state() -> dict[str, Any] | None:
    """The shared session for the current settings: {"login_path", "logged_in_at"}, or None.

    Side-effect free (one cache read: no login, no lock, no Steam request, no
    secret in the answer); a cache (Redis) error is raised as the cache raised it.
    """
    from astro.steam import session  # lazy: see the module docstring

    return session.session_state()
