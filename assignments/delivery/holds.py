"""Before the first send: the partner's trade hold (escrow days).

A user without a mobile authenticator (among other things) gets every trade
held by Steam for up to 15 days, the items out of both inventories meanwhile.
Astro never sends into a hold longer than STEAM_MAX_TRADE_HOLD_DAYS: such an
assignment waits (`pending`, `escrow_hold`, the reason in its message), is looked
at again every STEAM_HOLD_RECHECK_HOURS, and fails with that reason once it has
waited STEAM_HOLD_MAX_WAIT_DAYS. The wait is `next_attempt_at` for the sweeper.

The read happens before the claim, outside any transaction; the decision is
written under the assignment's row lock, only if the assignment is still the
pending one that was read (same attempt count): a racing claim wins.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assignments.delivery.records import (
    backoff,
    delivery_url,
    is_due,
    lock_assignment,
    outside_transaction,
    wait,
)
from assignments.delivery.transitions import fail_delivery
from assignments.models import Assignment, AssignmentStatus, DeliveryAttempt, StatusReason
from astro.steam import get_gateway
from astro.steam.errors import SteamError, SteamPermanentError
from astro.steam.parsing import parse_trade_url

# Codes with which Steam refuses the trade URL itself.
_URL_REFUSED = ("invalid_trade_url", "access_denied")


def hold_check(assignment_id, *, actor: str, source: str) -> str | None:
    """Read the partner's hold before the first send of a due pending assignment.

    Returns None when the send may go on (no hold above the limit, not a first send,
    nothing due), else the reason the assignment now waits (or failed) with."""
    outside_transaction()
    now = timezone.now()
    assignment = Assignment.objects.select_related("user").filter(id=assignment_id).first()
    if assignment is None or assignment.status != AssignmentStatus.PENDING or not is_due(assignment, now):
        return None
    if DeliveryAttempt.objects.filter(assignment=assignment, trade_offer_id__isnull=False).exists():
        return None  # not the first send
    trade_url = delivery_url(assignment)
    try:
        if not trade_url or parse_trade_url(trade_url).steam_id != assignment.user_id:
            return None  # the claim says why it cannot start
    except SteamPermanentError:
        return None
    try:
        days = int(get_gateway().get_trade_hold_days(trade_url=trade_url))
    except SteamPermanentError as exc:
        if exc.code in _URL_REFUSED:
            return _decide(assignment, StatusReason.TRADE_URL_INVALID, until=None,
                           message=f"Steam refused the user's trade URL when Astro read their trade hold ({exc}); "
                                   "delivery starts again when a new one is set.", actor=actor, source=source)
        return _unreadable(assignment, exc, actor=actor, source=source)
    except SteamError as exc:
        return _unreadable(assignment, exc, actor=actor, source=source)
    limit = settings.STEAM_MAX_TRADE_HOLD_DAYS
    if days <= limit:
        return None
    waited_since = assignment.waiting_since if assignment.status_reason == StatusReason.ESCROW_HOLD else now
    give_up_at = (waited_since or now) + timedelta(days=settings.STEAM_HOLD_MAX_WAIT_DAYS)
    why = (f"Steam would hold a trade with this user for {days} day(s) (more than the {limit} Astro allows): "
           "typically the user has no Steam Guard Mobile Authenticator, or enabled it recently.")
    if now >= give_up_at:
        with transaction.atomic():
            locked = _still_pending(assignment)
            if locked is None:
                return None
            fail_delivery(locked, None, StatusReason.ESCROW_HOLD, now=now, actor=actor, source=source,
                          event_type="delivery.failed", data={"holdDays": days, "maxHoldDays": limit},
                          message=f"{why} It did not go away within {settings.STEAM_HOLD_MAX_WAIT_DAYS} day(s), "
                                  "so the delivery gave up; the items are back in the pool.")
        return StatusReason.ESCROW_HOLD
    until = min(now + timedelta(hours=settings.STEAM_HOLD_RECHECK_HOURS), give_up_at)
    return _decide(assignment, StatusReason.ESCROW_HOLD, until=until, actor=actor, source=source,
                   message=f"{why} Nothing is sent into a hold; Astro looks again at {until:%Y-%m-%d %H:%M} UTC "
                           f"and gives up at {give_up_at:%Y-%m-%d %H:%M} UTC.")


def _unreadable(assignment: Assignment, exc: SteamError, *, actor: str, source: str) -> str | None:
    # Without the hold we must not send (it could go into a 15-day hold): look again later.
    until = timezone.now() + timedelta(seconds=backoff(1, at_least=getattr(exc, "retry_after", None)))
    return _decide(assignment, StatusReason.STEAM_UNAVAILABLE, until=until, actor=actor, source=source,
                   message=f"Steam did not say the user's trade hold ({exc}; {exc.code}); nothing was sent. Astro "
                           f"looks again at {until:%Y-%m-%d %H:%M:%S} UTC.")


def _decide(assignment: Assignment, reason: str, *, until, message: str, actor: str, source: str) -> str | None:
    with transaction.atomic():
        locked = _still_pending(assignment)
        if locked is None:
            return None
        wait(locked, reason, now=timezone.now(), until=until, message=message, actor=actor, source=source)
    return reason


def _still_pending(assignment: Assignment) -> Assignment | None:
    locked = lock_assignment(assignment.id)
    if (locked is None or locked.status != AssignmentStatus.PENDING
            or locked.delivery_attempts != assignment.delivery_attempts):
        return None
    return locked
