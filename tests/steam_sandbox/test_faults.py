"""Faults on demand: each one as the client sees it over HTTP, scoped and counted."""

from __future__ import annotations

import json
import time

import pytest
import requests
from steampy.exceptions import ApiException, TooManyRequests
from steampy.models import Asset, GameOptions

BOT = 76561198080179568
INVENTORY = f"https://steamcommunity.com/inventory/{BOT}/730/2"


@pytest.fixture
def steam(sandbox_steampy):
    return sandbox_steampy


def inventory(steam, count=100):
    return steam._session.get(INVENTORY, params={"l": "english", "count": count})


def send_form(steam, user, asset_id):
    return {
        "sessionid": steam._get_session_id(),
        "serverid": 1,
        "partner": user["steamId"],
        "tradeoffermessage": "astro:fault",
        "json_tradeoffer": json.dumps({"newversion": True, "version": 4,
                                       "me": {"assets": [{"appid": 730, "contextid": "2", "amount": 1, "assetid": asset_id}], "currency": [], "ready": False},
                                       "them": {"assets": [], "currency": [], "ready": False}}),
        "captcha": "",
        "trade_offer_create_params": json.dumps({"trade_offer_access_token": user["tradeToken"]}),
    }


def test_a_rate_limit_burst_answers_429_null_then_recovers(sandbox, steam):
    sandbox.generate_inventory(3)
    sandbox.set_fault("rate_limit", count=2, pathPrefix="/inventory/")

    first = inventory(steam)
    assert (first.status_code, first.text) == (429, "null")
    with pytest.raises(TooManyRequests):
        steam.get_my_inventory(GameOptions.CS, count=100)
    assert inventory(steam).status_code == 200
    assert sandbox.faults() == []


def test_faults_are_scoped_by_host_and_path(sandbox, steam):
    sandbox.generate_inventory(1)
    sandbox.set_fault("rate_limit", host="api.steampowered.com")

    assert inventory(steam).status_code == 200
    offers = steam._session.get("https://api.steampowered.com/IEconService/GetTradeOffers/v1",
                                params={"access_token": steam._access_token, "get_sent_offers": 1})
    assert offers.status_code == 429
    assert len(sandbox.faults()) == 1  # no count: until cleared
    sandbox.clear_faults()
    assert sandbox.faults() == []


def test_a_server_error_on_the_inventory_carries_steams_eresult_text(sandbox, steam):
    sandbox.generate_inventory(1)
    sandbox.set_fault("server_error", count=1, pathPrefix="/inventory/")
    sandbox.set_fault("server_error", count=1, pathPrefix="/inventory/", eresult=20, status=502)
    sandbox.set_fault("server_error", count=1, host="api.steampowered.com", status=503)

    first = inventory(steam)
    assert (first.status_code, first.json()) == (500, {"error": "EYldRefreshAppIfNecessary failed with EResult 55"})
    with pytest.raises(ApiException):
        steam.get_my_inventory(GameOptions.CS, count=100)
    api = steam._session.get("https://api.steampowered.com/IEconService/GetTradeOffers/v1",
                             params={"access_token": steam._access_token})
    assert api.status_code == 503 and "Service Unavailable" in api.text
    assert inventory(steam).status_code == 200


def test_added_latency(sandbox, steam):
    sandbox.set_fault("latency", ms=400, count=1)
    seq = sandbox.last_request_seq()

    started = time.monotonic()
    assert inventory(steam).status_code == 200
    assert time.monotonic() - started >= 0.4

    [logged] = sandbox.requests_log(since=seq)
    assert logged["fault"] == "latency"


def test_send_timeout_drop_creates_the_offer_and_never_answers(sandbox, steam):
    user = sandbox.create_user("ignore")
    asset = sandbox.add_items(count=1)[0]["assetid"]
    sandbox.set_fault("send_timeout", count=1)

    with pytest.raises(requests.ConnectionError):
        steam.make_offer_with_url([Asset(asset, GameOptions.CS)], [], user["tradeUrl"], message="astro:tag-1")

    [created] = sandbox.offers()
    assert (created["state"], created["message"]) == (9, "astro:tag-1")
    # The lost offer is there to be found before any re-send.
    listed = steam._session.get("https://api.steampowered.com/IEconService/GetTradeOffers/v1", params={
        "access_token": steam._access_token, "get_sent_offers": 1, "active_only": 1,
    }).json()["response"]["trade_offers_sent"]
    assert [o["message"] for o in listed] == ["astro:tag-1"]


def test_send_timeout_hang_holds_the_answer_past_the_clients_timeout(sandbox, steam):
    user = sandbox.create_user("ignore")
    asset = sandbox.add_items(count=1)[0]["assetid"]
    sandbox.set_fault("send_timeout", count=1, mode="hang", holdSeconds=2)

    with pytest.raises(requests.ReadTimeout):
        steam._session.post("https://steamcommunity.com/tradeoffer/new/send", data=send_form(steam, user, asset), timeout=0.5)

    assert [o["state"] for o in sandbox.offers()] == [9]


def test_send_errors_with_and_without_the_offer_created(sandbox, steam):
    user = sandbox.create_user("ignore")
    asset = sandbox.add_items(count=1)[0]["assetid"]
    sandbox.set_fault("send_error", count=1, eresult=20)
    sandbox.set_fault("send_error", count=1, eresult=16, createOffer=True)
    url = "https://steamcommunity.com/tradeoffer/new/send"

    refused = steam._session.post(url, data=send_form(steam, user, asset))
    assert refused.status_code == 500 and refused.json()["strError"].endswith("(20)")
    assert sandbox.offers() == []

    ambiguous = steam._session.post(url, data=send_form(steam, user, asset))
    assert ambiguous.status_code == 500 and ambiguous.json()["strError"].endswith("(16)")
    assert [o["state"] for o in sandbox.offers()] == [9]


def test_the_empty_inventory_glitch_answers_success_without_assets(sandbox, steam):
    sandbox.generate_inventory(5)
    sandbox.set_fault("empty_inventory", count=1)

    glitch = inventory(steam).json()
    assert glitch["success"] == 1 and "assets" not in glitch
    assert len(inventory(steam).json()["assets"]) == 5


def test_a_lower_page_size_limit(sandbox, steam):
    sandbox.generate_inventory(5)
    fault = sandbox.set_fault("page_size_limit", limit=500)

    assert (inventory(steam, 501).status_code, inventory(steam, 501).text) == (400, "null")
    assert inventory(steam, 500).status_code == 200
    sandbox.call("DELETE", f"/sandbox/faults/{fault['id']}")
    assert inventory(steam, 1000).status_code == 200


def test_session_expiry_as_a_fault(sandbox, steam):
    sandbox.generate_inventory(1)

    assert sandbox.set_fault("expire_session")["expiredSessions"] == 1

    assert (inventory(steam).status_code, inventory(steam).text) == (403, "null")


def test_the_request_log_shows_what_the_client_sent_without_secrets(sandbox, steam):
    seq = sandbox.last_request_seq()
    inventory(steam, 250)
    steam._session.get("https://api.steampowered.com/IEconService/GetTradeOffers/v1",
                       params={"access_token": steam._access_token, "get_sent_offers": 1})

    logged = sandbox.requests_log(since=seq)

    assert [(e["host"], e["status"]) for e in logged] == [("steamcommunity.com", 200), ("api.steampowered.com", 200)]
    assert logged[0]["params"]["count"] == "250"
    assert logged[1]["params"]["access_token"] == "<redacted>"
    assert sandbox.requests_log(since=seq, path_prefix="/inventory/") == logged[:1]
