"""Market values of the pool's items, from Steam's market price overview.

Prices are per market_hash_name, so one request prices every copy of an item.
Each answer is cached (Django cache = Redis) for MARKET_PRICE_MAX_AGE_SECONDS,
and requests to Steam are rate limited across all workers to
MARKET_PRICE_REQUESTS_PER_MINUTE (a fixed one-minute window counted in Redis):
Steam answers 429 at about 20 a minute.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from astro.steam import get_gateway
from astro.steam.errors import SteamError, SteamPermanentError, SteamTransientError
from audit.models import Source
from audit.services import record_events
from items.models import HELD_BY_BOT, Item

logger = logging.getLogger(__name__)

# Items still ours: their value matters for assignments and the dashboard.
PRICED_STATUSES = HELD_BY_BOT
RATE_KEY = "market-price:rate:{window}"
COOLDOWN_KEY = "market-price:cooldown"
CENT = Decimal("0.01")


@dataclass
class MarketRefreshResult:
    names_priced: int = 0
    requests: int = 0
    cache_hits: int = 0
    items_updated: int = 0
    stopped: str | None = None  # "rate_limit", "steam_rate_limited", "steam_unavailable"


def _cache_key(app_id: int, name: str) -> str:
    digest = hashlib.sha1(name.encode()).hexdigest()
    return f"market-price:{settings.STEAM_MARKET_CURRENCY}:{app_id}:{digest}"


def _take_request_slot() -> bool:
    """One request's worth of the per-minute budget, shared by every worker."""
    if cache.get(COOLDOWN_KEY):
        return False
    key = RATE_KEY.format(window=int(time.time() // 60))
    cache.add(key, 0, timeout=120)
    try:
        used = cache.incr(key)
    except ValueError:  # the window expired between add and incr
        cache.add(key, 1, timeout=120)
        used = 1
    return used <= settings.MARKET_PRICE_REQUESTS_PER_MINUTE


def market_refresh_values(*, actor: str, gateway=None, max_names: int | None = None) -> MarketRefreshResult:
    """Fill `market_value` for pool items whose value is missing or older than
    MARKET_PRICE_MAX_AGE_SECONDS, oldest first, within the rate limit.

    Per name: the cached price if there is one, else one Steam request (no
    transaction open); then one UPDATE of that name's pool items in a short
    transaction, with an `item.value_updated` event for each item whose value
    changed. A 429 from Steam stops the run and pauses requests for a minute.
    The price is the median sale price, or the lowest listing when no median.
    """
    result = MarketRefreshResult()
    cutoff = timezone.now() - timedelta(seconds=settings.MARKET_PRICE_MAX_AGE_SECONDS)
    names = (
        Item.objects.filter(status__in=PRICED_STATUSES)
        .filter(Q(market_value_updated_at__isnull=True) | Q(market_value_updated_at__lt=cutoff))
        .values("steam_app_id", "market_hash_name")
        .annotate(oldest=Min("market_value_updated_at"))
        .order_by(F("oldest").asc(nulls_first=True), "market_hash_name")
    )
    limit = max_names if max_names is not None else 10 * settings.MARKET_PRICE_REQUESTS_PER_MINUTE
    for row in names[:limit]:
        app_id, name = row["steam_app_id"], row["market_hash_name"]
        key = _cache_key(app_id, name)
        cached = cache.get(key)
        if cached is not None:
            result.cache_hits += 1
            value = Decimal(cached["value"]) if cached["value"] is not None else None
        else:
            if not _take_request_slot():
                result.stopped = "rate_limit"
                break
            if gateway is None:
                gateway = get_gateway()
            result.requests += 1
            try:
                price = gateway.get_market_price(app_id=app_id, market_hash_name=name)
            except SteamTransientError as exc:
                if exc.code == "steam_rate_limited" or exc.status == 429:
                    cache.set(COOLDOWN_KEY, True, timeout=60)
                    result.stopped = "steam_rate_limited"
                else:
                    result.stopped = "steam_unavailable"
                logger.warning("market price of %r: %s; stopping this run", name, exc)
                break
            except SteamPermanentError as exc:
                logger.warning("market price of %r refused: %s", name, exc)
                price = None
            except SteamError as exc:
                logger.warning("market price of %r: %s", name, exc)
                continue
            value = None
            if price is not None:
                raw = price.median_price if price.median_price is not None else price.lowest_price
                value = raw.quantize(CENT, rounding=ROUND_HALF_UP) if raw is not None else None
            cache.set(key, {"value": str(value) if value is not None else None},
                      timeout=settings.MARKET_PRICE_MAX_AGE_SECONDS)
        result.items_updated += _store(app_id, name, value, actor=actor)
        result.names_priced += 1
    return result


def _store(app_id: int, name: str, value: Decimal | None, *, actor: str) -> int:
    """Set one name's value on its pool items; unlisted names keep their value but
    are marked fresh, so they are not asked for again before the max age."""
    now = timezone.now()
    with transaction.atomic():
        items = Item.objects.select_for_update().filter(
            steam_app_id=app_id, market_hash_name=name, status__in=PRICED_STATUSES
        )
        if value is None:
            items.update(market_value_updated_at=now, updated_at=now)
            return 0
        changed = list(items.exclude(market_value=value).values("id", "market_value", "item_name"))
        items.update(market_value=value, market_value_updated_at=now, updated_at=now)
        record_events([
            {
                "event_type": "item.value_updated", "actor": actor, "source": Source.WORKER, "item_id": row["id"],
                "description": f"Market value of {row['item_name']}: {row['market_value']} -> {value}.",
                "data": {"previous": row["market_value"], "value": value, "marketHashName": name,
                         "currency": settings.STEAM_MARKET_CURRENCY},
            }
            for row in changed
        ])
        return len(changed)
