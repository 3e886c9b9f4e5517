"""The bot's Steam session: how the gateway gets a logged-in steampy client.

- **the login paths** are `logins.py`'s (refresh token, password, cookies);
- **the shared session**: one logged-in session per mode + sandbox URL + username,
  kept in the Django cache (Redis) and adopted by every process, with a Redis lock
  so that only one process logs in (or renews) at a time. The cookies in the cache
  entry are encrypted (`astro.core.crypto`); only the path, the steamid and the
  times are readable, for the health check;
- **renewal**: a few minutes (`STEAM_ACCESS_TOKEN_RENEW_MARGIN_SECONDS`) before the
  access token ends, and whenever Steam shows the session is gone (the gateway
  tells us which `Login` Steam rejected), a new one is made from the stored
  refresh token, or adopted from the process that just made it;
- **Steam's time**: the offset of Steam's clock (`ITwoFactorService/QueryTime`)
  that the confirmation keys use, kept per bot and asked again every
  `STEAM_TIME_SYNC_SECONDS`.

The refresh token never goes into the cache: it lives in PostgreSQL (`store.py`).
Credentials and tokens are never logged, never put in exception messages.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache

from astro.core import crypto
from astro.steam import store
from astro.steam.auth import MobileAuth
from astro.steam.errors import SteamTransientError
from astro.steam.logins import LoggedIn, Logins
from astro.steam.steampy_fixes import AstroSteamClient, LoginStepFailed
from astro.steam.transport import mount_transport

log = logging.getLogger(__name__)

SESSION_TTL_SECONDS = 20 * 3600  # the longest a cached session is trusted without Steam's word on it
# A cache entry without these is not a session we can adopt (an older format, a stray value).
_SESSION_FIELDS = frozenset({"version", "secret", "login_path"})


@dataclass(frozen=True)
class SessionConfig:
    """What making and keeping a session needs from settings. Secrets are kept out of repr()."""

    mode: str
    sandbox_url: str | None
    username: str | None
    password: str | None = field(repr=False)
    shared_secret: str | None = field(repr=False)
    identity_secret: str | None = field(repr=False)
    api_key: str | None = field(repr=False)
    refresh_token: str | None = field(repr=False)
    login_cookies: str | None = field(repr=False)
    timeout: float
    login_timeout: float = 30.0
    renew_margin: float = 300.0
    refresh_renew_days: int = 30
    time_sync_seconds: float = 3600.0

    @classmethod
    def from_settings(cls) -> SessionConfig:
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
            timeout=float(settings.STEAM_HTTP_TIMEOUT_SECONDS),
            login_timeout=float(settings.STEAM_LOGIN_TIMEOUT_SECONDS),
            renew_margin=float(settings.STEAM_ACCESS_TOKEN_RENEW_MARGIN_SECONDS),
            refresh_renew_days=int(settings.STEAM_REFRESH_TOKEN_RENEW_DAYS),
            time_sync_seconds=float(settings.STEAM_TIME_SYNC_SECONDS),
        )

    @property
    def realm(self) -> str:
        """Which Steam: a token or row of one is never used with another."""
        return f"sandbox:{self.sandbox_url}" if self.mode == "sandbox" else "live"

    @property
    def cache_key(self) -> str:
        """The cache key of the shared session: a sandbox session is never used live."""
        where = self.sandbox_url if self.mode == "sandbox" else "steam"
        return f"steam-session:{self.mode}:{where}:{self.username or 'operator-session'}"

    @property
    def login_lock_key(self) -> str:
        return f"{self.cache_key}:login-lock"


def session_state(config: SessionConfig | None = None) -> dict[str, Any] | None:
    """The shared session as the processes cached it, for the health check; None when there is none.

    Side-effect free: reads one cache entry, never logs in, never takes the login
    lock, never contacts Steam, and shows no cookie or token. A cache (Redis) error
    is raised as the cache raised it, for the caller to report.
    """
    state = cache.get((config or SessionConfig.from_settings()).cache_key)
    if not isinstance(state, dict):
        return None
    return {"login_path": state.get("login_path"), "logged_in_at": state.get("logged_in_at")}


@dataclass(frozen=True)
class Login:
    """A logged-in client, and which shared session (cache entry) it belongs to."""

    client: AstroSteamClient
    version: str  # the cache entry's id: lets a renewal see that someone already replaced it
    expires_at: datetime | None = None  # when its access token ends

    def expiring(self, margin: float) -> bool:
        return self.expires_at is not None and self.expires_at - timedelta(seconds=margin) <= datetime.now(UTC)


class SteamSession:
    """The gateway's session: one per gateway, shared with other processes through the cache.

    `current()` hands out a logged-in client; `renew(login)` replaces the one Steam
    rejected. Thread-safe: one gateway serves every thread of a process.
    """

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._login: Login | None = None
        # Kept apart from `_login`: after a failed renewal it still names the path that was in use.
        self._login_path: str | None = None
        self._anonymous: AstroSteamClient | None = None
        self._redis: redis.Redis | None = None
        self._logins = Logins(config, self._new_client)
        self._time: tuple[int, float] | None = None  # (offset, monotonic time it was read)

    @property
    def login_path(self) -> str | None:
        """How the current session was made: "password", "refresh_token" or "cookies"."""
        return self._login_path

    @property
    def realm(self) -> str:
        return self.config.realm

    def current(self) -> Login:
        """The logged-in client, logging in (or adopting the cached session) first if needed,
        and renewing it when its access token is about to end."""
        with self._lock:
            if self._login is not None and self._login.expiring(self.config.renew_margin):
                log.info("the Steam access token ends soon; renewing the session")
                stale, self._login = self._login, None
                self._establish(stale_version=stale.version)
            if self._login is None:
                self._establish(stale_version=None)
            return self._login

    def renew(self, stale: Login) -> None:
        """Replace a session Steam no longer accepts (unless someone already did)."""
        with self._lock:
            if self._login is not None and self._login.version != stale.version:
                return  # another thread of this process renewed it meanwhile
            log.warning("Steam session expired; renewing it (%s)", self.config.mode)
            self._login = None
            self._establish(stale_version=stale.version)

    def anonymous_client(self) -> AstroSteamClient:
        """A client that is not logged in, for Steam's public endpoints (market prices)."""
        with self._lock:
            if self._anonymous is None:
                self._anonymous = self._new_client()
            return self._anonymous

    # ------------------------------------------------------------ Steam's time
    def steam_time(self) -> int:
        """Now on Steam's clock (unix seconds): what the confirmation keys are made for."""
        return int(time.time()) + self.time_offset()

    def time_offset(self, *, fresh: bool = False) -> int:
        """Steam's clock minus ours, asked again every `STEAM_TIME_SYNC_SECONDS` (kept per
        bot), or now with `fresh` (Steam refused a key: its clock may have jumped).

        If Steam cannot be asked, the last known offset (or none) is used: a clock that is
        right keys correctly anyway, and a wrong one is reported by Steam's answer.
        """
        with self._lock:
            if (not fresh and self._time is not None
                    and time.monotonic() - self._time[1] < self.config.time_sync_seconds):
                return self._time[0]
        login = self.current()
        steam_id = login.client.steam_id
        known = store.time_offset(realm=self.realm, steam_id=steam_id)
        if (not fresh and known is not None
                and (datetime.now(UTC) - known[1]).total_seconds() < self.config.time_sync_seconds):
            offset = known[0]
        else:
            try:
                offset = MobileAuth(login.client.session, poll_timeout=0).query_time_offset()
            except (LoginStepFailed, OSError, ValueError) as exc:  # requests' errors are OSErrors
                log.warning("could not read Steam's time (%s); using %s", type(exc).__name__,
                            "the last known offset" if known else "the local clock")
                return known[0] if known else 0
            store.save_time_offset(realm=self.realm, steam_id=steam_id, account_name=self.config.username,
                                   offset=offset)
        with self._lock:
            self._time = (offset, time.monotonic())
        return offset

    # ------------------------------------------------------ the shared session
    def _establish(self, *, stale_version: str | None) -> None:
        cached = self._cache_read()
        if cached and cached["version"] != stale_version and self._adopt(cached):
            return
        with self._login_lock():
            # Another process may have logged in while we waited for the lock.
            cached = self._cache_read()
            if cached and cached["version"] != stale_version and self._adopt(cached):
                return
            known = cached.get("steam_id") if cached else None
            made = self._logins.log_in(known_steam_id=known if isinstance(known, int) else None)
            self._store(made)

    def _store(self, made: LoggedIn) -> None:
        now = datetime.now(UTC)
        state = {
            "version": uuid.uuid4().hex,
            "login_path": made.path,
            "steam_id": made.client.steam_id,
            "logged_in_at": now.isoformat(),
            "expires_at": made.expires_at.isoformat() if made.expires_at else None,
            "secret": crypto.encrypt(json.dumps(made.client.export_cookies())),
        }
        ttl = SESSION_TTL_SECONDS
        if made.expires_at is not None:
            ttl = max(60, min(ttl, int((made.expires_at - now).total_seconds())))
        try:
            cache.set(self.config.cache_key, state, timeout=ttl)
        except Exception as exc:  # the cache is Redis; a failed write only costs a later login
            log.warning("could not store the Steam session in the cache: %s", type(exc).__name__)
        self._login = Login(made.client, state["version"], made.expires_at)
        self._login_path = made.path

    def _cache_read(self) -> dict[str, Any] | None:
        try:
            cached = cache.get(self.config.cache_key)
        except Exception as exc:
            raise SteamTransientError(f"the session cache (Redis) is unavailable: {type(exc).__name__}") from None
        if isinstance(cached, dict) and _SESSION_FIELDS <= cached.keys():
            return cached
        return None

    def _adopt(self, cached: dict[str, Any]) -> bool:
        """Use the session another process (or an earlier client) made; False if unusable."""
        try:
            expires_at = datetime.fromisoformat(cached["expires_at"]) if cached.get("expires_at") else None
            cookies = json.loads(crypto.decrypt(cached["secret"]))
        except (crypto.DecryptionFailed, TypeError, ValueError):
            log.warning("ignoring an unreadable cached Steam session")
            return False
        login = Login(self._new_client(), cached["version"], expires_at)
        if login.expiring(self.config.renew_margin):
            return False  # about to end: renew rather than adopt
        try:
            login.client.restore(cookies)
        except (LoginStepFailed, KeyError, TypeError, ValueError):
            log.warning("ignoring an unusable cached Steam session")
            return False
        self._login, self._login_path = login, cached["login_path"]
        return True

    def _login_lock(self) -> _LoginLock:
        if self._redis is None:
            self._redis = redis.Redis.from_url(settings.REDIS_URL)
        # Long enough for the slowest login: a handful of requests and the auth session's polls.
        hold = int(self.config.timeout * 8 + self.config.login_timeout + 30)
        return _LoginLock(self._redis.lock(self.config.login_lock_key, timeout=hold, blocking_timeout=hold))

    def _new_client(self) -> AstroSteamClient:
        c = self.config
        client = AstroSteamClient(
            api_key=c.api_key, username=c.username, password=c.password,
            shared_secret=c.shared_secret, identity_secret=c.identity_secret,
        )
        mount_transport(client.session, mode=c.mode, sandbox_url=c.sandbox_url, timeout=c.timeout)
        return client


class _LoginLock:
    """The Redis login lock; failing to get it is transient (another login is slow)."""

    def __init__(self, lock: redis.lock.Lock) -> None:
        self._lock = lock

    def __enter__(self) -> _LoginLock:
        try:
            acquired = self._lock.acquire()
        except redis.RedisError as exc:
            raise SteamTransientError(f"cannot take the Steam login lock: {type(exc).__name__}") from None
        if not acquired:
            raise SteamTransientError("another process is still logging in to Steam", code="steam_login_busy")
        return self

    def __exit__(self, *exc_info: object) -> bool:
        try:
            self._lock.release()
        except redis.exceptions.LockError:
            log.warning("the Steam login lock expired before the login finished")
        return False

