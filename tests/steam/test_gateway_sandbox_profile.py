"""Gateway vs sandbox: steamcommunity.com's request filter (429 to what does not look like a
browser) lets every gateway request through, steampy's included, and would refuse them
without the browser profile."""

from __future__ import annotations

import pytest
import requests

from astro.steam.answers import check
from astro.steam.errors import SteamRateLimited
from astro.steam.transport import mount_transport
from astro.steam.types import AssetRef
from tests.steam.gateway_http import fresh_gateway

pytestmark = pytest.mark.django_db


def community(sandbox, since=0) -> list[dict]:
    return [r for r in sandbox.requests_log(since=since) if r["host"] == "steamcommunity.com"]


def test_every_community_request_of_the_gateway_passes_the_filter(sandbox):
    sandbox.set_config(requestFilter=True)
    user = sandbox.create_user("ignore")
    gateway = fresh_gateway()
    asset = sandbox.add_items(count=1)[0]

    assert len(gateway.fetch_inventory(730, 2).items) == 1
    sent = gateway.send_offer(trade_url=user["tradeUrl"], assets=[AssetRef(730, 2, int(asset["assetid"]))],
                              message="astro:profile")  # steampy's make_offer_with_url
    assert gateway.confirm_offers([sent.offer_id]) == {sent.offer_id}
    assert gateway.get_trade_hold_days(trade_url=user["tradeUrl"]) == 0  # IEconService/GetTradeHoldDurations
    gateway.cancel_offer(sent.offer_id)  # steampy's cancel
    gateway.acknowledge_trade_protection()

    seen = community(sandbox)
    paths = {r["path"] for r in seen}
    assert {"/mobileconf/getlist", "/mobileconf/multiajaxop", "/tradeoffer/new/send", "/trade/new/acknowledge",
            f"/tradeoffer/{sent.offer_id}/cancel"} <= paths
    assert [r for r in seen if r["status"] == 429] == []


@pytest.mark.parametrize("retry_after", [0, 7])
def test_without_the_profile_the_same_requests_are_refused(sandbox, retry_after):
    sandbox.set_config(requestFilter=True, requestFilterRetryAfterSeconds=retry_after)
    gateway = fresh_gateway()
    client = gateway.steam_session.current().client
    bare = requests.Session()
    mount_transport(bare, mode="sandbox", sandbox_url=sandbox.url, timeout=10, profile=False)
    bare.cookies.update(client.session.cookies)
    inventory = f"https://steamcommunity.com/inventory/{sandbox.bot.steam_id}/730/2"

    assert client.session.get(inventory, params={"l": "english", "count": 10}).status_code == 200
    refused = bare.get(inventory, params={"l": "english", "count": 10})
    assert refused.status_code == 429
    assert bare.post("https://steamcommunity.com/trade/new/acknowledge",
                     data={"sessionid": client._get_session_id(), "message": 1}).status_code == 429
    # What the gateway would make of it: rate limited, for as long as Steam says when it says.
    with pytest.raises(SteamRateLimited) as limited:
        check(refused, "inventory", forbidden_means_expired=True)
    assert limited.value.retry_after == (retry_after or None)
