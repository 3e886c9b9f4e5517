"""Sandbox users: the accounts on the other side of the bots' trades, how they react
to an offer (accept, decline, ignore, counter, escrow) after a delay, and how the
trade of an accepted offer ends (complete, fail, or revert within the protection
window)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Container

from ..account import STEAMID64_BASE
from ..errors import ControlError, bad_request, not_found
from ..parsing import parse_bool, parse_int, require_object
from .shared import Changes, Clock, Ids

BEHAVIOURS = ("accept", "decline", "ignore", "counter", "escrow")
# How the trade of an accepted offer ends: it completes; it fails before completing
# (the items stay, under new asset ids); or it completes and is rolled back after
# `revertAfterSeconds`, within Steam's 7-day trade protection window.
TRADE_OUTCOMES = ("complete", "fail", "revert")
MAX_REVERT_SECONDS = 7 * 86400
MIN_STEAM_ID = STEAMID64_BASE + 1
MAX_STEAM_ID = STEAMID64_BASE + 2**32 - 1
TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"
_FIELDS = {
    "steamId", "personaName", "behaviour", "behavior", "delaySeconds", "escrowDays", "tradeToken",
    "privateInventory", "privateProfile", "tradeBanned", "country", "tradeOutcome", "revertAfterSeconds",
}


def _new_trade_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(8))


class Users:
    def __init__(self, *, clock: Clock, ids: Ids, changes: Changes, config: dict, bots: Container[int]):
        self._clock = clock
        self._ids = ids
        self._changes = changes
        self._config = config
        self._bots = bots
        self.by_id: dict[int, dict] = {}

    def __contains__(self, steam_id: int) -> bool:
        return steam_id in self.by_id

    def __len__(self) -> int:
        return len(self.by_id)

    def get(self, steam_id: int | None) -> dict | None:
        return self.by_id.get(steam_id)

    def require(self, steam_id: int) -> dict:
        user = self.by_id.get(steam_id)
        if user is None:
            raise not_found(f"no sandbox user {steam_id}")
        return user

    def all(self) -> list[dict]:
        return list(self.by_id.values())

    def create(self, spec) -> dict:
        require_object(spec)
        if spec.get("steamId") is not None:
            steam_id = parse_int(spec["steamId"], "steamId", minimum=MIN_STEAM_ID, maximum=MAX_STEAM_ID)
            if steam_id in self._bots or steam_id in self.by_id:
                raise ControlError(409, "conflict", f"steamId {steam_id} already exists")
        else:
            steam_id = self._ids.next("user")
            while steam_id in self.by_id or steam_id in self._bots:
                steam_id = self._ids.next("user")
        user = {
            "steam_id": steam_id,
            "persona_name": f"Sandbox User {steam_id - STEAMID64_BASE}",
            "trade_token": _new_trade_token(),
            "behaviour": "accept",
            "delay_seconds": 0,
            "escrow_days": None,
            "private_inventory": False,
            "private_profile": False,
            "trade_banned": False,
            "country": "US",
            "created": self._clock.now(),
            "trade_outcome": "complete",
            "revert_after_seconds": 3600,
        }
        self._apply(user, spec, creating=True)
        self.by_id[steam_id] = user
        self._changes.touch("user", steam_id)
        return self.view(user)

    def update(self, steam_id: int, spec) -> dict:
        user = self.require(steam_id)
        require_object(spec)
        trial = dict(user)  # all or nothing: a bad field changes nothing
        self._apply(trial, spec)
        user.update(trial)
        self._changes.touch("user", steam_id)
        return self.view(user)

    def _apply(self, user: dict, spec: dict, *, creating: bool = False) -> None:
        unknown = sorted(set(spec) - _FIELDS)
        if unknown:
            raise bad_request("unknown user fields", fields=unknown, known=sorted(_FIELDS))
        if "steamId" in spec and not creating and int(spec["steamId"]) != user["steam_id"]:
            raise bad_request("steamId cannot change", field="steamId")
        behaviour = spec.get("behaviour", spec.get("behavior"))
        if behaviour is not None:
            if behaviour not in BEHAVIOURS:
                raise bad_request(f"behaviour must be one of {', '.join(BEHAVIOURS)}", field="behaviour")
            user["behaviour"] = behaviour
        if "delaySeconds" in spec:
            user["delay_seconds"] = parse_int(spec["delaySeconds"], "delaySeconds", minimum=0, maximum=10 * 365 * 86400)
        if "escrowDays" in spec:
            days = spec["escrowDays"]
            user["escrow_days"] = None if days is None else parse_int(days, "escrowDays", minimum=0, maximum=365)
        if "personaName" in spec:
            if not isinstance(spec["personaName"], str) or not spec["personaName"].strip():
                raise bad_request("personaName must be a non-empty string", field="personaName")
            user["persona_name"] = spec["personaName"]
        if "tradeToken" in spec:
            token = spec["tradeToken"]
            if token == "new":  # rotate, like "Create new URL" on Steam
                token = _new_trade_token()
            if not isinstance(token, str) or not token or any(c not in TOKEN_ALPHABET for c in token):
                raise bad_request("tradeToken must be letters, digits, - or _ (or \"new\")", field="tradeToken")
            user["trade_token"] = token
        for key, field in (
            ("privateInventory", "private_inventory"),
            ("privateProfile", "private_profile"),
            ("tradeBanned", "trade_banned"),
        ):
            if key in spec:
                user[field] = parse_bool(spec[key], key)
        if "country" in spec:
            user["country"] = str(spec["country"])[:2].upper()
        if "tradeOutcome" in spec:
            if spec["tradeOutcome"] not in TRADE_OUTCOMES:
                raise bad_request(f"tradeOutcome must be one of {', '.join(TRADE_OUTCOMES)}", field="tradeOutcome")
            user["trade_outcome"] = spec["tradeOutcome"]
        if "revertAfterSeconds" in spec:
            user["revert_after_seconds"] = parse_int(spec["revertAfterSeconds"], "revertAfterSeconds", minimum=0,
                                                     maximum=MAX_REVERT_SECONDS)

    @staticmethod
    def trade_outcome(user: dict | None) -> tuple[str, int]:
        """(how the user's trades end, seconds until a revert); users saved before
        trade outcomes complete their trades."""
        if user is None:
            return "complete", 0
        return user.get("trade_outcome", "complete"), user.get("revert_after_seconds", 3600)

    def escrow_days(self, user: dict) -> int:
        """The hold Steam puts on the user's side of a trade."""
        if user["escrow_days"] is not None:
            return user["escrow_days"]
        return self._config["escrowDays"] if user["behaviour"] == "escrow" else 0

    def view(self, user: dict) -> dict:
        account_id = user["steam_id"] - STEAMID64_BASE
        return {
            "steamId": str(user["steam_id"]),
            "accountId": account_id,
            "personaName": user["persona_name"],
            "tradeToken": user["trade_token"],
            "tradeUrl": f"https://steamcommunity.com/tradeoffer/new/?partner={account_id}&token={user['trade_token']}",
            "behaviour": user["behaviour"],
            "delaySeconds": user["delay_seconds"],
            "escrowDays": self.escrow_days(user) if user["behaviour"] == "escrow" else user["escrow_days"],
            "privateInventory": user["private_inventory"],
            "privateProfile": user["private_profile"],
            "tradeBanned": user["trade_banned"],
            "country": user["country"],
            **({"tradeOutcome": self.trade_outcome(user)[0], "revertAfterSeconds": self.trade_outcome(user)[1]}
               if "trade_outcome" in user or "revert_after_seconds" in user else {}),
        }

    def dump(self) -> dict:
        return {"users": list(self.by_id.values())}

    def restore(self, core: dict) -> None:
        self.by_id = {int(u["steam_id"]): u for u in core.get("users", [])}

    def restore_one(self, steam_id: int, user: dict | None) -> None:
        if user is None:
            self.by_id.pop(steam_id, None)
        else:
            self.by_id[steam_id] = user
