"""Sync services around the diff: held runs and their resolution, the queue, the lock.

Runs here are fed inventories built in memory through the same path sync_run
takes after reading Steam; the Steam side is covered over HTTP in test_sync_sandbox.py.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from django.test import override_settings

from audit.models import SystemEvent
from items.models import Item
from sync import services
from sync.errors import SyncHeldStale, SyncInvalidInput, SyncNotHeld, SyncRunNotFound
from sync.lock import sync_lock
from sync.models import InventorySyncLog, SyncHeldAsset
from sync.snapshot import build_snapshot
from tests.support.factories import make_user
from tests.sync.builders import inventory, item

pytestmark = pytest.mark.django_db


def run_with(items, *, trades=(), trigger="command"):
    """One sync whose Steam read returned `items` (730/2)."""
    snapshot = build_snapshot(inventories=[inventory(items)], trades=list(trades),
                              fetched_at=datetime.now(timezone.utc))
    log = services._claim_run(trigger=trigger, actor="test-suite", sync_log_id=None)
    first_import = not Item.objects.exists()
    return services._reconcile(log, snapshot=snapshot, actor="test-suite", first_import=first_import,
                               started=time.monotonic())


def event_types():
    return list(SystemEvent.objects.order_by("created_at").values_list("event_type", flat=True))


@override_settings(SYNC_MAX_REMOVALS_PERCENT=100)
def test_success_run_records_every_counter():
    steam = [item() for _ in range(4)]
    log = run_with(steam)
    assert log.sync_status == "success"
    assert (log.steam_inventory_count, log.items_added_count, log.items_removed_count) == (4, 4, 0)
    assert (log.database_available_count, log.database_total_count, log.database_assigned_count) == (4, 4, 0)
    assert log.database_delivered_count == 0 and log.discrepancies_found == 0
    assert log.sync_completed_at and log.sync_duration_ms is not None
    assert log.error_details["breakdown"]["first_import"] is True
    log = run_with(steam[:3] + [item()])
    assert (log.items_added_count, log.items_removed_count, log.discrepancies_found) == (1, 1, 2)
    assert "sync.completed" in event_types()


def test_empty_inventory_glitch_is_held_and_changes_nothing():
    steam = [item() for _ in range(3)]
    run_with(steam)
    before = list(Item.objects.order_by("id").values_list("id", "status", "updated_at"))
    log = run_with([])
    assert log.sync_status == "held" and log.resolution is None
    codes = {r["code"] for r in log.error_details["hold_reasons"]}
    assert "empty_inventory" in codes
    # Counters say what applying would do; the status says nothing was done.
    assert log.items_removed_count == 3 and log.error_details["plan"]["counts"]["missing"] == 3
    assert list(Item.objects.order_by("id").values_list("id", "status", "updated_at")) == before
    held_event = SystemEvent.objects.get(event_type="sync.held")
    assert held_event.severity == "warning"


@override_settings(SYNC_MAX_REMOVALS_ABSOLUTE=2)
def test_mass_removal_is_held_then_applied_exactly_as_reviewed():
    steam = [item() for _ in range(10)]
    run_with(steam)
    log = run_with(steam[3:])
    assert log.sync_status == "held"
    assert {r["code"] for r in log.error_details["hold_reasons"]} == {"too_many_removals", "too_many_removals_percent"}
    assert Item.objects.filter(status="missing").count() == 0
    assert SyncHeldAsset.objects.filter(snapshot_id=log.id).count() == 7

    applied = services.sync_apply_held(sync_log_id=log.id, actor="operator", reason="we really traded them")
    assert applied.sync_status == "success" and applied.resolution == "applied" and applied.resolved_by == "operator"
    assert applied.items_removed_count == 3 and applied.discrepancies_found == 3
    assert set(Item.objects.filter(status="missing").values_list("steam_asset_id", flat=True)) == {
        s.asset_id for s in steam[:3]
    }
    assert "sync.applied" in event_types()
    assert not SyncHeldAsset.objects.filter(snapshot_id=log.id).exists()
    with pytest.raises(SyncNotHeld):
        services.sync_apply_held(sync_log_id=log.id, actor="operator", reason="again")


@override_settings(SYNC_MAX_REMOVALS_ABSOLUTE=0)
def test_held_run_is_not_applied_when_the_database_moved_since():
    steam = [item() for _ in range(5)]
    run_with(steam)
    log = run_with(steam[1:])
    assert log.sync_status == "held"
    # A delivery claims the vanished item meanwhile: the reviewed diff no longer holds.
    Item.objects.filter(steam_asset_id=steam[0].asset_id).update(status="reserved", assigned_to_user=make_user())
    with pytest.raises(SyncHeldStale):
        services.sync_apply_held(sync_log_id=log.id, actor="operator", reason="ok")
    assert Item.objects.get(steam_asset_id=steam[0].asset_id).status == "reserved"
    log.refresh_from_db()
    assert log.sync_status == "held" and log.resolution is None


@override_settings(SYNC_MAX_REMOVALS_ABSOLUTE=0)
def test_discard_drops_the_snapshot_and_applies_nothing():
    steam = [item() for _ in range(3)]
    run_with(steam)
    log = run_with(steam[1:])
    with pytest.raises(SyncInvalidInput):
        services.sync_discard_held(sync_log_id=log.id, actor="operator", reason="  ")
    discarded = services.sync_discard_held(sync_log_id=log.id, actor="operator", reason="Steam glitch")
    assert discarded.resolution == "discarded" and discarded.error_details["resolution_reason"] == "Steam glitch"
    assert not SyncHeldAsset.objects.filter(snapshot_id=log.id).exists()
    assert not Item.objects.exclude(status="available").exists()
    assert "sync.discarded" in event_types()
    with pytest.raises(SyncNotHeld):
        services.sync_apply_held(sync_log_id=log.id, actor="operator", reason="changed my mind")
    with pytest.raises(SyncRunNotFound):
        services.sync_discard_held(sync_log_id="not-a-uuid", actor="operator", reason="x")


@override_settings(SYNC_MAX_REMOVALS_ABSOLUTE=0)
def test_a_newer_run_supersedes_an_older_held_one():
    steam = [item() for _ in range(3)]
    run_with(steam)
    held = run_with(steam[1:])
    newer = run_with(steam)  # the item is back: nothing to remove, success
    assert newer.sync_status == "success"
    held.refresh_from_db()
    assert held.resolution == "discarded" and held.resolved_by == "system"
    assert held.error_details["superseded_by"] == str(newer.id)


def test_request_queues_one_run_and_the_next_joins_it_without_writing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = services.sync_request(trigger="api", actor="shop")
        joined = [services.sync_request(trigger="api", actor="shop") for _ in range(20)]
    assert first.sync_status == "queued" and len(callbacks) == 1
    # The append-only log and audit trail gain nothing from a flood of requests (issue 12 #18).
    assert {run.id for run in joined} == {first.id}
    assert InventorySyncLog.objects.count() == 1
    assert event_types() == ["sync.requested"]
    with pytest.raises(SyncInvalidInput):
        services.sync_request(trigger="nonsense", actor="x")


def test_a_run_that_starts_adopts_the_queued_request():
    queued = services.sync_request(trigger="trade", actor="system")
    log = run_with([item()], trigger="schedule")
    assert log.id == queued.id and log.trigger == "trade"
    assert log.error_details["also_requested_by"] == "schedule"
    assert not InventorySyncLog.objects.filter(sync_status="queued").exists()


def test_run_while_the_lock_is_held_is_skipped_and_logged():
    with sync_lock() as mine:
        assert mine
        log = services.sync_run(trigger="schedule", actor="system")
    assert log.sync_status == "skipped" and "another sync is running" in log.error_message
    assert event_types() == ["sync.skipped"]


def test_a_run_left_running_by_a_dead_process_is_failed_by_the_next():
    dead = InventorySyncLog.objects.create(sync_status="running", sync_started_at=datetime.now(timezone.utc))
    run_with([item()])
    dead.refresh_from_db()
    assert dead.sync_status == "failed" and dead.error_details["code"] == "interrupted"
