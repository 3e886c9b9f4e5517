"""A requested sync runs on a real Celery worker process (real broker, real sandbox)."""

from __future__ import annotations

import pytest

from items.models import Item
from sync.models import InventorySyncLog
from sync.services import sync_request
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_requested_sync_is_run_by_a_worker_and_a_second_request_joins_it(celery_worker_factory, sandbox,
                                                                            settings):
    settings.STEAM_INVENTORIES = [(730, 2)]
    sandbox.generate_inventory(12, seed=21)
    queued = sync_request(trigger="api", actor="shop")
    joined = sync_request(trigger="trade", actor="system")  # before any worker runs: joins the waiting one
    assert queued.sync_status == "queued" and joined.id == queued.id  # joined, nothing written

    celery_worker_factory(STEAM_INVENTORIES="730/2")
    done = wait_for(
        lambda: InventorySyncLog.objects.filter(id=queued.id, sync_status="success").first(),
        timeout=120, what="the queued sync to succeed on the worker",
    )
    assert done.items_added_count == 12 and done.trigger == "api"
    assert Item.objects.count() == 12
    assert InventorySyncLog.objects.filter(sync_status__in=["queued", "running"]).count() == 0
