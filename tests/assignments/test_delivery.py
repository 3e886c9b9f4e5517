"""Delivery: sending, waiting, and sending exactly once (sandbox over real HTTP).

Every test is transactional: the engine refuses to call Steam inside a
transaction, and concurrency needs committed rows.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from assignments import delivery
from assignments.delivery import delivery_poll, delivery_resume_for_user, delivery_run
from assignments.models import AttemptOutcome
from audit.models import SystemEvent
from astro.steam import get_gateway
from astro.steam.types import AssetRef
from items.services import user_set_trade_url
from sync.models import InventorySyncLog
from tests.assignments.delivery_support import (
    assert_event_data_in_camel_case,
    assign,
    attempts,
    event_types,
    item_statuses,
    our_offers,
    reload,
    steam_user,
    stock,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_offer_sent_confirmed_accepted_delivered_and_sync_queued(sandbox):
    remote, user = steam_user(sandbox, "accept")
    items = stock(sandbox, 2)
    assignment = assign(user, items)

    run = delivery_run(assignment_id=assignment.id)

    assert run.outcome == "sent"
    [offer] = our_offers(sandbox, remote)
    assert offer["id"] == run.offer_id
    assert f"astro:{assignment.id}:1" in offer["message"]
    assert {a["assetid"] for a in offer["itemsToGive"]} == {str(i.steam_asset_id) for i in items}
    sent = reload(assignment)
    assert (sent.status, sent.delivery_trade_offer_id) == ("processing", offer["id"])
    assert item_statuses(items) == {"in_offer"}

    wait_for(lambda: our_offers(sandbox, remote, state=3), what="the user to accept")
    delivery_poll()

    done = reload(assignment)
    assert (done.status, done.status_reason, done.delivery_attempts) == ("delivered", None, 1)
    assert item_statuses(items) == {"delivered"}
    assert [a.outcome for a in attempts(assignment)] == [AttemptOutcome.ACCEPTED]
    assert event_types(assignment)[-5:] == [
        "delivery.offer_sent", "delivery.offer_confirmed", "delivery.accepted", "item.delivered", "item.delivered",
    ]
    assert InventorySyncLog.objects.filter(trigger="trade").exists()
    accepted = SystemEvent.objects.get(assignment=assignment, event_type="delivery.accepted")
    assert accepted.event_data["offerId"] == offer["id"]
    assert sorted(accepted.event_data["itemIds"]) == sorted(str(i.id) for i in items)
    assert_event_data_in_camel_case(assignment)


def test_running_the_task_again_changes_nothing(sandbox):
    remote, user = steam_user(sandbox, "ignore")
    assignment = assign(user, stock(sandbox))
    delivery_run(assignment_id=assignment.id)

    again = delivery_run(assignment_id=assignment.id)

    assert again.outcome == "not_due"
    assert len(our_offers(sandbox, remote)) == 1
    assert len(attempts(assignment)) == 1


def test_no_trade_url_waits_then_delivers_once_the_url_is_set(sandbox):
    remote, user = steam_user(sandbox, "accept", with_trade_url=False)
    assignment = assign(user, stock(sandbox))

    assert delivery_run(assignment_id=assignment.id).outcome == "trade_url_required"
    assert delivery_run(assignment_id=assignment.id).outcome == "not_due"
    waiting = reload(assignment)
    assert (waiting.status, waiting.status_reason) == ("pending", "trade_url_required")
    assert "trade URL" in waiting.delivery_error_message
    assert event_types(assignment).count("assignment.waiting") == 1
    assert our_offers(sandbox, remote) == []

    # The API's PUT /api/users/{steamId} path: the service resumes deliveries on commit.
    user_set_trade_url(steam_id=user.steam_id, trade_url=remote["tradeUrl"], actor="test-suite", source="api")
    assert reload(assignment).status_reason is None
    assert event_types(assignment).count("assignment.resumed") == 1
    assert delivery_run(assignment_id=assignment.id).outcome == "sent"
    wait_for(lambda: our_offers(sandbox, remote, state=3), what="the user to accept")
    delivery_poll()
    assert reload(assignment).status == "delivered"


def test_trade_url_of_another_account_is_never_used(sandbox):
    remote, user = steam_user(sandbox, "accept")
    other, _ = steam_user(sandbox, "accept")
    user.trade_url = other["tradeUrl"]
    user.save()
    assignment = assign(user, stock(sandbox))

    assert delivery_run(assignment_id=assignment.id).outcome == "trade_url_invalid"
    assert sandbox.offers() == []
    assert reload(assignment).status_reason == "trade_url_invalid"
    assert delivery_resume_for_user(steam_id=user.steam_id) == 1


def test_items_on_trade_hold_wait_until_tradable(sandbox):
    remote, user = steam_user(sandbox, "accept")
    items = stock(sandbox, 2)
    until = timezone.now() + timedelta(days=3)
    items[1].tradable_after = until
    items[1].save()
    assignment = assign(user, items)

    run = delivery_run(assignment_id=assignment.id)

    assert run.outcome == "items_not_tradable"
    waiting = reload(assignment)
    assert (waiting.status, waiting.status_reason, waiting.next_attempt_at) == ("pending", "items_not_tradable", until)
    assert our_offers(sandbox, remote) == []
    assert delivery_run(assignment_id=assignment.id).outcome == "not_due"


@pytest.mark.parametrize(
    "fault, reason",
    [
        (dict(kind="rate_limit", pathPrefix="/tradeoffer/new/send"), "steam_unavailable"),
        (dict(kind="send_error", eresult=20), "steam_unavailable"),
        # An HTML 500 is an answer the gateway cannot read: Steam may have made the offer.
        (dict(kind="server_error", pathPrefix="/tradeoffer/new/send"), "send_outcome_unknown"),
    ],
    ids=["429", "eresult-20", "5xx"],
)
def test_steam_failing_the_send_is_retried_later_not_failed(sandbox, settings, fault, reason):
    settings.DELIVERY_RETRY_BASE_SECONDS = 1
    remote, user = steam_user(sandbox, "ignore")
    items = stock(sandbox)
    assignment = assign(user, items)
    sandbox.set_fault(count=1, **fault)

    run = delivery_run(assignment_id=assignment.id)

    assert run.outcome == reason and run.retry_in == 1
    waiting = reload(assignment)
    assert (waiting.status, waiting.status_reason, waiting.delivery_trade_offer_id) == ("processing", reason, None)
    assert waiting.next_attempt_at is not None and waiting.delivery_error_message
    assert item_statuses(items) == {"reserved"}
    assert our_offers(sandbox, remote) == []
    assert "delivery.transient_error" in event_types(assignment)

    wait_for(lambda: delivery_run(assignment_id=assignment.id).outcome == "sent", what="the retry")
    assert len(our_offers(sandbox, remote)) == 1
    assert [a.outcome for a in attempts(assignment)] == [
        AttemptOutcome.STEAM_UNAVAILABLE if reason == "steam_unavailable" else AttemptOutcome.OUTCOME_UNKNOWN,
        AttemptOutcome.OFFER_ACTIVE,
    ]
    assert_event_data_in_camel_case(assignment)


@pytest.mark.parametrize(
    "fault",
    [dict(kind="send_timeout", mode="drop"), dict(kind="send_error", eresult=16, createOffer=True)],
    ids=["connection-dropped", "eresult-16-timeout"],
)
def test_send_that_created_the_offer_and_then_failed_is_adopted_not_repeated(sandbox, fault):
    remote, user = steam_user(sandbox, "ignore")
    items = stock(sandbox, 2)
    assignment = assign(user, items)
    sandbox.set_fault(count=1, **fault)

    run = delivery_run(assignment_id=assignment.id)

    [offer] = our_offers(sandbox, remote)
    assert (run.outcome, run.offer_id) == ("adopted", offer["id"])
    adopted = reload(assignment)
    assert (adopted.status, adopted.delivery_trade_offer_id) == ("processing", offer["id"])
    assert item_statuses(items) == {"in_offer"}
    assert "delivery.offer_adopted" in event_types(assignment)
    # It was created unconfirmed; following it confirms it (state 9 -> 2).
    delivery_poll()
    assert sandbox.offer(offer["id"])["state"] == 2
    assert len(our_offers(sandbox, remote)) == 1
    assert_event_data_in_camel_case(assignment)


def test_offer_not_yet_visible_after_an_ambiguous_send_is_found_by_the_next_attempt(sandbox, settings):
    """The send dropped, and the offer shows up only later: the next attempt adopts it."""
    settings.DELIVERY_RETRY_BASE_SECONDS = 1
    remote, user = steam_user(sandbox, "ignore")
    assignment = assign(user, stock(sandbox))
    # The send hangs past the gateway's timeout; the sandbox creates the offer when it
    # answers, after the gateway gave up. Meanwhile the re-look sees nothing.
    settings.STEAM_HTTP_TIMEOUT_SECONDS = 2
    sandbox.set_fault(kind="latency", ms=3000, pathPrefix="/tradeoffer/new/send", count=1)

    run = delivery_run(assignment_id=assignment.id)

    assert run.outcome == "send_outcome_unknown"
    wait_for(lambda: our_offers(sandbox, remote), what="the late offer")
    settings.STEAM_HTTP_TIMEOUT_SECONDS = 20
    wait_for(lambda: delivery_run(assignment_id=assignment.id).outcome == "adopted", what="the next attempt")
    [offer] = our_offers(sandbox, remote)
    assert reload(assignment).delivery_trade_offer_id == offer["id"]
    assert [a.number for a in attempts(assignment) if a.trade_offer_id] == [2]


def test_two_workers_delivering_the_same_assignment_at_once_send_one_offer(sandbox):
    remote, user = steam_user(sandbox, "ignore")
    assignment = assign(user, stock(sandbox, 3))
    # Slow sends widen the window in which a second worker could slip in.
    sandbox.set_fault(kind="latency", ms=500, pathPrefix="/tradeoffer/new/send")
    get_gateway().ensure_session()
    barrier = threading.Barrier(4)
    outcomes, errors = [], []

    def work():
        try:
            barrier.wait()
            outcomes.append(delivery_run(assignment_id=assignment.id).outcome)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sorted(outcomes) == ["not_due", "not_due", "not_due", "sent"]
    assert len(our_offers(sandbox, remote)) == 1
    assert len(attempts(assignment)) == 1


def test_stray_offer_of_a_settled_assignment_is_cancelled(sandbox):
    """A live tagged offer that nothing follows (e.g. made by a send that lost its claim)."""
    remote, user = steam_user(sandbox, "ignore")
    first = assign(user, stock(sandbox))
    delivery_run(assignment_id=first.id)
    [followed] = our_offers(sandbox, remote)
    stray_items = stock(sandbox)
    stray = assign(user, stray_items)
    delivery.delivery_cancel(assignment_id=stray.id, actor="test-suite", source="admin", reason="test")
    gateway = get_gateway()
    offer_id = gateway.send_offer(
        trade_url=remote["tradeUrl"],
        assets=[AssetRef(app_id=730, context_id=2, asset_id=stray_items[0].steam_asset_id)],
        message=f"Astro delivery {delivery.attempt_tag(stray.id, 1)}",
    ).offer_id

    counts = delivery_poll()

    assert counts["stray_cancelled"] == 1
    assert sandbox.offer(offer_id)["state"] == 6
    assert sandbox.offer(followed["id"])["state"] in (2, 9)


def queued_deliveries() -> list[str]:
    """The assignment ids of delivery tasks waiting in the real Redis broker, oldest first."""
    import json

    import redis
    from django.conf import settings

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    found = []
    for raw in reversed(broker.lrange("celery", 0, -1)):  # LPUSHed: newest at the head
        headers = json.loads(raw)["headers"]
        if headers["task"] == "assignments.deliver_assignment":
            found.append(headers["argsrepr"].strip("()[],'\" "))
    return found


def test_sweeper_queues_due_and_stuck_deliveries_highest_priority_first(sandbox, settings):
    from assignments.models import Assignment
    from config.celery import app

    _, user = steam_user(sandbox)
    _, no_url = steam_user(sandbox, with_trade_url=False)
    long_ago = timezone.now() - timedelta(seconds=settings.DELIVERY_STUCK_AFTER_SECONDS + 60)
    later = timezone.now() + timedelta(hours=1)

    def made(owner=user, priority=0, **state):
        assignment = assign(owner, stock(sandbox), priority=priority)
        Assignment.objects.filter(id=assignment.id).update(**state)
        return str(assignment.id)

    low = made()
    high = made(priority=10)
    made(next_attempt_at=later)  # backing off
    made(owner=no_url, status_reason="trade_url_required")  # waiting for a URL
    stuck = made(status="processing", status_reason="sending", last_delivery_attempt_at=long_ago)
    made(status="processing", status_reason="sending", last_delivery_attempt_at=timezone.now())  # a live sender
    retry_due = made(status="processing", status_reason="steam_unavailable", next_attempt_at=timezone.now())
    made(status="processing", delivery_trade_offer_id="123", status_reason="awaiting_acceptance")  # the poller's
    app.control.purge()

    assert delivery.delivery_sweep() == 4

    assert queued_deliveries() == [high, low, stuck, retry_due]
    app.control.purge()


def test_steam_refusing_the_user_fails_the_delivery_and_frees_the_items(sandbox):
    remote, user = steam_user(sandbox, "accept", tradeBanned=True)
    items = stock(sandbox, 2)
    assignment = assign(user, items)

    run = delivery_run(assignment_id=assignment.id)

    assert run.outcome == "steam_rejected"
    failed = reload(assignment)
    assert (failed.status, failed.status_reason) == ("failed", "steam_rejected")
    assert "trade ban" in failed.delivery_error_message
    assert item_statuses(items) == {"available"}
    assert our_offers(sandbox, remote) == []
    assert [a.outcome for a in attempts(assignment)] == [AttemptOutcome.REJECTED]


def test_bot_that_must_acknowledge_trade_protection_sends_at_the_first_attempt(sandbox):
    # Behaviour change: the gateway acknowledges CS2 trade protection itself (before
    # the first send, and again after a refusal); delivery no longer needs a second
    # attempt, nor recognises any text of Steam's for it.
    sandbox.set_config(requireTradeAcknowledgement=True)
    remote, user = steam_user(sandbox, "ignore")
    assignment = assign(user, stock(sandbox))

    assert delivery_run(assignment_id=assignment.id).outcome == "sent"
    assert [a.number for a in attempts(assignment)] == [1]
    assert len(our_offers(sandbox, remote)) == 1
