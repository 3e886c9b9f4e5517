"""Following offers: the poll (states, reverts, stray offers of ours) and the sweep of lost work."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assignments.delivery.records import (
    CLOCK_SLACK,
    DELIVER_TASK,
    LIVE_STATES,
    SYSTEM,
    WORKER,
    lock_assignment,
    outside_transaction,
    parse_tag,
    record_assignment_event,
    update_assignment,
)
from assignments.delivery.transitions import apply_offer_state, cancel_stray_offer
from assignments.models import (
    HOLDING_REASONS,
    WAITING_FOR_URL,
    Assignment,
    AssignmentStatus,
    DeliveryAttempt,
    StatusReason,
)
from astro.core.tasks import enqueue
from astro.steam import get_gateway
from astro.steam.errors import SteamError, SteamRateLimited
from astro.steam.types import OfferState
from items.trade_urls import has_delivery_trade_url

logger = logging.getLogger(__name__)

# CS2 trade protection lets a trade be reverted for 7 days; watch a little longer.
REVERT_WATCH = timedelta(days=8)
SWEEP_BATCH = 200
POLL_LOCK_KEY = "delivery:poll-lock"
# The sweeper's beat interval; its queued messages expire after it.
SWEEP_INTERVAL_SECONDS = 60


def delivery_poll(*, actor: str = SYSTEM, source: str = WORKER) -> dict:
    """Follow every offer we have out: one listing of our sent offers, a direct look
    at each offer the listing leaves out, and each state applied. Also watches
    recently delivered trades for reverts (CS2 trade protection) and takes stray
    offers of ours (live, tagged, followed by nothing) off Steam.

    One poll at a time (a Redis lock): two would be harmless, every transition is
    fenced, but would double the Steam calls. A poll that finds the lock taken
    returns {"skipped": 1}."""
    outside_transaction()
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
    gateway = get_gateway()
    # Active offers, plus those that changed lately (accepted, declined, reverted...).
    window = timedelta(seconds=max(600, 10 * settings.DELIVERY_POLL_INTERVAL_SECONDS)) + CLOCK_SLACK
    listed = {offer.offer_id: offer for offer in gateway.get_sent_offers(active_only=True, changed_since=now - window)}
    for assignment_id, offer_id in active:
        try:
            offer = listed.get(offer_id) or gateway.get_offer(offer_id)
            if offer is None:
                outcome = offer_not_found(assignment_id, offer_id, actor=actor, source=source)
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


def offer_not_found(assignment_id, offer_id: str, *, actor: str, source: str) -> str:
    # Steam does not know an offer it gave us an id for: rare (a Steam hiccup, or a
    # wiped sandbox). Nothing is changed on a guess; an operator can resend.
    now = timezone.now()
    with transaction.atomic():
        assignment = lock_assignment(assignment_id)
        message = f"Steam does not know trade offer {offer_id}; an operator should check it and resend."
        if (assignment and assignment.delivery_trade_offer_id == offer_id
                and assignment.delivery_error_message != message):
            update_assignment(assignment, now, delivery_error_message=message)
            record_assignment_event(assignment, "delivery.transient_error", message, actor=actor, source=source,
                                    data={"offerId": offer_id, "error": "offer_not_found"})
    return "offer_not_found"


def _cancel_strays(offers, *, actor: str, source: str) -> int:
    """Live offers tagged by us that no attempt records and no sender can still adopt."""
    tagged = {}
    for offer in offers:
        parsed = parse_tag(offer.message)
        if parsed and offer.state in LIVE_STATES:
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
        cancel_stray_offer(assignment_id, offer_id, actor=actor, source=source,
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
    # A URL is looked up per system: its own for the user, else the operator's.
    pending = Q(status=AssignmentStatus.PENDING) & due_time & ~(
        Q(status_reason__in=WAITING_FOR_URL) & ~has_delivery_trade_url()
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
