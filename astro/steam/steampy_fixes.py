"""Every workaround for steampy 1.2.0, in one place.

Each quirk has a test in tests/steam/test_steampy_fixes.py. Upgrading steampy
means re-reading this file: `check_steampy_version()` refuses anything else.

| quirk in steampy 1.2.0 | what we do |
|---|---|
| steampy's login is a browser's (WebBrowser refresh token, renewed by nothing since 2025-04) and polls PollAuthSessionStatus once | not used: `auth.py` logs in as the mobile app; `AstroSteamClient.log_in_with_access_token` builds the cookies |
| a failed login step surfaces as KeyError / JSONDecodeError with no step named | `LoginStepFailed` names the step, HTTP status and X-eresult |
| `_set_access_token` prints the steamLoginSecure cookie to stdout on failure | `access_token_from_cookies` (no print) |
| `SteamClient(login_cookies=...)` requests the page before any adapter is mounted, sets domain-less cookies that `_get_session_id` cannot find, and leaves the access token unset | `AstroSteamClient.login_with_cookies` |
| `steam_guard` is parsed as "a path or a JSON string" | the dict is set directly |
| `get_my_inventory` sends count=5000 (HTTP 400 since 2025) and never pages | not used; the gateway pages with count <= 1000 |
| `TradeOfferState` stops at 11 (no 12 Reverted) | not used; astro.steam.types.OfferState |
| `make_offer*`, `cancel_trade_offer` return `{"strError": ...}` instead of raising, and `.json()` a `null` 401 body | `ResponseRecorder` keeps the last answer so the gateway can classify it |
| hosts hard-coded (`https://steamcommunity.com/mobileconf`, cancel/decline URLs) | the sandbox is reached by a transport adapter, never by rewriting URLs |
| `ConfirmationExecutor` reads `['conf']` of a `needauth` answer (KeyError), fetches every confirmation's details page to find one offer, confirms one at a time and keys on the local clock | not used: `confirmations.py` (one getlist, one multiajaxop, Steam's time) |
| `generate_confirmation_key`'s default timestamp is the time steampy was imported | always called with an explicit time |
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from steampy.client import SteamClient
from steampy.models import SteamUrl

from astro.steam.tokens import NotASteamToken, read_token

SUPPORTED_STEAMPY = "1.2.0"

COMMUNITY_DOMAIN = SteamUrl.COMMUNITY_URL[len("https://") :]
STORE_DOMAIN = SteamUrl.STORE_URL[len("https://") :]


def check_steampy_version() -> None:
    installed = version("steampy")
    if installed != SUPPORTED_STEAMPY:
        raise RuntimeError(
            f"steampy {installed} is installed; astro/steam/steampy_fixes.py was written for "
            f"{SUPPORTED_STEAMPY}. Re-check every workaround before changing the pin."
        )


# --------------------------------------------------------------- last answer
@dataclass(frozen=True)
class RecordedResponse:
    method: str
    host: str
    path: str
    status: int
    eresult: int | None
    retry_after: str | None
    text: str

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None


class ResponseRecorder:
    """A session response hook that keeps the last answer of each thread.

    steampy reads `.json()` itself and either returns Steam's error dict or dies
    with an unrelated exception; the gateway looks here for the status, X-eresult
    and body it needs to classify the outcome. Kept per thread because one
    gateway serves every thread of a process.
    """

    MAX_TEXT = 256 * 1024
    MAX_HISTORY = 32

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, response: requests.Response, *args, **kwargs) -> requests.Response:
        parts = urlsplit(response.url or "")
        eresult = response.headers.get("X-eresult")
        self._local.last = recorded = RecordedResponse(
            method=response.request.method if response.request is not None else "",
            host=parts.hostname or "",
            path=parts.path,
            status=response.status_code,
            eresult=int(eresult) if eresult and eresult.strip().lstrip("-").isdigit() else None,
            retry_after=response.headers.get("Retry-After"),
            # Error answers and pages are small; a 1000-item inventory page is not
            # needed here and is not decoded twice.
            text=response.text if len(response.content or b"") <= self.MAX_TEXT else "",
        )
        history = getattr(self._local, "history", None)
        if history is None:
            history = self._local.history = []
        history.append(recorded)
        del history[: -self.MAX_HISTORY]
        return response

    def reset(self) -> None:
        self._local.last = None
        self._local.history = []

    @property
    def history(self) -> list[RecordedResponse]:
        """This thread's answers since the last reset (at most MAX_HISTORY)."""
        return list(getattr(self._local, "history", None) or [])

    def first_failure(self) -> RecordedResponse | None:
        """The earliest answer since the last reset that said no (HTTP error or an
        X-eresult other than OK), else the last answer. steampy only checks the status
        of some login steps, so a refused Steam Guard code (HTTP 200, X-eresult 88)
        surfaces one step later as a KeyError; this names the step that failed."""
        for recorded in self.history:
            if recorded.status >= 400 or recorded.eresult not in (None, 1):
                return recorded
        return self.last

    @property
    def last(self) -> RecordedResponse | None:
        return getattr(self._local, "last", None)


# --------------------------------------------------------------------- login
class LoginStepFailed(Exception):
    """A login step failed; `step` names it, for SteamAuthError messages."""

    def __init__(self, step: str, detail: str, *, status: int | None = None, eresult: int | None = None):
        super().__init__(f"{step}: {detail}")
        self.step = step
        self.detail = detail
        self.status = status
        self.eresult = eresult


_LOGIN_STEPS = {
    "/IAuthenticationService/GetPasswordRSAPublicKey/v1": "fetching the RSA key (GetPasswordRSAPublicKey)",
    "/IAuthenticationService/BeginAuthSessionViaCredentials/v1": "the password check (BeginAuthSessionViaCredentials)",
    "/IAuthenticationService/UpdateAuthSessionWithSteamGuardCode/v1": "the Steam Guard code (UpdateAuthSessionWithSteamGuardCode)",
    "/IAuthenticationService/PollAuthSessionStatus/v1": "polling the auth session (PollAuthSessionStatus)",
    "/IAuthenticationService/GenerateAccessTokenForApp/v1": "making an access token (GenerateAccessTokenForApp)",
    "/ITwoFactorService/QueryTime/v1": "reading Steam's time (ITwoFactorService/QueryTime)",
    "/": "checking the cookie session (the community page)",
}


def login_step_of(recorded: RecordedResponse | None) -> str:
    if recorded is None:
        return "its first request"
    return _LOGIN_STEPS.get(recorded.path.rstrip("/") or "/", f"{recorded.host}{recorded.path}")


def steam_login_secure_parts(value: str) -> tuple[str, str] | None:
    """`<steamid64>%7C%7C<access JWT>` -> (steamid64, access token)."""
    parts = unquote(value or "").split("||")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1]:
        return None
    return parts[0], parts[1]


def access_token_from_cookies(jar: requests.cookies.RequestsCookieJar) -> tuple[str, str] | None:
    """(steamid64, access token) from steamLoginSecure, community cookie first.

    steampy's `_set_access_token` does this but prints the cookie on failure.
    """
    cookies = [c for c in jar if c.name == "steamLoginSecure"]
    cookies.sort(key=lambda c: c.domain != COMMUNITY_DOMAIN)
    for cookie in cookies:
        parts = steam_login_secure_parts(cookie.value)
        if parts:
            return parts
    return None


def parse_cookie_setting(raw: str) -> dict[str, str]:
    """STEAM_LOGIN_COOKIES: a JSON object or a `name=value; name2=value2` Cookie header."""
    raw = (raw or "").strip()
    if raw.startswith("{"):
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise ValueError("STEAM_LOGIN_COOKIES looks like JSON but does not parse") from None
        if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
            raise ValueError("STEAM_LOGIN_COOKIES JSON must map cookie names to strings")
        return {str(k): v for k, v in parsed.items()}
    cookies = {}
    for part in raw.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            cookies[name.strip()] = value.strip()
    return cookies


# --------------------------------------------------------------------- client
class AstroSteamClient(SteamClient):
    """steampy's SteamClient with the fixes above: the only client astro.steam makes (session.py makes each)."""

    def __init__(self, *, api_key: str | None, username: str | None, password: str | None,
                 shared_secret: str | None, identity_secret: str | None) -> None:
        super().__init__(api_key or "", username=username, password=password)
        # steampy parses steam_guard as "a path, or else JSON"; set the dict directly.
        self.steam_guard = {"steamid": "", "shared_secret": shared_secret or "", "identity_secret": identity_secret or ""}
        self.recorder = ResponseRecorder()
        self._session.hooks["response"].append(self.recorder)
        # Steam renders dates in the viewer's time zone: GMT makes every hold date parse the same.
        self._session.cookies.set("timezoneOffset", "0,0", domain=COMMUNITY_DOMAIN, path="/")
        self._session.cookies.set("Steam_Language", "english", domain=COMMUNITY_DOMAIN, path="/")

    @property
    def session(self) -> requests.Session:
        return self._session

    @property
    def access_token(self) -> str | None:
        """The web access token (steamLoginSecure), for Web API calls in place of the key."""
        return self._access_token

    @property
    def steam_id(self) -> int | None:
        return int(self.steam_guard["steamid"]) if self.steam_guard.get("steamid") else None

    def _finish_login(self) -> None:
        """Mark steampy's client logged in from whatever cookies the jar now holds."""
        parts = access_token_from_cookies(self._session.cookies)
        if parts is None:
            raise LoginStepFailed("reading the session", "no usable steamLoginSecure cookie after login")
        steam_id, access_token = parts
        self.steam_guard["steamid"] = steam_id
        self._access_token = access_token
        self.was_login_executed = True
        self.market._set_login_executed(self.steam_guard, self._get_session_id())

    def _set_access_token(self) -> str:
        parts = access_token_from_cookies(self._session.cookies)
        if parts is None:
            raise ValueError("Access token not found in steamLoginSecure cookie")
        return parts[1]

    def log_in_with_access_token(self, steam_id: int, access_token: str) -> datetime | None:
        """The community session of a mobile-app access token, built locally as the
        Steam mobile app does: `steamLoginSecure=<steamid>||<token>` and any 24-hex
        `sessionid` (Steam only checks that the form repeats the cookie); no
        finalizelogin. Returns when the access token ends (None when it says not)."""
        value = f"{int(steam_id)}%7C%7C{access_token}"
        sessionid = secrets.token_hex(12)
        for domain in (COMMUNITY_DOMAIN, STORE_DOMAIN):
            self._session.cookies.set("steamLoginSecure", value, domain=domain, path="/", secure=True)
            self._session.cookies.set("sessionid", sessionid, domain=domain, path="/", secure=True)
        self._finish_login()
        try:
            return read_token(access_token).expires_at
        except NotASteamToken:
            return None

    def login_with_cookies(self, cookies: dict[str, str]) -> None:
        """An operator-provided browser session: steamLoginSecure (+ sessionid) on the right domains."""
        if not cookies.get("steamLoginSecure") or steam_login_secure_parts(cookies["steamLoginSecure"]) is None:
            raise LoginStepFailed("reading STEAM_LOGIN_COOKIES", "no steamLoginSecure=<steamid>%7C%7C<token> cookie")
        # steampy reads sessionid for steamcommunity.com only by exact domain; Steam
        # accepts any sessionid the form repeats, as browsers and node-steamcommunity do.
        cookies = {**cookies, "sessionid": cookies.get("sessionid") or secrets.token_hex(12)}
        for name, value in cookies.items():
            for domain in (COMMUNITY_DOMAIN, STORE_DOMAIN):
                self._session.cookies.set(name, value, domain=domain, path="/")
        self._finish_login()
        # The cookies may be stale: a logged-out page is the only proof either way.
        steam_id = self._page_steam_id()
        if steam_id != self.steam_guard["steamid"]:
            raise LoginStepFailed(
                "checking the cookie session",
                "Steam does not accept the cookies (it shows the logged-out page)"
                if steam_id is None else "the cookies belong to another account",
            )

    def _page_steam_id(self) -> str | None:
        response = self._session.get(SteamUrl.COMMUNITY_URL)
        match = re.search(r'g_steamID = "(\d+)";', response.text)
        return match.group(1) if match else None

    # ----------------------------------------------------- cached session state
    def export_cookies(self) -> list[dict[str, Any]]:
        return [
            {"name": c.name, "value": c.value, "domain": c.domain, "path": c.path, "secure": c.secure, "expires": c.expires}
            for c in self._session.cookies
        ]

    def restore(self, cookies: list[dict[str, Any]]) -> None:
        """Adopt a session another process (or an earlier client) logged in."""
        for cookie in cookies:
            self._session.cookies.set(
                cookie["name"], cookie["value"], domain=cookie["domain"], path=cookie["path"],
                secure=cookie["secure"], expires=cookie["expires"],
            )
        self._finish_login()
