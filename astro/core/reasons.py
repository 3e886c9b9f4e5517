"""The reason an operator gives for an override: required, trimmed, at most 1000 characters.

It goes into the audit trail, so every operation that asks for one (admin forms,
services, the API) checks it here and nowhere else.
"""

from __future__ import annotations

from astro.core.errors import InvalidInput

MAX_REASON_LENGTH = 1000


def clean_reason(reason: str | None, *, what: str = "this operation", error: type[InvalidInput] = InvalidInput) -> str:
    """The trimmed reason, or `error` (an InvalidInput; details name the `reason` field)."""
    reason = (reason or "").strip()
    if not reason:
        raise error(f"A reason is required for {what}.", details={"reason": ["required"]})
    if len(reason) > MAX_REASON_LENGTH:
        raise error(
            f"The reason is longer than {MAX_REASON_LENGTH} characters.", details={"reason": ["too_long"]}
        )
    return reason
