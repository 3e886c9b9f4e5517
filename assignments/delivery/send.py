"""Sending: claim an attempt, look for (and adopt) our tagged offer, or send one; record it, confirm it.

One attempt = one claim = at most one offer. The claim is a conditional UPDATE
in a short transaction that also records the attempt and its tag; only after it
commits is Steam called. Every write after a Steam call is fenced on the claim
(`_still_ours`), and the offer id is recorded before the offer is confirmed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from assignments.delivery.holds import hold_check
from assignments.delivery.listing import BACKDATE_SLACK, OurAsset, offer_is_ours, sent_offers
from assignments.delivery.records import (
    CANCEL_DUPLICATE,
    SYSTEM,
    WORKER,
    assignment_item_ids,
    attempt_tag,
    backoff,
    delivery_url,
    finish_attempt,
    is_due,
    is_offer_limit,
    lock_assignment,
    open_attempt,
    outside_transaction,
    parse_tag,
    queue_sync,
    record_assignment_event,
    set_assignment_items,
    update_assignment,
    wait,
)
from assignments.delivery.transitions import (
    apply_offer_state,
    cancel_stray_offer,
    confirm_offer,
    confirmation_round_due,
    fail_delivery,
    retry_delivery,
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
from astro.steam.errors import (
    SteamAmbiguousError,
    SteamAuthError,
    SteamError,
    SteamPermanentError,
    SteamTransientError,
    is_bot_side,
)
from astro.steam.parsing import parse_trade_url
from astro.steam.types import AssetRef, OfferState, TradeOffer
from items.models import CLAIMED, Item, ItemStatus

logger = logging.getLogger(__name__)

# Attempts that ended without an offer: their count drives the send backoff.
_NO_OFFER_OUTCOMES = (AttemptOutcome.STEAM_UNAVAILABLE, AttemptOutcome.OUTCOME_UNKNOWN, AttemptOutcome.SUPERSEDED)
# Attempts without an offer id that Steam refused outright: they cannot have made one.
_NO_OFFER_FOR_SURE = (AttemptOutcome.REJECTED, AttemptOutcome.LIMIT_EXCEEDED)
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
    assets: list[OurAsset]
    user_id: int
    # Attempts of the assignment that recorded no offer, this one included: an offer
    # tagged by one of them (and matching, see listing.offer_is_ours) is adopted.
    unrecorded: list[int] = field(default_factory=list)
    # Whether an earlier attempt may have made an offer we never recorded; if so, a
    # listing taken after `look_after` and reaching back to `search_since` is looked at
    # before anything is sent. A first attempt needs none.
    needs_lookup: bool = False
    look_after: datetime | None = None
    search_since: datetime | None = None

    @property
    def refs(self) -> list[AssetRef]:
        return [AssetRef(app_id=a.app_id, context_id=a.context_id, asset_id=a.asset_id) for a in self.assets]

    def is_ours(self, offer: TradeOffer) -> bool:
        return offer_is_ours(offer, assignment_id=self.assignment_id, attempt_numbers=self.unrecorded,
                             user_id=self.user_id, assets=self.assets)


def delivery_run(*, assignment_id, actor: str = SYSTEM, source: str = WORKER) -> DeliveryRun:
    """Start (or resume) delivery of one assignment, if it is due; safe to call any number of times.

    Claims the assignment in a short transaction (a conditional UPDATE: one caller
    wins, the others return `not_due`), records the attempt and its tag, commits,
    and only then talks to Steam: adopts an offer of ours with this assignment's
    tag if one exists, otherwise sends one offer with all the items.
    """
    outside_transaction()
    held = hold_check(assignment_id, actor=actor, source=source)
    if held is not None:
        return DeliveryRun(str(assignment_id), held)
    claim = _claim(assignment_id, actor=actor, source=source)
    if isinstance(claim, DeliveryRun):
        return claim
    return _send(claim, actor=actor, source=source)


def _wait(assignment: Assignment, reason: str, *, now, until, message: str, actor: str, source: str) -> DeliveryRun:
    wait(assignment, reason, now=now, until=until, message=message, actor=actor, source=source)
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
            waiting_since=None,
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
        return lookup_claim(assignment, number=number, tag=tag, trade_url=trade_url or "", items=items)


def lookup_claim(assignment: Assignment, *, number: int, tag: str = "", trade_url: str = "", items=None) -> Claim:
    """What tells an offer of this assignment's attempts from any other, and whether
    (and how far back) Steam must be looked at before attempt `number` sends."""
    if items is None:
        items = list(Item.objects.filter(assignment_items__assignment=assignment).order_by("id"))
    earlier = list(
        DeliveryAttempt.objects.filter(assignment=assignment, trade_offer_id__isnull=True)
        .exclude(number=number).exclude(outcome__in=_NO_OFFER_FOR_SURE)
        .values_list("number", "started_at", "finished_at")
    )
    unrecorded = [n for n, _, _ in earlier] + [number]
    return Claim(
        assignment_id=assignment.id,
        number=number,
        tag=tag,
        trade_url=trade_url,
        assets=[OurAsset(app_id=i.steam_app_id, context_id=i.steam_context_id, asset_id=i.steam_asset_id,
                         class_id=i.steam_class_id, instance_id=i.steam_instance_id) for i in items],
        user_id=assignment.user_id,
        unrecorded=unrecorded,
        needs_lookup=bool(earlier),
        # An offer an earlier attempt made exists by the time that attempt ended (or was taken over).
        look_after=max((finished or started for _, started, finished in earlier), default=None),
        search_since=min((started for _, started, _ in earlier), default=timezone.now()) - BACKDATE_SLACK,
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


def find_our_offer(gateway, claim: Claim) -> TradeOffer | None:
    """An unrecorded offer of this assignment that is ours by the adoption rule
    (listing.offer_is_ours): a send of ours that Steam carried out although we never
    learned its id. Looked for in the bot's shared listing. A tagged offer that is
    not ours by the rule (another partner, other items) is never adopted: it is
    left to the poller, which cancels a live tagged offer nothing follows."""
    listing = sent_offers(gateway, taken_after=claim.look_after or timezone.now(), cutoff=claim.search_since)
    for offer in listing.offers:
        if claim.is_ours(offer):
            return offer
        parsed = parse_tag(offer.message)
        if parsed and parsed[0] == claim.assignment_id and parsed[1] in claim.unrecorded:
            logger.error("offer %s carries the tag of %s but not its partner/items; not adopted",
                         offer.offer_id, claim.assignment_id)
    return None


def _send(claim: Claim, *, actor: str, source: str) -> DeliveryRun:
    gateway = get_gateway()
    if claim.needs_lookup:
        try:
            existing = find_our_offer(gateway, claim)
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
    sending_at = timezone.now()
    try:
        sent = gateway.send_offer(trade_url=claim.trade_url, assets=claim.refs, message=f"Astro delivery {claim.tag}")
    except SteamAmbiguousError as exc:
        # Steam may have created the offer. Look once more now; if it is not visible
        # yet, the next attempt looks again before it sends anything.
        try:
            existing = find_our_offer(gateway, replace(claim, look_after=sending_at,
                                                       search_since=sending_at - BACKDATE_SLACK))
        except SteamError:
            existing = None
        if existing is not None:
            return _record_offer(claim, existing.offer_id, existing, adopted=True, actor=actor, source=source)
        return _send_failed_softly(claim, exc, StatusReason.SEND_OUTCOME_UNKNOWN, AttemptOutcome.OUTCOME_UNKNOWN,
                                   actor=actor, source=source)
    except (SteamTransientError, SteamAuthError, SteamPermanentError) as exc:
        if is_offer_limit(exc):
            return _send_limited(claim, exc, actor=actor, source=source)
        if isinstance(exc, SteamPermanentError) and not is_bot_side(exc):
            return _send_rejected(claim, exc, actor=actor, source=source)
        return _send_failed_softly(claim, exc, StatusReason.STEAM_UNAVAILABLE, AttemptOutcome.STEAM_UNAVAILABLE,
                                   actor=actor, source=source)
    return _record_offer(claim, sent.offer_id, None, adopted=False, needs_confirmation=sent.needs_confirmation,
                         actor=actor, source=source)


def _send_limited(claim: Claim, exc: SteamError, *, actor: str, source: str) -> DeliveryRun:
    """Steam refused the send with (25): too many offers are pending (5 per partner, 30
    in all). No offer exists, so the assignment goes back to `pending` (`offer_limit`)
    for a later attempt; the refusal counts toward DELIVERY_MAX_ATTEMPTS."""
    now = timezone.now()
    with transaction.atomic():
        assignment = lock_assignment(claim.assignment_id)
        if assignment is None or not Assignment.objects.filter(_still_ours(claim)).exists():
            return DeliveryRun(str(claim.assignment_id), "claim_lost")
        retry_delivery(assignment, open_attempt(assignment), AttemptOutcome.LIMIT_EXCEEDED, StatusReason.OFFER_LIMIT,
                       f"Steam refused the offer: too many trade offers are pending ({exc})", now=now, actor=actor,
                       source=source, at_least=getattr(exc, "retry_after", None))
        status = assignment.status_reason
    return DeliveryRun(str(claim.assignment_id), status or StatusReason.OFFER_LIMIT, details={"error": exc.code})


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
        try:
            apply_offer_state(assignment_id=claim.assignment_id, offer=offer, actor=actor, source=source)
        except SteamError as exc:  # recorded and followed: the poller settles it
            logger.warning("adopted offer %s of %s not settled yet: %s", offer_id, claim.assignment_id, exc)
    elif needs_confirmation and _confirm_alone(claim.assignment_id):
        confirm_offer(claim.assignment_id, offer_id, actor=actor, source=source)
    return DeliveryRun(str(claim.assignment_id), "adopted" if adopted else "sent", offer_id=offer_id)


def _confirm_alone(assignment_id) -> bool:
    """Whether this offer is confirmed right away, in a round of its own.

    Confirmation rounds are rate limited per bot (STEAM_CONFIRMATION_PACING_SECONDS).
    When other offers wait for a confirmation, are being sent, or are about to be
    (a burst), or when a round now would have to wait for its slot, this one joins
    the poller's next batch instead: one round for all of them, and no worker
    sitting in the wait."""
    if not confirmation_round_due(get_gateway()):
        return False
    now = timezone.now()
    return not Assignment.objects.filter(
        Q(status=AssignmentStatus.PROCESSING, status_reason=StatusReason.AWAITING_CONFIRMATION,
          delivery_trade_offer_id__isnull=False)
        | Q(status=AssignmentStatus.PROCESSING, status_reason=StatusReason.SENDING,
            delivery_trade_offer_id__isnull=True)
        | (Q(status=AssignmentStatus.PENDING, status_reason__isnull=True)
           & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))),
    ).exclude(id=assignment_id).exists()


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
