"""Inventories kept in the shape Steam serves them, built for fast paging.

An inventory is a sorted list of asset ids plus a dict of `Asset`s; a page is the
next `count` ids below `start_assetid` (Steam lists newest first, and asset ids grow),
found by bisection, and its JSON is assembled from per-asset and per-class fragments
that are serialised once and cached. Serving a page of 1000 out of 100,000 items
therefore touches 1000 objects and never the whole inventory.

`Asset` and `Description` objects are never changed in place once created (a change
makes a new object), so the persister can snapshot an inventory by copying references.
"""

from __future__ import annotations

import itertools
import json
import re
from bisect import bisect_left, insort
from datetime import datetime, timezone

_COMPACT = {"separators": (",", ":"), "ensure_ascii": False}
# Inventory versions are unique across all inventories (and resets), so a persister
# never mistakes a re-created inventory for the one it already wrote.
_VERSIONS = itertools.count(1)

# Inventory descriptions carry these flags as 0/1; trade-offer descriptions as booleans.
_FLAG_KEYS = ("currency", "tradable", "marketable", "commodity")

_HOLD_TEXT = re.compile(
    r"(?:Tradable/Marketable After|trade-protected and cannot be consumed, modified, or transferred until)\s+(.+?)\s*GMT"
)


def dumps(value) -> str:
    return json.dumps(value, **_COMPACT)


def parse_hold_text(text: str) -> datetime | None:
    """The date in 'Tradable/Marketable After Nov 25, 2025 (8:00:00) GMT' (and the
    trade-protection wording), in the formats Steam has used."""
    match = _HOLD_TEXT.search(text or "")
    if not match:
        return None
    raw = match.group(1).replace("@", "").replace("(", "").replace(")", "").replace(",", "")
    raw = " ".join(raw.split())
    for fmt in ("%b %d %Y %H:%M:%S", "%d %b %Y %H:%M:%S", "%b %d %Y %H:%M", "%d %b %Y %H:%M"):
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def format_hold_date(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc)
    return f"{moment:%b} {moment.day}, {moment.year} ({moment.hour}:{moment:%M:%S})"


def hold_until_of(data: dict) -> int | None:
    """When an untradable class becomes tradable, as a unix time; None when it has no hold."""
    if _flag(data.get("tradable")):
        return None
    expiration = data.get("cache_expiration")
    if isinstance(expiration, str) and expiration:
        try:
            return int(datetime.fromisoformat(expiration.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    owner = data.get("owner_descriptions")
    if isinstance(owner, list):
        for entry in owner:
            if isinstance(entry, dict):
                moment = parse_hold_text(str(entry.get("value", "")))
                if moment:
                    return int(moment.timestamp())
    return None


def _flag(value) -> bool:
    if isinstance(value, str):
        return value not in ("", "0", "false", "False")
    return bool(value)


class Description:
    """One item class as Steam describes it (keyed by appid, classid, instanceid)."""

    __slots__ = ("appid", "classid", "instanceid", "data", "hold_until", "_inventory_json")

    def __init__(self, data: dict):
        self.appid = int(data["appid"])
        self.classid = str(data["classid"])
        self.instanceid = str(data.get("instanceid", "0"))
        data = dict(data)
        data["appid"], data["classid"], data["instanceid"] = self.appid, self.classid, self.instanceid
        self.data = data
        self.hold_until = hold_until_of(data)
        self._inventory_json: str | None = None

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.appid, self.classid, self.instanceid)

    @property
    def tradable(self) -> bool:
        return _flag(self.data.get("tradable"))

    @property
    def market_hash_name(self) -> str:
        return str(self.data.get("market_hash_name") or self.data.get("name") or "")

    def inventory_json(self) -> str:
        if self._inventory_json is None:
            self._inventory_json = dumps(self.data)
        return self._inventory_json

    def offer_dict(self) -> dict:
        data = {k: v for k, v in self.data.items() if k not in ("owner_descriptions", "owner_actions", "cache_expiration", "sealed")}
        for key in _FLAG_KEYS:
            if key in data:
                data[key] = _flag(data[key])
        return data


class Asset:
    """One asset. Its properties (wear, pattern) are kept as their JSON text, which is
    what pages and the state files need; `props` parses them for the rare reader."""

    __slots__ = ("assetid", "classid", "instanceid", "amount", "props_json", "_json")

    def __init__(self, assetid: int, classid: str, instanceid: str, amount: int = 1, props: list | None = None,
                 *, props_json: str | None = None):
        self.assetid = int(assetid)
        self.classid = str(classid)
        self.instanceid = str(instanceid)
        self.amount = int(amount)
        self.props_json = props_json if props_json is not None else (dumps(props) if props else None)
        self._json: str | None = None

    @property
    def props(self) -> list | None:
        return json.loads(self.props_json) if self.props_json else None

    def replace(self, **changes) -> "Asset":
        fields = {k: getattr(self, k) for k in ("assetid", "classid", "instanceid", "amount")}
        if "props" in changes:
            return Asset(**{**fields, **changes})
        fields.update(changes)
        return Asset(**fields, props_json=self.props_json)

    def json(self, appid: int, contextid: int) -> str:
        if self._json is None:
            self._json = (
                f'{{"appid":{appid},"contextid":"{contextid}","assetid":"{self.assetid}",'
                f'"classid":"{self.classid}","instanceid":"{self.instanceid}","amount":"{self.amount}"}}'
            )
        return self._json

    def to_row(self) -> list:
        return [self.assetid, self.classid, self.instanceid, self.amount, self.props_json]

    @classmethod
    def from_row(cls, row: list) -> "Asset":
        if isinstance(row[4], list):
            return cls(row[0], row[1], row[2], row[3], row[4])
        return cls(row[0], row[1], row[2], row[3], props_json=row[4])


class Inventory:
    """One (account, appid, contextid) inventory."""

    def __init__(self, owner: int, appid: int, contextid: int):
        self.owner = owner
        self.appid = appid
        self.contextid = contextid
        self.ids: list[int] = []  # ascending; served in reverse (newest first)
        self.assets: dict[int, Asset] = {}
        self.version = next(_VERSIONS)  # renewed on every change; the persister writes changed versions only

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, assetid: int) -> bool:
        return assetid in self.assets

    def get(self, assetid: int) -> Asset | None:
        return self.assets.get(assetid)

    def add(self, asset: Asset) -> None:
        if asset.assetid in self.assets:
            self.assets[asset.assetid] = asset
        else:
            self.assets[asset.assetid] = asset
            if not self.ids or asset.assetid > self.ids[-1]:
                self.ids.append(asset.assetid)
            else:
                insort(self.ids, asset.assetid)
        self.version = next(_VERSIONS)

    def replace_all(self, assets: list[Asset]) -> None:
        self.assets = {a.assetid: a for a in assets}
        self.ids = sorted(self.assets)
        self.version = next(_VERSIONS)

    def remove(self, assetid: int) -> Asset | None:
        asset = self.assets.pop(assetid, None)
        if asset is not None:
            i = bisect_left(self.ids, assetid)
            del self.ids[i]
            self.version = next(_VERSIONS)
        return asset

    def newest_first(self, limit: int | None = None) -> list[Asset]:
        ids = self.ids if limit is None else self.ids[-limit:]
        return [self.assets[i] for i in reversed(ids)]

    def page(self, *, start_assetid: int | None, count: int, classes: dict) -> str:
        """One page of `/inventory/...` as Steam's JSON text.

        `start_assetid` is the previous page's `last_assetid`: the page holds the
        `count` next-older assets. If that asset has since left the inventory the
        page still starts at the right place (bisection on the id), so a concurrent
        change never makes a reader skip or repeat the assets that stayed.

        The text is joined from per-asset fragments (cached), per-class descriptions
        (cached) and the properties' stored JSON: no json.dumps per request.
        """
        end = len(self.ids) if start_assetid is None else bisect_left(self.ids, start_assetid)
        begin = max(0, end - count)
        page_ids = self.ids[begin:end]
        page_ids.reverse()
        total = len(self.ids)
        tail = f'"total_inventory_count":{total},"success":1,"rwgrsn":-2}}'
        if not page_ids:
            # An empty inventory (or a start past the end): no assets/descriptions keys at all.
            return "{" + tail
        appid, contextid = self.appid, self.contextid
        assets = self.assets
        asset_parts, desc_parts, prop_parts = [], [], []
        seen = set()
        for assetid in page_ids:
            asset = assets[assetid]
            asset_parts.append(asset.json(appid, contextid))
            dkey = (asset.classid, asset.instanceid)
            if dkey not in seen:
                seen.add(dkey)
                desc_parts.append(classes[(appid, asset.classid, asset.instanceid)].inventory_json())
            if asset.props_json:
                prop_parts.append(
                    f'{{"appid":{appid},"contextid":"{contextid}","assetid":"{assetid}","asset_properties":{asset.props_json}}}'
                )
        out = ['{"assets":[', ",".join(asset_parts), '],"descriptions":[', ",".join(desc_parts), "]"]
        if prop_parts:
            out += [',"asset_properties":[', ",".join(prop_parts), "]"]
        if begin > 0:
            out.append(f',"more_items":1,"last_assetid":"{page_ids[-1]}"')
        out.append("," + tail)
        return "".join(out)
