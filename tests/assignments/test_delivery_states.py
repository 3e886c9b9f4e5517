"""Every trade-offer state Steam reports (OfferState), driven on the sandbox, applied by the poller."""

from __future__ import annotations

import pytest
from django.utils import timezone

from assignments.delivery import delivery_poll, delivery_run
from assignments.models import AttemptOutcome
from items.models import Item
from sync.models import InventorySyncLog
from sync.services import sync_run
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


def sent(sandbox, behaviour="ignore", count=1, **options):
    remote, user = steam_user(sandbox, behaviour, **options)
    items = stock(sandbox, count)
    assignment = assign(user, items)
    run = delivery_run(assignment_id=assignment.id)
    assert run.outcome == "sent", run
    return remote, items, assignment, run.offer_id


def assert_back_in_pool(items):
    rows = Item.objects.filter(id__in=[i.id for i in items])
    assert {(r.status, r.assigned_to_user_id, r.delivery_trade_offer_id) for r in rows} == {("available", None, None)}


def test_declined_fails_and_returns_the_items(sandbox):
    remote, items, assignment, offer_id = sent(sandbox, "decline", count=2)
    wait_for(lambda: sandbox.offer(offer_id)["state"] == 7, what="the decline")

    delivery_poll()

    failed = reload(assignment)
    assert (failed.status, failed.status_reason) == ("failed", "declined")
    assert offer_id in failed.delivery_error_message and "declined" in failed.delivery_error_message
    assert_back_in_pool(items)
    assert "delivery.declined" in event_types(assignment)
    assert event_types(assignment).count("item.released") == 2


@pytest.mark.parametrize(
    "action, outcome, reason",
    [
        ("expire", AttemptOutcome.EXPIRED, "offer_expired"),
        ("cancel", AttemptOutcome.CANCELLED, "offer_cancelled"),
        ("counter", AttemptOutcome.COUNTERED, "offer_countered"),
    ],
)
def test_offer_ended_without_delivery_is_retried_with_a_new_offer(sandbox, settings, action, outcome, reason):
    settings.DELIVERY_RETRY_BASE_SECONDS = 1
    remote, items, assignment, offer_id = sent(sandbox)
    sandbox.act_on_offer(offer_id, action)

    delivery_poll()

    waiting = reload(assignment)
    assert (waiting.status, waiting.status_reason, waiting.delivery_trade_offer_id) == ("pending", reason, None)
    assert waiting.next_attempt_at > timezone.now() - timezone.timedelta(seconds=5)
    assert item_statuses(items) == {"reserved"}
    assert "delivery.retry_scheduled" in event_types(assignment)
    wait_for(lambda: delivery_run(assignment_id=assignment.id).outcome == "sent", what="the retry")
    ours = [o for o in our_offers(sandbox, remote) if o["isOurOffer"]]
    assert len(ours) == 2 and f"astro:{assignment.id}:2" in ours[-1]["message"]
    assert [a.outcome for a in attempts(assignment)] == [outcome, AttemptOutcome.OFFER_ACTIVE]


def test_cancelled_by_second_factor_is_retried(sandbox, settings):
    """The bot's phone refused the confirmation (state 10)."""
    settings.DELIVERY_RETRY_BASE_SECONDS = 1
    remote, user = steam_user(sandbox, "ignore")
    items = stock(sandbox)
    assignment = assign(user, items)
    # Our confirmation fails, so the offer stays in state 9 for the "phone" to refuse.
    sandbox.set_fault(kind="server_error", pathPrefix="/mobileconf/")
    run = delivery_run(assignment_id=assignment.id)
    assert reload(assignment).status_reason == "awaiting_confirmation"
    sandbox.clear_faults()
    refuse_confirmation(sandbox, run.offer_id)
    assert sandbox.offer(run.offer_id)["state"] == 10

    delivery_poll()

    waiting = reload(assignment)
    assert (waiting.status, waiting.status_reason) == ("pending", "offer_cancelled_by_second_factor")
    assert [a.outcome for a in attempts(assignment)] == [AttemptOutcome.CANCELLED_BY_SECOND_FACTOR]


def refuse_confirmation(sandbox, offer_id):
    """Tap "Cancel" on the bot's phone: steampy's confirmation client with op=cancel."""
    from steampy.confirmation import ConfirmationExecutor

    client = sandbox.steampy_client()
    client.login(sandbox.bot.username, sandbox.bot.password, client.steam_guard_string)
    executor = ConfirmationExecutor(sandbox.bot.identity_secret, str(sandbox.bot.steam_id), client._session)
    listed = executor._fetch_confirmations_page().json()["conf"]
    [confirmation] = [c for c in listed if c["creator_id"] == str(offer_id)]
    params = executor._create_confirmation_params("cancel")
    params.update(op="cancel", cid=confirmation["id"], ck=confirmation["nonce"])
    response = client._session.get(f"{executor.CONF_URL}/ajaxop", params=params)
    assert response.json()["success"] is True


def test_unconfirmed_offer_is_confirmed_by_the_poller(sandbox):
    remote, user = steam_user(sandbox, "accept")
    items = stock(sandbox)
    assignment = assign(user, items)
    sandbox.set_fault(kind="server_error", pathPrefix="/mobileconf/")
    run = delivery_run(assignment_id=assignment.id)
    assert sandbox.offer(run.offer_id)["state"] == 9
    assert reload(assignment).status_reason == "awaiting_confirmation"
    sandbox.clear_faults()

    delivery_poll()

    assert reload(assignment).status_reason == "awaiting_acceptance"
    wait_for(lambda: sandbox.offer(run.offer_id)["state"] == 3, what="the user to accept")
    delivery_poll()
    assert reload(assignment).status == "delivered"


def test_gives_up_after_the_maximum_attempts(sandbox, settings):
    settings.DELIVERY_RETRY_BASE_SECONDS = 1
    settings.DELIVERY_MAX_ATTEMPTS = 2
    remote, items, assignment, offer_id = sent(sandbox, count=2)
    sandbox.act_on_offer(offer_id, "expire")
    delivery_poll()
    second = wait_for(lambda: delivery_run(assignment_id=assignment.id).offer_id, what="the second attempt")
    sandbox.act_on_offer(second, "expire")

    delivery_poll()

    failed = reload(assignment)
    assert (failed.status, failed.status_reason, failed.delivery_attempts) == ("failed", "attempts_exhausted", 2)
    assert "attempt 2 of 2" in failed.delivery_error_message
    assert_back_in_pool(items)
    assert "delivery.failed" in event_types(assignment)
    assert_event_data_in_camel_case(assignment)


def test_maximum_attempts_can_be_set_per_assignment_type(sandbox, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 5
    settings.DELIVERY_MAX_ATTEMPTS_BY_TYPE = {"giveaway": 1}
    remote, items, assignment, offer_id = sent(sandbox)
    sandbox.act_on_offer(offer_id, "expire")

    delivery_poll()

    assert reload(assignment).status_reason == "attempts_exhausted"


def test_offer_past_its_lifetime_is_cancelled_and_retried(sandbox, settings):
    remote, items, assignment, offer_id = sent(sandbox)
    settings.DELIVERY_OFFER_LIFETIME_SECONDS = 0

    delivery_poll()

    assert sandbox.offer(offer_id)["state"] == 6
    waiting = reload(assignment)
    assert (waiting.status, waiting.status_reason) == ("pending", "offer_timed_out")
    [attempt] = attempts(assignment)
    assert (attempt.outcome, attempt.cancel_requested) == (AttemptOutcome.TIMED_OUT, "lifetime")


def test_escrow_waits_then_delivers_when_steam_releases_it(sandbox, settings):
    # Behaviour change: by default (STEAM_MAX_TRADE_HOLD_DAYS=0) a user with a trade hold
    # is never sent an offer (test_holds.py); an operator who allows holds gets this.
    settings.STEAM_MAX_TRADE_HOLD_DAYS = 15
    remote, items, assignment, offer_id = sent(sandbox, "escrow", escrowDays=15)
    wait_for(lambda: sandbox.offer(offer_id)["state"] == 11, what="escrow")

    delivery_poll()

    held = reload(assignment)
    assert (held.status, held.status_reason) == ("processing", "escrow")
    assert item_statuses(items) == {"in_offer"}
    assert event_types(assignment).count("delivery.escrow") == 1
    delivery_poll()
    assert event_types(assignment).count("delivery.escrow") == 1

    sandbox.act_on_offer(offer_id, "release")
    delivery_poll()
    assert reload(assignment).status == "delivered"
    assert item_statuses(items) == {"delivered"}
    assert_event_data_in_camel_case(assignment)


def test_invalid_items_fail_the_assignment_and_let_sync_check_the_missing_ones(sandbox):
    remote, items, assignment, offer_id = sent(sandbox, count=2)
    gone, kept = items
    sandbox.remove_assets([gone.steam_asset_id])
    assert sandbox.offer(offer_id)["state"] == 8
    syncs_before = InventorySyncLog.objects.count()

    delivery_poll()

    failed = reload(assignment)
    assert (failed.status, failed.status_reason) == ("failed", "invalid_items")
    assert "1 of 2" in failed.delivery_error_message
    assert item_statuses([gone]) == {"missing"}
    assert_back_in_pool([kept])
    assert "delivery.invalid_items" in event_types(assignment)
    assert InventorySyncLog.objects.count() > syncs_before
    assert_event_data_in_camel_case(assignment)


def test_reverted_trade_undoes_the_delivery(sandbox):
    remote, items, assignment, offer_id = sent(sandbox, "accept", count=2)
    wait_for(lambda: sandbox.offer(offer_id)["state"] == 3, what="the user to accept")
    delivery_poll()
    assert reload(assignment).status == "delivered"
    sandbox.act_on_offer(offer_id, "revert")
    assert sandbox.offer(offer_id)["state"] == 12

    delivery_poll()

    undone = reload(assignment)
    assert (undone.status, undone.status_reason) == ("failed", "reverted")
    # Behaviour change (issue 11 #6): the rows follow the items to the asset ids the
    # rollback trade gave them, back in the pool at once, without the dead offer's id.
    rows = Item.objects.filter(id__in=[i.id for i in items])
    assert {r.status for r in rows} == {"available"}
    assert {str(r.steam_asset_id) for r in rows} == set(sandbox.asset_ids())
    assert {str(r.steam_asset_id) for r in rows}.isdisjoint({str(i.steam_asset_id) for i in items})
    assert {r.delivery_trade_offer_id for r in rows} == {None}
    assert rows.filter(assigned_to_user__isnull=False).count() == 0
    assert "delivery.reverted" in event_types(assignment)
    assert attempts(assignment)[-1].outcome == AttemptOutcome.REVERTED
    # The sync the revert queued finds them where the rows say: nothing new, nothing missing.
    before = Item.objects.count()
    log = sync_run(trigger="trade", actor="test-suite")
    assert log.sync_status == "success" and log.items_added_count == 0 and log.items_removed_count == 0
    assert Item.objects.count() == before and item_statuses(items) == {"available"}
    assert_event_data_in_camel_case(assignment)


def test_states_are_applied_once_whatever_the_number_of_polls(sandbox):
    remote, items, assignment, offer_id = sent(sandbox, "decline")
    wait_for(lambda: sandbox.offer(offer_id)["state"] == 7, what="the decline")

    for _ in range(3):
        delivery_poll()

    assert event_types(assignment).count("delivery.declined") == 1
    assert event_types(assignment).count("item.released") == 1
