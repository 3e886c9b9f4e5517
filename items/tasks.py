"""Periodic upkeep of the pool's surroundings: market values and Steam profiles."""

from __future__ import annotations

import logging

from celery import shared_task

from astro.steam.errors import SteamTransientError
from items.market import market_refresh_values
from items.profiles import profiles_refresh

logger = logging.getLogger(__name__)


@shared_task(name="items.tasks.market_refresh_task", ignore_result=True)
def market_refresh_task(actor: str = "system") -> dict:
    """Price what is stale, within the per-minute budget; the next run continues."""
    result = market_refresh_values(actor=actor)
    logger.info("market values: %s", result)
    return result.__dict__


@shared_task(bind=True, name="items.tasks.profiles_refresh_task", ignore_result=True, max_retries=5)
def profiles_refresh_task(self, steam_ids: list[int] | None = None, actor: str = "system") -> int:
    """Refresh the given users' profiles (new users), or the stalest ones (schedule)."""
    try:
        return profiles_refresh(actor=actor, steam_ids=steam_ids)
    except SteamTransientError as exc:
        raise self.retry(countdown=min(60 * 2 ** self.request.retries, 1800), exc=exc)
