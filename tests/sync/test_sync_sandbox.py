"""Sync end to end: the gateway reads the sandbox over HTTP, the database follows.

Steam-side changes are made through the sandbox's control API (deposits from
simulated users, unexplained losses, description and tradability changes,
accepted trades, reverts, faults), exactly as they would happen on Steam.
"""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from astro.steam import get_gateway
from astro.steam.types import AssetRef
from audit.models import SystemEvent
from items.models import Item, SteamUser
from sync.models import InventorySyncLog
from sync.services import sync_apply_held, sync_run
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

ONE_INVENTORY = override_settings(STEAM_INVENTORIES=[(730, 2)])
POOL = ("available", "reserved", "in_offer", "quarantined")


def steam_assets(sandbox) -> set[int]:
    return {int(a) for a in sandbox.asset_ids()}


def db_assets() -> set[int]:
    return set(Item.objects.filter(status__in=POOL).values_list("steam_asset_id", flat=True))


def sync(**kwargs):
    return sync_run(trigger="command", actor="test-suite", **kwargs)


@override_settings(STEAM_INVENTORIES=[(730, 2), (730, 16)])
def test_first_import_then_a_deposit_is_attributed_to_its_sender(sandbox):
    sandbox.generate_inventory(30, seed=3)
    log = sync()
    assert log.sync_status == "success" and log.items_added_count == 30
    assert db_assets() == steam_assets(sandbox)
    assert set(Item.objects.values_list("received_via", flat=True)) == {"initial_import"}

    user = sandbox.create_user("ignore")
    deposit = sandbox.deposit(user["steamId"], count=2)
    log = sync()
    assert log.items_added_count == 2 and log.discrepancies_found == 0
    new = Item.objects.filter(steam_asset_id__in=[int(a["newAssetId"]) for a in deposit["assets"]])
    assert {(i.received_via, i.received_from_user_id) for i in new} == {("trade", int(user["steamId"]))}
    # CS2 trade protection (on, as on Steam): received items wait in context 16, untradable.
    assert {(i.steam_context_id, i.tradable) for i in new} == {(16, False)}
    assert all(i.tradable_after for i in new)
    assert SteamUser.objects.filter(steam_id=int(user["steamId"])).exists()
    assert db_assets() == steam_assets(sandbox) | {int(a) for a in sandbox.asset_ids(contextid=16)}


@ONE_INVENTORY
def test_description_and_tradability_changes_are_written_with_their_events(sandbox):
    sandbox.generate_inventory(5, seed=4)
    sync()
    first, second = sorted(steam_assets(sandbox))[:2]
    sandbox.update_asset(first, name="Renamed by Steam")
    sandbox.update_asset(second, tradable=False)
    log = sync()
    assert log.items_updated_count == 2
    assert Item.objects.get(steam_asset_id=first).item_name == "Renamed by Steam"
    assert Item.objects.get(steam_asset_id=second).tradable is False
    changed = SystemEvent.objects.filter(event_type="item.updated", event_data__syncLogId=str(log.id))
    assert changed.count() == 2


@ONE_INVENTORY
def test_empty_inventory_glitch_holds_the_run_and_changes_nothing(sandbox):
    sandbox.generate_inventory(10, seed=5)
    sync()
    before = list(Item.objects.order_by("id").values_list("id", "status", "updated_at"))
    sandbox.set_fault("empty_inventory", count=1)
    log = sync()
    assert log.sync_status == "held"
    assert "empty_inventory" in {r["code"] for r in log.error_details["hold_reasons"]}
    assert list(Item.objects.order_by("id").values_list("id", "status", "updated_at")) == before
    assert SystemEvent.objects.filter(event_type="sync.held", severity="warning").exists()
    # The glitch is gone: the next run succeeds and supersedes the held one.
    assert sync().sync_status == "success"
    log.refresh_from_db()
    assert log.resolution == "discarded"


@override_settings(STEAM_INVENTORIES=[(730, 2)], STEAM_INVENTORY_PAGE_SIZE=100)
def test_a_429_halfway_through_paging_fails_the_run_and_applies_nothing(sandbox):
    sandbox.generate_inventory(250, seed=6)
    sync()
    sandbox.remove_assets(sorted(steam_assets(sandbox))[:3])  # would be applied by a good read
    before = list(Item.objects.order_by("id").values_list("id", "status", "updated_at"))

    def rate_limit_after_the_first_page(app_id, context_id, pages, items, total):
        if pages == 1:
            sandbox.set_fault("rate_limit", count=20)

    log = sync(on_progress=rate_limit_after_the_first_page)
    sandbox.clear_faults()
    assert log.sync_status == "failed" and log.error_details["code"] == "steam_rate_limited"
    assert list(Item.objects.order_by("id").values_list("id", "status", "updated_at")) == before
    assert SystemEvent.objects.filter(event_type="sync.failed").exists()
    assert not SystemEvent.objects.filter(event_type__startswith="item.", created_at__gt=log.sync_started_at)


@override_settings(STEAM_INVENTORIES=[(730, 2)], SYNC_MAX_REMOVALS_ABSOLUTE=5)
def test_mass_removal_is_held_and_an_operator_applies_it(sandbox):
    sandbox.generate_inventory(100, seed=7)
    sync()
    lost = sorted(steam_assets(sandbox))[:8]
    sandbox.remove_assets(lost)
    log = sync()
    assert log.sync_status == "held" and not Item.objects.filter(status="missing").exists()
    applied = sync_apply_held(sync_log_id=log.id, actor="operator", reason="confirmed on Steam")
    assert applied.sync_status == "success" and applied.items_removed_count == 8
    assert set(Item.objects.filter(status="missing").values_list("steam_asset_id", flat=True)) == set(lost)
    assert db_assets() == steam_assets(sandbox)


@ONE_INVENTORY
def test_our_gift_reverted_by_trade_protection_comes_back_as_the_same_item(sandbox):
    sandbox.generate_inventory(3, seed=8)
    sync()
    user = sandbox.create_user("ignore")
    asset = sorted(steam_assets(sandbox))[0]
    gateway = get_gateway()
    sent = gateway.send_offer(trade_url=user["tradeUrl"], assets=[AssetRef(730, 2, asset)], message="astro:test")
    if sent.needs_confirmation:
        gateway.confirm_offer(sent.offer_id)
    sandbox.act_on_offer(sent.offer_id, "accept")
    item = Item.objects.get(steam_asset_id=asset)
    # What delivery records for an offer of ours.
    Item.objects.filter(id=item.id).update(delivery_trade_offer_id=sent.offer_id)
    log = sync()
    item.refresh_from_db()
    assert item.status == "delivered" and log.items_removed_count == 1

    sandbox.act_on_offer(sent.offer_id, "revert")
    log = sync()
    item.refresh_from_db()
    assert item.status == "available" and item.received_via == "restored"
    assert item.steam_asset_id in steam_assets(sandbox) and item.steam_asset_id != asset
    assert db_assets() == steam_assets(sandbox) and Item.objects.count() == 3


@pytest.mark.django_db(transaction=True)
@ONE_INVENTORY
def test_two_syncs_started_at_once_one_runs_one_is_skipped(sandbox):
    sandbox.generate_inventory(50, seed=9)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=30)
            results.append(sync_run(trigger="schedule", actor="system").sync_status)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    # Either the second thread found the lock taken (skipped), or the first had
    # already finished (two successes, the second a no-op): never two at once.
    assert sorted(results) in (["skipped", "success"], ["success", "success"])
    assert Item.objects.count() == 50
    if "skipped" in results:
        assert SystemEvent.objects.filter(event_type="sync.skipped").count() == 1


@pytest.mark.django_db(transaction=True)
@ONE_INVENTORY
def test_two_syncs_overlapping_for_sure_one_is_skipped(sandbox):
    sandbox.generate_inventory(20, seed=10)
    entered, release = threading.Event(), threading.Event()
    outcome = {}

    def slow_progress(app_id, context_id, pages, items, total):
        entered.set()
        release.wait(30)

    def first():
        try:
            outcome["first"] = sync_run(trigger="schedule", actor="system", on_progress=slow_progress).sync_status
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert entered.wait(30)
    try:
        second = sync_run(trigger="admin", actor="operator")
    finally:
        release.set()
        thread.join(60)
    assert second.sync_status == "skipped"
    assert outcome["first"] == "success"
    assert InventorySyncLog.objects.filter(sync_status="success").count() == 1
    assert db_assets() == steam_assets(sandbox)


@ONE_INVENTORY
def test_sync_racing_a_delivery_leaves_reserved_and_offered_items_to_delivery(sandbox):
    sandbox.generate_inventory(6, seed=11)
    sync()
    user = make_user()
    a, b, c, d = sorted(steam_assets(sandbox))[:4]
    Item.objects.filter(steam_asset_id=a).update(status="reserved", assigned_to_user=user)
    Item.objects.filter(steam_asset_id=b).update(status="in_offer", assigned_to_user=user,
                                                 delivery_trade_offer_id="77")
    Item.objects.filter(steam_asset_id=d).update(status="in_offer", assigned_to_user=user,
                                                 delivery_trade_offer_id="78")
    # Steam-side, the offered item leaves (accepted a moment ago) and the reserved one too.
    sandbox.remove_assets([a, b])

    def delivery_acts_mid_sync(app_id, context_id, pages, items, total):
        # While the sync is between its read and its write: an assignment claims c,
        # and delivery sees offer 78 accepted and marks d delivered (Steam, read a
        # moment earlier, still listed d).
        Item.objects.filter(steam_asset_id=c, status="available").update(status="reserved", assigned_to_user=user)
        Item.objects.filter(steam_asset_id=d, status="in_offer").update(status="delivered")

    log = sync(on_progress=delivery_acts_mid_sync)
    assert log.sync_status == "success"
    statuses = dict(Item.objects.filter(steam_asset_id__in=[a, b, c, d]).values_list("steam_asset_id", "status"))
    assert statuses == {a: "reserved", b: "in_offer", c: "reserved", d: "delivered"}
    # a and b vanished under delivery's feet; d is delivered yet was in the read.
    assert log.discrepancies_found == 3
    assert [row["asset_id"] for row in log.error_details["present_but_delivered"]] == [str(d)]
    assert {row["asset_id"] for row in log.error_details["protected_vanished"]} == {str(a), str(b)}


@ONE_INVENTORY
def test_command_prints_the_counters_and_exits_non_zero_when_held(sandbox, capsys):
    sandbox.generate_inventory(4, seed=12)
    call_command("sync_inventory", "--no-progress")
    out = capsys.readouterr().out
    assert "status           success" in out and "added            4" in out
    sandbox.set_fault("empty_inventory", count=1)
    with pytest.raises(CommandError) as excinfo:
        call_command("sync_inventory", "--no-progress")
    assert excinfo.value.returncode == 2


@ONE_INVENTORY
def test_a_nul_in_an_items_steam_text_is_stripped_and_recorded_not_a_failed_sync(sandbox):
    # One NUL in one item's name, type or properties used to fail every sync (PostgreSQL
    # stores no NUL): issue 12 #11.
    sandbox.generate_inventory(3, seed=5)
    [odd] = sandbox.add_items(items=[{
        "marketHashName": "Sticker | Null\u0000Byte", "name": "Sticker | Null\u0000Byte", "type": "Base\u0000Grade Sticker",
        "description": {"descriptions": [{"type": "html", "value": "Signed \u0000 by someone"}]},
        "properties": [{"propertyid": 5, "string_value": "name\u0000tag"}],
    }])
    log = sync()
    assert log.sync_status == "success" and log.items_added_count == 4
    stored = Item.objects.get(steam_asset_id=int(odd["assetid"]))
    assert stored.item_name == "Sticker | NullByte" and stored.item_type == "BaseGrade Sticker"
    assert "\u0000" not in str(stored.steam_metadata)
    assert log.error_details["nul_stripped"] == [f"730/{odd['assetid']}"]
    assert log.error_details["nul_stripped_count"] == 1
    # The next run is unchanged: the stripped text is what Astro keeps, not a difference.
    assert sync().items_updated_count == 0


@ONE_INVENTORY
def test_cs2_items_counted_but_not_listed_do_not_fail_the_sync(sandbox):
    # CS2 answers success with fewer assets than total_inventory_count (protected or
    # hidden items counted, not listed): the read is whole once paging ended.
    sandbox.generate_inventory(10, seed=6)
    sandbox.set_hidden_items(4)
    log = sync()
    assert log.sync_status == "success" and log.items_added_count == 10
    [read] = log.error_details["inventories"]
    assert (read["count"], read["total_count"], read["unlisted"]) == (10, 14, 4)


@override_settings(STEAM_INVENTORIES=[(730, 2), (730, 16)])
@pytest.mark.parametrize("keeps_asset_id", [True, False])
def test_an_item_leaving_trade_protection_stays_the_same_row(sandbox, keeps_asset_id):
    # Received CS2 items wait 7 days in context 16, then Steam moves them to 2, with the
    # same asset id or (unverified) a new one that the bot's trade history shows.
    sandbox.set_config(tradeProtection=True, tradeProtectionDays=7, protectionEndKeepsAssetId=keeps_asset_id)
    sandbox.generate_inventory(2, seed=9)
    sync()
    user = sandbox.create_user("ignore")
    [deposited] = sandbox.deposit(user["steamId"], count=1)["assets"]
    assert deposited["newContextId"] == "16"
    sync()
    row = Item.objects.get(steam_asset_id=int(deposited["newAssetId"]))
    assert (row.steam_context_id, row.tradable, row.received_via) == (16, False, "trade")

    sandbox.advance_clock(8 * 24 * 3600)
    log = sync()
    assert log.sync_status == "success" and log.items_added_count == 0 and log.discrepancies_found == 0
    row.refresh_from_db()
    assert row.steam_context_id == 2 and row.tradable and row.status == "available"
    assert row.steam_asset_id in steam_assets(sandbox)
    assert (row.steam_asset_id == int(deposited["newAssetId"])) == keeps_asset_id
    assert Item.objects.count() == 3
