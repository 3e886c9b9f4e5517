"""Money-safety review: races and Steam answers the delivery engine must survive.

Each test reproduces one concrete interleaving against real PostgreSQL and the
Steam sandbox over HTTP; threads are real threads with their own connections.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from assignments import delivery
from assignments.delivery import delivery_run
from assignments.models import Assignment, AttemptOutcome
from astro.steam import get_gateway
from astro.steam.types import AssetRef
from tests.assignments.delivery_support import assign, attempts, our_offers, reload, steam_user, stock, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def in_thread(fn):
    """Run fn in a real thread with its own database connection; join() returns its result."""
    box: dict = {}

    def run():
        try:
            box["result"] = fn()
        except Exception as exc:  # re-raised in the test's thread
            box["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()

    def join():
        thread.join(timeout=60)
        assert not thread.is_alive(), "the worker thread did not finish"
        if "error" in box:
            raise box["error"]
        return box["result"]

    return join


def test_takeover_of_a_slow_but_alive_sender_never_sends_a_second_offer(sandbox, settings):
    """The sweeper's copy takes over an attempt whose worker is slow, not dead.

    Worker A claims attempt 1 and is held up in its look for an earlier offer (a
    slow GetTradeOffers) past the lease; worker B takes over as attempt 2 and
    sends. When A's look finally answers it must notice it lost the claim and not
    send: a second live offer for the same items is exactly what must never exist.
    """
    settings.DELIVERY_STUCK_AFTER_SECONDS = 1
    remote, user = steam_user(sandbox, "ignore")
    assignment = assign(user, stock(sandbox, 2))
    get_gateway().ensure_session()
    # A first attempt needs no look (issue 11 #9): attempt 1 fails on Steam's side, so
    # attempt 2 (worker A) must look for an offer of it before it sends.
    sandbox.set_fault(kind="send_error", eresult=20, count=1)
    assert delivery_run(assignment_id=assignment.id).outcome == "steam_unavailable"
    Assignment.objects.filter(id=assignment.id).update(next_attempt_at=timezone.now())
    sandbox.set_fault(kind="latency", ms=3000, pathPrefix="/IEconService/GetTradeOffers/", method="GET", count=1)

    worker_a = in_thread(lambda: delivery_run(assignment_id=assignment.id))
    wait_for(lambda: len(attempts(assignment)) == 2 and not sandbox.faults(), what="worker A inside its look")
    # B's send is slow too, so that A's look answers while B is inside its send.
    sandbox.set_fault(kind="latency", ms=3000, pathPrefix="/tradeoffer/new/send", method="POST", count=1)
    run_b = wait_for(lambda: (r := delivery_run(assignment_id=assignment.id)).outcome != "not_due" and r,
                     what="worker B to take over")
    run_a = worker_a()

    assert run_b.outcome == "sent"
    assert run_a.outcome == "claim_lost"
    offers = our_offers(sandbox, remote)
    assert [o["id"] for o in offers] == [run_b.offer_id], "a second offer was sent for the same items"
    assert reload(assignment).delivery_trade_offer_id == run_b.offer_id
    assert [(a.number, a.outcome, a.trade_offer_id) for a in attempts(assignment)] == [
        (1, AttemptOutcome.STEAM_UNAVAILABLE, None), (2, AttemptOutcome.SUPERSEDED, None),
        (3, AttemptOutcome.OFFER_ACTIVE, run_b.offer_id),
    ]


@pytest.mark.parametrize("action", ["counter", "expire"])
def test_cancel_of_an_offer_that_already_ended_unpolled_cancels_instead_of_resending(sandbox, action):
    """The user countered (or the offer expired) a moment before the external system
    cancels, and no poll has seen it yet. The cancel must still cancel: ending up
    `pending` with a retry scheduled would send the items after all."""
    from assignments.services import assignment_cancel
    from tests.assignments.delivery_support import event_types, item_statuses

    remote, user = steam_user(sandbox, "ignore")
    items = stock(sandbox)
    assignment = assign(user, items)
    offer_id = delivery_run(assignment_id=assignment.id).offer_id
    sandbox.act_on_offer(offer_id, action)

    result = assignment_cancel(assignment_id=assignment.id, actor="test_system", source="api", reason="void")

    assert result.status == "cancelled"
    after = reload(assignment)
    assert (after.status, after.next_attempt_at) == ("cancelled", None)
    assert item_statuses(items) == {"available"}
    assert "assignment.cancelled" in event_types(assignment)
    assert delivery_run(assignment_id=assignment.id).outcome == "not_due"
    assert [o["id"] for o in our_offers(sandbox, remote) if o["isOurOffer"]] == [offer_id]


def test_release_refuses_while_an_ambiguous_send_may_have_made_an_offer(sandbox, settings):
    """An item cannot be taken out of an assignment whose last send may have created
    an offer with it: the next attempt adopts that offer, and the released item,
    back in the pool for someone else, would leave with it."""
    from assignments.overrides import item_release_from_assignment
    from items.overrides import OverrideRefused
    from tests.assignments.delivery_support import item_statuses

    settings.STEAM_HTTP_TIMEOUT_SECONDS = 2
    remote, user = steam_user(sandbox, "ignore")
    items = stock(sandbox, 2)
    assignment = assign(user, items)
    sandbox.set_fault(kind="latency", ms=3000, pathPrefix="/tradeoffer/new/send", count=1)
    assert delivery_run(assignment_id=assignment.id).outcome == "send_outcome_unknown"

    with pytest.raises(OverrideRefused) as refused:
        item_release_from_assignment(item_id=items[0].id, actor="olga", reason="Steam no longer shows it")

    assert refused.value.code == "delivery_in_flight"
    assert item_statuses(items) == {"reserved"}
    assert reload(assignment).total_items_count == 2


def test_a_tagged_offer_to_another_partner_is_not_adopted(sandbox):
    """The tag alone does not make an offer this assignment's delivery: one to
    another account (or with other items) is never followed as if it were."""
    remote, user = steam_user(sandbox, "ignore")
    other, _ = steam_user(sandbox, "ignore")
    items = stock(sandbox)
    assignment = assign(user, items)
    get_gateway().get_sent_offers()  # a read renews a session the sandbox no longer knows; a send does not
    foreign = get_gateway().send_offer(
        trade_url=other["tradeUrl"],
        assets=[AssetRef(app_id=i.steam_app_id, context_id=i.steam_context_id, asset_id=i.steam_asset_id)
                for i in items],
        message=f"Astro delivery {delivery.attempt_tag(assignment.id, 1)}",
    ).offer_id

    run = delivery_run(assignment_id=assignment.id)

    assert run.outcome == "sent" and run.offer_id != foreign
    [ours] = our_offers(sandbox, remote)
    assert reload(assignment).delivery_trade_offer_id == ours["id"] == run.offer_id
    # Nothing follows the foreign offer: the poller takes it off Steam.
    delivery.delivery_poll()
    assert sandbox.offer(foreign)["state"] == 6
