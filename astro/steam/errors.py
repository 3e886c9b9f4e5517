"""Steam errors, classified by what the caller should do about them."""

from __future__ import annotations


class SteamError(Exception):
    """Base class. `code` is a stable machine-readable reason; `eresult` Steam's, if any."""

    code = "steam_error"

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
