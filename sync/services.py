"""Inventory sync: keep `items` 1:1 with the bot's Steam inventory.

The public operations (API, admin, tasks and the command all call these):

- `sync_request`      queue a sync for a worker (coalesces with one already waiting)
- `sync_run`          run one sync now, in this process
- `sync_apply_held`   an operator applies a held run's diff, exactly as reviewed
- `sync_discard_held` an operator discards a held run

One sync at a time (`sync.lock`). A run reads Steam with no transaction open,
then stages, diffs and applies in one transaction (`sync.reconcile`). A failed
or suspicious read applies nothing: the run ends `failed` or `held`.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from astro.core.casing import camel_keys
from astro.core.reasons import clean_reason
from astro.core.tasks import enqueue
from astro.steam import get_gateway
from astro.steam.errors import SteamError
from audit.models import Source
from audit.services import record_event
from items.models import Item
from sync import reconcile
from sync.errors import SyncBusy, SyncHeldStale, SyncInvalidInput, SyncNotHeld, SyncRunNotFound
from sync.lock import sync_lock
from sync.models import InventorySyncLog, SyncHeldAsset, SyncHeldSnapshot, SyncStatus, SyncTrigger
from sync.snapshot import Snapshot, TradeEvidence, build_snapshot

logger = logging.getLogger(__name__)

# (app_id, context_id, pages read, items so far, Steam's total_count)
SyncProgress = Callable[[int, int, int, int, int], None]

# Trades older than the last good sync (less this margin, for clock skew between
# us and Steam) cannot explain an arrival or a departure this sync sees first;
# but a CS2 trade can be reverted up to 7 days later, and linking the returning
# item to the one we gave needs the original trade too.
TRADE_HISTORY_MARGIN = timedelta(hours=1)
TRADE_REVERT_WINDOW = timedelta(days=8)
TRADE_HISTORY_MAX_TRADES = 500
DISCREPANCY_LIST_LIMIT = 100


def _source_for(trigger: str) -> str:
    return {
        SyncTrigger.ADMIN: Source.ADMIN,
        SyncTrigger.API: Source.API,
        SyncTrigger.COMMAND: Source.COMMAND,
    }.get(trigger, Source.SYNC)


def _check_trigger(trigger: str) -> None:
    if trigger not in SyncTrigger.values:
        raise SyncInvalidInput(
            f"unknown sync trigger {trigger!r}", details={"trigger": [f"one of {', '.join(SyncTrigger.values)}"]}
        )


# --------------------------------------------------------------------- request
def sync_request(*, trigger: str, actor: str) -> InventorySyncLog:
    """Ask for a sync; a worker runs it once the caller's transaction commits.

    Returns the new `queued` log row (poll it by id: it becomes running, then
    success / held / failed). When a sync is already waiting to start, that one
    will read the inventory after this request anyway, so the request joins it:
    the waiting row is returned and **nothing is written** (the log and the audit
    trail are append-only; a flood of requests must not fill them). At most one
    run waits at a time (a partial unique index decides, not a read in Python).
    """
    _check_trigger(trigger)
    with transaction.atomic():
        for _ in range(3):
            _expire_stale_queued()
            try:
                with transaction.atomic():
                    log = InventorySyncLog.objects.create(
                        sync_status=SyncStatus.QUEUED, trigger=trigger, sync_started_at=timezone.now()
                    )
            except IntegrityError:
                waiting = InventorySyncLog.objects.filter(sync_status=SyncStatus.QUEUED).first()
                if waiting is None:
                    continue  # it started in the meantime: queue a new one
                return waiting
            record_event(
                event_type="sync.requested", description=f"Inventory sync requested ({trigger}).",
                actor=actor, source=_source_for(trigger), data={"syncLogId": str(log.id), "trigger": trigger},
            )
            enqueue("sync.tasks.sync_inventory_task", sync_log_id=str(log.id), trigger=trigger, actor=actor)
            return log
        raise SyncBusy("could not queue a sync: the queue kept changing; try again")


def _expire_stale_queued() -> None:
    # A queued run whose task was lost (broker flushed, worker never started)
    # would swallow every later request; after two intervals it is given up.
    cutoff = timezone.now() - timedelta(seconds=2 * settings.SYNC_INTERVAL_SECONDS)
    for log in InventorySyncLog.objects.filter(sync_status=SyncStatus.QUEUED, sync_started_at__lt=cutoff):
        _fail(log, actor="system", code="never_started",
              message="No worker started this queued sync; a new request replaced it.", queued=True)


def _record_skipped(*, trigger: str, actor: str, reason: str, details: dict | None = None) -> InventorySyncLog:
    now = timezone.now()
    with transaction.atomic():
        log = InventorySyncLog.objects.create(
            sync_status=SyncStatus.SKIPPED, trigger=trigger, sync_started_at=now, sync_completed_at=now,
            sync_duration_ms=0, error_message=f"Skipped: {reason}.", error_details=details or {},
        )
        record_event(
            event_type="sync.skipped", description=f"Inventory sync ({trigger}) skipped: {reason}.",
            actor=actor, source=_source_for(trigger), data={"syncLogId": str(log.id), **camel_keys(details or {})},
        )
    logger.info("sync %s skipped: %s", log.id, reason)
    return log


def sync_skip_queued(*, sync_log_id, actor: str, reason: str) -> InventorySyncLog | None:
    """Give up a queued run (its task waited too long for the lock). None if it already started."""
    with transaction.atomic():
        now = timezone.now()
        claimed = InventorySyncLog.objects.filter(id=sync_log_id, sync_status=SyncStatus.QUEUED).update(
            sync_status=SyncStatus.SKIPPED, sync_completed_at=now, sync_duration_ms=0,
            error_message=f"Skipped: {reason}.",
        )
        if not claimed:
            return None
        log = InventorySyncLog.objects.get(id=sync_log_id)
        record_event(
            event_type="sync.skipped", description=f"Queued inventory sync skipped: {reason}.", actor=actor,
            source=Source.SYNC, data={"syncLogId": str(log.id)},
        )
        return log


# ------------------------------------------------------------------------- run
def sync_run(
    *,
    trigger: str,
    actor: str,
    on_progress: SyncProgress | None = None,
    sync_log_id=None,
    gateway=None,
) -> InventorySyncLog:
    """Run one full sync now, in this process, and return its log row.

    Guarantees: one sync at a time (a concurrent call returns a `skipped` row at
    once; with `sync_log_id`, the id of a queued run, it raises `SyncBusy` so the
    task can wait instead); Steam is read with no transaction open; nothing is
    applied unless every configured inventory was read completely and the diff
    is not suspicious (else `failed` / `held`, with a warning event); every
    change is applied set-based in one transaction with its system event; the
    log row carries every ADR-002 counter. A run that starts while a request is
    queued adopts that request (its row), so the request is not run twice.
    """
    _check_trigger(trigger)
    with sync_lock() as locked:
        if not locked:
            if sync_log_id is not None:
                raise SyncBusy("another sync is running")
            return _record_skipped(trigger=trigger, actor=actor, reason="another sync is running")
        log = _claim_run(trigger=trigger, actor=actor, sync_log_id=sync_log_id)
        if log is None:
            # The queued run was adopted by a sync that started before its task.
            return InventorySyncLog.objects.get(id=sync_log_id)
        return _execute(log, actor=actor, on_progress=on_progress, gateway=gateway)


def _claim_run(*, trigger: str, actor: str, sync_log_id) -> InventorySyncLog | None:
    now = timezone.now()
    with transaction.atomic():
        # We hold the lock, so a row still `running` belongs to a process that died.
        for stale in InventorySyncLog.objects.select_for_update().filter(sync_status=SyncStatus.RUNNING):
            _fail(stale, actor="system", code="interrupted",
                  message="The process running this sync stopped before it finished; nothing of it was applied.")
        if sync_log_id is not None:
            claimed = InventorySyncLog.objects.filter(id=sync_log_id, sync_status=SyncStatus.QUEUED).update(
                sync_status=SyncStatus.RUNNING, sync_started_at=now
            )
            return InventorySyncLog.objects.get(id=sync_log_id) if claimed else None
        waiting = InventorySyncLog.objects.filter(sync_status=SyncStatus.QUEUED).first()
        if waiting is not None and InventorySyncLog.objects.filter(
            id=waiting.id, sync_status=SyncStatus.QUEUED
        ).update(sync_status=SyncStatus.RUNNING, sync_started_at=now, error_details={"also_requested_by": trigger}):
            return InventorySyncLog.objects.get(id=waiting.id)
        return InventorySyncLog.objects.create(sync_status=SyncStatus.RUNNING, trigger=trigger, sync_started_at=now)


def _execute(log: InventorySyncLog, *, actor: str, on_progress, gateway) -> InventorySyncLog:
    started = time.monotonic()
    first_import = not Item.objects.exists()
    try:
        snapshot = _fetch(gateway=gateway, first_import=first_import, on_progress=on_progress)
        snapshot.timings["fetch_ms"] = int((time.monotonic() - started) * 1000)
    except SteamError as exc:
        logger.warning("sync %s: Steam read failed: %s", log.id, exc)
        return _fail(log, actor=actor, code=exc.code, message=f"Reading the Steam inventory failed: {exc}",
                     started=started)
    except _FetchRefused as exc:
        return _fail(log, actor=actor, code=exc.code, message=str(exc), started=started)
    except Exception as exc:
        _fail(log, actor=actor, code="internal_error", message=f"{type(exc).__name__}: {exc}", started=started)
        raise
    try:
        return _reconcile(log, snapshot=snapshot, actor=actor, first_import=first_import, started=started)
    except Exception as exc:
        _fail(log, actor=actor, code="internal_error", message=f"{type(exc).__name__}: {exc}", started=started)
        raise


class _FetchRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _fetch(*, gateway, first_import: bool, on_progress: SyncProgress | None) -> Snapshot:
    if gateway is None:
        gateway = get_gateway()
    fetched_at = timezone.now()
    inventories = []
    for app_id, context_id in settings.STEAM_INVENTORIES:
        callback = None
        if on_progress is not None:
            def callback(pages, items, total, _app=app_id, _context=context_id):
                on_progress(_app, _context, pages, items, total)
        # The gateway returns only reads whose paging ended (more_items false): a
        # total_inventory_count above the assets listed is CS2 counting items it does
        # not show (trade-protected or hidden ones), not a short read. Whatever that
        # read would make vanish is still weighed by the removal thresholds.
        inventories.append(gateway.fetch_inventory(app_id, context_id, on_page=callback))
    trades = []
    if not first_import:
        last_good = (
            InventorySyncLog.objects.filter(sync_status=SyncStatus.SUCCESS).order_by("-sync_started_at").first()
        )
        since = None
        if last_good is not None:
            since = min(last_good.sync_started_at - TRADE_HISTORY_MARGIN, fetched_at - TRADE_REVERT_WINDOW)
        trades = gateway.get_trade_history(since=since, max_trades=TRADE_HISTORY_MAX_TRADES)
    try:
        return build_snapshot(inventories=inventories, trades=trades, fetched_at=fetched_at)
    except ValueError as exc:
        raise _FetchRefused("inconsistent_inventory", f"{exc}; nothing was applied.") from exc


def _hold_reasons(snapshot: Snapshot, plan: reconcile.Plan) -> list[dict]:
    reasons = []
    for inventory in snapshot.inventories:
        key = f"{inventory['app_id']}/{inventory['context_id']}"
        unexplained = plan.vanished_by_context.get(key, 0)
        if inventory["count"] == 0 and unexplained:
            # Steam sometimes answers a perfectly good inventory with an empty one.
            reasons.append({
                "code": "empty_inventory",
                "message": f"Steam returned an empty {key} inventory while {unexplained} items there "
                           f"are in the database and no trade explains their leaving.",
            })
    # Only vanishing that nothing explains counts: a removal Steam's trade history
    # names (an asset given in a completed trade) is corroborated by a second
    # endpoint, which a glitching inventory answer cannot fabricate.
    unexplained = plan.counts["missing"]
    limit_absolute = settings.SYNC_MAX_REMOVALS_ABSOLUTE
    if unexplained > limit_absolute:
        reasons.append({
            "code": "too_many_removals",
            "message": f"{unexplained} items would become missing, more than "
                       f"SYNC_MAX_REMOVALS_ABSOLUTE={limit_absolute}.",
        })
    percent = settings.SYNC_MAX_REMOVALS_PERCENT
    if plan.db_in_scope and unexplained * 100 > percent * plan.db_in_scope:
        reasons.append({
            "code": "too_many_removals_percent",
            "message": f"{unexplained} of {plan.db_in_scope} items would become missing, more than "
                       f"SYNC_MAX_REMOVALS_PERCENT={percent}%.",
        })
    return reasons


def _reconcile(log, *, snapshot: Snapshot, actor: str, first_import: bool, started: float) -> InventorySyncLog:
    new_user_ids: list[int] = []
    db_started = time.monotonic()
    log.error_details = {**(log.error_details or {}), "timings": snapshot.timings}
    if snapshot.nul_stripped:
        # Steam sent text PostgreSQL cannot store; it was stripped (sync/snapshot.py).
        logger.warning("sync %s: NUL characters stripped from %d items' Steam text", log.id, len(snapshot.nul_stripped))
        log.error_details["nul_stripped"] = snapshot.nul_stripped[:DISCREPANCY_LIST_LIMIT]
        log.error_details["nul_stripped_count"] = len(snapshot.nul_stripped)
    with transaction.atomic():
        with connection.cursor() as cursor:
            reconcile.stage(cursor, snapshot)
            plan = reconcile.compute_plan(cursor, first_import=first_import)
            reasons = _hold_reasons(snapshot, plan)
            if reasons:
                plan.digest = reconcile.plan_digest(cursor)
                reconcile.save_held(cursor, sync_log_id=log.id)
                db = reconcile.db_counts(cursor)
        if reasons:
            SyncHeldSnapshot.objects.create(
                sync_log=log, fetched_at=snapshot.fetched_at, inventories=snapshot.inventories,
                trades=[evidence.as_json() for evidence in snapshot.trades], plan=plan.as_json(),
            )
            snapshot.timings["db_ms"] = int((time.monotonic() - db_started) * 1000)
            _set_db_counts(log, db)
            log.sync_status = SyncStatus.HELD
            log.steam_inventory_count = snapshot.asset_count
            # A held run's counters are what applying it would do (the status says
            # nothing was); applying overwrites them with what was done.
            c = plan.counts
            log.items_added_count = c["add"] + c["restore"] + c["relink"]
            log.items_removed_count = plan.removals
            log.items_updated_count = c["update"]
            log.discrepancies_found = _planned_discrepancies(plan)
            log.error_message = " ".join(r["message"] for r in reasons) + " Nothing was applied; an operator must apply or discard this run."
            log.error_details = {
                **(log.error_details or {}), "hold_reasons": reasons, "plan": plan.as_json(),
                "inventories": snapshot.inventories,
            }
            _complete(log, started)
            _supersede_held(log, actor=actor)
            record_event(
                event_type="sync.held", description=f"Inventory sync held: {log.error_message}", actor=actor,
                source=Source.SYNC,
                data={"syncLogId": str(log.id), "holdReasons": [r["code"] for r in reasons], "plan": plan.counts},
            )
            logger.warning("sync %s held: %s", log.id, log.error_message)
            return log
        with connection.cursor() as cursor:
            applied = reconcile.apply_plan(cursor, plan=plan, actor=actor, sync_log_id=log.id)
            db = reconcile.db_counts(cursor)
        new_user_ids = applied.new_user_ids
        snapshot.timings["db_ms"] = int((time.monotonic() - db_started) * 1000)
        _finish_success(log, plan=plan, applied=applied, db=db, snapshot_inventories=snapshot.inventories,
                        steam_count=snapshot.asset_count, actor=actor, started=started)
        if new_user_ids:
            enqueue("items.tasks.profiles_refresh_task", steam_ids=new_user_ids)
    return log


def _planned_discrepancies(plan: reconcile.Plan) -> int:
    c = plan.counts
    return c["missing"] + c["protected"] + c["present_delivered"] + (0 if plan.first_import else c["add_unexplained"])


def _finish_success(log, *, plan, applied, db, snapshot_inventories, steam_count, actor, started=None) -> None:
    c = plan.counts
    log.sync_status = SyncStatus.SUCCESS
    log.steam_inventory_count = steam_count
    _set_db_counts(log, db)
    # Entered the pool: new rows, and known items back in the inventory.
    log.items_added_count = applied.added + applied.restored + applied.relinked
    log.items_removed_count = applied.removals
    log.items_updated_count = applied.updated
    # What an operator should look at: unexplained vanishing and arrivals, and
    # vanished items delivery still owns (reserved / in an offer).
    log.discrepancies_found = (
        applied.missing + (0 if plan.first_import else applied.added_unexplained)
        + c["protected"] + c["present_delivered"]
    )
    details = {
        **(log.error_details or {}),
        "breakdown": {
            "added": applied.added, "added_unexplained": applied.added_unexplained, "restored": applied.restored,
            "relinked": applied.relinked, "updated": applied.updated, "delivered": applied.delivered,
            "removed": applied.removed, "missing": applied.missing, "first_import": plan.first_import,
            # Planned but left alone: a delivery moved the item between our read and our write.
            "deferred": (c["add"] + c["restore"] + c["relink"] + c["update"] + plan.removals)
                        - (applied.added + applied.restored + applied.relinked + applied.updated + applied.removals),
        },
        "inventories": snapshot_inventories,
    }
    if c["protected"]:
        details["protected_vanished"] = plan.samples.get("protected", [])[:DISCREPANCY_LIST_LIMIT]
    if c["present_delivered"]:
        details["present_but_delivered"] = plan.samples.get("present_delivered", [])[:DISCREPANCY_LIST_LIMIT]
    log.error_details = details
    if started is not None:
        _complete(log, started)
    else:
        log.save()
    _supersede_held(log, actor=actor)
    record_event(
        event_type="sync.completed",
        description=(
            f"Inventory sync: {steam_count} items on Steam; {log.items_added_count} added, "
            f"{log.items_removed_count} removed, {log.items_updated_count} updated, "
            f"{log.discrepancies_found} discrepancies."
        ),
        actor=actor, source=Source.SYNC,
        severity="warning" if log.discrepancies_found else None,
        data={"syncLogId": str(log.id), **camel_keys(details["breakdown"]), "discrepancies": log.discrepancies_found},
    )


def _set_db_counts(log, db: dict[str, int]) -> None:
    log.database_available_count = db["available"]
    log.database_assigned_count = db["assigned"]
    log.database_delivered_count = db["delivered"]
    log.database_total_count = db["total"]


def _complete(log, started: float) -> None:
    log.sync_completed_at = timezone.now()
    log.sync_duration_ms = int((time.monotonic() - started) * 1000)
    log.save()


def _fail(log, *, actor: str, code: str, message: str, started: float | None = None, queued: bool = False):
    with transaction.atomic():
        log.sync_status = SyncStatus.FAILED
        log.error_message = message
        log.error_details = {**(log.error_details or {}), "code": code}
        log.sync_completed_at = timezone.now()
        if started is not None:
            log.sync_duration_ms = int((time.monotonic() - started) * 1000)
        log.save()
        record_event(
            event_type="sync.failed", description=f"Inventory sync failed: {message}", actor=actor,
            source=Source.SYNC, data={"syncLogId": str(log.id), "code": code},
            severity="warning" if queued else None,
        )
    logger.warning("sync %s failed (%s): %s", log.id, code, message)
    return log


def _supersede_held(log, *, actor: str) -> None:
    """A newer complete read makes older held snapshots obsolete: applying one now
    would move the pool backwards. Only the latest held run stays actionable."""
    older = InventorySyncLog.objects.filter(
        sync_status=SyncStatus.HELD, resolution__isnull=True, sync_started_at__lt=log.sync_started_at
    ).exclude(id=log.id)
    for held in older.select_for_update():
        held.resolution = "discarded"
        held.resolved_by = "system"
        held.resolved_at = timezone.now()
        held.error_details = {**(held.error_details or {}), "superseded_by": str(log.id)}
        held.save(update_fields=["resolution", "resolved_by", "resolved_at", "error_details"])
        SyncHeldAsset.objects.filter(snapshot_id=held.id).delete()
        record_event(
            event_type="sync.discarded", description=f"Held sync {held.id} superseded by the newer sync {log.id}.",
            actor="system", source=Source.SYNC, data={"syncLogId": str(held.id), "supersededBy": str(log.id)},
        )


# ----------------------------------------------------------------- held runs
def _load_held(sync_log_id) -> InventorySyncLog:
    try:
        log = InventorySyncLog.objects.select_for_update().get(id=sync_log_id)
    except (InventorySyncLog.DoesNotExist, ValidationError, ValueError, TypeError):
        raise SyncRunNotFound(f"no sync run {sync_log_id}") from None
    if log.sync_status != SyncStatus.HELD or log.resolution is not None:
        raise SyncNotHeld(
            f"sync run {log.id} is {log.sync_status}"
            + (f" and already {log.resolution}" if log.resolution else "")
            + "; only an unresolved held run can be applied or discarded",
            details={"sync_status": log.sync_status, "resolution": log.resolution},
        )
    return log


def sync_apply_held(*, sync_log_id, actor: str, reason: str, source: str = Source.ADMIN) -> InventorySyncLog:
    """Apply a held run's diff, exactly the one the operator reviewed.

    The run's snapshot (every asset it read, and the trade evidence) was kept;
    it is staged again and diffed against the database as it is now. If that
    diff is the one computed when the run was held (same digest: same items,
    same actions, same changes), it is applied, thresholds notwithstanding, in
    one transaction with its events, and the run becomes `success` with
    resolution `applied`. If anything moved in between (a delivery, a newer
    sync), nothing is applied and `SyncHeldStale` says so; discard the run and
    sync again. Takes the sync lock: raises `SyncBusy` while a sync runs.
    """
    reason = clean_reason(reason, what="a decision on a held sync", error=SyncInvalidInput)
    started = time.monotonic()
    with sync_lock() as locked:
        if not locked:
            raise SyncBusy("a sync is running; apply the held run when it has finished")
        with transaction.atomic():
            log = _load_held(sync_log_id)
            held = SyncHeldSnapshot.objects.get(sync_log=log)
            with connection.cursor() as cursor:
                reconcile.stage_from_held(
                    cursor, sync_log_id=log.id,
                    scope=[(inv["app_id"], inv["context_id"]) for inv in held.inventories],
                    trades=[TradeEvidence.from_json(row) for row in held.trades],
                )
                plan = reconcile.compute_plan(cursor, first_import=held.plan["first_import"])
                plan.digest = reconcile.plan_digest(cursor)
                if plan.digest != held.plan["digest"]:
                    raise SyncHeldStale(
                        "the database changed since this run was held, so its diff no longer applies as "
                        "reviewed; discard it and run a new sync",
                        details={"held_counts": held.plan["counts"], "current_counts": plan.counts},
                    )
                applied = reconcile.apply_plan(cursor, plan=plan, actor=actor, sync_log_id=log.id)
                db = reconcile.db_counts(cursor)
            log.resolution = "applied"
            log.resolved_by = actor
            log.resolved_at = timezone.now()
            log.error_details = {**(log.error_details or {}), "resolution_reason": reason,
                                 "apply_duration_ms": int((time.monotonic() - started) * 1000)}
            _finish_success(log, plan=plan, applied=applied, db=db, snapshot_inventories=held.inventories,
                            steam_count=log.steam_inventory_count or 0, actor=actor)
            SyncHeldAsset.objects.filter(snapshot_id=log.id).delete()
            record_event(
                event_type="sync.applied", description=f"Held sync {log.id} applied by {actor}: {reason}",
                actor=actor, source=source,
                data={"syncLogId": str(log.id), "reason": reason, "added": log.items_added_count,
                      "removed": log.items_removed_count, "updated": log.items_updated_count},
            )
            if applied.new_user_ids:
                enqueue("items.tasks.profiles_refresh_task", steam_ids=applied.new_user_ids)
    return log


def sync_discard_held(*, sync_log_id, actor: str, reason: str, source: str = Source.ADMIN) -> InventorySyncLog:
    """Discard a held run: nothing of it is ever applied, its kept snapshot is dropped."""
    reason = clean_reason(reason, what="a decision on a held sync", error=SyncInvalidInput)
    with transaction.atomic():
        log = _load_held(sync_log_id)
        log.resolution = "discarded"
        log.resolved_by = actor
        log.resolved_at = timezone.now()
        log.error_details = {**(log.error_details or {}), "resolution_reason": reason}
        log.save(update_fields=["resolution", "resolved_by", "resolved_at", "error_details"])
        SyncHeldAsset.objects.filter(snapshot_id=log.id).delete()
        record_event(
            event_type="sync.discarded", description=f"Held sync {log.id} discarded by {actor}: {reason}",
            actor=actor, source=source, data={"syncLogId": str(log.id), "reason": reason},
        )
    return log
