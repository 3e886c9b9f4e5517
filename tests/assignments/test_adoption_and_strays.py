"""One adoption rule for every path, and stray offers always cancelled (issue 11 #6;
issue 12 #8-#10).

An offer is this delivery's only when its tag names the assignment and an attempt
that recorded no offer, its partner is the user, it asks for nothing, and it gives
exactly the attempt's assets (a listed asset id 0 matches by class and instance).
A live tagged offer nothing follows is cancelled, again and again until Steam
shows it cancelled.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from assignments import delivery
from assignments.delivery import delivery_cancel, delivery_poll, delivery_run
from assignments.models import Assignment, AttemptOutcome, DeliveryAttempt
from astro.steam import get_gateway
from astro.steam.types import AssetRef
from tests.assignments.delivery_support import (
    assign,
    attempts,
    event_types,
    our_offers,
    reload,
    steam_user,
    stock,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ambiguous_send(sandbox, settings):
    """Attempt 1's send hangs past the gateway's timeout and Steam creates the offer
    only after it gave up: the re-look sees nothing, the next attempt must find it."""

    def send(behaviour="ignore", count=1, **user):
        remote, owner = steam_user(sandbox, behaviour, **user)
        items = stock(sandbox, count)
        assignment = assign(owner, items)
        settings.STEAM_HTTP_TIMEOUT_SECONDS = 2
        sandbox.set_fault(kind="latency", ms=3000, pathPrefix="/tradeoffer/new/send", count=1)
        run = delivery_run(assignment_id=assignment.id)
        assert run.outcome == "send_outcome_unknown", run
        [offer] = wait_for(lambda: our_offers(sandbox, remote), what="the late offer")
        settings.STEAM_HTTP_TIMEOUT_SECONDS = 20
        Assignment.objects.filter(id=assignment.id).update(next_attempt_at=timezone.now())
        return remote, items, assignment, offer["id"]

    return send


def send_tagged(remote, items, assignment, number):
    get_gateway().get_sent_offers()  # a read renews a session the sandbox no longer knows; a send does not
    return get_gateway().send_offer(
        trade_url=remote["tradeUrl"],
        assets=[AssetRef(app_id=i.steam_app_id, context_id=i.steam_context_id, asset_id=i.steam_asset_id)
                for i in items],
        message=f"Astro delivery {delivery.attempt_tag(assignment.id, number)}",
    ).offer_id


def test_a_listing_that_glitches_asset_ids_to_zero_still_finds_our_offer(sandbox, ambiguous_send):
    remote, items, assignment, offer_id = ambiguous_send(count=2)
    sandbox.set_config(glitchZeroAssetIds=1)  # every listing: every asset id and context id "0"

    run = delivery_run(assignment_id=assignment.id)

    assert (run.outcome, run.offer_id) == ("adopted", offer_id)
    assert [o["id"] for o in our_offers(sandbox, remote)] == [offer_id]
    assert [(a.number, a.outcome) for a in attempts(assignment)] == [
        (1, AttemptOutcome.OUTCOME_UNKNOWN), (2, AttemptOutcome.OFFER_ACTIVE)]


def test_a_zero_id_listing_of_other_items_is_not_adopted(sandbox, ambiguous_send):
    remote, items, assignment, offer_id = ambiguous_send()
    # The offer on Steam now lists an item of another class: not this delivery's items.
    sandbox.set_config(glitchZeroAssetIds=1)
    from items.models import Item

    Item.objects.filter(id=items[0].id).update(steam_class_id=items[0].steam_class_id + 1)

    run = delivery_run(assignment_id=assignment.id)

    assert run.outcome == "sent" and run.offer_id != offer_id
    assert reload(assignment).delivery_trade_offer_id == run.offer_id
    # The tagged offer that is not this delivery's is a stray: the poller takes it off Steam.
    delivery_poll()
    assert sandbox.offer(offer_id)["state"] == 6


def test_a_backdated_change_is_still_seen_by_the_look_before_a_send(sandbox, ambiguous_send):
    # The user accepted the offer of the ambiguous send; Steam backdates its
    # time_updated by 10 minutes, past a 5-minute slack.
    remote, items, assignment, offer_id = ambiguous_send("ignore")
    sandbox.set_config(glitchBackdateTimeUpdatedSeconds=600)
    sandbox.act_on_offer(offer_id, "confirm")
    sandbox.act_on_offer(offer_id, "accept")

    run = delivery_run(assignment_id=assignment.id)

    assert (run.outcome, run.offer_id) == ("adopted", offer_id)
    assert reload(assignment).status == "delivered"
    assert len(our_offers(sandbox, remote)) == 1


def test_an_offer_in_a_state_nobody_knows_does_not_block_the_look_or_the_poll(sandbox, ambiguous_send):
    remote, user = steam_user(sandbox, "ignore")
    other = assign(user, stock(sandbox))
    odd = delivery_run(assignment_id=other.id).offer_id
    sandbox.act_on_offer(odd, "glitch", state=13)
    remote2, items, assignment, offer_id = ambiguous_send()

    assert delivery_run(assignment_id=assignment.id).outcome == "adopted"
    delivery_poll()  # logs and skips the odd one
    assert reload(other).status == "processing"


def test_cancel_adopts_only_by_the_rule(sandbox):
    """Issue 12 #10: a tagged offer to another partner is not taken for this
    assignment's; the cancel settles, and the poller cancels the foreign one."""
    remote, user = steam_user(sandbox, "ignore")
    other, _ = steam_user(sandbox, "ignore")
    items = stock(sandbox)
    assignment = assign(user, items)
    sandbox.set_fault(kind="send_error", eresult=20, count=1)
    assert delivery_run(assignment_id=assignment.id).outcome == "steam_unavailable"
    foreign = send_tagged(other, items, assignment, 1)

    cancelled = delivery_cancel(assignment_id=assignment.id, actor="shop", source="api", reason="refund")

    assert cancelled.status == "cancelled"
    assert cancelled.delivery_trade_offer_id is None
    assert not DeliveryAttempt.objects.filter(trade_offer_id=foreign).exists()
    assert delivery_poll()["stray_cancelled"] == 1
    assert sandbox.offer(foreign)["state"] == 6


def test_a_stray_of_an_ended_assignment_is_cancelled_with_nothing_else_out(sandbox):
    """Issue 11 #6: strays were cancelled only while other offers were active."""
    remote, user = steam_user(sandbox, "ignore")
    items = stock(sandbox)
    assignment = assign(user, items)
    delivery_cancel(assignment_id=assignment.id, actor="shop", source="api", reason="refund")
    stray = send_tagged(remote, items, assignment, 1)

    counts = delivery_poll()

    assert counts["stray_cancelled"] == 1
    assert sandbox.offer(stray)["state"] == 6


def test_a_duplicate_whose_first_cancel_failed_is_cancelled_by_the_next_poll(sandbox):
    """Issue 12 #8: the duplicate's id is recorded on the attempt that lost its claim;
    it used to be skipped forever as "known"."""
    remote, user = steam_user(sandbox, "ignore")
    items = stock(sandbox)
    assignment = assign(user, items)
    followed = delivery_run(assignment_id=assignment.id).offer_id
    duplicate = send_tagged(remote, items, assignment, 2)
    DeliveryAttempt.objects.create(assignment=assignment, number=2, tag=delivery.attempt_tag(assignment.id, 2),
                                   started_at=timezone.now(), finished_at=timezone.now(),
                                   outcome=AttemptOutcome.SUPERSEDED, trade_offer_id=duplicate,
                                   cancel_requested="duplicate")
    # The first cancel fails (Steam answers 500 to it).
    sandbox.set_fault(kind="server_error", pathPrefix="/IEconService/CancelTradeOffer/")
    sandbox.set_fault(kind="server_error", pathPrefix="/tradeoffer/", method="POST")
    assert delivery_poll()["stray_cancelled"] == 0
    assert sandbox.offer(duplicate)["state"] in (2, 9)
    sandbox.clear_faults()

    assert delivery_poll()["stray_cancelled"] == 1

    assert sandbox.offer(duplicate)["state"] == 6
    assert sandbox.offer(followed)["state"] in (2, 9)
    assert reload(assignment).delivery_trade_offer_id == followed
    assert "delivery.offer_cancelled" in event_types(assignment)
