"""Gateway vs sandbox: whole inventories across pages, and every inventory fault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from astro.steam.errors import SteamPermanentError, SteamRateLimited, SteamTransientError
from astro.steam.gateway import RetryPolicy
from tests.steam.gateway_http import fresh_gateway, logins
from tests.steam.test_parsing import FIXTURES

# Logging in reads and writes the bot's row in bot_sessions.
pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway(sandbox):
    return fresh_gateway()


def inventory_requests(sandbox, since=0):
    return sandbox.requests_log(since=since, path_prefix="/inventory/")


def test_real_fixture_inventory_through_the_sandbox(sandbox, gateway):
    sandbox.load_inventory(FIXTURES / "inventory_with_properties.json")

    inventory = gateway.fetch_inventory(730, 2)

    by_id = {i.asset_id: i for i in inventory.items}
    assert set(by_id) == {46153215277, 46153215276}
    mp7 = by_id[46153215277]
    assert mp7.market_hash_name == "MP7 | Short Ochre (Minimal Wear)"
    assert mp7.rarity == "Consumer Grade"
    assert {p["name"] for p in mp7.properties} == {"Wear Rating", "Pattern Template"}
    assert inventory.pages == 1


def test_ten_thousand_items_read_completely_across_pages(sandbox, gateway):
    sandbox.generate_inventory(10_000, seed=7, untradable=25, holdDays=3)
    progress = []

    inventory = gateway.fetch_inventory(730, 2, on_page=lambda pages, items, total: progress.append((pages, items, total)))

    expected = set(map(int, sandbox.asset_ids()))
    assert len(expected) == 10_000
    assert {i.asset_id for i in inventory.items} == expected
    assert len(inventory.items) == 10_000 and inventory.total_count == 10_000
    assert inventory.pages == 10
    assert progress == [(n, 1000 * n, 10_000) for n in range(1, 11)]
    requests = inventory_requests(sandbox)
    assert all(int(r["params"]["count"]) <= 1000 for r in requests)
    assert [r["params"].get("start_assetid") is None for r in requests].count(True) == 1
    held = [i for i in inventory.items if not i.tradable]
    assert len(held) == 25
    soon = datetime.now(UTC) + timedelta(days=3)
    assert all(abs(i.tradable_after - soon) < timedelta(days=1) for i in held)


def test_empty_inventory_has_no_assets_key(sandbox, gateway):
    inventory = gateway.fetch_inventory(440, 2)
    assert inventory.items == [] and inventory.total_count == 0 and inventory.pages == 1


def test_empty_inventory_fault(sandbox, gateway):
    sandbox.add_items(count=5)
    sandbox.set_fault("empty_inventory", count=1)
    # Steam sometimes answers an empty inventory; the gateway reports what Steam said
    # (the sync decides whether to believe it).
    assert gateway.fetch_inventory(730, 2).items == []
    assert len(gateway.fetch_inventory(730, 2).items) == 5


def test_429_backs_off_and_succeeds(sandbox, gateway):
    sandbox.add_items(count=3)
    sandbox.set_fault("rate_limit", count=2, pathPrefix="/inventory/")

    assert len(gateway.fetch_inventory(730, 2).items) == 3
    assert [r["status"] for r in inventory_requests(sandbox)] == [429, 429, 200]


def test_429_that_persists_is_raised_as_rate_limited(sandbox, gateway):
    sandbox.set_fault("rate_limit", count=10, pathPrefix="/inventory/")
    with pytest.raises(SteamRateLimited):
        gateway.fetch_inventory(730, 2)
    assert len(inventory_requests(sandbox)) == 3  # bounded


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retried(sandbox, gateway, status):
    sandbox.add_items(count=2)
    sandbox.set_fault("server_error", status=status, count=1, pathPrefix="/inventory/")
    assert len(gateway.fetch_inventory(730, 2).items) == 2


def test_a_page_failing_midway_raises_and_never_returns_part(sandbox, gateway):
    sandbox.generate_inventory(2500, seed=3)

    def break_the_next_pages(pages, items, total):
        if pages == 1:
            sandbox.set_fault("server_error", count=10, pathPrefix="/inventory/")

    with pytest.raises(SteamTransientError) as failed:
        gateway.fetch_inventory(730, 2, on_page=break_the_next_pages)
    assert failed.value.eresult == 55  # "EYldRefreshAppIfNecessary failed with EResult 55"


def test_session_expiring_midway_is_renewed_and_the_read_completes(sandbox, gateway):
    sandbox.generate_inventory(2500, seed=4)
    gateway.ensure_session()
    mark = sandbox.last_request_seq()

    def expire_after_first_page(pages, items, total):
        if pages == 1:
            sandbox.expire_sessions()

    inventory = gateway.fetch_inventory(730, 2, on_page=expire_after_first_page)

    assert len(inventory.items) == 2500
    assert logins(sandbox, mark) == 1


def test_latency_beyond_the_timeout_is_retried(sandbox):
    gateway = fresh_gateway(timeout=1.0, retry=RetryPolicy(attempts=2, base_delay=0.01))
    sandbox.add_items(count=1)
    gateway.ensure_session()
    sandbox.set_fault("latency", ms=1500, count=1, pathPrefix="/inventory/")
    assert len(gateway.fetch_inventory(730, 2).items) == 1


def test_latency_within_the_timeout_is_just_slow(sandbox, gateway):
    sandbox.add_items(count=1)
    sandbox.set_fault("latency", ms=300, count=1, pathPrefix="/inventory/")
    assert len(gateway.fetch_inventory(730, 2).items) == 1


def test_steam_lowering_the_page_limit_is_a_clear_permanent_error(sandbox, gateway):
    sandbox.add_items(count=1)
    sandbox.set_fault("page_size_limit", limit=500)
    with pytest.raises(SteamPermanentError) as refused:
        gateway.fetch_inventory(730, 2)
    assert refused.value.code == "inventory_page_refused"
    assert "STEAM_INVENTORY_PAGE_SIZE" in str(refused.value)

    smaller = fresh_gateway(page_size=500)
    assert len(smaller.fetch_inventory(730, 2).items) == 1


def test_items_that_change_between_pages_are_neither_skipped_nor_repeated(sandbox, gateway):
    sandbox.generate_inventory(2000, seed=5)
    ids = sorted(map(int, sandbox.asset_ids()))

    def sell_one_of_the_read_page(pages, items, total):
        if pages == 1:
            sandbox.remove_assets([ids[-1]])  # newest: already read

    inventory = gateway.fetch_inventory(730, 2, on_page=sell_one_of_the_read_page)
    assert len({i.asset_id for i in inventory.items}) == len(inventory.items) == 2000
