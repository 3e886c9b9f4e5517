"""The item pool's own overrides (items/overrides.py): unexpected and quarantined items."""

from __future__ import annotations

import pytest

from astro.core.errors import InvalidInput
from audit.models import SystemEvent
from items.models import Item
from items.overrides import OverrideRefused, item_accept, item_quarantine
from tests.assignments.delivery_support import assign
from tests.support.admin import events_of
from tests.support.factories import make_item, make_user


def _status(item) -> str:
    return Item.objects.get(id=item.id).status


def _assigned(count=2, **item_fields):
    user = make_user()
    items = [make_item(**item_fields) for _ in range(count)]
    return user, items, assign(user, items)


# ------------------------------------------------------------ unexpected items


@pytest.mark.django_db
def test_accept_records_the_decision_on_an_unexpected_item():
    item = make_item(received_via="sync")

    item_accept(item_id=item.id, actor="olga", reason="a gift from the owner's alt account")

    item.refresh_from_db()
    assert (item.status, item.received_via) == ("available", "operator")
    [event] = events_of("item.accepted", item_id=item.id)
    assert event.event_data["previousReceivedVia"] == "sync"
    # Decided once: accepting again is refused.
    with pytest.raises(OverrideRefused):
        item_accept(item_id=item.id, actor="olga", reason="again")


@pytest.mark.django_db
def test_quarantine_then_accept_puts_an_item_back_in_the_pool():
    item = make_item(received_via="sync")

    item_quarantine(item_id=item.id, actor="olga", reason="nobody knows where it came from")
    assert _status(item) == "quarantined"
    item_accept(item_id=item.id, actor="oscar", reason="the owner explained it")

    assert _status(item) == "available"
    assert [e.actor for e in events_of("item.quarantined", item_id=item.id)] == ["olga"]
    assert [e.actor for e in events_of("item.accepted", item_id=item.id)] == ["oscar"]


@pytest.mark.django_db
def test_quarantine_refuses_an_item_an_assignment_holds():
    user, (item, _), assignment = _assigned(2)
    with pytest.raises(OverrideRefused):
        item_quarantine(item_id=item.id, actor="olga", reason="x")
    assert _status(item) == "reserved"


@pytest.mark.django_db
def test_accept_refuses_an_ordinary_available_item():
    item = make_item()
    with pytest.raises(OverrideRefused):
        item_accept(item_id=item.id, actor="olga", reason="x")
    assert Item.objects.get(id=item.id).received_via == "initial_import"


@pytest.mark.django_db
def test_accept_and_quarantine_require_a_reason():
    unexpected, available = make_item(received_via="sync"), make_item()
    with pytest.raises(InvalidInput):
        item_accept(item_id=unexpected.id, actor="olga", reason="   ")
    with pytest.raises(InvalidInput):
        item_quarantine(item_id=available.id, actor="olga", reason="")
    assert Item.objects.get(id=unexpected.id).received_via == "sync"
    assert _status(available) == "available"
    assert not SystemEvent.objects.exists()
