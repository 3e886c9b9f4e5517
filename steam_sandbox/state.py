"""The sandbox's world: inventories, users, trade offers, trades, confirmations,
login sessions, prices, faults, and their persistence.

Everything runs under one lock (`SandboxState.lock`); the HTTP routes take it for the
length of a request. Time-based transitions (a user accepting after N seconds, offer
expiry, escrow release, the end of a trade hold) are evaluated lazily by `tick()` at
the start of every request against the sandbox clock (real time plus an offset the
control API can advance), so tests are deterministic and no background thread
changes the world behind a test's back.
"""

from __future__ import annotations

import copy
import hashlib
import heapq
import json
import secrets
import string
import threading
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import catalogue
from .account import STEAMID64_BASE, BotAccount
from .crypto import LoginKey, TokenSigner, atomic_write_text, load_or_create_secret, totp_valid
from .errors import ControlError, Refused, bad_request, invalid_state, not_found
from .inventory import Asset, Description, Inventory

STATE_NAMES = {
    1: "Invalid",
    2: "Active",
    3: "Accepted",
    4: "Countered",
    5: "Expired",
    6: "Canceled",
    7: "Declined",
    8: "InvalidItems",
    9: "CreatedNeedsConfirmation",
    10: "CanceledBySecondFactor",
    11: "InEscrow",
    12: "Reverted",
}
LIVE_STATES = frozenset({2, 9, 11})
BEHAVIOURS = ("accept", "decline", "ignore", "counter", "escrow")
TRADE_COMPLETE, TRADE_IN_ESCROW, TRADE_PROTECTION_ROLLBACK = 3, 10, 12

DEFAULT_CONFIG = {
    # Offers expire this long after they are created (Steam: 14 days).
    "offerLifetimeSeconds": 14 * 86400,
    # /inventory answers HTTP 400 `null` to a larger `count` (Steam since 2025-05).
    "inventoryCountLimit": 1000,
    # `count` when the request has none.
    "inventoryDefaultCount": 75,
    # Offers per GetTradeOffers page (sent + received) before `next_cursor` paging.
    "tradeOffersPageSize": 100,
    # Hold of an `escrow` user that sets no `escrowDays`.
    "escrowDays": 15,
    # Items the bot receives in CS2 (730) trades land in context 16, trade-protected
    # for `tradeProtectionDays`, then move to context 2 (Steam since July 2025).
    "tradeProtection": False,
    "tradeProtectionDays": 7,
    # Refuse sends until POST /trade/new/acknowledge (Steam since July 2025).
    "requireTradeAcknowledgement": False,
    # Lifetime of a steamLoginSecure access token (Steam: about a day).
    "accessTokenLifetimeSeconds": 86400,
}
_CONFIG_TYPES = {
    "offerLifetimeSeconds": (int, 1, 10 * 365 * 86400),
    "inventoryCountLimit": (int, 1, 1_000_000),
    "inventoryDefaultCount": (int, 1, 1_000_000),
    "tradeOffersPageSize": (int, 1, 10_000),
    "escrowDays": (int, 0, 365),
    "tradeProtection": (bool, None, None),
    "tradeProtectionDays": (int, 0, 365),
    "requireTradeAcknowledgement": (bool, None, None),
    "accessTokenLifetimeSeconds": (int, 1, 10 * 365 * 86400),
}
FAULT_KINDS = {
    # kind: default path prefix (None = every Steam request)
    "rate_limit": None,
    "server_error": None,
    "latency": None,
    "send_timeout": "/tradeoffer/new/send",
    "send_error": "/tradeoffer/new/send",
    "empty_inventory": "/inventory/",
    "page_size_limit": "/inventory/",
}
MIN_STEAM_ID = STEAMID64_BASE + 1
MAX_STEAM_ID = STEAMID64_BASE + 2**32 - 1
_TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"


def _iso(ts: int | None) -> str | None:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None


def _parse_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool):
        raise bad_request(f"{name} must be an integer", field=name)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be an integer", field=name) from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise bad_request(f"{name} must be between {minimum} and {maximum}", field=name)
    return number


def _parse_bool(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    raise bad_request(f"{name} must be true or false", field=name)


def _parse_time(value, name: str) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise bad_request(f"{name} must be an ISO 8601 time or a unix time", field=name) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return int(moment.timestamp())
    raise bad_request(f"{name} must be an ISO 8601 time or a unix time", field=name)


class SandboxState:
    def __init__(self, state_dir: Path | str, bot: BotAccount | None = None, *, persist: bool = True,
                 key_cache: Path | None = None):
        self.lock = threading.RLock()
        self.bot = bot or BotAccount()
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.persist = persist
        self.signer = TokenSigner(load_or_create_secret(self.state_dir / "secret.key"))
        self.login_key = LoginKey(self.state_dir / "rsa_key.json", cache=key_cache)
        # Not persisted: faults are for the moment, pending logins are short-lived.
        self.faults: list[dict] = []
        self._fault_seq = 0
        self.request_log: deque[dict] = deque(maxlen=5000)
        self.request_seq = 0
        self.auth_sessions: dict[str, dict] = {}
        self._save_mutex = threading.Lock()
        self._saved_versions: dict = {}
        self._clear()
        self._load()

    # ------------------------------------------------------------------ basics
    def _clear(self) -> None:
        self.config = dict(DEFAULT_CONFIG)
        self.clock_offset = 0.0
        self.classes: dict[tuple[int, str, str], Description] = {}
        self.inventories: dict[tuple[int, int, int], Inventory] = {}
        self.users: dict[int, dict] = {}
        self.offers: dict[int, dict] = {}
        self.trades: dict[int, dict] = {}
        self.confirmations: dict[int, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.prices: dict[str, dict] = {}
        self.acknowledged = False
        self.counters = {
            "asset": 40_000_000_000,
            "offer": 6_100_000_000,
            "trade": 3_871_405_456_557_470_000,
            "confirmation": 13_799_599_785,
            "user": 76561198200000000,
        }
        self.live_offers: set[int] = set()
        self.holds: list[tuple[int, int, int, int, int]] = []
        self.core_version = 1
        self.classes_version = 1

    def now(self) -> int:
        return int(time.time() + self.clock_offset)

    def _touch(self) -> None:
        self.core_version += 1

    def _next(self, kind: str) -> int:
        self.counters[kind] += 1
        self._touch()
        return self.counters[kind]

    def _bump_asset_counter(self, assetid: int) -> None:
        # counters hold the last id handed out: new ids never reuse a loaded one.
        if assetid > self.counters["asset"]:
            self.counters["asset"] = assetid
            self._touch()

    def reset(self) -> None:
        with self.lock:
            versions = (self.core_version, self.classes_version)
            self._clear()
            # Versions only grow, so the persister sees the reset as a change.
            self.core_version, self.classes_version = versions[0] + 1, versions[1] + 1
            self.faults.clear()
            self.auth_sessions.clear()
            self.request_log.clear()

    # ------------------------------------------------------------------ config, clock
    def update_config(self, changes: dict) -> dict:
        if not isinstance(changes, dict):
            raise bad_request("the body must be a JSON object")
        unknown = sorted(set(changes) - set(_CONFIG_TYPES))
        if unknown:
            raise bad_request("unknown config keys", keys=unknown, known=sorted(_CONFIG_TYPES))
        parsed = {}
        for key, value in changes.items():
            kind, low, high = _CONFIG_TYPES[key]
            parsed[key] = _parse_bool(value, key) if kind is bool else _parse_int(value, key, minimum=low, maximum=high)
        self.config.update(parsed)
        self._touch()
        return dict(self.config)

    def advance_clock(self, seconds: int) -> None:
        self.clock_offset += seconds
        self._touch()

    # ------------------------------------------------------------------ accounts
    def resolve_owner(self, text: str) -> int:
        if text in ("bot", str(self.bot.steam_id)):
            return self.bot.steam_id
        try:
            steam_id = int(text)
        except ValueError:
            raise not_found(f"unknown account {text!r}: use 'bot' or a sandbox user's steamid") from None
        if steam_id not in self.users:
            raise not_found(f"unknown account {text!r}: create the user first (POST /sandbox/users)")
        return steam_id

    def persona_of(self, steam_id: int) -> str:
        if steam_id == self.bot.steam_id:
            return self.bot.persona_name
        user = self.users.get(steam_id)
        return user["persona_name"] if user else str(steam_id)

    def create_user(self, spec: dict) -> dict:
        if not isinstance(spec, dict):
            raise bad_request("the body must be a JSON object")
        if spec.get("steamId") is not None:
            steam_id = _parse_int(spec["steamId"], "steamId", minimum=MIN_STEAM_ID, maximum=MAX_STEAM_ID)
            if steam_id == self.bot.steam_id or steam_id in self.users:
                raise ControlError(409, "conflict", f"steamId {steam_id} already exists")
        else:
            steam_id = self._next("user")
            while steam_id in self.users or steam_id == self.bot.steam_id:
                steam_id = self._next("user")
        user = {
            "steam_id": steam_id,
            "persona_name": f"Sandbox User {steam_id - STEAMID64_BASE}",
            "trade_token": "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(8)),
            "behaviour": "accept",
            "delay_seconds": 0,
            "escrow_days": None,
            "private_inventory": False,
            "private_profile": False,
            "trade_banned": False,
            "country": "US",
            "created": self.now(),
        }
        self._apply_user_changes(user, spec, creating=True)
        self.users[steam_id] = user
        self._touch()
        return self.user_view(user)

    def _apply_user_changes(self, user: dict, spec: dict, *, creating: bool = False) -> None:
        allowed = {
            "steamId", "personaName", "behaviour", "behavior", "delaySeconds", "escrowDays", "tradeToken",
            "privateInventory", "privateProfile", "tradeBanned", "country",
        }
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise bad_request("unknown user fields", fields=unknown, known=sorted(allowed))
        if "steamId" in spec and not creating and int(spec["steamId"]) != user["steam_id"]:
            raise bad_request("steamId cannot change", field="steamId")
        behaviour = spec.get("behaviour", spec.get("behavior"))
        if behaviour is not None:
            if behaviour not in BEHAVIOURS:
                raise bad_request(f"behaviour must be one of {', '.join(BEHAVIOURS)}", field="behaviour")
            user["behaviour"] = behaviour
        if "delaySeconds" in spec:
            user["delay_seconds"] = _parse_int(spec["delaySeconds"], "delaySeconds", minimum=0, maximum=10 * 365 * 86400)
        if "escrowDays" in spec:
            user["escrow_days"] = None if spec["escrowDays"] is None else _parse_int(spec["escrowDays"], "escrowDays", minimum=0, maximum=365)
        if "personaName" in spec:
            if not isinstance(spec["personaName"], str) or not spec["personaName"].strip():
                raise bad_request("personaName must be a non-empty string", field="personaName")
            user["persona_name"] = spec["personaName"]
        if "tradeToken" in spec:
            token = spec["tradeToken"]
            if token == "new":  # rotate, like "Create new URL" on Steam
                token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(8))
            if not isinstance(token, str) or not token or any(c not in _TOKEN_ALPHABET for c in token):
                raise bad_request("tradeToken must be letters, digits, - or _ (or \"new\")", field="tradeToken")
            user["trade_token"] = token
        for key, field in (
            ("privateInventory", "private_inventory"),
            ("privateProfile", "private_profile"),
            ("tradeBanned", "trade_banned"),
        ):
            if key in spec:
                user[field] = _parse_bool(spec[key], key)
        if "country" in spec:
            user["country"] = str(spec["country"])[:2].upper()

    def update_user(self, steam_id: int, spec: dict) -> dict:
        user = self._user(steam_id)
        if not isinstance(spec, dict):
            raise bad_request("the body must be a JSON object")
        trial = dict(user)
        self._apply_user_changes(trial, spec)
        user.update(trial)
        self._touch()
        return self.user_view(user)

    def _user(self, steam_id: int) -> dict:
        user = self.users.get(steam_id)
        if user is None:
            raise not_found(f"no sandbox user {steam_id}")
        return user

    def user_view(self, user: dict) -> dict:
        account_id = user["steam_id"] - STEAMID64_BASE
        return {
            "steamId": str(user["steam_id"]),
            "accountId": account_id,
            "personaName": user["persona_name"],
            "tradeToken": user["trade_token"],
            "tradeUrl": f"https://steamcommunity.com/tradeoffer/new/?partner={account_id}&token={user['trade_token']}",
            "behaviour": user["behaviour"],
            "delaySeconds": user["delay_seconds"],
            "escrowDays": self._escrow_days(user) if user["behaviour"] == "escrow" else user["escrow_days"],
            "privateInventory": user["private_inventory"],
            "privateProfile": user["private_profile"],
            "tradeBanned": user["trade_banned"],
            "country": user["country"],
        }

    def _escrow_days(self, user: dict) -> int:
        if user["escrow_days"] is not None:
            return user["escrow_days"]
        return self.config["escrowDays"] if user["behaviour"] == "escrow" else 0

    # ------------------------------------------------------------------ classes & inventories
    def register_class(self, data: dict) -> Description:
        desc = Description(data)
        existing = self.classes.get(desc.key)
        if existing is not None and existing.data == desc.data:
            return existing
        self.classes[desc.key] = desc
        self.classes_version += 1
        return desc

    def inventory(self, owner: int, appid: int, contextid: int, *, create: bool = False) -> Inventory | None:
        key = (owner, appid, contextid)
        inv = self.inventories.get(key)
        if inv is None and create:
            inv = self.inventories[key] = Inventory(owner, appid, contextid)
            self._touch()
        return inv

    def _add_asset(self, inv: Inventory, asset: Asset) -> None:
        desc = self.classes[(inv.appid, asset.classid, asset.instanceid)]
        inv.add(asset)
        self._bump_asset_counter(asset.assetid)
        # Only holds still running when the item arrives are released by the clock;
        # a stale date in loaded data stays as Steam sent it.
        if desc.hold_until and desc.hold_until > self.now():
            heapq.heappush(self.holds, (desc.hold_until, inv.owner, inv.appid, inv.contextid, asset.assetid))

    def _new_asset(self, inv: Inventory, desc: Description, props: list | None = None, *, props_json: str | None = None) -> Asset:
        asset = Asset(self._next("asset"), desc.classid, desc.instanceid, 1, props, props_json=props_json)
        self._add_asset(inv, asset)
        return asset

    def load_inventory(self, owner: int, appid: int, contextid: int, payload) -> dict:
        """Replace an inventory with one in Steam's own JSON (a `/inventory` page)."""
        if not isinstance(payload, dict):
            raise bad_request("the body must be an inventory in Steam's JSON format (an object)")
        assets_in = payload.get("assets") or []
        descs_in = payload.get("descriptions") or []
        props_in = payload.get("asset_properties") or []
        if not all(isinstance(x, list) for x in (assets_in, descs_in, props_in)):
            raise bad_request("assets, descriptions and asset_properties must be lists")
        new_classes = {}
        for i, data in enumerate(descs_in):
            if not isinstance(data, dict) or "classid" not in data:
                raise bad_request("every description needs a classid", index=i)
            data = dict(data, appid=appid, instanceid=str(data.get("instanceid", "0")))
            new_classes[(str(data["classid"]), data["instanceid"])] = data
        props_by_asset = {}
        for entry in props_in:
            if isinstance(entry, dict) and "assetid" in entry:
                props_by_asset[str(entry["assetid"])] = entry.get("asset_properties") or None
        assets = []
        seen = set()
        for i, raw in enumerate(assets_in):
            if not isinstance(raw, dict):
                raise bad_request("every asset must be an object", index=i)
            try:
                assetid = int(raw.get("assetid", raw.get("id")))
                amount = int(raw.get("amount", 1))
            except (TypeError, ValueError):
                raise bad_request("asset needs a numeric assetid and amount", index=i) from None
            if assetid <= 0 or amount <= 0:
                raise bad_request("assetid and amount must be positive", index=i)
            if assetid in seen:
                raise bad_request(f"duplicate assetid {assetid}", index=i)
            seen.add(assetid)
            classid, instanceid = str(raw.get("classid")), str(raw.get("instanceid", "0"))
            if (classid, instanceid) not in new_classes and (appid, classid, instanceid) not in self.classes:
                raise bad_request(f"asset {assetid} has no description for class {classid}_{instanceid}", index=i)
            assets.append(Asset(assetid, classid, instanceid, amount, props_by_asset.get(str(assetid))))
        for data in new_classes.values():
            self.register_class(data)
        inv = self.inventory(owner, appid, contextid, create=True)
        gone = set(inv.assets) - seen
        inv.replace_all(assets)  # one sort, not one insertion per asset
        now = self.now()
        for asset in assets:
            self._bump_asset_counter(asset.assetid)
            desc = self.classes[(appid, asset.classid, asset.instanceid)]
            if desc.hold_until and desc.hold_until > now:
                heapq.heappush(self.holds, (desc.hold_until, owner, appid, contextid, asset.assetid))
        self._invalidate(owner, {(appid, contextid, a) for a in gone})
        return self.inventory_summary(inv)

    def generate_inventory(self, owner: int, appid: int, contextid: int, spec: dict) -> dict:
        if not isinstance(spec, dict):
            raise bad_request("the body must be a JSON object")
        count = _parse_int(spec.get("count", 100), "count", minimum=0, maximum=2_000_000)
        seed = _parse_int(spec.get("seed", 1), "seed")
        classes = spec.get("classes")
        classes = None if classes is None else _parse_int(classes, "classes", minimum=1, maximum=100_000)
        with_properties = _parse_bool(spec.get("withProperties", True), "withProperties")
        untradable = _parse_int(spec.get("untradable", 0), "untradable", minimum=0, maximum=count)
        hold_days = _parse_int(spec.get("holdDays", 7), "holdDays", minimum=1, maximum=365)
        append = _parse_bool(spec.get("append", False), "append")
        inv = self.inventory(owner, appid, contextid, create=True)
        if not append:
            gone = set(inv.assets)
            inv.replace_all([])
            self._invalidate(owner, {(appid, contextid, a) for a in gone})
        registered: dict[int, Description] = {}
        hold_until = datetime.fromtimestamp(self.now(), timezone.utc) + timedelta(days=hold_days)
        rows = []
        for n, (data, props) in enumerate(catalogue.generate(appid, count, seed=seed, classes=classes, with_properties=with_properties)):
            held = n < untradable
            cache_key = (id(data), held)
            desc = registered.get(cache_key)
            if desc is None:
                desc = self.register_class(catalogue.with_trade_hold(data, hold_until) if held else data)
                registered[cache_key] = desc
            rows.append((desc, props))
        # Oldest first, so the newest ids are the generated tail; all in one pass.
        for desc, props in rows:
            self._new_asset(inv, desc, props_json=props)
        return self.inventory_summary(inv)

    def add_items(self, owner: int, appid: int, contextid: int, spec: dict) -> list[dict]:
        """Fresh items appear in an inventory (an unexplained gain, or stock for a deposit)."""
        if not isinstance(spec, dict):
            raise bad_request("the body must be a JSON object")
        inv = self.inventory(owner, appid, contextid, create=True)
        created = []
        if "items" in spec:
            items = spec["items"]
            if not isinstance(items, list) or not items:
                raise bad_request("items must be a non-empty list", field="items")
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    raise bad_request("every item must be an object", index=i)
                desc = self.register_class(self._class_from_spec(appid, item))
                props = item.get("properties")
                if props is not None and not isinstance(props, list):
                    raise bad_request("properties must be a list", index=i)
                created.append(self._new_asset(inv, desc, props))
        else:
            count = _parse_int(spec.get("count", 1), "count", minimum=1, maximum=100_000)
            seed = _parse_int(spec.get("seed", self.counters["asset"] % 1_000_003), "seed")
            for data, props in catalogue.generate(appid, count, seed=seed):
                created.append(self._new_asset(inv, self.register_class(data), props_json=props))
        return [self.asset_view(inv, a) for a in created]

    def _class_from_spec(self, appid: int, item: dict) -> dict:
        data = catalogue.description_from_spec(appid, item)
        if "description" in item:
            if not isinstance(item["description"], dict):
                raise bad_request("description must be an object")
            data.update(item["description"])
            data["appid"] = appid
        if item.get("tradable") is False and "tradableAfter" not in item:
            data["tradable"] = 0
        if "tradableAfter" in item:
            until = _parse_time(item["tradableAfter"], "tradableAfter")
            data = catalogue.with_trade_hold(data, datetime.fromtimestamp(until, timezone.utc), protected=bool(item.get("tradeProtected")))
        return data

    def remove_assets(self, owner: int, appid: int, contextid: int, asset_ids) -> dict:
        if not isinstance(asset_ids, list) or not asset_ids:
            raise bad_request("assetIds must be a non-empty list", field="assetIds")
        inv = self.inventory(owner, appid, contextid)
        removed, unknown = [], []
        for raw in asset_ids:
            assetid = _parse_int(raw, "assetIds[]")
            if inv is not None and inv.remove(assetid) is not None:
                removed.append(str(assetid))
            else:
                unknown.append(str(assetid))
        self._invalidate(owner, {(appid, contextid, int(a)) for a in removed})
        return {"removed": removed, "unknown": unknown, "count": len(inv) if inv else 0}

    def update_asset(self, owner: int, appid: int, contextid: int, assetid: int, changes: dict) -> dict:
        """Change an asset's description (name, tradability, hold, tags, properties):
        like Steam, the changed class gets a new instance id; the asset id stays."""
        if not isinstance(changes, dict) or not changes:
            raise bad_request("the body must be a non-empty JSON object")
        allowed = {"name", "marketHashName", "type", "tradable", "tradableAfter", "tradeProtected", "marketable", "tags", "description", "properties"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise bad_request("unknown fields", fields=unknown, known=sorted(allowed))
        inv = self.inventory(owner, appid, contextid)
        asset = inv.get(assetid) if inv else None
        if asset is None:
            raise not_found(f"asset {assetid} is not in {owner}/{appid}/{contextid}")
        data = copy.deepcopy(self.classes[(appid, asset.classid, asset.instanceid)].data)
        if "name" in changes:
            data["name"] = str(changes["name"])
        if "marketHashName" in changes:
            data["market_hash_name"] = data["market_name"] = str(changes["marketHashName"])
        if "type" in changes:
            data["type"] = str(changes["type"])
        if "marketable" in changes:
            data["marketable"] = 1 if _parse_bool(changes["marketable"], "marketable") else 0
        if "tags" in changes:
            if not isinstance(changes["tags"], list):
                raise bad_request("tags must be a list", field="tags")
            data["tags"] = changes["tags"]
        if "description" in changes:
            if not isinstance(changes["description"], dict):
                raise bad_request("description must be an object", field="description")
            data.update(changes["description"])
        if "tradable" in changes:
            if _parse_bool(changes["tradable"], "tradable"):
                data = catalogue.without_trade_hold(data)
            else:
                data["tradable"] = 0
        if "tradableAfter" in changes:
            until = _parse_time(changes["tradableAfter"], "tradableAfter")
            data = catalogue.with_trade_hold(
                data, datetime.fromtimestamp(until, timezone.utc), protected=bool(changes.get("tradeProtected"))
            )
        data["appid"] = appid
        data["instanceid"] = catalogue.variant_instanceid(data, json.dumps(changes, sort_keys=True, default=str))
        desc = self.register_class(data)
        if "properties" in changes:
            if changes["properties"] is not None and not isinstance(changes["properties"], list):
                raise bad_request("properties must be a list or null", field="properties")
            new = asset.replace(classid=desc.classid, instanceid=desc.instanceid, props=changes["properties"])
        else:
            new = asset.replace(classid=desc.classid, instanceid=desc.instanceid)
        self._add_asset(inv, new)
        return self.asset_view(inv, new)

    def inventory_summary(self, inv: Inventory) -> dict:
        return {
            "account": str(inv.owner),
            "appid": inv.appid,
            "contextid": str(inv.contextid),
            "count": len(inv),
            "classes": len({(a.classid, a.instanceid) for a in inv.assets.values()}) if len(inv) <= 200_000 else None,
        }

    def asset_view(self, inv: Inventory, asset: Asset) -> dict:
        desc = self.classes[(inv.appid, asset.classid, asset.instanceid)]
        return {
            "appid": inv.appid,
            "contextid": str(inv.contextid),
            "assetid": str(asset.assetid),
            "classid": asset.classid,
            "instanceid": asset.instanceid,
            "amount": asset.amount,
            "marketHashName": desc.market_hash_name,
            "name": desc.data.get("name"),
            "tradable": desc.tradable,
            "tradableAfter": _iso(desc.hold_until),
            "properties": asset.props,
        }

    # ------------------------------------------------------------------ offers: helpers
    def _item(self, inv: Inventory, asset: Asset, amount: int | None = None) -> dict:
        return {
            "appid": inv.appid,
            "contextid": str(inv.contextid),
            "assetid": str(asset.assetid),
            "classid": asset.classid,
            "instanceid": asset.instanceid,
            "amount": str(amount or asset.amount),
            "missing": False,
        }

    def _new_offer(self, *, partner: int, ours: bool, message: str, give: list, receive: list, state: int) -> dict:
        now = self.now()
        offer = {
            "id": self._next("offer"),
            "partner": partner,
            "is_our_offer": ours,
            "message": message,
            "state": state,
            "give": give,
            "receive": receive,
            "created": now,
            "updated": now,
            "expires": now + self.config["offerLifetimeSeconds"],
            "activated": now if state == 2 else None,
            "escrow_end": 0,
            "confirmation_method": 0,
            "trade_id": None,
            "counter_of": None,
            "countered_by": None,
        }
        self.offers[offer["id"]] = offer
        if state in LIVE_STATES:
            self.live_offers.add(offer["id"])
        self._touch()
        return offer

    def _set_state(self, offer: dict, state: int) -> None:
        offer["state"] = state
        offer["updated"] = self.now()
        if state == 2 and offer["activated"] is None:
            offer["activated"] = offer["updated"]
        if state in LIVE_STATES:
            self.live_offers.add(offer["id"])
        else:
            self.live_offers.discard(offer["id"])
        for cid in [c for c, conf in self.confirmations.items() if conf["offer_id"] == offer["id"]]:
            conf = self.confirmations[cid]
            if (conf["kind"] == "send" and state != 9) or (conf["kind"] == "accept" and state != 2):
                del self.confirmations[cid]
        self._touch()

    def offer(self, offer_id: int) -> dict | None:
        return self.offers.get(offer_id)

    def _invalidate(self, owner: int, keys: set) -> None:
        """Assets left `owner`'s inventory: every live offer that would move one of them
        becomes InvalidItems (8) with that item `missing`, as on Steam."""
        if not keys:
            return
        for oid in list(self.live_offers):
            offer = self.offers[oid]
            if offer["state"] not in (2, 9):
                continue
            if owner == self.bot.steam_id:
                items = offer["give"]
            elif owner == offer["partner"]:
                items = offer["receive"]
            else:
                continue
            hit = False
            for item in items:
                if (item["appid"], int(item["contextid"]), int(item["assetid"])) in keys:
                    item["missing"] = True
                    hit = True
            if hit:
                self._set_state(offer, 8)

    def _available(self, owner: int, item: dict) -> bool:
        inv = self.inventories.get((owner, item["appid"], int(item["contextid"])))
        return inv is not None and int(item["assetid"]) in inv

    def _check_items_present(self, offer: dict) -> bool:
        ok = True
        for owner, items in ((self.bot.steam_id, offer["give"]), (offer["partner"], offer["receive"])):
            for item in items:
                if not self._available(owner, item):
                    item["missing"] = True
                    ok = False
        return ok

    def _take(self, owner: int, item: dict, gone: set) -> Asset:
        """Take the item's amount out of `owner`'s inventory. Part of a stack leaves the
        rest under the same asset id; a whole asset is added to `gone`."""
        inv = self.inventories[(owner, item["appid"], int(item["contextid"]))]
        asset = inv.get(int(item["assetid"]))
        amount = int(item.get("amount") or asset.amount)
        if 0 < amount < asset.amount:
            inv.add(asset.replace(amount=asset.amount - amount))
            return asset.replace(amount=amount)
        inv.remove(asset.assetid)
        gone.add((inv.appid, inv.contextid, asset.assetid))
        return asset

    def _put(self, owner: int, appid: int, contextid: int, asset: Asset, *, protect: bool = False) -> tuple[Asset, int]:
        """`asset` arrives in `owner`'s inventory under a new asset id (Steam re-numbers
        items that change hands). With `protect`, a CS2 item the bot receives goes to
        context 16 under trade protection."""
        desc = self.classes[(appid, asset.classid, asset.instanceid)]
        if protect and appid == 730 and owner == self.bot.steam_id and self.config["tradeProtection"]:
            until = datetime.fromtimestamp(self.now(), timezone.utc) + timedelta(days=self.config["tradeProtectionDays"])
            desc = self.register_class(catalogue.with_trade_hold(desc.data, until, protected=True))
            contextid = 16
        inv = self.inventory(owner, appid, contextid, create=True)
        new = Asset(self._next("asset"), desc.classid, desc.instanceid, asset.amount, props_json=asset.props_json)
        self._add_asset(inv, new)
        return new, contextid

    def _trade_item(self, item: dict, asset: Asset) -> dict:
        return {
            "appid": item["appid"],
            "contextid": item["contextid"],
            "assetid": item["assetid"],
            "amount": str(asset.amount),
            "classid": asset.classid,
            "instanceid": asset.instanceid,
        }

    def _new_trade(self, partner: int, status: int, offer_id: int | None) -> dict:
        trade = {
            "id": self._next("trade"),
            "partner": partner,
            "time_init": self.now(),
            "status": status,
            "given": [],
            "received": [],
            "offer_id": offer_id,
            "rollback_trade": None,
            "rollback_of": None,
            "held": [],
            "time_escrow_end": None,
        }
        self.trades[trade["id"]] = trade
        return trade

    def _exchange(self, offer: dict) -> dict | None:
        """Move the offer's items both ways; None (and state 8) if one has left."""
        if not self._check_items_present(offer):
            self._set_state(offer, 8)
            return None
        trade = self._new_trade(offer["partner"], TRADE_COMPLETE, offer["id"])
        offer["trade_id"] = trade["id"]
        self._set_state(offer, 3)
        bot, partner = self.bot.steam_id, offer["partner"]
        gone_bot, gone_partner = set(), set()
        for item in offer["give"]:
            asset = self._take(bot, item, gone_bot)
            new, ctx = self._put(partner, item["appid"], int(item["contextid"]), asset)
            trade["given"].append({**self._trade_item(item, asset), "new_assetid": str(new.assetid), "new_contextid": str(ctx)})
        for item in offer["receive"]:
            asset = self._take(partner, item, gone_partner)
            new, ctx = self._put(bot, item["appid"], int(item["contextid"]), asset, protect=True)
            trade["received"].append({**self._trade_item(item, asset), "new_assetid": str(new.assetid), "new_contextid": str(ctx)})
        self._invalidate(bot, gone_bot)
        self._invalidate(partner, gone_partner)
        return trade

    def _start_escrow(self, offer: dict, days: int) -> None:
        if not self._check_items_present(offer):
            self._set_state(offer, 8)
            return
        trade = self._new_trade(offer["partner"], TRADE_IN_ESCROW, offer["id"])
        offer["trade_id"] = trade["id"]
        offer["escrow_end"] = self.now() + days * 86400
        trade["time_escrow_end"] = offer["escrow_end"]
        self._set_state(offer, 11)
        bot, partner = self.bot.steam_id, offer["partner"]
        # Steam holds the items: they leave both inventories now and arrive at the end.
        gone_bot, gone_partner = set(), set()
        for side, owner, items, gone in (("given", bot, offer["give"], gone_bot), ("received", partner, offer["receive"], gone_partner)):
            for item in items:
                asset = self._take(owner, item, gone)
                trade[side].append(self._trade_item(item, asset))
                trade["held"].append([side, len(trade[side]) - 1, asset.to_row()])
        self._invalidate(bot, gone_bot)
        self._invalidate(partner, gone_partner)

    def _release_escrow(self, offer: dict) -> None:
        trade = self.trades[offer["trade_id"]]
        for side, index, row in trade["held"]:
            entry = trade[side][index]
            owner = offer["partner"] if side == "given" else self.bot.steam_id
            new, ctx = self._put(owner, entry["appid"], int(entry["contextid"]), Asset.from_row(row), protect=side == "received")
            entry["new_assetid"], entry["new_contextid"] = str(new.assetid), str(ctx)
        trade["held"] = []
        trade["status"] = TRADE_COMPLETE
        self._set_state(offer, 3)

    def _counter(self, offer: dict) -> dict:
        counter = self._new_offer(
            partner=offer["partner"],
            ours=False,
            message="Counter offer",
            give=[dict(item, missing=False) for item in offer["give"]],
            receive=[dict(item, missing=False) for item in offer["receive"]],
            state=2,
        )
        counter["counter_of"] = offer["id"]
        offer["countered_by"] = counter["id"]
        self._set_state(offer, 4)
        return counter

    def _revert(self, offer: dict) -> dict:
        trade = self.trades.get(offer["trade_id"]) if offer["trade_id"] else None
        if offer["state"] != 3 or trade is None or trade["status"] != TRADE_COMPLETE:
            raise invalid_state(f"offer {offer['id']} is not an accepted, completed trade", state=offer["state"])
        bot, partner = self.bot.steam_id, offer["partner"]
        rollback = self._new_trade(partner, TRADE_COMPLETE, None)
        rollback["rollback_of"] = trade["id"]
        for side_from, owner_from, owner_to, side_to in (("given", partner, bot, "received"), ("received", bot, partner, "given")):
            for entry in trade[side_from]:
                ref = {"appid": entry["appid"], "contextid": entry["new_contextid"], "assetid": entry["new_assetid"]}
                if not self._available(owner_from, ref):
                    continue  # already traded on or consumed: nothing to take back
                gone: set = set()
                asset = self._take(owner_from, dict(ref, amount=entry["amount"]), gone)
                self._invalidate(owner_from, gone)
                back_ctx = int(entry["contextid"]) if int(ref["contextid"]) == 16 else int(ref["contextid"])
                new, ctx = self._put(owner_to, entry["appid"], back_ctx, asset)
                rollback[side_to].append({**self._trade_item(ref, asset), "new_assetid": str(new.assetid), "new_contextid": str(ctx)})
        trade["status"] = TRADE_PROTECTION_ROLLBACK
        trade["rollback_trade"] = rollback["id"]
        self._set_state(offer, 12)
        return rollback

    # ------------------------------------------------------------------ the clock
    def tick(self) -> None:
        """Apply every time-based transition that is due, earliest first."""
        now = self.now()
        for _ in range(10_000):
            events = []
            while self.holds and self.holds[0][0] <= now:
                events.append(heapq.heappop(self.holds) + (None,))
            for oid in self.live_offers:
                offer = self.offers[oid]
                event = self._next_event(offer)
                if event is not None and event[0] <= now:
                    events.append((event[0], oid, event[1], offer["state"], 0, "offer"))
            if not events:
                return
            events.sort(key=lambda e: (e[0], e[1]))
            for event in events:
                if event[-1] == "offer":
                    offer = self.offers[event[1]]
                    if offer["state"] == event[3]:  # an earlier event may have changed it
                        self._apply_event(offer, event[2])
                else:
                    self._release_hold(*event[1:5])

    def _next_event(self, offer: dict) -> tuple[int, str] | None:
        state = offer["state"]
        candidates = []
        if state == 11:
            candidates.append((offer["escrow_end"], "release"))
        if state in (2, 9):
            candidates.append((offer["expires"] + 0.5, "expire"))  # the user's move wins a tie
        if state == 2 and offer["is_our_offer"]:
            user = self.users.get(offer["partner"])
            if user and user["behaviour"] != "ignore":
                candidates.append((offer["activated"] + user["delay_seconds"], user["behaviour"]))
        return min(candidates) if candidates else None

    def _apply_event(self, offer: dict, action: str) -> None:
        if action == "expire":
            self._set_state(offer, 5)
        elif action == "accept":
            self._exchange(offer)
        elif action == "decline":
            self._set_state(offer, 7)
        elif action == "counter":
            self._counter(offer)
        elif action == "escrow":
            self._start_escrow(offer, self._escrow_days(self.users[offer["partner"]]))
        elif action == "release":
            self._release_escrow(offer)

    def _release_hold(self, owner: int, appid: int, contextid: int, assetid: int) -> None:
        inv = self.inventories.get((owner, appid, contextid))
        asset = inv.get(assetid) if inv else None
        if asset is None:
            return
        desc = self.classes[(appid, asset.classid, asset.instanceid)]
        if not desc.hold_until or desc.hold_until > self.now():
            return
        free = self.register_class(catalogue.without_trade_hold(desc.data))
        new = asset.replace(classid=free.classid, instanceid=free.instanceid)
        if contextid == 16:
            # Trade protection over: the item moves to the ordinary context, same id.
            inv.remove(assetid)
            self.inventory(owner, appid, 2, create=True).add(new)
        else:
            inv.add(new)
        self._touch()

    # ------------------------------------------------------------------ offers: Steam side
    def send_offer(self, *, partner: int, token: str | None, me: list, them: list, message: str) -> dict:
        """POST /tradeoffer/new/send from the bot. Raises Refused with Steam's EResult."""
        if self.config["requireTradeAcknowledgement"] and not self.acknowledged:
            raise Refused(15, "You must acknowledge the trade protection notice before trading.")
        user = self.users.get(partner)
        if user is None:
            raise Refused(15)
        if token != user["trade_token"]:
            # Not friends, so a valid trade URL token is required.
            raise Refused(15)
        if user["trade_banned"]:
            raise Refused(15, f"You cannot trade with {user['persona_name']} because they have a trade ban.")
        if not me and not them:
            raise Refused(8, "You must include at least one item in the trade offer.")
        give = self._offer_side(self.bot.steam_id, me)
        receive = self._offer_side(partner, them)
        offer = self._new_offer(
            partner=partner, ours=True, message=message[:128], give=give, receive=receive, state=9 if give else 2
        )
        if give:
            offer["confirmation_method"] = 2
            self._new_confirmation(offer, "send")
        return offer

    def _offer_side(self, owner: int, assets: list) -> list:
        items = []
        seen = set()
        for raw in assets:
            try:
                appid, contextid, assetid = int(raw["appid"]), int(raw["contextid"]), int(raw["assetid"])
                amount = int(raw.get("amount", 1))
            except (KeyError, TypeError, ValueError):
                raise Refused(8) from None
            if (appid, contextid, assetid) in seen:
                raise Refused(8)
            seen.add((appid, contextid, assetid))
            inv = self.inventories.get((owner, appid, contextid))
            asset = inv.get(assetid) if inv else None
            if asset is None or amount < 1 or amount > asset.amount:
                raise Refused(26)
            if not self.classes[(appid, asset.classid, asset.instanceid)].tradable:
                raise Refused(26)
            items.append(self._item(inv, asset, amount))
        return items

    def _new_confirmation(self, offer: dict, kind: str) -> dict:
        conf = {
            "id": self._next("confirmation"),
            "nonce": str(secrets.randbelow(9 * 10**18) + 10**18),
            "offer_id": offer["id"],
            "kind": kind,
            "created": self.now(),
        }
        self.confirmations[conf["id"]] = conf
        return conf

    def answer_confirmation(self, conf_id: int, nonce: str, op: str) -> bool:
        conf = self.confirmations.get(conf_id)
        if conf is None or conf["nonce"] != nonce:
            return False
        offer = self.offers[conf["offer_id"]]
        del self.confirmations[conf_id]
        self._touch()
        if op in ("allow", "accept"):
            if conf["kind"] == "send" and offer["state"] == 9:
                self._set_state(offer, 2)
            elif conf["kind"] == "accept" and offer["state"] == 2:
                self._exchange(offer)
            return True
        if conf["kind"] == "send" and offer["state"] == 9:
            self._set_state(offer, 10)
        return True

    def bot_cancel(self, offer_id: int) -> dict:
        offer = self.offers.get(offer_id)
        if offer is None:
            raise Refused(8)
        if not offer["is_our_offer"]:
            raise Refused(15)
        if offer["state"] not in (2, 9):
            raise Refused(11)
        self._set_state(offer, 6)
        return offer

    def bot_decline(self, offer_id: int) -> dict:
        offer = self.offers.get(offer_id)
        if offer is None:
            raise Refused(8)
        if offer["is_our_offer"]:
            raise Refused(15)
        if offer["state"] != 2:
            raise Refused(11)
        self._set_state(offer, 7)
        return offer

    def bot_accept(self, offer_id: int) -> tuple[dict, dict | None]:
        """The bot accepts a received offer: at once when it gives nothing, else after a
        mobile confirmation. Returns (offer, trade or None)."""
        offer = self.offers.get(offer_id)
        if offer is None:
            raise Refused(8)
        if offer["is_our_offer"]:
            raise Refused(15)
        if offer["state"] != 2:
            raise Refused(11 if offer["state"] != 3 else 28)
        if offer["give"]:
            if not any(c["offer_id"] == offer_id and c["kind"] == "accept" for c in self.confirmations.values()):
                self._new_confirmation(offer, "accept")
                self._touch()
            return offer, None
        trade = self._exchange(offer)
        if trade is None:
            raise Refused(26)
        return offer, trade

    # ------------------------------------------------------------------ offers: control side
    def act_on_offer(self, offer_id: int, action: str, spec: dict | None = None) -> dict:
        offer = self.offers.get(offer_id)
        if offer is None:
            raise not_found(f"no offer {offer_id}")
        state = offer["state"]
        result: dict = {}

        def need(*states):
            if state not in states:
                raise invalid_state(
                    f"cannot {action} offer {offer_id} in state {state} ({STATE_NAMES.get(state)})",
                    state=state,
                    allowed=list(states),
                )

        if action == "accept":
            need(2)
            if not offer["is_our_offer"]:
                raise invalid_state("the bot accepts received offers through Steam (POST /tradeoffer/{id}/accept)")
            trade = self._exchange(offer)
            if trade is not None:
                result["tradeId"] = str(trade["id"])
        elif action == "decline":
            need(2)
            self._set_state(offer, 7)
        elif action == "counter":
            need(2)
            result["counterOfferId"] = str(self._counter(offer)["id"])
        elif action == "expire":
            need(2, 9)
            self._set_state(offer, 5)
        elif action == "cancel":
            need(2, 9)
            self._set_state(offer, 6)
        elif action == "confirm":
            need(9)
            self._set_state(offer, 2)
        elif action == "escrow":
            need(2)
            days = _parse_int((spec or {}).get("days", self._escrow_days(self.users[offer["partner"]]) or self.config["escrowDays"]), "days", minimum=0, maximum=365)
            self._start_escrow(offer, days)
        elif action == "release":
            need(11)
            self._release_escrow(offer)
        elif action == "revert":
            result["rollbackTradeId"] = str(self._revert(offer)["id"])
        else:
            raise not_found(f"unknown action {action!r}", actions=["accept", "decline", "counter", "expire", "cancel", "confirm", "escrow", "release", "revert"])
        return {**self.offer_view(offer), **result}

    def deposit(self, steam_id: int, spec: dict) -> dict:
        """The user sends items to the bot in a trade: existing assets of theirs, or
        freshly made ones. Accepted at once unless `autoAccept` is false (then the
        offer waits in the bot's received offers for the bot to accept)."""
        user = self._user(steam_id)
        if not isinstance(spec, dict):
            raise bad_request("the body must be a JSON object")
        appid = _parse_int(spec.get("appid", 730), "appid", minimum=1)
        contextid = _parse_int(spec.get("contextid", 2), "contextid", minimum=1)
        refs = []
        if "assets" in spec:
            if not isinstance(spec["assets"], list) or not spec["assets"]:
                raise bad_request("assets must be a non-empty list", field="assets")
            for raw in spec["assets"]:
                if not isinstance(raw, dict):
                    raise bad_request("every asset must be an object", field="assets")
                refs.append({
                    "appid": _parse_int(raw.get("appid", appid), "appid"),
                    "contextid": _parse_int(raw.get("contextid", contextid), "contextid"),
                    "assetid": _parse_int(raw.get("assetid"), "assetid"),
                })
        elif "items" in spec or "count" in spec:
            made = self.add_items(steam_id, appid, contextid, {k: spec[k] for k in ("items", "count", "seed") if k in spec})
            refs = [{"appid": appid, "contextid": contextid, "assetid": int(m["assetid"])} for m in made]
        else:
            raise bad_request("give assets (the user's existing items), items (specs) or count (generated)")
        receive = []
        for ref in refs:
            inv = self.inventories.get((steam_id, ref["appid"], ref["contextid"]))
            asset = inv.get(ref["assetid"]) if inv else None
            if asset is None:
                raise bad_request(f"asset {ref['assetid']} is not in the user's {ref['appid']}/{ref['contextid']} inventory")
            receive.append(self._item(inv, asset))
        auto = _parse_bool(spec.get("autoAccept", True), "autoAccept")
        protect = spec.get("tradeProtected")
        message = str(spec.get("message", "Deposit"))[:128]
        offer = self._new_offer(partner=steam_id, ours=False, message=message, give=[], receive=receive, state=2)
        result = {"offerId": str(offer["id"]), "steamId": str(user["steam_id"])}
        if auto:
            saved = self.config["tradeProtection"]
            if protect is not None:
                self.config["tradeProtection"] = _parse_bool(protect, "tradeProtected")
            try:
                trade = self._exchange(offer)
            finally:
                self.config["tradeProtection"] = saved
            result["tradeId"] = str(trade["id"])
            result["assets"] = [
                {
                    "appid": e["appid"], "contextid": e["contextid"], "assetid": e["assetid"],
                    "classid": e["classid"], "instanceid": e["instanceid"],
                    "newAssetId": e["new_assetid"], "newContextId": e["new_contextid"],
                    "marketHashName": self.classes[(e["appid"], e["classid"], e["instanceid"])].market_hash_name,
                }
                for e in trade["received"]
            ]
        else:
            result["assets"] = [dict(i) for i in receive]
        return result

    def offer_view(self, offer: dict) -> dict:
        def items(entries):
            out = []
            for e in entries:
                desc = self.classes.get((e["appid"], e["classid"], e["instanceid"]))
                out.append({**e, "marketHashName": desc.market_hash_name if desc else None})
            return out

        return {
            "id": str(offer["id"]),
            "state": offer["state"],
            "stateName": STATE_NAMES.get(offer["state"]),
            "partnerSteamId": str(offer["partner"]),
            "isOurOffer": offer["is_our_offer"],
            "message": offer["message"],
            "itemsToGive": items(offer["give"]),
            "itemsToReceive": items(offer["receive"]),
            "tradeId": str(offer["trade_id"]) if offer["trade_id"] else None,
            "timeCreated": offer["created"],
            "timeUpdated": offer["updated"],
            "expirationTime": offer["expires"],
            "escrowEndDate": offer["escrow_end"],
            "counterOfferId": str(offer["countered_by"]) if offer["countered_by"] else None,
            "counterOf": str(offer["counter_of"]) if offer["counter_of"] else None,
            "pendingConfirmation": any(c["offer_id"] == offer["id"] for c in self.confirmations.values()),
        }

    def trade_view(self, trade: dict) -> dict:
        return {
            "tradeId": str(trade["id"]),
            "partnerSteamId": str(trade["partner"]),
            "status": trade["status"],
            "timeInit": trade["time_init"],
            "offerId": str(trade["offer_id"]) if trade["offer_id"] else None,
            "assetsGiven": trade["given"],
            "assetsReceived": trade["received"],
            "rollbackTradeId": str(trade["rollback_trade"]) if trade["rollback_trade"] else None,
            "rollbackOf": str(trade["rollback_of"]) if trade["rollback_of"] else None,
            "escrowEnd": trade["time_escrow_end"],
        }

    # ------------------------------------------------------------------ login sessions
    def begin_auth(self, account_name: str, encrypted_password: str, timestamp: str) -> dict | None:
        if account_name.lower() != self.bot.username.lower() or timestamp != self.login_key.timestamp:
            return None
        if self.login_key.decrypt_password(encrypted_password) != self.bot.password:
            return None
        now = int(time.time())
        # Pending logins are short-lived; forget old ones.
        for cid in [c for c, s in self.auth_sessions.items() if now - s["created"] > 600]:
            del self.auth_sessions[cid]
        client_id = str(secrets.randbelow(9 * 10**18) + 10**18)
        session = {
            "client_id": client_id,
            "request_id": secrets.token_urlsafe(12),
            "steamid": self.bot.steam_id,
            "confirmed": False,
            "created": now,
        }
        self.auth_sessions[client_id] = session
        return session

    def update_auth_with_code(self, client_id: str, steamid: str, code: str) -> int:
        """EResult of UpdateAuthSessionWithSteamGuardCode (1 OK, 88 wrong code)."""
        session = self.auth_sessions.get(client_id)
        if session is None or str(session["steamid"]) != str(steamid):
            return 8
        if not totp_valid(self.bot.shared_secret, code, int(time.time())):
            return 88
        session["confirmed"] = True
        return 1

    def poll_auth(self, client_id: str, request_id: str) -> dict | None:
        session = self.auth_sessions.get(client_id)
        if session is None or session["request_id"] != request_id:
            return None
        if not session["confirmed"]:
            return {}
        del self.auth_sessions[client_id]
        now = int(time.time())
        jti = secrets.token_hex(8).upper()
        steamid = str(session["steamid"])
        self.sessions[jti] = {"steamid": session["steamid"], "created": now, "revoked": False}
        self._touch()
        refresh = self.signer.issue({
            "iss": "steam", "sub": steamid, "aud": ["web", "renew", "derive"], "exp": now + 200 * 86400,
            "nbf": now, "iat": now, "jti": jti, "oat": now, "per": 1,
            "ip_subject": "127.0.0.1", "ip_confirmer": "127.0.0.1",
        })
        return {"refresh_token": refresh, "access_token": self.issue_access_token(jti, steamid, "web"), "jti": jti}

    def issue_access_token(self, jti: str, steamid: str, audience: str) -> str:
        now = int(time.time())
        return self.signer.issue({
            "iss": f"r:{jti}", "sub": steamid, "aud": ["web", audience] if audience != "web" else ["web"],
            "exp": now + self.config["accessTokenLifetimeSeconds"], "nbf": now, "iat": now,
            "jti": secrets.token_hex(8).upper(), "oat": now, "rt_exp": now + 200 * 86400, "per": 0,
            "ip_subject": "127.0.0.1", "ip_confirmer": "127.0.0.1",
        })

    def refresh_session(self, refresh_token: str) -> tuple[str, str] | None:
        """(jti, steamid) of a live refresh token."""
        claims = self.signer.verify(refresh_token)
        if not claims or claims.get("iss") != "steam" or claims.get("exp", 0) < time.time():
            return None
        session = self.sessions.get(str(claims.get("jti")))
        if session is None or session["revoked"]:
            return None
        return str(claims["jti"]), str(claims["sub"])

    def access_session(self, access_token: str) -> int | None:
        """The steamid of a live access token (signed by us, not expired, session not revoked)."""
        claims = self.signer.verify(access_token)
        if not claims or not str(claims.get("iss", "")).startswith("r:") or claims.get("exp", 0) < time.time():
            return None
        session = self.sessions.get(claims["iss"][2:])
        if session is None or session["revoked"] or str(session["steamid"]) != str(claims.get("sub")):
            return None
        return int(session["steamid"])

    def revoke_session_of(self, access_token: str) -> None:
        claims = self.signer.verify(access_token)
        if claims and str(claims.get("iss", "")).startswith("r:"):
            session = self.sessions.get(claims["iss"][2:])
            if session:
                session["revoked"] = True
                self._touch()

    def expire_sessions(self) -> int:
        """Every web session dies at once (the fault Steam produces now and then)."""
        count = 0
        for session in self.sessions.values():
            if not session["revoked"]:
                session["revoked"] = True
                count += 1
        self.auth_sessions.clear()
        self._touch()
        return count

    def live_session_count(self) -> int:
        return sum(1 for s in self.sessions.values() if not s["revoked"])

    # ------------------------------------------------------------------ prices
    def set_price(self, spec: dict) -> dict:
        if not isinstance(spec, dict):
            raise bad_request("the body must be a JSON object")
        appid = _parse_int(spec.get("appid", 730), "appid", minimum=1)
        name = spec.get("marketHashName")
        if not isinstance(name, str) or not name:
            raise bad_request("marketHashName is required", field="marketHashName")
        entry = {"unknown": _parse_bool(spec.get("unknown", False), "unknown")}
        for key in ("lowestPrice", "medianPrice"):
            if spec.get(key) is not None:
                try:
                    cents = round(float(str(spec[key])) * 100)
                except ValueError:
                    raise bad_request(f"{key} must be a decimal amount like \"11.30\"", field=key) from None
                if cents < 0:
                    raise bad_request(f"{key} must not be negative", field=key)
                entry[key] = cents
            elif key in spec:
                entry[key] = None
        if "volume" in spec:
            entry["volume"] = None if spec["volume"] is None else _parse_int(spec["volume"], "volume", minimum=0)
        self.prices[f"{appid}/{name}"] = entry
        self._touch()
        return {"appid": appid, "marketHashName": name, **self.price_of(appid, name, raw=True)}

    def price_of(self, appid: int, name: str, *, raw: bool = False) -> dict | None:
        """{lowestPrice, medianPrice, volume} in USD cents, or None for an unknown item.
        Deterministic per name unless set through the control API."""
        override = self.prices.get(f"{appid}/{name}")
        if override and override.get("unknown"):
            return None if not raw else {"unknown": True}
        known = override is not None or any(
            d.appid == appid and d.market_hash_name == name for d in self.classes.values()
        )
        if not known:
            return None if not raw else {"unknown": True}
        h = int.from_bytes(hashlib.sha256(f"{appid}|{name}".encode()).digest()[:8], "big")
        lowest = 3 + h % 25_000
        price = {"lowestPrice": lowest, "medianPrice": lowest + (h >> 20) % (lowest // 10 + 1), "volume": (h >> 40) % 3000}
        if override:
            price.update({k: v for k, v in override.items() if k != "unknown"})
        return price

    # ------------------------------------------------------------------ faults
    def add_fault(self, spec: dict) -> dict:
        if not isinstance(spec, dict):
            raise bad_request("the body must be a JSON object")
        kind = spec.get("kind")
        if kind == "expire_session":
            return {"kind": kind, "expiredSessions": self.expire_sessions()}
        if kind not in FAULT_KINDS:
            raise bad_request("unknown fault kind", field="kind", kinds=sorted([*FAULT_KINDS, "expire_session"]))
        fault = {
            "id": None,
            "kind": kind,
            "remaining": None if spec.get("count") is None else _parse_int(spec["count"], "count", minimum=1),
            "pathPrefix": spec.get("pathPrefix", FAULT_KINDS[kind]),
            "host": spec.get("host"),
            "method": (spec.get("method") or "").upper() or None,
        }
        for key in ("pathPrefix", "host"):
            if fault[key] is not None and not isinstance(fault[key], str):
                raise bad_request(f"{key} must be a string", field=key)
        if kind == "server_error":
            fault["status"] = _parse_int(spec.get("status", 500), "status", minimum=500, maximum=599)
            fault["eresult"] = _parse_int(spec.get("eresult", 55), "eresult", minimum=1)
            if spec.get("message") is not None:
                fault["message"] = str(spec["message"])
        elif kind == "latency":
            fault["ms"] = _parse_int(spec.get("ms", 200), "ms", minimum=1, maximum=120_000)
        elif kind == "send_timeout":
            mode = spec.get("mode", "drop")
            if mode not in ("drop", "hang"):
                raise bad_request("mode must be drop or hang", field="mode")
            fault["mode"] = mode
            fault["holdSeconds"] = _parse_int(spec.get("holdSeconds", 30), "holdSeconds", minimum=1, maximum=600)
        elif kind == "send_error":
            fault["eresult"] = _parse_int(spec.get("eresult", 16), "eresult", minimum=1)
            fault["createOffer"] = _parse_bool(spec.get("createOffer", False), "createOffer")
            fault["status"] = _parse_int(spec.get("status", 500), "status", minimum=200, maximum=599)
        elif kind == "page_size_limit":
            fault["limit"] = _parse_int(spec.get("limit", 500), "limit", minimum=1)
        self._fault_seq += 1
        fault["id"] = self._fault_seq
        self.faults.append(fault)
        return dict(fault)

    def take_fault(self, kind: str, host: str, path: str, method: str) -> dict | None:
        """The first active fault of `kind` that matches the request (one use of it)."""
        for fault in self.faults:
            if fault["kind"] != kind:
                continue
            if fault["host"] and fault["host"] != host:
                continue
            if fault["pathPrefix"] and not path.startswith(fault["pathPrefix"]):
                continue
            if fault["method"] and fault["method"] != method:
                continue
            if fault["remaining"] is not None:
                fault["remaining"] -= 1
                if fault["remaining"] <= 0:
                    self.faults.remove(fault)
            return dict(fault)
        return None

    def remove_fault(self, fault_id: int) -> bool:
        before = len(self.faults)
        self.faults = [f for f in self.faults if f["id"] != fault_id]
        return len(self.faults) != before

    # ------------------------------------------------------------------ summary
    def summary(self) -> dict:
        by_state: dict[str, int] = {}
        for offer in self.offers.values():
            name = STATE_NAMES.get(offer["state"], str(offer["state"]))
            by_state[name] = by_state.get(name, 0) + 1
        return {
            "bot": {
                "steamId": str(self.bot.steam_id),
                "username": self.bot.username,
                "personaName": self.bot.persona_name,
                "liveSessions": self.live_session_count(),
                "tradeProtectionAcknowledged": self.acknowledged,
            },
            "inventories": [
                {"account": "bot" if k[0] == self.bot.steam_id else str(k[0]), "appid": k[1], "contextid": str(k[2]), "count": len(inv)}
                for k, inv in sorted(self.inventories.items())
            ],
            "botItemCount": sum(len(inv) for k, inv in self.inventories.items() if k[0] == self.bot.steam_id),
            "users": len(self.users),
            "offers": {"total": len(self.offers), "byState": by_state},
            "trades": len(self.trades),
            "pendingConfirmations": len(self.confirmations),
            "faults": [dict(f) for f in self.faults],
            "config": dict(self.config),
            "clock": {"now": self.now(), "offsetSeconds": self.clock_offset},
            "stateDir": str(self.state_dir),
        }

    # ------------------------------------------------------------------ persistence
    def _core_dict(self) -> dict:
        return {
            "version": 1,
            "config": self.config,
            "clock_offset": self.clock_offset,
            "counters": self.counters,
            "users": list(self.users.values()),
            "offers": list(self.offers.values()),
            "trades": list(self.trades.values()),
            "confirmations": list(self.confirmations.values()),
            "sessions": self.sessions,
            "prices": self.prices,
            "acknowledged": self.acknowledged,
            "inventories": [list(k) for k in self.inventories],
        }

    def dirty(self) -> bool:
        if self._saved_versions.get("core") != self.core_version or self._saved_versions.get("classes") != self.classes_version:
            return True
        return any(self._saved_versions.get(k) != inv.version for k, inv in list(self.inventories.items()))

    def save(self) -> None:
        """Write what changed since the last save: the snapshot is taken under the lock
        (Asset/Description objects are immutable, so copying references is enough), the
        files are written outside it, each atomically (temp file + rename)."""
        if not self.persist:
            return
        with self._save_mutex:
            with self.lock:
                saved = self._saved_versions
                core_v, classes_v = self.core_version, self.classes_version
                core_text = json.dumps(self._core_dict(), separators=(",", ":")) if saved.get("core") != core_v else None
                classes = [d.data for d in self.classes.values()] if saved.get("classes") != classes_v else None
                invs = [
                    (key, inv.version, inv.appid, inv.contextid, list(inv.assets.values()))
                    for key, inv in self.inventories.items()
                    if saved.get(key) != inv.version
                ]
                keep = {self._inventory_file(k).name for k in self.inventories}
            if classes is not None:
                atomic_write_text(self.state_dir / "classes.json", json.dumps(classes, separators=(",", ":")))
            for key, version, appid, contextid, assets in invs:
                body = {"owner": key[0], "appid": appid, "contextid": contextid, "assets": [a.to_row() for a in assets]}
                atomic_write_text(self._inventory_file(key), json.dumps(body, separators=(",", ":")))
                saved[key] = version
            if core_text is not None:
                atomic_write_text(self.state_dir / "core.json", core_text)
            inv_dir = self.state_dir / "inventories"
            if inv_dir.exists():
                for path in inv_dir.glob("*.json"):
                    if path.name not in keep:
                        path.unlink(missing_ok=True)
            saved["core"], saved["classes"] = core_v, classes_v
            for key in [k for k in saved if isinstance(k, tuple) and k not in self.inventories]:
                del saved[key]

    def _inventory_file(self, key: tuple[int, int, int]) -> Path:
        return self.state_dir / "inventories" / f"{key[0]}_{key[1]}_{key[2]}.json"

    def _load(self) -> None:
        core_path = self.state_dir / "core.json"
        if not core_path.exists():
            return
        core = json.loads(core_path.read_text())
        classes_path = self.state_dir / "classes.json"
        if classes_path.exists():
            for data in json.loads(classes_path.read_text()):
                desc = Description(data)
                self.classes[desc.key] = desc
        self.config.update({k: v for k, v in core.get("config", {}).items() if k in DEFAULT_CONFIG})
        self.clock_offset = float(core.get("clock_offset", 0))
        self.counters.update(core.get("counters", {}))
        self.users = {int(u["steam_id"]): u for u in core.get("users", [])}
        self.offers = {int(o["id"]): o for o in core.get("offers", [])}
        self.trades = {int(t["id"]): t for t in core.get("trades", [])}
        self.confirmations = {int(c["id"]): c for c in core.get("confirmations", [])}
        self.sessions = core.get("sessions", {})
        self.prices = core.get("prices", {})
        self.acknowledged = bool(core.get("acknowledged", False))
        self.live_offers = {oid for oid, o in self.offers.items() if o["state"] in LIVE_STATES}
        now = self.now()
        for owner, appid, contextid in core.get("inventories", []):
            key = (int(owner), int(appid), int(contextid))
            inv = Inventory(*key)
            path = self._inventory_file(key)
            if path.exists():
                inv.replace_all([Asset.from_row(row) for row in json.loads(path.read_text())["assets"]])
            self.inventories[key] = inv
            for asset in inv.assets.values():
                desc = self.classes.get((inv.appid, asset.classid, asset.instanceid))
                if desc and desc.hold_until and desc.hold_until > now:
                    heapq.heappush(self.holds, (desc.hold_until, *key, asset.assetid))
            self._saved_versions[key] = inv.version
        self._saved_versions["core"], self._saved_versions["classes"] = self.core_version, self.classes_version


class Persister(threading.Thread):
    """Saves the state shortly after it changes (never on reads), and once more on stop."""

    def __init__(self, state: SandboxState, interval: float = 0.25):
        super().__init__(name="sandbox-persister", daemon=True)
        self.state = state
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                if self.state.dirty():
                    self.state.save()
            except Exception:  # keep serving; the next change retries the write
                import logging

                logging.getLogger(__name__).exception("sandbox: saving the state failed")

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=30)
        self.state.save()
