"""Steam JSON -> the dataclasses of astro/steam/types.py.

Pure functions, no HTTP: they are tested against the real Steam responses in
tests/fixtures/steam/. A response that does not have the shape Steam gives
raises `SteamTransientError` (a garbled or cut answer is Steam's hiccup, not a
reason to believe the data), never returns half of what was asked.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

from astro.core.steamids import steam_id_of
from astro.steam.descriptions import DescriptionCache, Described, describe, description_key, flag
from astro.steam.errors import SteamPermanentError, SteamTransientError
from astro.steam.types import (
    InventoryItem,
    MarketPrice,
    OfferAsset,
    OfferState,
    PlayerSummary,
    TradeAsset,
    TradeOffer,
    TradeStatus,
    TradeStatusCode,
)

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ trade URLs
@dataclass(frozen=True)
class TradeUrl:
    account_id: int
    token: str

    @property
    def steam_id(self) -> int:
        return steam_id_of(self.account_id)


_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def parse_trade_url(url: str) -> TradeUrl:
    """`https://steamcommunity.com/tradeoffer/new/?partner=<accountid>&token=<token>`.

    Anything else is refused before it reaches Steam (`invalid_trade_url`).
    """
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme != "https"
        or parts.hostname != "steamcommunity.com"
        or parts.port is not None
        or parts.path.rstrip("/") != "/tradeoffer/new"
    ):
        raise SteamPermanentError(
            "not a Steam trade URL (https://steamcommunity.com/tradeoffer/new/?partner=...&token=...)",
            code="invalid_trade_url",
        )
    query = parse_qs(parts.query)
    partner = query.get("partner", [""])
    token = query.get("token", [""])
    # isascii: str.isdigit() also accepts digits like "²", which int() refuses.
    if (len(partner) != 1 or not (partner[0].isascii() and partner[0].isdigit()) or len(token) != 1
            or not _TOKEN.match(token[0])):
        raise SteamPermanentError("the trade URL needs one numeric partner and one token", code="invalid_trade_url")
    account_id = int(partner[0])
    if not 0 < account_id < 2**32:
        raise SteamPermanentError("the trade URL's partner is not a Steam account id", code="invalid_trade_url")
    return TradeUrl(account_id=account_id, token=token[0])


# ------------------------------------------------------------------- inventory
@dataclass(frozen=True)
class InventoryPage:
    items: list[InventoryItem]
    more_items: bool
    last_assetid: str | None
    total_count: int


def _int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SteamTransientError(f"Steam sent a malformed {what}: {value!r}") from None


def parse_inventory_page(
    payload: Any, *, app_id: int, context_id: int, descriptions: DescriptionCache | None = None
) -> InventoryPage:
    """One page of GET /inventory/{steamid}/{appid}/{contextid}.

    Joins each asset to its description on (classid, instanceid) and to its
    `asset_properties` on assetid. A page with no `assets` key (an empty inventory,
    or only hidden items) is a valid, empty page.

    `descriptions`, shared by the pages of one fetch, keeps each description
    normalised once: every 1,000-asset page repeats the few hundred descriptions
    of its assets, and normalising them again was a third of the parse. A page's
    description is reused only when it equals (==) the one already normalised, so
    the result is exactly what parsing the page on its own gives.
    """
    if not isinstance(payload, dict) or payload.get("success") != 1:
        raise SteamTransientError("Steam sent no inventory (success is not 1)")
    lists = {key: payload.get(key) or [] for key in ("assets", "descriptions", "asset_properties")}
    for key, value in lists.items():
        if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
            raise SteamTransientError(f"Steam sent a malformed inventory page ({key})")
    cache: DescriptionCache = {} if descriptions is None else descriptions
    page_descriptions: dict[tuple[str, str], Described] = {}
    for raw in lists["descriptions"]:
        key = description_key(raw)
        known = cache.get(key)
        if known is None or known.raw != raw:
            known = cache[key] = describe(raw)
        page_descriptions[key] = known
    properties = {str(p.get("assetid")): list(p.get("asset_properties") or []) for p in lists["asset_properties"]}
    items: list[InventoryItem] = []
    for asset in lists["assets"]:
        described = page_descriptions.get(description_key(asset))
        if described is None:
            # steampy dies with KeyError here; we refuse the page instead of
            # returning an item we cannot describe (or silently dropping it).
            raise SteamTransientError(
                f"inventory page lists asset {asset.get('assetid')} without its description"
            )
        asset_id = str(asset.get("assetid"))
        try:
            ids = (
                int(asset.get("appid", app_id)), int(asset.get("contextid", context_id)), int(asset_id),
                int(asset.get("classid")), int(asset.get("instanceid") or 0), int(asset.get("amount", 1)),
            )
        except (TypeError, ValueError):
            ids = (
                _int(asset.get("appid", app_id), "appid"), _int(asset.get("contextid", context_id), "contextid"),
                _int(asset_id, "assetid"), _int(asset.get("classid"), "classid"),
                _int(asset.get("instanceid") or 0, "instanceid"), _int(asset.get("amount", 1), "amount"),
            )
        items.append(
            InventoryItem(
                app_id=ids[0],
                context_id=ids[1],
                asset_id=ids[2],
                class_id=ids[3],
                instance_id=ids[4],
                amount=ids[5],
                market_hash_name=described.market_hash_name,
                name=described.name,
                type=described.type,
                rarity=described.rarity,
                tradable=described.tradable,
                marketable=described.marketable,
                tradable_after=described.tradable_after,
                icon_url=described.icon_url,
                tags=list(described.tags),
                properties=properties.get(asset_id, []),
                description=described.description,
            )
        )
    more_items = flag(payload.get("more_items", 0))
    last_assetid = payload.get("last_assetid")
    return InventoryPage(
        items=items,
        more_items=more_items,
        last_assetid=str(last_assetid) if last_assetid else None,
        total_count=_int(payload.get("total_inventory_count", len(items)), "total_inventory_count"),
    )


# ---------------------------------------------------------------- trade offers
def _timestamp(value: Any) -> datetime | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds > 0 else None


def _listed_id(value: Any, what: str) -> int:
    """An asset or context id of a listed offer: a glitched listing gives "0" or leaves
    it out; both are kept as 0 (matched by class/instance), never a reason to drop the page."""
    if value in (None, ""):
        return 0
    return _int(value, what)


def _offer_asset(raw: dict[str, Any]) -> OfferAsset:
    return OfferAsset(
        app_id=_int(raw.get("appid"), "appid"),
        context_id=_listed_id(raw.get("contextid"), "contextid"),
        asset_id=_listed_id(raw.get("assetid"), "assetid"),
        class_id=_optional_int(raw.get("classid"), "classid"),
        instance_id=_optional_int(raw.get("instanceid"), "instanceid"),
        amount=_int(raw.get("amount", 1), "amount"),
        missing=flag(raw.get("missing", False)),
    )


def _optional_int(value: Any, what: str) -> int | None:
    return None if value in (None, "") else _int(value, what)


def _raw_number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_offer_state(value: Any) -> OfferState:
    """ETradeOfferState, 12 (Reverted) included (steampy's enum stops at 11).

    A state this enum does not know is logged and read as UNKNOWN, never raised:
    one odd offer must not block a listing (every pre-send lookup, every poll).
    """
    number = _raw_number(value)
    if number is not None and number in OfferState._value2member_map_ and number != OfferState.UNKNOWN:
        return OfferState(number)
    log.warning("Steam sent an unknown trade offer state %r; the offer is kept as UNKNOWN", value)
    return OfferState.UNKNOWN


def parse_trade_offer(raw: dict[str, Any]) -> TradeOffer:
    """One offer object of GetTradeOffer(s)."""
    if not isinstance(raw, dict) or not raw.get("tradeofferid"):
        raise SteamTransientError("Steam sent a trade offer without an id")
    trade_id = raw.get("tradeid")
    return TradeOffer(
        offer_id=str(raw["tradeofferid"]),
        partner_steam_id=steam_id_of(_int(raw.get("accountid_other"), "accountid_other")),
        message=raw.get("message") or "",
        state=parse_offer_state(raw.get("trade_offer_state")),
        is_our_offer=flag(raw.get("is_our_offer", False)),
        items_to_give=[_offer_asset(a) for a in raw.get("items_to_give") or []],
        items_to_receive=[_offer_asset(a) for a in raw.get("items_to_receive") or []],
        created_at=_timestamp(raw.get("time_created")),
        updated_at=_timestamp(raw.get("time_updated")),
        expires_at=_timestamp(raw.get("expiration_time")),
        trade_id=str(trade_id) if trade_id not in (None, "", "0", 0) else None,
        escrow_end_at=_timestamp(raw.get("escrow_end_date")),
        confirmation_method=_raw_number(raw.get("confirmation_method")) or 0,
        raw_state=_raw_number(raw.get("trade_offer_state")),
    )


@dataclass(frozen=True)
class TradeOffersPage:
    sent: list[TradeOffer]
    received: list[TradeOffer]
    next_cursor: int


def parse_trade_offers(payload: Any) -> TradeOffersPage:
    """One page of IEconService/GetTradeOffers/v1. Both lists may be absent."""
    response = payload.get("response") if isinstance(payload, dict) else None
    if not isinstance(response, dict):
        raise SteamTransientError("GetTradeOffers sent no response object")
    return TradeOffersPage(
        sent=[parse_trade_offer(o) for o in response.get("trade_offers_sent") or []],
        received=[parse_trade_offer(o) for o in response.get("trade_offers_received") or []],
        next_cursor=int(response.get("next_cursor") or 0),
    )


def parse_get_trade_offer(payload: Any) -> TradeOffer | None:
    """IEconService/GetTradeOffer/v1; `{"response":{}}` means no such offer."""
    response = payload.get("response") if isinstance(payload, dict) else None
    if not isinstance(response, dict):
        raise SteamTransientError("GetTradeOffer sent no response object")
    offer = response.get("offer")
    return parse_trade_offer(offer) if offer else None


# ---------------------------------------------------------------------- trades
def _trade_asset(raw: dict[str, Any]) -> TradeAsset:
    return TradeAsset(
        app_id=_int(raw.get("appid"), "appid"),
        context_id=_int(raw.get("contextid"), "contextid"),
        asset_id=_int(raw.get("assetid"), "assetid"),
        class_id=_optional_int(raw.get("classid"), "classid"),
        instance_id=_optional_int(raw.get("instanceid"), "instanceid"),
        new_asset_id=_optional_int(raw.get("new_assetid"), "new_assetid"),
        new_context_id=_optional_int(raw.get("new_contextid"), "new_contextid"),
    )


def parse_trade_status_code(value: Any) -> TradeStatusCode:
    """ETradeStatus; a number this enum does not know is logged and read as UNKNOWN
    (not delivered), never raised."""
    number = _raw_number(value)
    if number is not None and number in TradeStatusCode._value2member_map_ and number != TradeStatusCode.UNKNOWN:
        return TradeStatusCode(number)
    log.warning("Steam sent an unknown trade status %r; the trade is kept as UNKNOWN", value)
    return TradeStatusCode.UNKNOWN


def parse_trade(raw: dict[str, Any]) -> TradeStatus:
    """One trade of GetTradeStatus / GetTradeHistory."""
    if not isinstance(raw, dict) or not raw.get("tradeid"):
        raise SteamTransientError("Steam sent a trade without an id")
    rollback = raw.get("rollback_trade")
    return TradeStatus(
        trade_id=str(raw["tradeid"]),
        partner_steam_id=_int(raw.get("steamid_other"), "steamid_other"),
        status=parse_trade_status_code(raw.get("status")),
        time_init=_timestamp(raw.get("time_init")),
        assets_given=[_trade_asset(a) for a in raw.get("assets_given") or []],
        assets_received=[_trade_asset(a) for a in raw.get("assets_received") or []],
        rollback_trade_id=str(rollback) if rollback not in (None, "", "0", 0) else None,
        raw_status=_raw_number(raw.get("status")),
    )


def parse_trade_status(payload: Any, trade_id: str) -> TradeStatus | None:
    """IEconService/GetTradeStatus/v1 for `trade_id`; None when Steam knows no such trade."""
    response = payload.get("response") if isinstance(payload, dict) else None
    if not isinstance(response, dict):
        raise SteamTransientError("GetTradeStatus sent no response object")
    for raw in response.get("trades") or []:
        # node-steam-tradeoffer-manager checks this too: never attribute another trade's assets.
        if str(raw.get("tradeid")) == str(trade_id):
            return parse_trade(raw)
    return None


@dataclass(frozen=True)
class TradeHistoryPage:
    trades: list[TradeStatus]
    more: bool


def parse_trade_history(payload: Any) -> TradeHistoryPage:
    response = payload.get("response") if isinstance(payload, dict) else None
    if not isinstance(response, dict):
        raise SteamTransientError("GetTradeHistory sent no response object")
    return TradeHistoryPage(
        trades=[parse_trade(t) for t in response.get("trades") or []],
        more=flag(response.get("more", False)),
    )


# --------------------------------------------------------------------- players
def parse_trade_hold_days(payload: Any) -> int:
    """Whole days of `their_escrow` in an IEconService/GetTradeHoldDurations answer.

    Steam answers `{"response": {}}` when the trade URL's token is missing or no longer
    the partner's: that says nothing about a hold, and the URL is what is wrong.
    """
    inner = payload.get("response") if isinstance(payload, dict) else None
    theirs = inner.get("their_escrow") if isinstance(inner, dict) else None
    if not isinstance(theirs, dict):
        raise SteamPermanentError("Steam does not accept the trade URL's token (no hold durations)",
                                  code="invalid_trade_url")
    seconds = _int(theirs.get("escrow_end_duration_seconds", 0), "escrow_end_duration_seconds")
    # A hold is counted in whole days; any part of a day is a day the items are held.
    return -(-seconds // 86400)


def parse_player_summaries(payload: Any) -> list[PlayerSummary]:
    """ISteamUser/GetPlayerSummaries/v0002. Unknown ids are simply absent."""
    response = payload.get("response") if isinstance(payload, dict) else None
    if not isinstance(response, dict):
        raise SteamTransientError("GetPlayerSummaries sent no response object")
    players = []
    for raw in response.get("players") or []:
        country = raw.get("loccountrycode")
        players.append(
            PlayerSummary(
                steam_id=_int(raw.get("steamid"), "steamid"),
                display_name=raw.get("personaname") or None,
                avatar_url=raw.get("avatarfull") or raw.get("avatarmedium") or raw.get("avatar") or None,
                profile_url=raw.get("profileurl") or None,
                country_code=country.upper() if isinstance(country, str) and len(country) == 2 else None,
                account_created_at=_timestamp(raw.get("timecreated")),
                visibility=int(raw["communityvisibilitystate"]) if raw.get("communityvisibilitystate") is not None else None,
            )
        )
    return players


# ---------------------------------------------------------------------- market
def parse_price(text: Any) -> Decimal | None:
    """A Steam price string -> Decimal: "$11.30", "$11.30 USD", "11,30€", "1 234,56 pуб.", "¥ 1,234".

    The last `.` or `,` is the decimal separator when 1 or 2 digits follow it;
    otherwise every separator groups thousands.
    """
    if not isinstance(text, str):
        return None
    body = re.sub(r"[^\d.,]", "", text.replace("\xa0", " "))
    body = body.strip(".,")
    if not re.search(r"\d", body):
        return None
    match = re.search(r"[.,](\d{1,2})$", body)
    if match:
        whole = re.sub(r"[.,]", "", body[: match.start()])
        number = f"{whole or '0'}.{match.group(1)}"
    else:
        number = re.sub(r"[.,]", "", body)
    try:
        return Decimal(number)
    except InvalidOperation:
        return None


def parse_volume(text: Any) -> int | None:
    """"1,234" -> 1234."""
    if isinstance(text, int):
        return text
    if not isinstance(text, str):
        return None
    digits = re.sub(r"\D", "", text)
    return int(digits) if digits else None


def parse_market_price(payload: Any, *, currency: int) -> MarketPrice | None:
    """market/priceoverview; None when Steam has no listing for the item."""
    if not isinstance(payload, dict) or not payload.get("success"):
        return None
    return MarketPrice(
        lowest_price=parse_price(payload.get("lowest_price")),
        median_price=parse_price(payload.get("median_price")),
        volume=parse_volume(payload.get("volume")),
        currency=currency,
    )


# --------------------------------------------------------------- confirmations
@dataclass(frozen=True)
class ConfirmationEntry:
    id: str
    nonce: str
    type: int
    creator_id: str | None  # the trade offer id for type 2


class ConfirmationListError(Exception):
    """mobileconf/getlist said no; `needauth` means the session is gone."""

    def __init__(self, message: str, *, needauth: bool):
        super().__init__(message)
        self.needauth = needauth


def parse_confirmation(raw: dict[str, Any]) -> ConfirmationEntry:
    return ConfirmationEntry(
        id=str(raw["id"]),
        nonce=str(raw["nonce"]),
        type=int(raw.get("type") or 0),
        creator_id=str(raw["creator_id"]) if raw.get("creator_id") not in (None, "") else None,
    )


def parse_confirmation_list(payload: Any) -> list[ConfirmationEntry]:
    """mobileconf/getlist: `{"success":true,"conf":[...]}`, or
    `{"success":false,"needauth":true}` / `{"success":false,"message":...}`."""
    if not isinstance(payload, dict):
        raise ConfirmationListError("mobileconf/getlist sent no JSON object", needauth=False)
    if not payload.get("success"):
        needauth = bool(payload.get("needauth") or payload.get("needsauth"))
        detail = " ".join(str(payload.get(k)) for k in ("message", "detail") if payload.get(k))
        raise ConfirmationListError(detail or "mobileconf/getlist answered success=false", needauth=needauth)
    return [parse_confirmation(c) for c in payload.get("conf") or []]


# ---------------------------------------------------------- trade offer pages
_ERROR_MSG = re.compile(r'<div id="error_msg">\s*(.*?)\s*</div>', re.S)


def page_error_message(page: str) -> str | None:
    """The text of a community page's `<div id="error_msg">`, if any."""
    match = _ERROR_MSG.search(page or "")
    if not match:
        return None
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).strip() or None


def is_logged_out_page(page: str) -> bool:
    """A community page rendered for a visitor: the session is gone."""
    return "g_steamID = false;" in (page or "")
