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
import time
from bisect import bisect_left, insort
from datetime import datetime, timedelta, timezone

_COMPACT = {"separators": (",", ":"), "ensure_ascii": False}
# Inventory versions are unique across all inventories (and resets), so a persister
# never mistakes a re-created inventory for the one it already wrote.
_VERSIONS = itertools.count(1)

# Inventory descriptions carry these flags as 0/1; trade-offer descriptions as booleans.
_FLAG_KEYS = ("currency", "tradable", "marketable", "commodity")

# The hold notices Steam has shown, each with the date's format(s).
_HOLD_TEXTS = [
    # 2025 and before: "Tradable/Marketable After Jul 11, 2025 (2:00:00) GMT" (GMT optional),
    # and the trade-protection sentence of July 2025.
    (re.compile(r"(?:Tradable/Marketable After|trade-protected and cannot be consumed, modified, or transferred until)"
                r"\s+([A-Z][a-z]{2} \d{1,2}, \d{4} \(\d{1,2}:\d{2}:\d{2}\))"), ("%b %d, %Y (%H:%M:%S)",)),
    # TF2 2026: "Tradable After: Tuesday, June 23, 2026 (7:00:00) GMT".
    (re.compile(r"Tradable After: [A-Z][a-z]+, ([A-Z][a-z]+ \d{1,2}, \d{4} \(\d{1,2}:\d{2}:\d{2}\))"),
     ("%B %d, %Y (%H:%M:%S)",)),
]
# CS2 2026: "Tradable/Marketable After 17 Jul @ 3:00am": no year, meaning the next 17 Jul.
_HOLD_NO_YEAR = re.compile(r"Tradable/Marketable After (\d{1,2}) ([A-Z][a-z]{2}) @ (\d{1,2}):(\d{2})(am|pm)")


def dumps(value) -> str:
    return json.dumps(value, **_COMPACT)


def parse_hold_text(text: str, *, now: float | None = None) -> datetime | None:
    """The date (GMT) in any hold notice Steam has used; the year-less form is the
    next such date after `now`."""
    text = text or ""
    for pattern, formats in _HOLD_TEXTS:
        match = pattern.search(text)
        if match:
            for fmt in formats:
                try:
                    return datetime.strptime(match.group(1), fmt).replace(tzinfo=timezone.utc)
                except ValueError:
                    continue
    match = _HOLD_NO_YEAR.search(text)
    if match:
        day, month, hour, minute, half = match.groups()
        hour = int(hour) % 12 + (12 if half == "pm" else 0)
        reference = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc)
        for year in (reference.year, reference.year + 1):
            try:
                moment = datetime.strptime(f"{day} {month} {year} {hour}:{minute}", "%d %b %Y %H:%M")
            except ValueError:
                continue
            moment = moment.replace(tzinfo=timezone.utc)
            if moment >= reference - timedelta(days=1):
                return moment
    return None


def format_hold_date(moment: datetime) -> str:
    """Steam's older form: "Jul 11, 2025 (2:00:00)"."""
    moment = moment.astimezone(timezone.utc)
    return f"{moment:%b} {moment.day}, {moment.year} ({moment.hour}:{moment:%M:%S})"


def format_hold_date_cs2_2026(moment: datetime) -> str:
    """CS2's 2026 form: "17 Jul @ 3:00am" (GMT, no year)."""
    moment = moment.astimezone(timezone.utc)
    hour = moment.hour % 12 or 12
    return f"{moment.day} {moment:%b} @ {hour}:{moment:%M}{'am' if moment.hour < 12 else 'pm'}"


def format_hold_date_tf2_2026(moment: datetime) -> str:
    """TF2's 2026 form: "Tuesday, June 23, 2026 (7:00:00)"."""
    moment = moment.astimezone(timezone.utc)
    return f"{moment:%A}, {moment:%B} {moment.day}, {moment.year} ({moment.hour}:{moment:%M:%S})"


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
    for field in ("owner_descriptions", "descriptions"):  # TF2 shows its hold among the descriptions
        entries = data.get(field)
        if isinstance(entries, list):
            for entry in entries:
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
        data = {k: v for k, v in self.data.items() if k not in ("owner_descriptions", "owner_actions", "cache_expiration", "sealed", "sealed_type")}
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


def _unwatched(inv: "Inventory", assetid: int | None) -> None:
    pass


class Inventory:
    """One (account, appid, contextid) inventory.

    `hidden` items are counted in `total_inventory_count` but never listed (CS2 does
    that with items it protects or hides). `watch(inventory, assetid)` hears of every
    change: an asset's, or (None) the whole inventory's."""

    def __init__(self, owner: int, appid: int, contextid: int, *, watch=_unwatched):
        self.owner = owner
        self.appid = appid
        self.contextid = contextid
        self.ids: list[int] = []  # ascending; served in reverse (newest first)
        self.assets: dict[int, Asset] = {}
        self.hidden = 0
        self.watch = watch
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
        self.watch(self, asset.assetid)

    def replace_all(self, assets: list[Asset]) -> None:
        self.assets = {a.assetid: a for a in assets}
        self.ids = sorted(self.assets)
        self.version = next(_VERSIONS)
        self.watch(self, None)

    def set_hidden(self, count: int) -> None:
        self.hidden = count
        self.version = next(_VERSIONS)
        self.watch(self, None)

    def remove(self, assetid: int) -> Asset | None:
        asset = self.assets.pop(assetid, None)
        if asset is not None:
            i = bisect_left(self.ids, assetid)
            del self.ids[i]
            self.version = next(_VERSIONS)
            self.watch(self, assetid)
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
        total = len(self.ids) + self.hidden
        tail = f'"total_inventory_count":{total},"success":1,"rwgrsn":-2}}'
        if not page_ids:
            # An empty inventory (or a start past the end, or only hidden items): no
            # assets/descriptions keys at all.
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
