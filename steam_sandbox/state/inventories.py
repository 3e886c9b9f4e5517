"""Every account's inventories, the item classes they share, and trade holds that end
on the sandbox clock.

Edits that take assets out of an inventory return the (appid, contextid, assetid)
keys that left it: the caller makes the live offers that named them InvalidItems
(`Offers.invalidate`), all of one edit at once, as Steam does.
"""

from __future__ import annotations

import copy
import heapq
import json
from datetime import datetime, timedelta, timezone

from .. import catalogue
from ..errors import bad_request, not_found
from ..inventory import Asset, Description, Inventory
from ..parsing import iso, parse_bool, parse_int, parse_time, require_object
from .shared import Changes, Clock, Ids

InventoryKey = tuple[int, int, int]  # (owner steamid, appid, contextid)
Departed = set[tuple[int, int, int]]  # (appid, contextid, assetid) that left one owner
TRADE_PROTECTION_CONTEXT = 16  # where CS2 items received in a trade wait (Steam since July 2025)
_EDITABLE = {
    "name", "marketHashName", "type", "tradable", "tradableAfter", "tradeProtected", "marketable", "tags",
    "description", "properties",
}


class Inventories:
    def __init__(self, *, clock: Clock, ids: Ids, changes: Changes, config: dict):
        self._clock = clock
        self._ids = ids
        self._changes = changes
        self._config = config
        self.classes: dict[tuple[int, str, str], Description] = {}
        self.by_key: dict[InventoryKey, Inventory] = {}
        # (hold end, owner, appid, contextid, assetid), earliest first
        self.holds: list[tuple[int, int, int, int, int]] = []

    # ------------------------------------------------------------------ lookups
    def get(self, owner: int, appid: int, contextid: int, *, create: bool = False) -> Inventory | None:
        key = (owner, appid, contextid)
        inv = self.by_key.get(key)
        if inv is None and create:
            inv = self.by_key[key] = Inventory(owner, appid, contextid, watch=self._changes.inventory_changed)
            self._changes.touch("inventory", *key)
        return inv

    def description(self, item: dict) -> Description | None:
        """The class of an offer or trade entry (`appid`, `classid`, `instanceid`)."""
        return self.classes.get((item["appid"], item["classid"], item["instanceid"]))

    def holds_item(self, owner: int, item: dict) -> bool:
        inv = self.by_key.get((owner, item["appid"], int(item["contextid"])))
        return inv is not None and int(item["assetid"]) in inv

    def count_of(self, owner: int) -> int:
        return sum(len(inv) for key, inv in self.by_key.items() if key[0] == owner)

    # ------------------------------------------------------------------ building blocks
    def register_class(self, data: dict) -> Description:
        desc = Description(data)
        existing = self.classes.get(desc.key)
        if existing is not None and existing.data == desc.data:
            return existing
        self.classes[desc.key] = desc
        self._changes.touch_class(desc.key)
        return desc

    def with_hold(self, data: dict, until: datetime, *, protected: bool = False) -> dict:
        """`data` under a hold until `until`, in the hold-date texts of the config."""
        return catalogue.with_trade_hold(data, until, protected=protected, style=self._config["holdDateFormat"])

    def add_asset(self, inv: Inventory, asset: Asset) -> None:
        desc = self.classes[(inv.appid, asset.classid, asset.instanceid)]
        inv.add(asset)
        self._ids.saw_asset(asset.assetid)
        # Only holds still running when the item arrives are released by the clock;
        # a stale date in loaded data stays as Steam sent it.
        if desc.hold_until and desc.hold_until > self._clock.now():
            heapq.heappush(self.holds, (desc.hold_until, inv.owner, inv.appid, inv.contextid, asset.assetid))

    def _new_asset(self, inv: Inventory, desc: Description, props: list | None = None, *, props_json: str | None = None) -> Asset:
        asset = Asset(self._ids.next("asset"), desc.classid, desc.instanceid, 1, props, props_json=props_json)
        self.add_asset(inv, asset)
        return asset

    def take(self, owner: int, item: dict, departed: Departed) -> Asset:
        """Take the item's amount out of `owner`'s inventory. Part of a stack leaves the
        rest under the same asset id; a whole asset is added to `departed`."""
        inv = self.by_key[(owner, item["appid"], int(item["contextid"]))]
        asset = inv.get(int(item["assetid"]))
        amount = int(item.get("amount") or asset.amount)
        if 0 < amount < asset.amount:
            inv.add(asset.replace(amount=asset.amount - amount))
            return asset.replace(amount=amount)
        inv.remove(asset.assetid)
        departed.add((inv.appid, inv.contextid, asset.assetid))
        return asset

    def put(self, owner: int, contextid: int, asset: Asset, desc: Description) -> Asset:
        """`asset` arrives in `owner`'s inventory as `desc` under a new asset id (Steam
        re-numbers items that change hands)."""
        inv = self.get(owner, desc.appid, contextid, create=True)
        new = Asset(self._ids.next("asset"), desc.classid, desc.instanceid, asset.amount, props_json=asset.props_json)
        self.add_asset(inv, new)
        return new

    # ------------------------------------------------------------------ control-API edits
    def load(self, owner: int, appid: int, contextid: int, payload) -> tuple[dict, Departed]:
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
        inv = self.get(owner, appid, contextid, create=True)
        gone = set(inv.assets) - seen
        inv.replace_all(assets)  # one sort, not one insertion per asset
        now = self._clock.now()
        for asset in assets:
            self._ids.saw_asset(asset.assetid)
            desc = self.classes[(appid, asset.classid, asset.instanceid)]
            if desc.hold_until and desc.hold_until > now:
                heapq.heappush(self.holds, (desc.hold_until, owner, appid, contextid, asset.assetid))
        return self.summary(inv), {(appid, contextid, a) for a in gone}

    def generate(self, owner: int, appid: int, contextid: int, spec) -> tuple[dict, Departed]:
        require_object(spec)
        count = parse_int(spec.get("count", 100), "count", minimum=0, maximum=2_000_000)
        seed = parse_int(spec.get("seed", 1), "seed")
        classes = spec.get("classes")
        classes = None if classes is None else parse_int(classes, "classes", minimum=1, maximum=100_000)
        with_properties = parse_bool(spec.get("withProperties", True), "withProperties")
        untradable = parse_int(spec.get("untradable", 0), "untradable", minimum=0, maximum=count)
        hold_days = parse_int(spec.get("holdDays", 7), "holdDays", minimum=1, maximum=365)
        append = parse_bool(spec.get("append", False), "append")
        hidden = None if spec.get("hidden") is None else parse_int(spec["hidden"], "hidden", minimum=0, maximum=10_000_000)
        inv = self.get(owner, appid, contextid, create=True)
        departed: Departed = set()
        if not append:
            departed = {(appid, contextid, a) for a in inv.assets}
            inv.replace_all([])
        if hidden is not None:
            inv.set_hidden(hidden)
        registered: dict[tuple[int, bool], Description] = {}
        hold_until = datetime.fromtimestamp(self._clock.now(), timezone.utc) + timedelta(days=hold_days)
        rows = []
        generated = catalogue.generate(appid, count, seed=seed, classes=classes, with_properties=with_properties)
        for n, (data, props) in enumerate(generated):
            held = n < untradable
            cache_key = (id(data), held)
            desc = registered.get(cache_key)
            if desc is None:
                desc = self.register_class(self.with_hold(data, hold_until) if held else data)
                registered[cache_key] = desc
            rows.append((desc, props))
        # Oldest first, so the newest ids are the generated tail; all in one pass.
        for desc, props in rows:
            self._new_asset(inv, desc, props_json=props)
        return self.summary(inv), departed

    def add_items(self, owner: int, appid: int, contextid: int, spec) -> list[dict]:
        """Fresh items appear in an inventory (an unexplained gain, or stock for a deposit)."""
        require_object(spec)
        inv = self.get(owner, appid, contextid, create=True)
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
            count = parse_int(spec.get("count", 1), "count", minimum=1, maximum=100_000)
            seed = parse_int(spec.get("seed", self._ids.last["asset"] % 1_000_003), "seed")
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
            until = parse_time(item["tradableAfter"], "tradableAfter")
            data = self.with_hold(data, datetime.fromtimestamp(until, timezone.utc), protected=bool(item.get("tradeProtected")))
        return data

    def remove(self, owner: int, appid: int, contextid: int, asset_ids) -> tuple[dict, Departed]:
        if not isinstance(asset_ids, list) or not asset_ids:
            raise bad_request("assetIds must be a non-empty list", field="assetIds")
        inv = self.get(owner, appid, contextid)
        removed, unknown = [], []
        for raw in asset_ids:
            assetid = parse_int(raw, "assetIds[]")
            if inv is not None and inv.remove(assetid) is not None:
                removed.append(str(assetid))
            else:
                unknown.append(str(assetid))
        result = {"removed": removed, "unknown": unknown, "count": len(inv) if inv else 0}
        return result, {(appid, contextid, int(a)) for a in removed}

    def update_asset(self, owner: int, appid: int, contextid: int, assetid: int, changes) -> dict:
        """Change an asset's description (name, tradability, hold, tags, properties):
        like Steam, the changed class gets a new instance id; the asset id stays."""
        if not isinstance(changes, dict) or not changes:
            raise bad_request("the body must be a non-empty JSON object")
        unknown = sorted(set(changes) - _EDITABLE)
        if unknown:
            raise bad_request("unknown fields", fields=unknown, known=sorted(_EDITABLE))
        inv = self.get(owner, appid, contextid)
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
            data["marketable"] = 1 if parse_bool(changes["marketable"], "marketable") else 0
        if "tags" in changes:
            if not isinstance(changes["tags"], list):
                raise bad_request("tags must be a list", field="tags")
            data["tags"] = changes["tags"]
        if "description" in changes:
            if not isinstance(changes["description"], dict):
                raise bad_request("description must be an object", field="description")
            data.update(changes["description"])
        if "tradable" in changes:
            if parse_bool(changes["tradable"], "tradable"):
                data = catalogue.without_trade_hold(data)
            else:
                data["tradable"] = 0
        if "tradableAfter" in changes:
            until = parse_time(changes["tradableAfter"], "tradableAfter")
            data = self.with_hold(data, datetime.fromtimestamp(until, timezone.utc), protected=bool(changes.get("tradeProtected")))
        data["appid"] = appid
        data["instanceid"] = catalogue.variant_instanceid(data, json.dumps(changes, sort_keys=True, default=str))
        desc = self.register_class(data)
        if "properties" in changes:
            if changes["properties"] is not None and not isinstance(changes["properties"], list):
                raise bad_request("properties must be a list or null", field="properties")
            new = asset.replace(classid=desc.classid, instanceid=desc.instanceid, props=changes["properties"])
        else:
            new = asset.replace(classid=desc.classid, instanceid=desc.instanceid)
        self.add_asset(inv, new)
        return self.asset_view(inv, new)

    # ------------------------------------------------------------------ trade holds
    def due_holds(self, now: int) -> list[tuple[int, int, int, int, int]]:
        """Pop the holds that ended by `now`, earliest first."""
        due = []
        while self.holds and self.holds[0][0] <= now:
            due.append(heapq.heappop(self.holds))
        return due

    def release_hold(self, owner: int, appid: int, contextid: int, assetid: int) -> tuple[Asset, Asset] | None:
        """The hold ended: the item becomes tradable (same asset id, new instance id).
        A trade-protected CS2 item moves from context 16 to 2, keeping its asset id or
        (`protectionEndKeepsAssetId` off) under a new one: then (old, new) is returned
        for the trade history to show the move."""
        inv = self.by_key.get((owner, appid, contextid))
        asset = inv.get(assetid) if inv else None
        if asset is None:
            return None
        desc = self.classes[(appid, asset.classid, asset.instanceid)]
        if not desc.hold_until or desc.hold_until > self._clock.now():
            return None
        free = self.register_class(catalogue.without_trade_hold(desc.data))
        new = asset.replace(classid=free.classid, instanceid=free.instanceid)
        if contextid != TRADE_PROTECTION_CONTEXT:
            inv.add(new)
            return None
        inv.remove(assetid)
        if not self._config["protectionEndKeepsAssetId"]:
            new = new.replace(assetid=self._ids.next("asset"))
        self.get(owner, appid, 2, create=True).add(new)
        return (asset, new) if new.assetid != asset.assetid else None

    def set_hidden(self, owner: int, appid: int, contextid: int, spec) -> dict:
        """Items counted in total_inventory_count but never listed."""
        count = parse_int(require_object(spec).get("count"), "count", minimum=0, maximum=10_000_000)
        inv = self.get(owner, appid, contextid, create=True)
        inv.set_hidden(count)
        return self.summary(inv)

    # ------------------------------------------------------------------ views
    def summary(self, inv: Inventory) -> dict:
        return {
            "account": str(inv.owner),
            "appid": inv.appid,
            "contextid": str(inv.contextid),
            "count": len(inv),
            **({"hidden": inv.hidden} if inv.hidden else {}),
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
            "tradableAfter": iso(desc.hold_until),
            "properties": asset.props,
        }

    # ------------------------------------------------------------------ persistence
    def restore_classes(self, rows: list[dict]) -> None:
        for data in rows:
            desc = Description(data)
            self.classes[desc.key] = desc

    def restore(self, key: InventoryKey, assets: list[Asset], *, hidden: int = 0) -> Inventory:
        """An inventory read back from disk (its classes restored first). Call
        `rebuild_holds` once everything is back."""
        inv = Inventory(*key)
        inv.replace_all(assets)
        inv.hidden = hidden
        inv.watch = self._changes.inventory_changed  # from now on, changes are news
        self.by_key[key] = inv
        return inv

    def restore_asset(self, key: InventoryKey, assetid: int, row: list | None) -> None:
        """The journal's word on one asset: its row, or None when it left."""
        inv = self.by_key.get(key) or self.restore(key, [])
        if row is None:
            inv.remove(assetid)
        else:
            inv.add(Asset.from_row(row))

    def rebuild_holds(self) -> None:
        now = self._clock.now()
        self.holds = []
        for key, inv in self.by_key.items():
            for asset in inv.assets.values():
                desc = self.classes.get((inv.appid, asset.classid, asset.instanceid))
                if desc and desc.hold_until and desc.hold_until > now:
                    self.holds.append((desc.hold_until, *key, asset.assetid))
        heapq.heapify(self.holds)
