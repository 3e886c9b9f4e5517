"""A realistic demo state for `make demo`: the bot's CS2 inventory (the real fixture's
items plus catalogue items, a few of them under a trade hold that ends a few days from
now) and a few TF2 items, plus three demo users with fixed steam ids and trade URLs.

Loaded by `POST /sandbox/seed` and `python -m steam_sandbox --seed`.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .. import catalogue

DEMO_USERS = [
    {"steamId": 76561198155110999, "personaName": "engineer trading", "behaviour": "accept", "delaySeconds": 5, "tradeToken": "eNgTr4d3"},
    {"steamId": 76561198155111000, "personaName": "slow poke", "behaviour": "ignore", "tradeToken": "sL0wP0k3"},
    {"steamId": 76561198155111001, "personaName": "says no", "behaviour": "decline", "delaySeconds": 10, "tradeToken": "n0Th4nkS"},
]

_FIXTURE = Path(__file__).with_name("fixture_items.json")


def cs2_inventory(now: datetime, *, hold_style: str = "2026") -> dict:
    fixture = json.loads(_FIXTURE.read_text())
    rng = random.Random(730)
    descriptions = {(d["classid"], d["instanceid"]): d for d in fixture["descriptions"]}
    # (description, properties) from newest to oldest; the fixture's two items first.
    items = [(fixture["descriptions"][0], fixture["asset_properties"][0]), (fixture["descriptions"][1], None)]
    picks = [
        ("AWP", "Neo-Noir", "Factory New"), ("AK-47", "Nightwish", "Field-Tested"), ("MP9", "Starlight Protector", "Minimal Wear"),
        ("Desert Eagle", "Printstream", "Field-Tested"), ("M4A1-S", "Night Terror", "Factory New"), ("USP-S", "Ticket to Hell", "Well-Worn"),
        ("Glock-18", "Water Elemental", "Minimal Wear"), ("FAMAS", "Rapid Eye Movement", "Battle-Scarred"),
        ("Dual Berettas", "Melondrama", "Field-Tested"), ("PP-Bizon", "Space Cat", "Minimal Wear"), ("G3SG1", "Dream Glade", "Field-Tested"),
        ("XM1014", "Zombie Offensive", "Factory New"), ("Five-SeveN", "Scrawl", "Minimal Wear"), ("MAC-10", "Ensnared", "Field-Tested"),
        ("MAG-7", "Foresight", "Well-Worn"), ("MP5-SD", "Necro Jr.", "Factory New"), ("P2000", "Lifted Spirits", "Battle-Scarred"),
        ("Negev", "Ultralight", "Field-Tested"), ("AK-47", "Nightwish", "Minimal Wear"), ("MP7", "Abyssal Apparition", "Field-Tested"),
    ]
    skins = {(s[0], s[3]): s for s in catalogue.CS2_SKINS}
    wears = {w[0]: w for w in catalogue.WEARS}
    for weapon, skin, wear in picks:
        data = catalogue.cs2_skin_description(skins[(weapon, skin)], wears[wear])
        items.append((data, catalogue.skin_properties(rng, wears[wear])))
    for container in catalogue.CS2_CONTAINERS[1:]:
        items.append((catalogue.cs2_container_description(container), None))
    items.append((fixture["descriptions"][1], None))  # a second Dreams & Nightmares Case
    # Three recent purchases still under Steam's trade hold.
    for n, (weapon, skin, wear) in enumerate([("AWP", "Neo-Noir", "Minimal Wear"), ("SCAR-20", "Poultrygeist", "Field-Tested"), ("Sawed-Off", "Spirit Board", "Factory New")]):
        until = (now + timedelta(days=2 + 2 * n)).replace(minute=0, second=0, microsecond=0)
        data = catalogue.with_trade_hold(catalogue.cs2_skin_description(skins[(weapon, skin)], wears[wear]), until, style=hold_style)
        items.insert(2 + n, (data, catalogue.skin_properties(rng, wears[wear])))
    assets, props = [], []
    next_id = 46153215277
    for data, properties in items:
        descriptions.setdefault((data["classid"], data["instanceid"]), data)
        assetid = str(next_id)
        next_id -= 1 if next_id == 46153215277 else 7
        assets.append({"appid": 730, "contextid": "2", "assetid": assetid, "classid": data["classid"], "instanceid": data["instanceid"], "amount": "1"})
        if properties:
            props.append({"appid": 730, "contextid": "2", "assetid": assetid, "asset_properties": properties})
    return {"assets": assets, "descriptions": list(descriptions.values()), "asset_properties": props, "success": 1}


def tf2_inventory() -> dict:
    picks = [catalogue.TF2_ITEMS[i] for i in (0, 0, 1, 2, 3)]
    assets, descriptions = [], {}
    for n, item in enumerate(picks):
        data = catalogue.tf2_description(item)
        descriptions[(data["classid"], data["instanceid"])] = data
        assets.append({"appid": 440, "contextid": "2", "assetid": str(11145843479 - 3 * n), "classid": data["classid"], "instanceid": data["instanceid"], "amount": "1"})
    return {"assets": assets, "descriptions": list(descriptions.values()), "success": 1}


def load(state) -> dict:
    """Replace the bot's 730/2 and 440/2 inventories with the seed; add the demo users."""
    with state.lock:
        now = datetime.fromtimestamp(state.now(), timezone.utc)
        users = []
        for spec in DEMO_USERS:
            if spec["steamId"] in state.users:
                users.append(state.users.update(spec["steamId"], {k: v for k, v in spec.items() if k != "steamId"}))
            else:
                users.append(state.users.create(dict(spec)))
        bot = state.bot.steam_id
        cs2 = state.load_inventory(bot, 730, 2, cs2_inventory(now, hold_style=state.config["holdDateFormat"]))
        tf2 = state.load_inventory(bot, 440, 2, tf2_inventory())
        return {"inventories": [cs2, tf2], "users": users}
