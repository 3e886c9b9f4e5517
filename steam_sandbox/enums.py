"""Steam's numbers, named: trade offer states, trade statuses and the EResults the
sandbox answers with.

They are IntEnums so everything the sandbox writes keeps Steam's plain integers:
json.dumps writes a member as its value (`2`, not `"Active"`), and so do str() and
f-strings on Python 3.11+. States read back from the state files are plain ints and
compare equal to the members.
"""

from __future__ import annotations

from enum import IntEnum


class ETradeOfferState(IntEnum):
    Invalid = 1
    Active = 2
    Accepted = 3
    Countered = 4
    Expired = 5
    Canceled = 6
    Declined = 7
    InvalidItems = 8
    CreatedNeedsConfirmation = 9
    CanceledBySecondFactor = 10
    InEscrow = 11
    Reverted = 12


# What "active" means for GetTradeOffers' active_only (a sandbox choice, see docs/sandbox.md).
LIVE_OFFER_STATES = frozenset({
    ETradeOfferState.Active, ETradeOfferState.CreatedNeedsConfirmation, ETradeOfferState.InEscrow,
})
# Offers still waiting for someone: the partner, or the bot's mobile confirmation.
PENDING_OFFER_STATES = frozenset({ETradeOfferState.Active, ETradeOfferState.CreatedNeedsConfirmation})


class ETradeStatus(IntEnum):
    """`status` of a trade in GetTradeStatus / GetTradeHistory."""

    Init = 0
    PreCommitted = 1
    Committed = 2
    Complete = 3
    Failed = 4
    PartialSupportRollback = 5
    FullSupportRollback = 6
    SupportRollbackSelective = 7
    RollbackFailed = 8
    RollbackAbandoned = 9
    InEscrow = 10
    EscrowRollback = 11
    TradeProtectionRollback = 12


# Left out of GetTradeHistory unless include_failed.
FAILED_TRADE_STATUSES = frozenset({
    ETradeStatus.Failed, ETradeStatus.PartialSupportRollback, ETradeStatus.FullSupportRollback,
    ETradeStatus.SupportRollbackSelective, ETradeStatus.RollbackFailed, ETradeStatus.RollbackAbandoned,
    ETradeStatus.EscrowRollback, ETradeStatus.TradeProtectionRollback,
})


class EResult(IntEnum):
    """The EResults the sandbox gives (Steam has about 130)."""

    OK = 1
    InvalidPassword = 5
    InvalidParam = 8
    FileNotFound = 9
    InvalidState = 11
    AccessDenied = 15
    Timeout = 16
    LimitExceeded = 25
    Revoked = 26
    AlreadyRedeemed = 28
    NoMatch = 42
    RemoteCallFailed = 55
    RateLimitExceeded = 84
    TwoFactorCodeMismatch = 88


class EAuthTokenPlatformType(IntEnum):
    Unknown = 0
    SteamClient = 1
    WebBrowser = 2
    MobileApp = 3


# `confirmation_method` of an offer that waits for (or went through) the mobile app.
CONFIRMATION_BY_MOBILE_APP = 2
