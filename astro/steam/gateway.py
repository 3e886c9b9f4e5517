"""The Steam gateway: the one implementation of `SteamGateway`, on steampy 1.2.0.

Live or sandbox differ only in `transport.mount_transport`; being logged in is
`session.SteamSession`'s business. This module does the Steam operations
(inventory, offers, confirmations, trade status and history, market, profiles)
on the logged-in client the session hands out. When Steam shows the session is
gone (403 null on our own inventory, `needauth` on mobileconf, 401 on a send or a
Web API call, a logged-out page) it asks the session to renew it and repeats the
request if it is safe to repeat.

Retries: idempotent reads are retried a bounded number of times with backoff
(honouring Retry-After). A send is never repeated here when Steam may have made
the offer: its caller owns the "look for our tagged offer before sending again"
rule. The one send repeated is one Steam refused with a plain `(15)`, once, after
acknowledging CS2 trade protection again (a refused send created nothing).

CS2 trade protection: each bot acknowledges Steam's notice once, before its first
send or confirmation, and the row in `bot_sessions` remembers it. An account that
has not (or whose acknowledgement Steam forgot) shows it as failed confirmations
(`success: false`, no message) or sends refused with a plain `(15)`: then the
gateway acknowledges again and repeats that call, at most once per call.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, TypeVar

import requests
from django.conf import settings
from steampy.exceptions import InvalidCredentials, TooManyRequests
from steampy.models import Asset, Currency, GameOptions, SteamUrl

from astro.steam import confirmations, inventory, parsing, store
from astro.steam.answers import check, check_recorded, json_body, nothing_was_sent, request, transport_error
from astro.steam.errors import (
    ERESULT_ACCESS_DENIED,
    ERESULT_INVALID_PARAM,
    ERESULT_NO_MATCH,
    SteamAmbiguousError,
    SteamAuthError,
    SteamError,
    SteamPermanentError,
    SteamRateLimited,
    SteamSessionExpired,
    SteamTransientError,
    classify_eresult,
    classify_send_error,
    clean_error_text,
    eresult_from_text,
    eresult_label,
    is_plain_send_refusal,
    parse_retry_after,
)
from astro.steam.session import Login, SessionConfig, SteamSession
from astro.steam.steampy_fixes import AstroSteamClient, check_steampy_version
from astro.steam.types import (
    AssetRef,
    Inventory,
    MarketPrice,
    OfferState,
    PlayerSummary,
    ProgressCallback,
    SentOffer,
    TradeOffer,
    TradeStatus,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

PLAYER_SUMMARIES_BATCH = 100
TRADE_HISTORY_PAGE = 100  # the limit with an access token
MAX_OFFER_PAGES = 200
# Offer states in which an offer still waits for something (steam_check, callers).
OPEN_OFFER_STATES = frozenset({OfferState.ACTIVE, OfferState.NEEDS_CONFIRMATION, OfferState.IN_ESCROW})


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the gateway reads from settings: the session's (`session`) and the
    operations' own. Secrets stay in the session's config, out of repr()."""

    session: SessionConfig
    inventories: tuple[tuple[int, int], ...]
    page_size: int
    currency: int
    inventory_pacing: float = 4.0
    confirmation_pacing: float = 10.0

    @classmethod
    def from_settings(cls) -> GatewayConfig:
        return cls(
            session=SessionConfig.from_settings(),
            inventories=tuple((int(a), int(c)) for a, c in settings.STEAM_INVENTORIES),
            page_size=int(settings.STEAM_INVENTORY_PAGE_SIZE),
            currency=int(settings.STEAM_MARKET_CURRENCY),
            inventory_pacing=float(settings.STEAM_INVENTORY_PACING_SECONDS),
            confirmation_pacing=float(settings.STEAM_CONFIRMATION_PACING_SECONDS),
        )

    @property
    def session_key(self) -> str:
        """The shared session's cache key. Prefer `astro.steam.session_state()` to reading the entry."""
        return self.session.cache_key


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries for idempotent reads."""

    attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0  # a longer Retry-After is handed to the caller instead of slept

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before try number `attempt + 1`, or None to give up now."""
        if attempt >= self.attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_delay else None
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay) * random.uniform(0.8, 1.2)


class SteampyGateway:
    """See the module docstring and `astro.steam.types.SteamGateway`."""

    def __init__(self, config: GatewayConfig, *, retry: RetryPolicy | None = None):
        check_steampy_version()
        try:
            self._currency = Currency(config.currency)
        except ValueError:
            raise ValueError(f"STEAM_MARKET_CURRENCY={config.currency} is not a Steam currency code") from None
        self.config = config
        self.retry = retry or RetryPolicy()
        self.steam_session = SteamSession(config.session)
        # Bots whose trade-protection acknowledgement this process has seen in the store.
        self._acknowledged: set[int] = set()
        self._ack_lock = threading.Lock()

    # ================================================================ session
    @property
    def bot_steam_id(self) -> int:
        return self.steam_session.current().client.steam_id

    @property
    def login_path(self) -> str | None:
        """How the current session was made: "password", "refresh_token" or "cookies"."""
        return self.steam_session.login_path

    def ensure_session(self) -> None:
        self.steam_session.current()

    # ============================================================ plumbing
    def _read(self, what: str, fn: Callable[[AstroSteamClient], T]) -> T:
        """Run an idempotent request: renew an expired session once, back off on transient errors."""
        renewed = False
        attempt = 0
        while True:
            login = self.steam_session.current()
            try:
                return fn(login.client)
            except SteamSessionExpired as exc:
                if renewed:
                    raise SteamAuthError(f"{what}: Steam rejected a freshly made session ({exc})",
                                         login_path=self.steam_session.login_path) from None
                self.steam_session.renew(login)
                renewed = True
            except SteamTransientError as exc:
                attempt += 1
                delay = self.retry.delay(attempt, exc.retry_after)
                if delay is None:
                    raise
                log.info("%s: %s; trying again in %.1fs", what, exc, delay)
                time.sleep(delay)

    def _api_get(self, client: AstroSteamClient, interface: str, method: str, version: str, params: dict[str, Any],
                 *, what: str, use_key: bool = False, none_on_eresult: frozenset[int] = frozenset()) -> Any:
        """A Web API GET through steampy's api_call, with the access token unless `use_key`.

        The access token, not the key: since 2024 GetTradeOffer(s) with a key omit CS2 offers.
        """
        params = dict(params)
        api_key = self.config.session.api_key
        if use_key and api_key:
            params["key"] = api_key
        else:
            params["access_token"] = client.access_token
        try:
            response = client.api_call("GET", interface, method, version, params)
        except InvalidCredentials:
            raise SteamAuthError(f"{what}: Steam rejects STEAM_API_KEY", code="steam_api_key_invalid") from None
        except requests.RequestException as exc:
            raise transport_error(exc, what) from None
        check(response, what, forbidden_means_expired=not (use_key and api_key))
        header = response.headers.get("X-eresult", "")
        eresult = int(header) if header.isdigit() else None
        if eresult in none_on_eresult:
            return None
        payload = json_body(response, what)
        inner = payload.get("response") if isinstance(payload, dict) else None
        # A false X-eresult 2 comes with a full body (node-steam-tradeoffer-manager); only an
        # empty answer with a non-OK eresult is an error.
        if eresult not in (None, 1) and not inner:
            raise classify_eresult(eresult, f"{what}: Steam answered {eresult_label(eresult)}")
        return payload

    # ============================================================ inventory
    def fetch_inventory(self, app_id: int, context_id: int, *, on_page: ProgressCallback | None = None) -> Inventory:
        """The whole app/context inventory, paged and paced (`inventory.py`)."""
        return inventory.fetch_inventory(self, app_id, context_id, on_page=on_page)

    # =============================================================== offers
    def send_offer(self, *, trade_url: str, assets: list[AssetRef], message: str) -> SentOffer:
        """Send one offer with steampy's make_offer_with_url (not confirmed yet).

        Repeated only after a plain `(15)` (trade protection acknowledged again; Steam
        created nothing). Raises SteamAmbiguousError when Steam may have created the
        offer (timeout or dropped connection after sending, eresult 16/29, an answer
        we cannot read): the caller must look for its tagged offer first. Any other
        error means the offer was not created.
        """
        url = parsing.parse_trade_url(trade_url)
        if not assets:
            raise SteamPermanentError("an offer must give at least one item", code="invalid_request")
        if any(a.asset_id <= 0 or a.context_id <= 0 for a in assets):
            # Steam silently drops an asset with context 0 and sends the rest: never let one through.
            raise SteamPermanentError("an offer's assets need real asset and context ids (not 0)",
                                      code="invalid_request")
        canonical = f"{SteamUrl.COMMUNITY_URL}/tradeoffer/new/?partner={url.account_id}&token={url.token}"
        steampy_assets = [
            Asset(str(a.asset_id), GameOptions(str(a.app_id), str(a.context_id)), a.amount) for a in assets
        ]
        login = self.steam_session.current()
        self._ensure_acknowledged(login)
        try:
            return self._send(login, steampy_assets, canonical, message)
        except _PlainAccessDenied:
            log.warning("send offer: Steam answered a plain (15); acknowledging trade protection again and "
                        "sending once more")
        self._acknowledge(login.client)
        try:
            return self._send(login, steampy_assets, canonical, message)
        except _PlainAccessDenied as refused:
            # Still refused with trade protection acknowledged: the user's side (a bad
            # trade URL token, a private inventory), as any (15).
            raise refused.error from None

    def _send(self, login: Login, assets: list[Asset], canonical: str, message: str) -> SentOffer:
        client = login.client
        client.recorder.reset()
        try:
            result = client.make_offer_with_url(assets, [], canonical, message=message, confirm_trade=False)
        except (ValueError, AttributeError, TypeError):
            # steampy .json()-ed a non-JSON or null body (requests' JSONDecodeError is
            # also a RequestException: this clause must come first).
            result = None
        except requests.RequestException as exc:
            if nothing_was_sent(exc):
                raise transport_error(exc, "send offer") from None
            raise SteamAmbiguousError(
                f"send offer: {'timed out' if isinstance(exc, requests.Timeout) else 'connection lost'} after "
                f"sending ({type(exc).__name__}); the offer may exist"
            ) from None
        recorded = client.recorder.last
        status = recorded.status if recorded else None
        if isinstance(result, dict) and result.get("tradeofferid"):
            return SentOffer(
                offer_id=str(result["tradeofferid"]),
                needs_confirmation=bool(result.get("needs_mobile_confirmation") or result.get("needs_email_confirmation")),
            )
        if isinstance(result, dict) and result.get("strError"):
            # steampy returns Steam's error dict instead of raising.
            str_error = str(result["strError"])
            error = classify_send_error(str_error, status=status)
            if isinstance(error, SteamSessionExpired):
                self.steam_session.renew(login)
            if error.eresult == ERESULT_ACCESS_DENIED and is_plain_send_refusal(str_error):
                raise _PlainAccessDenied(error)
            raise error
        if status == 401:
            # "Not logged in": Steam took nothing. Log in again for the caller's next try.
            self.steam_session.renew(login)
            raise SteamSessionExpired("send offer: Steam answered 401 (session expired); nothing was sent", status=401)
        if status == 429:
            raise SteamRateLimited("send offer: Steam answered 429; nothing was sent", status=429,
                                   retry_after=parse_retry_after(recorded.retry_after))
        raise SteamAmbiguousError(f"send offer: unreadable answer from Steam (HTTP {status}); the offer may exist",
                                  status=status)

    # ======================================================== confirmations
    def confirm_offers(self, offer_ids: Iterable[str]) -> set[str]:
        """Mobile-confirm our offers (state 9 -> 2): the ids that are confirmed now.

        One getlist, then one multiajaxop for every listed offer among them (one ajaxop
        each if Steam refuses the batch), at most one round per
        `STEAM_CONFIRMATION_PACING_SECONDS` per bot across all processes. An offer
        already past its confirmation (active, accepted, in escrow) counts as
        confirmed; one whose confirmation is not listed (yet), or that ended, does not.
        """
        wanted = list(dict.fromkeys(str(i) for i in offer_ids))
        if not wanted:
            return set()
        return {i for i, outcome in confirmations.confirm_all(self, wanted).items() if outcome is True}

    def confirm_offer(self, offer_id: str) -> None:
        """Mobile-confirm one offer. Idempotent: an offer already past confirmation is fine.

        Raises `confirmation_not_ready` (transient) while Steam lists no confirmation
        for an offer that needs one, `not_found` / `invalid_state` (permanent) for an
        offer Steam does not know or that ended.
        """
        offer_id = str(offer_id)
        outcome = confirmations.confirm_all(self, [offer_id])[offer_id]
        if outcome is True:
            return
        if outcome is None:
            raise SteamPermanentError(f"confirm offer {offer_id}: Steam knows no such offer", code="not_found")
        if outcome.state == OfferState.NEEDS_CONFIRMATION:
            raise SteamTransientError(f"confirm offer {offer_id}: its confirmation is not listed yet",
                                      code="confirmation_not_ready")
        raise SteamPermanentError(f"confirm offer {offer_id}: the offer is {outcome.state.name}", code="invalid_state")

    def get_offer(self, offer_id: str) -> TradeOffer | None:
        return self._read(f"get offer {offer_id}", lambda client: self._fetch_offer(client, str(offer_id)))

    def _fetch_offer(self, client: AstroSteamClient, offer_id: str) -> TradeOffer | None:
        payload = self._api_get(client, "IEconService", "GetTradeOffer", "v1",
                                {"tradeofferid": offer_id, "language": "english"}, what=f"get offer {offer_id}")
        return parsing.parse_get_trade_offer(payload)

    def get_sent_offers(self, *, active_only: bool = True, changed_since: datetime | None = None) -> list[TradeOffer]:
        """Our sent offers across all cursor pages (access token, not key).

        With active_only Steam returns the active offers plus those whose state
        changed since `changed_since` (Steam's default cutoff when None).
        """
        params: dict[str, Any] = {
            "get_sent_offers": 1, "get_received_offers": 0, "get_descriptions": 0, "language": "english",
            "active_only": int(active_only), "historical_only": 0,
        }
        if changed_since is not None:
            params["time_historical_cutoff"] = int(changed_since.timestamp())
        offers: dict[str, TradeOffer] = {}
        cursor = 0
        seen: set[int] = set()
        for _ in range(MAX_OFFER_PAGES):
            page = self._read("get sent offers", lambda client: parsing.parse_trade_offers(
                self._api_get(client, "IEconService", "GetTradeOffers", "v1", {**params, "cursor": cursor},
                              what="get sent offers")))
            for offer in page.sent:
                offers.setdefault(offer.offer_id, offer)
            if not page.next_cursor:
                return list(offers.values())
            if page.next_cursor in seen:
                raise SteamTransientError("get sent offers: Steam's cursor does not advance")
            seen.add(page.next_cursor)
            cursor = page.next_cursor
        raise SteamTransientError(f"get sent offers: more than {MAX_OFFER_PAGES} pages")

    def cancel_offer(self, offer_id: str) -> None:
        """Cancel our offer. Idempotent: an offer already canceled counts as done."""
        self._read(f"cancel offer {offer_id}", lambda client: self._cancel(client, str(offer_id)))

    def _cancel(self, client: AstroSteamClient, offer_id: str) -> None:
        what = f"cancel offer {offer_id}"
        client.recorder.reset()
        try:
            result = client.cancel_trade_offer(offer_id)
        except ValueError:  # a non-JSON body; requests' JSONDecodeError is also a RequestException
            result = None
        except requests.RequestException as exc:
            raise transport_error(exc, what) from None
        if isinstance(result, dict) and result.get("tradeofferid"):
            return
        recorded = client.recorder.last
        str_error = result.get("strError") if isinstance(result, dict) else None
        if not str_error:
            check_recorded(recorded, what, forbidden_means_expired=True)
            raise SteamTransientError(f"{what}: unreadable answer from Steam")
        offer = self._fetch_offer(client, offer_id)
        if offer is not None and offer.state in (OfferState.CANCELED, OfferState.CANCELED_BY_SECOND_FACTOR):
            return
        raise classify_eresult(eresult_from_text(str_error), f"{what}: {clean_error_text(str_error)}",
                               status=recorded.status if recorded else None)

    # =============================================================== trades
    def get_trade_status(self, trade_id: str) -> TradeStatus | None:
        """IEconService/GetTradeStatus: each asset's new_assetid/new_contextid. None if unknown."""
        def fetch(client: AstroSteamClient) -> TradeStatus | None:
            payload = self._api_get(client, "IEconService", "GetTradeStatus", "v1",
                                    {"tradeid": str(trade_id), "get_descriptions": 0, "language": "english"},
                                    what=f"trade status {trade_id}", none_on_eresult=frozenset({ERESULT_NO_MATCH}))
            return None if payload is None else parsing.parse_trade_status(payload, str(trade_id))

        return self._read(f"trade status {trade_id}", fetch)

    def get_trade_history(self, *, since: datetime | None = None, max_trades: int = 100) -> list[TradeStatus]:
        """Trades newest first, back to `since` (inclusive), at most `max_trades`."""
        trades: list[TradeStatus] = []
        seen: set[str] = set()
        start: TradeStatus | None = None
        while len(trades) < max_trades:
            params: dict[str, Any] = {
                "max_trades": min(TRADE_HISTORY_PAGE, max_trades - len(trades)), "get_descriptions": 0,
                "include_failed": 1, "include_total": 0, "navigating_back": 1, "language": "english",
            }
            if start is not None and start.time_init is not None:
                params["start_after_time"] = int(start.time_init.timestamp())
                params["start_after_tradeid"] = start.trade_id
            page = self._read("trade history", lambda client: parsing.parse_trade_history(
                self._api_get(client, "IEconService", "GetTradeHistory", "v1", params, what="trade history")))
            fresh = [t for t in page.trades if t.trade_id not in seen]
            for trade in fresh:
                if since is not None and trade.time_init is not None and trade.time_init < since:
                    return trades
                seen.add(trade.trade_id)
                trades.append(trade)
                if len(trades) >= max_trades:
                    return trades
            if not page.more or not fresh:
                return trades
            start = fresh[-1]
        return trades

    # ====================================================== trade protection
    def acknowledge_trade_protection(self) -> None:
        """POST /trade/new/acknowledge (CS2 trade protection, July 2025) and remember it. Idempotent."""
        self._acknowledge(self.steam_session.current().client)

    def _acknowledge(self, client: AstroSteamClient) -> None:
        def post(client: AstroSteamClient) -> None:
            what = "acknowledge trade protection"
            response = request(client, "POST", f"{SteamUrl.COMMUNITY_URL}/trade/new/acknowledge",
                               data={"sessionid": client._get_session_id(), "message": 1}, what=what,
                               headers={"Referer": f"{SteamUrl.COMMUNITY_URL}/profiles/{client.steam_id}/tradeoffers/"})
            check(response, what, forbidden_means_expired=True)
            if parsing.is_logged_out_page(response.text):
                raise SteamSessionExpired(f"{what}: Steam showed the logged-out page")

        self._read("acknowledge trade protection", post)
        steam_id = self.steam_session.current().client.steam_id
        store.save_acknowledged(realm=self.steam_session.realm, steam_id=steam_id,
                                account_name=self.config.session.username)
        with self._ack_lock:
            self._acknowledged.add(steam_id)

    def _ensure_acknowledged(self, login: Login) -> None:
        """Acknowledge once per bot, before its first send or confirmation.

        A failure is logged, not raised (as ArchiSteamFarm does): the notice may have
        been acknowledged already, and the send or confirmation says if it was not.
        """
        steam_id = login.client.steam_id
        if steam_id in self._acknowledged:
            return
        if store.acknowledged_at(realm=self.steam_session.realm, steam_id=steam_id) is None:
            try:
                self._acknowledge(login.client)
            except SteamError as exc:
                log.warning("acknowledging trade protection failed (%s); going on", exc)
                return
        with self._ack_lock:
            self._acknowledged.add(steam_id)

    def get_trade_hold_days(self, *, trade_url: str) -> int:
        """Days Steam would hold a trade with this partner: IEconService/GetTradeHoldDurations
        with the partner's trade URL token (`their_escrow`; 0 with a mobile authenticator)."""
        url = parsing.parse_trade_url(trade_url)
        what = "trade hold days"

        def fetch(client: AstroSteamClient) -> int:
            payload = self._api_get(
                client, "IEconService", "GetTradeHoldDurations", "v1",
                {"steamid_target": str(url.steam_id), "trade_offer_access_token": url.token}, what=what,
                # AccessDenied / InvalidParam with an empty answer: the token or partner is wrong.
                none_on_eresult=frozenset({ERESULT_ACCESS_DENIED, ERESULT_INVALID_PARAM}),
            )
            return parsing.parse_trade_hold_days(payload)

        return self._read(what, fetch)

    # ============================================================ profiles
    def get_player_summaries(self, steam_ids: list[int]) -> list[PlayerSummary]:
        """Profiles in batches of 100 (the Web API's limit). Unknown ids are left out."""
        unique = list(dict.fromkeys(int(s) for s in steam_ids))
        players: list[PlayerSummary] = []
        for i in range(0, len(unique), PLAYER_SUMMARIES_BATCH):
            batch = ",".join(str(s) for s in unique[i : i + PLAYER_SUMMARIES_BATCH])
            players.extend(self._read("player summaries", lambda client: parsing.parse_player_summaries(
                self._api_get(client, "ISteamUser", "GetPlayerSummaries", "v0002", {"steamids": batch},
                              what="player summaries", use_key=True))))
        return players

    def get_market_price(self, *, app_id: int, market_hash_name: str) -> MarketPrice | None:
        """market/priceoverview in STEAM_MARKET_CURRENCY (no login needed). None if not listed."""
        what = f"market price of {market_hash_name!r}"
        client = self.steam_session.anonymous_client()
        attempt = 0
        while True:
            try:
                return self._fetch_price(client, app_id, market_hash_name, what)
            except SteamTransientError as exc:
                attempt += 1
                delay = self.retry.delay(attempt, exc.retry_after)
                if delay is None:
                    raise
                time.sleep(delay)

    def _fetch_price(self, client: AstroSteamClient, app_id: int, name: str, what: str) -> MarketPrice | None:
        client.recorder.reset()
        try:
            payload = client.market.fetch_price(name, GameOptions(str(app_id), "2"), currency=self._currency, country="US")
        except ValueError:  # a non-JSON body (before RequestException: JSONDecodeError is both)
            payload = None
        except TooManyRequests:
            recorded = client.recorder.last
            raise SteamRateLimited(f"{what}: Steam answered 429", status=429,
                                   retry_after=parse_retry_after(recorded.retry_after if recorded else None)) from None
        except requests.RequestException as exc:
            raise transport_error(exc, what) from None
        recorded = client.recorder.last
        if recorded is not None and recorded.status >= 400 and not (isinstance(payload, dict) and "success" in payload):
            check_recorded(recorded, what, forbidden_means_expired=False)
        if payload is None:
            raise SteamTransientError(f"{what}: Steam answered without JSON")
        return parsing.parse_market_price(payload, currency=self.config.currency)


class _PlainAccessDenied(Exception):
    """A send refused with Steam's bare `(15)`: maybe the trade protection notice (`error` otherwise)."""

    def __init__(self, error: SteamError) -> None:
        super().__init__(str(error))
        self.error = error
