"""What every store of the sandbox's world shares, owned by the facade: the clocks,
the change tracker and the id counters. (The config is in config.py.)"""

from __future__ import annotations

import time
from collections.abc import Mapping


class Clock:
    """The sandbox clock: real time plus an offset the control API moves forward.

    Offer times, expiry, user delays, escrow and trade holds run on it."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> int:
        return int(time.time() + self.offset)


class AuthClock:
    """Steam's time as Steam Guard sees it: what TOTP codes, confirmation keys, token
    lifetimes and ITwoFactorService/QueryTime follow. The sandbox clock (config
    `authClock` "sandbox", Steam's case: a client learns the offset from QueryTime)
    or real time, plus `clockSkewSeconds`."""

    def __init__(self, clock: Clock, config: Mapping) -> None:
        self._clock = clock
        self._config = config

    def now(self) -> int:
        base = self._clock.now() if self._config["authClock"] == "sandbox" else int(time.time())
        return base + self._config["clockSkewSeconds"]


class Changes:
    """What changed in the world since the last commit, and change counters.

    Every store names what it changed (`touch("offer", bot, id)`); at the end of each
    request the journal writes the current value of everything named, and syncs it to
    disk, before the answer goes out (persistence.Durable). The counters `core` and
    `classes` (each inventory has its own version) tell the snapshot files what to
    rewrite when the journal is compacted. They only grow, a reset included."""

    def __init__(self) -> None:
        self.core = 1
        self.classes = 1
        self.keys: dict[tuple, None] = {}  # ordered, each once
        self.meta = False  # config, clock, id counters, per-bot flags
        self.reset = False

    def touch(self, *key) -> None:
        self.core += 1
        self.meta = True
        if key:
            self.keys[key] = None

    def touch_class(self, key: tuple) -> None:
        self.classes += 1
        self.keys[("class", *key)] = None

    def touch_all(self) -> None:
        """The world was rebuilt (a reset): what follows replaces everything."""
        self.core += 1
        self.classes += 1
        self.keys.clear()
        self.meta = True
        self.reset = True

    def inventory_changed(self, inv, assetid: int | None) -> None:
        """An inventory's watcher: one asset changed, or (None) all of it."""
        if assetid is None:
            self.keys[("inventory", inv.owner, inv.appid, inv.contextid)] = None
        else:
            self.keys[("asset", inv.owner, inv.appid, inv.contextid, assetid)] = None

    def __bool__(self) -> bool:
        return bool(self.keys) or self.meta or self.reset

    def take(self) -> tuple[bool, bool, list[tuple]]:
        """(reset, meta, keys) since the last take; starts afresh."""
        taken = (self.reset, self.meta, list(self.keys))
        self.keys = {}
        self.meta = self.reset = False
        return taken


FIRST_IDS = {
    # The last id handed out per kind (ids in Steam's ranges).
    "asset": 40_000_000_000,
    "offer": 6_100_000_000,
    "trade": 3_871_405_456_557_470_000,
    "confirmation": 13_799_599_785,
    "user": 76561198200000000,
}


class Ids:
    """Id counters. They are part of the state, so handing one out is a change."""

    def __init__(self, changes: Changes) -> None:
        self.last = dict(FIRST_IDS)
        self._changes = changes

    def reset(self) -> None:
        self.last = dict(FIRST_IDS)

    def next(self, kind: str) -> int:
        self.last[kind] += 1
        self._changes.touch()
        return self.last[kind]

    def saw_asset(self, assetid: int) -> None:
        """An asset id came from outside (a loaded inventory): new ids never reuse it."""
        if assetid > self.last["asset"]:
            self.last["asset"] = assetid
            self._changes.touch()
