"""Error classification: what the caller should do about each Steam answer."""

from __future__ import annotations

import pytest

from astro.steam.errors import (
    SteamAmbiguousError,
    SteamPermanentError,
    SteamRateLimited,
    SteamSessionExpired,
    SteamTransientError,
    classify_eresult,
    classify_send_error,
    eresult_from_text,
    is_plain_send_refusal,
    parse_retry_after,
)


@pytest.mark.parametrize(
    ("text", "eresult"),
    [
        ("There was an error sending your trade offer.  Please try again later. (26)", 26),
        ("There was an error sending your trade offer.  Please try again later.<br><br>You cannot trade with engineer trading. (50)", 50),
        ("EYldRefreshAppIfNecessary failed with EResult 55", 55),
        ("no number here", None),
        ("", None),
        (None, None),
    ],
)
def test_eresult_from_text(text, eresult):
    assert eresult_from_text(text) == eresult


@pytest.mark.parametrize(
    ("eresult", "cls", "code"),
    [
        (10, SteamTransientError, "steam_unavailable"),   # Busy
        (16, SteamTransientError, "steam_unavailable"),   # Timeout (on a read)
        (20, SteamTransientError, "steam_unavailable"),   # ServiceUnavailable
        (55, SteamTransientError, "steam_unavailable"),   # RemoteCallFailed
        (84, SteamRateLimited, "steam_rate_limited"),
        (21, SteamSessionExpired, "steam_session_expired"),
        (15, SteamPermanentError, "access_denied"),
        (26, SteamPermanentError, "items_unavailable"),
        (11, SteamPermanentError, "invalid_state"),
        (8, SteamPermanentError, "invalid_request"),
        (42, SteamPermanentError, "not_found"),
        (50, SteamPermanentError, "cannot_trade_with_partner"),
    ],
)
def test_classify_eresult(eresult, cls, code):
    error = classify_eresult(eresult, "msg")
    assert type(error) is cls
    assert error.code == code
    assert error.eresult == eresult


def test_unknown_eresult_is_transient_on_5xx_and_permanent_otherwise():
    assert type(classify_eresult(None, "x", status=502)) is SteamTransientError
    assert type(classify_eresult(999, "x", status=200)) is SteamPermanentError


@pytest.mark.parametrize(
    ("str_error", "cls", "code"),
    [
        ("There was an error sending your trade offer.  Please try again later. (26)", SteamPermanentError, "items_unavailable"),
        ("There was an error sending your trade offer.  Please try again later. (15)", SteamPermanentError, "access_denied"),
        ("There was an error sending your trade offer.  Please try again later. (20)", SteamTransientError, "steam_unavailable"),
        ("There was an error sending your trade offer.  Please try again later. (10)", SteamTransientError, "steam_unavailable"),
        # Timeout and DuplicateRequest: the offer may exist.
        ("There was an error sending your trade offer.  Please try again later. (16)", SteamAmbiguousError, "steam_outcome_unknown"),
        ("There was an error sending your trade offer.  Please try again later. (29)", SteamAmbiguousError, "steam_outcome_unknown"),
        ("You cannot trade with engineer trading because they have a trade ban. (50)", SteamPermanentError, "partner_trade_banned"),
        ("There was an error sending your trade offer.  Please try again later.<br><br>You have logged in from a new device. (24)",
         SteamPermanentError, "bot_trade_hold"),
        ("You have sent too many trade offers, or have too many outstanding trade offers with engineer trading. (25)",
         SteamTransientError, "steam_limit_exceeded"),
        ("This Trade URL is no longer valid for sending a trade offer to engineer trading.", SteamPermanentError, "invalid_trade_url"),
    ],
)
def test_classify_send_error(str_error, cls, code):
    error = classify_send_error(str_error, status=500)
    assert type(error) is cls
    assert error.code == code
    assert "<br>" not in str(error)


def test_retry_after():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert parse_retry_after("-1") is None


@pytest.mark.parametrize(
    ("str_error", "plain"),
    [
        ("There was an error sending your trade offer.  Please try again later. (15)", True),
        ("There was an error sending your trade offer. Please try again later. (15)\n", True),
        ("There was an error sending your trade offer.  Please try again later.<br><br>You cannot trade with "
         "Bob because they have a trade ban. (15)", False),
        ("You have sent too many trade offers, or have too many outstanding trade offers with Bob. (25)", False),
        ("", False),
    ],
)
def test_a_plain_send_refusal_is_steams_bare_sentence(str_error, plain):
    assert is_plain_send_refusal(str_error) is plain
