"""The state on disk: snapshot files written shortly after a change, by a thread.

Under the state directory: `core.json` (users, offers, trades, confirmations, login
sessions, prices, config, clock, id counters), `classes.json` (item descriptions) and
`inventories/<steamid>_<appid>_<contextid>.json`, each written atomically (temp file,
fsync, rename) and only when its version changed, so reads never rewrite anything.

The facade talks to this module through three calls: `load(world)` at start,
`dirty(world)` and `save(world)`. Making every change durable before the answer
(an append-only journal, SQLite) means another class with the same three calls.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Protocol

from ..crypto import atomic_write_text
from ..inventory import Asset
from .inventories import Inventories, InventoryKey
from .shared import Versions

log = logging.getLogger(__name__)

# 1: one bot's offers, trades, confirmations and sessions as flat collections and a
#    single `acknowledged` flag. 2: each of those keyed by the bot's steamid.
CORE_VERSION = 2


class World(Protocol):
    """What the snapshot files need of the sandbox's state (SandboxState)."""

    lock: threading.RLock
    versions: Versions
    inventories: Inventories

    @property
    def default_bot(self) -> int: ...

    def dump_core(self) -> dict: ...

    def restore_core(self, core: dict) -> None: ...


class SnapshotFiles:
    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self._save_mutex = threading.Lock()
        # What was last written: "core" / "classes" -> version, inventory key -> version.
        self._saved: dict = {}

    def _inventory_file(self, key: InventoryKey) -> Path:
        return self.state_dir / "inventories" / f"{key[0]}_{key[1]}_{key[2]}.json"

    def dirty(self, world: World) -> bool:
        saved = self._saved
        if saved.get("core") != world.versions.core or saved.get("classes") != world.versions.classes:
            return True
        return any(saved.get(k) != inv.version for k, inv in list(world.inventories.by_key.items()))

    def save(self, world: World) -> None:
        """Write what changed since the last save: the snapshot is taken under the lock
        (Asset/Description objects are immutable, so copying references is enough), the
        files are written outside it."""
        with self._save_mutex:
            with world.lock:
                saved = self._saved
                inventories = world.inventories.by_key
                core_v, classes_v = world.versions.core, world.versions.classes
                core_text = json.dumps(world.dump_core(), separators=(",", ":")) if saved.get("core") != core_v else None
                classes = [d.data for d in world.inventories.classes.values()] if saved.get("classes") != classes_v else None
                changed = [
                    (key, inv.version, inv.appid, inv.contextid, list(inv.assets.values()))
                    for key, inv in inventories.items()
                    if saved.get(key) != inv.version
                ]
                keep = {self._inventory_file(k).name for k in inventories}
                current = set(inventories)
            if classes is not None:
                atomic_write_text(self.state_dir / "classes.json", json.dumps(classes, separators=(",", ":")))
            for key, version, appid, contextid, assets in changed:
                body = {"owner": key[0], "appid": appid, "contextid": contextid, "assets": [a.to_row() for a in assets]}
                atomic_write_text(self._inventory_file(key), json.dumps(body, separators=(",", ":")))
                saved[key] = version
            # core.json last: it names the inventories, which are on disk by now.
            if core_text is not None:
                atomic_write_text(self.state_dir / "core.json", core_text)
            inv_dir = self.state_dir / "inventories"
            if inv_dir.exists():
                for path in inv_dir.glob("*.json"):
                    if path.name not in keep:
                        path.unlink(missing_ok=True)
            saved["core"], saved["classes"] = core_v, classes_v
            for key in [k for k in saved if isinstance(k, tuple) and k not in current]:
                del saved[key]

    def load(self, world: World) -> None:
        core_path = self.state_dir / "core.json"
        if not core_path.exists():
            return
        core = upgrade(json.loads(core_path.read_text()), default_bot=world.default_bot)
        classes_path = self.state_dir / "classes.json"
        if classes_path.exists():
            world.inventories.restore_classes(json.loads(classes_path.read_text()))
        world.restore_core(core)
        for owner, appid, contextid in core.get("inventories", []):
            key = (int(owner), int(appid), int(contextid))
            path = self._inventory_file(key)
            rows = json.loads(path.read_text())["assets"] if path.exists() else []
            inv = world.inventories.restore(key, [Asset.from_row(row) for row in rows])
            self._saved[key] = inv.version
        self._saved["core"], self._saved["classes"] = world.versions.core, world.versions.classes


def upgrade(core: dict, *, default_bot: int) -> dict:
    """core.json of any earlier version, in the current layout."""
    version = int(core.get("version", 1))
    if version > CORE_VERSION:
        raise ValueError(f"core.json has version {version}: saved by a newer sandbox (this one reads up to {CORE_VERSION})")
    if version == 1:
        core = _from_v1(core, default_bot)
    return core


def _from_v1(core: dict, bot: int) -> dict:
    """Version 1 knew one bot: its offers, trades and confirmations become that bot's;
    each login session goes to the steamid it names."""
    key = str(bot)
    sessions: dict[str, dict] = {}
    for jti, session in core.get("sessions", {}).items():
        sessions.setdefault(str(session["steamid"]), {})[jti] = session
    return {
        **core,
        "version": 2,
        "offers": {key: core.get("offers", [])},
        "trades": {key: core.get("trades", [])},
        "confirmations": {key: core.get("confirmations", [])},
        "sessions": sessions,
        "acknowledged": {key: True} if core.get("acknowledged") else {},
    }


class Saving(Protocol):
    def dirty(self) -> bool: ...

    def save(self) -> None: ...


class Persister(threading.Thread):
    """Saves the state shortly after it changes (never on reads), and once more on stop."""

    def __init__(self, state: Saving, interval: float = 0.25):
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
                log.exception("sandbox: saving the state failed")

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=30)
        self.state.save()
