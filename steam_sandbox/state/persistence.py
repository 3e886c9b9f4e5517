"""The state on disk. Steam never forgets: every change is durable before the
sandbox answers.

- The journal (journal.py) takes each commit, fsynced, at the end of the request
  that made it.
- The snapshot files hold the world as of a journal generation: `core.json` (users,
  offers, trades, confirmations, login sessions, prices, config, clock, id counters,
  the generation), `classes.json` (item descriptions) and
  `inventories/<steamid>_<appid>_<contextid>.json`, each written atomically (temp
  file, fsync, rename) and only when its version changed.
- Compaction writes the snapshot and starts the next generation's journal: when the
  journal has grown, when the sandbox has been idle a moment, on `POST
  /sandbox/save`, on stop, and at once for a commit too big to journal (a generated
  inventory of 100,000 items).

The facade talks to this module through `Durable`: `load(world)` at start,
`commit(world)` at the end of every request, `compact(world)` and
`maybe_compact(world)`. A state directory written before the journal (no generation
in core.json, no journal files) loads as it was.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Protocol

from ..crypto import atomic_write_text
from ..inventory import Asset
from .inventories import Inventories, InventoryKey
from .journal import Journal
from .shared import Changes

log = logging.getLogger(__name__)

# 1: one bot's offers, trades, confirmations and sessions as flat collections and a
#    single `acknowledged` flag. 2: each of those keyed by the bot's steamid.
CORE_VERSION = 2
# Compact when the journal reaches this size, or has waited this long without a commit.
COMPACT_BYTES = 8 * 1024 * 1024
COMPACT_IDLE_SECONDS = 1.0
# A commit naming more than this many things (an inventory counts its every asset) is
# written as a snapshot instead.
MAX_JOURNALED_ROWS = 20_000


class World(Protocol):
    """What persistence needs of the sandbox's state (SandboxState)."""

    lock: threading.RLock
    changes: Changes
    inventories: Inventories

    @property
    def default_bot(self) -> int: ...

    def dump_core(self) -> dict: ...

    def restore_core(self, core: dict) -> None: ...

    def journal_meta(self) -> dict: ...

    def journal_value(self, key: tuple): ...

    def apply_journal(self, record: dict) -> None: ...

    def after_restore(self) -> None: ...


class SnapshotFiles:
    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        # What was last written: "core" / "classes" -> version, inventory key -> version.
        self._saved: dict = {}

    def _inventory_file(self, key: InventoryKey) -> Path:
        return self.state_dir / "inventories" / f"{key[0]}_{key[1]}_{key[2]}.json"

    def dirty(self, world: World) -> bool:
        saved = self._saved
        if saved.get("core") != world.changes.core or saved.get("classes") != world.changes.classes:
            return True
        return any(saved.get(k) != inv.version for k, inv in list(world.inventories.by_key.items()))

    def save(self, world: World, *, generation: int) -> None:
        """Write what changed since the last save (the caller holds the lock);
        core.json last, naming `generation`: the files before it are complete."""
        saved = self._saved
        inventories = world.inventories.by_key
        core_v, classes_v = world.changes.core, world.changes.classes
        if saved.get("classes") != classes_v:
            classes = [d.data for d in world.inventories.classes.values()]
            atomic_write_text(self.state_dir / "classes.json", json.dumps(classes, separators=(",", ":")))
        for key, inv in inventories.items():
            if saved.get(key) == inv.version:
                continue
            body = {"owner": key[0], "appid": inv.appid, "contextid": inv.contextid,
                    "assets": [a.to_row() for a in inv.assets.values()]}
            if inv.hidden:
                body["hidden"] = inv.hidden
            atomic_write_text(self._inventory_file(key), json.dumps(body, separators=(",", ":")))
            saved[key] = inv.version
        core = world.dump_core()
        core["journal"] = generation
        atomic_write_text(self.state_dir / "core.json", json.dumps(core, separators=(",", ":")))
        keep = {self._inventory_file(k).name for k in inventories}
        inv_dir = self.state_dir / "inventories"
        if inv_dir.exists():
            for path in inv_dir.glob("*.json"):
                if path.name not in keep:
                    path.unlink(missing_ok=True)
        saved["core"], saved["classes"] = core_v, classes_v
        for key in [k for k in saved if isinstance(k, tuple) and k not in inventories]:
            del saved[key]

    def load(self, world: World) -> int | None:
        """The snapshot into `world`; its journal generation (None: no snapshot)."""
        core_path = self.state_dir / "core.json"
        if not core_path.exists():
            return None
        core = upgrade(json.loads(core_path.read_text()), default_bot=world.default_bot)
        classes_path = self.state_dir / "classes.json"
        if classes_path.exists():
            world.inventories.restore_classes(json.loads(classes_path.read_text()))
        world.restore_core(core)
        for owner, appid, contextid in core.get("inventories", []):
            key = (int(owner), int(appid), int(contextid))
            path = self._inventory_file(key)
            body = json.loads(path.read_text()) if path.exists() else {"assets": []}
            inv = world.inventories.restore(key, [Asset.from_row(row) for row in body["assets"]],
                                            hidden=int(body.get("hidden", 0)))
            self._saved[key] = inv.version
        self._saved["core"], self._saved["classes"] = world.changes.core, world.changes.classes
        return int(core.get("journal", 0))


class Durable:
    """Snapshot files plus the journal: the one door to the disk."""

    def __init__(self, state_dir: Path):
        self.snapshot = SnapshotFiles(state_dir)
        self.journal = Journal(state_dir)

    def load(self, world: World) -> None:
        base = self.snapshot.load(world)
        generation = base or 0
        replayed = 0
        for generation, record in self.journal.replay(generation):
            world.apply_journal(record)
            replayed += 1
        world.after_restore()
        world.changes.take()  # what the replay changed is on disk already
        self.journal.open(generation)
        if replayed:
            self.compact(world, force=True)
        self.journal.remove_before(self.journal.generation)

    def commit(self, world: World) -> None:
        """Make what the request changed durable before it is answered."""
        changes = world.changes
        if not changes:
            return
        reset, meta, keys = changes.take()
        rows = sum(len(world.inventories.by_key.get(tuple(k[1:]), ())) if k[0] == "inventory" else 1 for k in keys)
        if rows > MAX_JOURNALED_ROWS:
            self.compact(world, force=True)
            return
        record: dict = {}
        if reset:
            record["reset"] = True
        if meta or reset:
            record["meta"] = world.journal_meta()
        record["put"] = [[list(key), world.journal_value(key)] for key in keys]
        self.journal.append(record)

    def compact(self, world: World, *, force: bool = False) -> None:
        """The snapshot of now, and an empty journal of the next generation."""
        with world.lock:
            world.changes.take()  # the snapshot holds them
            if not force and not self.journal.size and not self.snapshot.dirty(world):
                return
            generation = self.journal.generation + 1
            self.snapshot.save(world, generation=generation)
            self.journal.open(generation)
            self.journal.remove_before(generation)

    def maybe_compact(self, world: World) -> None:
        journal = self.journal
        if not journal.size:
            return
        if journal.size >= COMPACT_BYTES or time.monotonic() - journal.last_append >= COMPACT_IDLE_SECONDS:
            self.compact(world)

    def close(self) -> None:
        self.journal.close()


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


class Compacting(Protocol):
    def maybe_compact(self) -> None: ...

    def save(self) -> None: ...


class Persister(threading.Thread):
    """Compacts the journal into the snapshot files from time to time, and once more on stop."""

    def __init__(self, state: Compacting, interval: float = 0.25):
        super().__init__(name="sandbox-persister", daemon=True)
        self.state = state
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                self.state.maybe_compact()
            except Exception:  # keep serving: the journal still has every change
                log.exception("sandbox: compacting the state failed")

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=30)
        self.state.save()
