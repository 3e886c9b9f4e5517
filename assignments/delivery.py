"""The delivery engine: assignments become Steam trade offers, followed to the end.

Guarantees
----------
- **One offer per attempt, one live offer per assignment.** An attempt is claimed
  with a conditional UPDATE in a short transaction and recorded (number, tag)
  before Steam is called. Every offer's message carries the attempt's tag
  (`astro:<assignment uuid>:<attempt>`); before any send we look for a tagged
  offer of this assignment that we have not recorded yet, and adopt it instead
  of sending again. That covers the send that timed out after Steam created the
  offer, a worker killed mid-send, and a redelivered task message.
- **No transaction is open while Steam answers.** Claim -> commit -> call Steam
  -> record the outcome in a new transaction that re-checks the claim (the
  assignment still in the state we left it, same attempt, same offer id).
- **Every transition writes its audit event in the same transaction** and leaves
  `status_reason` (a stable code) and, on trouble, `delivery_error_message`.
- **What Steam says wins.** A cancel or resend that races the user's accept ends
  as delivered, and says so.

Assignment states used here (status / status_reason):

    pending     (none)                      due now
    pending     trade_url_required          waits for a trade URL (delivery_resume_for_user)
    pending     trade_url_invalid           the stored URL was refused; waits for a new one
    pending     items_not_tradable          waits until the items' tradable_after
    pending     offer_expired / offer_cancelled / offer_countered /
                offer_cancelled_by_second_factor / offer_invalid / offer_timed_out
                                            the last offer ended undelivered; retry at next_attempt_at
    processing  sending                     a worker holds the attempt (lease: DELIVERY_STUCK_AFTER_SECONDS)
    processing  cancelling                  a cancel holds it while it looks on Steam
    processing  steam_unavailable           Steam failed the send; retried at next_attempt_at
    processing  send_outcome_unknown        the send may have created the offer; looked for again at next_attempt_at
    processing  awaiting_confirmation       offer created, mobile confirmation pending
    processing  awaiting_acceptance         offer active, waiting for the user
    processing  escrow                      accepted into escrow; Steam holds the items
    delivered   (none)
    failed      declined / invalid_items / reverted / attempts_exhausted /
                steam_rejected / items_unavailable
    cancelled   (none)

An assignment goes back to `pending` only when no live offer of it can exist
(its last offer is known to have ended). Anything that may have reached Steam
stays `processing`, so a cancel is always delegated here and looks on Steam.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from assignments.models import (
    HOLDING_REASONS,
    OPEN_ATTEMPT_OUTCOMES,
    WAITING_FOR_URL,
    Assignment,
    AssignmentItem,
    AssignmentStatus,
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryStatus,
    StatusReason,
)
from astro.core.errors import Conflict, NotFound, ServiceUnavailable
from astro.steam.errors import (
    SteamAmbiguousError,
    SteamAuthError,
    SteamError,
    SteamPermanentError,
    SteamRateLimited,
    SteamTransientError,
    is_bot_side,
    needs_trade_protection_ack,
)
from astro.steam.types import AssetRef, OfferState, TradeOffer
from astro.core.tasks import enqueue
from audit.services import record_event, record_events
from items.models import CLAIMED, Item, ItemStatus

logger = logging.getLogger(__name__)

SYSTEM = "system"
WORKER = "worker"

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
_LIVE_STATES = (OfferState.ACTIVE, OfferState.NEEDS_CONFIRMATION)
# Attempts that ended without an offer: their count drives the send backoff.
_NO_OFFER_OUTCOMES = (AttemptOutcome.STEAM_UNAVAILABLE, AttemptOutcome.OUTCOME_UNKNOWN, AttemptOutcome.SUPERSEDED)

# Why Astro cancelled an offer itself (DeliveryAttempt.cancel_requested).
CANCEL_LIFETIME = "lifetime"
CANCEL_ASSIGNMENT = "assignment_cancel"
CANCEL_RESEND = "resend"
CANCEL_DUPLICATE = "duplicate"

# CS2 trade protection lets a trade be reverted for 7 days; watch a little longer.
REVERT_WATCH = timedelta(days=8)
# Items Steam calls untradable without a date are looked at again after this long.
UNTRADABLE_RECHECK = timedelta(hours=1)
SWEEP_BATCH = 200
POLL_LOCK_KEY = "delivery:poll-lock"
# Our clock and Steam's disagree a little; time windows sent to Steam are widened by this.
CLOCK_SLACK = timedelta(minutes=5)
# The sweeper's beat interval; its queued messages expire after it.
SWEEP_INTERVAL_SECONDS = 60
# The delivery task's registered name (assignments/tasks.py): services queue it by name.
DELIVER_TASK = "assignments.deliver_assignment"

_TAG_RE = re.compile(r"astro:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):(\d+)")


class DeliveryRefused(Conflict):
    """An operator or API action that cannot apply to the assignment as it stands.

    Codes: already_delivered, assignment_cancelled, not_failed, not_processing,
    no_offer, offer_in_escrow, delivery_in_progress, items_unavailable.
    """

    code = "delivery_refused"


class DeliverySteamUnavailable(ServiceUnavailable):
    """Steam did not answer an operator action; nothing changed, try again."""

    code = "steam_unavailable"


# ------------------------------------------------------------------- helpers
def attempt_tag(assignment_id, number: int) -> str:
    return f"astro:{assignment_id}:{number}"


def parse_tag(message: str | None) -> tuple[uuid.UUID, int] | None:
    """(assignment id, attempt number) from an offer message carrying our tag."""
    match = _TAG_RE.search(message or "")
    if not match:
        return None
    return uuid.UUID(match.group(1)), int(match.group(2))


def max_attempts_for(assignment_type: str) -> int:
    return settings.DELIVERY_MAX_ATTEMPTS_BY_TYPE.get(assignment_type, settings.DELIVERY_MAX_ATTEMPTS)


def _backoff(count: int, *, at_least: float | None = None) -> float:
    """Exponential from DELIVERY_RETRY_BASE_SECONDS, capped at CELERY_MAX_COUNTDOWN_SECONDS."""
    cap = settings.CELERY_MAX_COUNTDOWN_SECONDS
    delay = min(settings.DELIVERY_RETRY_BASE_SECONDS * 2 ** max(count - 1, 0), cap)
    if at_least:
        delay = min(max(delay, at_least), cap)
    return float(delay)


def _outside_transaction() -> None:
    # The rule the whole engine is built around: a Steam call can take
    # STEAM_HTTP_TIMEOUT_SECONDS; a transaction open that long holds row locks
    # that the API and other workers are waiting for.
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("Steam must not be called inside a database transaction")


def _gateway():
    from astro.steam import get_gateway

    return get_gateway()


def _queue_sync() -> None:
    """A sync right after the transaction commits (accepted trades, invalid items, reverts)."""
    from sync.services import sync_request

    def request() -> None:
        try:
            sync_request(trigger="trade", actor=SYSTEM)
        except Exception:  # the delivery has committed; the periodic sync covers a lost request
            logger.exception("could not queue a sync after a trade")

    transaction.on_commit(request)


def _enqueue_delivery(assignment_id, *, countdown: float | None = None) -> None:
    if countdown:
        countdown = min(countdown, settings.CELERY_MAX_COUNTDOWN_SECONDS)
    enqueue(DELIVER_TASK, str(assignment_id), countdown=countdown or None)


def _load(assignment_id) -> Assignment:
    try:
        return Assignment.objects.select_related("user").get(id=assignment_id)
    except (Assignment.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such assignment.", code="assignment_not_found") from None


def _lock(assignment_id) -> Assignment | None:
    return Assignment.objects.select_for_update(of=("self",)).select_related("user").filter(id=assignment_id).first()


def _open_attempt(assignment: Assignment) -> DeliveryAttempt | None:
    return DeliveryAttempt.objects.filter(assignment=assignment, outcome__in=OPEN_ATTEMPT_OUTCOMES).first()


def _attempt_for_offer(assignment: Assignment, offer_id: str) -> DeliveryAttempt | None:
    return DeliveryAttempt.objects.filter(assignment=assignment, trade_offer_id=offer_id).order_by("-number").first()


def _finish_attempt(attempt: DeliveryAttempt | None, outcome: str, *, now: datetime, code=None, message=None) -> None:
    if attempt is None:
        return
    DeliveryAttempt.objects.filter(pk=attempt.pk).update(
        outcome=outcome, finished_at=now, error_code=code, error_message=message
    )


def _item_ids(assignment: Assignment) -> list:
    return list(
        AssignmentItem.objects.filter(assignment_id=assignment.id).order_by("item_id").values_list("item_id", flat=True)
    )


def _event(assignment: Assignment, event_type: str, description: str, *, actor: str, source: str, data=None,
           severity=None) -> None:
    record_event(
        event_type=event_type,
        description=description,
        actor=actor,
        source=source,
        user_id=assignment.user_id,
        assignment_id=assignment.id,
        external_system=assignment.external_system,
        data=data or {},
        severity=severity,
    )


def _item_events(assignment: Assignment, item_ids, event_type: str, description: str, *, actor: str, source: str,
                 data=None) -> None:
    record_events([
        {
            "event_type": event_type,
            "description": description,
            "actor": actor,
            "source": source,
            "user_id": assignment.user_id,
            "item_id": item_id,
            "assignment_id": assignment.id,
            "external_system": assignment.external_system,
            "data": data or {},
        }
        for item_id in item_ids
    ])


def _release_items(assignment: Assignment, *, now, actor: str, source: str, why: str, only=None) -> list:
    """Reserved / offered items of this assignment back to the pool (available, unassigned)."""
    ids = only if only is not None else _item_ids(assignment)
    released = list(
        Item.objects.filter(
            id__in=ids, assigned_to_user_id=assignment.user_id, status__in=CLAIMED
        ).values_list("id", flat=True)
    )
    Item.objects.filter(id__in=released).update(
        status=ItemStatus.AVAILABLE, assigned_to_user=None, assigned_at=None, delivery_trade_offer_id=None,
        updated_at=now,
    )
    _item_events(assignment, released, "item.released", f"Back in the pool: {why}.", actor=actor, source=source,
                 data={"reason": why})
    return released


def _set_assignment_items(assignment: Assignment, status: str, *, delivered_at=None, only=None) -> None:
    rows = AssignmentItem.objects.filter(assignment_id=assignment.id)
    if only is not None:
        rows = rows.filter(item_id__in=only)
    rows.update(delivery_status=status, delivered_at=delivered_at)


def _update(assignment: Assignment, now, **fields) -> None:
    Assignment.objects.filter(id=assignment.id).update(updated_at=now, **fields)
    for name, value in fields.items():
        setattr(assignment, name, value)


# ------------------------------------------------------------------- results
@dataclass
class DeliveryRun:
    """What one call of `delivery_run` did. `retry_in`: seconds until it is worth calling again."""

    assignment_id: str
    outcome: str
    offer_id: str | None = None
    retry_in: float | None = None
    details: dict = field(default_factory=dict)


@dataclass
class _Claim:
    assignment_id: uuid.UUID
    number: int
    tag: str
    trade_url: str
    assets: list[AssetRef]
    known_offer_ids: set[str]
    search_since: datetime | None = None
    # The recipient; with `assets`, what an offer must be to be adopted as this delivery.
    user_id: int | None = None


# ==================================================================== sending
def delivery_run(*, assignment_id, actor: str = SYSTEM, source: str = WORKER) -> DeliveryRun:
    """Start (or resume) delivery of one assignment, if it is due; safe to call any number of times.

    Claims the assignment in a short transaction (a conditional UPDATE: one caller
    wins, the others return `not_due`), records the attempt and its tag, commits,
    and only then talks to Steam: adopts an offer of ours with this assignment's
    tag if one exists, otherwise sends one offer with all the items.
    """
    _outside_transaction()
    claim = _claim(assignment_id, actor=actor, source=source)
    if isinstance(claim, DeliveryRun):
        return claim
    return _send(claim, actor=actor, source=source)


def _is_due(assignment: Assignment, now: datetime) -> bool:
    if assignment.status == AssignmentStatus.PENDING:
        if assignment.status_reason in WAITING_FOR_URL and not assignment.user.trade_url:
            return False
        return assignment.next_attempt_at is None or assignment.next_attempt_at <= now
    if assignment.status == AssignmentStatus.PROCESSING and assignment.delivery_trade_offer_id is None:
        if assignment.status_reason in HOLDING_REASONS:
            stuck_before = now - timedelta(seconds=settings.DELIVERY_STUCK_AFTER_SECONDS)
            return assignment.last_delivery_attempt_at is None or assignment.last_delivery_attempt_at <= stuck_before
        return assignment.next_attempt_at is None or assignment.next_attempt_at <= now
    return False


def _wait(assignment: Assignment, reason: str, *, now, until, message: str, actor: str, source: str) -> DeliveryRun:
    changed = assignment.status_reason != reason
    _update(assignment, now, status_reason=reason, next_attempt_at=until, delivery_error_message=message)
    if changed:
        _event(assignment, "assignment.waiting", message, actor=actor, source=source,
               data={"reason": reason, "until": until})
    retry_in = (until - now).total_seconds() if until else None
    return DeliveryRun(str(assignment.id), reason, retry_in=retry_in)


def _claim(assignment_id, *, actor: str, source: str) -> _Claim | DeliveryRun:
    now = timezone.now()
    with transaction.atomic():
        assignment = _lock(assignment_id)
        if assignment is None:
            return DeliveryRun(str(assignment_id), "not_found")
        if not _is_due(assignment, now):
            return DeliveryRun(str(assignment_id), "not_due")
        items = list(Item.objects.filter(assignment_items__assignment=assignment).order_by("id"))
        trade_url = assignment.user.trade_url

        if assignment.status == AssignmentStatus.PENDING:
            # Nothing of this assignment can be on Steam while it is pending, so
            # these waits are safe; a takeover of `processing` must look first.
            if not trade_url:
                return _wait(assignment, StatusReason.TRADE_URL_REQUIRED, now=now, until=None, actor=actor, source=source,
                             message="The user has no trade URL; delivery starts when one is set.")
            problem = _trade_url_problem(trade_url, assignment.user_id)
            if problem:
                return _wait(assignment, StatusReason.TRADE_URL_INVALID, now=now, until=None, actor=actor, source=source,
                             message=f"The user's trade URL cannot be used ({problem}); delivery starts when a new one is set.")
            gone = [item for item in items if item.status not in CLAIMED
                    or item.assigned_to_user_id != assignment.user_id]
            if gone:
                names = ", ".join(f"{item.item_name} ({item.status})" for item in gone)
                _fail(assignment, None, StatusReason.ITEMS_UNAVAILABLE, now=now, actor=actor, source=source,
                      message=f"Items of this assignment are no longer in the pool: {names}. "
                              "The other items are back in the pool; create a new assignment.",
                      event_type="delivery.failed")
                return DeliveryRun(str(assignment.id), StatusReason.ITEMS_UNAVAILABLE)
            hold = [item for item in items if not item.tradable or (item.tradable_after and item.tradable_after > now)]
            if hold:
                dates = [item.tradable_after for item in hold if item.tradable_after and item.tradable_after > now]
                until = max(dates) if dates and all(item.tradable_after for item in hold) else now + UNTRADABLE_RECHECK
                return _wait(assignment, StatusReason.ITEMS_NOT_TRADABLE, now=now, until=until, actor=actor, source=source,
                             message=f"{len(hold)} item(s) cannot be traded yet; the next look is at {until:%Y-%m-%d %H:%M} UTC.")

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
        stale = _open_attempt(assignment)
        if stale is not None:
            # The worker that held it stopped (killed, or its host died) before it
            # recorded an offer. It may have created one: the lookup below adopts it.
            _finish_attempt(stale, AttemptOutcome.SUPERSEDED, now=now, code="worker_stopped",
                            message="The attempt's worker stopped before recording an offer.")
            _event(assignment, "delivery.attempt_recovered",
                   f"Attempt {stale.number} stopped without recording an offer; attempt {previous + 1} takes over "
                   "and looks for its offer before sending.",
                   actor=actor, source=source, data={"stale_attempt": stale.number, "stale_tag": stale.tag})
        number = previous + 1
        tag = attempt_tag(assignment.id, number)
        DeliveryAttempt.objects.create(assignment=assignment, number=number, tag=tag, started_at=now)
        _event(assignment, "delivery.attempt_started", f"Delivery attempt {number} started.", actor=actor,
               source=source, data={"attempt": number, "tag": tag, "item_ids": [str(item.id) for item in items]})
        known = set(
            DeliveryAttempt.objects.filter(assignment=assignment, trade_offer_id__isnull=False)
            .values_list("trade_offer_id", flat=True)
        )
        return _Claim(
            search_since=_search_since(assignment),
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
    from astro.steam.parsing import parse_trade_url

    try:
        parsed = parse_trade_url(trade_url)
    except SteamPermanentError as exc:
        return str(exc)
    if parsed.steam_id != steam_id:
        # DESIGN §4: an offer must never go to someone other than the assignment's user.
        return "its partner is another Steam account"
    return None


def _search_since(assignment: Assignment) -> datetime:
    """Any unrecorded offer of ours was made by an attempt that recorded none, so it
    changed after the first such attempt started (minus slack for clock skew)."""
    first = (
        DeliveryAttempt.objects.filter(assignment=assignment, trade_offer_id__isnull=True)
        .order_by("started_at").values_list("started_at", flat=True).first()
    )
    return (first or timezone.now()) - CLOCK_SLACK


def _find_our_offer(gateway, claim: _Claim, *, exact: bool = False) -> TradeOffer | None:
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


def _matches_claim(offer: TradeOffer, claim: _Claim) -> bool:
    given = sorted((a.app_id, a.context_id, a.asset_id) for a in offer.items_to_give)
    wanted = sorted((a.app_id, a.context_id, a.asset_id) for a in claim.assets)
    return offer.partner_steam_id == claim.user_id and given == wanted and not offer.items_to_receive


def _send(claim: _Claim, *, actor: str, source: str) -> DeliveryRun:
    gateway = _gateway()
    try:
        existing = _find_our_offer(gateway, claim, exact=True)
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
            existing = _find_our_offer(gateway, claim, exact=True)
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


def _renew_lease(claim: _Claim) -> bool:
    """Check we still hold the claim and restart its lease, right before the send.

    One fenced UPDATE (autocommit, no lock kept): between the claim and the send
    the look may have taken long (paging, retries, a login), and a takeover is
    decided from `last_delivery_attempt_at`. Renewing it here means a takeover
    can only happen while this worker is inside the send itself, which the
    gateway bounds with STEAM_HTTP_TIMEOUT_SECONDS, far below the lease."""
    now = timezone.now()
    return Assignment.objects.filter(_still_ours(claim)).update(last_delivery_attempt_at=now, updated_at=now) == 1


def _still_ours(claim: _Claim) -> Q:
    # The fence for every write after a Steam call: the assignment is still in the
    # attempt we claimed, and nobody (a takeover, a cancel) has taken it since.
    return Q(id=claim.assignment_id, status=AssignmentStatus.PROCESSING, delivery_attempts=claim.number,
             delivery_trade_offer_id__isnull=True, status_reason=StatusReason.SENDING)


def _record_offer(claim: _Claim, offer_id: str, offer: TradeOffer | None, *, adopted: bool, actor: str, source: str,
                  needs_confirmation: bool | None = None) -> DeliveryRun:
    """Write down the offer id before anything else happens to it (confirmation included):
    from here on, a crash leaves an offer we know about, never one we do not."""
    now = timezone.now()
    if needs_confirmation is None:
        needs_confirmation = offer is not None and offer.state == OfferState.NEEDS_CONFIRMATION
    with transaction.atomic():
        assignment = _lock(claim.assignment_id)
        ours = assignment is not None and Assignment.objects.filter(_still_ours(claim)).exists()
        if ours:
            reason = StatusReason.AWAITING_CONFIRMATION if needs_confirmation else StatusReason.AWAITING_ACCEPTANCE
            _update(assignment, now, delivery_trade_offer_id=offer_id, status_reason=reason, next_attempt_at=None,
                    delivery_error_message=None)
            DeliveryAttempt.objects.filter(assignment=assignment, number=claim.number).update(
                trade_offer_id=offer_id, adopted=adopted, outcome=AttemptOutcome.OFFER_ACTIVE
            )
            item_ids = _item_ids(assignment)
            Item.objects.filter(id__in=item_ids, status=ItemStatus.RESERVED).update(
                status=ItemStatus.IN_OFFER, delivery_trade_offer_id=offer_id, updated_at=now
            )
            _set_assignment_items(assignment, DeliveryStatus.IN_OFFER)
            data = {"attempt": claim.number, "tag": claim.tag, "offer_id": offer_id}
            if adopted:
                _event(assignment, "delivery.offer_adopted",
                       f"Found our offer {offer_id} on Steam (message {offer.message!r}) and adopted it instead of "
                       "sending another.", actor=actor, source=source,
                       data={**data, "offer_tag": offer.message, "state": int(offer.state)})
            else:
                _event(assignment, "delivery.offer_sent", f"Trade offer {offer_id} sent.", actor=actor,
                       source=source, data={**data, "needs_confirmation": needs_confirmation})
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
            _cancel_stray_offer(claim.assignment_id, offer_id, actor=actor, source=source,
                                why="its attempt had lost its claim on the assignment")
        return DeliveryRun(str(claim.assignment_id), "claim_lost", offer_id=offer_id)

    if offer is not None and offer.state != OfferState.NEEDS_CONFIRMATION:
        # An adopted offer may have moved on already (accepted, declined...).
        apply_offer_state(assignment_id=claim.assignment_id, offer=offer, actor=actor, source=source)
    elif needs_confirmation:
        _confirm(claim.assignment_id, offer_id, actor=actor, source=source)
    return DeliveryRun(str(claim.assignment_id), "adopted" if adopted else "sent", offer_id=offer_id)


def _confirm(assignment_id, offer_id: str, *, actor: str, source: str) -> bool:
    """Mobile-confirm our offer (state 9 -> 2). A failure is left to the poller, which
    confirms state-9 offers again, and cancels them after the offer lifetime."""
    try:
        _gateway().confirm_offer(offer_id)
    except SteamError as exc:
        logger.warning("confirming offer %s of %s failed: %s", offer_id, assignment_id, exc)
        now = timezone.now()
        with transaction.atomic():
            assignment = _lock(assignment_id)
            if assignment and assignment.delivery_trade_offer_id == offer_id and assignment.delivery_error_message != str(exc):
                _update(assignment, now, delivery_error_message=f"Confirming offer {offer_id} failed: {exc}")
                _event(assignment, "delivery.transient_error",
                       f"Confirming offer {offer_id} failed ({exc.code}); the poller tries again.",
                       actor=actor, source=source, data={"offer_id": offer_id, "error": exc.code})
        return False
    now = timezone.now()
    with transaction.atomic():
        assignment = _lock(assignment_id)
        if (assignment and assignment.status == AssignmentStatus.PROCESSING
                and assignment.delivery_trade_offer_id == offer_id
                and assignment.status_reason == StatusReason.AWAITING_CONFIRMATION):
            _update(assignment, now, status_reason=StatusReason.AWAITING_ACCEPTANCE, delivery_error_message=None)
            _event(assignment, "delivery.offer_confirmed", f"Trade offer {offer_id} confirmed; waiting for the user.",
                   actor=actor, source=source, data={"offer_id": offer_id})
    return True


def _send_failed_softly(claim: _Claim, exc: SteamError, reason: str, outcome: str, *, actor: str,
                        source: str) -> DeliveryRun:
    """No offer now, another attempt later. The assignment stays `processing`: after
    an ambiguous send an offer may exist, and only this engine may settle that."""
    now = timezone.now()
    with transaction.atomic():
        assignment = _lock(claim.assignment_id)
        if assignment is None or not Assignment.objects.filter(_still_ours(claim)).exists():
            return DeliveryRun(str(claim.assignment_id), "claim_lost")
        recent = list(
            DeliveryAttempt.objects.filter(assignment=assignment).order_by("-number").values_list("outcome", flat=True)[:20]
        )
        streak = 1
        for previous in recent[1:]:
            if previous not in _NO_OFFER_OUTCOMES:
                break
            streak += 1
        delay = _backoff(streak, at_least=getattr(exc, "retry_after", None))
        until = now + timedelta(seconds=delay)
        message = f"Steam: {exc} ({exc.code}). Attempt {claim.number} will be retried at {until:%Y-%m-%d %H:%M:%S} UTC."
        if outcome == AttemptOutcome.OUTCOME_UNKNOWN:
            message = (f"Steam may have created the offer ({exc}); it was not visible yet. The next attempt, at "
                       f"{until:%Y-%m-%d %H:%M:%S} UTC, looks for it before sending anything.")
        _finish_attempt(_open_attempt(assignment), outcome, now=now, code=exc.code, message=str(exc))
        _update(assignment, now, status_reason=reason, next_attempt_at=until, delivery_error_message=message)
        _event(assignment, "delivery.transient_error", message, actor=actor, source=source,
               data={"attempt": claim.number, "error": exc.code, "eresult": exc.eresult, "retry_at": until},
               severity="error" if isinstance(exc, SteamAuthError) else None)
    return DeliveryRun(str(claim.assignment_id), reason, retry_in=delay, details={"error": exc.code})


def _send_rejected(claim: _Claim, exc: SteamPermanentError, *, actor: str, source: str) -> DeliveryRun:
    """Steam refused the send for good: no offer exists, so the assignment can settle."""
    now = timezone.now()
    with transaction.atomic():
        assignment = _lock(claim.assignment_id)
        if assignment is None or not Assignment.objects.filter(_still_ours(claim)).exists():
            return DeliveryRun(str(claim.assignment_id), "claim_lost")
        attempt = _open_attempt(assignment)
        _finish_attempt(attempt, AttemptOutcome.REJECTED, now=now, code=exc.code, message=str(exc))
        if exc.code == "invalid_trade_url":
            message = f"Steam refused the user's trade URL ({exc}); delivery starts again when a new one is set."
            _update(assignment, now, status=AssignmentStatus.PENDING, status_reason=StatusReason.TRADE_URL_INVALID,
                    next_attempt_at=None, delivery_error_message=message)
            _event(assignment, "assignment.waiting", message, actor=actor, source=source,
                   data={"reason": StatusReason.TRADE_URL_INVALID, "error": exc.code, "eresult": exc.eresult})
            return DeliveryRun(str(claim.assignment_id), StatusReason.TRADE_URL_INVALID)
        if exc.code == "items_unavailable":
            # Steam says an item is not in the inventory: let the sync find out which.
            _queue_sync()
        hint = (" If the user changed their trade URL, store the new one and retry the delivery."
                if exc.code == "access_denied" else "")
        _fail(assignment, attempt, StatusReason.STEAM_REJECTED, now=now, actor=actor, source=source, event_type="delivery.failed",
              message=f"Steam refused the trade offer: {exc} ({exc.code}). The items are back in the pool.{hint}",
              data={"error": exc.code, "eresult": exc.eresult})
    return DeliveryRun(str(claim.assignment_id), StatusReason.STEAM_REJECTED, details={"error": exc.code})


def _cancel_stray_offer(assignment_id, offer_id: str, *, actor: str, source: str, why: str) -> None:
    """Take an offer of ours that nothing follows off Steam (never leave a live offer untracked)."""
    try:
        _gateway().cancel_offer(offer_id)
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
            _event(assignment, "delivery.offer_cancelled", f"Cancelled stray offer {offer_id}: {why}.",
                   actor=actor, source=source, data={"offer_id": offer_id, "reason": CANCEL_DUPLICATE})


# ============================================================ following offers
def _offer_age_exceeded(offer: TradeOffer, attempt: DeliveryAttempt | None, now: datetime) -> bool:
    started = offer.created_at or (attempt.started_at if attempt else None)
    return started is not None and now - started > timedelta(seconds=settings.DELIVERY_OFFER_LIFETIME_SECONDS)


def apply_offer_state(*, assignment_id, offer: TradeOffer, actor: str = SYSTEM, source: str = WORKER) -> str:
    """Move the assignment to what the offer's state means (DESIGN §3). Returns what happened.

    Steam calls this needs (confirming a state-9 offer, cancelling one past its
    lifetime) happen first, outside any transaction; the transition itself
    re-checks, under the assignment's row lock, that the assignment still follows
    this offer, so a poll, a check-now and a cancel can race without harm.
    """
    _outside_transaction()
    now = timezone.now()
    state = offer.state
    if state in _LIVE_STATES:
        assignment = Assignment.objects.filter(
            id=assignment_id, status=AssignmentStatus.PROCESSING, delivery_trade_offer_id=offer.offer_id
        ).first()
        if assignment is None:
            return "not_following"
        attempt = _attempt_for_offer(assignment, offer.offer_id)
        if _offer_age_exceeded(offer, attempt, now):
            return _cancel_and_settle(assignment, offer.offer_id, CANCEL_LIFETIME, actor=actor, source=source)
        if state == OfferState.NEEDS_CONFIRMATION:
            if assignment.status_reason != StatusReason.AWAITING_CONFIRMATION:
                with transaction.atomic():
                    locked = _lock(assignment.id)
                    if locked.delivery_trade_offer_id == offer.offer_id and locked.status == AssignmentStatus.PROCESSING:
                        _update(locked, now, status_reason=StatusReason.AWAITING_CONFIRMATION)
            _confirm(assignment.id, offer.offer_id, actor=actor, source=source)
            return "confirming"
        if assignment.status_reason != StatusReason.AWAITING_ACCEPTANCE:
            with transaction.atomic():
                locked = _lock(assignment.id)
                if locked.delivery_trade_offer_id == offer.offer_id and locked.status == AssignmentStatus.PROCESSING:
                    _update(locked, now, status_reason=StatusReason.AWAITING_ACCEPTANCE)
        return "active"

    with transaction.atomic():
        assignment = _lock(assignment_id)
        if assignment is None or assignment.delivery_trade_offer_id != offer.offer_id:
            return "not_following"
        attempt = _attempt_for_offer(assignment, offer.offer_id)
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
                _update(assignment, now, status_reason=StatusReason.ESCROW, delivery_error_message=None)
                if attempt is not None:
                    DeliveryAttempt.objects.filter(pk=attempt.pk).update(outcome=AttemptOutcome.ESCROW)
                _event(assignment, "delivery.escrow",
                       f"The user accepted offer {offer.offer_id} into escrow; Steam holds the items"
                       + (f" until {until:%Y-%m-%d %H:%M} UTC." if until else "."),
                       actor=actor, source=source, data={"offer_id": offer.offer_id, "escrow_end_at": until})
            return "escrow"
        if state == OfferState.DECLINED:
            _fail(assignment, attempt, StatusReason.DECLINED, now=now, actor=actor, source=source, event_type="delivery.declined",
                  outcome=AttemptOutcome.DECLINED, data={"offer_id": offer.offer_id},
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
                _cancelled(assignment, attempt, now=now, actor=actor, source=source,
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
    item_ids = _item_ids(assignment)
    # `missing` too: a sync may have seen the items leave before we saw the accept.
    changed = list(
        Item.objects.filter(id__in=item_ids).exclude(status=ItemStatus.DELIVERED).values_list("id", flat=True)
    )
    Item.objects.filter(id__in=changed).update(
        status=ItemStatus.DELIVERED, delivered_at=now, delivery_trade_offer_id=offer.offer_id, updated_at=now
    )
    _set_assignment_items(assignment, DeliveryStatus.DELIVERED, delivered_at=now)
    _update(assignment, now, status=AssignmentStatus.DELIVERED, status_reason=None, delivered_at=now,
            next_attempt_at=None, delivery_error_message=None)
    if attempt is not None:
        _finish_attempt(attempt, AttemptOutcome.ACCEPTED, now=now)
    _event(assignment, "delivery.accepted", f"The user accepted trade offer {offer.offer_id}; delivered.",
           actor=actor, source=source, data={"offer_id": offer.offer_id, "trade_id": offer.trade_id,
                                             "item_ids": [str(i) for i in item_ids]})
    _item_events(assignment, changed, "item.delivered", f"Delivered in trade offer {offer.offer_id}.", actor=actor,
                 source=source, data={"offer_id": offer.offer_id, "trade_id": offer.trade_id})
    _queue_sync()


def _fail(assignment, attempt, reason: str, *, now, actor, source, message: str, event_type: str,
          outcome: str | None = None, data=None, release_only=None) -> None:
    """The assignment ends `failed`; its items go back to the pool (except those
    `release_only` leaves out, which the caller has settled itself)."""
    _release_items(assignment, now=now, actor=actor, source=source, why=f"delivery failed ({reason})",
                   only=release_only)
    _set_assignment_items(assignment, DeliveryStatus.FAILED)
    _update(assignment, now, status=AssignmentStatus.FAILED, status_reason=reason, failed_at=now,
            next_attempt_at=None, delivery_error_message=message)
    if attempt is not None and outcome is not None:
        _finish_attempt(attempt, outcome, now=now, code=reason)
    _event(assignment, event_type, message, actor=actor, source=source, data={"reason": reason, **(data or {})})


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
        _fail(assignment, None, StatusReason.ATTEMPTS_EXHAUSTED, now=now, actor=actor, source=source, event_type="delivery.failed",
              data={"offer_id": offer_id, "attempts": used, "max_attempts": limit, "last_outcome": outcome},
              message=f"{said}; that was attempt {used} of {limit}, so delivery gave up. The items are back in "
                      "the pool; an operator can retry.")
        return
    delay = 0.0 if immediately else _backoff(used)
    until = now + timedelta(seconds=delay)
    item_ids = _item_ids(assignment)
    Item.objects.filter(id__in=item_ids, status=ItemStatus.IN_OFFER).update(
        status=ItemStatus.RESERVED, delivery_trade_offer_id=None, updated_at=now
    )
    _set_assignment_items(assignment, DeliveryStatus.PENDING)
    message = f"{said}; attempt {used + 1} of {limit} at {until:%Y-%m-%d %H:%M:%S} UTC."
    _update(assignment, now, status=AssignmentStatus.PENDING, status_reason=reason, delivery_trade_offer_id=None,
            next_attempt_at=until, delivery_error_message=message)
    _event(assignment, "delivery.retry_scheduled", message, actor=actor, source=source,
           data={"offer_id": offer_id, "reason": reason, "retry_at": until, "attempts": used, "max_attempts": limit})
    _enqueue_delivery(assignment.id, countdown=delay)


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
    _item_events(assignment, flagged, "item.missing",
                 f"Steam reported the item as unavailable in offer {offer.offer_id}; the sync checks it.",
                 actor=actor, source=source, data={"offer_id": offer.offer_id, "reason": StatusReason.INVALID_ITEMS})
    others = [i.id for i in items if i.id not in set(flagged)]
    _fail(assignment, attempt, StatusReason.INVALID_ITEMS, now=now, actor=actor, source=source, event_type="delivery.invalid_items",
          outcome=AttemptOutcome.INVALID_ITEMS, release_only=others,
          data={"offer_id": offer.offer_id, "missing_item_ids": [str(i) for i in flagged]},
          message=f"Steam reported {len(flagged)} of {len(items)} item(s) of offer {offer.offer_id} as no longer "
                  "available; the assignment failed. The other items are back in the pool; a sync checks the "
                  "reported ones.")
    _queue_sync()


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
            id__in=_item_ids(assignment), delivery_trade_offer_id=offer.offer_id,
            status__in=[ItemStatus.DELIVERED, ItemStatus.IN_OFFER],
        ).values_list("id", flat=True)
    )
    Item.objects.filter(id__in=item_ids).update(
        status=ItemStatus.REMOVED, assigned_to_user=None, assigned_at=None, updated_at=now
    )
    _item_events(assignment, item_ids, "item.removed",
                 f"Trade of offer {offer.offer_id} was reverted; the sync takes the items back in.",
                 actor=actor, source=source, data={"offer_id": offer.offer_id, "reason": StatusReason.REVERTED})
    _set_assignment_items(assignment, DeliveryStatus.RETURNED)
    message = (f"Steam reverted the trade of offer {offer.offer_id} (trade protection); the user no longer has "
               "the items. They return to the pool when the sync sees them.")
    _update(assignment, now, status=AssignmentStatus.FAILED, status_reason=StatusReason.REVERTED, failed_at=now,
            next_attempt_at=None, delivery_error_message=message)
    if attempt is not None:
        _finish_attempt(attempt, AttemptOutcome.REVERTED, now=now, code=StatusReason.REVERTED)
    _event(assignment, "delivery.reverted", message, actor=actor, source=source,
           data={"offer_id": offer.offer_id, "trade_id": offer.trade_id})
    _queue_sync()


def _cancelled(assignment, attempt, *, now, actor, source, reason: str) -> None:
    offer_id = assignment.delivery_trade_offer_id
    if attempt is not None:
        _finish_attempt(attempt, AttemptOutcome.CANCELLED_BY_ASTRO, now=now, code="cancelled")
    if offer_id:
        _event(assignment, "delivery.offer_cancelled", f"Cancelled trade offer {offer_id}: {reason}.", actor=actor,
               source=source, data={"offer_id": offer_id, "reason": CANCEL_ASSIGNMENT})
    _release_items(assignment, now=now, actor=actor, source=source, why="assignment cancelled")
    _set_assignment_items(assignment, DeliveryStatus.CANCELLED)
    _update(assignment, now, status=AssignmentStatus.CANCELLED, status_reason=None, cancelled_at=now,
            next_attempt_at=None)
    _event(assignment, "assignment.cancelled", f"Assignment cancelled: {reason}.", actor=actor, source=source,
           data={"reason": reason, "offer_id": offer_id})


def _cancel_and_settle(assignment: Assignment, offer_id: str, why: str, *, actor: str, source: str) -> str:
    """Ask Steam to cancel our offer, then apply whatever state Steam reports after
    it (the user may have accepted in the meantime: then it is delivered)."""
    DeliveryAttempt.objects.filter(assignment=assignment, trade_offer_id=offer_id).update(cancel_requested=why)
    gateway = _gateway()
    try:
        gateway.cancel_offer(offer_id)
    except SteamPermanentError as exc:
        # Typically: no longer active (accepted, declined...). The state below says what it became.
        logger.info("cancel of offer %s refused: %s", offer_id, exc)
    offer = gateway.get_offer(offer_id)
    if offer is None:
        raise SteamTransientError(f"offer {offer_id} was not found on Steam after cancelling it")
    if offer.state in _LIVE_STATES:
        raise SteamTransientError(f"offer {offer_id} is still active after cancelling it")
    return apply_offer_state(assignment_id=assignment.id, offer=offer, actor=actor, source=source)


def delivery_poll(*, actor: str = SYSTEM, source: str = WORKER) -> dict:
    """Follow every offer we have out: one listing of our sent offers, a direct look
    at each offer the listing leaves out, and each state applied. Also watches
    recently delivered trades for reverts (CS2 trade protection) and takes stray
    offers of ours (live, tagged, followed by nothing) off Steam.

    One poll at a time (a Redis lock): two would be harmless, every transition is
    fenced, but would double the Steam calls. A poll that finds the lock taken
    returns {"skipped": 1}."""
    _outside_transaction()
    token = uuid.uuid4().hex
    # Short-lived: a poll killed with the lock held must not stop following offers
    # for long; an overlap after a very slow poll is only wasteful.
    if not cache.add(POLL_LOCK_KEY, token, timeout=max(60, 2 * settings.DELIVERY_POLL_INTERVAL_SECONDS)):
        return {"skipped": 1}
    try:
        return _poll(actor=actor, source=source)
    finally:
        if cache.get(POLL_LOCK_KEY) == token:
            cache.delete(POLL_LOCK_KEY)


def _poll(*, actor: str, source: str) -> dict:
    now = timezone.now()
    active = list(
        Assignment.objects.filter(status=AssignmentStatus.PROCESSING, delivery_trade_offer_id__isnull=False)
        .order_by("-assignment_priority", "created_at")
        .values_list("id", "delivery_trade_offer_id")
    )
    watched = dict(
        Assignment.objects.filter(status=AssignmentStatus.DELIVERED, delivered_at__gte=now - REVERT_WATCH)
        .exclude(delivery_trade_offer_id=None)
        .values_list("delivery_trade_offer_id", "id")
    )
    counts: dict[str, int] = {}
    if not active and not watched:
        return counts
    gateway = _gateway()
    # Active offers, plus those that changed lately (accepted, declined, reverted...).
    window = timedelta(seconds=max(600, 10 * settings.DELIVERY_POLL_INTERVAL_SECONDS)) + CLOCK_SLACK
    listed = {offer.offer_id: offer for offer in gateway.get_sent_offers(active_only=True, changed_since=now - window)}
    for assignment_id, offer_id in active:
        try:
            offer = listed.get(offer_id) or gateway.get_offer(offer_id)
            if offer is None:
                outcome = _offer_not_found(assignment_id, offer_id, actor=actor, source=source)
            else:
                outcome = apply_offer_state(assignment_id=assignment_id, offer=offer, actor=actor, source=source)
        except SteamRateLimited as exc:
            # Steam asks us to slow down: the rest waits for the next poll.
            logger.warning("poll stopped at %s: %s", assignment_id, exc)
            counts["rate_limited"] = counts.get("rate_limited", 0) + 1
            break
        except SteamError as exc:
            # One offer Steam will not settle (e.g. a cancel it ignores) must not
            # starve the offers behind it: log it and go on.
            logger.warning("poll of %s failed: %s", assignment_id, exc)
            outcome = "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    for offer_id, assignment_id in watched.items():
        offer = listed.get(offer_id)
        if offer is not None and offer.state == OfferState.REVERTED:
            outcome = apply_offer_state(assignment_id=assignment_id, offer=offer, actor=actor, source=source)
            counts[outcome] = counts.get(outcome, 0) + 1
    counts["stray_cancelled"] = _cancel_strays(listed.values(), actor=actor, source=source)
    return counts


def _offer_not_found(assignment_id, offer_id: str, *, actor: str, source: str) -> str:
    # Steam does not know an offer it gave us an id for: rare (a Steam hiccup, or a
    # wiped sandbox). Nothing is changed on a guess; an operator can resend.
    now = timezone.now()
    with transaction.atomic():
        assignment = _lock(assignment_id)
        message = f"Steam does not know trade offer {offer_id}; an operator should check it and resend."
        if (assignment and assignment.delivery_trade_offer_id == offer_id
                and assignment.delivery_error_message != message):
            _update(assignment, now, delivery_error_message=message)
            _event(assignment, "delivery.transient_error", message, actor=actor, source=source,
                   data={"offer_id": offer_id, "error": "offer_not_found"})
    return "offer_not_found"


def _cancel_strays(offers, *, actor: str, source: str) -> int:
    """Live offers tagged by us that no attempt records and no sender can still adopt."""
    tagged = {}
    for offer in offers:
        parsed = parse_tag(offer.message)
        if parsed and offer.state in _LIVE_STATES:
            tagged[offer.offer_id] = parsed[0]
    if not tagged:
        return 0
    known = set(DeliveryAttempt.objects.filter(trade_offer_id__in=tagged).values_list("trade_offer_id", flat=True))
    cancelled = 0
    for offer_id, assignment_id in tagged.items():
        if offer_id in known:
            continue
        assignment = Assignment.objects.filter(id=assignment_id).first()
        if assignment is None:
            continue  # another Astro installation's tag, or a foreign message: not ours to touch
        adoptable = assignment.status == AssignmentStatus.PENDING or (
            assignment.status == AssignmentStatus.PROCESSING and assignment.delivery_trade_offer_id is None
        )
        if adoptable:
            continue  # the next attempt adopts it
        _cancel_stray_offer(assignment_id, offer_id, actor=actor, source=source,
                            why=f"no attempt follows it and the assignment is {assignment.status}")
        cancelled += 1
    return cancelled


def delivery_sweep(*, now: datetime | None = None) -> int:
    """Queue a delivery task for every assignment whose delivery is due but may have
    lost its message: pending and due, or processing without an offer and either
    stuck (its worker gone for DELIVERY_STUCK_AFTER_SECONDS) or due for a retry.
    Highest assignment_priority first. Returns how many were queued."""
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.DELIVERY_STUCK_AFTER_SECONDS)
    due_time = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    pending = Q(status=AssignmentStatus.PENDING) & due_time & ~(
        Q(status_reason__in=WAITING_FOR_URL) & (Q(user__trade_url__isnull=True) | Q(user__trade_url=""))
    ) & ~Q(status_reason=StatusReason.TRADE_URL_INVALID)
    unsent = Q(status=AssignmentStatus.PROCESSING, delivery_trade_offer_id__isnull=True) & (
        (Q(status_reason__in=HOLDING_REASONS) & (Q(last_delivery_attempt_at__isnull=True)
                                                 | Q(last_delivery_attempt_at__lte=stuck_before)))
        | (~Q(status_reason__in=HOLDING_REASONS) & due_time)
    )
    due = list(
        Assignment.objects.filter(pending | unsent)
        .order_by("-assignment_priority", "created_at")
        .values_list("id", flat=True)[:SWEEP_BATCH]
    )
    for assignment_id in due:
        # Expires with the next sweep: while workers are down, sweeps must not pile
        # up copies of the same message (duplicates would be harmless, only wasteful).
        enqueue(DELIVER_TASK, str(assignment_id), expires=SWEEP_INTERVAL_SECONDS)
    return len(due)


# ================================================== operator and API actions
def delivery_resume_for_user(*, steam_id: int) -> int:
    """A user's trade URL was set: start the deliveries that were waiting for it."""
    now = timezone.now()
    resumed = []
    with transaction.atomic():
        waiting = Assignment.objects.select_for_update().filter(
            user_id=steam_id, status=AssignmentStatus.PENDING, status_reason__in=WAITING_FOR_URL
        )
        for assignment in waiting:
            previous = assignment.status_reason
            _update(assignment, now, status_reason=None, next_attempt_at=None)
            _event(assignment, "assignment.resumed", "The user's trade URL is set; delivery goes on.",
                   actor=SYSTEM, source="worker", data={"waitedFor": previous})
            _enqueue_delivery(assignment.id)
            resumed.append(assignment.id)
    return len(resumed)


def _refuse_settled(assignment: Assignment) -> None:
    if assignment.status == AssignmentStatus.DELIVERED:
        raise DeliveryRefused("The assignment is already delivered.", code="already_delivered")
    if assignment.status == AssignmentStatus.CANCELLED:
        raise DeliveryRefused("The assignment is cancelled.", code="assignment_cancelled")


def _hold_unsent(assignment: Assignment, *, now) -> bool:
    """Take hold of a processing assignment that has no offer id, unless a sender is
    inside its Steam calls right now. Blocks new sends while a cancel looks on Steam."""
    stuck_before = now - timedelta(seconds=settings.DELIVERY_STUCK_AFTER_SECONDS)
    free = ~Q(status_reason__in=HOLDING_REASONS) | Q(last_delivery_attempt_at__lte=stuck_before)
    with transaction.atomic():
        held = Assignment.objects.filter(
            Q(id=assignment.id, status=AssignmentStatus.PROCESSING, delivery_trade_offer_id__isnull=True) & free
        ).update(status_reason=StatusReason.CANCELLING, last_delivery_attempt_at=now, updated_at=now)
        if held == 1:
            stale = _open_attempt(assignment)
            _finish_attempt(stale, AttemptOutcome.SUPERSEDED, now=now, code="cancelled",
                            message="Superseded by a cancel.")
    return held == 1


def delivery_cancel(*, assignment_id, actor: str, source: str, reason: str | None = None) -> Assignment:
    """Cancel an assignment whose delivery may have reached Steam.

    The offer is cancelled on Steam first; only then are the items released. If
    the user accepted in the meantime, Steam wins: the assignment is returned
    delivered (or in escrow) and nothing is cancelled. Returns the assignment as
    it ends up; the caller compares its status. Raises DeliveryRefused
    (`delivery_in_progress`: a send is running this very moment, try again in a
    few seconds; `already_delivered`, `assignment_cancelled`, `not_cancellable`)
    and DeliverySteamUnavailable when Steam does not answer (nothing changed).
    """
    _outside_transaction()
    now = timezone.now()
    reason = reason or f"cancelled by {actor}"
    assignment = _load(assignment_id)
    _refuse_settled(assignment)
    if assignment.status == AssignmentStatus.FAILED:
        raise DeliveryRefused("The assignment has already failed; its items are back in the pool.",
                              code="not_cancellable")
    if assignment.status == AssignmentStatus.PENDING:
        with transaction.atomic():
            locked = _lock(assignment.id)
            if locked.status != AssignmentStatus.PENDING:
                raise DeliveryRefused("The assignment changed while cancelling; try again.",
                                      code="delivery_in_progress")
            _cancelled(locked, None, now=now, actor=actor, source=source, reason=reason)
        return _load(assignment.id)

    offer_id = assignment.delivery_trade_offer_id
    try:
        if offer_id:
            if assignment.status_reason == StatusReason.ESCROW:
                # Trades in escrow are Steam's to finish or roll back; polling follows them.
                raise DeliveryRefused("The offer was accepted into escrow; Steam holds the items.",
                                      code="offer_in_escrow")
            _cancel_and_settle(assignment, offer_id, CANCEL_ASSIGNMENT, actor=actor, source=source)
            return _cancel_if_retrying(assignment.id, actor=actor, source=source, reason=reason)
        if not _hold_unsent(assignment, now=now):
            raise DeliveryRefused("A trade offer is being sent right now; try again in a few seconds.",
                                  code="delivery_in_progress")
        claim = _Claim(assignment.id, assignment.delivery_attempts, "", "", [], set(
            DeliveryAttempt.objects.filter(assignment=assignment, trade_offer_id__isnull=False)
            .values_list("trade_offer_id", flat=True)), search_since=_search_since(assignment))
        gateway = _gateway()
        try:
            stray = _find_our_offer(gateway, claim)
        except SteamError:
            _release_hold(assignment)
            raise
        if stray is not None:
            # Our offer exists although no attempt recorded it: follow it from here,
            # marked as cancelled by us, and settle it like any other offer.
            with transaction.atomic():
                locked = _lock(assignment.id)
                if locked.status != AssignmentStatus.PROCESSING or locked.status_reason != StatusReason.CANCELLING:
                    raise DeliveryRefused("The assignment changed while cancelling; try again.",
                                          code="delivery_in_progress")
                _update(locked, timezone.now(), delivery_trade_offer_id=stray.offer_id, status_reason=StatusReason.AWAITING_ACCEPTANCE)
                DeliveryAttempt.objects.filter(assignment=locked, number=locked.delivery_attempts).update(
                    trade_offer_id=stray.offer_id, adopted=True, outcome=AttemptOutcome.OFFER_ACTIVE,
                    cancel_requested=CANCEL_ASSIGNMENT, finished_at=None)
            if stray.state in _LIVE_STATES:
                _cancel_and_settle(_load(assignment.id), stray.offer_id, CANCEL_ASSIGNMENT, actor=actor, source=source)
            else:
                apply_offer_state(assignment_id=assignment.id, offer=stray, actor=actor, source=source)
            return _cancel_if_retrying(assignment.id, actor=actor, source=source, reason=reason)
        with transaction.atomic():
            locked = _lock(assignment.id)
            if locked.status != AssignmentStatus.PROCESSING or locked.status_reason != StatusReason.CANCELLING:
                raise DeliveryRefused("The assignment changed while cancelling; try again.",
                                      code="delivery_in_progress")
            _cancelled(locked, None, now=timezone.now(), actor=actor, source=source, reason=reason)
        return _load(assignment.id)
    except SteamError as exc:
        raise DeliverySteamUnavailable(
            f"Steam did not confirm the cancel ({exc}); the assignment is unchanged for now. Try again."
        ) from exc


def _cancel_if_retrying(assignment_id, *, actor: str, source: str, reason: str) -> Assignment:
    """After the offer was settled: if it had ended undelivered on its own (countered,
    expired, cancelled elsewhere, before any poll saw it), settling it scheduled a
    retry. The cancel still applies then: no live offer exists, and going on with
    the retry would send the items the caller asked us not to send."""
    with transaction.atomic():
        locked = _lock(assignment_id)
        if locked is not None and locked.status == AssignmentStatus.PENDING:
            _cancelled(locked, None, now=timezone.now(), actor=actor, source=source, reason=reason)
    return _load(assignment_id)


def _release_hold(assignment: Assignment) -> None:
    # A cancel that could not look on Steam gives the assignment back to delivery.
    now = timezone.now()
    Assignment.objects.filter(id=assignment.id, status=AssignmentStatus.PROCESSING, status_reason=StatusReason.CANCELLING).update(
        status_reason=StatusReason.SEND_OUTCOME_UNKNOWN, next_attempt_at=now, updated_at=now
    )


def delivery_check_now(*, assignment_id, actor: str, source: str = "admin") -> Assignment:
    """Ask Steam for the assignment's offer now and apply its state (operators,
    "check now"). A delivered assignment is checked for a revert. Raises
    DeliveryRefused `no_offer` when there is no offer to look at."""
    _outside_transaction()
    assignment = _load(assignment_id)
    if assignment.status == AssignmentStatus.PROCESSING and not assignment.delivery_trade_offer_id:
        if _is_due(assignment, timezone.now()):
            delivery_run(assignment_id=assignment.id, actor=actor, source=source)
            return _load(assignment.id)
        raise DeliveryRefused("A trade offer is being sent right now; there is nothing to check yet.",
                              code="delivery_in_progress")
    if assignment.status not in (AssignmentStatus.PROCESSING, AssignmentStatus.DELIVERED) or not assignment.delivery_trade_offer_id:
        raise DeliveryRefused("The assignment has no trade offer out to check.", code="no_offer")
    try:
        offer = _gateway().get_offer(assignment.delivery_trade_offer_id)
        if offer is None:
            _offer_not_found(assignment.id, assignment.delivery_trade_offer_id, actor=actor, source=source)
        else:
            apply_offer_state(assignment_id=assignment.id, offer=offer, actor=actor, source=source)
    except SteamError as exc:
        raise DeliverySteamUnavailable(f"Steam did not answer ({exc}); nothing changed. Try again.") from exc
    return _load(assignment.id)


def delivery_retry(*, assignment_id, actor: str, reason: str, source: str = "admin") -> Assignment:
    """Give a failed assignment another round of delivery attempts (a fresh
    DELIVERY_MAX_ATTEMPTS budget). Its items must still be available in the pool:
    they are reserved again, all or none (DeliveryRefused `items_unavailable`,
    nothing changed). Refuses anything but `failed` (`already_delivered`,
    `assignment_cancelled`, `not_failed`)."""
    now = timezone.now()
    with transaction.atomic():
        assignment = _lock(assignment_id)
        if assignment is None:
            raise NotFound("No such assignment.", code="assignment_not_found")
        _refuse_settled(assignment)
        if assignment.status != AssignmentStatus.FAILED:
            raise DeliveryRefused("Only a failed assignment can be retried.", code="not_failed")
        item_ids = _item_ids(assignment)
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
                _update(assignment, now, status=AssignmentStatus.PENDING, status_reason=None, failed_at=None,
                        next_attempt_at=None, delivery_error_message=None, delivery_trade_offer_id=None)
        except IntegrityError:
            raise DeliveryRefused("An item of the assignment belongs to another active assignment.",
                                  code="items_unavailable") from None
        Item.objects.filter(id__in=item_ids).update(
            status=ItemStatus.RESERVED, assigned_to_user_id=assignment.user_id, assigned_at=now, updated_at=now
        )
        _set_assignment_items(assignment, DeliveryStatus.PENDING)
        DeliveryAttempt.objects.filter(assignment=assignment).update(counted=False)
        _event(assignment, "delivery.retry_requested", f"Delivery retried by {actor}: {reason}", actor=actor,
               source=source, data={"reason": reason})
        _item_events(assignment, item_ids, "item.reserved", "Reserved again for a retried delivery.", actor=actor,
                     source=source)
        _enqueue_delivery(assignment.id)
    return _load(assignment.id)


def delivery_resend(*, assignment_id, actor: str, reason: str, source: str = "admin") -> Assignment:
    """Replace the active offer with a new one (e.g. the user lost it): our offer is
    cancelled on Steam, then a new attempt starts at once (not counted toward the
    maximum). If the user accepted in the meantime the assignment is delivered
    instead. A pending assignment is simply sent now. Refuses settled, failed
    (use retry), escrow and mid-send assignments."""
    _outside_transaction()
    now = timezone.now()
    assignment = _load(assignment_id)
    _refuse_settled(assignment)
    if assignment.status == AssignmentStatus.FAILED:
        raise DeliveryRefused("The assignment failed; retry it instead.", code="not_processing")
    if assignment.status == AssignmentStatus.PENDING:
        with transaction.atomic():
            locked = _lock(assignment.id)
            if locked.status == AssignmentStatus.PENDING:
                _update(locked, now, next_attempt_at=None)
                _event(locked, "delivery.resend_requested", f"Delivery requested now by {actor}: {reason}",
                       actor=actor, source=source, data={"reason": reason})
                _enqueue_delivery(locked.id)
        return _load(assignment.id)
    if not assignment.delivery_trade_offer_id:
        raise DeliveryRefused("A trade offer is being sent right now.", code="delivery_in_progress")
    if assignment.status_reason == StatusReason.ESCROW:
        raise DeliveryRefused("The offer was accepted into escrow; Steam holds the items.", code="offer_in_escrow")
    with transaction.atomic():
        _event(_lock(assignment.id), "delivery.resend_requested",
               f"Resend of offer {assignment.delivery_trade_offer_id} requested by {actor}: {reason}",
               actor=actor, source=source, data={"reason": reason, "offer_id": assignment.delivery_trade_offer_id})
    try:
        _cancel_and_settle(assignment, assignment.delivery_trade_offer_id, CANCEL_RESEND, actor=actor, source=source)
    except SteamError as exc:
        raise DeliverySteamUnavailable(f"Steam did not answer ({exc}); the offer was not replaced. Try again.") from exc
    return _load(assignment.id)
