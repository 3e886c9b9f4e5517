"""The typed interface between Astro and Steam.

Domain code (delivery, sync, profiles, prices) sees only these types and the
`SteamGateway` protocol; `astro.steam.get_gateway()` returns the one
implementation (steampy-backed), pointed at live Steam or at the sandbox.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable, Protocol


class OfferState(enum.IntEnum):
    """ETradeOfferState, including 12 (Reverted, CS2 trade protection) that steampy lacks.

    UNKNOWN (-1) is Astro's: a state Steam sent that this enum does not know (the
    number is kept in `TradeOffer.raw_state`). Callers skip such offers; parsing never
    raises on one, so one odd offer cannot block a listing.
    """

    UNKNOWN = -1
    INVALID = 1
    ACTIVE = 2
    ACCEPTED = 3
    COUNTERED = 4
    EXPIRED = 5
    CANCELED = 6
    DECLINED = 7
    INVALID_ITEMS = 8
    NEEDS_CONFIRMATION = 9
    CANCELED_BY_SECOND_FACTOR = 10
    IN_ESCROW = 11
    REVERTED = 12


class TradeStatusCode(enum.IntEnum):
    """ETradeStatus (GetTradeStatus / GetTradeHistory `status`); 12 is undocumented by
    Valve but real (the original trade of a trade-protection rollback).

    Only COMPLETE means the items arrived; COMMITTED is still in progress, IN_ESCROW
    not yet delivered, everything else not delivered or taken back. UNKNOWN (-1) is
    Astro's, for a number Steam sent that is not listed here (kept in
    `TradeStatus.raw_status`): treat it as not delivered.
    """

    UNKNOWN = -1
    INIT = 0
    PRE_COMMITTED = 1
    COMMITTED = 2
    COMPLETE = 3
    FAILED = 4
    PARTIAL_SUPPORT_ROLLBACK = 5
    FULL_SUPPORT_ROLLBACK = 6
    SUPPORT_ROLLBACK_SELECTIVE = 7
    ROLLBACK_FAILED = 8
    ROLLBACK_ABANDONED = 9
    IN_ESCROW = 10
    ESCROW_ROLLBACK = 11
    TRADE_PROTECTION_ROLLBACK = 12


@dataclass(frozen=True)
class AssetRef:
    """One asset to put in an offer."""

    app_id: int
    context_id: int
    asset_id: int
    amount: int = 1


# Not frozen, unlike its neighbours: a 100,000-item read builds 100,000 of these, and a
# frozen dataclass's __init__ costs three times as much. Nothing mutates one after parsing.
@dataclass(slots=True)
class InventoryItem:
    """One asset of an inventory page joined with its description and properties."""

    app_id: int
    context_id: int
    asset_id: int
    class_id: int
    instance_id: int
    amount: int
    market_hash_name: str
    name: str
    type: str | None
    rarity: str | None  # from the "Rarity" tag
    tradable: bool
    marketable: bool
    tradable_after: datetime | None  # end of a trade hold / protection, when Steam says
    icon_url: str | None
    tags: list[dict[str, Any]] = field(default_factory=list)
    properties: list[dict[str, Any]] = field(default_factory=list)  # asset_properties (wear, pattern)
    description: dict[str, Any] = field(default_factory=dict)  # the raw description, for steam_metadata


@dataclass(frozen=True)
class Inventory:
    """A whole app/context inventory, read across all its pages."""

    app_id: int
    context_id: int
    items: list[InventoryItem]
    total_count: int  # Steam's total_inventory_count
    pages: int


@dataclass(frozen=True)
class OfferAsset:
    """An asset of a listed offer. A glitched listing gives asset id and context id 0
    (kept as 0: match such an asset by app, class and instance)."""

    app_id: int
    context_id: int
    asset_id: int
    class_id: int | None = None
    instance_id: int | None = None
    amount: int = 1
    missing: bool = False


@dataclass(frozen=True)
class TradeOffer:
    offer_id: str
    partner_steam_id: int
    message: str
    state: OfferState
    is_our_offer: bool
    items_to_give: list[OfferAsset]
    items_to_receive: list[OfferAsset]
    created_at: datetime | None
    updated_at: datetime | None
    expires_at: datetime | None
    trade_id: str | None = None
    escrow_end_at: datetime | None = None
    confirmation_method: int = 0
    raw_state: int | None = None  # the number Steam sent (state is UNKNOWN when it is not an OfferState)

    @property
    def is_glitched(self) -> bool:
        """Steam listed it without items, or with an asset whose id it left out (0):
        a listing glitch, to be matched by class/instance or read again, never trusted as is."""
        assets = self.items_to_give + self.items_to_receive
        return not assets or any(a.asset_id == 0 or a.context_id == 0 for a in assets)


@dataclass(frozen=True)
class SentOffer:
    """The outcome of a send that Steam answered."""

    offer_id: str
    needs_confirmation: bool


@dataclass(frozen=True)
class TradeAsset:
    app_id: int
    context_id: int
    asset_id: int
    class_id: int | None
    instance_id: int | None
    new_asset_id: int | None  # None until the items have transferred
    new_context_id: int | None


@dataclass(frozen=True)
class TradeStatus:
    trade_id: str
    partner_steam_id: int
    status: TradeStatusCode
    time_init: datetime | None
    assets_given: list[TradeAsset]
    assets_received: list[TradeAsset]
    rollback_trade_id: str | None = None
    raw_status: int | None = None  # the number Steam sent (status is UNKNOWN when it is not a TradeStatusCode)


@dataclass(frozen=True)
class PlayerSummary:
    steam_id: int
    display_name: str | None
    avatar_url: str | None
    profile_url: str | None
    country_code: str | None
    account_created_at: datetime | None
    visibility: int | None


@dataclass(frozen=True)
class MarketPrice:
    lowest_price: Decimal | None
    median_price: Decimal | None
    volume: int | None
    currency: int


ProgressCallback = Callable[[int, int, int], None]  # (pages read, items so far, total_count)


class SteamGateway(Protocol):
    """What Astro asks of Steam. Every method raises `astro.steam.errors.SteamError`
    subclasses (transient / permanent / ambiguous / auth), never raw HTTP errors."""

    @property
    def bot_steam_id(self) -> int: ...

    @property
    def login_path(self) -> str | None:
        """How the current session was made: "password", "refresh_token", "cookies" (None before login)."""

    def ensure_session(self) -> None:
        """Log in, or reuse the shared session; re-login when it has expired."""

    def fetch_inventory(
        self, app_id: int, context_id: int, *, on_page: ProgressCallback | None = None
    ) -> Inventory:
        """The bot's whole inventory of one app/context, paged with count <= 1000.
        Raises a transient error on a failed or partial read: never a short list."""

    def send_offer(self, *, trade_url: str, assets: list[AssetRef], message: str) -> SentOffer:
        """Send one offer giving `assets`; `message` carries the caller's unique tag.
        Raises SteamAmbiguousError when Steam may have created the offer anyway."""

    def confirm_offers(self, offer_ids: list[str]) -> set[str]:
        """Mobile-confirm our offers in one batch (state 9 -> 2): the ids confirmed now,
        including those already past their confirmation. At most one round per
        STEAM_CONFIRMATION_PACING_SECONDS per bot; the rest are not confirmed (yet)."""

    def confirm_offer(self, offer_id: str) -> None:
        """Mobile-confirm one offer (state 9 -> 2); idempotent. Raises `confirmation_not_ready`
        while Steam lists no confirmation for it, `not_found`/`invalid_state` when it ended."""

    def get_offer(self, offer_id: str) -> TradeOffer | None:
        """One offer (access token, not API key: CS2 offers are invisible to keys)."""

    def get_sent_offers(self, *, active_only: bool = True, changed_since: datetime | None = None) -> list[TradeOffer]:
        """Our sent offers, all cursor pages. With active_only: the active ones plus those
        whose state changed since `changed_since` (Steam's time_historical_cutoff)."""

    def cancel_offer(self, offer_id: str) -> None: ...

    def get_trade_status(self, trade_id: str) -> TradeStatus | None:
        """A completed trade with each asset's new id (None for an unknown trade)."""

    def get_trade_history(self, *, since: datetime | None = None, max_trades: int = 100) -> list[TradeStatus]:
        """Recent trades, newest first (attributes received items to their sender)."""

    def acknowledge_trade_protection(self) -> None: ...

    def get_trade_hold_days(self, *, trade_url: str) -> int: ...

    def get_player_summaries(self, steam_ids: list[int]) -> list[PlayerSummary]:
        """Profiles, fetched in batches of 100."""

    def get_market_price(self, *, app_id: int, market_hash_name: str) -> MarketPrice | None: ...
