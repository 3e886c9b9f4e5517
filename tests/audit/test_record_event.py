import pytest
from django.db import transaction

from audit.models import SystemEvent
from audit.services import record_event, record_events
from tests.support.factories import make_item


@pytest.mark.django_db
def test_an_event_rolls_back_with_the_change_it_describes():
    item = make_item()
    with pytest.raises(RuntimeError, match="boom"):
        with transaction.atomic():
            record_event(event_type="item.missing", description="gone", actor="sync", source="sync", item_id=item.id)
            raise RuntimeError("boom")
    assert not SystemEvent.objects.exists()


@pytest.mark.django_db
def test_category_and_severity_come_from_the_catalogue():
    with transaction.atomic():
        event = record_event(event_type="item.missing", description="gone", actor="sync", source="sync")
    assert (event.event_category, event.severity) == ("item", "warning")


@pytest.mark.django_db
def test_unknown_event_types_are_refused():
    with pytest.raises(ValueError, match="unknown event type"):
        with transaction.atomic():
            record_event(event_type="item.teleported", description="?", actor="x", source="sync")


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused():
    # Autocommit: the event would commit even if the change it describes failed.
    with pytest.raises(RuntimeError, match="inside the change's transaction"):
        record_event(event_type="item.added", description="x", actor="x", source="sync")


@pytest.mark.django_db
def test_bulk_events_are_written_together_with_json_safe_data():
    from decimal import Decimal

    items = [make_item(), make_item()]
    with transaction.atomic():
        record_events(
            [
                {"event_type": "item.added", "description": "new", "actor": "sync", "source": "sync",
                 "item_id": item.id, "data": {"value": Decimal("1.50"), "id": item.id}}
                for item in items
            ]
        )
    data = SystemEvent.objects.filter(item_id=items[0].id).get().event_data
    assert data == {"value": "1.50", "id": str(items[0].id)}
