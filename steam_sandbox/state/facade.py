"""The sandbox's world behind one object, `SandboxState`.

It owns what every part shares: the lock, the clocks, the id counters, the change
tracker, the config and the bots. The world itself is in per-concern stores it
builds and hands those to (each gets only what it needs, so the dependencies read
off the constructors and point one way):

    users, inventories <- market, trades <- offers (with confirmations);  sessions; faults; counters

Routes call a store directly for what concerns it alone (`state.users.create(...)`,
`state.offers.send(...)`) and the facade for what spans several: the clock's tick,
inventory edits that invalidate offers, deposits, reset, the summary, persistence.

Everything runs under `lock`: the HTTP routes hold it for the length of a request,
and `commit()` at its end makes what changed durable before the answer goes out.
Time-based transitions (a user accepting after N seconds, offer expiry, escrow
release, the end of a trade hold, a scheduled revert) are applied lazily by `tick()`
at the start of every request, so tests are deterministic and no background thread
changes the world behind a test's back.

Per-bot state (offers sent and received, trades, confirmations, sessions, the trade
protection acknowledgement, call counters) is keyed by the bot's steamid everywhere,
in memory and on disk. Today there is one bot, `bot`; more bots would only add
entries to `bots`.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path

from ..account import BotAccount
from ..crypto import LoginKey, TokenSigner, load_or_create_secret, same
from ..enums import ETradeOfferState
from ..errors import not_found
from ..inventory import Asset
from ..parsing import require_object
from .config import DEFAULT_CONFIG, parse_config
from .confirmations import Confirmations
from .counters import CallCounters
from .faults import EXPIRE_SESSION, Faults
from .inventories import Inventories
from .market import Market
from .offers import Offers
from .persistence import CORE_VERSION, Durable
from .sessions import Sessions
from .shared import AuthClock, Changes, Clock, Ids
from .trades import Trades
from .users import Users

REQUEST_LOG_SIZE = 5000


class SandboxState:
    def __init__(self, state_dir: Path | str, bot: BotAccount | None = None, *, key_cache: Path | None = None,
                 config: dict | None = None):
        self.lock = threading.RLock()
        self.clock = Clock()
        self.changes = Changes()
        self.ids = Ids(self.changes)
        self.bot = bot or BotAccount()
        self.bots: dict[int, BotAccount] = {self.bot.steam_id: self.bot}
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # The config a reset returns to: Steam's defaults, but for what this process
        # was started with (`--config`).
        self.start_config = {**DEFAULT_CONFIG, **parse_config(config or {})}
        # Kept across resets, like the state directory's login key and secret.
        self.signer = TokenSigner(load_or_create_secret(self.state_dir / "secret.key"))
        self.login_key = LoginKey(self.state_dir / "rsa_key.json", cache=key_cache)
        # Not saved: faults are for the moment, the request log and counters for looking.
        self.faults = Faults()
        self.counters = CallCounters()
        self.request_log: deque[dict] = deque(maxlen=REQUEST_LOG_SIZE)
        self.request_seq = 0
        self._build(self.start_config)
        self._disk = Durable(self.state_dir)
        self._disk.load(self)
        if config:
            self.config.update(parse_config(config))  # the command line wins over the saved config
            self.changes.touch()
            self.commit()

    def _build(self, config: dict) -> None:
        """A fresh world around the facade's clock, counters and change tracker."""
        clock, ids, changes = self.clock, self.ids, self.changes
        self.config = dict(config)
        self.auth_clock = AuthClock(clock, self.config)
        self.users = Users(clock=clock, ids=ids, changes=changes, config=self.config, bots=self.bots)
        self.inventories = Inventories(clock=clock, ids=ids, changes=changes, config=self.config)
        self.market = Market(classes=self.inventories.classes, changes=changes)
        self.trades = Trades(clock=clock, ids=ids, changes=changes, config=self.config, inventories=self.inventories)
        self.confirmations = Confirmations(clock=clock, ids=ids, changes=changes)
        self.offers = Offers(
            clock=clock, ids=ids, changes=changes, config=self.config, users=self.users,
            inventories=self.inventories, trades=self.trades, confirmations=self.confirmations,
        )
        self.sessions = Sessions(
            bots=self.bots, signer=self.signer, login_key=self.login_key, config=self.config, changes=changes,
            auth_clock=self.auth_clock,
        )

    # ------------------------------------------------------------------ the whole world
    def now(self) -> int:
        return self.clock.now()

    @property
    def default_bot(self) -> int:
        return self.bot.steam_id

    def reset(self, *, steam_defaults: bool = False) -> None:
        """An empty world with the start config (or Steam's own defaults); the login
        key, the signing secret and the ids of faults and logged requests stay."""
        with self.lock:
            self.clock.offset = 0.0
            self.ids.reset()
            self._build(DEFAULT_CONFIG if steam_defaults else self.start_config)
            self.changes.touch_all()
            self.faults.clear()
            self.counters.reset()
            self.request_log.clear()

    def update_config(self, changes) -> dict:
        self.config.update(parse_config(changes))
        self.changes.touch()
        return dict(self.config)

    def advance_clock(self, seconds: int) -> None:
        self.clock.offset += seconds
        self.changes.touch()

    def tick(self) -> None:
        """Apply every time-based transition that is due, earliest first."""
        now = self.now()
        for _ in range(10_000):
            # (due, tie-breaker, what): at the same time offers go before holds (an
            # offer id is smaller than a steamid), each in id order.
            events = [(hold[0], hold[1], ("hold", hold[1:])) for hold in self.inventories.due_holds(now)]
            events += [(due, offer_id, ("offer", (bot, offer_id, action, seen)))
                       for due, offer_id, action, seen, bot in self.offers.due_events(now)]
            if not events:
                return
            events.sort(key=lambda e: (e[0], e[1]))
            for _, _, (kind, args) in events:
                if kind == "offer":
                    self.offers.apply_event(*args)
                else:
                    self._end_hold(*args)

    def _end_hold(self, owner: int, appid: int, contextid: int, assetid: int) -> None:
        moved = self.inventories.release_hold(owner, appid, contextid, assetid)
        if moved is not None and owner in self.bots:
            self.trades.record_move(owner, *moved, appid)

    # ------------------------------------------------------------------ accounts
    def resolve_owner(self, text: str) -> int:
        """An `{account}` of the control API: "bot" or a steamid, as a steamid."""
        if text == "bot":
            return self.bot.steam_id
        if text in {str(b) for b in self.bots}:
            return int(text)
        try:
            steam_id = int(text)
        except ValueError:
            raise not_found(f"unknown account {text!r}: use 'bot' or a sandbox user's steamid") from None
        if steam_id not in self.users:
            raise not_found(f"unknown account {text!r}: create the user first (POST /sandbox/users)")
        return steam_id

    def resolve_bot(self, text: str) -> int:
        """A `{bot}` of the control API: "bot" or a bot's steamid."""
        if text == "bot":
            return self.bot.steam_id
        if text in {str(b) for b in self.bots}:
            return int(text)
        raise not_found(f"unknown bot {text!r}: use 'bot' or a bot's steamid", bots=[str(b) for b in self.bots])

    def persona_of(self, steam_id: int) -> str:
        if steam_id in self.bots:
            return self.bots[steam_id].persona_name
        user = self.users.get(steam_id)
        return user["persona_name"] if user else str(steam_id)

    def bot_with_api_key(self, key: str) -> BotAccount | None:
        return next((b for b in self.bots.values() if same(key, b.api_key)), None)

    # ------------------------------------------------------------------ edits that span stores
    def load_inventory(self, owner: int, appid: int, contextid: int, payload) -> dict:
        summary, departed = self.inventories.load(owner, appid, contextid, payload)
        self.offers.invalidate(owner, departed)
        return summary

    def generate_inventory(self, owner: int, appid: int, contextid: int, spec) -> dict:
        summary, departed = self.inventories.generate(owner, appid, contextid, spec)
        self.offers.invalidate(owner, departed)
        return summary

    def remove_assets(self, owner: int, appid: int, contextid: int, asset_ids) -> dict:
        result, departed = self.inventories.remove(owner, appid, contextid, asset_ids)
        self.offers.invalidate(owner, departed)
        return result

    def deposit(self, steam_id: int, spec) -> dict:
        """A sandbox user sends items to the bot (see Offers.deposit)."""
        return self.offers.deposit(self.bot.steam_id, steam_id, spec)

    def add_fault(self, spec) -> dict:
        if require_object(spec).get("kind") == EXPIRE_SESSION:
            return {"kind": EXPIRE_SESSION, "expiredSessions": self.sessions.expire_all()}
        return self.faults.add(spec)

    def take_fault(self, kind: str, host: str, path: str, method: str) -> dict | None:
        return self.faults.take(kind, host, path, method)

    # ------------------------------------------------------------------ summary
    def summary(self) -> dict:
        bot = self.bot.steam_id
        by_state: dict[str, int] = {}
        for _, offer in self.offers.all():
            name = ETradeOfferState(offer["state"]).name
            by_state[name] = by_state.get(name, 0) + 1
        inventories = self.inventories.by_key
        return {
            "bot": {
                "steamId": str(bot),
                "username": self.bot.username,
                "personaName": self.bot.persona_name,
                "liveSessions": self.sessions.live_count(bot),
                "tradeProtectionAcknowledged": self.offers.acknowledged.get(bot, False),
            },
            "inventories": [
                {"account": "bot" if k[0] == bot else str(k[0]), "appid": k[1], "contextid": str(k[2]), "count": len(inv)}
                for k, inv in sorted(inventories.items())
            ],
            "botItemCount": self.inventories.count_of(bot),
            "users": len(self.users),
            "offers": {"total": len(self.offers.all()), "byState": by_state},
            "trades": self.trades.count(),
            "pendingConfirmations": self.confirmations.count(),
            "faults": self.faults.listed(),
            "config": dict(self.config),
            "clock": {"now": self.now(), "offsetSeconds": self.clock.offset},
            "stateDir": str(self.state_dir),
        }

    # ------------------------------------------------------------------ persistence
    def dump_core(self) -> dict:
        return {
            "version": CORE_VERSION,
            "config": self.config,
            "clock_offset": self.clock.offset,
            "counters": self.ids.last,
            **self.users.dump(),
            **self.offers.dump(),
            **self.trades.dump(),
            **self.confirmations.dump(),
            **self.sessions.dump(),
            **self.market.dump(),
            "inventories": [list(k) for k in self.inventories.by_key],
        }

    def restore_core(self, core: dict) -> None:
        self.config.update({k: v for k, v in core.get("config", {}).items() if k in DEFAULT_CONFIG})
        self.clock.offset = float(core.get("clock_offset", 0))
        self.ids.last.update(core.get("counters", {}))
        for store in (self.users, self.offers, self.trades, self.confirmations, self.sessions, self.market):
            store.restore(core)

    def journal_meta(self) -> dict:
        return {
            "config": dict(self.config),
            "clock_offset": self.clock.offset,
            "counters": dict(self.ids.last),
            "acknowledged": {str(bot): done for bot, done in self.offers.acknowledged.items()},
        }

    def journal_value(self, key: tuple):
        """What the thing `key` names is now (None: gone), for the journal."""
        kind, *rest = key
        if kind == "user":
            return self.users.get(rest[0])
        if kind == "offer":
            return self.offers.get(*rest)
        if kind == "trade":
            return self.trades.get(*rest)
        if kind == "confirmation":
            return self.confirmations.get(*rest)
        if kind == "session":
            return self.sessions.by_bot.get(rest[0], {}).get(rest[1])
        if kind == "price":
            return self.market.prices.get(rest[0])
        if kind == "class":
            desc = self.inventories.classes.get(tuple(rest))
            return desc.data if desc else None
        inv = self.inventories.by_key.get(tuple(rest[:3]))
        if kind == "inventory":
            return None if inv is None else {"rows": [a.to_row() for a in inv.assets.values()], "hidden": inv.hidden}
        if kind == "asset":
            asset = inv.get(rest[3]) if inv else None
            return asset.to_row() if asset else None
        raise ValueError(f"unknown journal key {key!r}")

    def apply_journal(self, record: dict) -> None:
        """One commit of the journal, replayed at start (see journal.py)."""
        if record.get("reset"):
            self.ids.reset()
            self._build(self.start_config)
        meta = record.get("meta")
        if meta:
            self.config.update({k: v for k, v in meta["config"].items() if k in DEFAULT_CONFIG})
            self.clock.offset = float(meta["clock_offset"])
            self.ids.last.update(meta["counters"])
            self.offers.acknowledged = {int(bot): bool(done) for bot, done in meta["acknowledged"].items()}
        for (kind, *rest), value in record.get("put", []):
            if kind == "user":
                self.users.restore_one(int(rest[0]), value)
            elif kind in ("offer", "trade", "confirmation"):
                store = {"offer": self.offers, "trade": self.trades, "confirmation": self.confirmations}[kind]
                store.restore_one(int(rest[0]), int(rest[1]), value)
            elif kind == "session":
                self.sessions.restore_one(int(rest[0]), str(rest[1]), value)
            elif kind == "price":
                self.market.restore_one(rest[0], value)
            elif kind == "class":
                if value is not None:
                    self.inventories.restore_classes([value])
            elif kind == "inventory":
                key = (int(rest[0]), int(rest[1]), int(rest[2]))
                if value is None:
                    self.inventories.by_key.pop(key, None)
                else:
                    self.inventories.restore(key, [Asset.from_row(r) for r in value["rows"]], hidden=value["hidden"])
            elif kind == "asset":
                self.inventories.restore_asset((int(rest[0]), int(rest[1]), int(rest[2])), int(rest[3]), value)

    def after_restore(self) -> None:
        self.offers.reindex()
        self.inventories.rebuild_holds()

    def commit(self) -> None:
        """Make every change so far durable (the routes call it before answering)."""
        with self.lock:
            self._disk.commit(self)

    def maybe_compact(self) -> None:
        self._disk.maybe_compact(self)

    def save(self) -> None:
        """Compact now: the snapshot files hold everything, the journal starts afresh."""
        self._disk.compact(self)

    def close(self) -> None:
        self._disk.close()
