"""Gateway vs sandbox: trades and asset-id mapping, state 12, hold days, profiles, prices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from astro.steam.errors import SteamPermanentError, SteamRateLimited
from astro.steam.types import AssetRef, OfferState, TradeStatusCode
from tests.steam.gateway_http import fresh_gateway

# Logging in reads and writes the bot's row in bot_sessions.
pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway(sandbox):
    return fresh_gateway()


def deliver(sandbox, gateway, user, count=1):
    """Send `count` new bot items to an accepting user; return (offer id, the assets sent)."""
    made = sandbox.add_items(count=count)
    assets = [AssetRef(730, 2, int(a["assetid"])) for a in made]
    sent = gateway.send_offer(trade_url=user["tradeUrl"], assets=assets, message="astro:trade")
    gateway.confirm_offer(sent.offer_id)
    return sent.offer_id, assets


def test_asset_ids_after_a_delivery(sandbox, gateway):
    user = sandbox.create_user("accept")
    offer_id, assets = deliver(sandbox, gateway, user, count=2)

    offer = gateway.get_offer(offer_id)
    assert offer.state is OfferState.ACCEPTED and offer.trade_id

    trade = gateway.get_trade_status(offer.trade_id)
    assert trade.status is TradeStatusCode.COMPLETE
    assert trade.partner_steam_id == int(user["steamId"])
    assert sorted(a.asset_id for a in trade.assets_given) == sorted(a.asset_id for a in assets)
    # Each item's new id is the one now in the user's inventory.
    assert sorted(a.new_asset_id for a in trade.assets_given) == sorted(map(int, sandbox.asset_ids(account=user["steamId"])))
    assert gateway.fetch_inventory(730, 2).items == []


def test_received_items_are_attributed_by_their_new_ids(sandbox, gateway):
    user = sandbox.create_user("accept")
    deposit = sandbox.deposit(user["steamId"], count=3)

    trade = gateway.get_trade_status(deposit["tradeId"])

    assert trade.assets_given == []
    new_ids = {a.new_asset_id for a in trade.assets_received}
    assert new_ids == {int(a["newAssetId"]) for a in deposit["assets"]}
    # Trade protection is on, as on Steam: received CS2 items arrive in context 16.
    assert {a.new_context_id for a in trade.assets_received} == {16}
    assert new_ids == {i.asset_id for i in gateway.fetch_inventory(730, 16).items}
    assert gateway.fetch_inventory(730, 2).items == []


def test_trade_protection_context_16_and_revert_state_12(sandbox, gateway):
    sandbox.set_config(tradeProtection=True, tradeProtectionDays=7)
    user = sandbox.create_user("accept")
    deposit = sandbox.deposit(user["steamId"], count=1)

    trade = gateway.get_trade_status(deposit["tradeId"])
    (asset,) = trade.assets_received
    assert asset.new_context_id == 16
    (held,) = gateway.fetch_inventory(730, 16).items
    assert held.asset_id == asset.new_asset_id
    assert held.tradable is False
    assert abs(held.tradable_after - (datetime.now(UTC) + timedelta(days=7))) < timedelta(days=1)

    # A delivered CS2 trade reverted under trade protection: offer state 12.
    receiver = sandbox.create_user("accept")
    offer_id, _ = deliver(sandbox, gateway, receiver)
    sandbox.act_on_offer(offer_id, "revert")
    offer = gateway.get_offer(offer_id)
    assert offer.state is OfferState.REVERTED
    reverted = gateway.get_trade_status(offer.trade_id)
    assert reverted.status is TradeStatusCode.TRADE_PROTECTION_ROLLBACK
    assert reverted.rollback_trade_id
    rollback = gateway.get_trade_status(reverted.rollback_trade_id)
    assert [a.new_asset_id for a in rollback.assets_received] == [i.asset_id for i in gateway.fetch_inventory(730, 2).items]


def test_unknown_trade_is_none(sandbox, gateway):
    assert gateway.get_trade_status("123456789") is None  # X-eresult 42 NoMatch


def test_trade_history_newest_first_since_and_limit(sandbox, gateway):
    user = sandbox.create_user("accept")
    first = sandbox.deposit(user["steamId"], count=1)["tradeId"]
    sandbox.advance_clock(3600)
    second = sandbox.deposit(user["steamId"], count=1)["tradeId"]
    sandbox.advance_clock(3600)
    third = sandbox.deposit(user["steamId"], count=1)["tradeId"]

    history = gateway.get_trade_history()
    assert [t.trade_id for t in history] == [third, second, first]
    assert [t.trade_id for t in gateway.get_trade_history(max_trades=2)] == [third, second]
    since = history[1].time_init
    assert [t.trade_id for t in gateway.get_trade_history(since=since)] == [third, second]


def test_trade_history_pages_back(sandbox, gateway):
    user = sandbox.create_user("accept")
    ids = []
    for _ in range(105):
        ids.append(sandbox.deposit(user["steamId"], count=1)["tradeId"])
    history = gateway.get_trade_history(max_trades=200)
    assert sorted(t.trade_id for t in history) == sorted(ids)
    assert len(sandbox.requests_log(path_prefix="/IEconService/GetTradeHistory/")) == 2


def test_trade_hold_days(sandbox, gateway):
    fine = sandbox.create_user("accept")
    holding = sandbox.create_user("accept", escrowDays=3)
    assert gateway.get_trade_hold_days(trade_url=fine["tradeUrl"]) == 0
    assert gateway.get_trade_hold_days(trade_url=holding["tradeUrl"]) == 3

    stale_url = fine["tradeUrl"]
    sandbox.update_user(fine["steamId"], tradeToken="new")
    with pytest.raises(SteamPermanentError) as refused:
        gateway.get_trade_hold_days(trade_url=stale_url)
    assert refused.value.code == "invalid_trade_url"


def test_player_summaries_in_batches_of_100(sandbox, gateway):
    users = [sandbox.create_user("ignore", country="de") for _ in range(101)]
    ids = [int(u["steamId"]) for u in users] + [76561197960265729]  # the last one is unknown

    players = gateway.get_player_summaries(ids + ids[:5])

    assert sorted(p.steam_id for p in players) == sorted(ids[:-1])
    some = next(p for p in players if p.steam_id == ids[0])
    assert some.display_name == users[0]["personaName"] and some.country_code == "DE"
    assert some.profile_url == f"https://steamcommunity.com/profiles/{ids[0]}/"
    batches = sandbox.requests_log(path_prefix="/ISteamUser/GetPlayerSummaries/")
    assert [len(r["params"]["steamids"].split(",")) for r in batches] == [100, 2]


def test_market_price(sandbox, gateway):
    sandbox.set_price("AK-47 | Redline (Field-Tested)", lowestPrice="11.30", medianPrice="11.33", volume=1234)
    price = gateway.get_market_price(app_id=730, market_hash_name="AK-47 | Redline (Field-Tested)")
    assert price.lowest_price == Decimal("11.30")
    assert price.median_price == Decimal("11.33")
    assert price.volume == 1234
    assert price.currency == 1
    assert gateway.get_market_price(app_id=730, market_hash_name="No Such Item") is None


def test_market_price_in_euro(sandbox):
    gateway = fresh_gateway(currency=3)
    sandbox.set_price("Case", lowestPrice="10.00")
    price = gateway.get_market_price(app_id=730, market_hash_name="Case")
    assert price.currency == 3 and price.lowest_price == Decimal("9.20")  # "9,20€"


def test_market_price_rate_limited(sandbox, gateway):
    sandbox.set_price("Case", lowestPrice="1.00")
    sandbox.set_fault("rate_limit", count=1, pathPrefix="/market/priceoverview")
    assert gateway.get_market_price(app_id=730, market_hash_name="Case").lowest_price == Decimal("1.00")
    sandbox.set_fault("rate_limit", count=5, pathPrefix="/market/priceoverview")
    with pytest.raises(SteamRateLimited):
        gateway.get_market_price(app_id=730, market_hash_name="Case")
