"""PostgreSQL itself refuses rows that would corrupt the pool."""

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from assignments.models import Assignment, AssignmentItem
from items.models import Item
from sync.models import InventorySyncLog
from tests.support.factories import make_item, make_user


def _assignment(user, status="pending"):
    return Assignment.objects.create(
        user=user, assignment_type="giveaway", external_system="sourcemod_giveaway", status=status
    )


def _refused(fn):
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            fn()


@pytest.mark.django_db
def test_the_same_asset_of_the_same_app_cannot_be_two_items():
    item = make_item()
    _refused(lambda: make_item(steam_asset_id=item.steam_asset_id, steam_app_id=item.steam_app_id))
    # The same asset id in another app is another asset.
    make_item(steam_asset_id=item.steam_asset_id, steam_app_id=440)


@pytest.mark.django_db
def test_unknown_statuses_are_refused():
    user = make_user()
    item = make_item()
    assignment = _assignment(user)
    AssignmentItem.objects.create(assignment=assignment, item=item, item_name_at_assignment=item.item_name)
    InventorySyncLog.objects.create(sync_started_at=timezone.now())
    for sql in [
        "UPDATE items SET status = 'teleported'",
        "UPDATE assignments SET status = 'teleported'",
        "UPDATE assignment_items SET delivery_status = 'teleported'",
        "UPDATE inventory_sync_log SET sync_status = 'teleported'",
        "UPDATE inventory_sync_log SET items_added_count = -1",
        "INSERT INTO system_events (id, event_type, event_category, event_description, event_data, severity,"
        " source, actor, created_at) VALUES (gen_random_uuid(), 'item.added', 'item', 'x', '{}', 'loud',"
        " 'sync', 'test', now())",
    ]:
        with pytest.raises(IntegrityError, match="check constraint"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)


@pytest.mark.django_db
def test_negative_counts_and_values_are_refused():
    user = make_user()
    _refused(lambda: make_item(market_value=-1))
    _refused(
        lambda: Assignment.objects.create(
            user=user, assignment_type="shop", external_system="web_shop", total_items_count=-1
        )
    )
    _refused(
        lambda: Assignment.objects.create(
            user=user, assignment_type="shop", external_system="web_shop", total_estimated_value=-5
        )
    )
    _refused(
        lambda: Assignment.objects.create(
            user=user, assignment_type="shop", external_system="web_shop", delivery_attempts=-1
        )
    )


@pytest.mark.django_db
def test_an_item_cannot_be_in_two_active_assignments():
    user = make_user()
    item = make_item()
    first, second = _assignment(user), _assignment(user)
    AssignmentItem.objects.create(assignment=first, item=item, item_name_at_assignment=item.item_name)
    _refused(
        lambda: AssignmentItem.objects.create(assignment=second, item=item, item_name_at_assignment=item.item_name)
    )


@pytest.mark.django_db
def test_a_finished_assignment_frees_the_item_for_another():
    user = make_user()
    item = make_item()
    first, second = _assignment(user), _assignment(user)
    AssignmentItem.objects.create(assignment=first, item=item, item_name_at_assignment=item.item_name)
    Assignment.objects.filter(id=first.id).update(status="cancelled")
    AssignmentItem.objects.create(assignment=second, item=item, item_name_at_assignment=item.item_name)
    # The flag is derived by PostgreSQL, not by whoever wrote the row.
    assert not AssignmentItem.objects.get(assignment=first, item=item).is_active
    # Re-activating the first assignment would give the item twice: refused.
    _refused(lambda: Assignment.objects.filter(id=first.id).update(status="pending"))


@pytest.mark.django_db
def test_a_writer_cannot_mark_a_row_inactive_while_its_assignment_is_active():
    user = make_user()
    item = make_item()
    assignment = _assignment(user)
    AssignmentItem.objects.create(assignment=assignment, item=item, item_name_at_assignment=item.item_name)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE assignment_items SET is_active = false")
    assert AssignmentItem.objects.get(assignment=assignment, item=item).is_active


@pytest.mark.django_db
def test_deleting_an_item_or_assignment_with_history_is_refused():
    user = make_user()
    item = make_item()
    assignment = _assignment(user)
    AssignmentItem.objects.create(assignment=assignment, item=item, item_name_at_assignment=item.item_name)
    for sql, params in [
        ("DELETE FROM items WHERE id = %s", [item.id]),
        ("DELETE FROM assignments WHERE id = %s", [assignment.id]),
        ("DELETE FROM users WHERE steam_id = %s", [user.steam_id]),
    ]:
        with pytest.raises(IntegrityError, match="foreign key"):
            with transaction.atomic(), connection.cursor() as cursor:
                # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: checked at
                # commit. Check now, as the commit of a real transaction would.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(sql, params)
    assert Item.objects.filter(id=item.id).exists()


@pytest.mark.django_db
def test_a_claimed_item_must_name_its_user():
    _refused(lambda: make_item(status="reserved"))
    make_item(status="reserved", assigned_to_user=make_user())


@pytest.mark.django_db
def test_steam_ids_must_be_individual_accounts():
    _refused(lambda: make_user(steam_id=12345))
    _refused(lambda: make_item(steam_asset_id=0))
    assert uuid.UUID(str(make_item().id))
