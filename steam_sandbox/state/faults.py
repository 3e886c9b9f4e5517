"""Faults on demand: Steam misbehaving for the next N matching requests (or until
removed). They are for the moment: never saved, and a reset clears them (their ids
keep growing, so a test never confuses an old fault with a new one)."""

from __future__ import annotations

from ..errors import bad_request
from ..parsing import parse_bool, parse_int, require_object

KINDS = {
    # kind: default path prefix (None = every Steam request)
    "rate_limit": None,
    "server_error": None,
    "latency": None,
    "send_timeout": "/tradeoffer/new/send",
    "send_error": "/tradeoffer/new/send",
    "empty_inventory": "/inventory/",
    "page_size_limit": "/inventory/",
}
# Not kept: it happens at once (every bot session dies), see SandboxState.add_fault.
EXPIRE_SESSION = "expire_session"


class Faults:
    def __init__(self) -> None:
        self.active: list[dict] = []
        self._last_id = 0

    def add(self, spec) -> dict:
        require_object(spec)
        kind = spec.get("kind")
        if kind not in KINDS:
            raise bad_request("unknown fault kind", field="kind", kinds=sorted([*KINDS, EXPIRE_SESSION]))
        fault = {
            "id": None,
            "kind": kind,
            "remaining": None if spec.get("count") is None else parse_int(spec["count"], "count", minimum=1),
            "pathPrefix": spec.get("pathPrefix", KINDS[kind]),
            "host": spec.get("host"),
            "method": (spec.get("method") or "").upper() or None,
        }
        for key in ("pathPrefix", "host"):
            if fault[key] is not None and not isinstance(fault[key], str):
                raise bad_request(f"{key} must be a string", field=key)
        if kind == "rate_limit" and spec.get("retryAfterSeconds") is not None:
            fault["retryAfterSeconds"] = parse_int(spec["retryAfterSeconds"], "retryAfterSeconds", minimum=1, maximum=86400)
        if kind == "server_error":
            fault["status"] = parse_int(spec.get("status", 500), "status", minimum=500, maximum=599)
            fault["eresult"] = parse_int(spec.get("eresult", 55), "eresult", minimum=1)
            if spec.get("message") is not None:
                fault["message"] = str(spec["message"])
        elif kind == "latency":
            fault["ms"] = parse_int(spec.get("ms", 200), "ms", minimum=1, maximum=120_000)
        elif kind == "send_timeout":
            mode = spec.get("mode", "drop")
            if mode not in ("drop", "hang"):
                raise bad_request("mode must be drop or hang", field="mode")
            fault["mode"] = mode
            fault["holdSeconds"] = parse_int(spec.get("holdSeconds", 30), "holdSeconds", minimum=1, maximum=600)
        elif kind == "send_error":
            fault["eresult"] = parse_int(spec.get("eresult", 16), "eresult", minimum=1)
            fault["createOffer"] = parse_bool(spec.get("createOffer", False), "createOffer")
            fault["status"] = parse_int(spec.get("status", 500), "status", minimum=200, maximum=599)
        elif kind == "page_size_limit":
            fault["limit"] = parse_int(spec.get("limit", 500), "limit", minimum=1)
        self._last_id += 1
        fault["id"] = self._last_id
        self.active.append(fault)
        return dict(fault)

    def take(self, kind: str, host: str, path: str, method: str) -> dict | None:
        """The first active fault of `kind` that matches the request (one use of it)."""
        for fault in self.active:
            if fault["kind"] != kind:
                continue
            if fault["host"] and fault["host"] != host:
                continue
            if fault["pathPrefix"] and not path.startswith(fault["pathPrefix"]):
                continue
            if fault["method"] and fault["method"] != method:
                continue
            if fault["remaining"] is not None:
                fault["remaining"] -= 1
                if fault["remaining"] <= 0:
                    self.active.remove(fault)
            return dict(fault)
        return None

    def remove(self, fault_id: int) -> bool:
        before = len(self.active)
        self.active = [f for f in self.active if f["id"] != fault_id]
        return len(self.active) != before

    def clear(self) -> int:
        count = len(self.active)
        self.active.clear()
        return count

    def listed(self) -> list[dict]:
        return [dict(f) for f in self.active]
