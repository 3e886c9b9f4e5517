"""The Steam gateway: the one implementation of `SteamGateway`, on steampy 1.2.0.

Live or sandbox differ only in `transport.mount_transport`. Everything else —
login, session sharing, paging, error classification — is the same code.

Session: one logged-in steampy session is shared by every process through the
Django cache (Redis), keyed by mode + sandbox URL + username. A Redis lock makes
sure only one process logs in at a time; the others wait and adopt its cookies.
When Steam shows the session is gone (403 null on our own inventory, `needauth`
on mobileconf, 401 on a send or a Web API call, a logged-out page) the gateway
logs in again — or adopts the session another process just made — and repeats
the request if it is safe to repeat. Credentials and tokens are never logged,
never put in exception messages, never written to the database.

Retries: idempotent reads are retried a bounded number of times with backoff
(honouring Retry-After). A send is never repeated here: its caller owns the
"look for our tagged offer before sending again" rule.
"""

from __future__ import annotations

import gc
import json
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Callable, TypeVar

import orjson
import redis
import requests
import urllib3
from django.conf import settings
from django.core.cache import cache
from steampy.exceptions import ConfirmationExpected, InvalidCredentials, TooManyRequests
from steampy.models import Asset, Currency, GameOptions, SteamUrl

from astro.steam import parsing
from astro.steam.errors import (
    ERESULT_NO_MATCH,
    ERESULT_RATE_LIMIT_EXCEEDED,
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
    parse_retry_after,
)
from astro.steam.parsing import ConfirmationListError
from astro.steam.steampy_fixes import (
    AstroSteamClient,
    FixedConfirmationExecutor,
    LoginStepFailed,
    RecordedResponse,
    check_steampy_version,
    login_step_of,
    parse_cookie_setting,
)
from astro.steam.transport import mount_transport
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

MAX_INVENTORY_PAGE = 1000  # Steam answers 400 above this (DESIGN §4)
PLAYER_SUMMARIES_BATCH = 100
TRADE_HISTORY_PAGE = 100  # the limit with an access token
MAX_OFFER_PAGES = 200
SESSION_TTL_SECONDS = 20 * 3600  # web access tokens live ~24 h
# Offer states in which an offer still waits for something (steam_check, callers).
OPEN_OFFER_STATES = frozenset({OfferState.ACTIVE, OfferState.NEEDS_CONFIRMATION, OfferState.IN_ESCROW})


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the gateway reads from settings. Secrets are kept out of repr()."""

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
        return cls(
            mode=settings.STEAM_MODE,
            sandbox_url=settings.STEAM_SANDBOX_URL,
            username=settings.STEAM_USERNAME,
            password=settings.STEAM_PASSWORD,
            shared_secret=settings.STEAM_SHARED_SECRET,
            identity_secret=settings.STEAM_IDENTITY_SECRET,
            api_key=settings.STEAM_API_KEY,
            refresh_token=settings.STEAM_REFRESH_TOKEN,
            login_cookies=settings.STEAM_LOGIN_COOKIES,
            inventories=tuple((int(a), int(c)) for a, c in settings.STEAM_INVENTORIES),
            timeout=float(settings.STEAM_HTTP_TIMEOUT_SECONDS),
            page_size=int(settings.STEAM_INVENTORY_PAGE_SIZE),
            currency=int(settings.STEAM_MARKET_CURRENCY),
        )

    @property
    def session_key(self) -> str:
        """The cache key of the shared session: a sandbox session is never used live."""
        where = self.sandbox_url if self.mode == "sandbox" else "steam"
        return f"steam-session:{self.mode}:{where}:{self.username or 'operator-session'}"


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


def _transport_error(exc: requests.RequestException, what: str) -> SteamTransientError:
    # Never str(exc): requests puts the URL, with its access_token, in the message.
    kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
    return SteamTransientError(f"{what}: {kind} ({type(exc).__name__})", code="steam_unreachable")


def _nothing_was_sent(exc: requests.RequestException) -> bool:
    """True when the request never left: no connection was made."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, urllib3.exceptions.NewConnectionError)


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
        self._lock = threading.RLock()
        self._client: AstroSteamClient | None = None
        self._version: str | None = None
        self._login_path: str | None = None
        self._anonymous: AstroSteamClient | None = None
        self._redis: redis.Redis | None = None

    # ================================================================ session
    @property
    def bot_steam_id(self) -> int:
        client, _ = self._current()
        return client.steam_id

    @property
    def login_path(self) -> str | None:
        """How the current session was made: "password", "refresh_token" or "cookies"."""
        return self._login_path

    def ensure_session(self) -> None:
        self._current()

    def _current(self) -> tuple[AstroSteamClient, str]:
        with self._lock:
            if self._client is None:
                self._establish(stale_version=None)
            return self._client, self._version

    def _renew(self, stale_version: str) -> None:
        """Replace a session Steam no longer accepts (unless someone already did)."""
        with self._lock:
            if self._client is not None and self._version != stale_version:
                return  # another thread of this process renewed it meanwhile
            log.warning("Steam session expired; renewing it (%s)", self.config.mode)
            self._client = None
            self._establish(stale_version=stale_version)

    def _establish(self, *, stale_version: str | None) -> None:
        cached = self._cache_read()
        if cached and cached["version"] != stale_version and self._adopt(cached):
            return
        with self._login_lock():
            # Another process may have logged in while we waited for the lock.
            cached = self._cache_read()
            if cached and cached["version"] != stale_version and self._adopt(cached):
                return
            client, path = self._login()
            state = {
                "version": uuid.uuid4().hex,
                "login_path": path,
                "steam_id": client.steam_id,
                "cookies": client.export_cookies(),
                "logged_in_at": datetime.now(UTC).isoformat(),
            }
            try:
                cache.set(self.config.session_key, state, timeout=SESSION_TTL_SECONDS)
            except Exception as exc:  # the cache is Redis; a failed write only costs a later login
                log.warning("could not store the Steam session in the cache: %s", type(exc).__name__)
            self._client, self._version, self._login_path = client, state["version"], path

    def _cache_read(self) -> dict[str, Any] | None:
        try:
            cached = cache.get(self.config.session_key)
        except Exception as exc:
            raise SteamTransientError(f"the session cache (Redis) is unavailable: {type(exc).__name__}") from None
        if isinstance(cached, dict) and {"version", "cookies", "login_path"} <= cached.keys():
            return cached
        return None

    def _adopt(self, cached: dict[str, Any]) -> bool:
        """Use the session another process (or an earlier client) made; False if unusable."""
        client = self._new_client()
        try:
            client.restore(cached["cookies"])
        except (LoginStepFailed, KeyError, TypeError, ValueError):
            log.warning("ignoring an unusable cached Steam session")
            return False
        self._client, self._version, self._login_path = client, cached["version"], cached["login_path"]
        return True

    def _login_lock(self):
        if self._redis is None:
            self._redis = redis.Redis.from_url(settings.REDIS_URL)
        # Long enough for steampy's slowest login (its RSA step alone may try 6 times).
        hold = int(self.config.timeout * 12 + 30)
        lock = self._redis.lock(f"{self.config.session_key}:login-lock", timeout=hold, blocking_timeout=hold)
        return _LockContext(lock)

    def _new_client(self) -> AstroSteamClient:
        c = self.config
        client = AstroSteamClient(
            api_key=c.api_key, username=c.username, password=c.password,
            shared_secret=c.shared_secret, identity_secret=c.identity_secret,
        )
        mount_transport(client.session, mode=c.mode, sandbox_url=c.sandbox_url, timeout=c.timeout)
        return client

    def _login_paths(self) -> list[tuple[str, Callable[[AstroSteamClient], None]]]:
        c = self.config
        paths: list[tuple[str, Callable[[AstroSteamClient], None]]] = []
        if c.login_cookies:
            def with_cookies(client: AstroSteamClient) -> None:
                try:
                    cookies = parse_cookie_setting(c.login_cookies)
                except ValueError as exc:
                    raise LoginStepFailed("reading STEAM_LOGIN_COOKIES", str(exc)) from None
                client.login_with_cookies(cookies)
            paths.append(("cookies", with_cookies))
        if c.refresh_token:
            paths.append(("refresh_token", lambda client: client.login_with_refresh_token(c.refresh_token)))
        if c.username and c.password and c.shared_secret:
            paths.append(("password", lambda client: client.login_with_password()))
        return paths

    def _login(self) -> tuple[AstroSteamClient, str]:
        """Try each configured login path in turn; say which failed and why."""
        paths = self._login_paths()
        if not paths:
            raise SteamAuthError(
                "no Steam login is configured: set STEAM_USERNAME, STEAM_PASSWORD and STEAM_SHARED_SECRET, "
                "or STEAM_REFRESH_TOKEN, or STEAM_LOGIN_COOKIES",
                code="steam_login_not_configured",
            )
        failures: list[SteamAuthError] = []
        for path, attempt in paths:
            client = self._new_client()
            client.recorder.reset()
            try:
                attempt(client)
            except Exception as exc:  # steampy fails with anything from KeyError to JSONDecodeError
                error = self._login_failure(path, client.recorder.first_failure(), exc)
                if isinstance(error, SteamTransientError):
                    raise error from None  # Steam is unreachable or busy: another path would fare no better
                log.warning("Steam login via %s failed: %s", path, error)
                failures.append(error)
                continue
            log.info("Steam login via %s succeeded (steamid %s)", path, client.steam_id)
            return client, path
        last = failures[-1]
        raise SteamAuthError(
            "Steam login failed: " + "; ".join(str(f) for f in failures),
            code=last.code, eresult=last.eresult, status=last.status, login_path=last.login_path,
        )

    @staticmethod
    def _login_failure(path: str, recorded: RecordedResponse | None, exc: Exception) -> SteamError:
        label = {"password": "password login", "refresh_token": "refresh-token login", "cookies": "cookie login"}[path]
        if isinstance(exc, requests.RequestException):
            return SteamTransientError(
                f"{label}: cannot reach Steam during {login_step_of(recorded)} ({type(exc).__name__})",
                code="steam_unreachable",
            )
        status = recorded.status if recorded else None
        eresult = getattr(exc, "eresult", None)
        if eresult is None and recorded is not None:
            eresult = recorded.eresult
        if status == 429 or eresult == ERESULT_RATE_LIMIT_EXCEEDED:
            return SteamRateLimited(
                f"{label}: Steam is throttling logins ({eresult_label(eresult)})",
                status=status, eresult=eresult, retry_after=parse_retry_after(recorded.retry_after if recorded else None),
            )
        if status is not None and status >= 500:
            return SteamTransientError(f"{label}: Steam answered HTTP {status} during {login_step_of(recorded)}",
                                       status=status, eresult=eresult)
        if isinstance(exc, LoginStepFailed):
            step, detail = exc.step, exc.detail
        else:
            step = login_step_of(recorded)
            detail = f"HTTP {status}, {eresult_label(eresult)}, steampy raised {type(exc).__name__}"
            if isinstance(exc, (KeyError, InvalidCredentials)):
                detail += f" {exc}"
        return SteamAuthError(f"{label} failed at {step}: {detail}", login_path=path, status=status, eresult=eresult)

    # ============================================================ plumbing
    def _read(self, what: str, fn: Callable[[AstroSteamClient], T]) -> T:
        """Run an idempotent request: renew an expired session once, back off on transient errors."""
        renewed = False
        attempt = 0
        while True:
            client, version = self._current()
            try:
                return fn(client)
            except SteamSessionExpired as exc:
                if renewed:
                    raise SteamAuthError(f"{what}: Steam rejected a freshly made session ({exc})",
                                         login_path=self._login_path) from None
                self._renew(version)
                renewed = True
            except SteamTransientError as exc:
                attempt += 1
                delay = self.retry.delay(attempt, exc.retry_after)
                if delay is None:
                    raise
                log.info("%s: %s; trying again in %.1fs", what, exc, delay)
                time.sleep(delay)

    @staticmethod
    def _request(client: AstroSteamClient, method: str, url: str, *, what: str, **kwargs) -> requests.Response:
        try:
            return client.session.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise _transport_error(exc, what) from None

    @staticmethod
    def _raise_for_status(status: int, headers: dict | requests.structures.CaseInsensitiveDict, text: str, what: str, *,
                          forbidden_means_expired: bool) -> None:
        if status == 429:
            raise SteamRateLimited(f"{what}: Steam answered 429 (too many requests)", status=429,
                                   retry_after=parse_retry_after(headers.get("Retry-After")))
        if status == 401 or (status == 403 and forbidden_means_expired):
            raise SteamSessionExpired(f"{what}: Steam answered {status}: the session expired", status=status)
        if status >= 500:
            header = headers.get("X-eresult")
            eresult = int(header) if header and header.isdigit() else None
            detail = ""
            try:
                body = json.loads(text)
            except ValueError:
                body = None
            if isinstance(body, dict):
                detail = str(body.get("strError") or body.get("error") or "")
                eresult = eresult or eresult_from_text(detail)
            message = f"{what}: Steam answered HTTP {status}" + (f": {clean_error_text(detail)}" if detail else "")
            raise classify_eresult(eresult, message, status=status)
        if status >= 400:
            raise SteamPermanentError(f"{what}: Steam answered HTTP {status}", status=status)

    def _check(self, response: requests.Response, what: str, *, forbidden_means_expired: bool) -> None:
        self._raise_for_status(response.status_code, response.headers, response.text, what,
                               forbidden_means_expired=forbidden_means_expired)

    def _check_recorded(self, recorded: RecordedResponse | None, what: str, *, forbidden_means_expired: bool) -> None:
        if recorded is not None:
            headers = {"Retry-After": recorded.retry_after, "X-eresult": str(recorded.eresult or "")}
            self._raise_for_status(recorded.status, headers, recorded.text, what,
                                   forbidden_means_expired=forbidden_means_expired)

    @staticmethod
    def _json(response: requests.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise SteamTransientError(f"{what}: Steam answered HTTP {response.status_code} without JSON",
                                      status=response.status_code) from None

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
            raise _transport_error(exc, what) from None
        self._check(response, what, forbidden_means_expired=not (use_key and self.config.api_key))
        header = response.headers.get("X-eresult", "")
        eresult = int(header) if header.isdigit() else None
        if eresult in none_on_eresult:
            return None
        payload = self._json(response, what)
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
        response = self._request(client, "GET", url, params=params, what=what)
        if response.status_code == 400:
            raise SteamPermanentError(
                f"{what}: Steam refused count={count} (HTTP 400); lower STEAM_INVENTORY_PAGE_SIZE",
                code="inventory_page_refused", status=400,
            )
        # 403 with a null body on our *own* inventory means the session is gone.
        self._check(response, what, forbidden_means_expired=True)
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
        client, version = self._current()
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
            if _nothing_was_sent(exc):
                raise _transport_error(exc, "send offer") from None
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
                self._renew(version)
            raise error
        if status == 401:
            # "Not logged in": Steam took nothing. Log in again for the caller's next try.
            self._renew(version)
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
            self._check_recorded(client.recorder.last, what, forbidden_means_expired=True)
            raise SteamTransientError(f"{what}: unreadable mobileconf answer") from None
        except ConfirmationListError as exc:
            if exc.needauth:
                raise SteamSessionExpired(f"{what}: mobileconf answered needauth") from None
            raise SteamTransientError(f"{what}: {exc}") from None
        except ConfirmationExpected:
            self._check_recorded(client.recorder.last, what, forbidden_means_expired=True)
            return self._confirmation_absent(client, offer_id)
        except InvalidCredentials:
            raise SteamAuthError(f"{what}: Steam rejects the confirmation keys; check STEAM_IDENTITY_SECRET "
                                 "and the clock", code="steam_identity_secret_invalid") from None
        except requests.RequestException as exc:
            raise _transport_error(exc, what) from None
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
            raise _transport_error(exc, what) from None
        if isinstance(result, dict) and result.get("tradeofferid"):
            return
        recorded = client.recorder.last
        str_error = result.get("strError") if isinstance(result, dict) else None
        if not str_error:
            self._check_recorded(recorded, what, forbidden_means_expired=True)
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
            response = self._request(client, "POST", f"{SteamUrl.COMMUNITY_URL}/trade/new/acknowledge",
                                     data={"sessionid": client._get_session_id(), "message": 1}, what=what)
            self._check(response, what, forbidden_means_expired=True)
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
                raise _transport_error(exc, what) from None
            except ValueError:
                pass  # steampy's text_between found no g_daysMyEscrow
            recorded = client.recorder.last
            self._check_recorded(recorded, what, forbidden_means_expired=True)
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
        client = self._anonymous_client()
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
            raise _transport_error(exc, what) from None
        recorded = client.recorder.last
        if recorded is not None and recorded.status >= 400 and not (isinstance(payload, dict) and "success" in payload):
            self._check_recorded(recorded, what, forbidden_means_expired=False)
        if payload is None:
            raise SteamTransientError(f"{what}: Steam answered without JSON")
        return parsing.parse_market_price(payload, currency=self.config.currency)

    def _anonymous_client(self) -> AstroSteamClient:
        with self._lock:
            if self._anonymous is None:
                self._anonymous = self._new_client()
            return self._anonymous


class _LockContext:
    """The Redis login lock; failing to get it is transient (another login is slow)."""

    def __init__(self, lock):
        self._lock = lock

    def __enter__(self):
        try:
            acquired = self._lock.acquire()
        except redis.RedisError as exc:
            raise SteamTransientError(f"cannot take the Steam login lock: {type(exc).__name__}") from None
        if not acquired:
            raise SteamTransientError("another process is still logging in to Steam", code="steam_login_busy")
        return self

    def __exit__(self, *exc_info):
        try:
            self._lock.release()
        except redis.exceptions.LockError:
            log.warning("the Steam login lock expired before the login finished")
        return False
