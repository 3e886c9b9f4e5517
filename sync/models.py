"""The inventory sync log (ADR-002 `inventory_sync_log`): one row per sync run."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class SyncStatus(models.TextChoices):
    # Addition: requested (API, admin, after a trade) and waiting for a worker.
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCESS = "success", "Success"
    HELD = "held", "Held for an operator"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (another sync was running)"


class SyncTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    TRADE = "trade", "After a trade"
    API = "api", "Integration API"
    ADMIN = "admin", "Admin"
    COMMAND = "command", "Management command"


class InventorySyncLog(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sync_started_at = models.DateTimeField()
    sync_completed_at = models.DateTimeField(null=True, blank=True)
    sync_status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.RUNNING)
    steam_inventory_count = models.IntegerField(null=True, blank=True)
    database_available_count = models.IntegerField(null=True, blank=True)
    database_assigned_count = models.IntegerField(null=True, blank=True)
    database_delivered_count = models.IntegerField(null=True, blank=True)
    database_total_count = models.IntegerField(null=True, blank=True)
    items_added_count = models.IntegerField(default=0)
    items_removed_count = models.IntegerField(default=0)
    items_updated_count = models.IntegerField(default=0)
    discrepancies_found = models.IntegerField(default=0)
    error_message = models.TextField(null=True, blank=True)
    error_details = models.JSONField(null=True, blank=True)
    sync_duration_ms = models.IntegerField(null=True, blank=True)
    # Additions: what started the run, and what an operator decided about a held one.
    trigger = models.CharField(max_length=16, choices=SyncTrigger.choices, default=SyncTrigger.SCHEDULE)
    resolution = models.CharField(max_length=16, null=True, blank=True)
    resolved_by = models.CharField(max_length=150, null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "inventory_sync_log"
        verbose_name = "inventory sync run"
        ordering = ["-sync_started_at"]
        constraints = [
            models.CheckConstraint(condition=Q(sync_status__in=SyncStatus.values), name="sync_log_status_valid"),
            models.CheckConstraint(condition=Q(trigger__in=SyncTrigger.values), name="sync_log_trigger_valid"),
            models.CheckConstraint(
                condition=Q(resolution__isnull=True) | Q(resolution__in=["applied", "discarded"]),
                name="sync_log_resolution_valid",
            ),
            models.CheckConstraint(
                condition=(
                    Q(items_added_count__gte=0) & Q(items_removed_count__gte=0) & Q(items_updated_count__gte=0)
                    & Q(discrepancies_found__gte=0)
                    & (Q(steam_inventory_count__isnull=True) | Q(steam_inventory_count__gte=0))
                    & (Q(sync_duration_ms__isnull=True) | Q(sync_duration_ms__gte=0))
                ),
                name="sync_log_counts_non_negative",
            ),
            # At most one run waiting and one running: requests made while one waits
            # coalesce into it, and a second runner cannot even record its start.
            models.UniqueConstraint(
                fields=["sync_status"], condition=Q(sync_status="queued"), name="sync_log_one_queued"
            ),
            models.UniqueConstraint(
                fields=["sync_status"], condition=Q(sync_status="running"), name="sync_log_one_running"
            ),
        ]
        indexes = [
            models.Index(fields=["-sync_started_at"], name="sync_log_started"),
            models.Index(fields=["sync_status", "-sync_started_at"], name="sync_log_status_started"),
        ]

    def __str__(self) -> str:
        return f"sync {self.sync_started_at:%Y-%m-%d %H:%M:%S} ({self.sync_status})"


class SyncHeldSnapshot(models.Model):
    """What a held run saw, kept so that an operator's "apply" applies exactly that.

    `plan` holds the diff the run computed (counts, samples and one digest per
    action); applying re-computes the diff from the same snapshot and refuses
    when it no longer matches, i.e. when the database moved in between.
    """

    sync_log = models.OneToOneField(
        InventorySyncLog, on_delete=models.PROTECT, primary_key=True, related_name="held_snapshot"
    )
    fetched_at = models.DateTimeField()
    inventories = models.JSONField(default=list)  # [{app_id, context_id, count, total_count, pages}]
    trades = models.JSONField(default=list)  # trade evidence rows, as staged
    plan = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "sync_held_snapshot"


class SyncHeldAsset(models.Model):
    """One asset of a held run's inventory snapshot, in the staged (resolved) shape."""

    id = models.BigAutoField(primary_key=True)
    snapshot = models.ForeignKey(
        SyncHeldSnapshot, on_delete=models.CASCADE, related_name="assets", db_column="sync_log_id"
    )
    app_id = models.IntegerField()
    context_id = models.BigIntegerField()
    asset_id = models.BigIntegerField()
    class_id = models.BigIntegerField()
    instance_id = models.BigIntegerField()
    market_hash_name = models.TextField()
    name = models.TextField()
    type = models.TextField(null=True)
    rarity = models.TextField(null=True)
    tradable = models.BooleanField()
    tradable_after = models.DateTimeField(null=True)
    steam_metadata = models.JSONField()
    fingerprint = models.UUIDField(null=True)

    class Meta:
        db_table = "sync_held_asset"
        indexes = [models.Index(fields=["snapshot"], name="sync_held_asset_log")]


class SyncItemState(models.Model):
    """A digest of the Steam-derived fields sync last wrote to an item.

    Comparing 100,000 jsonb descriptions costs seconds; comparing 100,000 digests
    costs milliseconds. The diff compares digests first and looks at the columns
    only where they differ (or where no digest is known). Only sync writes the
    fields the digest covers, and it rewrites the digest in the same statement
    as the fields, so the two cannot drift apart.
    """

    item = models.OneToOneField(
        "items.Item", on_delete=models.CASCADE, primary_key=True, related_name="+", db_column="item_id"
    )
    fingerprint = models.UUIDField()

    class Meta:
        db_table = "sync_item_state"
