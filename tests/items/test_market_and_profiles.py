"""Around the pool: market values from the price overview, Steam profiles from
player summaries. Both read the sandbox through the real gateway."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import override_settings

from audit.models import SystemEvent
from items import market
from items.market import market_refresh_values
from items.models import Item, SteamUser
from items.profiles import profiles_refresh
from tests.support.factories import make_item, make_user

pytestmark = pytest.mark.django_db

NAMES = ("AWP | Neo-Noir (Field-Tested)", "AK-47 | Nightwish (Minimal Wear)", "Dreams & Nightmares Case")


@pytest.fixture(autouse=True)
def fresh_price_cache():
    """Redis outlives the test database: forget prices and the request budget."""
    window = int(time.time() // 60)
    keys = [market.COOLDOWN_KEY, *(market.RATE_KEY.format(window=w) for w in (window, window + 1))]
    keys += [market._cache_key(730, name) for name in NAMES]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


def test_values_are_fetched_once_per_name_and_written_with_events(sandbox):
    sandbox.set_price(NAMES[0], lowestPrice="11.30", medianPrice="11.33")
    sandbox.set_price(NAMES[1], lowestPrice="5.00", medianPrice=None)
    awps = [make_item(market_hash_name=NAMES[0], market_value=None) for _ in range(3)]
    ak = make_item(market_hash_name=NAMES[1], market_value=Decimal("1.00"))
    gone = make_item(market_hash_name=NAMES[0], market_value=None, status="delivered")
    seq = sandbox.last_request_seq()

    result = market_refresh_values(actor="test-suite")
    assert (result.requests, result.names_priced) == (2, 2)
    assert len(sandbox.requests_log(since=seq, path_prefix="/market/priceoverview")) == 2
    assert {Item.objects.get(id=i.id).market_value for i in awps} == {Decimal("11.33")}
    assert Item.objects.get(id=ak.id).market_value == Decimal("5.00")  # no median: the lowest listing
    assert Item.objects.get(id=gone.id).market_value is None  # not ours any more
    assert SystemEvent.objects.filter(event_type="item.value_updated").count() == 4

    # Fresh values are not asked for again; a stale one comes from the cache, not Steam.
    assert market_refresh_values(actor="test-suite").names_priced == 0
    Item.objects.filter(id=ak.id).update(market_value_updated_at=None)
    seq = sandbox.last_request_seq()
    again = market_refresh_values(actor="test-suite")
    assert (again.cache_hits, again.requests) == (1, 0)
    assert not sandbox.requests_log(since=seq, path_prefix="/market/priceoverview")


@override_settings(MARKET_PRICE_REQUESTS_PER_MINUTE=1)
def test_requests_stay_within_the_per_minute_budget(sandbox):
    for name in NAMES:
        make_item(market_hash_name=name, market_value=None)
    result = market_refresh_values(actor="test-suite")
    assert result.requests == 1 and result.stopped == "rate_limit"
    assert Item.objects.filter(market_value_updated_at__isnull=False).count() == 1


def test_a_429_from_steam_stops_the_run_and_pauses_requests(sandbox):
    for name in NAMES:
        make_item(market_hash_name=name, market_value=None)
    sandbox.set_fault("rate_limit", count=10, pathPrefix="/market/priceoverview")
    result = market_refresh_values(actor="test-suite")
    sandbox.clear_faults()
    assert result.stopped == "steam_rate_limited" and result.names_priced == 0
    assert market_refresh_values(actor="test-suite").stopped == "rate_limit"  # the cooldown holds


def test_profiles_are_refreshed_in_batches_and_keep_first_and_last_seen(sandbox):
    users = [sandbox.create_user(persona_name=f"Player {n}") for n in range(3)]
    rows = [make_user(int(u["steamId"])) for u in users]
    first_seen = {r.steam_id: (r.first_seen_at, r.last_seen_at) for r in rows}
    unknown = make_user()  # not a Steam account the sandbox knows
    assert profiles_refresh(actor="test-suite") == 4
    for user in users:
        row = SteamUser.objects.get(steam_id=int(user["steamId"]))
        assert row.display_name == user["personaName"] and row.profile_url and row.avatar_url
        assert row.country_code == "US" and row.profile_refreshed_at is not None
        assert (row.first_seen_at, row.last_seen_at) == first_seen[row.steam_id]
    assert SteamUser.objects.get(steam_id=unknown.steam_id).profile_refreshed_at is not None
    assert SystemEvent.objects.filter(event_type="user.profile_refreshed").count() == 3
    # Refreshed a moment ago: nothing is due.
    assert profiles_refresh(actor="test-suite") == 0
