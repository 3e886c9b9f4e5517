"""Applying an offer's state: delivered, failed, retried, invalid items, reverted, cancelled.

Every transition changes the rows and writes its audit event in one
transaction, under the assignment's row lock, after re-checking that the
assignment still follows the offer. The Steam calls a state needs (confirming a
state-9 offer, cancelling one of ours) happen outside any transaction.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from assignments.delivery.listing import is_unknown
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
from assignments.delivery.trades import Moves, TradeCheck, TradeOutcome, read_trade, relink_items
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
from items.models import CLAIMED, Item, ItemStatus, ReceivedVia

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
# Attempts that count toward DELIVERY_MAX_ATTEMPTS: offers that ended undelivered, sends
# Steam refused for its pending-offer limit, trades that failed after the accept.
_RETRY_OUTCOMES = [outcome for outcome, _, _ in _RETRY_STATES.values()] + [
    AttemptOutcome.TIMED_OUT, AttemptOutcome.LIMIT_EXCEEDED, AttemptOutcome.TRADE_FAILED,
]


# Outcomes of attempts that never followed the offer they record (they lost their claim).
_NEVER_FOLLOWED = (AttemptOutcome.SENDING, AttemptOutcome.SUPERSEDED, AttemptOutcome.OUTCOME_UNKNOWN,
                   AttemptOutcome.STEAM_UNAVAILABLE)


def max_attempts_for(assignment_type: str) -> int:
    return settings.DELIVERY_MAX_ATTEMPTS_BY_TYPE.get(assignment_type, settings.DELIVERY_MAX_ATTEMPTS)


def offer_age_exceeded(offer: TradeOffer, attempt: DeliveryAttempt | None, now: datetime) -> bool:
    started = offer.created_at or (attempt.started_at if attempt else None)
    return started is not None and now - started > timedelta(seconds=settings.DELIVERY_OFFER_LIFETIME_SECONDS)


def apply_offer_state(*, assignment_id, offer: TradeOffer, actor: str = SYSTEM, source: str = WORKER) -> str:
    """Move the assignment to what Steam's state of the offer means. Returns what happened.

    2 active: nothing, or past DELIVERY_OFFER_LIFETIME_SECONDS cancelled by us and
    retried; 9 needs confirmation: confirmed again; 3 accepted: what its trade
    came to (GetTradeStatus): complete → delivered, in escrow → processing/escrow,
    in progress → looked at again later, failed before completing → retried
    (items relinked to their new asset ids), rolled back → as 12; 11 escrow:
    processing/escrow; 7 declined: failed; 8 invalid items: failed (see
    `_invalid_items`); 12 reverted: failed, also after delivery (`revert`); 4
    countered, 5 expired, 6 cancelled (not by us), 10 cancelled by second factor,
    1 invalid: retried with backoff; 6 after our own cancel: cancelled, resent or
    retried, as the cancel asked. A state Astro does not know is logged and skipped.

    Steam calls this needs (confirming a state-9 offer, cancelling one past its
    lifetime, reading the trade of an accepted one) happen first, outside any
    transaction; the transition itself re-checks, under the assignment's row
    lock, that the assignment still follows this offer, so a poll, a check-now
    and a cancel can race without harm. A SteamError of those calls propagates.
    """
    outside_transaction()
    now = timezone.now()
    state = offer.state
    if is_unknown(state):
        logger.warning("offer %s of %s is in a state Astro does not know (%s); skipped", offer.offer_id,
                       assignment_id, getattr(offer, "raw_state", state))
        return "unknown_state"
    check = None
    if state in (OfferState.ACCEPTED, OfferState.REVERTED):
        follows = Assignment.objects.filter(id=assignment_id, delivery_trade_offer_id=offer.offer_id).values_list(
            "status", flat=True).first()
        if follows is None or (follows == AssignmentStatus.DELIVERED and state == OfferState.ACCEPTED):
            return "not_following" if follows is None else "unchanged"
        if follows not in (AssignmentStatus.PROCESSING, AssignmentStatus.DELIVERED):
            return "not_following"
        check = read_trade(get_gateway(), offer.trade_id)
        if state == OfferState.REVERTED and check.outcome != TradeOutcome.REVERTED:
            # The offer says reverted before its trade does (or its trade is gone): the
            # revert stands, the items are left to the sync to find.
            check = TradeCheck(TradeOutcome.REVERTED, offer.trade_id, check.status)
    if state in LIVE_STATES:
        assignment = Assignment.objects.filter(
            id=assignment_id, status=AssignmentStatus.PROCESSING, delivery_trade_offer_id=offer.offer_id
        ).first()
        if assignment is None:
            return "not_following"
        attempt = attempt_for_offer(assignment, offer.offer_id)
        if offer_age_exceeded(offer, attempt, now):
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
            if check is not None and check.outcome == TradeOutcome.REVERTED:
                revert(assignment, attempt, offer.offer_id, check, now=now, actor=actor, source=source)
                return "reverted"
            return "unchanged"
        if assignment.status != AssignmentStatus.PROCESSING:
            return "not_following"
        if state == OfferState.ACCEPTED:
            if check.outcome == TradeOutcome.COMPLETE:
                _deliver(assignment, attempt, offer, now=now, actor=actor, source=source)
                return "delivered"
            if check.outcome == TradeOutcome.FAILED:
                _trade_failed(assignment, attempt, offer, check, now=now, actor=actor, source=source)
                return "trade_failed"
            if check.outcome == TradeOutcome.REVERTED:
                revert(assignment, attempt, offer.offer_id, check, now=now, actor=actor, source=source)
                return "reverted"
            if check.outcome == TradeOutcome.PENDING:
                return "trade_pending"
        if state == OfferState.IN_ESCROW or (check is not None and check.outcome == TradeOutcome.ESCROW):
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
            revert(assignment, attempt, offer.offer_id, check, now=now, actor=actor, source=source)
            return "reverted"
        if state == OfferState.CANCELED and attempt is not None and attempt.cancel_requested:
            if attempt.cancel_requested == CANCEL_ASSIGNMENT:
                settle_cancelled(assignment, attempt, now=now, actor=actor, source=source,
                                 reason="the assignment was cancelled")
                return "cancelled"
            if attempt.cancel_requested == CANCEL_RESEND:
                retry_delivery(assignment, attempt, AttemptOutcome.CANCELLED_BY_ASTRO, StatusReason.RESEND_REQUESTED,
                       f"Offer {offer.offer_id} was cancelled to send a new one", now=now, actor=actor, source=source,
                       counted=False, immediately=True)
                return "resending"
            retry_delivery(assignment, attempt, AttemptOutcome.TIMED_OUT, StatusReason.OFFER_TIMED_OUT,
                   f"Offer {offer.offer_id} was not accepted within {settings.DELIVERY_OFFER_LIFETIME_SECONDS} s "
                   "and was cancelled", now=now, actor=actor, source=source)
            return "retry"
        if state in _RETRY_STATES:
            outcome, reason, said = _RETRY_STATES[state]
            retry_delivery(assignment, attempt, outcome, reason, f"Offer {offer.offer_id} {said}", now=now, actor=actor,
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
        # Watched for a revert from now on (poll's revert check).
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(trade_id=offer.trade_id, trade_checked_at=now)
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


def retry_delivery(assignment, attempt, outcome: str, reason: str, said: str, *, now, actor, source,
                   counted: bool = True, immediately: bool = False, at_least: float | None = None) -> None:
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
    delay = 0.0 if immediately else backoff(used, at_least=at_least)
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
    # A later attempt is the sweeper's to start (next_attempt_at): never a broker countdown,
    # which a visibility timeout shorter than the wait would deliver twice.
    if immediately:
        queue_delivery(assignment.id)


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


def _trade_failed(assignment, attempt, offer: TradeOffer, check: TradeCheck, *, now, actor, source) -> None:
    """The user accepted, but the trade failed before it completed: nothing was delivered,
    the items are back with the bot. Their rows follow the new asset ids the trade
    gives, and the assignment is retried by the usual rules."""
    relinked = relink_items(assignment, assignment_item_ids(assignment), check.moves, now=now, actor=actor,
                            source=source, why=f"trade {check.trade_id} of offer {offer.offer_id} failed")
    retry_delivery(assignment, attempt, AttemptOutcome.TRADE_FAILED, StatusReason.TRADE_FAILED,
           f"The user accepted offer {offer.offer_id}, but its trade {check.trade_id} failed before it completed "
           f"(trade status {check.status})", now=now, actor=actor, source=source)
    if relinked:
        queue_sync()  # their tradability under the new ids is the inventory's to say


def revert(assignment, attempt, offer_id: str, check: TradeCheck | None, *, now, actor, source) -> None:
    """A delivered (or accepted) trade Steam rolled back (CS2 trade protection): the
    delivery is undone, and never sent again: the assignment fails `reverted`.

    The items are back with the bot under new asset ids. Their rows (same UUIDs)
    follow them from the rollback trade and are available again, without the offer
    id of a trade that no longer holds them. Items the rollback trade does not
    show are `removed`, for the sync to take back when it sees them.
    """
    moves: Moves = check.moves if check is not None else {}
    trade_id = check.trade_id if check is not None else None
    # Only rows still describing this trade: if a sync already took the items back
    # (and someone assigned them again), they are not ours to touch any more.
    item_ids = list(
        Item.objects.filter(
            id__in=assignment_item_ids(assignment), delivery_trade_offer_id=offer_id,
            status__in=[ItemStatus.DELIVERED, ItemStatus.IN_OFFER],
        ).values_list("id", flat=True)
    )
    back = relink_items(assignment, item_ids, moves, now=now, actor=actor, source=source,
                        why=f"trade of offer {offer_id} reverted", event_type="item.restored",
                        description=f"Trade of offer {offer_id} was reverted; the item is back in the pool",
                        status=ItemStatus.AVAILABLE, assigned_to_user=None, assigned_at=None, delivered_at=None,
                        received_via=ReceivedVia.RESTORED, received_at=now)
    unseen = [i for i in item_ids if i not in set(back)]
    Item.objects.filter(id__in=unseen).update(
        status=ItemStatus.REMOVED, assigned_to_user=None, assigned_at=None, delivery_trade_offer_id=None,
        updated_at=now,
    )
    record_item_events(assignment, unseen, "item.removed",
                       f"Trade of offer {offer_id} was reverted; the sync takes the item back in.",
                       actor=actor, source=source, data={"offerId": offer_id, "reason": StatusReason.REVERTED})
    set_assignment_items(assignment, DeliveryStatus.RETURNED)
    message = (f"Steam reverted the trade of offer {offer_id} (trade protection); the user no longer has "
               "the items, which are back in the pool. It is not sent again: create a new assignment if the "
               "user should still get them.")
    update_assignment(assignment, now, status=AssignmentStatus.FAILED, status_reason=StatusReason.REVERTED,
                      failed_at=now, next_attempt_at=None, delivery_error_message=message)
    if attempt is not None:
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            outcome=AttemptOutcome.REVERTED, finished_at=now, error_code=StatusReason.REVERTED,
            trade_checked_at=now,
        )
    record_assignment_event(assignment, "delivery.reverted", message, actor=actor, source=source,
                            data={"offerId": offer_id, "tradeId": trade_id,
                                  "restoredItemIds": [str(i) for i in back],
                                  "removedItemIds": [str(i) for i in unseen]})
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


_CONFIRM_ROUND_KEY = "delivery:confirm-round:{bot}"


def confirmation_round_started(gateway) -> None:
    cache.set(_CONFIRM_ROUND_KEY.format(bot=gateway.bot_steam_id), time.time(), timeout=3600)


def confirmation_round_due(gateway) -> bool:
    """Whether a confirmation round now would not wait: the gateway paces rounds per
    bot (STEAM_CONFIRMATION_PACING_SECONDS) and sleeps until its slot; the poller
    asks only when a slot is free instead of sitting in that wait at every wake."""
    last = cache.get(_CONFIRM_ROUND_KEY.format(bot=gateway.bot_steam_id))
    spacing = getattr(settings, "STEAM_CONFIRMATION_PACING_SECONDS", 0)
    return not isinstance(last, (int, float)) or time.time() - last >= spacing


def forget_confirmation_round(bot: int) -> None:
    cache.delete(_CONFIRM_ROUND_KEY.format(bot=bot))


def confirm_offer(assignment_id, offer_id: str, *, actor: str, source: str) -> bool:
    """Mobile-confirm one offer of ours (state 9 -> 2); see `confirm_offers`."""
    return offer_id in confirm_offers([(assignment_id, offer_id)], actor=actor, source=source)


def confirm_offers(pending, *, actor: str, source: str) -> set[str]:
    """Mobile-confirm our offers in one batch (`pending`: (assignment id, offer id)
    pairs): one confirmation round on Steam for all of them, through the gateway's
    `confirm_offers` (one listing of the confirmations, one call allowing them all).
    Returns the offer ids that are confirmed. A failure is left to the poller,
    which confirms state-9 offers again, and cancels them after the offer lifetime."""
    pending = [(assignment_id, str(offer_id)) for assignment_id, offer_id in pending]
    if not pending:
        return set()
    gateway = get_gateway()
    confirmation_round_started(gateway)
    confirmed, failure = set(), None
    try:
        if hasattr(gateway, "confirm_offers"):
            confirmed = set(gateway.confirm_offers([offer_id for _, offer_id in pending]))
        else:  # a gateway without batches: one by one
            for _, offer_id in pending:
                gateway.confirm_offer(offer_id)
                confirmed.add(offer_id)
    except SteamError as exc:
        failure = exc
    now = timezone.now()
    for assignment_id, offer_id in pending:
        with transaction.atomic():
            assignment = lock_assignment(assignment_id)
            if assignment is None or assignment.delivery_trade_offer_id != offer_id:
                continue
            if offer_id not in confirmed:
                why = str(failure) if failure else "Steam lists no confirmation for it yet"
                message = f"Confirming offer {offer_id} failed: {why}"
                if assignment.delivery_error_message != message:
                    logger.warning("confirming offer %s of %s failed: %s", offer_id, assignment_id, why)
                    update_assignment(assignment, now, delivery_error_message=message)
                    code = failure.code if failure else "confirmation_not_ready"
                    record_assignment_event(assignment, "delivery.transient_error",
                                            f"Confirming offer {offer_id} failed ({code}); the poller tries again.",
                                            actor=actor, source=source, data={"offerId": offer_id, "error": code})
                continue
            if (assignment.status == AssignmentStatus.PROCESSING
                    and assignment.status_reason == StatusReason.AWAITING_CONFIRMATION):
                update_assignment(assignment, now, status_reason=StatusReason.AWAITING_ACCEPTANCE,
                                  delivery_error_message=None)
                record_assignment_event(assignment, "delivery.offer_confirmed",
                                        f"Trade offer {offer_id} confirmed; waiting for the user.",
                                        actor=actor, source=source, data={"offerId": offer_id})
    return confirmed


def cancel_stray_offer(assignment_id, offer_id: str, *, actor: str, source: str, why: str) -> bool:
    """Take an offer of ours that nothing follows off Steam (never leave a live offer
    untracked). Returns whether Steam confirmed the cancel; if not, the offer stays
    live, is listed again, and the poller cancels it again."""
    try:
        get_gateway().cancel_offer(offer_id)
    except SteamError as exc:
        logger.warning("cancelling stray offer %s of %s failed: %s", offer_id, assignment_id, exc)
        return False
    now = timezone.now()
    with transaction.atomic():
        assignment = Assignment.objects.filter(id=assignment_id).first()
        # Only an attempt that lost its claim records the offer without following it.
        DeliveryAttempt.objects.filter(
            assignment_id=assignment_id, trade_offer_id=offer_id, outcome__in=_NEVER_FOLLOWED
        ).update(cancel_requested=CANCEL_DUPLICATE, outcome=AttemptOutcome.CANCELLED_BY_ASTRO, finished_at=now)
        if assignment is not None:
            record_assignment_event(assignment, "delivery.offer_cancelled", f"Cancelled stray offer {offer_id}: {why}.",
                                    actor=actor, source=source, data={"offerId": offer_id, "reason": CANCEL_DUPLICATE})
    return True
