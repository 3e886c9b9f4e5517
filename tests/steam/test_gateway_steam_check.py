"""`manage.py steam_check` against the sandbox (the issue's done-when)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import CommandError, call_command

from astro.steam.gateway import GatewayConfig
from tests.steam.test_parsing import FIXTURES

# Logging in reads and writes the bot's row in bot_sessions.
pytestmark = pytest.mark.django_db


@pytest.fixture
def no_cached_session(sandbox):
    """The reset sandbox knows no session: forget the shared one and this process's gateway
    (an earlier test's gateway would hold a login the sandbox now answers 401 to)."""
    import astro.steam

    cache.delete(GatewayConfig.from_settings().session_key)
    astro.steam._gateway = None


def test_steam_check_prints_the_inventory_counts(sandbox, no_cached_session):
    sandbox.load_inventory(FIXTURES / "inventory_with_properties.json", appid=730, contextid=2)
    sandbox.generate_inventory(3, appid=440, contextid=2)
    user = sandbox.create_user("ignore")
    asset = sandbox.add_items(count=1)[0]
    from astro.steam import get_gateway
    from astro.steam.types import AssetRef

    get_gateway().send_offer(trade_url=user["tradeUrl"], assets=[AssetRef(730, 2, int(asset["assetid"]))],
                             message="Astro delivery astro:check")

    env = {**os.environ, "STEAM_MODE": "sandbox", "DEBUG": "true"}
    done = subprocess.run([sys.executable, "manage.py", "steam_check"], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert f"Logged in: steamid {sandbox.bot.steam_id}" in done.stdout
    assert "Inventory 730/2: 3 items" in done.stdout  # the fixture's 2 + the one in the offer
    assert "Inventory 730/16: 0 items" in done.stdout
    assert "Inventory 440/2: 3 items" in done.stdout
    assert "Open sent offers: 1" in done.stdout
    assert "NEEDS_CONFIRMATION" in done.stdout and "astro:check" in done.stdout


def test_steam_check_fails_clearly(sandbox, no_cached_session, settings):
    settings.STEAM_PASSWORD = "wrong"
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("steam_check", stdout=out)
    assert "steam_auth_failed" in str(failed.value)
    assert "password login failed at the password check" in str(failed.value)
