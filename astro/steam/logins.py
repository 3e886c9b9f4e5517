"""The ways to get a logged-in client, tried in order, and what a failed one means.

1. **refresh token** (`"refresh_token"`): the bot's mobile-app refresh token, from the
   database (`store.py`, encrypted) or handed over by the operator
   (`STEAM_REFRESH_TOKEN`, stored on first use). GenerateAccessTokenForApp makes an
   access token (and, in the last `STEAM_REFRESH_TOKEN_RENEW_DAYS` of the token's
   life, asks for a new refresh token); the cookies are built locally
   (`steamLoginSecure=<steamid>||<access token>` and a random `sessionid`), no
   finalizelogin. A browser-type token is recognised from its `aud` and refused with
   what to do instead; a token Steam refuses is dropped.
2. **password** (`"password"`): Astro's own mobile-app login (`auth.py`) with
   `STEAM_USERNAME` + `STEAM_PASSWORD` + `STEAM_SHARED_SECRET`; its refresh token is
   stored, so the password is used again only when that token is gone or refused.
3. **cookies** (`"cookies"`): the operator's browser session (`STEAM_LOGIN_COOKIES`),
   checked against the community page; the last resort, since nothing renews it.

A failure is a `SteamAuthError` naming the path, the step, the HTTP status and the
eresult; Steam unreachable, throttling or failing (5xx) is transient instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from steampy.exceptions import InvalidCredentials

from astro.steam import store
from astro.steam.auth import REFUSED_TOKEN_ERESULTS, MobileAuth
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
    steam_login_secure_parts,
)
from astro.steam.tokens import MOBILE, NotASteamToken, TokenInfo, read_token

log = logging.getLogger(__name__)

LOGIN_LABELS = {"password": "password login", "refresh_token": "refresh-token login", "cookies": "cookie login"}
HOW_TO_GET_A_MOBILE_TOKEN = (
    "give Astro a mobile-app refresh token instead (steamguard-cli, ArchiSteamFarm's or node-steam-session's "
    "tools issue one; or unset STEAM_REFRESH_TOKEN and let Astro log in once with STEAM_PASSWORD and "
    "STEAM_SHARED_SECRET: it keeps the token it gets); see docs/operations.md, 'Steam login'"
)


@dataclass(frozen=True)
class LoggedIn:
    client: AstroSteamClient
    path: str
    expires_at: datetime | None  # when the access token in the cookies ends (None: unknown)


class Logins:
    """The login paths of one `session.SessionConfig`; `log_in()` runs them (under the caller's lock)."""

    def __init__(self, config: Any, new_client) -> None:  # a session.SessionConfig (which imports this module)
        self.config = config
        self._new_client = new_client

    # ----------------------------------------------------------------- paths
    def log_in(self, *, known_steam_id: int | None = None) -> LoggedIn:
        """Try each configured path in turn; say which failed and why."""
        c = self.config
        attempts = []
        if c.refresh_token or self._has_stored_token(known_steam_id):
            attempts.append(("refresh_token", lambda client: self._with_refresh_token(client, known_steam_id)))
        if c.username and c.password and c.shared_secret:
            attempts.append(("password", self._with_password))
        if c.login_cookies:
            attempts.append(("cookies", self._with_cookies))
        if not attempts:
            raise SteamAuthError(
                "no Steam login is configured: set STEAM_USERNAME, STEAM_PASSWORD and STEAM_SHARED_SECRET, "
                "or STEAM_REFRESH_TOKEN (a mobile-app refresh token), or STEAM_LOGIN_COOKIES",
                code="steam_login_not_configured",
            )
        failures: list[SteamAuthError] = []
        for path, attempt in attempts:
            client = self._new_client()
            client.recorder.reset()
            try:
                expires_at = attempt(client)
            except SteamAuthError as error:  # a refusal decided before any request (a web-type token)
                log.error("Steam login via %s refused: %s", path, error)
                failures.append(error)
                continue
            except Exception as exc:  # steampy and our steps fail with anything from KeyError to JSONDecodeError
                error = login_failure(path, client.recorder.first_failure(), exc)
                if isinstance(error, SteamTransientError):
                    raise error from None  # Steam is unreachable or busy: another path would fare no better
                log.warning("Steam login via %s failed: %s", path, error)
                failures.append(error)
                continue
            log.info("Steam login via %s succeeded (steamid %s)", path, client.steam_id)
            return LoggedIn(client=client, path=path, expires_at=expires_at)
        last = failures[-1]
        raise SteamAuthError(
            "Steam login failed: " + "; ".join(str(f) for f in failures),
            code=last.code, eresult=last.eresult, status=last.status, login_path=last.login_path,
        )

    def _has_stored_token(self, steam_id: int | None) -> bool:
        return self._stored(steam_id) is not None

    def _stored(self, steam_id: int | None) -> store.StoredToken | None:
        return store.stored_token(realm=self.config.realm, account_name=self.config.username, steam_id=steam_id)

    def _operator_token(self) -> tuple[str, TokenInfo] | None:
        """STEAM_REFRESH_TOKEN, checked to be a mobile-app refresh token."""
        raw = (self.config.refresh_token or "").strip()
        if not raw:
            return None
        try:
            info = read_token(raw)
        except NotASteamToken as exc:
            raise SteamAuthError(f"refresh-token login: STEAM_REFRESH_TOKEN is not a Steam refresh token ({exc})",
                                 code="steam_refresh_token_invalid", login_path="refresh_token") from None
        if not info.is_refresh:
            raise SteamAuthError("refresh-token login: STEAM_REFRESH_TOKEN is an access token, not a refresh token; "
                                 + HOW_TO_GET_A_MOBILE_TOKEN, code="steam_refresh_token_invalid",
                                 login_path="refresh_token")
        if info.platform != MOBILE:
            raise SteamAuthError(
                f"refresh-token login: STEAM_REFRESH_TOKEN is a {info.platform}-type token (its aud is "
                f"{list(info.audience)}), which Steam no longer renews; " + HOW_TO_GET_A_MOBILE_TOKEN,
                code="steam_refresh_token_not_mobile", login_path="refresh_token",
            )
        return raw, info

    def _with_refresh_token(self, client: AstroSteamClient, known_steam_id: int | None) -> datetime | None:
        c = self.config
        stored = self._stored(known_steam_id)
        raw = (c.refresh_token or "").strip()
        # The operator's token counts once: a newly handed one replaces the stored token;
        # one already taken (or refused) does not displace the token stored since.
        operator_digest = store.digest(raw) if raw else ""
        token = info = None
        from_operator = False
        if raw and (stored is None or stored.operator_digest != operator_digest):
            try:
                token, info = self._operator_token()
                from_operator = True
            except SteamAuthError as refused:
                if stored is None:
                    raise
                log.error("%s; using the refresh token stored earlier", refused)
        if token is None:
            if stored is None:
                raise LoginStepFailed("finding a refresh token", "no stored refresh token for this bot")
            token, info = stored.refresh_token, stored.info
        renew = info.expires_within(c.refresh_renew_days * 86400)
        auth = self._auth(client)
        try:
            access, renewed = auth.generate_access_token(refresh_token=token, steam_id=info.steam_id, renew=renew)
        except LoginStepFailed as failed:
            if failed.eresult in REFUSED_TOKEN_ERESULTS:
                if from_operator:
                    # Remember that this operator token was tried, so it is not sent again and again.
                    self._remember_refused_operator_token(stored, operator_digest)
                else:
                    store.forget_token(realm=c.realm, steam_id=info.steam_id)
            raise
        if renewed or from_operator:
            new_token = renewed or token
            # A renewed stored token keeps the fingerprint of whatever handed over its ancestor
            # (STEAM_REFRESH_TOKEN or STEAM_LOGIN_COOKIES), or that spent token would be taken again.
            kept_digest = operator_digest if from_operator else stored.operator_digest
            store.save_token(realm=c.realm, account_name=c.username or "", refresh_token=new_token,
                             info=read_token(new_token), operator_digest=kept_digest)
            if renewed:
                log.info("Steam issued a new refresh token for %s; stored", info.steam_id)
        return client.log_in_with_access_token(info.steam_id, access)

    def _remember_refused_operator_token(self, stored: store.StoredToken | None, digest: str) -> None:
        if stored is not None:
            store.save_token(realm=self.config.realm, account_name=self.config.username or "",
                             refresh_token=stored.refresh_token, info=stored.info, operator_digest=digest)

    def _with_password(self, client: AstroSteamClient) -> datetime | None:
        c = self.config
        auth = self._auth(client)
        offset = auth.query_time_offset()
        tokens = auth.log_in(username=c.username, password=c.password, shared_secret=c.shared_secret,
                             time_offset=offset)
        operator_digest = store.digest(c.refresh_token.strip()) if c.refresh_token else ""
        store.save_token(realm=c.realm, account_name=c.username, refresh_token=tokens.refresh_token,
                         info=read_token(tokens.refresh_token), operator_digest=operator_digest)
        store.save_time_offset(realm=c.realm, steam_id=tokens.steam_id, account_name=c.username, offset=offset)
        return client.log_in_with_access_token(tokens.steam_id, tokens.access_token)

    def _with_cookies(self, client: AstroSteamClient) -> datetime | None:
        """The operator's browser session. Its access token is renewed when it can be: a
        mobile-app refresh token among the cookies (`steamRefresh_steam`) is stored and
        the session is made from it, now and at every renewal; else the cookies are used
        until their access token ends, and then refused with what to do."""
        c = self.config
        try:
            cookies = parse_cookie_setting(c.login_cookies)
        except ValueError as exc:
            raise LoginStepFailed("reading STEAM_LOGIN_COOKIES", str(exc)) from None
        carried = _refresh_token_of(cookies)
        if carried is not None and carried[1].platform == MOBILE:
            token, info = carried
            known = self._stored(info.steam_id)
            digest = store.digest(c.login_cookies)
            if known is None or known.operator_digest != digest:
                store.save_token(realm=c.realm, account_name=c.username or "", refresh_token=token, info=info,
                                 operator_digest=digest)
                log.info("STEAM_LOGIN_COOKIES carried a mobile-app refresh token: stored, the session is made from it")
            return self._with_refresh_token(client, info.steam_id)
        access = _access_token_of(cookies)
        if access is not None and access.expires_within(0):
            raise LoginStepFailed(
                "reading STEAM_LOGIN_COOKIES",
                f"their access token ended at {access.expires_at:%Y-%m-%d %H:%M} UTC and nothing can renew it; "
                "give Astro fresh cookies, or better a mobile-app refresh token (STEAM_REFRESH_TOKEN)",
            )
        client.login_with_cookies(cookies)
        return access.expires_at if access is not None else None

    def _auth(self, client: AstroSteamClient) -> MobileAuth:
        return MobileAuth(client.session, poll_timeout=self.config.login_timeout)


def login_failure(path: str, recorded: RecordedResponse | None, exc: Exception) -> SteamError:
    """What a login path's failure means, from the first answer Steam refused.

    `recorded` is the recorder's first refusal, not the last answer (steampy's
    steps may die one step after the one Steam refused). Unreachable, throttling or
    failing (5xx) Steam is transient; anything else is a `SteamAuthError` for the
    operator. Of `exc`'s text only our own step failures', a KeyError's (the field
    missed) and an InvalidCredentials' (Steam's own message) are kept: other texts
    may hold a URL, and with it a token.
    """
    label = LOGIN_LABELS[path]
    if isinstance(exc, requests.RequestException):
        return SteamTransientError(
            f"{label}: cannot reach Steam during {login_step_of(recorded)} ({type(exc).__name__})",
            code="steam_unreachable",
        )
    status = getattr(exc, "status", None) if isinstance(exc, LoginStepFailed) else None
    if status is None:
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
        detail = f"HTTP {status}, {eresult_label(eresult)}, {type(exc).__name__}"
        if isinstance(exc, (KeyError, InvalidCredentials)):
            detail += f" {exc}"
    code = "steam_refresh_token_refused" if path == "refresh_token" and eresult in REFUSED_TOKEN_ERESULTS else None
    return SteamAuthError(f"{label} failed at {step}: {detail}", login_path=path, status=status, eresult=eresult,
                          code=code)


def _token_in_cookie(value: str | None) -> TokenInfo | None:
    parts = steam_login_secure_parts(value or "")
    if parts is None:
        return None
    try:
        return read_token(parts[1])
    except NotASteamToken:
        return None


def _access_token_of(cookies: dict[str, str]) -> TokenInfo | None:
    return _token_in_cookie(cookies.get("steamLoginSecure"))


def _refresh_token_of(cookies: dict[str, str]) -> tuple[str, TokenInfo] | None:
    """The refresh token of a `steamRefresh_steam` cookie (`<steamid>||<token>`), if it is one."""
    parts = steam_login_secure_parts(cookies.get("steamRefresh_steam") or "")
    info = _token_in_cookie(cookies.get("steamRefresh_steam"))
    return (parts[1], info) if parts and info is not None and info.is_refresh else None
