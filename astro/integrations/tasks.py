"""Housekeeping tasks of the integration API."""

from __future__ import annotations

from celery import shared_task

from astro.integrations.idempotency import idempotency_purge_expired


@shared_task(name="astro.purge_idempotency_records", ignore_result=True)
def purge_idempotency_records_task() -> int:
    """Delete Idempotency-Key records older than IDEMPOTENCY_KEY_TTL_HOURS. Safe to run twice."""
    return idempotency_purge_expired()
