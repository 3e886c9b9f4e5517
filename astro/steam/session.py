"""The bot's Steam session: how the gateway gets a logged-in steampy client.

Everything about being logged in lives here, so that a change to how sessions
are made, stored or renewed touches this module only:

- the login paths, tried in order, each only when configured: operator cookies
  (`STEAM_LOGIN_COOKIES`), an operator refresh token (`STEAM_REFRESH_TOKEN`),
  steampy's password login (`STEAM_USERNAME` + `STEAM_PASSWORD` +
  `STEAM_SHARED_SECRET`, with the finalizelogin Origin/Referer fix of
  `steampy_fixes.FixedLoginExecutor`);
- the shared session: one logged-in session per mode + sandbox URL + username,
  kept in the Django cache (Redis) and adopted by every process, with a Redis
  lock so that only one process logs in at a time;
- renewal when Steam shows the session is gone (the gateway tells us which
  `Login` Steam rejected; we log in again or adopt the one another process just
  made);
- what a failed login means: `SteamAuthError` naming the path, the step, the HTTP
  status and the eresult, or a transient error when Steam is unreachable or busy.

Credentials and tokens are never logged, never put in exception messages,
never written to the database: errors name a path, a step and Steam's codes only.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Callable

import redis
import requests
from django.conf import settings
from django.core.cache import cache
from steampy.exceptions import InvalidCredentials

from astro.steam.errors import (
    ERESULT_RATE_LIMIT_EXCEEDED,
    SteamAuthError,
    SteamError,
    SteamRateLimited,
    SteamTransientError,
    eresult_label,
    parse_retry_after,
)
from astro.steam.steampy_fixes import (
    AstroSteamClient,
    LoginStepFailed,
    RecordedResponse,
    login_step_of,
    parse_cookie_setting,
)
from astro.steam.transport import mount_transport

log = logging.getLogger(__name__)

SESSION_TTL_SECONDS = 20 * 3600  # web access tokens live ~24 h
# A cache entry without these is not a session we can adopt (an older format, a stray value).
_SESSION_FIELDS = frozenset({"version", "cookies", "login_path"})
LOGIN_LABELS = {"password": "password login", "refresh_token": "refresh-token login", "cookies": "cookie login"}

LoginAttempt = Callable[[AstroSteamClient], None]


@dataclass(frozen=True)
class SessionConfig:
    """What making a session needs from settings. Secrets are kept out of repr()."""

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
        )

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

    @property
    def login_path(self) -> str | None:
        """How the current session was made: "password", "refresh_token" or "cookies"."""
        return self._login_path

    def current(self) -> Login:
        """The logged-in client, logging in (or adopting the cached session) first if needed."""
        with self._lock:
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
            client, path = self._log_in()
            state = {
                "version": uuid.uuid4().hex,
                "login_path": path,
                "steam_id": client.steam_id,
                "cookies": client.export_cookies(),
                "logged_in_at": datetime.now(UTC).isoformat(),
            }
            try:
                cache.set(self.config.cache_key, state, timeout=SESSION_TTL_SECONDS)
            except Exception as exc:  # the cache is Redis; a failed write only costs a later login
                log.warning("could not store the Steam session in the cache: %s", type(exc).__name__)
            self._login, self._login_path = Login(client, state["version"]), path

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
        client = self._new_client()
        try:
            client.restore(cached["cookies"])
        except (LoginStepFailed, KeyError, TypeError, ValueError):
            log.warning("ignoring an unusable cached Steam session")
            return False
        self._login, self._login_path = Login(client, cached["version"]), cached["login_path"]
        return True

    def _login_lock(self) -> _LoginLock:
        if self._redis is None:
            self._redis = redis.Redis.from_url(settings.REDIS_URL)
        # Long enough for steampy's slowest login (its RSA step alone may try 6 times).
        hold = int(self.config.timeout * 12 + 30)
        return _LoginLock(self._redis.lock(self.config.login_lock_key, timeout=hold, blocking_timeout=hold))

    def _new_client(self) -> AstroSteamClient:
        c = self.config
        client = AstroSteamClient(
            api_key=c.api_key, username=c.username, password=c.password,
            shared_secret=c.shared_secret, identity_secret=c.identity_secret,
        )
        mount_transport(client.session, mode=c.mode, sandbox_url=c.sandbox_url, timeout=c.timeout)
        return client

    # ------------------------------------------------------------ logging in
    def _login_paths(self) -> list[tuple[str, LoginAttempt]]:
        c = self.config
        paths: list[tuple[str, LoginAttempt]] = []
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

    def _log_in(self) -> tuple[AstroSteamClient, str]:
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
                error = login_failure(path, client.recorder.first_failure(), exc)
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


def login_failure(path: str, recorded: RecordedResponse | None, exc: Exception) -> SteamError:
    """What a login path's failure means, from the first answer Steam refused.

    steampy checks only some steps' answers: a wrong TOTP is answered HTTP 200 with
    X-eresult 88 and steampy dies at the next poll, so `recorded` is the recorder's
    first refusal, not the last answer. Unreachable, throttling or failing (5xx)
    Steam is transient; anything else is a `SteamAuthError` for the operator.
    Of `exc`'s text only a KeyError's (the field steampy missed) and an
    InvalidCredentials' (Steam's own message) are kept: other texts may hold a URL.
    """
    label = LOGIN_LABELS[path]
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
