"""Every cancel, whoever asks and whatever state it finds, records the same event shape."""

from __future__ import annotations

import pytest

from assignments.delivery import delivery_cancel, delivery_run
from assignments.services import assignment_cancel
from tests.assignments.delivery_support import assign, item_statuses, reload, steam_user, stock
from tests.support.admin import events_of
from tests.support.factories import make_item, make_user


def _pending(count=2):
    items = [make_item() for _ in range(count)]
    return items, assign(make_user(), items)


@pytest.mark.django_db
def test_cancelling_a_pending_assignment_records_the_one_cancel_shape():
    items, assignment = _pending()

    assignment_cancel(assignment_id=assignment.id, actor="test_system", source="api", reason="giveaway void")

    [event] = events_of("assignment.cancelled", assignment_id=assignment.id)
    assert event.event_data == {
        "reason": "giveaway void", "offerId": None, "previousStatus": "pending",
        "releasedItemIds": sorted(str(i.id) for i in items),
    }
    released = events_of("item.released", assignment_id=assignment.id)
    assert sorted(str(e.item_id) for e in released) == sorted(str(i.id) for i in items)
    assert {e.event_data["reason"] for e in released} == {"assignment_cancelled"}
    after = reload(assignment)
    assert (after.status, after.status_reason, after.next_attempt_at) == ("cancelled", None, None)
    assert item_statuses(items) == {"available"}


@pytest.mark.django_db(transaction=True)
def test_the_delivery_engine_cancels_a_pending_assignment_the_same_way():
    items, assignment = _pending()

    delivery_cancel(assignment_id=assignment.id, actor="olga", source="admin", reason="void")

    [event] = events_of("assignment.cancelled", assignment_id=assignment.id)
    assert event.event_data == {
        "reason": "void", "offerId": None, "previousStatus": "pending",
        "releasedItemIds": sorted(str(i.id) for i in items),
    }
    assert {e.event_data["reason"] for e in events_of("item.released", assignment_id=assignment.id)} == {
        "assignment_cancelled"}


@pytest.mark.django_db
def test_a_cancel_without_a_reason_says_who_cancelled():
    _, assignment = _pending(1)

    assignment_cancel(assignment_id=assignment.id, actor="test_system", source="api")

    [event] = events_of("assignment.cancelled", assignment_id=assignment.id)
    assert event.event_data["reason"] == "cancelled by test_system"


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_processing_assignment_records_its_offer_in_the_same_shape(sandbox):
    remote, user = steam_user(sandbox, "ignore")
    items = stock(sandbox, 2)
    assignment = assign(user, items)
    offer_id = delivery_run(assignment_id=assignment.id).offer_id

    assignment_cancel(assignment_id=assignment.id, actor="test_system", source="api", reason="void")

    [event] = events_of("assignment.cancelled", assignment_id=assignment.id)
    assert set(event.event_data) == {"reason", "offerId", "releasedItemIds", "previousStatus"}
    assert event.event_data["offerId"] == offer_id
    assert event.event_data["previousStatus"] == "processing"
    assert sorted(event.event_data["releasedItemIds"]) == sorted(str(i.id) for i in items)
    assert {e.event_data["reason"] for e in events_of("item.released", assignment_id=assignment.id)} == {
        "assignment_cancelled"}
