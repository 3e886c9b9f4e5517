"""What the API and operators call: cancel, retry, resend, check now, and resuming on a new trade URL.

Refusals raise `DeliveryRefused` (a 409 with a stable `code`); Steam not
answering raises `DeliverySteamUnavailable` (503) with nothing changed. What
Steam says wins: a cancel or resend that races the user's accept ends delivered.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from assignments.delivery.poll import check_delivered_trade, offer_not_found
from assignments.delivery.records import (
    CANCEL_ASSIGNMENT,
    CANCEL_RESEND,
    LIVE_STATES,
    SYSTEM,
    WORKER,
    assignment_item_ids,
    finish_attempt,
    is_due,
    load_assignment,
    lock_assignment,
    open_attempt,
    outside_transaction,
    queue_delivery,
    record_assignment_event,
    record_item_events,
    set_assignment_items,
    update_assignment,
)
from assignments.delivery.send import delivery_run, find_our_offer, lookup_claim
from assignments.delivery.transitions import apply_offer_state, cancel_and_settle, settle_cancelled
from assignments.models import (
    HOLDING_REASONS,
    WAITING_FOR_URL,
    Assignment,
    AssignmentStatus,
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryStatus,
    StatusReason,
)
from astro.core.errors import Conflict, NotFound, ServiceUnavailable
from astro.steam import get_gateway
from astro.steam.errors import SteamError
from items.models import Item, ItemStatus
from items.trade_urls import has_own_trade_url


class DeliveryRefused(Conflict):
    """An operator or API action that cannot apply to the assignment as it stands.

    Codes: already_delivered, assignment_cancelled, not_failed, not_processing,
    no_offer, offer_in_escrow, delivery_in_progress, items_unavailable.
    """

    code = "delivery_refused"


class DeliverySteamUnavailable(ServiceUnavailable):
    """Steam did not answer an operator action; nothing changed, try again."""

    code = "steam_unavailable"


def delivery_resume_for_user(*, steam_id: int, external_system: str | None = None) -> int:
    """A trade URL was set for a user: start the deliveries that were waiting for one.

    A system's own URL (`external_system`) resumes only that system's assignments.
    The operator's URL (`external_system=None`) resumes those of the systems that
    have no URL of their own for the user: the others keep waiting for theirs.
    Returns how many resumed."""
    now = timezone.now()
    resumed = []
    with transaction.atomic():
        waiting = Assignment.objects.select_for_update().filter(
            user_id=steam_id, status=AssignmentStatus.PENDING, status_reason__in=WAITING_FOR_URL
        )
        if external_system is not None:
            waiting = waiting.filter(external_system=external_system)
        else:
            waiting = waiting.filter(~has_own_trade_url())
        for assignment in waiting:
            previous = assignment.status_reason
            update_assignment(assignment, now, status_reason=None, next_attempt_at=None)
            record_assignment_event(assignment, "assignment.resumed", "The user's trade URL is set; delivery goes on.",
                                    actor=SYSTEM, source=WORKER, data={"waitedFor": previous})
            queue_delivery(assignment.id)
            resumed.append(assignment.id)
    return len(resumed)


def _refuse_settled(assignment: Assignment) -> None:
    if assignment.status == AssignmentStatus.DELIVERED:
        raise DeliveryRefused("The assignment is already delivered.", code="already_delivered")
    if assignment.status == AssignmentStatus.CANCELLED:
        raise DeliveryRefused("The assignment is cancelled.", code="assignment_cancelled")


def _hold_unsent(assignment: Assignment, *, now, request: dict, resuming: bool = False) -> bool:
    """Take hold of a processing assignment that has no offer id, unless a sender is
    inside its Steam calls right now. Blocks new sends while a cancel looks on Steam.

    The cancel's request (who, why) is written on the assignment's last attempt in
    the same transaction: if this process dies while it looks, the sweeper finds
    the stale `cancelling` hold and resumes the cancel from it, never a send."""
    stuck_before = now - timedelta(seconds=settings.DELIVERY_STUCK_AFTER_SECONDS)
    free = ~Q(status_reason__in=HOLDING_REASONS) | Q(last_delivery_attempt_at__lte=stuck_before)
    if resuming:
        free = Q(status_reason=StatusReason.CANCELLING) & Q(last_delivery_attempt_at__lte=stuck_before)
    with transaction.atomic():
        held = Assignment.objects.filter(
            Q(id=assignment.id, status=AssignmentStatus.PROCESSING, delivery_trade_offer_id__isnull=True) & free
        ).update(status_reason=StatusReason.CANCELLING, last_delivery_attempt_at=now, updated_at=now)
        if held == 1:
            stale = open_attempt(assignment)
            finish_attempt(stale, AttemptOutcome.SUPERSEDED, now=now, code="cancelled",
                           message="Superseded by a cancel.")
            DeliveryAttempt.objects.filter(assignment=assignment, number=assignment.delivery_attempts).update(
                cancel_request=request)
    return held == 1


def delivery_cancel(*, assignment_id, actor: str, source: str, reason: str | None = None,
                    resuming: bool = False) -> Assignment:
    """Cancel an assignment whose delivery may have reached Steam.

    The offer is cancelled on Steam first; only then are the items released. If
    the user accepted in the meantime, Steam wins: the assignment is returned
    delivered (or in escrow) and nothing is cancelled. Returns the assignment as
    it ends up; the caller compares its status. Raises DeliveryRefused
    (`delivery_in_progress`: a send is running this very moment, try again in a
    few seconds; `already_delivered`, `assignment_cancelled`, `not_cancellable`)
    and DeliverySteamUnavailable when Steam does not answer (nothing changed).

    An unrecorded offer of the assignment is adopted (and cancelled) only when it
    is ours by the adoption rule (listing.offer_is_ours); any other tagged offer
    is the poller's to cancel as a stray. `resuming`: the sweeper resumes a cancel
    whose process died while it looked on Steam; it keeps its hold when Steam
    does not answer, so the assignment is never sent in between.
    """
    outside_transaction()
    now = timezone.now()
    assignment = load_assignment(assignment_id)
    _refuse_settled(assignment)
    if assignment.status == AssignmentStatus.FAILED:
        raise DeliveryRefused("The assignment has already failed; its items are back in the pool.",
                              code="not_cancellable")
    if assignment.status == AssignmentStatus.PENDING:
        with transaction.atomic():
            locked = lock_assignment(assignment.id)
            if locked.status != AssignmentStatus.PENDING:
                raise DeliveryRefused("The assignment changed while cancelling; try again.",
                                      code="delivery_in_progress")
            settle_cancelled(locked, None, now=now, actor=actor, source=source, reason=reason)
        return load_assignment(assignment.id)

    offer_id = assignment.delivery_trade_offer_id
    try:
        if offer_id:
            if assignment.status_reason == StatusReason.ESCROW:
                # Trades in escrow are Steam's to finish or roll back; polling follows them.
                raise DeliveryRefused("The offer was accepted into escrow; Steam holds the items.",
                                      code="offer_in_escrow")
            cancel_and_settle(assignment, offer_id, CANCEL_ASSIGNMENT, actor=actor, source=source)
            return _cancel_if_retrying(assignment.id, actor=actor, source=source, reason=reason)
        request = {"actor": actor, "source": source, "reason": reason}
        if not _hold_unsent(assignment, now=now, request=request, resuming=resuming):
            raise DeliveryRefused("A trade offer is being sent right now; try again in a few seconds.",
                                  code="delivery_in_progress")
        held = load_assignment(assignment.id)
        # Processing without an offer id: an offer may be on its way, whatever the
        # attempts recorded; look at a listing taken after the hold, always.
        claim = lookup_claim(held, number=held.delivery_attempts + 1)
        claim = replace(claim, unrecorded=sorted(set(claim.unrecorded) | {held.delivery_attempts}),
                        look_after=timezone.now())
        gateway = get_gateway()
        try:
            stray = find_our_offer(gateway, claim)
        except SteamError:
            if not resuming:
                _release_hold(assignment)
            raise
        if stray is not None:
            # Our offer exists although no attempt recorded it: follow it from here,
            # marked as cancelled by us, and settle it like any other offer.
            with transaction.atomic():
                locked = lock_assignment(assignment.id)
                if locked.status != AssignmentStatus.PROCESSING or locked.status_reason != StatusReason.CANCELLING:
                    raise DeliveryRefused("The assignment changed while cancelling; try again.",
                                          code="delivery_in_progress")
                update_assignment(locked, timezone.now(), delivery_trade_offer_id=stray.offer_id,
                                  status_reason=StatusReason.AWAITING_ACCEPTANCE)
                DeliveryAttempt.objects.filter(assignment=locked, number=locked.delivery_attempts).update(
                    trade_offer_id=stray.offer_id, adopted=True, outcome=AttemptOutcome.OFFER_ACTIVE,
                    cancel_requested=CANCEL_ASSIGNMENT, finished_at=None)
            if stray.state in LIVE_STATES:
                cancel_and_settle(load_assignment(assignment.id), stray.offer_id, CANCEL_ASSIGNMENT, actor=actor,
                                  source=source)
            else:
                apply_offer_state(assignment_id=assignment.id, offer=stray, actor=actor, source=source)
            return _cancel_if_retrying(assignment.id, actor=actor, source=source, reason=reason)
        with transaction.atomic():
            locked = lock_assignment(assignment.id)
            if locked.status != AssignmentStatus.PROCESSING or locked.status_reason != StatusReason.CANCELLING:
                raise DeliveryRefused("The assignment changed while cancelling; try again.",
                                      code="delivery_in_progress")
            settle_cancelled(locked, None, now=timezone.now(), actor=actor, source=source, reason=reason)
        return load_assignment(assignment.id)
    except SteamError as exc:
        raise DeliverySteamUnavailable(
            f"Steam did not confirm the cancel ({exc}); the assignment is unchanged for now. Try again."
        ) from exc


def delivery_cancel_resume(*, assignment_id) -> str:
    """Finish a cancel whose process died while it looked on Steam (the sweeper finds
    its stale `cancelling` hold): the same cancel, with who asked and why, from the
    request it wrote. Returns the assignment's status afterwards."""
    assignment = Assignment.objects.filter(id=assignment_id).first()
    if assignment is None or assignment.status_reason != StatusReason.CANCELLING:
        return "not_cancelling"
    request = (
        DeliveryAttempt.objects.filter(assignment=assignment, cancel_request__isnull=False)
        .order_by("-number").values_list("cancel_request", flat=True).first()
    ) or {}
    try:
        done = delivery_cancel(assignment_id=assignment.id, actor=request.get("actor") or SYSTEM,
                               source=request.get("source") or WORKER, reason=request.get("reason"), resuming=True)
    except (DeliveryRefused, DeliverySteamUnavailable) as exc:
        # Held still: the sweeper resumes it again after DELIVERY_STUCK_AFTER_SECONDS.
        return getattr(exc, "code", "error")
    return done.status


def _cancel_if_retrying(assignment_id, *, actor: str, source: str, reason: str | None) -> Assignment:
    """After the offer was settled: if it had ended undelivered on its own (countered,
    expired, cancelled elsewhere, before any poll saw it), settling it scheduled a
    retry. The cancel still applies then: no live offer exists, and going on with
    the retry would send the items the caller asked us not to send."""
    with transaction.atomic():
        locked = lock_assignment(assignment_id)
        if locked is not None and locked.status == AssignmentStatus.PENDING:
            settle_cancelled(locked, None, now=timezone.now(), actor=actor, source=source, reason=reason)
    return load_assignment(assignment_id)


def _release_hold(assignment: Assignment) -> None:
    # A cancel that could not look on Steam gives the assignment back to delivery.
    now = timezone.now()
    Assignment.objects.filter(
        id=assignment.id, status=AssignmentStatus.PROCESSING, status_reason=StatusReason.CANCELLING
    ).update(status_reason=StatusReason.SEND_OUTCOME_UNKNOWN, next_attempt_at=now, updated_at=now)


def delivery_check_now(*, assignment_id, actor: str, source: str = "admin") -> Assignment:
    """Ask Steam for the assignment's offer now and apply its state (operators,
    "check now"). A delivered assignment is checked for a revert. Raises
    DeliveryRefused `no_offer` when there is no offer to look at."""
    outside_transaction()
    assignment = load_assignment(assignment_id)
    if assignment.status == AssignmentStatus.PROCESSING and not assignment.delivery_trade_offer_id:
        if is_due(assignment, timezone.now()):
            delivery_run(assignment_id=assignment.id, actor=actor, source=source)
            return load_assignment(assignment.id)
        raise DeliveryRefused("A trade offer is being sent right now; there is nothing to check yet.",
                              code="delivery_in_progress")
    if (assignment.status not in (AssignmentStatus.PROCESSING, AssignmentStatus.DELIVERED)
            or not assignment.delivery_trade_offer_id):
        raise DeliveryRefused("The assignment has no trade offer out to check.", code="no_offer")
    try:
        gateway = get_gateway()
        accepted = DeliveryAttempt.objects.filter(
            assignment=assignment, trade_offer_id=assignment.delivery_trade_offer_id, outcome=AttemptOutcome.ACCEPTED
        ).first()
        if assignment.status == AssignmentStatus.DELIVERED and accepted is not None:
            # The offer may still say accepted after a revert: the trade says what happened.
            check_delivered_trade(gateway, accepted, actor=actor, source=source)
            return load_assignment(assignment.id)
        offer = gateway.get_offer(assignment.delivery_trade_offer_id)
        if offer is None:
            offer_not_found(assignment.id, assignment.delivery_trade_offer_id, actor=actor, source=source)
        else:
            apply_offer_state(assignment_id=assignment.id, offer=offer, actor=actor, source=source)
    except SteamError as exc:
        raise DeliverySteamUnavailable(f"Steam did not answer ({exc}); nothing changed. Try again.") from exc
    return load_assignment(assignment.id)


def delivery_retry(*, assignment_id, actor: str, reason: str, source: str = "admin") -> Assignment:
    """Give a failed assignment another round of delivery attempts (a fresh
    DELIVERY_MAX_ATTEMPTS budget). Its items must still be available in the pool:
    they are reserved again, all or none (DeliveryRefused `items_unavailable`,
    nothing changed). Refuses anything but `failed` (`already_delivered`,
    `assignment_cancelled`, `not_failed`)."""
    now = timezone.now()
    with transaction.atomic():
        assignment = lock_assignment(assignment_id)
        if assignment is None:
            raise NotFound("No such assignment.", code="assignment_not_found")
        _refuse_settled(assignment)
        if assignment.status != AssignmentStatus.FAILED:
            raise DeliveryRefused("Only a failed assignment can be retried.", code="not_failed")
        item_ids = assignment_item_ids(assignment)
        items = list(Item.objects.select_for_update().filter(id__in=item_ids).order_by("id"))
        unavailable = [i for i in items if i.status != ItemStatus.AVAILABLE]
        if unavailable:
            raise DeliveryRefused(
                "Some items of the assignment are no longer available in the pool.", code="items_unavailable",
                details={"itemIds": [str(i.id) for i in unavailable],
                         "statuses": {str(i.id): i.status for i in unavailable}},
            )
        try:
            with transaction.atomic():
                # The status change re-activates the assignment_items rows (trigger);
                # the one-active-assignment index refuses an item another assignment holds.
                update_assignment(assignment, now, status=AssignmentStatus.PENDING, status_reason=None,
                                  failed_at=None, next_attempt_at=None, delivery_error_message=None,
                                  delivery_trade_offer_id=None)
        except IntegrityError:
            raise DeliveryRefused("An item of the assignment belongs to another active assignment.",
                                  code="items_unavailable") from None
        Item.objects.filter(id__in=item_ids).update(
            status=ItemStatus.RESERVED, assigned_to_user_id=assignment.user_id, assigned_at=now, updated_at=now
        )
        set_assignment_items(assignment, DeliveryStatus.PENDING)
        DeliveryAttempt.objects.filter(assignment=assignment).update(counted=False)
        record_assignment_event(assignment, "delivery.retry_requested", f"Delivery retried by {actor}: {reason}",
                                actor=actor, source=source, data={"reason": reason})
        record_item_events(assignment, item_ids, "item.reserved", "Reserved again for a retried delivery.",
                           actor=actor, source=source)
        queue_delivery(assignment.id)
    return load_assignment(assignment.id)


def delivery_resend(*, assignment_id, actor: str, reason: str, source: str = "admin") -> Assignment:
    """Replace the active offer with a new one (e.g. the user lost it): our offer is
    cancelled on Steam, then a new attempt starts at once (not counted toward the
    maximum). If the user accepted in the meantime the assignment is delivered
    instead. A pending assignment is simply sent now. Refuses settled, failed
    (use retry), escrow and mid-send assignments."""
    outside_transaction()
    now = timezone.now()
    assignment = load_assignment(assignment_id)
    _refuse_settled(assignment)
    if assignment.status == AssignmentStatus.FAILED:
        raise DeliveryRefused("The assignment failed; retry it instead.", code="not_processing")
    if assignment.status == AssignmentStatus.PENDING:
        with transaction.atomic():
            locked = lock_assignment(assignment.id)
            if locked.status == AssignmentStatus.PENDING:
                update_assignment(locked, now, next_attempt_at=None)
                record_assignment_event(locked, "delivery.resend_requested",
                                        f"Delivery requested now by {actor}: {reason}",
                                        actor=actor, source=source, data={"reason": reason})
                queue_delivery(locked.id)
        return load_assignment(assignment.id)
    if not assignment.delivery_trade_offer_id:
        raise DeliveryRefused("A trade offer is being sent right now.", code="delivery_in_progress")
    if assignment.status_reason == StatusReason.ESCROW:
        raise DeliveryRefused("The offer was accepted into escrow; Steam holds the items.", code="offer_in_escrow")
    with transaction.atomic():
        record_assignment_event(lock_assignment(assignment.id), "delivery.resend_requested",
                                f"Resend of offer {assignment.delivery_trade_offer_id} requested by {actor}: {reason}",
                                actor=actor, source=source,
                                data={"reason": reason, "offerId": assignment.delivery_trade_offer_id})
    try:
        cancel_and_settle(assignment, assignment.delivery_trade_offer_id, CANCEL_RESEND, actor=actor, source=source)
    except SteamError as exc:
        raise DeliverySteamUnavailable(f"Steam did not answer ({exc}); the offer was not replaced. Try again.") from exc
    return load_assignment(assignment.id)
