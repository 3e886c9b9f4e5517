"""Every workaround for steampy 1.2.0, in one place.

Each quirk has a test in tests/steam/test_steampy_fixes.py. Upgrading steampy
means re-reading this file: `check_steampy_version()` refuses anything else.

| quirk in steampy 1.2.0 | what we do |
|---|---|
| `jwt/finalizelogin` sent without Origin/Referer: live Steam answers 403 (since 2025-02) | `FixedLoginExecutor._finalize_login` sends them |
| a failed login step surfaces as KeyError / JSONDecodeError with no step named | `LoginStepFailed` names the step, HTTP status and X-eresult |
| `_set_access_token` prints the steamLoginSecure cookie to stdout on failure | `access_token_from_cookies` (no print) |
| `SteamClient(login_cookies=...)` requests the page before any adapter is mounted, sets domain-less cookies that `_get_session_id` cannot find, and leaves the access token unset | `AstroSteamClient.login_with_cookies` |
| no login from a refresh token | `AstroSteamClient.login_with_refresh_token` (steampy's own finalize / settoken / cookie steps) |
| `steam_guard` is parsed as "a path or a JSON string" | the dict is set directly |
| `get_my_inventory` sends count=5000 (HTTP 400 since 2025) and never pages | not used; the gateway pages with count <= 1000 |
| `TradeOfferState` stops at 11 (no 12 Reverted) | not used; astro.steam.types.OfferState |
| `make_offer*`, `cancel_trade_offer` return `{"strError": ...}` instead of raising, and `.json()` a `null` 401 body | `ResponseRecorder` keeps the last answer so the gateway can classify it |
| hosts hard-coded (`https://steamcommunity.com/mobileconf`, cancel/decline URLs) | the sandbox is reached by a transport adapter, never by rewriting URLs |
| `ConfirmationExecutor` reads `['conf']` of a `needauth` answer (KeyError) and fetches every confirmation's details page to find one offer | `FixedConfirmationExecutor`: classifies `needauth`, matches `creator_id` first |
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from steampy.client import SteamClient
from steampy.confirmation import Confirmation, ConfirmationExecutor
from steampy.exceptions import ConfirmationExpected
from steampy.login import LoginExecutor
from steampy.models import SteamUrl

from astro.steam.parsing import ConfirmationListError, parse_confirmation_list

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
    "/jwt/finalizelogin": "jwt/finalizelogin",
    "/login/settoken": "setting the session cookies (login/settoken)",
}


def login_step_of(recorded: RecordedResponse | None) -> str:
    if recorded is None:
        return "its first request"
    return _LOGIN_STEPS.get(recorded.path, f"{recorded.host}{recorded.path}")


class FixedLoginExecutor(LoginExecutor):
    """steampy's login, with the headers live Steam requires on finalizelogin."""

    def _finalize_login(self) -> requests.Response:
        sessionid = self.session.cookies.get("sessionid", domain=COMMUNITY_DOMAIN)
        if not sessionid:
            raise LoginStepFailed("jwt/finalizelogin", "no sessionid cookie from steamcommunity.com")
        data = {"nonce": self.refresh_token, "sessionid": sessionid, "redir": f"{SteamUrl.COMMUNITY_URL}/login/home/?goto="}
        # Since 2025-02-12 Steam answers 403 here without these (steampy #431, #435).
        headers = {"Origin": SteamUrl.COMMUNITY_URL, "Referer": f"{SteamUrl.COMMUNITY_URL}/"}
        response = self.session.post(f"{SteamUrl.LOGIN_URL}/jwt/finalizelogin", data=data, headers=headers)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("transfer_info"):
            error = body.get("error") if isinstance(body, dict) else None
            detail = f"HTTP {response.status_code}" + (f", Steam error {error}" if error is not None else "")
            raise LoginStepFailed("jwt/finalizelogin", detail, status=response.status_code, eresult=error)
        return response


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

    def login_with_password(self) -> None:
        """steampy's SteamClient.login, minus its is_session_alive shortcut, with FixedLoginExecutor."""
        self._session.cookies.set("steamRememberLogin", "true")
        FixedLoginExecutor(self.username, self._password, self.steam_guard["shared_secret"], self._session).login()
        self._finish_login()

    def login_with_refresh_token(self, refresh_token: str) -> None:
        """The tail of steampy's login (finalize, settoken redirects, cookie copies) from a token."""
        self._session.cookies.set("steamRememberLogin", "true")
        # Primes sessionid and steamCountry, as steampy's login does first.
        self._session.post(SteamUrl.COMMUNITY_URL)
        executor = FixedLoginExecutor(self.username, "", self.steam_guard["shared_secret"], self._session)
        executor.refresh_token = refresh_token
        executor._perform_redirects(executor._finalize_login().json())
        executor.set_sessionid_cookies()
        self._finish_login()

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


class FixedConfirmationExecutor(ConfirmationExecutor):
    """steampy's mobile confirmations, told apart from a lost session, matched by creator_id."""

    def _get_confirmations(self) -> list[Confirmation]:
        response = self._fetch_confirmations_page()
        if response.status_code != 200:
            raise ConfirmationExpected
        try:
            entries = parse_confirmation_list(response.json())
        except ValueError:
            raise ConfirmationListError("mobileconf/getlist sent no JSON", needauth=False) from None
        confirmations = []
        for entry in entries:
            confirmation = Confirmation(entry.id, entry.nonce)
            confirmation.creator_id = entry.creator_id
            confirmations.append(confirmation)
        return confirmations

    def _select_trade_offer_confirmation(self, confirmations: list[Confirmation], trade_offer_id: str) -> Confirmation:
        # Steam's list carries the offer id (creator_id) for trade confirmations, as
        # node-steamcommunity and ASF use; steampy instead loads every details page.
        for confirmation in confirmations:
            if getattr(confirmation, "creator_id", None) == str(trade_offer_id):
                return confirmation
        unnamed = [c for c in confirmations if getattr(c, "creator_id", None) is None]
        return super()._select_trade_offer_confirmation(unnamed, trade_offer_id)
