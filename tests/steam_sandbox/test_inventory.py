"""The sandbox's inventory endpoint and the control API that shapes inventories,
over real HTTP (steampy's own session, routed by the gateway's transport adapter)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests
from steampy.exceptions import ApiException
from steampy.models import GameOptions

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "steam"  # real Steam captures (see its README)
BOT = 76561198080179568
INVENTORY_URL = f"https://steamcommunity.com/inventory/{BOT}/730/2"


@pytest.fixture
def steam(sandbox):
    """A logged-in steampy client on a clean sandbox."""
    client = sandbox.steampy_client()
    client.login()
    return client


def page(steam, url=INVENTORY_URL, **params):
    params = {"l": "english", "count": 1000, **params}
    return steam._session.get(url, params=params)


def read_all(steam, count=1000, url=INVENTORY_URL):
    pages, start = [], None
    while True:
        extra = {"start_assetid": start} if start else {}
        resp = page(steam, url, count=count, **extra)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        pages.append(body)
        if not body.get("more_items"):
            return pages
        start = body["last_assetid"]


@pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"the real Steam fixtures folder {FIXTURES} is absent")
def test_the_real_fixture_page_loads_as_is_and_is_served_back_unchanged(sandbox, steam):
    fixture = json.loads((FIXTURES / "inventory_with_properties.json").read_text())
    assert sandbox.load_inventory(fixture)["count"] == 2

    body = page(steam).json()

    assert body["assets"] == fixture["assets"]
    assert body["descriptions"] == fixture["descriptions"]
    assert body["asset_properties"] == fixture["asset_properties"]
    assert body["success"] == 1 and body["total_inventory_count"] == 2
    assert "more_items" not in body and "last_assetid" not in body
    # steampy's own parsing of the page works too.
    items = steam.get_my_inventory(GameOptions.CS, count=1000)
    assert items["46153215277"]["market_hash_name"] == "MP7 | Short Ochre (Minimal Wear)"


def test_paging_10000_items_has_no_duplicates_and_no_gaps(sandbox, steam):
    sandbox.generate_inventory(10_000, seed=3)
    expected = sandbox.asset_ids()

    pages = read_all(steam, count=1000)

    seen = [a["assetid"] for p in pages for a in p["assets"]]
    assert len(pages) == 10
    assert seen == expected  # newest first, every asset once
    for p in pages:
        assert p["total_inventory_count"] == 10_000
        classes = {(d["classid"], d["instanceid"]) for d in p["descriptions"]}
        assert all((a["classid"], a["instanceid"]) in classes for a in p["assets"])
        with_props = {x["assetid"] for x in p.get("asset_properties", [])}
        assert with_props <= {a["assetid"] for a in p["assets"]}
    assert all(p["more_items"] == 1 and p["last_assetid"] == p["assets"][-1]["assetid"] for p in pages[:-1])
    assert "more_items" not in pages[-1] and "last_assetid" not in pages[-1]


def test_a_page_after_assets_vanished_continues_where_it_should(sandbox, steam):
    sandbox.generate_inventory(300, seed=4)
    first = page(steam, count=100).json()
    ids = sandbox.asset_ids()
    # The asset the next page starts after, and two that page would hold, disappear.
    sandbox.remove_assets([first["last_assetid"], ids[100], ids[150]])

    rest = read_all_from(steam, first["last_assetid"])

    got = [a["assetid"] for a in first["assets"]] + rest
    assert len(got) == len(set(got))
    assert set(got) == set(ids) - {ids[100], ids[150]}


def read_all_from(steam, start):
    out = []
    while start:
        body = page(steam, count=100, start_assetid=start).json()
        out += [a["assetid"] for a in body.get("assets", [])]
        start = body.get("last_assetid")
    return out


def test_count_above_the_limit_is_http_400_with_a_null_body(sandbox, steam):
    sandbox.generate_inventory(5, seed=1)

    resp = page(steam, count=1001)
    assert (resp.status_code, resp.text) == (400, "null")
    assert page(steam, count=1000).status_code == 200
    # steampy's default count=5000 fails like it does against Steam since 2025-05.
    with pytest.raises(ApiException):
        steam.get_my_inventory(GameOptions.CS)

    sandbox.set_config(inventoryCountLimit=2500)
    assert page(steam, count=2500).status_code == 200
    assert page(steam, count=0).status_code == 400
    assert page(steam, count="lots").status_code == 400


def test_an_empty_inventory_has_no_assets_key(sandbox, steam):
    resp = page(steam)
    assert resp.json() == {"total_inventory_count": 0, "success": 1, "rwgrsn": -2}
    assert steam.get_my_inventory(GameOptions.CS, count=1000) == {}


def test_the_bot_inventory_needs_the_bots_session_user_inventories_are_public(sandbox):
    sandbox.generate_inventory(3)
    user = sandbox.create_user()
    sandbox.add_items(account=user["steamId"], count=2)
    anonymous = sandbox.steam_session()

    resp = anonymous.get(INVENTORY_URL, params={"count": 100})
    assert (resp.status_code, resp.text) == (403, "null")
    user_url = f"https://steamcommunity.com/inventory/{user['steamId']}/730/2"
    assert len(anonymous.get(user_url, params={"count": 100}).json()["assets"]) == 2

    sandbox.update_user(user["steamId"], privateInventory=True)
    assert anonymous.get(user_url, params={"count": 100}).status_code == 403


def test_removed_assets_vanish_unknown_ones_are_reported(sandbox, steam):
    sandbox.generate_inventory(4)
    ids = sandbox.asset_ids()

    result = sandbox.remove_assets([ids[0], "123"])

    assert result == {"removed": [ids[0]], "unknown": ["123"], "count": 3}
    assert [a["assetid"] for a in page(steam).json()["assets"]] == ids[1:]


def test_changing_a_description_gives_a_new_instance_id_and_keeps_the_asset_id(sandbox, steam):
    sandbox.add_items(items=[{"marketHashName": "AK-47 | Nightwish (Field-Tested)"}])
    asset = sandbox.inventory()["assets"][0]

    renamed = sandbox.update_asset(asset["assetid"], name="My AK", tradable=False)

    body = page(steam).json()
    assert body["assets"][0]["assetid"] == asset["assetid"]
    assert body["assets"][0]["instanceid"] == renamed["instanceid"] != asset["instanceid"]
    description = body["descriptions"][0]
    assert (description["name"], description["tradable"]) == ("My AK", 0)


def test_a_trade_hold_shows_steams_notice_and_ends_on_the_sandbox_clock(sandbox, steam):
    sandbox.add_items(items=[{"marketHashName": "AWP | Neo-Noir (Factory New)", "tradableAfter": "2099-01-01T00:00:00Z"}])
    now = sandbox.call("GET", "/sandbox/clock")["now"]
    asset = sandbox.inventory()["assets"][0]
    held_until = now + 3 * 86400
    sandbox.update_asset(asset["assetid"], tradableAfter=held_until)

    held = page(steam).json()["descriptions"][0]
    assert held["tradable"] == 0
    # Steam's 2026 CS2 notice: day first, no year, GMT, minutes only.
    assert re.fullmatch(r"Tradable/Marketable After \d{1,2} [A-Z][a-z]{2} @ \d{1,2}:\d{2}(am|pm)",
                        held["owner_descriptions"][1]["value"])
    assert held["cache_expiration"].endswith("Z")

    sandbox.advance_clock(3 * 86400 + 1)

    steam.login()  # three days on, on the sandbox clock: the day-long access token has expired
    released = page(steam).json()
    assert released["assets"][0]["assetid"] == asset["assetid"]
    assert released["descriptions"][0]["tradable"] == 1
    assert "owner_descriptions" not in released["descriptions"][0]


def test_generated_inventories_are_deterministic_in_the_seed(sandbox):
    def classes():
        return [(a["classid"], a["instanceid"], a["properties"]) for a in sandbox.inventory()["assets"]]

    sandbox.generate_inventory(50, seed=9)
    first = classes()
    sandbox.generate_inventory(50, seed=9)
    assert classes() == first
    sandbox.generate_inventory(50, seed=10)
    assert classes() != first


def test_the_seed_is_a_realistic_bot(sandbox, steam):
    result = sandbox.seed()

    cs2 = page(steam).json()
    tf2 = page(steam, f"https://steamcommunity.com/inventory/{BOT}/440/2").json()
    assert 25 <= cs2["total_inventory_count"] <= 35 and tf2["total_inventory_count"] == 5
    held = [d for d in cs2["descriptions"] if d["tradable"] == 0]
    assert len(held) == 3 and all("Tradable/Marketable After" in d["owner_descriptions"][1]["value"] for d in held)
    assert {"46153215277", "46153215276"} <= {a["assetid"] for a in cs2["assets"]}
    assert [u["personaName"] for u in result["users"]] == ["engineer trading", "slow poke", "says no"]


def test_bad_control_requests_change_nothing_and_say_why(sandbox):
    sandbox.generate_inventory(2)
    before = sandbox.asset_ids()
    http = requests.Session()

    cases = [
        ("POST", "/sandbox/inventories/bot/730/2", ["not", "an", "object"], 400, "bad_request"),
        ("POST", "/sandbox/inventories/bot/730/2", {"assets": [{"assetid": "1", "classid": "9", "instanceid": "0"}]}, 400, "bad_request"),
        ("POST", "/sandbox/inventories/76561198000000001/730/2", {}, 404, "not_found"),
        ("POST", "/sandbox/inventories/bot/730/2/generate", {"count": -1}, 400, "bad_request"),
        ("POST", "/sandbox/users", {"behaviour": "maybe"}, 400, "bad_request"),
        ("POST", "/sandbox/faults", {"kind": "meteor"}, 400, "bad_request"),
        ("POST", "/sandbox/config", {"inventoryCountLimit": "many"}, 400, "bad_request"),
        ("DELETE", "/sandbox/users", None, 405, "method_not_allowed"),
        ("GET", "/sandbox/nowhere", None, 404, "not_found"),
    ]
    for method, path, body, status, code in cases:
        resp = http.request(method, sandbox.url + path, json=body)
        assert (resp.status_code, resp.json()["error"]) == (status, code), (method, path, resp.text)
    raw = http.post(sandbox.url + "/sandbox/users", data="{not json", headers={"Content-Type": "application/json"})
    assert (raw.status_code, raw.json()["error"]) == (400, "bad_request")
    assert sandbox.asset_ids() == before
    assert sandbox.state()["users"] == 0


def test_state_summary_counts_what_is_there(sandbox):
    sandbox.generate_inventory(7)
    sandbox.generate_inventory(2, appid=440)
    sandbox.create_user()

    state = sandbox.state()

    assert state["botItemCount"] == 9
    assert {(i["appid"], i["count"]) for i in state["inventories"]} == {(730, 7), (440, 2)}
    assert state["users"] == 1 and state["offers"]["total"] == 0
