"""Market prices: a deterministic price per market hash name, unless the control API
set one (or made the item unknown)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from ..errors import bad_request
from ..inventory import Description
from ..parsing import parse_bool, parse_int, require_object
from .shared import Changes


class Market:
    def __init__(self, *, classes: Mapping[tuple[int, str, str], Description], changes: Changes):
        self._classes = classes  # an item is known once some inventory has had its class
        self._changes = changes
        self.prices: dict[str, dict] = {}  # "<appid>/<market hash name>" -> what the control API set

    def set_price(self, spec) -> dict:
        require_object(spec)
        appid = parse_int(spec.get("appid", 730), "appid", minimum=1)
        name = spec.get("marketHashName")
        if not isinstance(name, str) or not name:
            raise bad_request("marketHashName is required", field="marketHashName")
        entry = {"unknown": parse_bool(spec.get("unknown", False), "unknown")}
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
            entry["volume"] = None if spec["volume"] is None else parse_int(spec["volume"], "volume", minimum=0)
        self.prices[f"{appid}/{name}"] = entry
        self._changes.touch("price", f"{appid}/{name}")
        return {"appid": appid, "marketHashName": name, **self.price_of(appid, name, raw=True)}

    def price_of(self, appid: int, name: str, *, raw: bool = False) -> dict | None:
        """{lowestPrice, medianPrice, volume} in USD cents, or None for an unknown item
        ({"unknown": True} with `raw`, for the control API)."""
        override = self.prices.get(f"{appid}/{name}")
        if override and override.get("unknown"):
            return None if not raw else {"unknown": True}
        known = override is not None or any(
            d.appid == appid and d.market_hash_name == name for d in self._classes.values()
        )
        if not known:
            return None if not raw else {"unknown": True}
        h = int.from_bytes(hashlib.sha256(f"{appid}|{name}".encode()).digest()[:8], "big")
        lowest = 3 + h % 25_000
        price = {"lowestPrice": lowest, "medianPrice": lowest + (h >> 20) % (lowest // 10 + 1), "volume": (h >> 40) % 3000}
        if override:
            price.update({k: v for k, v in override.items() if k != "unknown"})
        return price

    def dump(self) -> dict:
        return {"prices": self.prices}

    def restore(self, core: dict) -> None:
        self.prices = core.get("prices", {})

    def restore_one(self, key: str, entry: dict | None) -> None:
        if entry is None:
            self.prices.pop(key, None)
        else:
            self.prices[key] = entry
