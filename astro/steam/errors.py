"""Steam errors, classified by what the caller should do about them.

- `SteamTransientError` (and `SteamRateLimited`, `SteamSessionExpired`): try
  again later, with backoff; nothing happened on Steam's side.
- `SteamPermanentError`: retrying the same request will not help (bad trade URL,
  trade ban, item gone, access denied, offer no longer in a state that allows it).
- `SteamAmbiguousError`: the request may have taken effect (a send that timed out
  after Steam created the offer). Look for the effect before trying again.
- `SteamAuthError`: no working session can be made; says which login path failed and why.

The functions below turn Steam's own signals (HTTP status, `X-eresult`, the
`(N)` at the end of an `strError`) into these classes, in one place.
"""

from __future__ import annotations

import re

from astro.core.errors import UpstreamError


class SteamError(UpstreamError):
    """Base class. `code` is a stable machine-readable reason; `eresult` Steam's, if any."""

    code = "steam_error"
    service = "Steam"
    unavailable_code = "steam_unavailable"
    details_key = "steamCode"

    def __init__(self, message: str, *, code: str | None = None, eresult: int | None = None, status: int | None = None):
        super().__init__(message)
        if code:
            self.code = code
        self.eresult = eresult
        self.status = status


class SteamTransientError(SteamError):
    """Try again later: 429, 5xx, timeouts, eresult Busy/Timeout/ServiceUnavailable."""

    code = "steam_unavailable"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class SteamRateLimited(SteamTransientError):
    code = "steam_rate_limited"


class SteamSessionExpired(SteamTransientError):
    """Steam no longer accepts the bot's session. The gateway logs in again by itself;
    this escapes only from calls it must not repeat on its own (a send), after the
    new session is in place: the caller may try again the usual way."""

    code = "steam_session_expired"


class SteamPermanentError(SteamError):
    """Retrying the same request will not help: bad trade URL, trade ban, item gone, access denied."""

    code = "steam_rejected"


class SteamAmbiguousError(SteamError):
    """The outcome is unknown: the request may have taken effect on Steam (e.g. a send
    that timed out after Steam created the offer). Look before trying again."""

    code = "steam_outcome_unknown"


class SteamAuthError(SteamError):
    """Login failed or the session cannot be restored; says which login path and why."""

    code = "steam_auth_failed"

    def __init__(self, message: str, *, login_path: str | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.login_path = login_path


# EResult numbers (node-steam-tradeoffer-manager resources/EResult.js).
ERESULT_FAIL = 2
ERESULT_INVALID_PASSWORD = 5
ERESULT_INVALID_PARAM = 8
ERESULT_BUSY = 10
ERESULT_INVALID_STATE = 11
ERESULT_ACCESS_DENIED = 15
ERESULT_TIMEOUT = 16
ERESULT_SERVICE_UNAVAILABLE = 20
ERESULT_NOT_LOGGED_ON = 21
ERESULT_INSUFFICIENT_PRIVILEGE = 24
ERESULT_LIMIT_EXCEEDED = 25
ERESULT_REVOKED = 26
ERESULT_ALREADY_REDEEMED = 28
ERESULT_DUPLICATE_REQUEST = 29
ERESULT_NO_MATCH = 42
ERESULT_REMOTE_CALL_FAILED = 55
ERESULT_RATE_LIMIT_EXCEEDED = 84
ERESULT_TWO_FACTOR_MISMATCH = 88

# Steam-side hiccups: the same request later is expected to work.
TRANSIENT_ERESULTS = {
    ERESULT_FAIL,
    ERESULT_BUSY,
    ERESULT_TIMEOUT,
    ERESULT_SERVICE_UNAVAILABLE,
    ERESULT_LIMIT_EXCEEDED,
    ERESULT_DUPLICATE_REQUEST,
    ERESULT_REMOTE_CALL_FAILED,
}

_PERMANENT_CODES = {
    ERESULT_INVALID_PARAM: "invalid_request",
    ERESULT_INVALID_STATE: "invalid_state",
    ERESULT_ACCESS_DENIED: "access_denied",
    ERESULT_INSUFFICIENT_PRIVILEGE: "bot_cannot_trade",
    ERESULT_REVOKED: "items_unavailable",
    ERESULT_ALREADY_REDEEMED: "invalid_state",
    ERESULT_NO_MATCH: "not_found",
    50: "cannot_trade_with_partner",
}

# strError texts node-steam-tradeoffer-manager matches, for replies without a usable (N).
_TEXT_RULES: list[tuple[re.Pattern[str], type[SteamError], str]] = [
    (re.compile(r"You cannot trade with .* because they have a trade ban", re.I), SteamPermanentError, "partner_trade_banned"),
    (re.compile(r"You have logged in from a new device", re.I), SteamPermanentError, "bot_trade_hold"),
    (re.compile(r"is not available to trade\. More information will be shown to", re.I), SteamPermanentError, "partner_cannot_trade"),
    (re.compile(r"Trade URL is no longer valid", re.I), SteamPermanentError, "invalid_trade_url"),
    (re.compile(r"sent too many trade offers", re.I), SteamTransientError, "steam_limit_exceeded"),
    (re.compile(r"unable to contact the game's item server", re.I), SteamTransientError, "steam_unavailable"),
]

ERESULT_NAMES = {
    1: "OK", 2: "Fail", 5: "InvalidPassword", 8: "InvalidParam", 10: "Busy", 11: "InvalidState",
    15: "AccessDenied", 16: "Timeout", 20: "ServiceUnavailable", 21: "NotLoggedOn",
    24: "InsufficientPrivilege", 25: "LimitExceeded", 26: "Revoked", 28: "AlreadyRedeemed",
    29: "DuplicateRequest", 42: "NoMatch", 50: "AlreadyLoggedInElsewhere", 55: "RemoteCallFailed",
    63: "AccountLogonDenied", 65: "InvalidLoginAuthCode", 84: "RateLimitExceeded", 88: "TwoFactorCodeMismatch",
}


def eresult_label(eresult: int | None) -> str:
    if eresult is None:
        return "no eresult"
    return f"eresult {eresult} ({ERESULT_NAMES.get(eresult, 'unknown')})"


_TRAILING_ERESULT = re.compile(r"\((\d+)\)\s*$")
_ERESULT_IN_TEXT = re.compile(r"EResult (\d+)\s*$")


def eresult_from_text(text: str | None) -> int | None:
    """The EResult Steam appends to an error text: `... later. (26)` or `... failed with EResult 55`."""
    if not text:
        return None
    text = text.strip()
    match = _TRAILING_ERESULT.search(text) or _ERESULT_IN_TEXT.search(text)
    return int(match.group(1)) if match else None


def clean_error_text(text: str) -> str:
    """Steam's error text without its HTML line breaks, for messages and logs."""
    return re.sub(r"\s*<br\s*/?>\s*", " ", text or "").strip()


def classify_eresult(
    eresult: int | None,
    message: str,
    *,
    status: int | None = None,
    retry_after: float | None = None,
) -> SteamError:
    """The error for a Steam answer carrying `eresult` (and/or a known error text)."""
    for pattern, cls, code in _TEXT_RULES:
        if pattern.search(message or ""):
            if issubclass(cls, SteamTransientError):
                return cls(message, code=code, eresult=eresult, status=status, retry_after=retry_after)
            return cls(message, code=code, eresult=eresult, status=status)
    if eresult == ERESULT_RATE_LIMIT_EXCEEDED:
        return SteamRateLimited(message, eresult=eresult, status=status, retry_after=retry_after)
    if eresult == ERESULT_NOT_LOGGED_ON:
        return SteamSessionExpired(message, eresult=eresult, status=status)
    if eresult in TRANSIENT_ERESULTS:
        return SteamTransientError(message, eresult=eresult, status=status, retry_after=retry_after)
    if eresult in _PERMANENT_CODES:
        return SteamPermanentError(message, code=_PERMANENT_CODES[eresult], eresult=eresult, status=status)
    if status is not None and status >= 500:
        # An unknown eresult on a server error: Steam's side, worth another try.
        return SteamTransientError(message, eresult=eresult, status=status, retry_after=retry_after)
    return SteamPermanentError(message, eresult=eresult, status=status)


def classify_send_error(str_error: str, *, status: int | None = None) -> SteamError:
    """The error for an `strError` answer to /tradeoffer/new/send.

    steampy returns this dict instead of raising. Every such answer means Steam did
    not create the offer, except Timeout (16) and DuplicateRequest (29): then the
    offer may exist, so the caller must look for it before sending again.
    """
    eresult = eresult_from_text(str_error)
    message = f"Steam refused the trade offer: {clean_error_text(str_error)}"
    if eresult in (ERESULT_TIMEOUT, ERESULT_DUPLICATE_REQUEST):
        return SteamAmbiguousError(message, eresult=eresult, status=status)
    return classify_eresult(eresult, message, status=status)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form; Steam sends no dates)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


# ------------------------------------------------------------- Steam quirks
# What a refused send means for the caller, recognised here so that delivery
# reads one function instead of Steam's codes and texts.

# Refusals that are the bot's problem, not the user's: wait, never fail the user.
BOT_SIDE_CODES = frozenset({"bot_cannot_trade", "bot_trade_hold"})


def is_bot_side(exc: SteamError) -> bool:
    return exc.code in BOT_SIDE_CODES


_GENERIC_SEND_ERROR = re.compile(
    r"^\s*There was an error sending your trade offer\.\s+Please try again later\.\s*\(\d+\)\s*$", re.I
)


def is_plain_send_refusal(str_error: str) -> bool:
    """Steam's bare "There was an error sending your trade offer. Please try again
    later. (N)" with no reason after it: how a send of an account that has not
    acknowledged CS2 trade protection is refused (as a plain 15), and also a bad
    trade URL token. A refusal that gives a reason is never plain."""
    return bool(_GENERIC_SEND_ERROR.match(str_error or ""))
