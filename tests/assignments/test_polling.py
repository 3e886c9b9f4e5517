"""Faster news of acceptance at a bounded cost (issue 11 #9): a first attempt lists
nothing, one listing per bot serves the poll and every send due at that moment, the
poller lists at most every DELIVERY_LISTING_ACTIVE_SECONDS and reads new offers one
by one in between, and confirmations go out in one batch. Counted by the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from assignments.delivery import delivery_poll, delivery_poll_tick, delivery_run
from assignments.delivery.poll import _read_due
from assignments.models import Assignment
from tests.assignments.delivery_support import assign, reload, steam_user, stock, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def counters(sandbox) -> dict:
    view = sandbox.call("GET", "/sandbox/bots/bot/counters")
    return {name: entry["count"] for name, entry in view["endpoints"].items()} | {
        "listings": view["listings"], "singleOfferReads": view["singleOfferReads"],
        "outstandingOfferReads": view["outstandingOfferReads"]}


def test_a_first_attempt_sends_without_listing_our_offers(sandbox):
    remote, user = steam_user(sandbox, "ignore")
    assignment = assign(user, stock(sandbox))
    before = counters(sandbox)

    assert delivery_run(assignment_id=assignment.id).outcome == "sent"

    assert counters(sandbox)["listings"] == before["listings"]


def test_one_listing_serves_the_poll_and_every_send_due_after_it(sandbox, settings):
    remote, user = steam_user(sandbox, "ignore")
    retried = [assign(user, stock(sandbox)) for _ in range(3)]
    sandbox.set_fault(kind="send_error", eresult=20, count=3)
    for assignment in retried:  # each first send fails on Steam's side: the next one must look first
        assert delivery_run(assignment_id=assignment.id).outcome == "steam_unavailable"
    Assignment.objects.filter(id__in=[a.id for a in retried]).update(next_attempt_at=timezone.now())

    delivery_poll()
    listed = counters(sandbox)["listings"]
    for assignment in retried:
        assert delivery_run(assignment_id=assignment.id).outcome == "sent"

    assert counters(sandbox)["listings"] == listed  # the poll's listing answered all three looks


def test_the_poller_lists_at_most_once_per_interval_and_reads_new_offers_in_between(sandbox, settings):
    settings.DELIVERY_LISTING_ACTIVE_SECONDS = 3600
    settings.DELIVERY_OFFER_READ_WINDOW_SECONDS = 3600
    remote, user = steam_user(sandbox, "accept", delay_seconds=2)
    assignment = assign(user, stock(sandbox))
    run = delivery_run(assignment_id=assignment.id)
    assert delivery_poll_tick()["listing_full"] == 1  # the first wake lists (the offer is not accepted yet)
    listed = counters(sandbox)["listings"]
    wait_for(lambda: sandbox.offer(run.offer_id)["state"] == 3, what="the user to accept")

    def delivered():
        delivery_poll_tick()
        return reload(assignment).status == "delivered"

    wait_for(delivered, interval=0.5, what="a read of the new offer to see the accept")
    seen = counters(sandbox)
    assert seen["listings"] == listed  # no second listing within DELIVERY_LISTING_ACTIVE_SECONDS
    assert seen.get("GetTradeOffer", 0) >= 1


def test_new_offers_are_read_at_doubling_ages_then_left_to_the_listings(settings):
    settings.DELIVERY_POLL_INTERVAL_SECONDS = 2
    settings.DELIVERY_OFFER_READ_WINDOW_SECONDS = 32
    sent = timezone.now()
    wakes = [sent + timedelta(seconds=s) for s in range(0, 60, 2)]
    reads = [round((w - sent).total_seconds()) for w in wakes if _read_due(sent, w, 2)]
    assert reads == [2, 4, 8, 16, 32]


def test_offers_waiting_for_a_confirmation_are_confirmed_in_one_batch(sandbox):
    remote, user = steam_user(sandbox, "ignore")
    assignments = [assign(user, stock(sandbox)) for _ in range(3)]
    sandbox.set_fault(kind="server_error", pathPrefix="/mobileconf/")
    for assignment in assignments:
        delivery_run(assignment_id=assignment.id)
    assert {reload(a).status_reason for a in assignments} == {"awaiting_confirmation"}
    sandbox.clear_faults()
    before = counters(sandbox)

    delivery_poll()

    after = counters(sandbox)
    assert {reload(a).status_reason for a in assignments} == {"awaiting_acceptance"}
    # One round for all three (one by one, it would have been three getlists and three multiajaxops).
    rounds = after.get("getlist", 0) - before.get("getlist", 0)
    assert 1 <= rounds < 3  # a second round only if Steam refused the first (the gateway acknowledges, retries)
    assert after.get("multiajaxop", 0) - before.get("multiajaxop", 0) == rounds


def test_a_wake_while_steam_is_down_logs_and_waits_for_the_next(sandbox, settings):
    remote, user = steam_user(sandbox, "ignore")
    assignment = assign(user, stock(sandbox))
    delivery_run(assignment_id=assignment.id)
    settings.STEAM_SANDBOX_URL = "http://127.0.0.1:9"  # nothing listens

    assert delivery_poll_tick() == {"steam_unavailable": 1}
    assert reload(assignment).status == "processing"
