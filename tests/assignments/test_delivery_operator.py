"""Cancel, retry, resend and check-now: what the API and operators call (sandbox over HTTP)."""

from __future__ import annotations

import pytest

from assignments.delivery import (
    DeliveryRefused,
    delivery_cancel,
    delivery_check_now,
    delivery_poll,
    delivery_resend,
    delivery_retry,
    delivery_run,
)
from assignments.models import AttemptOutcome
from assignments.services import assignment_cancel
from items.models import Item
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


def sent(sandbox, behaviour="ignore", count=1):
    remote, user = steam_user(sandbox, behaviour)
    items = stock(sandbox, count)
    assignment = assign(user, items)
    run = delivery_run(assignment_id=assignment.id)
    assert run.outcome == "sent", run
    return remote, user, items, assignment, run.offer_id


def test_cancel_takes_the_offer_off_steam_first(sandbox):
    remote, user, items, assignment, offer_id = sent(sandbox, count=2)

    # The API's cancel hands a processing assignment over to the delivery engine.
    result = assignment_cancel(assignment_id=assignment.id, actor="test_system", source="api", reason="giveaway void")

    assert result.status == "cancelled"
    assert sandbox.offer(offer_id)["state"] == 6
    assert item_statuses(items) == {"available"}
    types = event_types(assignment)
    assert "delivery.offer_cancelled" in types and "assignment.cancelled" in types
    assert attempts(assignment)[-1].outcome == AttemptOutcome.CANCELLED_BY_ASTRO
    delivery_poll()  # Canceled-by-us is not "cancelled by someone else": no retry.
    assert reload(assignment).status == "cancelled"
    assert_event_data_in_camel_case(assignment)


def test_cancel_loses_to_an_accept_that_came_first(sandbox):
    remote, user, items, assignment, offer_id = sent(sandbox)
    sandbox.act_on_offer(offer_id, "accept")

    result = delivery_cancel(assignment_id=assignment.id, actor="operator", source="admin", reason="too late")

    assert result.status == "delivered"
    assert item_statuses(items) == {"delivered"}
    assert "assignment.cancelled" not in event_types(assignment)


def test_cancel_while_steam_is_down_changes_nothing(sandbox):
    remote, user, items, assignment, offer_id = sent(sandbox)
    sandbox.set_fault(kind="server_error", pathPrefix="/tradeoffer/")

    with pytest.raises(Exception) as caught:
        delivery_cancel(assignment_id=assignment.id, actor="operator", source="admin", reason="x")

    assert getattr(caught.value, "code", None) == "steam_unavailable"
    assert reload(assignment).status == "processing"
    assert item_statuses(items) == {"in_offer"}


def test_cancel_of_an_unsent_attempt_looks_for_our_offer_on_steam(sandbox, settings):
    """Ambiguous send: no offer id recorded, but the offer may exist. Cancel finds it."""
    settings.STEAM_HTTP_TIMEOUT_SECONDS = 2
    remote, user = steam_user(sandbox, "ignore")
    items = stock(sandbox)
    assignment = assign(user, items)
    sandbox.set_fault(kind="latency", ms=3000, pathPrefix="/tradeoffer/new/send", count=1)
    assert delivery_run(assignment_id=assignment.id).outcome == "send_outcome_unknown"
    [late] = wait_for(lambda: our_offers(sandbox, remote), what="the late offer")
    settings.STEAM_HTTP_TIMEOUT_SECONDS = 20

    result = delivery_cancel(assignment_id=assignment.id, actor="operator", source="admin", reason="x")

    assert result.status == "cancelled"
    assert sandbox.offer(late["id"])["state"] == 6
    assert item_statuses(items) == {"available"}


def test_retry_of_a_failed_delivery_reserves_the_items_and_starts_a_fresh_budget(sandbox, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 1
    remote, user, items, assignment, offer_id = sent(sandbox, count=2)
    sandbox.act_on_offer(offer_id, "expire")
    delivery_poll()
    assert reload(assignment).status_reason == "attempts_exhausted"

    retried = delivery_retry(assignment_id=assignment.id, actor="operator", reason="user asked again")

    assert (retried.status, retried.status_reason, retried.delivery_error_message) == ("pending", None, None)
    assert item_statuses(items) == {"reserved"}
    assert set(Item.objects.filter(id__in=[i.id for i in items]).values_list("assigned_to_user_id", flat=True)) == {user.steam_id}
    assert "delivery.retry_requested" in event_types(assignment)
    second = delivery_run(assignment_id=assignment.id).offer_id
    sandbox.act_on_offer(second, "accept")
    delivery_poll()
    assert reload(assignment).status == "delivered"


def test_retry_refuses_when_an_item_went_to_someone_else(sandbox):
    remote, user, items, assignment, offer_id = sent(sandbox, "decline", count=2)
    wait_for(lambda: sandbox.offer(offer_id)["state"] == 7, what="the decline")
    delivery_poll()
    _, other = steam_user(sandbox, "ignore")
    assign(other, [items[0]])

    with pytest.raises(DeliveryRefused) as caught:
        delivery_retry(assignment_id=assignment.id, actor="operator", reason="again")

    assert caught.value.code == "items_unavailable"
    assert caught.value.details["itemIds"] == [str(items[0].id)]
    assert reload(assignment).status == "failed"
    assert item_statuses([items[1]]) == {"available"}


@pytest.mark.parametrize("action", [delivery_retry, delivery_resend])
def test_actions_refuse_a_delivered_assignment(sandbox, action):
    remote, user, items, assignment, offer_id = sent(sandbox)
    sandbox.act_on_offer(offer_id, "accept")
    delivery_poll()

    with pytest.raises(DeliveryRefused) as caught:
        action(assignment_id=assignment.id, actor="operator", reason="x")

    assert caught.value.code == "already_delivered"
    assert reload(assignment).status == "delivered"


def test_resend_replaces_the_offer_without_spending_an_attempt(sandbox, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 1
    remote, user, items, assignment, offer_id = sent(sandbox)

    resent = delivery_resend(assignment_id=assignment.id, actor="operator", reason="user lost it")

    assert sandbox.offer(offer_id)["state"] == 6
    assert (resent.status, resent.status_reason) == ("pending", "resend_requested")
    new_offer = delivery_run(assignment_id=assignment.id).offer_id
    assert new_offer != offer_id
    assert [o["state"] for o in our_offers(sandbox, remote)] == [6, 2]
    assert attempts(assignment)[0].counted is False
    assert_event_data_in_camel_case(assignment)


def test_check_now_applies_what_steam_says(sandbox):
    remote, user, items, assignment, offer_id = sent(sandbox)
    sandbox.act_on_offer(offer_id, "accept")

    checked = delivery_check_now(assignment_id=assignment.id, actor="operator")

    assert checked.status == "delivered"


def test_check_now_refuses_without_an_offer(sandbox):
    remote, user = steam_user(sandbox, "ignore", with_trade_url=False)
    assignment = assign(user, stock(sandbox))

    with pytest.raises(DeliveryRefused) as caught:
        delivery_check_now(assignment_id=assignment.id, actor="operator")

    assert caught.value.code == "no_offer"
