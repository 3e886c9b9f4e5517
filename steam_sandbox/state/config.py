"""The sandbox's switches (`GET`/`POST /sandbox/config`): what Steam does, on by
default where real Steam does it, and the glitches and faults Steam shows now and
then, off by default. docs/sandbox.md lists every key.

A process can start with other values (`python -m steam_sandbox --config KEY=VALUE`):
they override the saved config at start and are what a reset returns to, unless the
reset asks for Steam's own defaults.
"""

from __future__ import annotations

import json

from ..errors import bad_request
from ..parsing import parse_bool, parse_int, require_object

DAY = 86400

DEFAULT_CONFIG = {
    # ------------------------------------------------------------ offers
    # Offers expire this long after they are created (Steam: 14 days).
    "offerLifetimeSeconds": 14 * DAY,
    # Offers per GetTradeOffers page (sent + received) before `next_cursor` paging.
    "tradeOffersPageSize": 100,
    # Hold of an `escrow` user that sets no `escrowDays`.
    "escrowDays": 15,
    # Pending (active or unconfirmed) offers the bot may have with one partner and in
    # all; a send past either answers (25) LimitExceeded.
    "maxPendingOffersPerPartner": 5,
    "maxPendingOffers": 30,
    # What a revert (trade protection rollback) does to the offer: state 12 Reverted,
    # or it stays 3; and whether its time_updated moves (both unverified on Steam).
    "revertOfferState": 12,
    "revertTouchesTimeUpdated": True,
    # ------------------------------------------------------------ inventories
    # /inventory answers HTTP 400 `null` to a larger `count` (Steam since 2025-05).
    "inventoryCountLimit": 1000,
    # `count` when the request has none.
    "inventoryDefaultCount": 75,
    # An inventory page sooner than this after the previous one (anyone's) answers
    # 429 `null` (0: never); Steam's clients keep about 4 s between pages.
    "inventoryMinIntervalSeconds": 0,
    # CS2 items the bot receives land in context 16, trade-protected for
    # `tradeProtectionDays`, then move to context 2 (Steam since July 2025) keeping
    # their asset id, or under a new one that the trade history shows as a trade.
    "tradeProtection": True,
    "tradeProtectionDays": 7,
    "protectionEndKeepsAssetId": True,
    # The hold-date texts of descriptions: Steam's 2026 forms ("2026": CS2
    # "Tradable/Marketable After 17 Jul @ 3:00am", TF2 "Tradable After: Tuesday,
    # June 23, 2026 (7:00:00) GMT") or the older "Jul 17, 2026 (3:00:00) GMT" ("legacy").
    "holdDateFormat": "2026",
    # ------------------------------------------------------------ trade protection notice
    # Until POST /trade/new/acknowledge, the bot's confirmations fail
    # ({"success":false}) or, with `tradeAcknowledgementSymptom` "send", its sends
    # are refused with a plain (15).
    "requireTradeAcknowledgement": True,
    "tradeAcknowledgementSymptom": "confirmations",
    # ------------------------------------------------------------ the request filter
    # steamcommunity.com answers 429 to requests that do not look like a browser
    # (or the mobile app on /mobileconf/), since July 2026; `Retry-After` on those
    # 429s when above 0.
    "requestFilter": True,
    "requestFilterRetryAfterSeconds": 0,
    # ------------------------------------------------------------ logging in and tokens
    # PollAuthSessionStatus answers "not ready" this many times before the tokens.
    "pollNotReadyCount": 1,
    # The `interval` (seconds) BeginAuthSessionViaCredentials tells the client to poll
    # at (Steam: 5); tests may shorten it.
    "authPollIntervalSeconds": 5,
    # The ready answer leaves access_token out (as Steam did for a while in 2023).
    "pollOmitsAccessToken": False,
    # finalizelogin answers 403 with an empty body without Origin and Referer.
    "finalizeLoginNeedsOrigin": True,
    # Lifetimes of minted tokens (Steam: about a day and about 200 days).
    "accessTokenLifetimeSeconds": DAY,
    "refreshTokenLifetimeSeconds": 200 * DAY,
    # GenerateAccessTokenForApp renews only mobile-app refresh tokens (Steam since
    # 2025-04-30); with renewal_type 1 it issues a new refresh token "always" or "never".
    "mobileOnlyTokenRenewal": True,
    "renewRefreshToken": "always",
    # Which clock Steam Guard codes, confirmation keys, token lifetimes and QueryTime
    # follow: the sandbox clock (which POST /sandbox/clock moves) or real time.
    "authClock": "sandbox",
    # Added to that clock: how far Steam's time is from the client's.
    "clockSkewSeconds": 0,
    # ------------------------------------------------------------ mobile confirmations
    # multiajaxop answers 403 without an Origin header.
    "multiajaxopNeedsOrigin": True,
    # getlist faster than this per bot answers 429 (0: never).
    "confirmationMinIntervalSeconds": 0,
    # ------------------------------------------------------------ GetTradeOffers glitches (N: every Nth listing of a bot; 0: off)
    "glitchZeroAssetIds": 0,
    "glitchEmptyPage": 0,
    "glitchFalse429": 0,
    # Listed time_updated is this much older than the real change.
    "glitchBackdateTimeUpdatedSeconds": 0,
}

_INT = "int"
_BOOL = "bool"
_TYPES: dict[str, tuple] = {
    "offerLifetimeSeconds": (_INT, 1, 10 * 365 * DAY),
    "tradeOffersPageSize": (_INT, 1, 10_000),
    "escrowDays": (_INT, 0, 365),
    "maxPendingOffersPerPartner": (_INT, 1, 100_000),
    "maxPendingOffers": (_INT, 1, 1_000_000),
    "revertOfferState": ("choice", 3, 12),
    "revertTouchesTimeUpdated": (_BOOL,),
    "inventoryCountLimit": (_INT, 1, 1_000_000),
    "inventoryDefaultCount": (_INT, 1, 1_000_000),
    "inventoryMinIntervalSeconds": (_INT, 0, 3600),
    "tradeProtection": (_BOOL,),
    "tradeProtectionDays": (_INT, 0, 365),
    "protectionEndKeepsAssetId": (_BOOL,),
    "holdDateFormat": ("choice", "2026", "legacy"),
    "requireTradeAcknowledgement": (_BOOL,),
    "tradeAcknowledgementSymptom": ("choice", "confirmations", "send"),
    "requestFilter": (_BOOL,),
    "requestFilterRetryAfterSeconds": (_INT, 0, 86400),
    "pollNotReadyCount": (_INT, 0, 1000),
    "authPollIntervalSeconds": ("number", 0, 60),
    "pollOmitsAccessToken": (_BOOL,),
    "finalizeLoginNeedsOrigin": (_BOOL,),
    "accessTokenLifetimeSeconds": (_INT, 1, 10 * 365 * DAY),
    "refreshTokenLifetimeSeconds": (_INT, 1, 10 * 365 * DAY),
    "mobileOnlyTokenRenewal": (_BOOL,),
    "renewRefreshToken": ("choice", "always", "never"),
    "authClock": ("choice", "sandbox", "real"),
    "clockSkewSeconds": (_INT, -10 * 365 * DAY, 10 * 365 * DAY),
    "multiajaxopNeedsOrigin": (_BOOL,),
    "confirmationMinIntervalSeconds": (_INT, 0, 3600),
    "glitchZeroAssetIds": (_INT, 0, 1_000_000),
    "glitchEmptyPage": (_INT, 0, 1_000_000),
    "glitchFalse429": (_INT, 0, 1_000_000),
    "glitchBackdateTimeUpdatedSeconds": (_INT, 0, 365 * DAY),
}
assert set(_TYPES) == set(DEFAULT_CONFIG)


def parse_config(changes) -> dict:
    """The control API's config changes, checked (all or nothing)."""
    require_object(changes)
    unknown = sorted(set(changes) - set(_TYPES))
    if unknown:
        raise bad_request("unknown config keys", keys=unknown, known=sorted(_TYPES))
    parsed = {}
    for key, value in changes.items():
        kind, *limits = _TYPES[key]
        if kind == _BOOL:
            parsed[key] = parse_bool(value, key)
        elif kind == _INT:
            parsed[key] = parse_int(value, key, minimum=limits[0], maximum=limits[1])
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not limits[0] <= value <= limits[1]:
                raise bad_request(f"{key} must be a number between {limits[0]} and {limits[1]}", field=key)
            parsed[key] = value
        elif value in limits and not isinstance(value, bool):
            parsed[key] = value
        elif not isinstance(value, bool) and str(value) in limits:  # "2026" given as 2026
            parsed[key] = str(value)
        else:
            raise bad_request(f"{key} must be one of {', '.join(json.dumps(c) for c in limits)}", field=key)
    return parsed


def parse_config_arguments(pairs: list[str]) -> dict:
    """`KEY=VALUE` pairs of the command line (VALUE as JSON: true, 0, "send"; a bare
    word is a string), checked like the control API's."""
    changes = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--config wants KEY=VALUE, not {pair!r}")
        try:
            changes[key] = json.loads(raw)
        except ValueError:
            changes[key] = raw
    try:
        return parse_config(changes)
    except Exception as exc:  # a ControlError: say it the command line's way
        details = getattr(exc, "details", {})
        raise ValueError(f"--config: {exc}{f' {details}' if details else ''}") from None
