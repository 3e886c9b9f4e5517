"""Inventory pages are paced per Steam host across every process (a slot booked in Redis
per page), and a 429's Retry-After holds every process back."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django.db import connection

from astro.core.ratelimit import pace_reserve
from astro.steam import inventory
from astro.steam.errors import SteamRateLimited
from astro.steam.gateway import RetryPolicy
from tests.steam.gateway_http import BOT, Canned, ProbeServer, fresh_gateway, probe_gateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def probe():
    server = ProbeServer().start()
    server.route("steamcommunity.com", "/", body=f'<script>g_steamID = "{BOT}";</script>')
    yield server
    server.stop()


def one_page(asset_id: int = 1) -> dict:
    return {
        "assets": [{"appid": 730, "contextid": "2", "assetid": str(asset_id), "classid": "1", "instanceid": "0",
                    "amount": "1"}],
        "descriptions": [{"appid": 730, "classid": "1", "instanceid": "0", "tradable": 1, "marketable": 1,
                          "name": "Case", "market_hash_name": "Case", "type": "Container"}],
        "total_inventory_count": 1, "success": 1,
    }


def test_a_long_retry_after_is_raised_at_once_and_holds_every_process_back(probe):
    probe.route("steamcommunity.com", f"/inventory/{BOT}/730/2", status=429, body=None, headers={"Retry-After": "40"})
    gateway = probe_gateway(probe, inventory_pacing=4)

    with pytest.raises(SteamRateLimited) as limited:
        gateway.fetch_inventory(730, 2)

    assert limited.value.retry_after == 40
    assert sum(r.path.startswith("/inventory/") for r in probe.requests) == 1
    # The next page anyone books waits for the end of Steam's Retry-After.
    assert pace_reserve(inventory.pace_key(gateway.steam_session.realm), spacing=4) > 30
    cache.delete(gateway.config.session_key)


def test_a_short_retry_after_is_waited_out_and_the_read_completes(probe):
    answers = iter([Canned(status=429, body=None, headers={"Retry-After": "1"}), Canned(body=one_page(7))])
    probe.route("steamcommunity.com", f"/inventory/{BOT}/730/2", handler=lambda r: next(answers))
    gateway = probe_gateway(probe, inventory_pacing=0.2)
    gateway.retry = RetryPolicy(attempts=3, base_delay=0.01)

    assert [i.asset_id for i in gateway.fetch_inventory(730, 2).items] == [7]
    assert sum(r.path.startswith("/inventory/") for r in probe.requests) == 2
    cache.delete(gateway.config.session_key)


@pytest.mark.django_db(transaction=True)  # the threads' gateways log in on their own connections
def test_pages_of_concurrent_reads_are_never_closer_than_the_pacing(sandbox):
    sandbox.generate_inventory(30)
    pacing = 0.6
    readers = [fresh_gateway(page_size=10, inventory_pacing=pacing) for _ in range(2)]
    for reader in readers:
        reader.ensure_session()
    mark = sandbox.last_request_seq()
    results, errors = [], []

    def read(gateway):
        try:
            results.append(len(gateway.fetch_inventory(730, 2).items))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=read, args=(r,)) for r in readers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    assert errors == [] and results == [30, 30]
    pages = sandbox.requests_log(since=mark, path_prefix="/inventory/")
    assert len(pages) == 6
    times = sorted(p["time"] for p in pages)
    # Both readers share one pace: no two pages (of either) closer than the pacing (a little
    # less, for the sandbox's own handling time before it logs).
    assert min(b - a for a, b in zip(times, times[1:])) >= pacing - 0.1
