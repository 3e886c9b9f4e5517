"""Delivery tasks: take ids, call one service in assignments.delivery, nothing else.

Tasks import the services, never the reverse: services queue these by their
registered name (`astro.core.tasks.enqueue("assignments.deliver_assignment", ...)`).

All of them are idempotent (every write is fenced by a conditional UPDATE on the
assignment), so they ack late: a worker killed mid-task leaves its message to be
redelivered, and the sweeper covers a message that is lost altogether.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from assignments import delivery
from assignments.models import StatusReason


@shared_task(name="assignments.deliver_assignment", bind=True, acks_late=True, max_retries=12)
def deliver_assignment_task(self, assignment_id: str) -> str:
    """Start or resume delivery of one assignment; retried (only) when Steam was unavailable."""
    run = delivery.delivery_run(assignment_id=assignment_id)
    wants_retry = run.outcome in (StatusReason.STEAM_UNAVAILABLE, StatusReason.SEND_OUTCOME_UNKNOWN) and run.retry_in
    if wants_retry and self.request.retries < self.max_retries:
        # The assignment's next_attempt_at says the same; past max_retries, or if
        # this retry message is ever lost, the sweeper picks it up.
        raise self.retry(countdown=min(run.retry_in, settings.CELERY_MAX_COUNTDOWN_SECONDS))
    return run.outcome


@shared_task(name="assignments.poll_offers", acks_late=True, expires=max(settings.DELIVERY_POLL_INTERVAL_SECONDS, 10))
def poll_offers_task() -> dict:
    """Follow every active offer (beat: every DELIVERY_POLL_INTERVAL_SECONDS)."""
    return delivery.delivery_poll()


@shared_task(name="assignments.sweep_deliveries", acks_late=True, expires=delivery.SWEEP_INTERVAL_SECONDS)
def sweep_deliveries_task() -> int:
    """Queue deliveries that are due, stuck or lost (beat: every minute)."""
    return delivery.delivery_sweep()

