"""Astro's own mobile-app login and token renewal (IAuthenticationService), and Steam's time.

The login is the Steam mobile app's, as node-steam-session and steamguard-cli do it:

1. GetPasswordRSAPublicKey: the key to encrypt the password with;
2. BeginAuthSessionViaCredentials with `website_id "Mobile"` and the device details of
   an Android phone (`platform_type` 3): Steam issues a *mobile-app* refresh token,
   the only kind GenerateAccessTokenForApp renews over HTTP (a browser's answers
   AccessDenied since 2025-04, which is why steampy's login is not used);
3. UpdateAuthSessionWithSteamGuardCode with the TOTP of the shared secret, on
   Steam's clock (DuplicateRequest means Steam already has this code: success);
4. PollAuthSessionStatus at the interval Steam named until the tokens are ready
   (Steam may need a few polls; its `access_token` may be absent, then step 5 makes one);
5. GenerateAccessTokenForApp: an access token (and, when asked with renewal 1 and
   Steam agrees, a new refresh token: the old one is then invalid) from a refresh token.

Every request and answer is protobuf (`input_protobuf_encoded`, `X-eresult`); the
messages are in `protos.py`. Failures are `LoginStepFailed` naming the step, the
HTTP status and the EResult; a broken connection is the caller's transient error.
No token, password or code is ever put into a log or an exception message.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
import rsa
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from steampy import guard

from astro.steam import protos
from astro.steam.errors import ERESULT_DUPLICATE_REQUEST, eresult_label
from astro.steam.steampy_fixes import LoginStepFailed

log = logging.getLogger(__name__)

API_URL = "https://api.steampowered.com"
# The Steam mobile app's HTTP client, as node-steam-session sends it for MobileApp logins.
MOBILE_HEADERS = {
    "User-Agent": "okhttp/4.9.2",
    "Accept": "application/json, text/plain, */*",
    "Cookie": "mobileClient=android; mobileClientVersion=777777 3.10.3",
    "Sec-Fetch-Site": "cross-site",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Dest": "empty",
}
DEVICE_FRIENDLY_NAME = "Astro (Android)"

STEP_RSA = "fetching the RSA key (GetPasswordRSAPublicKey)"
STEP_PASSWORD = "the password check (BeginAuthSessionViaCredentials)"
STEP_CODE = "the Steam Guard code (UpdateAuthSessionWithSteamGuardCode)"
STEP_POLL = "polling the auth session (PollAuthSessionStatus)"
STEP_ACCESS = "making an access token (GenerateAccessTokenForApp)"
STEP_TIME = "reading Steam's time (ITwoFactorService/QueryTime)"

# What an EResult means at each step, for the operator (docs/operations.md lists them).
_MEANINGS = {
    (STEP_PASSWORD, 5): "Steam refused the password (check STEAM_USERNAME / STEAM_PASSWORD)",
    (STEP_PASSWORD, 63): "Steam denied the logon (the account is locked or needs another kind of Steam Guard)",
    (STEP_PASSWORD, 85): "Steam wants a Steam Guard code the account does not offer",
    (STEP_CODE, 65): "Steam refused the Steam Guard code (check STEAM_SHARED_SECRET)",
    (STEP_CODE, 88): "Steam refused the Steam Guard code (check STEAM_SHARED_SECRET and the clock)",
    (STEP_CODE, 71): "the Steam Guard code had expired (the clock is off)",
    (STEP_CODE, 27): "the Steam Guard code had expired (the clock is off)",
    (STEP_POLL, 9): "Steam forgot the login attempt (it took too long)",
    (STEP_POLL, 27): "Steam forgot the login attempt (it took too long)",
    (STEP_ACCESS, 15): "Steam refused the refresh token (revoked, expired, or not a mobile-app token)",
    (STEP_ACCESS, 8): "Steam refused the refresh token (malformed, or for another account)",
    (STEP_ACCESS, 26): "Steam refused the refresh token (revoked)",
}
# Answers to a refresh token that mean it is no use any more (not Steam having a bad moment).
REFUSED_TOKEN_ERESULTS = frozenset({8, 15, 26, 27})


@dataclass(frozen=True)
class LoginTokens:
    steam_id: int
    refresh_token: str
    access_token: str


class MobileAuth:
    """IAuthenticationService and QueryTime over one `requests` session (whose
    transport the caller mounted: live Steam or the sandbox)."""

    def __init__(self, session: requests.Session, *, poll_timeout: float,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> None:
        self.session = session
        self.poll_timeout = poll_timeout
        self._sleep = sleep
        self._clock = clock

    # ----------------------------------------------------------------- time
    def query_time_offset(self) -> int:
        """Steam's clock minus ours, in whole seconds (ITwoFactorService/QueryTime)."""
        before = self._clock()
        response = self.session.post(f"{API_URL}/ITwoFactorService/QueryTime/v1/", data=b"",
                                     headers={"Content-Length": "0"})
        try:
            server_time = int(response.json()["response"]["server_time"])
        except (ValueError, KeyError, TypeError):
            raise LoginStepFailed(STEP_TIME, f"HTTP {response.status_code} without server_time",
                                  status=response.status_code) from None
        # The answer was made somewhere between sending and receiving: split the difference.
        return round(server_time - (before + self._clock()) / 2)

    # ----------------------------------------------------------------- login
    def log_in(self, *, username: str, password: str, shared_secret: str, time_offset: int) -> LoginTokens:
        """The whole mobile-app login; the refresh token is a MobileApp one."""
        key = self._call("GET", "GetPasswordRSAPublicKey", protos.GetPasswordRSAPublicKeyRequest(account_name=username),
                         protos.GetPasswordRSAPublicKeyResponse, step=STEP_RSA)
        try:
            public = rsa.PublicKey(int(key.publickey_mod, 16), int(key.publickey_exp, 16))
        except ValueError:
            raise LoginStepFailed(STEP_RSA, "Steam sent no usable RSA key") from None
        encrypted = base64.b64encode(rsa.encrypt(password.encode(), public)).decode()
        begun = self._call("POST", "BeginAuthSessionViaCredentials", protos.BeginAuthSessionRequest(
            account_name=username, encrypted_password=encrypted, encryption_timestamp=key.timestamp,
            remember_login=True, persistence=protos.PERSISTENCE_PERSISTENT, website_id="Mobile",
            device_friendly_name=DEVICE_FRIENDLY_NAME, language=0, qos_level=2,
            device_details=protos.DeviceDetails(
                device_friendly_name=DEVICE_FRIENDLY_NAME, platform_type=protos.PLATFORM_MOBILE_APP,
                os_type=protos.OS_ANDROID_UNKNOWN, gaming_device_type=protos.GAMING_DEVICE_PHONE,
            ),
        ), protos.BeginAuthSessionResponse, step=STEP_PASSWORD)
        if not begun.client_id or not begun.steamid:
            raise LoginStepFailed(STEP_PASSWORD, "Steam started no auth session (no client_id/steamid)")
        kinds = {c.confirmation_type for c in begun.allowed_confirmations}
        if kinds and protos.GUARD_DEVICE_CODE not in kinds and 1 not in kinds:  # 1: no Steam Guard needed
            raise LoginStepFailed(STEP_PASSWORD, f"Steam offers no mobile-authenticator code for this account "
                                                 f"(confirmation types {sorted(kinds)})")
        if protos.GUARD_DEVICE_CODE in kinds:
            code = guard.generate_one_time_code(shared_secret, int(self._clock()) + time_offset)
            self._call("POST", "UpdateAuthSessionWithSteamGuardCode", protos.UpdateGuardCodeRequest(
                client_id=begun.client_id, steamid=begun.steamid, code=code, code_type=protos.GUARD_DEVICE_CODE,
            ), protos.UpdateGuardCodeResponse, step=STEP_CODE, success=frozenset({ERESULT_DUPLICATE_REQUEST}))
        refresh, access = self._poll(begun)
        if not access:
            # Steam left it out (it did for some weeks in 2023): make one from the refresh token.
            access, _ = self.generate_access_token(refresh_token=refresh, steam_id=begun.steamid, renew=False)
        return LoginTokens(steam_id=int(begun.steamid), refresh_token=refresh, access_token=access)

    def _poll(self, begun: Message) -> tuple[str, str]:
        """PollAuthSessionStatus at Steam's interval until the tokens are there."""
        interval = begun.interval if 0 < begun.interval <= 60 else 5.0
        client_id, deadline = begun.client_id, self._clock() + self.poll_timeout
        polls = 0
        while True:
            polls += 1
            answer = self._call("POST", "PollAuthSessionStatus", protos.PollAuthSessionRequest(
                client_id=client_id, request_id=begun.request_id,
            ), protos.PollAuthSessionResponse, step=STEP_POLL)
            if answer.refresh_token:
                return answer.refresh_token, answer.access_token
            if answer.new_client_id:
                client_id = answer.new_client_id
            if self._clock() + interval > deadline:
                raise LoginStepFailed(STEP_POLL, f"Steam had no tokens ready after {polls} polls in "
                                                 f"{self.poll_timeout:.0f} s (STEAM_LOGIN_TIMEOUT_SECONDS)")
            self._sleep(interval)

    # ---------------------------------------------------------------- renewal
    def generate_access_token(self, *, refresh_token: str, steam_id: int, renew: bool) -> tuple[str, str | None]:
        """(access token, new refresh token or None). With `renew` Steam may issue a new
        refresh token (then the old one is invalid: the caller must keep the new one)."""
        answer = self._call("POST", "GenerateAccessTokenForApp", protos.GenerateAccessTokenRequest(
            refresh_token=refresh_token, steamid=int(steam_id),
            renewal_type=protos.RENEWAL_ALLOW if renew else protos.RENEWAL_NONE,
        ), protos.GenerateAccessTokenResponse, step=STEP_ACCESS)
        if not answer.access_token:
            raise LoginStepFailed(STEP_ACCESS, "Steam answered without an access token")
        return answer.access_token, (answer.refresh_token or None)

    # -------------------------------------------------------------- plumbing
    def _call(self, http_method: str, name: str, request: Message, response_class: type, *, step: str,
              success: frozenset[int] = frozenset()) -> Message:
        url = f"{API_URL}/IAuthenticationService/{name}/v1/"
        encoded = base64.b64encode(request.SerializeToString()).decode()
        if http_method == "GET":
            response = self.session.get(url, params={"input_protobuf_encoded": encoded, "origin": "SteamMobile"},
                                        headers=MOBILE_HEADERS)
        else:
            response = self.session.post(url, data={"input_protobuf_encoded": encoded}, headers=MOBILE_HEADERS)
        header = (response.headers.get("X-eresult") or "").strip()
        eresult = int(header) if header.lstrip("-").isdigit() else None
        if response.status_code != 200 or eresult not in (None, 1, *success):
            raise LoginStepFailed(step, _detail(step, response.status_code, eresult),
                                  status=response.status_code, eresult=eresult)
        return _decode(response, response_class, step)


def _detail(step: str, status: int, eresult: int | None) -> str:
    meaning = _MEANINGS.get((step, eresult))
    codes = f"HTTP {status}, {eresult_label(eresult)}"
    return f"{meaning} ({codes})" if meaning else codes


def _decode(response: requests.Response, response_class: type, step: str) -> Message:
    message = response_class()
    if "json" in (response.headers.get("Content-Type") or ""):
        # Steam's answer to a form request; tolerated in case a proxy or an old endpoint sends it.
        try:
            json_format.ParseDict((response.json() or {}).get("response") or {}, message, ignore_unknown_fields=True)
        except (ValueError, AttributeError, json_format.ParseError):
            raise LoginStepFailed(step, "Steam answered JSON that is not the expected message",
                                  status=response.status_code) from None
        return message
    try:
        message.ParseFromString(response.content)
    except DecodeError:
        raise LoginStepFailed(step, "Steam answered something that is not protobuf", status=response.status_code) from None
    return message

