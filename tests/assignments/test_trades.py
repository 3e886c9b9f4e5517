"""Delivered means the trade completed (issue 11 #4), and a revert is noticed however
late it comes (issue 11 #6): the trade behind an accepted offer, read from the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from assignments.delivery import delivery_poll, delivery_run
from assignments.models import AttemptOutcome, DeliveryAttempt
from audit.models import SystemEvent
from items.models import Item
from sync.services import sync_run
from tests.assignments.delivery_support import attempts, assign, event_types, reload, steam_user, stock, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def accepted(sandbox, count=1, **user):
    remote, owner = steam_user(sandbox, "accept", **user)
    items = stock(sandbox, count)
    assignment = assign(owner, items)
    run = delivery_run(assignment_id=assignment.id)
    assert run.outcome == "sent", run
    wait_for(lambda: sandbox.offer(run.offer_id)["state"] == 3, what="the user to accept")
    return remote, items, assignment, run.offer_id


def rows(items):
    return list(Item.objects.filter(id__in=[i.id for i in items]).order_by("id"))


def test_an_accepted_offer_whose_trade_failed_is_retried_with_the_items_under_their_new_ids(sandbox):
    remote, items, assignment, offer_id = accepted(sandbox, count=2, tradeOutcome="fail")
    trade = sandbox.trade(sandbox.offer(offer_id)["tradeId"])
    assert trade["status"] == 4  # failed before completing; the offer still says accepted

    delivery_poll()

    waiting = reload(assignment)
    assert (waiting.status, waiting.status_reason, waiting.delivery_trade_offer_id) == ("pending", "trade_failed", None)
    [attempt] = attempts(assignment)
    assert (attempt.outcome, attempt.counted) == (AttemptOutcome.TRADE_FAILED, True)
    # Same rows, the asset ids Steam gave the items where they stayed, no stale offer id.
    renumbered = {int(a["assetid"]): int(a["new_assetid"]) for a in trade["assetsGiven"]}
    after = rows(items)
    assert [(r.status, r.delivery_trade_offer_id) for r in after] == [("reserved", None)] * 2
    assert {r.steam_asset_id for r in after} == {renumbered[i.steam_asset_id] for i in items}
    assert {str(r.steam_asset_id) for r in after} == set(sandbox.asset_ids())
    assert "delivery.accepted" not in event_types(assignment)

    # The sync sees exactly these items: no strangers added, nothing missing.
    log = sync_run(trigger="trade", actor="test-suite")
    assert (log.sync_status, log.items_added_count, log.items_removed_count) == ("success", 0, 0)

    # The retry sends the new ids, and this time the trade completes.
    sandbox.update_user(remote["steamId"], tradeOutcome="complete")
    reload(assignment).__class__.objects.filter(id=assignment.id).update(next_attempt_at=timezone.now())
    run = delivery_run(assignment_id=assignment.id)
    assert run.outcome == "sent"
    assert {a["assetid"] for a in sandbox.offer(run.offer_id)["itemsToGive"]} == {str(r.steam_asset_id) for r in after}
    wait_for(lambda: sandbox.offer(run.offer_id)["state"] == 3, what="the second accept")
    delivery_poll()
    assert reload(assignment).status == "delivered"


def test_an_accepted_offer_is_delivered_only_once_its_trade_says_complete(sandbox):
    remote, items, assignment, offer_id = accepted(sandbox)
    sandbox.act_on_offer(offer_id, "glitch", tradeStatus=2)  # Committed: under way, not done

    delivery_poll()
    assert (reload(assignment).status, reload(assignment).status_reason) == ("processing", "awaiting_acceptance")

    sandbox.act_on_offer(offer_id, "glitch", tradeStatus=None)
    delivery_poll()
    done = reload(assignment)
    assert done.status == "delivered"
    [attempt] = attempts(assignment)
    assert attempt.trade_id == sandbox.offer(offer_id)["tradeId"]


def test_a_trade_status_nobody_knows_is_logged_and_never_taken_for_delivered(sandbox):
    remote, items, assignment, offer_id = accepted(sandbox)
    sandbox.act_on_offer(offer_id, "glitch", tradeStatus=13)

    delivery_poll()  # no exception
    assert reload(assignment).status == "processing"

    sandbox.act_on_offer(offer_id, "glitch", tradeStatus=None)
    delivery_poll()
    assert reload(assignment).status == "delivered"


@pytest.mark.parametrize("offer_state, touches", [(3, False), (12, False), (12, True)])
def test_a_revert_is_noticed_from_the_trade_however_late_and_whatever_the_offer_shows(
    sandbox, settings, offer_state, touches
):
    settings.DELIVERY_REVERT_CHECK_SECONDS = 60
    sandbox.set_config(revertOfferState=offer_state, revertTouchesTimeUpdated=touches)
    remote, items, assignment, offer_id = accepted(sandbox, count=2, tradeOutcome="revert",
                                                   revertAfterSeconds=5 * 24 * 3600)
    delivery_poll()
    assert reload(assignment).status == "delivered"
    original_ids = {i.steam_asset_id for i in items}

    # Five days later (within the protection window) the user takes the trade back.
    sandbox.advance_clock(5 * 24 * 3600 + 60)
    assert sandbox.offer(offer_id)["state"] == offer_state
    trade = sandbox.trade(sandbox.offer(offer_id)["tradeId"])
    assert trade["status"] == 12
    # Astro last read the trade more than DELIVERY_REVERT_CHECK_SECONDS ago.
    DeliveryAttempt.objects.filter(assignment=assignment).update(
        trade_checked_at=timezone.now() - timedelta(seconds=120))

    delivery_poll()

    undone = reload(assignment)
    assert (undone.status, undone.status_reason) == ("failed", "reverted")
    assert undone.next_attempt_at is None  # never sent again
    after = rows(items)
    rollback = sandbox.trade(trade["rollbackTradeId"])
    returned = {int(a["new_assetid"]) for a in rollback["assetsReceived"]}
    assert {r.steam_asset_id for r in after} == returned
    assert returned.isdisjoint(original_ids)
    assert [(r.status, r.delivery_trade_offer_id, r.assigned_to_user_id) for r in after] == [
        ("available", None, None)] * 2
    reverted = SystemEvent.objects.get(assignment=assignment, event_type="delivery.reverted")
    assert sorted(reverted.event_data["restoredItemIds"]) == sorted(str(i.id) for i in items)
    log = sync_run(trigger="trade", actor="test-suite")
    assert (log.sync_status, log.items_added_count, log.items_removed_count) == ("success", 0, 0)
    assert len(sandbox.offers(partner=remote["steamId"])) == 1  # no resend


def test_delivered_trades_are_read_again_only_when_their_check_is_due(sandbox, settings):
    settings.DELIVERY_REVERT_CHECK_SECONDS = 3600
    remote, items, assignment, offer_id = accepted(sandbox)
    delivery_poll()
    [attempt] = attempts(assignment)
    checked = attempt.trade_checked_at
    before = sandbox.call("GET", "/sandbox/bots/bot/counters")
    delivery_poll()
    after = sandbox.call("GET", "/sandbox/bots/bot/counters")
    statuses = lambda c: c["endpoints"].get("GetTradeStatus", {}).get("count", 0)  # noqa: E731
    assert statuses(after) == statuses(before)
    assert attempts(assignment)[0].trade_checked_at == checked


def test_check_now_on_a_delivered_assignment_reads_its_trade(sandbox):
    from assignments.delivery import delivery_check_now

    sandbox.set_config(revertOfferState=3, revertTouchesTimeUpdated=False)
    remote, items, assignment, offer_id = accepted(sandbox, tradeOutcome="revert", revertAfterSeconds=3600)
    delivery_poll()
    assert reload(assignment).status == "delivered"
    sandbox.advance_clock(3700)
    assert sandbox.offer(offer_id)["state"] == 3  # the offer still says accepted

    checked = delivery_check_now(assignment_id=assignment.id, actor="olga")

    assert (checked.status, checked.status_reason) == ("failed", "reverted")
