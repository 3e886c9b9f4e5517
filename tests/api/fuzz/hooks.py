"""schemathesis hooks for tests/api/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

Two kinds, and nothing else:
- `map_case` points schema-valid requests at the world the server actually has: the
  key's own `externalSystem`, sometimes items that exist and are free, and a trade URL
  whose partner is the user's own account. Random values are schema-valid but would
  only ever reach the first refusal; these reach the assignment's claim and delivery.
- `documented_refusals_only`: the 4xx answers the schema documents for schema-valid
  requests (a cursor Astro did not issue, a trade URL of another account, an
  Idempotency-Key reused with another body) are expected, each only with its own error
  code and only when the request carried what it refers to. schemathesis.toml lets these
  statuses through its own `positive_data_acceptance`; this check keeps them precise.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

import schemathesis
from schemathesis.core.failures import Failure

STEAM_ID64_BASE = 76561197960265728
SYSTEM = os.environ.get("ASTRO_FUZZ_SYSTEM", "fuzzer")
ITEM_IDS = [i for i in os.environ.get("ASTRO_FUZZ_ITEM_IDS", "").split(",") if i]
_PARTNER = re.compile(r"partner=[0-9]+")


def _pick(case, salt: str, count: int) -> int:
    # Deterministic per case: the same seed gives the same run.
    digest = hashlib.sha256(f"{salt}:{json.dumps(case.body, sort_keys=True, default=str)}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % count


def _own_partner(trade_url, steam_id):
    try:
        account = int(steam_id) - STEAM_ID64_BASE
    except (TypeError, ValueError):
        return trade_url
    return _PARTNER.sub(f"partner={account}", trade_url, count=1) if isinstance(trade_url, str) else trade_url


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case  # a schema-invalid request stays exactly as generated
    label = case.operation.label
    if label == "POST /api/assignments" and isinstance(case.body, dict):
        case.body["externalSystem"] = SYSTEM
        if ITEM_IDS and _pick(case, "items", 3) == 0:
            count = min(len(case.body.get("itemIds") or [1]), 3)
            start = _pick(case, "start", len(ITEM_IDS))
            case.body["itemIds"] = [ITEM_IDS[(start + n) % len(ITEM_IDS)] for n in range(count)]
        if "tradeUrl" in case.body and _pick(case, "url", 2) == 0:
            case.body["tradeUrl"] = _own_partner(case.body["tradeUrl"], case.body.get("userId"))
    elif label == "PUT /api/users/{steam_id}" and isinstance(case.body, dict) and case.path_parameters:
        if _pick(case, "url", 2) == 0:
            case.body["tradeUrl"] = _own_partner(case.body.get("tradeUrl"), case.path_parameters.get("steam_id"))
    return case


class UndocumentedRefusal(Failure):
    kind_title = "A schema-valid request refused for a reason the schema does not state"


# (operation, status) -> {error code: what the request must have carried for it}
DOCUMENTED = {
    **{(f"GET {path}", 400): {"invalid_cursor": "cursor"}
       for path in ("/api/items", "/api/assignments", "/api/events", "/api/sync/runs")},
    ("POST /api/assignments", 400): {"invalid_trade_url": "tradeUrl"},
    ("POST /api/assignments", 422): {"idempotency_key_reused": "Idempotency-Key"},
    ("PUT /api/users/{steam_id}", 400): {"invalid_trade_url": "tradeUrl"},
}


def _carried(case, what: str) -> bool:
    if what == "cursor":
        return bool((case.query or {}).get("cursor"))
    if what == "Idempotency-Key":
        return any(name.lower() == "idempotency-key" for name in (case.headers or {}))
    return isinstance(case.body, dict) and what in case.body


@schemathesis.check
def documented_refusals_only(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    documented = DOCUMENTED.get((case.operation.label, response.status_code))
    if documented is None:
        return None  # schemathesis' own positive_data_acceptance judges it
    try:
        code = response.json()["error"]["code"]
    except Exception:
        code = None
    if code not in documented or not _carried(case, documented[code]):
        raise UndocumentedRefusal(
            operation=case.operation.label, title=UndocumentedRefusal.kind_title,
            message=f"{response.status_code} {code!r}: the schema documents {sorted(documented)} here, each only "
                    f"for a request that carries its parameter.",
        )
    return None
