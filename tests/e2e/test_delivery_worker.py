"""Delivery through real `celery worker` processes, real Redis and the Steam sandbox."""

from __future__ import annotations

import pytest

from assignments.delivery import delivery_sweep
from assignments.models import AttemptOutcome
from assignments.services import assignment_create
from assignments.tasks import poll_offers_task
from items.models import Item
from sync.models import InventorySyncLog
from sync.services import sync_run
from tests.assignments.delivery_support import attempts, event_types, our_offers, reload
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def pool_from_sandbox(sandbox, count: int) -> list[Item]:
    """Items enter the pool the way they do in production: the sandbox bot holds them, a sync imports them."""
    assets = sandbox.add_items(count=count)
    assert sync_run(trigger="command", actor="test-suite").sync_status == "success"
    return list(Item.objects.filter(steam_asset_id__in=[int(a["assetid"]) for a in assets]))


def test_assignment_is_delivered_by_the_worker_and_the_sync_sees_the_items_gone(sandbox, celery_worker_factory,
                                                                               settings):
    # The one e2e test on the production defaults: the test settings' pacing of Steam
    # calls (none) is put back to the defaults for the worker, and every DELIVERY_*
    # setting is the default.
    celery_worker_factory(STEAM_CONFIRMATION_PACING_SECONDS="10", STEAM_INVENTORY_PACING_SECONDS="4")
    items = pool_from_sandbox(sandbox, 2)
    remote = sandbox.create_user("accept")

    assignment = assignment_create(
        user_id=int(remote["steamId"]), item_ids=[i.id for i in items], assignment_type="giveaway",
        external_system="e2e", actor="e2e", trade_url=remote["tradeUrl"],
    )

    [offer] = wait_for(lambda: our_offers(sandbox, remote, state=3), what="the worker's offer to be accepted")
    assert f"astro:{assignment.id}:1" in offer["message"]

    def delivered():
        poll_offers_task.delay()  # what beat does every DELIVERY_POLL_INTERVAL_SECONDS
        return reload(assignment).status == "delivered"

    wait_for(delivered, interval=settings.DELIVERY_POLL_INTERVAL_SECONDS, what="the poll to see the accept")
    trade_sync = wait_for(
        lambda: InventorySyncLog.objects.filter(trigger="trade", sync_status="success").first(),
        what="the sync queued by the accepted trade",
    )
    assert set(Item.objects.filter(id__in=[i.id for i in items]).values_list("status", flat=True)) == {"delivered"}
    assert trade_sync.steam_inventory_count == 0
    assert sandbox.asset_ids() == []


def test_worker_killed_inside_the_send_is_finished_by_the_sweeper_with_one_offer(
    sandbox, celery_worker_factory, settings
):
    # A short lease, and task limits no longer than it (settings refuse a lease shorter
    # than the time a task may run, or a live worker could be taken over).
    stuck_after = 15
    lease = dict(DELIVERY_STUCK_AFTER_SECONDS=stuck_after, CELERY_TASK_TIME_LIMIT=15, CELERY_TASK_SOFT_TIME_LIMIT=12)
    settings.DELIVERY_STUCK_AFTER_SECONDS = stuck_after
    first = celery_worker_factory(**lease)
    items = pool_from_sandbox(sandbox, 1)
    remote = sandbox.create_user("ignore")
    # Steam creates the offer, then the answer never comes: the worker hangs inside the send.
    sandbox.set_fault(kind="send_timeout", mode="hang", holdSeconds=120, count=1)

    assignment = assignment_create(
        user_id=int(remote["steamId"]), item_ids=[i.id for i in items], assignment_type="giveaway",
        external_system="e2e", actor="e2e", trade_url=remote["tradeUrl"],
    )
    wait_for(lambda: our_offers(sandbox, remote), what="the offer to exist on Steam")
    first.kill()
    assert reload(assignment).delivery_trade_offer_id is None  # it died before learning the id

    celery_worker_factory(**lease)

    def recovered():
        delivery_sweep()  # what beat does every minute
        return reload(assignment).delivery_trade_offer_id

    offer_id = wait_for(recovered, timeout=90, interval=2.0, what="the sweeper to recover the delivery")

    [offer] = our_offers(sandbox, remote)
    assert offer["id"] == offer_id
    assert [(a.number, a.outcome, a.adopted) for a in attempts(assignment)] == [
        (1, AttemptOutcome.SUPERSEDED, False), (2, AttemptOutcome.OFFER_ACTIVE, True),
    ]
    types = event_types(assignment)
    assert "delivery.attempt_recovered" in types and "delivery.offer_adopted" in types
