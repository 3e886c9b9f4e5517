"""Steam account ids: the one home of the steamid64 range and its conversions.

A steamid64 of an individual account is 76561197960265728 + the 32-bit account id
(the `partner` of a trade URL). Account id 0 is no account, so the valid range is
base + 1 .. base + 2**32 - 1, and every check in Astro uses these names.
"""

from __future__ import annotations

STEAM_ID64_BASE = 76561197960265728
STEAM_ID64_MIN = STEAM_ID64_BASE + 1
STEAM_ID64_MAX = STEAM_ID64_BASE + 2**32 - 1  # 76561202255233023


def is_individual_steam_id(value: int) -> bool:
    return STEAM_ID64_MIN <= value <= STEAM_ID64_MAX


def account_id_of(steam_id: int) -> int:
    return int(steam_id) - STEAM_ID64_BASE


def steam_id_of(account_id: int) -> int:
    return STEAM_ID64_BASE + int(account_id)


def _digits_between(lo: str, hi: str) -> str:
    """A regex for the decimal numbers lo..hi, both of the same length."""
    if lo == hi:
        return lo
    n = len(lo)
    if lo == "0" * n and hi == "9" * n:
        return f"[0-9]{{{n}}}"
    if n == 1:
        return f"[{lo}-{hi}]"
    if lo[0] == hi[0]:
        return lo[0] + _digits_between(lo[1:], hi[1:])
    parts = [lo[0] + _digits_between(lo[1:], "9" * (n - 1))]
    if int(hi[0]) - int(lo[0]) > 1:
        parts.append(f"[{int(lo[0]) + 1}-{int(hi[0]) - 1}][0-9]{{{n - 1}}}")
    parts.append(hi[0] + _digits_between("0" * (n - 1), hi[1:]))
    return "(?:" + "|".join(parts) + ")"


# Exactly the steamid64s of individual accounts (STEAM_ID64_MIN..MAX) as a regex: the API's
# schema states it for every steamid string, and its fields check it.
STEAM_ID64_EXACT_PATTERN = f"^{_digits_between(str(STEAM_ID64_MIN), str(STEAM_ID64_MAX))}$"
