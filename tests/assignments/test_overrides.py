"""Delivery-aware item overrides (assignments/overrides.py): each changes exactly what it says,
records its event with the operator and the reason, and refuses — changing nothing — what it
cannot do, above all while an offer that may carry the item is out."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from assignments.delivery import delivery_run
from assignments.models import Assignment, AssignmentItem
from assignments.overrides import item_confirm_removed, item_release_from_assignment, item_restore_after_check
from astro.core.errors import InvalidInput
from audit.models import SystemEvent
from items.models import Item
from items.overrides import OverrideRefused
from tests.assignments.delivery_support import assign, steam_user, stock
from tests.support.admin import events_of
from tests.support.factories import make_item, make_user


def _status(item) -> str:
    return Item.objects.get(id=item.id).status


def _assigned(count=2, **item_fields):
    user = make_user()
    items = [make_item(**item_fields) for _ in range(count)]
    return user, items, assign(user, items)


# ------------------------------------------------------------ confirm removed


@pytest.mark.django_db
def test_confirm_removed_turns_a_missing_item_removed_and_says_who_and_why():
    item = make_item(status="missing")

    item_confirm_removed(item_id=item.id, actor="olga", reason="traded away by hand on Steam")

    assert _status(item) == "removed"
    [event] = events_of("item.removed", item_id=item.id)
    assert (event.actor, event.source, event.event_data["reason"]) == ("olga", "admin", "traded away by hand on Steam")
    assert "traded away by hand" in event.event_description


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["available", "reserved", "delivered", "removed", "quarantined"])
def test_confirm_removed_refuses_items_that_are_not_missing(status):
    item = make_item(status=status, assigned_to_user=make_user() if status == "reserved" else None)

    with pytest.raises(OverrideRefused) as refused:
        item_confirm_removed(item_id=item.id, actor="olga", reason="x")

    assert refused.value.code == "override_not_applicable"
    assert _status(item) == status
    assert not SystemEvent.objects.exists()


@pytest.mark.django_db
def test_every_override_requires_a_reason():
    item = make_item(status="missing")
    with pytest.raises(InvalidInput):
        item_confirm_removed(item_id=item.id, actor="olga", reason="   ")
    assert _status(item) == "missing"
    assert not SystemEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_operators_confirming_at_once_change_the_item_once():
    item = make_item(status="missing")
    barrier = threading.Barrier(2)
    outcomes = []

    def confirm(actor):
        barrier.wait()
        try:
            item_confirm_removed(item_id=item.id, actor=actor, reason="gone")
            outcomes.append("done")
        except OverrideRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(name,)) for name in ("olga", "oscar")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["done", "refused"]
    assert len(events_of("item.removed", item_id=item.id)) == 1


# --------------------------------------------------- release from an assignment


@pytest.mark.django_db
def test_release_takes_a_vanished_item_out_of_its_pending_assignment():
    user, (gone, kept), assignment = _assigned(2)
    total_before = Assignment.objects.get(id=assignment.id).total_estimated_value

    item_release_from_assignment(item_id=gone.id, actor="olga", reason="Steam no longer shows it")

    gone.refresh_from_db()
    assignment.refresh_from_db()
    assert (gone.status, gone.assigned_to_user_id) == ("missing", None)
    assert _status(kept) == "reserved"
    assert list(AssignmentItem.objects.filter(assignment=assignment).values_list("item_id", flat=True)) == [kept.id]
    assert assignment.status == "pending"
    assert assignment.total_items_count == 1
    assert assignment.total_estimated_value == total_before - gone.market_value
    [released] = events_of("item.released", item_id=gone.id)
    assert released.assignment_id == assignment.id
    assert (released.actor, released.event_data["reason"]) == ("olga", "Steam no longer shows it")
    assert released.event_data["nameAtAssignment"] == gone.item_name
    assert len(events_of("item.missing", item_id=gone.id)) == 1


@pytest.mark.django_db
def test_release_refuses_the_last_item_of_an_assignment():
    user, (only,), assignment = _assigned(1)

    with pytest.raises(OverrideRefused) as refused:
        item_release_from_assignment(item_id=only.id, actor="olga", reason="x")

    assert refused.value.code == "last_item_of_assignment"
    assert _status(only) == "reserved"
    assert AssignmentItem.objects.filter(assignment=assignment).count() == 1
    assert not SystemEvent.objects.filter(event_type="item.released").exists()


@pytest.mark.django_db
def test_release_refuses_an_item_no_assignment_holds():
    item = make_item(status="missing")
    with pytest.raises(OverrideRefused) as refused:
        item_release_from_assignment(item_id=item.id, actor="olga", reason="x")
    assert refused.value.code == "item_not_in_active_assignment"


@pytest.mark.django_db(transaction=True)
def test_release_refuses_while_an_offer_may_be_live(sandbox):
    remote, user = steam_user(sandbox, "ignore")
    items = stock(sandbox, 2)
    assignment = assign(user, items)
    assert delivery_run(assignment_id=assignment.id).outcome == "sent"

    with pytest.raises(OverrideRefused) as refused:
        item_release_from_assignment(item_id=items[0].id, actor="olga", reason="x")

    assert refused.value.code == "delivery_in_flight"
    assert AssignmentItem.objects.filter(assignment=assignment).count() == 2
    assert {_status(i) for i in items} == {"in_offer"}


# ------------------------------------------------ restore after a Steam check


@pytest.mark.django_db(transaction=True)
def test_restore_checks_steam_and_restores_an_item_that_is_there(sandbox):
    [item] = stock(sandbox, 1)
    Item.objects.filter(id=item.id).update(status="missing")

    outcome = item_restore_after_check(item_id=item.id, actor="olga", reason="Steam shows it again")

    assert outcome.item.status == "available"
    assert outcome.context_id == item.steam_context_id
    [event] = events_of("item.restored", item_id=item.id)
    assert (event.actor, event.source, event.event_data["reason"]) == ("olga", "admin", "Steam shows it again")
    # It really asked Steam: the sandbox served the bot's inventory.
    assert any("/inventory/" in r["path"] for r in sandbox.requests_log())


@pytest.mark.django_db(transaction=True)
def test_restore_clears_the_offer_id_of_an_offer_that_is_over(sandbox):
    # Issue 12 #7: a stale offer id would make a later by-hand trade of the item look
    # like one of our deliveries to the sync (info, not a missing-item discrepancy).
    remote, user = steam_user(sandbox, "ignore")
    free, held = stock(sandbox, 2)
    assignment = assign(user, [held])
    Item.objects.filter(id=free.id).update(status="removed", delivery_trade_offer_id="6100000001")
    Item.objects.filter(id=held.id).update(status="missing", delivery_trade_offer_id="6100000002")

    item_restore_after_check(item_id=free.id, actor="olga", reason="Steam shows it again")
    item_restore_after_check(item_id=held.id, actor="olga", reason="Steam shows it again")

    back = {i.id: (i.status, i.delivery_trade_offer_id) for i in Item.objects.filter(id__in=[free.id, held.id])}
    assert back == {free.id: ("available", None), held.id: ("reserved", None)}
    assert Assignment.objects.get(id=assignment.id).status == "pending"


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_when_steam_does_not_show_the_item(sandbox):
    [item] = stock(sandbox, 1)
    sandbox.remove_assets([item.steam_asset_id])
    Item.objects.filter(id=item.id).update(status="missing")

    with pytest.raises(OverrideRefused) as refused:
        item_restore_after_check(item_id=item.id, actor="olga", reason="maybe it is back")

    assert refused.value.code == "item_not_in_inventory"
    assert _status(item) == "missing"
    assert not SystemEvent.objects.filter(event_type="item.restored").exists()


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_items_that_are_not_missing_or_removed_without_asking_steam(sandbox):
    [item] = stock(sandbox, 1)
    before = sandbox.last_request_seq()
    with pytest.raises(OverrideRefused):
        item_restore_after_check(item_id=item.id, actor="olga", reason="x")
    assert _status(item) == "available"
    assert sandbox.requests_log(since=before) == []


@pytest.mark.django_db(transaction=True)
def test_restore_never_holds_a_transaction_open_across_the_steam_call():
    item = make_item(status="missing")
    with pytest.raises(RuntimeError, match="must not run inside a transaction"):
        with transaction.atomic():
            item_restore_after_check(item_id=item.id, actor="olga", reason="x")
