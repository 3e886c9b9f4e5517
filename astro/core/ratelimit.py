"""Rates shared by every process, decided by Redis in one round trip (GCRA).

The generic cell rate algorithm keeps one number per key: the theoretical arrival
time (TAT) of the next request. A Lua script reads and moves it atomically on the
Redis server, with the server's clock, so concurrent workers and web processes can
neither overshoot a limit (a get-then-set race) nor disagree about time.

Two uses, one mechanism:
- `limit_take`: at most `count` requests per `period` (bursts up to `count`),
  answering how long to wait when over (API keys, anonymous clients);
- `pace_reserve`: requests spaced at least `spacing` apart, each caller booking the
  next free slot and sleeping until it (Steam inventory pages per host), and
  `pace_hold` to push the next slot back when Steam says Retry-After.
"""

from __future__ import annotations

import threading

import redis
from django.conf import settings

# KEYS[1]: the key. ARGV: interval_us (time one request "costs"), burst (requests that
# may arrive at once), book (1: book a slot even when it is in the future, for pacing),
# hold_us (push the TAT to now + hold, for Retry-After; 0 otherwise).
# Returns {allowed, wait_us}.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local book = tonumber(ARGV[3])
local hold = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if hold > 0 then
  if now + hold > tat then tat = now + hold end
  redis.call('SET', KEYS[1], tat, 'PX', math.ceil((tat - now) / 1000) + 1000)
  return {1, 0}
end
local allowed_at = tat - (burst - 1) * interval
if book == 1 then
  local wait = 0
  if allowed_at > now then wait = allowed_at - now end
  local new_tat = tat + interval
  redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1000)
  return {1, wait}
end
if allowed_at > now then return {0, allowed_at - now} end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return {1, 0}
"""

_local = threading.local()


def _script():
    # One client per process and thread-safe pool; the script is loaded once (EVALSHA).
    if getattr(_local, "url", None) != settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL)
        _local.url, _local.script = settings.REDIS_URL, client.register_script(_GCRA)
    return _local.script


def _key(name: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "astro")
    return f"{prefix}:rate:{name}"


def _run(name: str, *, interval: float, burst: int, book: bool = False, hold: float = 0.0) -> tuple[bool, float]:
    allowed, wait_us = _script()(
        keys=[_key(name)], args=[max(1, int(interval * 1_000_000)), burst, int(book), int(hold * 1_000_000)]
    )
    return bool(allowed), wait_us / 1_000_000


def limit_take(name: str, *, count: int, period: float) -> float | None:
    """Take one request of `count` per `period` seconds for `name`: None when allowed,
    else the seconds until one would be (nothing is taken then)."""
    allowed, wait = _run(name, interval=period / count, burst=count)
    return None if allowed else wait


def pace_reserve(name: str, *, spacing: float) -> float:
    """Book the next slot of `name` (slots at least `spacing` seconds apart) and return
    how long to sleep until it. Always books: the caller must then go."""
    return _run(name, interval=spacing, burst=1, book=True)[1]


def pace_hold(name: str, *, seconds: float) -> None:
    """No slot of `name` before `seconds` from now (Steam answered Retry-After)."""
    _run(name, interval=1.0, burst=1, hold=max(seconds, 0.001))
