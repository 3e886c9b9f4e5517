"""The Steam gateway: the one implementation of `SteamGateway`, on steampy 1.2.0.

Live or sandbox differ only in `transport.mount_transport`; being logged in is
`session.SteamSession`'s business. This module does the Steam operations
(inventory, offers, confirmations, trade status and history, market, profiles)
on the logged-in client the session hands out. When Steam shows the session is
gone (403 null on our own inventory, `needauth` on mobileconf, 401 on a send or a
Web API call, a logged-out page) it asks the session to renew it and repeats the
request if it is safe to repeat.

Retries: idempotent reads are retried a bounded number of times with backoff
(honouring Retry-After). A send is never repeated here: its caller owns the
"look for our tagged offer before sending again" rule.
"""

from __future__ import annotations

import gc
import logging
import random
import time
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Callable, TypeVar

import orjson
import requests
from django.conf import settings
from steampy.exceptions import ConfirmationExpected, InvalidCredentials, TooManyRequests
from steampy.models import Asset, Currency, GameOptions, SteamUrl

from astro.steam import parsing
from astro.steam.answers import check, check_recorded, json_body, nothing_was_sent, request, transport_error
from astro.steam.errors import (
    ERESULT_NO_MATCH,
    SteamAmbiguousError,
    SteamAuthError,
    SteamPermanentError,
    SteamRateLimited,
    SteamSessionExpired,
    SteamTransientError,
    classify_eresult,
    classify_send_error,
    clean_error_text,
    eresult_from_text,
    eresult_label,
    parse_retry_after,
)
from astro.steam.parsing import ConfirmationListError
from astro.steam.session import SessionConfig, SteamSession
from astro.steam.steampy_fixes import AstroSteamClient, FixedConfirmationExecutor, check_steampy_version
from astro.steam.types import (
    AssetRef,
    Inventory,
    InventoryItem,
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

MAX_INVENTORY_PAGE = 1000  # Steam answers HTTP 400 to a larger count
PLAYER_SUMMARIES_BATCH = 100
TRADE_HISTORY_PAGE = 100  # the limit with an access token
MAX_OFFER_PAGES = 200
# Offer states in which an offer still waits for something (steam_check, callers).
OPEN_OFFER_STATES = frozenset({OfferState.ACTIVE, OfferState.NEEDS_CONFIRMATION, OfferState.IN_ESCROW})


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the gateway reads from settings. Secrets are kept out of repr().

    It holds every `SessionConfig` field under the same name (`session_config`
    hands them to the session); inventories, page_size and currency are the
    operations' own.
    """

    mode: str
    sandbox_url: str | None
    username: str | None
    password: str | None = field(repr=False)
    shared_secret: str | None = field(repr=False)
    identity_secret: str | None = field(repr=False)
    api_key: str | None = field(repr=False)
    refresh_token: str | None = field(repr=False)
    login_cookies: str | None = field(repr=False)
    inventories: tuple[tuple[int, int], ...]
    timeout: float
    page_size: int
    currency: int

    @classmethod
    def from_settings(cls) -> GatewayConfig:
        session = SessionConfig.from_settings()
        return cls(
            **{f.name: getattr(session, f.name) for f in fields(SessionConfig)},
            inventories=tuple((int(a), int(c)) for a, c in settings.STEAM_INVENTORIES),
            page_size=int(settings.STEAM_INVENTORY_PAGE_SIZE),
            currency=int(settings.STEAM_MARKET_CURRENCY),
        )

    @property
    def session_config(self) -> SessionConfig:
        return SessionConfig(**{f.name: getattr(self, f.name) for f in fields(SessionConfig)})

    @property
    def session_key(self) -> str:
        """The shared session's cache key. Prefer `astro.steam.session_state()` to reading the entry."""
        return self.session_config.cache_key


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
        self.steam_session = SteamSession(config.session_config)

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
        if use_key and self.config.api_key:
            params["key"] = self.config.api_key
        else:
            params["access_token"] = client.access_token
        try:
            response = client.api_call("GET", interface, method, version, params)
        except InvalidCredentials:
            raise SteamAuthError(f"{what}: Steam rejects STEAM_API_KEY", code="steam_api_key_invalid") from None
        except requests.RequestException as exc:
            raise transport_error(exc, what) from None
        check(response, what, forbidden_means_expired=not (use_key and self.config.api_key))
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
        """The whole app/context inventory, paged with count <= 1000 and start_assetid.

        steampy's get_my_inventory asks for count=5000 in one request (HTTP 400 from
        Steam since 2025) and never pages, so it is not used. A page that still fails
        after the retries raises: a caller never sees a partial inventory.
        """
        count = min(self.config.page_size, MAX_INVENTORY_PAGE)
        what = f"inventory {app_id}/{context_id}"
        items: dict[int, InventoryItem] = {}
        start: str | None = None
        seen_starts: set[str] = set()
        pages = 0
        # Each description is normalised once per fetch, not once per page that repeats it.
        descriptions: parsing.DescriptionCache = {}
        # The cyclic collector stays paused for the whole fetch, not only while a page
        # is parsed (_inventory_page leaves it alone when it finds it paused): the
        # items read so far (~6 containers each, none in a reference cycle) were
        # traversed again by the collections run between pages, ~0.3-0.5 s of a
        # 100,000-item read. Resumed however the fetch ends.
        collecting = gc.isenabled()
        gc.disable()
        try:
            while True:
                page = self._read(
                    what, lambda client: self._inventory_page(client, app_id, context_id, count, start, descriptions)
                )
                pages += 1
                for item in page.items:
                    items.setdefault(item.asset_id, item)
                if on_page is not None:
                    on_page(pages, len(items), page.total_count)
                if not page.more_items:
                    return Inventory(app_id=app_id, context_id=context_id, items=list(items.values()),
                                     total_count=page.total_count, pages=pages)
                if not page.last_assetid or page.last_assetid in seen_starts:
                    raise SteamTransientError(
                        f"{what}: Steam's paging does not advance (last_assetid {page.last_assetid})"
                    )
                seen_starts.add(page.last_assetid)
                start = page.last_assetid
        finally:
            if collecting:
                gc.enable()

    def _inventory_page(self, client: AstroSteamClient, app_id: int, context_id: int, count: int,
                        start: str | None, descriptions: parsing.DescriptionCache) -> parsing.InventoryPage:
        what = f"inventory {app_id}/{context_id} page"
        params: dict[str, Any] = {"l": "english", "count": count}
        if start:
            params["start_assetid"] = start
        url = f"{SteamUrl.COMMUNITY_URL}/inventory/{client.steam_id}/{app_id}/{context_id}"
        response = request(client, "GET", url, params=params, what=what)
        if response.status_code == 400:
            raise SteamPermanentError(
                f"{what}: Steam refused count={count} (HTTP 400); lower STEAM_INVENTORY_PAGE_SIZE",
                code="inventory_page_refused", status=400,
            )
        # 403 with a null body on our *own* inventory means the session is gone.
        check(response, what, forbidden_means_expired=True)
        # A page is ~1.2 MB of JSON: orjson decodes the bytes ~2x faster than
        # requests' .json() (the stdlib decoder), which was most of a 100,000-item read.
        # The decoded page is ~100,000 containers without a single reference cycle,
        # freed by reference counting once parsed; with the cyclic collector running,
        # they push full collections over everything read so far (100,000 items by
        # the last page): ~0.5 s of a 4 s read. So it is paused for this page only
        # (and resumed however the page ends).
        collecting = gc.isenabled()
        gc.disable()
        try:
            try:
                payload = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                raise SteamTransientError(f"{what}: Steam answered HTTP {response.status_code} without JSON",
                                          status=response.status_code) from None
            page = parsing.parse_inventory_page(payload, app_id=app_id, context_id=context_id,
                                                descriptions=descriptions)
            del payload
            return page
        finally:
            if collecting:
                gc.enable()

    # =============================================================== offers
    def send_offer(self, *, trade_url: str, assets: list[AssetRef], message: str) -> SentOffer:
        """Send one offer with steampy's make_offer_with_url (not confirmed yet).

        Never repeated here. Raises SteamAmbiguousError when Steam may have created
        the offer (timeout or dropped connection after sending, eresult 16/29, an
        answer we cannot read): the caller must look for its tagged offer first.
        Any other error means the offer was not created.
        """
        url = parsing.parse_trade_url(trade_url)
        if not assets:
            raise SteamPermanentError("an offer must give at least one item", code="invalid_request")
        login = self.steam_session.current()
        client = login.client
        steampy_assets = [
            Asset(str(a.asset_id), GameOptions(str(a.app_id), str(a.context_id)), a.amount) for a in assets
        ]
        canonical = f"{SteamUrl.COMMUNITY_URL}/tradeoffer/new/?partner={url.account_id}&token={url.token}"
        client.recorder.reset()
        try:
            result = client.make_offer_with_url(steampy_assets, [], canonical, message=message, confirm_trade=False)
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
            error = classify_send_error(str(result["strError"]), status=status)
            if isinstance(error, SteamSessionExpired):
                self.steam_session.renew(login)
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

    def confirm_offer(self, offer_id: str) -> None:
        """Mobile-confirm our offer (state 9 -> 2) with steampy's ConfirmationExecutor.

        Idempotent: an offer that is already past confirmation counts as confirmed.
        """
        if not self.config.identity_secret:
            raise SteamAuthError("confirming offers needs STEAM_IDENTITY_SECRET", code="steam_login_not_configured")
        self._read(f"confirm offer {offer_id}", lambda client: self._confirm(client, str(offer_id)))

    def _confirm(self, client: AstroSteamClient, offer_id: str) -> None:
        what = f"confirm offer {offer_id}"
        executor = FixedConfirmationExecutor(self.config.identity_secret, str(client.steam_id), client.session)
        client.recorder.reset()
        try:
            result = executor.send_trade_allow_request(offer_id)
        except (ValueError, KeyError, IndexError, TypeError):
            # Unreadable details/ajaxop answers (before RequestException: requests'
            # JSONDecodeError is both).
            check_recorded(client.recorder.last, what, forbidden_means_expired=True)
            raise SteamTransientError(f"{what}: unreadable mobileconf answer") from None
        except ConfirmationListError as exc:
            if exc.needauth:
                raise SteamSessionExpired(f"{what}: mobileconf answered needauth") from None
            raise SteamTransientError(f"{what}: {exc}") from None
        except ConfirmationExpected:
            check_recorded(client.recorder.last, what, forbidden_means_expired=True)
            return self._confirmation_absent(client, offer_id)
        except InvalidCredentials:
            raise SteamAuthError(f"{what}: Steam rejects the confirmation keys; check STEAM_IDENTITY_SECRET "
                                 "and the clock", code="steam_identity_secret_invalid") from None
        except requests.RequestException as exc:
            raise transport_error(exc, what) from None
        if not (isinstance(result, dict) and result.get("success")):
            self._confirmation_absent(client, offer_id)

    def _confirmation_absent(self, client: AstroSteamClient, offer_id: str) -> None:
        """No confirmation to act on: fine if the offer is already past it."""
        offer = self._fetch_offer(client, offer_id)
        if offer is None:
            raise SteamPermanentError(f"confirm offer {offer_id}: Steam knows no such offer", code="not_found")
        if offer.state == OfferState.NEEDS_CONFIRMATION:
            raise SteamTransientError(f"confirm offer {offer_id}: its confirmation is not listed yet",
                                      code="confirmation_not_ready")
        if offer.state in (OfferState.ACTIVE, OfferState.ACCEPTED, OfferState.IN_ESCROW):
            return
        raise SteamPermanentError(f"confirm offer {offer_id}: the offer is {offer.state.name}", code="invalid_state")

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

    def acknowledge_trade_protection(self) -> None:
        """POST /trade/new/acknowledge once (CS2 trade protection, July 2025). Idempotent."""
        def post(client: AstroSteamClient) -> None:
            what = "acknowledge trade protection"
            response = request(client, "POST", f"{SteamUrl.COMMUNITY_URL}/trade/new/acknowledge",
                                     data={"sessionid": client._get_session_id(), "message": 1}, what=what)
            check(response, what, forbidden_means_expired=True)
            if parsing.is_logged_out_page(response.text):
                raise SteamSessionExpired(f"{what}: Steam showed the logged-out page")

        self._read("acknowledge trade protection", post)

    def get_trade_hold_days(self, *, trade_url: str) -> int:
        """Days Steam would hold a trade with this partner (steampy get_escrow_duration)."""
        url = parsing.parse_trade_url(trade_url)
        canonical = f"{SteamUrl.COMMUNITY_URL}/tradeoffer/new/?partner={url.account_id}&token={url.token}"

        def fetch(client: AstroSteamClient) -> int:
            what = "trade hold days"
            client.recorder.reset()
            try:
                return int(client.get_escrow_duration(canonical))
            except requests.RequestException as exc:
                raise transport_error(exc, what) from None
            except ValueError:
                pass  # steampy's text_between found no g_daysMyEscrow
            recorded = client.recorder.last
            check_recorded(recorded, what, forbidden_means_expired=True)
            page = recorded.text if recorded else ""
            if parsing.is_logged_out_page(page):
                raise SteamSessionExpired(f"{what}: Steam showed the logged-out page")
            message = parsing.page_error_message(page)
            if message:
                # e.g. "This Trade URL is no longer valid for sending a trade offer to X."
                raise classify_eresult(eresult_from_text(message), f"{what}: {message}")
            raise SteamTransientError(f"{what}: the trade page has no escrow days")

        return self._read("trade hold days", fetch)

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
