"""Mobile confirmations in batches (getlist with creator_id, ajaxop as a GET,
multiajaxop as a POST with Origin and repeated cid[]/ck[]), and the per-bot call
counters a delivery benchmark reads. Over HTTP, steampy driving."""

from __future__ import annotations

import pytest
from steampy.models import Asset, GameOptions

from tests.steam_sandbox.clients import raw_session
from tests.support.sandbox import BROWSER_HEADERS

BOT = 76561198080179568
CONF = "https://steamcommunity.com/mobileconf"


@pytest.fixture
def steam(sandbox_steampy):
    return sandbox_steampy


def unconfirmed(sandbox, steam, count):
    user = sandbox.create_user("ignore")
    assets = [a["assetid"] for a in sandbox.add_items(count=count)]
    return [steam.make_offer_with_url([Asset(a, GameOptions.CS)], [], user["tradeUrl"], confirm_trade=False)["tradeofferid"]
            for a in assets]


def test_getlist_names_each_offer_as_creator_id(sandbox, steam):
    offer_ids = unconfirmed(sandbox, steam, 2)
    executor = steam.confirmation_executor()

    listed = steam._session.get(f"{CONF}/getlist", params=executor._create_confirmation_params("conf")).json()

    assert listed["success"] is True
    assert sorted(c["creator_id"] for c in listed["conf"]) == sorted(offer_ids)
    assert all(c["type"] == 2 and isinstance(c["id"], str) and isinstance(c["nonce"], str) for c in listed["conf"])


def test_multiajaxop_confirms_many_at_once_with_origin(sandbox, steam):
    offer_ids = unconfirmed(sandbox, steam, 3)
    executor = steam.confirmation_executor()
    confs = executor._get_confirmations()
    form = {**executor._create_confirmation_params("conf"), "op": "allow",
            "cid[]": [c.data_confid for c in confs], "ck[]": [c.nonce for c in confs]}
    raw = raw_session(sandbox, **BROWSER_HEADERS)
    raw.cookies.update(steam._session.cookies)

    without_origin = raw.post(f"{CONF}/multiajaxop", data=form)
    with_origin = raw.post(f"{CONF}/multiajaxop", data=form, headers={"Origin": "https://steamcommunity.com"})

    assert (without_origin.status_code, without_origin.content) == (403, b"")
    assert with_origin.json() == {"success": True}
    assert {sandbox.offer(o)["state"] for o in offer_ids} == {2}
    assert sandbox.confirmations() == []


def test_ajaxop_is_a_get(sandbox, steam):
    [offer_id] = unconfirmed(sandbox, steam, 1)
    executor = steam.confirmation_executor()
    [conf] = executor._get_confirmations()
    params = {**executor._create_confirmation_params("allow"), "op": "allow", "cid": conf.data_confid, "ck": conf.nonce}

    posted = steam._session.post(f"{CONF}/ajaxop", data=params)

    assert posted.status_code == 404 and sandbox.offer(offer_id)["state"] == 9
    assert steam._session.get(f"{CONF}/ajaxop", params=params).json() == {"success": True}


def test_getlist_faster_than_the_minimum_interval_is_429(sandbox, steam):
    sandbox.set_config(confirmationMinIntervalSeconds=10)
    executor = steam.confirmation_executor()

    first = steam._session.get(f"{CONF}/getlist", params=executor._create_confirmation_params("conf"))
    second = steam._session.get(f"{CONF}/getlist", params=executor._create_confirmation_params("conf"))

    assert (first.status_code, second.status_code, second.text) == (200, 429, "null")


def test_the_counters_count_each_bots_calls_by_endpoint_and_reset(sandbox, steam):
    [offer_id] = unconfirmed(sandbox, steam, 1)
    executor = steam.confirmation_executor()
    executor.send_trade_allow_request(offer_id)  # steampy: getlist, details of each, ajaxop
    econ = "https://api.steampowered.com/IEconService"
    token = {"access_token": steam._access_token}
    sandbox.set_config(tradeOffersPageSize=1)
    unconfirmed(sandbox, steam, 1)
    for cursor in (0, 1):  # one listing of two pages
        steam._session.get(f"{econ}/GetTradeOffers/v1", params={**token, "get_sent_offers": 1, "cursor": cursor})
    steam._session.get(f"{econ}/GetTradeOffer/v1", params={**token, "tradeofferid": offer_id})  # outstanding: active
    deposit = sandbox.deposit(sandbox.create_user()["steamId"], count=1)
    steam._session.get(f"{econ}/GetTradeStatus/v1", params={**token, "tradeid": deposit["tradeId"]})

    counted = sandbox.counters()

    assert counted["steamId"] == str(BOT)
    assert (counted["listings"], counted["singleOfferReads"], counted["outstandingOfferReads"]) == (1, 2, 1)
    assert counted["sends"] == 2 and counted["confirmationCalls"] == 3
    endpoints = counted["endpoints"]
    assert [endpoints[e]["count"] for e in ("GetTradeOffers", "getlist", "details", "ajaxop")] == [2, 1, 1, 1]
    assert endpoints["GetTradeOffers"]["minGapSeconds"] >= 0 and endpoints["send"]["first"] <= endpoints["send"]["last"]
    assert sandbox.call("GET", "/sandbox/counters")["bots"] == [counted]

    sandbox.reset_counters()

    assert sandbox.counters()["listings"] == 0 and sandbox.counters()["endpoints"] == {}
