"""Applying an offer's state: delivered, failed, retried, invalid items, reverted, cancelled.

Every transition changes the rows and writes its audit event in one
transaction, under the assignment's row lock, after re-checking that the
assignment still follows the offer. The Steam calls a state needs (confirming a
state-9 offer, cancelling one of ours) happen outside any transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assignments.delivery.records import (
    CANCEL_ASSIGNMENT,
    CANCEL_DUPLICATE,
    CANCEL_LIFETIME,
    CANCEL_RESEND,
    LIVE_STATES,
    SYSTEM,
    WORKER,
    assignment_item_ids,
    attempt_for_offer,
    backoff,
    finish_attempt,
    lock_assignment,
    outside_transaction,
    queue_delivery,
    queue_sync,
    record_assignment_event,
    record_item_events,
    release_items,
    set_assignment_items,
    update_assignment,
)
from assignments.models import (
    Assignment,
    AssignmentStatus,
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryStatus,
    StatusReason,
)
from astro.steam import get_gateway
from astro.steam.errors import SteamError, SteamPermanentError, SteamTransientError
from astro.steam.types import OfferState, TradeOffer
from items.models import CLAIMED, Item, ItemStatus

logger = logging.getLogger(__name__)

# Offer states that end an attempt undelivered but allow another one.
_RETRY_STATES = {
    OfferState.EXPIRED: (AttemptOutcome.EXPIRED, StatusReason.OFFER_EXPIRED, "expired"),
    OfferState.CANCELED: (AttemptOutcome.CANCELLED, StatusReason.OFFER_CANCELLED, "was cancelled outside Astro"),
    OfferState.COUNTERED: (AttemptOutcome.COUNTERED, StatusReason.OFFER_COUNTERED, "was countered by the user"),
    OfferState.CANCELED_BY_SECOND_FACTOR: (
        AttemptOutcome.CANCELLED_BY_SECOND_FACTOR,
        StatusReason.OFFER_CANCELLED_BY_SECOND_FACTOR,
        "was cancelled by a second factor (mobile confirmation refused)",
    ),
    OfferState.INVALID: (AttemptOutcome.INVALID, StatusReason.OFFER_INVALID, "became invalid"),
}
_RETRY_OUTCOMES = [outcome for outcome, _, _ in _RETRY_STATES.values()] + [AttemptOutcome.TIMED_OUT]


def max_attempts_for(assignment_type: str) -> int:
    return settings.DELIVERY_MAX_ATTEMPTS_BY_TYPE.get(assignment_type, settings.DELIVERY_MAX_ATTEMPTS)


def _offer_age_exceeded(offer: TradeOffer, attempt: DeliveryAttempt | None, now: datetime) -> bool:
    started = offer.created_at or (attempt.started_at if attempt else None)
    return started is not None and now - started > timedelta(seconds=settings.DELIVERY_OFFER_LIFETIME_SECONDS)


def apply_offer_state(*, assignment_id, offer: TradeOffer, actor: str = SYSTEM, source: str = WORKER) -> str:
    """Move the assignment to what Steam's state of the offer means. Returns what happened.

    2 active: nothing, or past DELIVERY_OFFER_LIFETIME_SECONDS cancelled by us and
    retried; 9 needs confirmation: confirmed again; 3 accepted: delivered; 11
    escrow: processing/escrow; 7 declined: failed; 8 invalid items: failed (see
    `_invalid_items`); 12 reverted: failed, also after delivery; 4 countered, 5
    expired, 6 cancelled (not by us), 10 cancelled by second factor, 1 invalid:
    retried with backoff; 6 after our own cancel: cancelled, resent or retried,
    as the cancel asked.

    Steam calls this needs (confirming a state-9 offer, cancelling one past its
    lifetime) happen first, outside any transaction; the transition itself
    re-checks, under the assignment's row lock, that the assignment still follows
    this offer, so a poll, a check-now and a cancel can race without harm.
    """
    outside_transaction()
    now = timezone.now()
    state = offer.state
    if state in LIVE_STATES:
        assignment = Assignment.objects.filter(
            id=assignment_id, status=AssignmentStatus.PROCESSING, delivery_trade_offer_id=offer.offer_id
        ).first()
        if assignment is None:
            return "not_following"
        attempt = attempt_for_offer(assignment, offer.offer_id)
        if _offer_age_exceeded(offer, attempt, now):
            return cancel_and_settle(assignment, offer.offer_id, CANCEL_LIFETIME, actor=actor, source=source)
        if state == OfferState.NEEDS_CONFIRMATION:
            if assignment.status_reason != StatusReason.AWAITING_CONFIRMATION:
                with transaction.atomic():
                    locked = lock_assignment(assignment.id)
                    if (locked.delivery_trade_offer_id == offer.offer_id
                            and locked.status == AssignmentStatus.PROCESSING):
                        update_assignment(locked, now, status_reason=StatusReason.AWAITING_CONFIRMATION)
            confirm_offer(assignment.id, offer.offer_id, actor=actor, source=source)
            return "confirming"
        if assignment.status_reason != StatusReason.AWAITING_ACCEPTANCE:
            with transaction.atomic():
                locked = lock_assignment(assignment.id)
                if (locked.delivery_trade_offer_id == offer.offer_id
                        and locked.status == AssignmentStatus.PROCESSING):
                    update_assignment(locked, now, status_reason=StatusReason.AWAITING_ACCEPTANCE)
        return "active"

    with transaction.atomic():
        assignment = lock_assignment(assignment_id)
        if assignment is None or assignment.delivery_trade_offer_id != offer.offer_id:
            return "not_following"
        attempt = attempt_for_offer(assignment, offer.offer_id)
        if assignment.status == AssignmentStatus.DELIVERED:
            if state == OfferState.REVERTED:
                _revert(assignment, attempt, offer, now=now, actor=actor, source=source)
                return "reverted"
            return "unchanged"
        if assignment.status != AssignmentStatus.PROCESSING:
            return "not_following"
        if state == OfferState.ACCEPTED:
            _deliver(assignment, attempt, offer, now=now, actor=actor, source=source)
            return "delivered"
        if state == OfferState.IN_ESCROW:
            if assignment.status_reason != StatusReason.ESCROW:
                until = offer.escrow_end_at
                update_assignment(assignment, now, status_reason=StatusReason.ESCROW, delivery_error_message=None)
                if attempt is not None:
                    DeliveryAttempt.objects.filter(pk=attempt.pk).update(outcome=AttemptOutcome.ESCROW)
                record_assignment_event(
                    assignment, "delivery.escrow",
                    f"The user accepted offer {offer.offer_id} into escrow; Steam holds the items"
                    + (f" until {until:%Y-%m-%d %H:%M} UTC." if until else "."),
                    actor=actor, source=source, data={"offerId": offer.offer_id, "escrowEndAt": until},
                )
            return "escrow"
        if state == OfferState.DECLINED:
            fail_delivery(assignment, attempt, StatusReason.DECLINED, now=now, actor=actor, source=source,
                          event_type="delivery.declined", outcome=AttemptOutcome.DECLINED,
                          data={"offerId": offer.offer_id},
                          message=f"The user declined trade offer {offer.offer_id}. The items are back in the pool; "
                                  "create a new assignment to offer them again.")
            return "declined"
        if state == OfferState.INVALID_ITEMS:
            _invalid_items(assignment, attempt, offer, now=now, actor=actor, source=source)
            return "invalid_items"
        if state == OfferState.REVERTED:
            _revert(assignment, attempt, offer, now=now, actor=actor, source=source)
            return "reverted"
        if state == OfferState.CANCELED and attempt is not None and attempt.cancel_requested:
            if attempt.cancel_requested == CANCEL_ASSIGNMENT:
                settle_cancelled(assignment, attempt, now=now, actor=actor, source=source,
                                 reason="the assignment was cancelled")
                return "cancelled"
            if attempt.cancel_requested == CANCEL_RESEND:
                _retry(assignment, attempt, AttemptOutcome.CANCELLED_BY_ASTRO, StatusReason.RESEND_REQUESTED,
                       f"Offer {offer.offer_id} was cancelled to send a new one", now=now, actor=actor, source=source,
                       counted=False, immediately=True)
                return "resending"
            _retry(assignment, attempt, AttemptOutcome.TIMED_OUT, StatusReason.OFFER_TIMED_OUT,
                   f"Offer {offer.offer_id} was not accepted within {settings.DELIVERY_OFFER_LIFETIME_SECONDS} s "
                   "and was cancelled", now=now, actor=actor, source=source)
            return "retry"
        if state in _RETRY_STATES:
            outcome, reason, said = _RETRY_STATES[state]
            _retry(assignment, attempt, outcome, reason, f"Offer {offer.offer_id} {said}", now=now, actor=actor,
                   source=source)
            return "retry"
    logger.error("offer %s of %s is in unknown state %s", offer.offer_id, assignment_id, state)
    return "unknown_state"


def _deliver(assignment, attempt, offer: TradeOffer, *, now, actor, source) -> None:
    item_ids = assignment_item_ids(assignment)
    # `missing` too: a sync may have seen the items leave before we saw the accept.
    changed = list(
        Item.objects.filter(id__in=item_ids).exclude(status=ItemStatus.DELIVERED).values_list("id", flat=True)
    )
    Item.objects.filter(id__in=changed).update(
        status=ItemStatus.DELIVERED, delivered_at=now, delivery_trade_offer_id=offer.offer_id, updated_at=now
    )
    set_assignment_items(assignment, DeliveryStatus.DELIVERED, delivered_at=now)
    update_assignment(assignment, now, status=AssignmentStatus.DELIVERED, status_reason=None, delivered_at=now,
                      next_attempt_at=None, delivery_error_message=None)
    if attempt is not None:
        finish_attempt(attempt, AttemptOutcome.ACCEPTED, now=now)
    record_assignment_event(assignment, "delivery.accepted",
                            f"The user accepted trade offer {offer.offer_id}; delivered.", actor=actor, source=source,
                            data={"offerId": offer.offer_id, "tradeId": offer.trade_id,
                                  "itemIds": [str(i) for i in item_ids]})
    record_item_events(assignment, changed, "item.delivered", f"Delivered in trade offer {offer.offer_id}.",
                       actor=actor, source=source, data={"offerId": offer.offer_id, "tradeId": offer.trade_id})
    queue_sync()


def fail_delivery(assignment, attempt, reason: str, *, now, actor, source, message: str, event_type: str,
                  outcome: str | None = None, data=None, release_only=None) -> None:
    """The assignment ends `failed`; its items go back to the pool (except those
    `release_only` leaves out, which the caller has settled itself)."""
    release_items(assignment, now=now, actor=actor, source=source, why=f"delivery failed ({reason})",
                  only=release_only)
    set_assignment_items(assignment, DeliveryStatus.FAILED)
    update_assignment(assignment, now, status=AssignmentStatus.FAILED, status_reason=reason, failed_at=now,
                      next_attempt_at=None, delivery_error_message=message)
    if attempt is not None and outcome is not None:
        finish_attempt(attempt, outcome, now=now, code=reason)
    record_assignment_event(assignment, event_type, message, actor=actor, source=source,
                            data={"reason": reason, **(data or {})})


def _retry(assignment, attempt, outcome: str, reason: str, said: str, *, now, actor, source, counted: bool = True,
           immediately: bool = False) -> None:
    """The offer ended undelivered: schedule another attempt, or give up after the
    type's maximum number of attempts. Items go back from `in_offer` to `reserved`."""
    offer_id = assignment.delivery_trade_offer_id
    if attempt is not None:
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            outcome=outcome, finished_at=now, error_code=reason, error_message=said, counted=counted
        )
    used = DeliveryAttempt.objects.filter(assignment=assignment, counted=True, outcome__in=_RETRY_OUTCOMES).count()
    limit = max_attempts_for(assignment.assignment_type)
    if counted and used >= limit:
        fail_delivery(assignment, None, StatusReason.ATTEMPTS_EXHAUSTED, now=now, actor=actor, source=source,
                      event_type="delivery.failed",
                      data={"offerId": offer_id, "attempts": used, "maxAttempts": limit, "lastOutcome": outcome},
                      message=f"{said}; that was attempt {used} of {limit}, so delivery gave up. The items are back "
                              "in the pool; an operator can retry.")
        return
    delay = 0.0 if immediately else backoff(used)
    until = now + timedelta(seconds=delay)
    item_ids = assignment_item_ids(assignment)
    Item.objects.filter(id__in=item_ids, status=ItemStatus.IN_OFFER).update(
        status=ItemStatus.RESERVED, delivery_trade_offer_id=None, updated_at=now
    )
    set_assignment_items(assignment, DeliveryStatus.PENDING)
    message = f"{said}; attempt {used + 1} of {limit} at {until:%Y-%m-%d %H:%M:%S} UTC."
    update_assignment(assignment, now, status=AssignmentStatus.PENDING, status_reason=reason,
                      delivery_trade_offer_id=None, next_attempt_at=until, delivery_error_message=message)
    record_assignment_event(assignment, "delivery.retry_scheduled", message, actor=actor, source=source,
                            data={"offerId": offer_id, "reason": reason, "retryAt": until, "attempts": used,
                                  "maxAttempts": limit})
    queue_delivery(assignment.id, countdown=delay)


def _invalid_items(assignment, attempt, offer: TradeOffer, *, now, actor, source) -> None:
    """Steam says items of the offer are gone (state 8).

    Decision: the whole assignment fails (assignments are all-or-nothing, like
    their creation; a half-delivered prize is worse than a clear failure). The
    items Steam flags `missing` (all of them when it flags none) become `missing`
    and a sync runs at once: it restores the ones that are still there. The
    other items go straight back to the pool.
    """
    items = list(Item.objects.filter(assignment_items__assignment=assignment))
    flagged_assets = {(a.app_id, a.asset_id) for a in offer.items_to_give if a.missing}
    flagged = [i.id for i in items if (i.steam_app_id, i.steam_asset_id) in flagged_assets] or [i.id for i in items]
    Item.objects.filter(id__in=flagged, status__in=CLAIMED).update(
        status=ItemStatus.MISSING, assigned_to_user=None, assigned_at=None, delivery_trade_offer_id=None, updated_at=now
    )
    record_item_events(assignment, flagged, "item.missing",
                       f"Steam reported the item as unavailable in offer {offer.offer_id}; the sync checks it.",
                       actor=actor, source=source,
                       data={"offerId": offer.offer_id, "reason": StatusReason.INVALID_ITEMS})
    others = [i.id for i in items if i.id not in set(flagged)]
    fail_delivery(assignment, attempt, StatusReason.INVALID_ITEMS, now=now, actor=actor, source=source,
                  event_type="delivery.invalid_items", outcome=AttemptOutcome.INVALID_ITEMS, release_only=others,
                  data={"offerId": offer.offer_id, "missingItemIds": [str(i) for i in flagged]},
                  message=f"Steam reported {len(flagged)} of {len(items)} item(s) of offer {offer.offer_id} as no "
                          "longer available; the assignment failed. The other items are back in the pool; a sync "
                          "checks the reported ones.")
    queue_sync()


def _revert(assignment, attempt, offer: TradeOffer, *, now, actor, source) -> None:
    """A trade Steam reversed (CS2 trade protection, state 12): the delivery is undone.

    The items come back to the bot with new asset ids; until the sync sees them
    they are `removed` (left for a known reason), never `available` under ids
    Steam no longer knows.
    """
    # Only rows still describing this trade: if a sync already took the items back
    # (and someone assigned them again), they are not ours to touch any more.
    item_ids = list(
        Item.objects.filter(
            id__in=assignment_item_ids(assignment), delivery_trade_offer_id=offer.offer_id,
            status__in=[ItemStatus.DELIVERED, ItemStatus.IN_OFFER],
        ).values_list("id", flat=True)
    )
    Item.objects.filter(id__in=item_ids).update(
        status=ItemStatus.REMOVED, assigned_to_user=None, assigned_at=None, updated_at=now
    )
    record_item_events(assignment, item_ids, "item.removed",
                       f"Trade of offer {offer.offer_id} was reverted; the sync takes the items back in.",
                       actor=actor, source=source, data={"offerId": offer.offer_id, "reason": StatusReason.REVERTED})
    set_assignment_items(assignment, DeliveryStatus.RETURNED)
    message = (f"Steam reverted the trade of offer {offer.offer_id} (trade protection); the user no longer has "
               "the items. They return to the pool when the sync sees them.")
    update_assignment(assignment, now, status=AssignmentStatus.FAILED, status_reason=StatusReason.REVERTED,
                      failed_at=now, next_attempt_at=None, delivery_error_message=message)
    if attempt is not None:
        finish_attempt(attempt, AttemptOutcome.REVERTED, now=now, code=StatusReason.REVERTED)
    record_assignment_event(assignment, "delivery.reverted", message, actor=actor, source=source,
                            data={"offerId": offer.offer_id, "tradeId": offer.trade_id})
    queue_sync()


def settle_cancelled(assignment: Assignment, attempt: DeliveryAttempt | None, *, now: datetime, actor: str,
                     source: str, reason: str | None, previous_status: str | None = None) -> list:
    """The one way an assignment ends `cancelled`, whoever cancels it (API, admin, the poller
    seeing our own cancel land). Returns the ids of the items released.

    The caller holds the assignment (row lock, or the conditional UPDATE that moved
    it out of `pending`) and has made sure no live offer of it is left on Steam.
    Writes, in the caller's transaction: the attempt finished as cancelled by
    Astro, `delivery.offer_cancelled` if it had an offer, its items back in the
    pool (`item.released`), the assignment cancelled, and `assignment.cancelled`
    with data {reason, offerId (or null), releasedItemIds, previousStatus}.
    """
    reason = reason or f"cancelled by {actor}"
    previous_status = previous_status or assignment.status
    offer_id = assignment.delivery_trade_offer_id
    if attempt is not None:
        finish_attempt(attempt, AttemptOutcome.CANCELLED_BY_ASTRO, now=now, code="cancelled")
    if offer_id:
        record_assignment_event(assignment, "delivery.offer_cancelled", f"Cancelled trade offer {offer_id}: {reason}.",
                                actor=actor, source=source, data={"offerId": offer_id, "reason": CANCEL_ASSIGNMENT})
    released = release_items(assignment, now=now, actor=actor, source=source, why="assignment cancelled",
                             code="assignment_cancelled")
    set_assignment_items(assignment, DeliveryStatus.CANCELLED)
    update_assignment(assignment, now, status=AssignmentStatus.CANCELLED, status_reason=None, cancelled_at=now,
                      next_attempt_at=None)
    record_assignment_event(assignment, "assignment.cancelled",
                            f"Assignment cancelled: {reason}; {len(released)} item(s) back in the pool.",
                            actor=actor, source=source,
                            data={"reason": reason, "offerId": offer_id, "releasedItemIds": released,
                                  "previousStatus": previous_status})
    return released


def cancel_and_settle(assignment: Assignment, offer_id: str, why: str, *, actor: str, source: str) -> str:
    """Ask Steam to cancel our offer, then apply whatever state Steam reports after
    it (the user may have accepted in the meantime: then it is delivered)."""
    DeliveryAttempt.objects.filter(assignment=assignment, trade_offer_id=offer_id).update(cancel_requested=why)
    gateway = get_gateway()
    try:
        gateway.cancel_offer(offer_id)
    except SteamPermanentError as exc:
        # Typically: no longer active (accepted, declined...). The state below says what it became.
        logger.info("cancel of offer %s refused: %s", offer_id, exc)
    offer = gateway.get_offer(offer_id)
    if offer is None:
        raise SteamTransientError(f"offer {offer_id} was not found on Steam after cancelling it")
    if offer.state in LIVE_STATES:
        raise SteamTransientError(f"offer {offer_id} is still active after cancelling it")
    return apply_offer_state(assignment_id=assignment.id, offer=offer, actor=actor, source=source)


def confirm_offer(assignment_id, offer_id: str, *, actor: str, source: str) -> bool:
    """Mobile-confirm our offer (state 9 -> 2). A failure is left to the poller, which
    confirms state-9 offers again, and cancels them after the offer lifetime."""
    try:
        get_gateway().confirm_offer(offer_id)
    except SteamError as exc:
        logger.warning("confirming offer %s of %s failed: %s", offer_id, assignment_id, exc)
        now = timezone.now()
        with transaction.atomic():
            assignment = lock_assignment(assignment_id)
            if (assignment and assignment.delivery_trade_offer_id == offer_id
                    and assignment.delivery_error_message != str(exc)):
                update_assignment(assignment, now, delivery_error_message=f"Confirming offer {offer_id} failed: {exc}")
                record_assignment_event(assignment, "delivery.transient_error",
                                        f"Confirming offer {offer_id} failed ({exc.code}); the poller tries again.",
                                        actor=actor, source=source, data={"offerId": offer_id, "error": exc.code})
        return False
    now = timezone.now()
    with transaction.atomic():
        assignment = lock_assignment(assignment_id)
        if (assignment and assignment.status == AssignmentStatus.PROCESSING
                and assignment.delivery_trade_offer_id == offer_id
                and assignment.status_reason == StatusReason.AWAITING_CONFIRMATION):
            update_assignment(assignment, now, status_reason=StatusReason.AWAITING_ACCEPTANCE,
                              delivery_error_message=None)
            record_assignment_event(assignment, "delivery.offer_confirmed",
                                    f"Trade offer {offer_id} confirmed; waiting for the user.",
                                    actor=actor, source=source, data={"offerId": offer_id})
    return True


def cancel_stray_offer(assignment_id, offer_id: str, *, actor: str, source: str, why: str) -> None:
    """Take an offer of ours that nothing follows off Steam (never leave a live offer untracked)."""
    try:
        get_gateway().cancel_offer(offer_id)
    except SteamError as exc:
        # The poller's stray-offer check finds it again and retries.
        logger.warning("cancelling stray offer %s of %s failed: %s", offer_id, assignment_id, exc)
        return
    now = timezone.now()
    with transaction.atomic():
        assignment = Assignment.objects.filter(id=assignment_id).first()
        DeliveryAttempt.objects.filter(assignment_id=assignment_id, trade_offer_id=offer_id).update(
            cancel_requested=CANCEL_DUPLICATE, outcome=AttemptOutcome.CANCELLED_BY_ASTRO, finished_at=now
        )
        if assignment is not None:
            record_assignment_event(assignment, "delivery.offer_cancelled", f"Cancelled stray offer {offer_id}: {why}.",
                                    actor=actor, source=source, data={"offerId": offer_id, "reason": CANCEL_DUPLICATE})
