"""The set-based diff on inventories built in memory: every kind of difference,
its counters and its event. (End to end over HTTP: test_sync_sandbox.py.)"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from django.db import connection, transaction

from audit.models import SystemEvent
from items.models import Item, SteamUser
from sync import reconcile
from sync.snapshot import build_snapshot
from tests.support.factories import make_item, make_user
from tests.sync.builders import PARTNER, inventory, item, next_asset_id, trade

pytestmark = pytest.mark.django_db


def reconcile_once(items, *, trades=(), first_import=None, scope=((730, 2),), before_apply=None):
    by_scope = {pair: [] for pair in scope}
    for it in items:
        by_scope.setdefault((it.app_id, it.context_id), []).append(it)
    snapshot = build_snapshot(
        inventories=[inventory(v, app_id=a, context_id=c) for (a, c), v in by_scope.items()],
        trades=list(trades), fetched_at=datetime.now(timezone.utc),
    )
    log_id = uuid.uuid4()
    with transaction.atomic(), connection.cursor() as cursor:
        if first_import is None:
            first_import = reconcile.is_first_import(cursor)
        reconcile.stage(cursor, snapshot)
        plan = reconcile.compute_plan(cursor, first_import=first_import)
        if before_apply:
            before_apply()
        applied = reconcile.apply_plan(cursor, plan=plan, actor="test-suite", sync_log_id=log_id)
    return plan, applied


def events(event_type):
    return list(SystemEvent.objects.filter(event_type=event_type))


def by_asset(asset_id) -> Item:
    return Item.objects.get(steam_app_id=730, steam_asset_id=asset_id)


def test_first_import_adds_everything_as_initial_import_with_one_event_each():
    steam = [item(), item(name="AWP | Neo-Noir", properties=[{"propertyid": 2, "float_value": "0.1"}])]
    plan, applied = reconcile_once(steam)
    assert applied.added == 2 and plan.first_import
    rows = {i.steam_asset_id: i for i in Item.objects.all()}
    assert set(rows) == {s.asset_id for s in steam}
    awp = rows[steam[1].asset_id]
    assert awp.status == "available" and awp.received_via == "initial_import"
    assert awp.item_name == "AWP | Neo-Noir" and awp.item_rarity == "Consumer Grade"
    assert awp.steam_metadata["properties"] == [{"propertyid": 2, "float_value": "0.1"}]
    assert awp.steam_metadata["descriptions"][0]["value"] == "A weapon."
    added = events("item.added")
    assert {e.item_id for e in added} == {r.id for r in rows.values()}
    assert all(e.source == "sync" and e.actor == "test-suite" for e in added)


def test_unchanged_resync_plans_and_writes_nothing():
    steam = [item() for _ in range(3)]
    reconcile_once(steam)
    before = {i.id: i.updated_at for i in Item.objects.all()}
    event_count = SystemEvent.objects.count()
    plan, applied = reconcile_once(steam)
    assert all(v == 0 for v in plan.counts.values())
    assert applied.added == applied.updated == applied.removals == 0
    assert {i.id: i.updated_at for i in Item.objects.all()} == before
    assert SystemEvent.objects.count() == event_count


def test_new_item_from_a_trade_is_attributed_and_its_sender_created():
    reconcile_once([item()])
    new_id = next_asset_id()
    t = trade(received=[(777, new_id)])
    plan, applied = reconcile_once([item(), item(asset_id=new_id)], trades=[t])
    row = by_asset(new_id)
    assert row.received_via == "trade" and row.received_from_user_id == PARTNER
    assert applied.new_user_ids == [PARTNER] and SteamUser.objects.filter(steam_id=PARTNER).exists()
    assert [e.user_id for e in events("user.created")] == [PARTNER]
    (added,) = [e for e in events("item.added") if e.item_id == row.id]
    assert added.event_data["tradeId"] == t.trade_id and added.severity == "info"


def test_unexplained_new_item_is_flagged_for_the_operator():
    reconcile_once([item()])
    stranger = item()
    plan, applied = reconcile_once([stranger])
    assert applied.added_unexplained == 1
    row = by_asset(stranger.asset_id)
    assert row.received_via == "sync"
    (event,) = [e for e in events("item.added") if e.item_id == row.id]
    assert event.severity == "warning"


def test_vanished_items_become_delivered_removed_or_missing_as_the_evidence_says():
    ours, by_hand, lost, stays = item(), item(), item(), item()
    reconcile_once([ours, by_hand, lost, stays])
    Item.objects.filter(steam_asset_id=ours.asset_id).update(delivery_trade_offer_id="6149531996")
    trades = [trade(given=[(ours.asset_id, 1)]), trade(given=[(by_hand.asset_id, 2)])]
    plan, applied = reconcile_once([stays], trades=trades, first_import=False)
    assert (applied.delivered, applied.removed, applied.missing) == (1, 1, 1)
    assert by_asset(ours.asset_id).status == "delivered" and by_asset(ours.asset_id).delivered_at
    assert by_asset(by_hand.asset_id).status == "removed"
    assert by_asset(lost.asset_id).status == "missing"
    assert by_asset(stays.asset_id).status == "available"
    assert [e.item_id for e in events("item.missing")] == [by_asset(lost.asset_id).id]
    assert events("item.missing")[0].severity == "warning"
    assert len(events("item.delivered")) == 1 and events("item.removed")[0].severity == "warning"


def test_reserved_and_offered_items_are_never_touched_by_sync():
    user = make_user()
    reserved = make_item(status="reserved", assigned_to_user=user)
    offered = make_item(status="in_offer", assigned_to_user=user, delivery_trade_offer_id="1")
    plan, applied = reconcile_once([], first_import=False)
    assert plan.counts["protected"] == 2 and applied.removals == 0
    assert Item.objects.get(id=reserved.id).status == "reserved"
    assert Item.objects.get(id=offered.id).status == "in_offer"


def test_missing_item_that_comes_back_is_restored_and_freed():
    back = item()
    reconcile_once([back])
    reconcile_once([], first_import=False)
    assert by_asset(back.asset_id).status == "missing"
    plan, applied = reconcile_once([back])
    assert applied.restored == 1 and by_asset(back.asset_id).status == "available"
    (event,) = events("item.restored")
    assert event.event_data["previousStatus"] == "missing"


def test_reverted_trade_brings_the_same_item_back_under_its_new_asset_id():
    gift = item()
    reconcile_once([gift])
    row = by_asset(gift.asset_id)
    # Delivered by us: A -> B on the user's side; then reverted: B -> C back to us.
    Item.objects.filter(id=row.id).update(status="delivered", delivery_trade_offer_id="5")
    original = trade(given=[(gift.asset_id, 9001)], status=12, rollback_trade_id="42")
    returned = next_asset_id()
    rollback = trade(received=[(9001, returned)], trade_id="42")
    plan, applied = reconcile_once([item(asset_id=returned)], trades=[original, rollback])
    assert applied.relinked == 1 and applied.added == 0
    row.refresh_from_db()
    assert row.steam_asset_id == returned and row.status == "available" and row.received_via == "restored"
    (event,) = events("item.restored")
    assert event.event_data["previousAssetId"] == str(gift.asset_id)


def test_only_really_changed_fields_are_written_and_named():
    hold = datetime(2030, 1, 1, tzinfo=timezone.utc)
    a, b = item(), item()
    reconcile_once([a, b])
    untouched = by_asset(b.asset_id).updated_at
    # Like Steam, a changed description comes with a new instance id.
    changed = item(asset_id=a.asset_id, tradable=False, tradable_after=hold, flavour="New flavour text.",
                   instance_id=302028391)
    plan, applied = reconcile_once([changed, b])
    assert applied.updated == 1
    row = by_asset(a.asset_id)
    assert row.tradable is False and row.tradable_after == hold
    assert row.steam_metadata["descriptions"][0]["value"] == "New flavour text."
    assert by_asset(b.asset_id).updated_at == untouched
    (event,) = events("item.updated")
    assert set(event.event_data["changed"]) == {"tradable", "tradable_after", "steam_metadata", "steam_instance_id"}


def test_item_moving_from_context_16_to_2_is_an_update_not_a_removal():
    protected = item(context_id=16)
    reconcile_once([protected], scope=((730, 2), (730, 16)))
    moved = item(asset_id=protected.asset_id, context_id=2)
    plan, applied = reconcile_once([moved], scope=((730, 2), (730, 16)))
    assert applied.updated == 1 and applied.removals == 0
    assert by_asset(protected.asset_id).steam_context_id == 2


def test_an_item_claimed_between_plan_and_apply_is_left_to_delivery():
    gone = item()
    reconcile_once([gone])
    row = by_asset(gone.asset_id)
    user = make_user()

    def delivery_claims_it():
        # What assignment_create does while the sync is between its diff and its write.
        Item.objects.filter(id=row.id, status="available").update(status="reserved", assigned_to_user=user)

    plan, applied = reconcile_once([], first_import=False, before_apply=delivery_claims_it)
    assert plan.counts["missing"] == 1 and applied.missing == 0
    assert Item.objects.get(id=row.id).status == "reserved"
    assert not events("item.missing")


def test_digest_is_the_same_for_the_same_diff_and_changes_when_the_database_moves():
    a = item()
    reconcile_once([a])
    snapshot_items = []
    plan1, _ = _plan_only(snapshot_items)
    plan2, _ = _plan_only(snapshot_items)
    assert plan1.digest == plan2.digest
    make_item(steam_app_id=730, steam_context_id=2)
    plan3, _ = _plan_only(snapshot_items)
    assert plan3.digest != plan1.digest


def _plan_only(items):
    snapshot = build_snapshot(inventories=[inventory(items)], trades=[], fetched_at=datetime.now(timezone.utc))
    with transaction.atomic(), connection.cursor() as cursor:
        reconcile.stage(cursor, snapshot)
        plan = reconcile.compute_plan(cursor, first_import=False)
        plan.digest = reconcile.plan_digest(cursor)
        return plan, None


def test_asset_listed_twice_is_refused():
    twice = item()
    with pytest.raises(ValueError):
        build_snapshot(inventories=[inventory([twice, twice])], trades=[], fetched_at=datetime.now(timezone.utc))


def test_a_relinked_item_traded_away_by_hand_later_is_a_discrepancy_not_our_delivery():
    # Issue 12 #7: relinking left the delivered offer's id on the row, so a later
    # by-hand trade of the item out of the bot was recorded as our delivery (info).
    gift = item()
    reconcile_once([gift])
    row = by_asset(gift.asset_id)
    Item.objects.filter(id=row.id).update(status="delivered", delivery_trade_offer_id="5")
    original = trade(given=[(gift.asset_id, 9001)], status=12, rollback_trade_id="43")
    returned = next_asset_id()
    reconcile_once([item(asset_id=returned)], trades=[original, trade(received=[(9001, returned)], trade_id="43")])
    row.refresh_from_db()
    assert row.status == "available" and row.delivery_trade_offer_id is None

    by_hand = trade(given=[(returned, 9002)])
    plan, applied = reconcile_once([], trades=[by_hand], first_import=False)
    row.refresh_from_db()
    assert (applied.delivered, applied.removed) == (0, 1) and row.status == "removed"
    assert events("item.removed")[-1].severity == "warning"


def test_a_restored_item_loses_its_stale_offer_id():
    back = item()
    reconcile_once([back])
    Item.objects.filter(steam_asset_id=back.asset_id).update(status="missing", delivery_trade_offer_id="77")
    reconcile_once([back])
    assert by_asset(back.asset_id).status == "available" and by_asset(back.asset_id).delivery_trade_offer_id is None
