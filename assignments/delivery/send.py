"""Sending: claim an attempt, look for (and adopt) our tagged offer, or send one; record it, confirm it.

One attempt = one claim = at most one offer. The claim is a conditional UPDATE
in a short transaction that also records the attempt and its tag; only after it
commits is Steam called. Every write after a Steam call is fenced on the claim
(`_still_ours`), and the offer id is recorded before the offer is confirmed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from assignments.delivery.records import (
    CANCEL_DUPLICATE,
    CLOCK_SLACK,
    SYSTEM,
    WORKER,
    assignment_item_ids,
    attempt_tag,
    backoff,
    finish_attempt,
    lock_assignment,
    open_attempt,
    outside_transaction,
    parse_tag,
    queue_sync,
    record_assignment_event,
    set_assignment_items,
    update_assignment,
)
from assignments.delivery.transitions import apply_offer_state, cancel_stray_offer, confirm_offer, fail_delivery
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
from astro.steam import get_gateway
from astro.steam.errors import (
    SteamAmbiguousError,
    SteamAuthError,
    SteamError,
    SteamPermanentError,
    SteamTransientError,
    is_bot_side,
    needs_trade_protection_ack,
)
from astro.steam.parsing import parse_trade_url
from astro.steam.types import AssetRef, OfferState, TradeOffer
from items.models import CLAIMED, Item, ItemStatus
from items.trade_urls import trade_url_for_delivery

logger = logging.getLogger(__name__)

# Attempts that ended without an offer: their count drives the send backoff.
_NO_OFFER_OUTCOMES = (AttemptOutcome.STEAM_UNAVAILABLE, AttemptOutcome.OUTCOME_UNKNOWN, AttemptOutcome.SUPERSEDED)
# Items Steam calls untradable without a date are looked at again after this long.
UNTRADABLE_RECHECK = timedelta(hours=1)


@dataclass
class DeliveryRun:
    """What one call of `delivery_run` did. `retry_in`: seconds until it is worth calling again."""

    assignment_id: str
    outcome: str
    offer_id: str | None = None
    retry_in: float | None = None
    details: dict = field(default_factory=dict)


@dataclass
class Claim:
    """One claimed attempt: what it may send, and what tells an offer of it from any other."""

    assignment_id: uuid.UUID
    number: int
    tag: str
    trade_url: str
    assets: list[AssetRef]
    known_offer_ids: set[str]
    search_since: datetime | None = None
    # The recipient; with `assets`, what an offer must be to be adopted as this delivery.
    user_id: int | None = None


def delivery_run(*, assignment_id, actor: str = SYSTEM, source: str = WORKER) -> DeliveryRun:
    """Start (or resume) delivery of one assignment, if it is due; safe to call any number of times.

    Claims the assignment in a short transaction (a conditional UPDATE: one caller
    wins, the others return `not_due`), records the attempt and its tag, commits,
    and only then talks to Steam: adopts an offer of ours with this assignment's
    tag if one exists, otherwise sends one offer with all the items.
    """
    outside_transaction()
    claim = _claim(assignment_id, actor=actor, source=source)
    if isinstance(claim, DeliveryRun):
        return claim
    return _send(claim, actor=actor, source=source)


def is_due(assignment: Assignment, now: datetime) -> bool:
    if assignment.status == AssignmentStatus.PENDING:
        if assignment.status_reason in WAITING_FOR_URL and not delivery_url(assignment):
            return False
        return assignment.next_attempt_at is None or assignment.next_attempt_at <= now
    if assignment.status == AssignmentStatus.PROCESSING and assignment.delivery_trade_offer_id is None:
        if assignment.status_reason in HOLDING_REASONS:
            stuck_before = now - timedelta(seconds=settings.DELIVERY_STUCK_AFTER_SECONDS)
            return assignment.last_delivery_attempt_at is None or assignment.last_delivery_attempt_at <= stuck_before
        return assignment.next_attempt_at is None or assignment.next_attempt_at <= now
    return False


def delivery_url(assignment: Assignment) -> str | None:
    """The trade URL this assignment's offer goes to: its system's own for the user, else the operator's."""
    return trade_url_for_delivery(steam_id=assignment.user_id, external_system=assignment.external_system)


def _wait(assignment: Assignment, reason: str, *, now, until, message: str, actor: str, source: str) -> DeliveryRun:
    changed = assignment.status_reason != reason
    update_assignment(assignment, now, status_reason=reason, next_attempt_at=until, delivery_error_message=message)
    if changed:
        record_assignment_event(assignment, "assignment.waiting", message, actor=actor, source=source,
                                data={"reason": reason, "until": until})
    retry_in = (until - now).total_seconds() if until else None
    return DeliveryRun(str(assignment.id), reason, retry_in=retry_in)


def _claim(assignment_id, *, actor: str, source: str) -> Claim | DeliveryRun:
    now = timezone.now()
    with transaction.atomic():
        assignment = lock_assignment(assignment_id)
        if assignment is None:
            return DeliveryRun(str(assignment_id), "not_found")
        if not is_due(assignment, now):
            return DeliveryRun(str(assignment_id), "not_due")
        items = list(Item.objects.filter(assignment_items__assignment=assignment).order_by("id"))
        trade_url = delivery_url(assignment)

        if assignment.status == AssignmentStatus.PENDING:
            # Nothing of this assignment can be on Steam while it is pending, so
            # these waits are safe; a takeover of `processing` must look first.
            if not trade_url:
                return _wait(assignment, StatusReason.TRADE_URL_REQUIRED, now=now, until=None, actor=actor,
                             source=source, message="The user has no trade URL; delivery starts when one is set.")
            problem = _trade_url_problem(trade_url, assignment.user_id)
            if problem:
                return _wait(assignment, StatusReason.TRADE_URL_INVALID, now=now, until=None, actor=actor,
                             source=source, message=f"The user's trade URL cannot be used ({problem}); delivery "
                                                    "starts when a new one is set.")
            gone = [item for item in items if item.status not in CLAIMED
                    or item.assigned_to_user_id != assignment.user_id]
            if gone:
                names = ", ".join(f"{item.item_name} ({item.status})" for item in gone)
                fail_delivery(assignment, None, StatusReason.ITEMS_UNAVAILABLE, now=now, actor=actor, source=source,
                              message=f"Items of this assignment are no longer in the pool: {names}. "
                                      "The other items are back in the pool; create a new assignment.",
                              event_type="delivery.failed")
                return DeliveryRun(str(assignment.id), StatusReason.ITEMS_UNAVAILABLE)
            hold = [item for item in items if not item.tradable or (item.tradable_after and item.tradable_after > now)]
            if hold:
                dates = [item.tradable_after for item in hold if item.tradable_after and item.tradable_after > now]
                until = max(dates) if dates and all(item.tradable_after for item in hold) else now + UNTRADABLE_RECHECK
                return _wait(assignment, StatusReason.ITEMS_NOT_TRADABLE, now=now, until=until, actor=actor,
                             source=source, message=f"{len(hold)} item(s) cannot be traded yet; the next look is at "
                                                    f"{until:%Y-%m-%d %H:%M} UTC.")

        previous = assignment.delivery_attempts
        claimed = Assignment.objects.filter(
            id=assignment.id, status=assignment.status, delivery_attempts=previous, delivery_trade_offer_id__isnull=True
        ).update(
            status=AssignmentStatus.PROCESSING,
            status_reason=StatusReason.SENDING,
            delivery_attempts=F("delivery_attempts") + 1,
            last_delivery_attempt_at=now,
            next_attempt_at=None,
            processing_started_at=Coalesce(F("processing_started_at"), now),
            updated_at=now,
        )
        if claimed != 1:
            return DeliveryRun(str(assignment_id), "not_due")
        stale = open_attempt(assignment)
        if stale is not None:
            # The worker that held it stopped (killed, or its host died) before it
            # recorded an offer. It may have created one: the lookup below adopts it.
            finish_attempt(stale, AttemptOutcome.SUPERSEDED, now=now, code="worker_stopped",
                           message="The attempt's worker stopped before recording an offer.")
            record_assignment_event(
                assignment, "delivery.attempt_recovered",
                f"Attempt {stale.number} stopped without recording an offer; attempt {previous + 1} takes over "
                "and looks for its offer before sending.",
                actor=actor, source=source, data={"staleAttempt": stale.number, "staleTag": stale.tag},
            )
        number = previous + 1
        tag = attempt_tag(assignment.id, number)
        DeliveryAttempt.objects.create(assignment=assignment, number=number, tag=tag, started_at=now)
        record_assignment_event(assignment, "delivery.attempt_started", f"Delivery attempt {number} started.",
                                actor=actor, source=source,
                                data={"attempt": number, "tag": tag, "itemIds": [str(item.id) for item in items]})
        known = set(
            DeliveryAttempt.objects.filter(assignment=assignment, trade_offer_id__isnull=False)
            .values_list("trade_offer_id", flat=True)
        )
        return Claim(
            search_since=search_since(assignment),
            assignment_id=assignment.id,
            number=number,
            tag=tag,
            trade_url=trade_url or "",
            assets=[AssetRef(app_id=i.steam_app_id, context_id=i.steam_context_id, asset_id=i.steam_asset_id)
                    for i in items],
            known_offer_ids=known,
            user_id=assignment.user_id,
        )


def _trade_url_problem(trade_url: str, steam_id: int) -> str | None:
    try:
        parsed = parse_trade_url(trade_url)
    except SteamPermanentError as exc:
        return str(exc)
    if parsed.steam_id != steam_id:
        # An offer goes to the trade URL's owner: to anyone but the assignment's user, it
        # would give the items away to the wrong person.
        return "its partner is another Steam account"
    return None


def search_since(assignment: Assignment) -> datetime:
    """Any unrecorded offer of ours was made by an attempt that recorded none, so it
    changed after the first such attempt started (minus slack for clock skew)."""
    first = (
        DeliveryAttempt.objects.filter(assignment=assignment, trade_offer_id__isnull=True)
        .order_by("started_at").values_list("started_at", flat=True).first()
    )
    return (first or timezone.now()) - CLOCK_SLACK


def find_our_offer(gateway, claim: Claim, *, exact: bool = False) -> TradeOffer | None:
    """An offer tagged for this assignment that we have not recorded: a send of ours
    that Steam carried out although we never learned its id.

    `exact` (before a send): the offer must also be exactly what this attempt would
    send, to the assignment's user, giving its items and asking nothing. A tag is
    only text in a message; an offer to someone else that carries it is not this
    delivery, and adopting it would mark the items delivered to the wrong person.
    It is left to the poller, which cancels a live tagged offer nothing follows."""
    for offer in gateway.get_sent_offers(active_only=True, changed_since=claim.search_since):
        parsed = parse_tag(offer.message)
        if not parsed or parsed[0] != claim.assignment_id or offer.offer_id in claim.known_offer_ids:
            continue
        if exact and not _matches_claim(offer, claim):
            logger.error("offer %s carries the tag of %s but not its partner/items; not adopted",
                         offer.offer_id, claim.assignment_id)
            continue
        return offer
    return None


def _matches_claim(offer: TradeOffer, claim: Claim) -> bool:
    given = sorted((a.app_id, a.context_id, a.asset_id) for a in offer.items_to_give)
    wanted = sorted((a.app_id, a.context_id, a.asset_id) for a in claim.assets)
    return offer.partner_steam_id == claim.user_id and given == wanted and not offer.items_to_receive


def _send(claim: Claim, *, actor: str, source: str) -> DeliveryRun:
    gateway = get_gateway()
    try:
        existing = find_our_offer(gateway, claim, exact=True)
    except SteamError as exc:
        # Without the look we must not send (it could be a second offer): try later.
        return _send_failed_softly(claim, exc, StatusReason.STEAM_UNAVAILABLE, AttemptOutcome.STEAM_UNAVAILABLE,
                                   actor=actor, source=source)
    if existing is not None:
        return _record_offer(claim, existing.offer_id, existing, adopted=True, actor=actor, source=source)
    if not _renew_lease(claim):
        # The look took so long that our lease ran out and another attempt (the
        # sweeper's, a cancel) took over: it owns the send now. Sending too would
        # put a second live offer for the same items on Steam.
        return DeliveryRun(str(claim.assignment_id), "claim_lost")
    try:
        sent = gateway.send_offer(
            trade_url=claim.trade_url, assets=claim.assets, message=f"Astro delivery {claim.tag}"
        )
    except SteamAmbiguousError as exc:
        # Steam may have created the offer. Look once more now; if it is not visible
        # yet, the next attempt looks again before it sends anything.
        try:
            existing = find_our_offer(gateway, claim, exact=True)
        except SteamError:
            existing = None
        if existing is not None:
            return _record_offer(claim, existing.offer_id, existing, adopted=True, actor=actor, source=source)
        return _send_failed_softly(claim, exc, StatusReason.SEND_OUTCOME_UNKNOWN, AttemptOutcome.OUTCOME_UNKNOWN,
                                   actor=actor, source=source)
    except (SteamTransientError, SteamAuthError) as exc:
        return _send_failed_softly(claim, exc, StatusReason.STEAM_UNAVAILABLE, AttemptOutcome.STEAM_UNAVAILABLE,
                                   actor=actor, source=source)
    except SteamPermanentError as exc:
        if needs_trade_protection_ack(exc):
            # CS2 trade protection (July 2025): the bot must acknowledge the notice
            # once before it may trade. Do it, and let the next attempt send.
            try:
                gateway.acknowledge_trade_protection()
            except SteamError as ack_exc:
                logger.warning("acknowledging trade protection failed: %s", ack_exc)
            return _send_failed_softly(claim, exc, StatusReason.STEAM_UNAVAILABLE, AttemptOutcome.STEAM_UNAVAILABLE,
                                       actor=actor, source=source)
        if is_bot_side(exc):
            return _send_failed_softly(claim, exc, StatusReason.STEAM_UNAVAILABLE, AttemptOutcome.STEAM_UNAVAILABLE,
                                       actor=actor, source=source)
        return _send_rejected(claim, exc, actor=actor, source=source)
    return _record_offer(claim, sent.offer_id, None, adopted=False, needs_confirmation=sent.needs_confirmation,
                         actor=actor, source=source)


def _renew_lease(claim: Claim) -> bool:
    """Check we still hold the claim and restart its lease, right before the send.

    One fenced UPDATE (autocommit, no lock kept): between the claim and the send
    the look may have taken long (paging, retries, a login), and a takeover is
    decided from `last_delivery_attempt_at`. Renewing it here means a takeover
    can only happen while this worker is inside the send itself, which the
    gateway bounds with STEAM_HTTP_TIMEOUT_SECONDS, far below the lease."""
    now = timezone.now()
    return Assignment.objects.filter(_still_ours(claim)).update(last_delivery_attempt_at=now, updated_at=now) == 1


def _still_ours(claim: Claim) -> Q:
    # The fence for every write after a Steam call: the assignment is still in the
    # attempt we claimed, and nobody (a takeover, a cancel) has taken it since.
    return Q(id=claim.assignment_id, status=AssignmentStatus.PROCESSING, delivery_attempts=claim.number,
             delivery_trade_offer_id__isnull=True, status_reason=StatusReason.SENDING)


def _record_offer(claim: Claim, offer_id: str, offer: TradeOffer | None, *, adopted: bool, actor: str, source: str,
                  needs_confirmation: bool | None = None) -> DeliveryRun:
    """Write down the offer id before anything else happens to it (confirmation included):
    from here on, a crash leaves an offer we know about, never one we do not."""
    now = timezone.now()
    if needs_confirmation is None:
        needs_confirmation = offer is not None and offer.state == OfferState.NEEDS_CONFIRMATION
    with transaction.atomic():
        assignment = lock_assignment(claim.assignment_id)
        ours = assignment is not None and Assignment.objects.filter(_still_ours(claim)).exists()
        if ours:
            reason = StatusReason.AWAITING_CONFIRMATION if needs_confirmation else StatusReason.AWAITING_ACCEPTANCE
            update_assignment(assignment, now, delivery_trade_offer_id=offer_id, status_reason=reason,
                              next_attempt_at=None, delivery_error_message=None)
            DeliveryAttempt.objects.filter(assignment=assignment, number=claim.number).update(
                trade_offer_id=offer_id, adopted=adopted, outcome=AttemptOutcome.OFFER_ACTIVE
            )
            item_ids = assignment_item_ids(assignment)
            Item.objects.filter(id__in=item_ids, status=ItemStatus.RESERVED).update(
                status=ItemStatus.IN_OFFER, delivery_trade_offer_id=offer_id, updated_at=now
            )
            set_assignment_items(assignment, DeliveryStatus.IN_OFFER)
            data = {"attempt": claim.number, "tag": claim.tag, "offerId": offer_id}
            if adopted:
                record_assignment_event(
                    assignment, "delivery.offer_adopted",
                    f"Found our offer {offer_id} on Steam (message {offer.message!r}) and adopted it instead of "
                    "sending another.", actor=actor, source=source,
                    data={**data, "offerTag": offer.message, "state": int(offer.state)},
                )
            else:
                record_assignment_event(assignment, "delivery.offer_sent", f"Trade offer {offer_id} sent.",
                                        actor=actor, source=source,
                                        data={**data, "needsConfirmation": needs_confirmation})
        else:
            # We lost the claim while Steam was answering (a takeover after our lease,
            # or a cancel). If the assignment does not point at this offer, nothing
            # will ever follow it: record it and take it off Steam.
            current = assignment.delivery_trade_offer_id if assignment else None
            DeliveryAttempt.objects.filter(assignment_id=claim.assignment_id, number=claim.number).update(
                trade_offer_id=offer_id, adopted=adopted,
                cancel_requested=None if current == offer_id else CANCEL_DUPLICATE,
            )
    if not ours:
        if current != offer_id:
            cancel_stray_offer(claim.assignment_id, offer_id, actor=actor, source=source,
                               why="its attempt had lost its claim on the assignment")
        return DeliveryRun(str(claim.assignment_id), "claim_lost", offer_id=offer_id)

    if offer is not None and offer.state != OfferState.NEEDS_CONFIRMATION:
        # An adopted offer may have moved on already (accepted, declined...).
        apply_offer_state(assignment_id=claim.assignment_id, offer=offer, actor=actor, source=source)
    elif needs_confirmation:
        confirm_offer(claim.assignment_id, offer_id, actor=actor, source=source)
    return DeliveryRun(str(claim.assignment_id), "adopted" if adopted else "sent", offer_id=offer_id)


def _send_failed_softly(claim: Claim, exc: SteamError, reason: str, outcome: str, *, actor: str,
                        source: str) -> DeliveryRun:
    """No offer now, another attempt later. The assignment stays `processing`: after
    an ambiguous send an offer may exist, and only this engine may settle that."""
    now = timezone.now()
    with transaction.atomic():
        assignment = lock_assignment(claim.assignment_id)
        if assignment is None or not Assignment.objects.filter(_still_ours(claim)).exists():
            return DeliveryRun(str(claim.assignment_id), "claim_lost")
        recent = list(
            DeliveryAttempt.objects.filter(assignment=assignment).order_by("-number")
            .values_list("outcome", flat=True)[:20]
        )
        streak = 1
        for previous in recent[1:]:
            if previous not in _NO_OFFER_OUTCOMES:
                break
            streak += 1
        delay = backoff(streak, at_least=getattr(exc, "retry_after", None))
        until = now + timedelta(seconds=delay)
        message = (f"Steam: {exc} ({exc.code}). Attempt {claim.number} will be retried at "
                   f"{until:%Y-%m-%d %H:%M:%S} UTC.")
        if outcome == AttemptOutcome.OUTCOME_UNKNOWN:
            message = (f"Steam may have created the offer ({exc}); it was not visible yet. The next attempt, at "
                       f"{until:%Y-%m-%d %H:%M:%S} UTC, looks for it before sending anything.")
        finish_attempt(open_attempt(assignment), outcome, now=now, code=exc.code, message=str(exc))
        update_assignment(assignment, now, status_reason=reason, next_attempt_at=until, delivery_error_message=message)
        record_assignment_event(assignment, "delivery.transient_error", message, actor=actor, source=source,
                                data={"attempt": claim.number, "error": exc.code, "eresult": exc.eresult,
                                      "retryAt": until},
                                severity="error" if isinstance(exc, SteamAuthError) else None)
    return DeliveryRun(str(claim.assignment_id), reason, retry_in=delay, details={"error": exc.code})


def _send_rejected(claim: Claim, exc: SteamPermanentError, *, actor: str, source: str) -> DeliveryRun:
    """Steam refused the send for good: no offer exists, so the assignment can settle."""
    now = timezone.now()
    with transaction.atomic():
        assignment = lock_assignment(claim.assignment_id)
        if assignment is None or not Assignment.objects.filter(_still_ours(claim)).exists():
            return DeliveryRun(str(claim.assignment_id), "claim_lost")
        attempt = open_attempt(assignment)
        finish_attempt(attempt, AttemptOutcome.REJECTED, now=now, code=exc.code, message=str(exc))
        if exc.code == "invalid_trade_url":
            message = f"Steam refused the user's trade URL ({exc}); delivery starts again when a new one is set."
            update_assignment(assignment, now, status=AssignmentStatus.PENDING,
                              status_reason=StatusReason.TRADE_URL_INVALID, next_attempt_at=None,
                              delivery_error_message=message)
            record_assignment_event(assignment, "assignment.waiting", message, actor=actor, source=source,
                                    data={"reason": StatusReason.TRADE_URL_INVALID, "error": exc.code,
                                          "eresult": exc.eresult})
            return DeliveryRun(str(claim.assignment_id), StatusReason.TRADE_URL_INVALID)
        if exc.code == "items_unavailable":
            # Steam says an item is not in the inventory: let the sync find out which.
            queue_sync()
        hint = (" If the user changed their trade URL, store the new one and retry the delivery."
                if exc.code == "access_denied" else "")
        fail_delivery(assignment, attempt, StatusReason.STEAM_REJECTED, now=now, actor=actor, source=source,
                      event_type="delivery.failed",
                      message=f"Steam refused the trade offer: {exc} ({exc.code}). The items are back in the "
                              f"pool.{hint}",
                      data={"error": exc.code, "eresult": exc.eresult})
    return DeliveryRun(str(claim.assignment_id), StatusReason.STEAM_REJECTED, details={"error": exc.code})
