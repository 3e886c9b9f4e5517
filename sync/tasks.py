"""Sync's Celery task: thin, takes ids, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from sync import services
from sync.errors import SyncBusy

logger = logging.getLogger(__name__)

# A queued request waits for a running sync this long (retries x countdown)
# before it gives up; the schedule runs a full sync every few minutes anyway.
BUSY_RETRY_SECONDS = 10
BUSY_MAX_RETRIES = 30


@shared_task(bind=True, name="sync.tasks.sync_inventory_task", max_retries=BUSY_MAX_RETRIES, ignore_result=True,
             time_limit=settings.SYNC_TASK_TIME_LIMIT_SECONDS, soft_time_limit=settings.SYNC_TASK_TIME_LIMIT_SECONDS - 60)
def sync_inventory_task(self, sync_log_id: str | None = None, trigger: str = "schedule", actor: str = "system"):
    """Run one inventory sync.

    Without `sync_log_id` (the beat schedule): runs now, or records a `skipped`
    run if another sync holds the lock. With the id of a `queued` run (from
    `sync_request`): runs that request, waiting for a running sync to finish
    (retries) because the running one may have read the inventory before the
    trade that asked for this one; returns quietly if the request was already
    adopted by a sync that started after it was queued.
    """
    try:
        log = services.sync_run(trigger=trigger, actor=actor, sync_log_id=sync_log_id)
    except SyncBusy:
        if self.request.retries >= BUSY_MAX_RETRIES:
            services.sync_skip_queued(
                sync_log_id=sync_log_id, actor=actor,
                reason=f"another sync held the lock for {BUSY_MAX_RETRIES * BUSY_RETRY_SECONDS} s",
            )
            return None
        raise self.retry(countdown=BUSY_RETRY_SECONDS)
    logger.info("sync %s finished: %s", log.id, log.sync_status)
    return str(log.id)
