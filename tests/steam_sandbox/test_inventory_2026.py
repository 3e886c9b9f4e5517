"""Inventories as Steam serves them in 2026: CS2 counting items it does not list,
received CS2 items protected in context 16 and moving to 2 (keeping their asset id,
or under a new one the trade history shows), and this year's hold-date texts."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from steam_sandbox.inventory import parse_hold_text

BOT = 76561198080179568
DAY = 86400
CS2_2026 = re.compile(r"^Tradable/Marketable After (\d{1,2}) ([A-Z][a-z]{2}) @ (\d{1,2}):(\d{2})(am|pm)$")
TF2_2026 = re.compile(r"^\nTradable After: [A-Z][a-z]+day, [A-Z][a-z]+ \d{1,2}, \d{4} \(\d{1,2}:\d{2}:\d{2}\) GMT$")


@pytest.fixture
def steam(sandbox_steampy):
    return sandbox_steampy


def page(steam, appid=730, contextid=2, **params):
    return steam._session.get(f"https://steamcommunity.com/inventory/{BOT}/{appid}/{contextid}",
                              params={"l": "english", "count": 1000, **params}).json()


# ---------------------------------------------------------------- counted, not listed
def test_cs2_counts_hidden_items_without_listing_them(sandbox, steam):
    sandbox.generate_inventory(5, hidden=3)

    body = page(steam)

    assert (len(body["assets"]), body["total_inventory_count"], body["success"]) == (5, 8, 1)
    assert "more_items" not in body
    sandbox.generate_inventory(0)
    sandbox.set_hidden_items(2)
    assert page(steam) == {"total_inventory_count": 2, "success": 1, "rwgrsn": -2}  # no assets key at all


# ---------------------------------------------------------------- context 16
def deposit_protected(sandbox):
    user = sandbox.create_user()
    [item] = sandbox.deposit(user["steamId"], count=1)["assets"]
    assert item["newContextId"] == "16"
    return item


def test_protection_ends_after_7_days_keeping_the_asset_id(sandbox, steam):
    item = deposit_protected(sandbox)
    [protected] = page(steam, contextid=16)["descriptions"]
    assert protected["tradable"] == 0 and CS2_2026.match(protected["owner_descriptions"][1]["value"])

    sandbox.advance_clock(7 * DAY + 60)

    assert sandbox.asset_ids(contextid=16) == [] and sandbox.asset_ids() == [item["newAssetId"]]
    assert sandbox.inventory()["assets"][0]["tradable"] is True


def test_protection_can_end_under_a_new_asset_id_that_the_trade_history_shows(sandbox, steam):
    sandbox.set_config(protectionEndKeepsAssetId=False)
    item = deposit_protected(sandbox)

    sandbox.advance_clock(7 * DAY + 60)
    steam.login()  # a week on, on the sandbox clock: the access token has expired

    [moved] = sandbox.asset_ids()
    assert moved != item["newAssetId"]
    history = steam._session.get("https://api.steampowered.com/IEconService/GetTradeHistory/v1",
                                 params={"access_token": steam._access_token}).json()["response"]["trades"]
    move = history[0]
    [entry] = move["assets_received"]
    assert (move["status"], move["steamid_other"]) == (3, str(BOT))
    assert (entry["contextid"], entry["assetid"], entry["new_contextid"], entry["new_assetid"]) == (
        "16", item["newAssetId"], "2", moved)


def test_protection_can_be_switched_off(sandbox):
    sandbox.set_config(tradeProtection=False)
    user = sandbox.create_user()

    [item] = sandbox.deposit(user["steamId"], count=1)["assets"]

    assert item["newContextId"] == "2" and sandbox.asset_ids() == [item["newAssetId"]]


# ---------------------------------------------------------------- the 2026 hold texts
def test_cs2_and_tf2_holds_show_2026s_texts(sandbox, steam):
    until = "2026-07-17T03:00:00Z"
    sandbox.add_items(items=[{"marketHashName": "AWP | Neo-Noir (Factory New)", "tradableAfter": until}])
    sandbox.add_items(appid=440, items=[{"marketHashName": "Mann Co. Supply Crate Key", "tradableAfter": "2026-06-23T07:00:00Z"}])

    [cs2] = page(steam)["descriptions"]
    [tf2] = page(steam, appid=440)["descriptions"]

    assert cs2["owner_descriptions"][1]["value"] == "Tradable/Marketable After 17 Jul @ 3:00am"
    assert cs2["cache_expiration"] == until
    hold = [d for d in tf2["descriptions"] if d.get("name") == "attribute"]
    assert [(d["value"], d["color"]) for d in hold] == [("\nTradable After: Tuesday, June 23, 2026 (7:00:00) GMT", "d83636")]
    assert TF2_2026.match(hold[0]["value"]) and tf2["tradable"] == 0


def test_the_legacy_texts_are_a_switch(sandbox, steam):
    sandbox.set_config(holdDateFormat="legacy")
    sandbox.add_items(items=[{"marketHashName": "AWP | Neo-Noir (Factory New)", "tradableAfter": "2026-07-17T03:00:00Z"}])

    [cs2] = page(steam)["descriptions"]

    assert cs2["owner_descriptions"][1]["value"] == "Tradable/Marketable After Jul 17, 2026 (3:00:00) GMT"


def test_a_tf2_hold_ends_and_its_notice_goes(sandbox, steam):
    until = sandbox.call("GET", "/sandbox/clock")["now"] + 3600
    sandbox.add_items(appid=440, items=[{"marketHashName": "Mann Co. Supply Crate Key", "tradableAfter": until}])

    sandbox.advance_clock(3601)

    [free] = page(steam, appid=440)["descriptions"]
    assert free["tradable"] == 1 and not [d for d in free["descriptions"] if "Tradable After" in d["value"]]


@pytest.mark.parametrize("text, now, expected", [
    ("Tradable/Marketable After 17 Jul @ 3:00am", "2026-07-10T00:00:00", "2026-07-17T03:00:00"),
    ("Tradable/Marketable After 2 Jan @ 12:30pm", "2026-12-28T00:00:00", "2027-01-02T12:30:00"),  # across New Year
    ("Tradable/Marketable After 31 Dec @ 12:00am", "2026-12-30T10:00:00", "2026-12-31T00:00:00"),
    ("\nTradable After: Tuesday, June 23, 2026 (7:00:00) GMT", "2026-06-01T00:00:00", "2026-06-23T07:00:00"),
    ("Tradable/Marketable After Jul 11, 2025 (2:00:00) GMT", "2025-07-01T00:00:00", "2025-07-11T02:00:00"),
    ("Tradable/Marketable After Jul 11, 2025 (2:00:00)", "2025-07-01T00:00:00", "2025-07-11T02:00:00"),
    ("This item is trade-protected and cannot be consumed, modified, or transferred until Jul 23, 2025 (7:00:00) GMT",
     "2025-07-01T00:00:00", "2025-07-23T07:00:00"),
])
def test_the_sandbox_reads_back_every_hold_text(text, now, expected):
    at = datetime.fromisoformat(now).replace(tzinfo=timezone.utc).timestamp()

    assert parse_hold_text(text, now=at) == datetime.fromisoformat(expected).replace(tzinfo=timezone.utc)


# ---------------------------------------------------------------- pacing
def test_inventory_pages_faster_than_the_pacing_get_429(sandbox, steam):
    sandbox.generate_inventory(3)
    sandbox.set_config(inventoryMinIntervalSeconds=30)

    first = steam._session.get(f"https://steamcommunity.com/inventory/{BOT}/730/2", params={"count": 10})
    second = steam._session.get(f"https://steamcommunity.com/inventory/{BOT}/730/2", params={"count": 10})

    assert (first.status_code, second.status_code, second.text) == (200, 429, "null")


def test_a_rate_limit_fault_can_say_retry_after(sandbox, steam):
    sandbox.set_fault("rate_limit", count=1, pathPrefix="/inventory/", retryAfterSeconds=7)

    limited = steam._session.get(f"https://steamcommunity.com/inventory/{BOT}/730/2", params={"count": 10})

    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
