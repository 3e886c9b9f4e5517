"""Following offers: the poll (states, confirmations, reverts, stray offers of ours).

Beat wakes the poller every DELIVERY_POLL_INTERVAL_SECONDS (`delivery_poll_tick`).
It adapts to what is out:

- offers sent moments ago are read one by one (GetTradeOffer) at doubling ages,
  up to DELIVERY_OFFER_READ_WINDOW_SECONDS: most users accept in seconds, and
  this is how Astro hears of it without listing often;
- our sent offers are listed (GetTradeOffers, one shared listing per bot) at most
  every DELIVERY_LISTING_ACTIVE_SECONDS while offers or sends are outstanding,
  every DELIVERY_LISTING_IDLE_SECONDS when nothing is, and every
  DELIVERY_FULL_REFRESH_SECONDS reaching back over the whole time since the
  previous such refresh, whatever the newest change seen; a followed offer the
  listing leaves out is read directly;
- offers waiting for a mobile confirmation are confirmed together, in one batch;
- delivered trades are read again (GetTradeStatus) every
  DELIVERY_REVERT_CHECK_SECONDS while they can be reverted, whatever the offer
  shows;
- a live offer carrying our tag that nothing follows and no attempt may adopt is
  cancelled, and again at every listing until Steam shows it cancelled.

`delivery_poll()` is one full pass (a listing included), for tests and operators.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assignments.delivery.listing import (
    BACKDATE_SLACK,
    REVERT_WATCH,
    incremental_cutoff,
    is_unknown,
    last_listing_at,
    sent_offers,
)
from assignments.delivery.records import (
    LIVE_STATES,
    SYSTEM,
    WORKER,
    lock_assignment,
    outside_transaction,
    parse_tag,
    record_assignment_event,
    update_assignment,
)
from assignments.delivery.send import lookup_claim
from assignments.delivery.trades import TradeOutcome, read_trade
from assignments.delivery.transitions import (
    apply_offer_state,
    cancel_stray_offer,
    confirm_offers,
    confirmation_round_due,
    forget_confirmation_round,
    offer_age_exceeded,
    revert,
)
from assignments.models import Assignment, AssignmentStatus, AttemptOutcome, DeliveryAttempt, StatusReason
from astro.steam import get_gateway
from astro.steam.errors import SteamError, SteamRateLimited
from astro.steam.types import OfferState

logger = logging.getLogger(__name__)

POLL_LOCK_KEY = "delivery:poll-lock"
_TICK_KEY = "delivery:poll-tick:{bot}"
_FULL_KEY = "delivery:full-refresh:{bot}"
# Delivered trades read again per pass, oldest check first.
REVERT_CHECK_BATCH = 20


def delivery_poll(*, actor: str = SYSTEM, source: str = WORKER) -> dict:
    """One full pass: list our sent offers, follow every offer we have out (a direct
    look at each the listing leaves out), confirm those waiting for it, check
    delivered trades for reverts, cancel stray offers of ours.

    One poll at a time (a Redis lock): two would be harmless, every transition is
    fenced, but would double the Steam calls. A poll that finds the lock taken
    returns {"skipped": 1}."""
    return _locked(lambda: _poll(actor=actor, source=source, listing=True))


def delivery_poll_tick(*, actor: str = SYSTEM, source: str = WORKER) -> dict:
    """What beat runs every DELIVERY_POLL_INTERVAL_SECONDS: read the offers sent moments
    ago, confirm what waits for it, and do a full pass only when a listing is due.
    Steam not answering is logged, not raised: the next wake tries again."""
    def tick() -> dict:
        try:
            return _poll(actor=actor, source=source, listing=None)
        except SteamError as exc:
            logger.warning("delivery poll: Steam did not answer (%s); the next wake tries again", exc)
            return {"steam_unavailable": 1}

    return _locked(tick)


def _locked(run) -> dict:
    outside_transaction()
    token = uuid.uuid4().hex
    # Short-lived: a poll killed with the lock held must not stop following offers
    # for long; an overlap after a very slow poll is only wasteful.
    if not cache.add(POLL_LOCK_KEY, token, timeout=max(60, 2 * settings.STEAM_HTTP_TIMEOUT_SECONDS)):
        return {"skipped": 1}
    try:
        return run()
    finally:
        if cache.get(POLL_LOCK_KEY) == token:
            cache.delete(POLL_LOCK_KEY)


def _poll(*, actor: str, source: str, listing: bool | None) -> dict:
    now = timezone.now()
    counts: dict[str, int] = {}

    def count(outcome: str) -> None:
        counts[outcome] = counts.get(outcome, 0) + 1

    # The last column: since when the offer has waited for the user (its confirmation
    # was the last change of an assignment awaiting acceptance).
    followed = list(
        Assignment.objects.filter(status=AssignmentStatus.PROCESSING, delivery_trade_offer_id__isnull=False)
        .order_by("-assignment_priority", "created_at")
        .values_list("id", "delivery_trade_offer_id", "status_reason", "updated_at")
    )
    outstanding = bool(followed) or Assignment.objects.filter(status=AssignmentStatus.PROCESSING).exists()
    revert_due = _revert_due(now).exists()
    watched = dict(
        Assignment.objects.filter(status=AssignmentStatus.DELIVERED, delivered_at__gte=now - REVERT_WATCH)
        .exclude(delivery_trade_offer_id=None).values_list("delivery_trade_offer_id", "id")
    )
    if not (outstanding or watched or revert_due
            or Assignment.objects.filter(updated_at__gte=now - REVERT_WATCH).exists()):
        return counts  # nothing of ours can be on Steam: no need to ask it
    gateway = get_gateway()
    bot = gateway.bot_steam_id
    previous_tick = cache.get(_TICK_KEY.format(bot=bot))
    cache.set(_TICK_KEY.format(bot=bot), now.timestamp(), timeout=3600)
    full = False
    if listing is None:
        listing, full = _listing_due(bot, now, outstanding=outstanding)
    elif listing:
        full = _full_refresh_due(bot, now)
    if not listing and not followed:
        return counts

    listed: dict[str, object] = {}
    if listing:
        cutoff = incremental_cutoff(bot, now=now)
        if full:
            # Whatever the newest change seen says (a glitch may have moved it on), reach
            # back over the whole time since the previous full refresh. Further back is
            # not needed: followed offers the listing leaves out are read one by one, live
            # offers (strays too) are always listed, and reverts are read from trades.
            cutoff = min(cutoff, now - timedelta(seconds=settings.DELIVERY_FULL_REFRESH_SECONDS) - 2 * BACKDATE_SLACK)
        listed = {o.offer_id: o for o in sent_offers(gateway, taken_after=now, cutoff=cutoff, bot=bot).offers}
        if full:
            cache.set(_FULL_KEY.format(bot=bot), now.timestamp(), timeout=None)
        count("listing_full" if full else "listing")
        targets = followed
    else:
        elapsed = now.timestamp() - previous_tick if isinstance(previous_tick, (int, float)) else None
        targets = [row for row in followed
                   if row[2] == StatusReason.AWAITING_ACCEPTANCE and _read_due(row[3], now, elapsed)]

    to_confirm = []
    handled = set()  # followed offers settled in this pass: the listing's view of them is older
    for assignment_id, offer_id, _, _ in targets:
        handled.add(offer_id)
        try:
            offer = listed.get(offer_id)
            if offer is None:
                offer = gateway.get_offer(offer_id)
                count("offer_read")
            if offer is None:
                outcome = offer_not_found(assignment_id, offer_id, actor=actor, source=source)
            elif offer.state == OfferState.NEEDS_CONFIRMATION and not offer_age_exceeded(offer, None, now):
                to_confirm.append((assignment_id, offer_id))
                outcome = "confirming"
            else:
                outcome = apply_offer_state(assignment_id=assignment_id, offer=offer, actor=actor, source=source)
        except SteamRateLimited as exc:
            # Steam asks us to slow down: the rest waits for the next poll.
            logger.warning("poll stopped at %s: %s", assignment_id, exc)
            count("rate_limited")
            break
        except SteamError as exc:
            # One offer Steam will not settle (e.g. a cancel it ignores) must not
            # starve the offers behind it: log it and go on.
            logger.warning("poll of %s failed: %s", assignment_id, exc)
            outcome = "error"
        count(outcome)
    # Offers recorded as waiting for a confirmation are confirmed in the same batch,
    # read or not, at most one round per confirmation pacing interval.
    to_confirm += [(a, o) for a, o, reason, _ in followed
                   if reason == StatusReason.AWAITING_CONFIRMATION and (a, o) not in to_confirm]
    if to_confirm and confirmation_round_due(gateway):
        counts["confirmed"] = len(confirm_offers(to_confirm, actor=actor, source=source))
    if listing:
        for offer_id, assignment_id in watched.items():
            offer = listed.get(offer_id)
            if offer is not None and offer.state == OfferState.REVERTED:
                try:
                    count(apply_offer_state(assignment_id=assignment_id, offer=offer, actor=actor, source=source))
                except SteamError as exc:
                    logger.warning("revert of %s not settled yet: %s", assignment_id, exc)
        counts["stray_cancelled"] = _cancel_strays([o for o in listed.values() if o.offer_id not in handled],
                                                   actor=actor, source=source)
        if revert_due:
            counts.update(_check_reverts(gateway, now, actor=actor, source=source))
    return counts


def forget_cadence(bot: int) -> None:
    """Drop the poll's per-bot timing (last wake, full refresh, confirmation round)."""
    cache.delete_many([_TICK_KEY.format(bot=bot), _FULL_KEY.format(bot=bot)])
    forget_confirmation_round(bot)


def _listing_due(bot: int, now: datetime, *, outstanding: bool) -> tuple[bool, bool]:
    """(a listing is due, it is a full refresh), by the cadence: no listing more often
    than DELIVERY_LISTING_ACTIVE_SECONDS per bot, whoever took the last one."""
    last = last_listing_at(bot)
    every = settings.DELIVERY_LISTING_ACTIVE_SECONDS if outstanding else settings.DELIVERY_LISTING_IDLE_SECONDS
    if last is not None and (now - last).total_seconds() < every:
        return False, False
    return True, _full_refresh_due(bot, now)


def _full_refresh_due(bot: int, now: datetime) -> bool:
    last = cache.get(_FULL_KEY.format(bot=bot))
    return not isinstance(last, (int, float)) or now.timestamp() - last >= settings.DELIVERY_FULL_REFRESH_SECONDS


def _read_due(sent_at: datetime | None, now: datetime, elapsed: float | None) -> bool:
    """Whether this wake reads on its own an offer waiting for the user since `sent_at`:
    at about 1, 2, 4, 8 ... wake intervals, up to DELIVERY_OFFER_READ_WINDOW_SECONDS."""
    if sent_at is None:
        return False
    age = (now - sent_at).total_seconds()
    window = settings.DELIVERY_OFFER_READ_WINDOW_SECONDS
    base = settings.DELIVERY_POLL_INTERVAL_SECONDS
    if age > window + base:
        return False
    elapsed = elapsed if elapsed and elapsed > 0 else base
    mark = base / 2
    while mark <= window:
        if age - elapsed < mark <= age:
            return True
        mark *= 2
    return False


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
    """Cancel every live offer carrying our tag that its assignment does not follow and
    no attempt of it may adopt (the adoption rule): a duplicate, one whose first
    cancel failed (it is listed again, so cancelled again, until Steam shows it
    cancelled), an offer of an ended assignment, one to the wrong partner."""
    cancelled = 0
    for offer in offers:
        parsed = parse_tag(offer.message)
        if not parsed or offer.state not in LIVE_STATES or is_unknown(offer.state):
            continue
        assignment = Assignment.objects.filter(id=parsed[0]).first()
        if assignment is None:
            continue  # another Astro installation's tag, or a foreign message: not ours to touch
        if assignment.status == AssignmentStatus.PROCESSING and assignment.delivery_trade_offer_id == offer.offer_id:
            continue  # followed
        unsent = assignment.status == AssignmentStatus.PENDING or (
            assignment.status == AssignmentStatus.PROCESSING and assignment.delivery_trade_offer_id is None
        )
        if unsent and lookup_claim(assignment, number=assignment.delivery_attempts + 1).is_ours(offer):
            continue  # a sender is recording it, or the next attempt adopts it
        why = ("it is not what this assignment's delivery sends" if unsent
               else f"no attempt follows it and the assignment is {assignment.status}")
        if cancel_stray_offer(assignment.id, offer.offer_id, actor=actor, source=source, why=why):
            cancelled += 1
    return cancelled


def _revert_due(now: datetime):
    stale = now - timedelta(seconds=settings.DELIVERY_REVERT_CHECK_SECONDS)
    return (
        DeliveryAttempt.objects.filter(
            outcome=AttemptOutcome.ACCEPTED, finished_at__gte=now - REVERT_WATCH,
            assignment__status=AssignmentStatus.DELIVERED,
        )
        .filter(Q(trade_checked_at__isnull=True) | Q(trade_checked_at__lte=stale))
        .order_by("trade_checked_at", "finished_at")
    )


def _check_reverts(gateway, now: datetime, *, actor: str, source: str) -> dict:
    """Read each delivered trade of the revert window whose last read is older than
    DELIVERY_REVERT_CHECK_SECONDS (a batch per pass): a revert shows in the trade's
    status, however late it comes and whatever the offer shows."""
    counts = {"revert_checked": 0}
    for attempt in list(_revert_due(now).select_related("assignment")[:REVERT_CHECK_BATCH]):
        try:
            outcome = check_delivered_trade(gateway, attempt, actor=actor, source=source)
        except SteamError as exc:
            logger.warning("revert check of %s failed: %s", attempt.assignment_id, exc)
            break
        counts["revert_checked"] += 1
        if outcome == "reverted":
            counts["reverted"] = counts.get("reverted", 0) + 1
    return counts


def check_delivered_trade(gateway, attempt: DeliveryAttempt, *, actor: str, source: str) -> str:
    """Read the trade of a delivered attempt again; a rolled-back one reverts the
    delivery. Returns "reverted" or "unchanged". SteamError propagates."""
    trade_id = attempt.trade_id
    if not trade_id:  # delivered before trade ids were kept
        offer = gateway.get_offer(attempt.trade_offer_id)
        trade_id = offer.trade_id if offer is not None else None
    check = read_trade(gateway, trade_id)
    now = timezone.now()
    with transaction.atomic():
        assignment = lock_assignment(attempt.assignment_id)
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(trade_id=trade_id, trade_checked_at=now)
        if (check.outcome == TradeOutcome.REVERTED and assignment is not None
                and assignment.status == AssignmentStatus.DELIVERED
                and assignment.delivery_trade_offer_id == attempt.trade_offer_id):
            revert(assignment, attempt, attempt.trade_offer_id, check, now=now, actor=actor, source=source)
            return "reverted"
    return "unchanged"
