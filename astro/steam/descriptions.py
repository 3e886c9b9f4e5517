"""Item descriptions, whichever endpoint they came from (inventory pages, classinfo,
trade offers), and the end of a trade hold that Steam writes into them.

Pure functions, no HTTP, like `parsing.py` (which joins these descriptions to an
inventory page's assets).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from astro.steam.errors import SteamTransientError


def flag(value: Any) -> bool:
    """Steam flags: 0/1 in inventories, true/false in offers, "1"/"0" in classinfo."""
    if isinstance(value, str):
        return value.strip() not in ("", "0", "false")
    return bool(value)


def as_list(value: Any) -> list:
    """classinfo renders arrays as {"0": ..., "1": ...}, or "" when empty."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value[key] for key in sorted(value, key=lambda k: int(k) if str(k).isdigit() else 0)]
    return []


def normalize_description(raw: dict[str, Any]) -> dict[str, Any]:
    """One description in the inventory shape, whichever endpoint it came from.

    classinfo (ISteamEconomy/GetAssetClassInfo) gives lists as index-keyed dicts,
    flags as strings and tags with `name`/`category_name`; inventory pages give
    lists, 0/1 and `localized_tag_name`; trade offers give booleans.
    """
    description = dict(raw)
    for key in ("descriptions", "owner_descriptions", "actions", "market_actions", "fraudwarnings"):
        if key in description:
            description[key] = as_list(description[key])
    tags = []
    for tag in as_list(description.get("tags")):
        tag = dict(tag)
        tag.setdefault("localized_tag_name", tag.get("name"))
        tag.setdefault("localized_category_name", tag.get("category_name"))
        tags.append(tag)
    if "tags" in description:
        description["tags"] = tags
    for key in ("tradable", "marketable", "commodity", "currency", "sealed"):
        if key in description:
            description[key] = int(flag(description[key]))
    return description


def rarity_of(description: dict[str, Any]) -> str | None:
    """The localized name of the "Rarity" tag ("Consumer Grade", "Covert", ...)."""
    for tag in description.get("tags") or []:
        if tag.get("category") == "Rarity":
            return tag.get("localized_tag_name") or tag.get("name")
    return None


# ------------------------------------------------------------------ hold dates
# Steam writes the end of a trade hold / trade protection into the owner descriptions
# (TF2: the descriptions), in the viewer's time zone: the gateway sends the cookie
# timezoneOffset=0,0, so every one is GMT. The forms seen:
#   "Tradable/Marketable After Jul 23, 2025 (7:00:00) GMT"   (legacy; " GMT" left out lately)
#   "... cannot be consumed, modified, or transferred until Jul 23, 2025 (7:00:00) GMT"
#   "Tradable After: Tuesday, June 23, 2026 (7:00:00) GMT"   (TF2, 2026)
#   "Tradable/Marketable After 17 Jul @ 3:00am"              (CS2, 2026: day first, no year)
#   "... [date]1785000000[/date]"                             (with preserve_bbcode=1)
_MONTH_FIRST = re.compile(
    r"(?:After|until):?\s+(?:[A-Z][a-z]+day,\s+)?([A-Z][a-z]{2,8})\.?\s+(\d{1,2}),\s+(\d{4})\s*"
    r"\((\d{1,2}):(\d{2}):(\d{2})\)(?:\s*GMT)?",
    re.I,
)
_DAY_FIRST = re.compile(
    r"(?:After|until):?\s+(\d{1,2})\s+([A-Z][a-z]{2,8})\.?,?(?:\s+(\d{4}))?\s*@\s*(\d{1,2}):(\d{2})\s*([ap]m)",
    re.I,
)
_BBCODE_DATE = re.compile(r"\[date\](\d{9,11})\[/date\]")
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
# A hold that ended moments ago still shows its year-less text until Steam re-renders
# the inventory: read as just ended, not as the same day next year.
_YEARLESS_SLACK = timedelta(days=1)


def _month(name: str) -> int | None:
    return _MONTHS.get(name[:3].lower())


def hold_date_from_text(text: str, *, now: datetime | None = None) -> datetime | None:
    """The moment a hold/protection text names, in UTC; None when it names none.

    The year-less CS2 form means its next occurrence after `now` (a date in December
    read in December is this year's, "2 Jan" read on 30 Dec is next year's).
    """
    raw = text or ""
    bbcode = _BBCODE_DATE.search(raw)
    if bbcode:
        return datetime.fromtimestamp(int(bbcode.group(1)), tz=UTC)
    plain = html.unescape(re.sub(r"<[^>]+>", " ", raw))
    match = _MONTH_FIRST.search(plain)
    if match:
        month = _month(match.group(1))
        day, year, hour, minute, second = (int(match.group(i)) for i in range(2, 7))
        return _moment(year, month, day, hour, minute, second)
    match = _DAY_FIRST.search(plain)
    if match:
        day, month, hour, minute = int(match.group(1)), _month(match.group(2)), int(match.group(4)), int(match.group(5))
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match.group(6).lower() == "pm" else 0)
        if match.group(3):
            return _moment(int(match.group(3)), month, day, hour, minute, 0)
        now = now or datetime.now(UTC)
        for year in (now.year, now.year + 1):
            found = _moment(year, month, day, hour, minute, 0)
            if found is not None and found >= now - _YEARLESS_SLACK:
                return found
        return None
    return None


def _moment(year: int, month: int | None, day: int, hour: int, minute: int, second: int) -> datetime | None:
    if month is None:
        return None
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:  # 30 Feb, 25:00: not a date Steam would write
        return None


def _iso_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def tradable_after_of(description: dict[str, Any], *, now: datetime | None = None) -> datetime | None:
    """When a held item becomes tradable, as Steam says it; None when tradable now
    or when Steam gives no date (a permanently untradable item)."""
    if flag(description.get("tradable", 1)):
        return None
    # The date Steam renders for the owner first; `cache_expiration` (ISO 8601,
    # set on held items' descriptions) is the same moment in machine form.
    for entry in as_list(description.get("owner_descriptions")) + as_list(description.get("descriptions")):
        if isinstance(entry, dict):
            found = hold_date_from_text(str(entry.get("value", "")), now=now)
            if found:
                return found
    return _iso_datetime(description.get("cache_expiration"))


def description_key(entry: dict[str, Any]) -> tuple[str, str]:
    return (str(entry.get("classid")), str(entry.get("instanceid") or "0"))


@dataclass(frozen=True)
class Described:
    """One normalised inventory description and what every asset of it shares."""

    raw: dict[str, Any]  # as Steam sent it: a later page's copy is compared with it
    description: dict[str, Any]
    market_hash_name: str
    name: str
    type: str | None
    rarity: str | None
    tradable: bool
    marketable: bool
    tradable_after: datetime | None
    icon_url: str | None
    tags: list[dict[str, Any]]


def describe(raw: dict[str, Any]) -> Described:
    description = normalize_description(raw)
    return Described(
        raw=raw,
        description=description,
        market_hash_name=description.get("market_hash_name") or description.get("name") or "",
        name=description.get("name") or description.get("market_hash_name") or "",
        type=description.get("type") or None,
        rarity=rarity_of(description),
        tradable=flag(description.get("tradable", 0)),
        marketable=flag(description.get("marketable", 0)),
        tradable_after=tradable_after_of(description),
        icon_url=description.get("icon_url") or None,
        tags=list(description.get("tags") or []),
    )


DescriptionCache = dict[tuple[str, str], Described]


def parse_asset_classinfo(payload: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """ISteamEconomy/GetAssetClassInfo `result` -> {(classid, instanceid): description}."""
    result = payload.get("result") if isinstance(payload, dict) else None
    if not isinstance(result, dict) or not flag(result.get("success", True)):
        raise SteamTransientError("GetAssetClassInfo sent no result")
    out = {}
    for key, raw in result.items():
        if not isinstance(raw, dict):
            continue  # the "success" flag
        classid, _, instanceid = key.partition("_")
        raw = {"classid": raw.get("classid", classid), "instanceid": raw.get("instanceid", instanceid or "0"), **raw}
        out[description_key(raw)] = normalize_description(raw)
    return out
