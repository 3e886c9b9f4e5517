"""Steam account ids: the one home of the steamid64 range and its conversions.

A steamid64 of an individual account is 76561197960265728 + the 32-bit account id
(the `partner` of a trade URL). Account id 0 is no account, so the valid range is
base + 1 .. base + 2**32 - 1, and every check in Astro uses these names.
"""

from __future__ import annotations

STEAM_ID64_BASE = 76561197960265728
STEAM_ID64_MIN = STEAM_ID64_BASE + 1
STEAM_ID64_MAX = STEAM_ID64_BASE + 2**32 - 1  # 76561202255233023
# What the API's schema states for a steamid64 string (17 digits in that range).
STEAM_ID64_PATTERN = r"^7656119[0-9]{10}$"


def is_individual_steam_id(value: int) -> bool:
    return STEAM_ID64_MIN <= value <= STEAM_ID64_MAX


def account_id_of(steam_id: int) -> int:
    return int(steam_id) - STEAM_ID64_BASE


def steam_id_of(account_id: int) -> int:
    return STEAM_ID64_BASE + int(account_id)
