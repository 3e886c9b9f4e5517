"""The delivery engine keeps a little per-bot state in Redis (the shared offer listing,
the newest time_updated seen, the poll's cadence); every test's sandbox is a new world
behind the same bot, so each test starts without it."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from assignments.delivery.listing import forget
from assignments.delivery.poll import POLL_LOCK_KEY, forget_cadence
from steam_sandbox.account import BotAccount


@pytest.fixture(autouse=True)
def _fresh_delivery_state():
    bot = BotAccount().steam_id
    forget(bot)
    forget_cadence(bot)
    cache.delete(POLL_LOCK_KEY)
    yield
