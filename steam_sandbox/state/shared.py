"""What every store of the sandbox's world shares, owned by the facade: the clock, the
change versions, the id counters and the config."""

from __future__ import annotations

import time

from ..errors import bad_request
from ..parsing import parse_bool, parse_int, require_object


class Clock:
    """The sandbox clock: real time plus an offset the control API moves forward.

    Offer times, expiry, user delays, escrow and trade holds run on it. Steam Guard
    codes, confirmation keys and token expiry use real time instead: the client
    computes those from its own clock."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> int:
        return int(time.time() + self.offset)


class Versions:
    """Change counters of core.json and classes.json (each inventory has its own).

    The persister writes a file when its version differs from the one it wrote last.
    They only grow, a reset included, so a reset is seen as a change."""

    def __init__(self) -> None:
        self.core = 1
        self.classes = 1

    def touch(self) -> None:
        self.core += 1

    def touch_all(self) -> None:
        self.core += 1
        self.classes += 1


FIRST_IDS = {
    # The last id handed out per kind (ids in Steam's ranges).
    "asset": 40_000_000_000,
    "offer": 6_100_000_000,
    "trade": 3_871_405_456_557_470_000,
    "confirmation": 13_799_599_785,
    "user": 76561198200000000,
}


class Ids:
    """Id counters. They are part of core.json, so handing one out is a change."""

    def __init__(self, versions: Versions) -> None:
        self.last = dict(FIRST_IDS)
        self._versions = versions

    def reset(self) -> None:
        self.last = dict(FIRST_IDS)

    def next(self, kind: str) -> int:
        self.last[kind] += 1
        self._versions.touch()
        return self.last[kind]

    def saw_asset(self, assetid: int) -> None:
        """An asset id came from outside (a loaded inventory): new ids never reuse it."""
        if assetid > self.last["asset"]:
            self.last["asset"] = assetid
            self._versions.touch()


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


def parse_config(changes) -> dict:
    """The control API's config changes, checked (all or nothing)."""
    require_object(changes)
    unknown = sorted(set(changes) - set(_CONFIG_TYPES))
    if unknown:
        raise bad_request("unknown config keys", keys=unknown, known=sorted(_CONFIG_TYPES))
    parsed = {}
    for key, value in changes.items():
        kind, low, high = _CONFIG_TYPES[key]
        parsed[key] = parse_bool(value, key) if kind is bool else parse_int(value, key, minimum=low, maximum=high)
    return parsed
