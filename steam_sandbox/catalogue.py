"""Item classes for generated inventories, shaped like real Steam descriptions
(the real captures in tests/fixtures/steam/: inventory_with_properties.json, get_trade_offers.json).

Class ids are derived from the market hash name, so the same item always has the
same classid; the two CS2 items of the real fixture keep their real class ids.
"""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import datetime, timezone

from .inventory import format_hold_date, format_hold_date_cs2_2026, format_hold_date_tf2_2026

_RARITIES = {
    # name: (internal name, colour)
    "Consumer Grade": ("Rarity_Common_Weapon", "b0c3d9"),
    "Industrial Grade": ("Rarity_Uncommon_Weapon", "5e98d9"),
    "Mil-Spec Grade": ("Rarity_Rare_Weapon", "4b69ff"),
    "Restricted": ("Rarity_Mythical_Weapon", "8847ff"),
    "Classified": ("Rarity_Legendary_Weapon", "d32ce6"),
    "Covert": ("Rarity_Ancient_Weapon", "eb4b4b"),
}
_WEAPON_TYPES = {
    "SMG": "CSGO_Type_SMG",
    "Rifle": "CSGO_Type_Rifle",
    "Sniper Rifle": "CSGO_Type_SniperRifle",
    "Pistol": "CSGO_Type_Pistol",
    "Shotgun": "CSGO_Type_Shotgun",
    "Machinegun": "CSGO_Type_Machinegun",
}
WEARS = [
    # exterior, internal tag, float range
    ("Factory New", "WearCategory0", 0.0, 0.07),
    ("Minimal Wear", "WearCategory1", 0.07, 0.15),
    ("Field-Tested", "WearCategory2", 0.15, 0.38),
    ("Well-Worn", "WearCategory3", 0.38, 0.45),
    ("Battle-Scarred", "WearCategory4", 0.45, 1.0),
]
_DN = ("The Dreams & Nightmares Collection", "set_community_30")
# weapon, weapon tag, type, skin, rarity, collection
CS2_SKINS = [
    ("MP7", "weapon_mp7", "SMG", "Short Ochre", "Consumer Grade", ("The Radiant Collection", "set_timed_drops_warm")),
    ("AWP", "weapon_awp", "Sniper Rifle", "Neo-Noir", "Covert", ("The Danger Zone Collection", "set_community_21")),
    ("AK-47", "weapon_ak47", "Rifle", "Nightwish", "Covert", _DN),
    ("MP9", "weapon_mp9", "SMG", "Starlight Protector", "Covert", _DN),
    ("Dual Berettas", "weapon_elite", "Pistol", "Melondrama", "Classified", _DN),
    ("FAMAS", "weapon_famas", "Rifle", "Rapid Eye Movement", "Classified", _DN),
    ("MP7", "weapon_mp7", "SMG", "Abyssal Apparition", "Classified", _DN),
    ("PP-Bizon", "weapon_bizon", "SMG", "Space Cat", "Restricted", _DN),
    ("G3SG1", "weapon_g3sg1", "Sniper Rifle", "Dream Glade", "Restricted", _DN),
    ("M4A1-S", "weapon_m4a1_silencer", "Rifle", "Night Terror", "Restricted", _DN),
    ("XM1014", "weapon_xm1014", "Shotgun", "Zombie Offensive", "Restricted", _DN),
    ("USP-S", "weapon_usp_silencer", "Pistol", "Ticket to Hell", "Restricted", _DN),
    ("Five-SeveN", "weapon_fiveseven", "Pistol", "Scrawl", "Mil-Spec Grade", _DN),
    ("MAC-10", "weapon_mac10", "SMG", "Ensnared", "Mil-Spec Grade", _DN),
    ("MAG-7", "weapon_mag7", "Shotgun", "Foresight", "Mil-Spec Grade", _DN),
    ("MP5-SD", "weapon_mp5sd", "SMG", "Necro Jr.", "Mil-Spec Grade", _DN),
    ("P2000", "weapon_hkp2000", "Pistol", "Lifted Spirits", "Mil-Spec Grade", _DN),
    ("SCAR-20", "weapon_scar20", "Sniper Rifle", "Poultrygeist", "Mil-Spec Grade", _DN),
    ("Sawed-Off", "weapon_sawedoff", "Shotgun", "Spirit Board", "Mil-Spec Grade", _DN),
    ("Negev", "weapon_negev", "Machinegun", "Ultralight", "Classified", ("The Snakebite Collection", "set_community_28")),
    ("Glock-18", "weapon_glock", "Pistol", "Water Elemental", "Classified", ("The Chroma 2 Collection", "set_community_7")),
    ("Desert Eagle", "weapon_deagle", "Pistol", "Printstream", "Covert", ("The Fracture Collection", "set_community_27")),
]
CS2_CONTAINERS = [
    ("Dreams & Nightmares Case", "The Dreams & Nightmares Collection", "set_community_30"),
    ("Fracture Case", "The Fracture Collection", "set_community_27"),
    ("Snakebite Case", "The Snakebite Collection", "set_community_28"),
    ("Recoil Case", "The Recoil Collection", "set_community_31"),
]
# The real class ids of the fixture's items.
_KNOWN_CLASSIDS = {
    "MP7 | Short Ochre (Minimal Wear)": ("6918207757", "302028390"),
    "Dreams & Nightmares Case": ("4717330486", "302028390"),
}
TF2_ITEMS = [
    # name, type, quality, quality colour, tags type, commodity
    ("Mann Co. Supply Crate Key", "Level 5 Tool", "Unique", "7D6D00", "Tool", True),
    ("Refined Metal", "Level 3 Craft Item", "Unique", "7D6D00", "Craft Item", True),
    ("Battle-Worn Robot Money Furnace", "Level 1 Robot Part", "Unique", "7D6D00", "Craft Item", True),
    ("Unusual Trophy Belt", "Limited Level 64 Hat", "Unusual", "8650AC", "Cosmetic", False),
    ("Strange Rocket Launcher", "Strange Rocket Launcher - Kills: 0", "Strange", "CF6A32", "Primary weapon", False),
    ("Tour of Duty Ticket", "Level 1 Ticket", "Unique", "7D6D00", "Tool", True),
]


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("|".join(parts).encode()).digest()


def classid_for(appid: int, market_hash_name: str) -> str:
    known = _KNOWN_CLASSIDS.get(market_hash_name)
    if known and appid == 730:
        return known[0]
    return str(1_000_000_000 + int.from_bytes(_digest(str(appid), market_hash_name)[:8], "big") % 8_999_999_999)


def icon_for(market_hash_name: str) -> str:
    # Steam icon URLs are long opaque base64url strings; these only need to look like them.
    raw = _digest("icon", market_hash_name) * 4
    return "i0CoZ81Ui0m-9KwlBY1L_18myuGuq1wfhWSaZgMttyVf" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _tag(category, internal, category_name, tag_name, color=None) -> dict:
    tag = {
        "category": category,
        "internal_name": internal,
        "localized_category_name": category_name,
        "localized_tag_name": tag_name,
    }
    if color:
        tag["color"] = color
    return tag


def cs2_skin_description(skin: tuple, wear: tuple, *, instanceid: str = "302028390") -> dict:
    weapon, weapon_tag, wtype, name, rarity, (collection, set_internal) = skin
    exterior, wear_tag = wear[0], wear[1]
    market_hash_name = f"{weapon} | {name} ({exterior})"
    rarity_internal, rarity_colour = _RARITIES[rarity]
    inspect = "steam://rungame/730/76561202255233023/+csgo_econ_action_preview%20{}%A%assetid%D" + str(
        int.from_bytes(_digest("inspect", market_hash_name)[:7], "big")
    )
    return {
        "appid": 730,
        "classid": classid_for(730, market_hash_name),
        "instanceid": instanceid,
        "currency": 0,
        "background_color": "",
        "icon_url": icon_for(market_hash_name),
        "descriptions": [
            {"type": "html", "value": f"Exterior: {exterior}", "name": "exterior_wear"},
            {"type": "html", "value": " ", "name": "blank"},
            {"type": "html", "value": f"The {weapon} has been painted with the {name} finish.", "name": "description"},
            {"type": "html", "value": " ", "name": "blank"},
            {"type": "html", "value": collection, "color": "9da1a9", "name": "itemset_name"},
            {"type": "html", "value": " ", "name": "blank"},
        ],
        "tradable": 1,
        "actions": [{"link": inspect.format("S%owner_steamid"), "name": "Inspect in Game..."}],
        "name": f"{weapon} | {name}",
        "name_color": "D2D2D2",
        "type": f"{rarity} {wtype}",
        "market_name": market_hash_name,
        "market_hash_name": market_hash_name,
        "market_actions": [{"link": inspect.format("M%listingid"), "name": "Inspect in Game..."}],
        "commodity": 0,
        "market_tradable_restriction": 7,
        "market_marketable_restriction": 7,
        "marketable": 1,
        "tags": [
            _tag("Type", _WEAPON_TYPES[wtype], "Type", wtype),
            _tag("Weapon", weapon_tag, "Weapon", weapon),
            _tag("ItemSet", set_internal, "Collection", collection),
            _tag("Quality", "normal", "Category", "Normal"),
            _tag("Rarity", rarity_internal, "Quality", rarity, rarity_colour),
            _tag("Exterior", wear_tag, "Exterior", exterior),
        ],
    }


def cs2_container_description(container: tuple, *, instanceid: str = "302028390") -> dict:
    name, collection, set_internal = container
    return {
        "appid": 730,
        "classid": classid_for(730, name),
        "instanceid": instanceid,
        "currency": 0,
        "background_color": "",
        "icon_url": icon_for(name),
        "descriptions": [
            {"type": "html", "value": " ", "name": "blank"},
            {"type": "html", "value": "Contains one of the following:", "name": "attribute"},
            {"type": "html", "value": "or an Exceedingly Rare Special Item!", "color": "ffd700", "name": "attribute"},
        ],
        "tradable": 1,
        "name": name,
        "name_color": "D2D2D2",
        "type": "Base Grade Container",
        "market_name": name,
        "market_hash_name": name,
        "commodity": 1,
        "market_tradable_restriction": 7,
        "market_marketable_restriction": 7,
        "marketable": 1,
        "tags": [
            _tag("Type", "CSGO_Type_WeaponCase", "Type", "Container"),
            _tag("ItemSet", set_internal, "Collection", collection),
            _tag("Quality", "normal", "Category", "Normal"),
            _tag("Rarity", "Rarity_Common", "Quality", "Base Grade", "b0c3d9"),
        ],
    }


def tf2_description(item: tuple, *, instanceid: str = "0") -> dict:
    name, type_, quality, colour, tag_type, commodity = item
    return {
        "appid": 440,
        "classid": classid_for(440, name),
        "instanceid": instanceid,
        "currency": 0,
        "background_color": "3C352E",
        "icon_url": icon_for(name),
        "descriptions": [{"type": "text", "value": f"{name}: a Team Fortress 2 item."}],
        "tradable": 1,
        "actions": [{"link": "http://wiki.teamfortress.com/scripts/itemredirect.php?id=5021&lang=en_US", "name": "Item Wiki Page..."}],
        "name": name,
        "name_color": colour,
        "type": type_,
        "market_name": name,
        "market_hash_name": name,
        "commodity": 1 if commodity else 0,
        "market_tradable_restriction": 7,
        "market_marketable_restriction": 0,
        "marketable": 1,
        "tags": [
            _tag("Quality", quality.lower(), "Quality", quality, colour),
            _tag("Type", tag_type.lower().replace(" ", "_"), "Type", tag_type),
        ],
    }


TF2_HOLD_COLOUR = "d83636"


def with_trade_hold(data: dict, until: datetime, *, protected: bool = False, style: str = "legacy") -> dict:
    """An untradable variant of a class: tradable 0 and the notice Steam shows, plus
    `cache_expiration`.

    `style` "2026" gives this year's texts: CS2 "Tradable/Marketable After 17 Jul @
    3:00am" (GMT, no year; a trade-protected item says the same and is `sealed`) and
    TF2 "Tradable After: Tuesday, June 23, 2026 (7:00:00) GMT" among the
    descriptions. "legacy" gives "Tradable/Marketable After Jul 17, 2026 (3:00:00) GMT",
    and the trade-protection sentence of July 2025 for a protected item."""
    until = until.astimezone(timezone.utc).replace(microsecond=0)
    appid = int(data.get("appid", 0))
    held = dict(data)
    held["tradable"] = 0
    if style == "2026" and appid == 730:
        until = until.replace(second=0)  # the text shows minutes only: the hold ends when it says
        notice = f"Tradable/Marketable After {format_hold_date_cs2_2026(until)}"
        held["owner_descriptions"] = [
            {"type": "html", "value": " ", "name": "blank"},
            {"type": "html", "value": notice, "color": "ff4040", "name": "attribute"},
        ]
        if protected:
            held["sealed"], held["sealed_type"] = 1, 0  # 0: trade-protected
    elif style == "2026" and appid == 440:
        held["descriptions"] = [
            *(d for d in data.get("descriptions") or [] if not _is_tf2_hold(d)),
            {"type": "text", "value": f"\nTradable After: {format_hold_date_tf2_2026(until)} GMT",
             "color": TF2_HOLD_COLOUR, "name": "attribute"},
        ]
    else:
        text = (
            f"This item is trade-protected and cannot be consumed, modified, or transferred until {format_hold_date(until)} GMT"
            if protected
            else f"Tradable/Marketable After {format_hold_date(until)} GMT"
        )
        held["owner_descriptions"] = [
            {"type": "html", "value": " ", "name": "blank"},
            {"type": "html", "value": text, "color": "ff4040", "name": "attribute"},
        ]
    held["cache_expiration"] = until.strftime("%Y-%m-%dT%H:%M:%SZ")
    salt = f"hold:{int(until.timestamp())}:{protected}" + ("" if style == "legacy" else f":{style}")
    held["instanceid"] = variant_instanceid(data, salt)
    return held


def _is_tf2_hold(entry) -> bool:
    return isinstance(entry, dict) and str(entry.get("value", "")).lstrip().startswith("Tradable After:")


def without_trade_hold(data: dict) -> dict:
    free = {k: v for k, v in data.items() if k not in ("owner_descriptions", "cache_expiration", "sealed", "sealed_type")}
    if isinstance(data.get("descriptions"), list):
        free["descriptions"] = [d for d in data["descriptions"] if not _is_tf2_hold(d)]
    free["tradable"] = 1
    free["instanceid"] = variant_instanceid(data, "released")
    return free


def variant_instanceid(data: dict, salt: str) -> str:
    """A distinct, stable instance id for a changed copy of a class (Steam gives an
    item whose description changes — a name tag, a hold — a new instance id)."""
    return str(int.from_bytes(_digest(str(data.get("classid")), str(data.get("instanceid")), salt)[:5], "big"))


def skin_properties(rng: random.Random, wear: tuple) -> list[dict]:
    low, high = wear[2], wear[3]
    value = low + (high - low) * rng.random()
    return [
        {"propertyid": 2, "float_value": f"{value:.18f}", "name": "Wear Rating"},
        {"propertyid": 1, "int_value": str(rng.randrange(0, 1000)), "name": "Pattern Template"},
    ]


def skin_properties_json(rng: random.Random, wear: tuple) -> str:
    """`skin_properties` as JSON text, written directly (100,000 json.dumps calls would
    dominate generating a big inventory)."""
    low, high = wear[2], wear[3]
    value = low + (high - low) * rng.random()
    return (
        f'[{{"propertyid":2,"float_value":"{value:.18f}","name":"Wear Rating"}},'
        f'{{"propertyid":1,"int_value":"{rng.randrange(0, 1000)}","name":"Pattern Template"}}]'
    )


def class_pool(appid: int, size: int) -> list[tuple[dict, tuple | None]]:
    """`size` distinct classes of `appid` as (description, wear or None)."""
    pool: list[tuple[dict, tuple | None]] = []
    if appid == 440:
        base = [(tf2_description(item), None) for item in TF2_ITEMS]
    else:
        base = [(cs2_skin_description(skin, wear), wear) for skin in CS2_SKINS for wear in WEARS]
        base += [(cs2_container_description(c), None) for c in CS2_CONTAINERS]
    round_ = 0
    while len(pool) < size:
        for data, wear in base:
            if len(pool) >= size:
                break
            if round_:
                # More classes than the catalogue has: the same items with other
                # instance ids (Steam gives e.g. differently stickered copies their own).
                data = dict(data, instanceid=variant_instanceid(data, f"round{round_}"))
            pool.append((data, wear))
        round_ += 1
    return pool


def generate(appid: int, count: int, *, seed: int, classes: int | None = None, with_properties: bool = True):
    """Yield (description, properties JSON or None) for `count` generated items,
    deterministic in `seed`."""
    rng = random.Random(seed)
    pool = class_pool(appid, max(1, min(classes or min(count, 500), count or 1)))
    for _ in range(count):
        data, wear = pool[rng.randrange(len(pool))]
        props = skin_properties_json(rng, wear) if (with_properties and wear is not None) else None
        yield data, props


def description_from_spec(appid: int, spec: dict) -> dict:
    """A class from a short control-API spec: {"marketHashName": ..., "name", "type", "tradable"}."""
    name = str(spec.get("marketHashName") or spec.get("name") or "Sandbox Item")
    for skin in CS2_SKINS:
        for wear in WEARS:
            if appid == 730 and f"{skin[0]} | {skin[3]} ({wear[0]})" == name:
                return cs2_skin_description(skin, wear)
    for container in CS2_CONTAINERS:
        if appid == 730 and container[0] == name:
            return cs2_container_description(container)
    for item in TF2_ITEMS:
        if appid == 440 and item[0] == name:
            return tf2_description(item)
    return {
        "appid": appid,
        "classid": classid_for(appid, name),
        "instanceid": "0",
        "currency": 0,
        "background_color": "",
        "icon_url": icon_for(name),
        "descriptions": [],
        "tradable": 1,
        "name": str(spec.get("name") or name),
        "name_color": "D2D2D2",
        "type": str(spec.get("type") or "Item"),
        "market_name": name,
        "market_hash_name": name,
        "commodity": 0,
        "market_tradable_restriction": 7,
        "market_marketable_restriction": 7,
        "marketable": 1,
        "tags": [],
    }
