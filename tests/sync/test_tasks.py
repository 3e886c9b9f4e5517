"""The sync task's waiting and adoption paths."""

from __future__ import annotations

import pytest

from sync import services
from sync.lock import sync_lock
from sync.models import InventorySyncLog
from sync.tasks import sync_inventory_task

pytestmark = pytest.mark.django_db


def test_a_queued_request_waits_for_the_lock_then_gives_up():
    queued = services.sync_request(trigger="trade", actor="system")
    with sync_lock():
        # Eager apply runs each retry at once: all of them meet the held lock.
        sync_inventory_task.apply(kwargs={"sync_log_id": str(queued.id), "trigger": "trade"})
    queued.refresh_from_db()
    assert queued.sync_status == "skipped" and "held the lock" in queued.error_message
    assert not InventorySyncLog.objects.filter(sync_status__in=["running", "success"]).exists()


def test_a_request_adopted_by_an_earlier_run_is_not_run_again():
    queued = services.sync_request(trigger="trade", actor="system")
    InventorySyncLog.objects.filter(id=queued.id).update(sync_status="success")  # adopted and finished
    result = sync_inventory_task.apply(kwargs={"sync_log_id": str(queued.id), "trigger": "trade"})
    assert result.state == "SUCCESS" and result.result == str(queued.id)
    assert InventorySyncLog.objects.count() == 1


def test_a_request_that_waited_too_long_is_skipped():
    queued = services.sync_request(trigger="trade", actor="system")
    assert services.sync_skip_queued(sync_log_id=queued.id, actor="system", reason="lock held too long")
    queued.refresh_from_db()
    assert queued.sync_status == "skipped"
    assert services.sync_skip_queued(sync_log_id=queued.id, actor="system", reason="again") is None


def test_the_sync_task_may_run_as_long_as_a_paced_read_takes(settings):
    # 100 pages 4 s apart is over 400 s: far past the 300 s every other task gets.
    assert sync_inventory_task.time_limit == settings.SYNC_TASK_TIME_LIMIT_SECONDS == 1800
    assert sync_inventory_task.soft_time_limit == 1740 > 100 * 4  # 100 pages at the default pacing
