"""What every phase of the delivery engine shares: attempts, events, releasing items, small helpers.

Nothing here calls Steam. Each writer expects to run inside the caller's
transaction, under the assignment's row lock (or after its conditional UPDATE):
the fences that make a write safe are the caller's.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from assignments.models import (
    HOLDING_REASONS,
    OPEN_ATTEMPT_OUTCOMES,
    WAITING_FOR_URL,
    Assignment,
    AssignmentItem,
    AssignmentStatus,
    DeliveryAttempt,
    StatusReason,
)
from astro.core.errors import NotFound
from astro.core.tasks import enqueue
from astro.steam.errors import ERESULT_LIMIT_EXCEEDED
from astro.steam.types import OfferState
from audit.services import record_event, record_events
from items.models import CLAIMED, Item, ItemStatus
from items.trade_urls import trade_url_for_delivery
from sync.services import sync_request

logger = logging.getLogger(__name__)

SYSTEM = "system"
WORKER = "worker"

# Why Astro cancelled an offer itself (DeliveryAttempt.cancel_requested).
CANCEL_LIFETIME = "lifetime"
CANCEL_ASSIGNMENT = "assignment_cancel"
CANCEL_RESEND = "resend"
CANCEL_DUPLICATE = "duplicate"

# An offer in these states can still be accepted: it is live on Steam.
LIVE_STATES = (OfferState.ACTIVE, OfferState.NEEDS_CONFIRMATION)
# The tasks' registered names (assignments/tasks.py): services queue them by name.
DELIVER_TASK = "assignments.deliver_assignment"
CANCEL_TASK = "assignments.resume_cancel"
_TAG_RE = re.compile(r"astro:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):(\d+)")


def attempt_tag(assignment_id, number: int) -> str:
    return f"astro:{assignment_id}:{number}"


def parse_tag(message: str | None) -> tuple[uuid.UUID, int] | None:
    """(assignment id, attempt number) from an offer message carrying our tag."""
    match = _TAG_RE.search(message or "")
    if not match:
        return None
    return uuid.UUID(match.group(1)), int(match.group(2))


def backoff(count: int, *, at_least: float | None = None) -> float:
    """Exponential from DELIVERY_RETRY_BASE_SECONDS, capped at CELERY_MAX_COUNTDOWN_SECONDS."""
    cap = settings.CELERY_MAX_COUNTDOWN_SECONDS
    delay = min(settings.DELIVERY_RETRY_BASE_SECONDS * 2 ** max(count - 1, 0), cap)
    if at_least:
        delay = min(max(delay, at_least), cap)
    return float(delay)


def outside_transaction() -> None:
    # The rule the whole engine is built around: a Steam call can take
    # STEAM_HTTP_TIMEOUT_SECONDS; a transaction open that long holds row locks
    # that the API and other workers are waiting for.
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("Steam must not be called inside a database transaction")


def queue_sync() -> None:
    """A sync right after the transaction commits (accepted trades, invalid items, reverts)."""

    def request() -> None:
        try:
            sync_request(trigger="trade", actor=SYSTEM)
        except Exception:  # the delivery has committed; the periodic sync covers a lost request
            logger.exception("could not queue a sync after a trade")

    transaction.on_commit(request)


def queue_delivery(assignment_id) -> None:
    """Deliver now (after commit). Later work is never a broker countdown: it is
    `next_attempt_at`, which the sweeper reads."""
    enqueue(DELIVER_TASK, str(assignment_id))


def is_due(assignment: Assignment, now: datetime) -> bool:
    """Whether a delivery attempt may start now. A `cancelling` hold is never due for
    a send, however stale: a cancel that died is resumed as a cancel (the sweeper)."""
    if assignment.status == AssignmentStatus.PENDING:
        if assignment.status_reason in WAITING_FOR_URL and not delivery_url(assignment):
            return False
        return assignment.next_attempt_at is None or assignment.next_attempt_at <= now
    if assignment.status == AssignmentStatus.PROCESSING and assignment.delivery_trade_offer_id is None:
        if assignment.status_reason == StatusReason.CANCELLING:
            return False
        if assignment.status_reason in HOLDING_REASONS:
            stuck_before = now - timedelta(seconds=settings.DELIVERY_STUCK_AFTER_SECONDS)
            return assignment.last_delivery_attempt_at is None or assignment.last_delivery_attempt_at <= stuck_before
        return assignment.next_attempt_at is None or assignment.next_attempt_at <= now
    return False


def delivery_url(assignment: Assignment) -> str | None:
    """The trade URL this assignment's offer goes to: its system's own for the user, else the operator's."""
    return trade_url_for_delivery(steam_id=assignment.user_id, external_system=assignment.external_system)


def wait(assignment: Assignment, reason: str, *, now, until, message: str, actor: str, source: str):
    """A pending assignment waits for something (`reason`) until `until` (None: until
    someone acts). The first time, `assignment.waiting` and `waiting_since`."""
    changed = assignment.status_reason != reason
    fields = {"waiting_since": now} if changed or assignment.waiting_since is None else {}
    update_assignment(assignment, now, status_reason=reason, next_attempt_at=until, delivery_error_message=message,
                      **fields)
    if changed:
        record_assignment_event(assignment, "assignment.waiting", message, actor=actor, source=source,
                                data={"reason": reason, "until": until})


def is_offer_limit(exc) -> bool:
    """Steam's (25) on a send: too many pending offers, to this partner or in all."""
    return getattr(exc, "eresult", None) == ERESULT_LIMIT_EXCEEDED or getattr(exc, "code", None) == "steam_limit_exceeded"


def load_assignment(assignment_id) -> Assignment:
    try:
        return Assignment.objects.select_related("user").get(id=assignment_id)
    except (Assignment.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such assignment.", code="assignment_not_found") from None


def lock_assignment(assignment_id) -> Assignment | None:
    return Assignment.objects.select_for_update(of=("self",)).select_related("user").filter(id=assignment_id).first()


def open_attempt(assignment: Assignment) -> DeliveryAttempt | None:
    return DeliveryAttempt.objects.filter(assignment=assignment, outcome__in=OPEN_ATTEMPT_OUTCOMES).first()


def attempt_for_offer(assignment: Assignment, offer_id: str) -> DeliveryAttempt | None:
    return DeliveryAttempt.objects.filter(assignment=assignment, trade_offer_id=offer_id).order_by("-number").first()


def finish_attempt(attempt: DeliveryAttempt | None, outcome: str, *, now: datetime, code=None, message=None) -> None:
    if attempt is None:
        return
    DeliveryAttempt.objects.filter(pk=attempt.pk).update(
        outcome=outcome, finished_at=now, error_code=code, error_message=message
    )


def assignment_item_ids(assignment: Assignment) -> list:
    return list(
        AssignmentItem.objects.filter(assignment_id=assignment.id).order_by("item_id").values_list("item_id", flat=True)
    )


def record_assignment_event(assignment: Assignment, event_type: str, description: str, *, actor: str, source: str,
                            data=None, severity=None) -> None:
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


def record_item_events(assignment: Assignment, item_ids, event_type: str, description: str, *, actor: str,
                       source: str, data=None) -> None:
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


def release_items(assignment: Assignment, *, now, actor: str, source: str, why: str, code: str | None = None,
                  only=None) -> list:
    """Reserved / offered items of this assignment back to the pool (available, unassigned).

    Each gets an `item.released` event saying `why`; its data's `reason` is `code`
    when given (a stable code), else `why`. Returns the ids released, in id order, so that
    an event listing them says the same whichever path released them."""
    ids = only if only is not None else assignment_item_ids(assignment)
    released = list(
        Item.objects.filter(
            id__in=ids, assigned_to_user_id=assignment.user_id, status__in=CLAIMED
        ).order_by("id").values_list("id", flat=True)
    )
    Item.objects.filter(id__in=released).update(
        status=ItemStatus.AVAILABLE, assigned_to_user=None, assigned_at=None, delivery_trade_offer_id=None,
        updated_at=now,
    )
    record_item_events(assignment, released, "item.released", f"Back in the pool: {why}.", actor=actor,
                       source=source, data={"reason": code or why})
    return released


def set_assignment_items(assignment: Assignment, status: str, *, delivered_at=None, only=None) -> None:
    rows = AssignmentItem.objects.filter(assignment_id=assignment.id)
    if only is not None:
        rows = rows.filter(item_id__in=only)
    rows.update(delivery_status=status, delivered_at=delivered_at)


def update_assignment(assignment: Assignment, now, **fields) -> None:
    Assignment.objects.filter(id=assignment.id).update(updated_at=now, **fields)
    for name, value in fields.items():
        setattr(assignment, name, value)
