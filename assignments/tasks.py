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


@shared_task(name="assignments.deliver_assignment", acks_late=True)
def deliver_assignment_task(assignment_id: str) -> str:
    """Start or resume delivery of one assignment. A later attempt (Steam unavailable,
    a retry, a wait) is `next_attempt_at`, for the sweeper: never a countdown here."""
    return delivery.delivery_run(assignment_id=assignment_id).outcome


@shared_task(name="assignments.resume_cancel", acks_late=True)
def resume_cancel_task(assignment_id: str) -> str:
    """Finish a cancel whose process died while it looked on Steam (queued by the sweeper)."""
    return delivery.delivery_cancel_resume(assignment_id=assignment_id)


@shared_task(name="assignments.poll_offers", acks_late=True, expires=max(settings.DELIVERY_POLL_INTERVAL_SECONDS, 10))
def poll_offers_task() -> dict:
    """Follow our offers, adapting to what is out (beat: every DELIVERY_POLL_INTERVAL_SECONDS)."""
    return delivery.delivery_poll_tick()


@shared_task(name="assignments.sweep_deliveries", acks_late=True, expires=delivery.SWEEP_INTERVAL_SECONDS)
def sweep_deliveries_task() -> int:
    """Queue deliveries that are due, stuck or lost (beat: every minute)."""
    return delivery.delivery_sweep()
