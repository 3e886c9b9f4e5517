"""system_events is append-only, enforced by PostgreSQL against any client."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import SystemEvent
from audit.services import record_event
from tests.support.factories import make_item


def _event(**fields):
    with transaction.atomic():
        return record_event(
            event_type="item.added", description="test", actor="test-suite", source="sync", **fields
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE system_events SET event_description = 'rewritten'",
        "UPDATE system_events SET severity = 'debug' WHERE id = %(id)s",
        "DELETE FROM system_events WHERE id = %(id)s",
        "DELETE FROM system_events",
        "TRUNCATE system_events",
        "TRUNCATE system_events CASCADE",
    ],
)
def test_raw_sql_cannot_change_or_delete_events(sql):
    event = _event()
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as in a fresh transaction
            cursor.execute(sql, {"id": event.id})
    event.refresh_from_db()
    assert event.event_description == "test"
    assert SystemEvent.objects.count() == 1


@pytest.mark.django_db
def test_the_orm_cannot_change_or_delete_events_either():
    event = _event()
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            SystemEvent.objects.filter(id=event.id).update(event_description="rewritten")
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            event.delete()
    assert SystemEvent.objects.get(id=event.id).event_description == "test"


@pytest.mark.django_db
def test_an_item_with_history_cannot_be_deleted():
    item = make_item()
    _event(item_id=item.id)
    with pytest.raises(DatabaseError):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as at commit
            cursor.execute("DELETE FROM items WHERE id = %s", [item.id])
    assert SystemEvent.objects.filter(item_id=item.id).count() == 1


@pytest.mark.django_db
def test_the_application_role_cannot_switch_the_guard_off():
    """The test harness empties the table as a superuser in replica mode; an ordinary
    role (what Astro should run as in production) is not allowed to do that."""
    _event()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = 'astro_app_probe'")
        if not cursor.fetchone():
            cursor.execute("CREATE ROLE astro_app_probe NOLOGIN")
        cursor.execute("GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON system_events TO astro_app_probe")
    with pytest.raises(DatabaseError):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL ROLE astro_app_probe")
            cursor.execute("SET LOCAL session_replication_role = replica")
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL ROLE astro_app_probe")
            cursor.execute("DELETE FROM system_events")
    assert SystemEvent.objects.count() == 1
