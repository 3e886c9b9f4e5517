"""Rate strings (`600/min`): the one home of their syntax, for a system's per-key limit
(ExternalSystem.rate_limit) and the anonymous limit (API_ANON_RATE)."""

from __future__ import annotations

import re

RATE_PATTERN = r"^[1-9][0-9]{0,6}/(s|sec|second|m|min|minute|h|hour|d|day)$"
_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
            "d": 86400, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """`600/min` -> (600, 60): requests, per that many seconds. ValueError for anything else."""
    if not isinstance(rate, str) or not re.fullmatch(RATE_PATTERN, rate):
        raise ValueError(f"{rate!r} is not a rate like 600/min or 10/s")
    count, period = rate.split("/")
    return int(count), _PERIODS[period]
