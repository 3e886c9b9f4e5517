"""The sweep: every waiting delivery is scheduled in the database, and this starts what is due.

Retries, trade-hold rechecks, items' trade holds and a lost task message all end
up here: `next_attempt_at` says when, and beat runs the sweep every
SWEEP_INTERVAL_SECONDS. No broker countdown carries a wait (a countdown longer
than the broker's visibility timeout would be delivered twice).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from assignments.delivery.records import CANCEL_TASK, DELIVER_TASK
from assignments.models import HOLDING_REASONS, WAITING_FOR_URL, Assignment, AssignmentStatus, StatusReason
from astro.core.tasks import enqueue
from items.trade_urls import has_delivery_trade_url

SWEEP_BATCH = 200
# The sweeper's beat interval; its queued messages expire after it.
SWEEP_INTERVAL_SECONDS = 60


def delivery_sweep(*, now: datetime | None = None) -> int:
    """Queue a task for every assignment whose delivery is due (`due_work`). A stuck
    cancel is queued as a cancel: it resumes, it never sends. Returns how many."""
    due = due_work(now=now)
    for assignment_id, task in due:
        # Expires with the next sweep: while workers are down, sweeps must not pile
        # up copies of the same message (duplicates would be harmless, only wasteful).
        enqueue(task, str(assignment_id), expires=SWEEP_INTERVAL_SECONDS)
    return len(due)


def due_work(*, now: datetime | None = None) -> list[tuple]:
    """(assignment id, task name) of what is due, in the order it is to be taken:
    pending and due, or processing without an offer and either stuck (its worker gone
    for DELIVERY_STUCK_AFTER_SECONDS) or due for a retry.

    Highest assignment_priority first; within one priority the systems take turns
    (round-robin, each system's oldest first), so no system's backlog holds back
    another's. At most SWEEP_BATCH."""
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.DELIVERY_STUCK_AFTER_SECONDS)
    due_time = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    # A URL is looked up per system: its own for the user, else the operator's.
    pending = Q(status=AssignmentStatus.PENDING) & due_time & ~(
        Q(status_reason__in=WAITING_FOR_URL) & ~has_delivery_trade_url()
    ) & ~Q(status_reason=StatusReason.TRADE_URL_INVALID)
    stuck = Q(last_delivery_attempt_at__isnull=True) | Q(last_delivery_attempt_at__lte=stuck_before)
    unsent = Q(status=AssignmentStatus.PROCESSING, delivery_trade_offer_id__isnull=True) & (
        (Q(status_reason__in=HOLDING_REASONS) & stuck) | (~Q(status_reason__in=HOLDING_REASONS) & due_time)
    )
    rows = (
        Assignment.objects.filter(pending | unsent)
        .annotate(turn=Window(RowNumber(), partition_by=[F("assignment_priority"), F("external_system")],
                              order_by=[F("created_at").asc(), F("id").asc()]))
        .order_by("-assignment_priority", "turn", "created_at", "id")
        .values_list("id", "status", "status_reason")[:SWEEP_BATCH]
    )
    cancelling = (AssignmentStatus.PROCESSING, StatusReason.CANCELLING)
    return [(assignment_id, CANCEL_TASK if (status, reason) == cancelling else DELIVER_TASK)
            for assignment_id, status, reason in rows]
