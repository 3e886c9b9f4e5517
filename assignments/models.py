"""Assignments of pool items to Steam users (ADR-002 `assignments`, `assignment_items`)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from items.models import Item, SteamUser


class AssignmentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_ASSIGNMENT_STATUSES = (AssignmentStatus.PENDING, AssignmentStatus.PROCESSING)


class Assignment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(SteamUser, on_delete=models.PROTECT, related_name="assignments", db_column="user_id")
    assignment_type = models.CharField(max_length=64)
    assignment_reason = models.TextField(null=True, blank=True)
    external_system = models.CharField(max_length=64)
    external_context = models.JSONField(default=dict, blank=True)
    total_items_count = models.IntegerField(default=0)
    total_estimated_value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    assignment_priority = models.IntegerField(default=0)
    status = models.CharField(max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.PENDING)
    # Addition: why an assignment waits or failed, as a stable code
    # (trade_url_required, escrow, items_not_tradable, declined, ...).
    status_reason = models.CharField(max_length=64, null=True, blank=True)
    assigned_at = models.DateTimeField(auto_now_add=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    delivery_attempts = models.IntegerField(default=0)
    last_delivery_attempt_at = models.DateTimeField(null=True, blank=True)
    # Addition: earliest time the next delivery attempt may start (retry backoff).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivery_error_message = models.TextField(null=True, blank=True)
    delivery_trade_offer_id = models.CharField(max_length=32, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "assignments"
        constraints = [
            models.CheckConstraint(condition=Q(status__in=AssignmentStatus.values), name="assignments_status_valid"),
            models.CheckConstraint(condition=Q(total_items_count__gte=0), name="assignments_items_count_non_negative"),
            models.CheckConstraint(
                condition=Q(total_estimated_value__gte=0), name="assignments_value_non_negative"
            ),
            models.CheckConstraint(condition=Q(delivery_attempts__gte=0), name="assignments_attempts_non_negative"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="assignments_user_created"),
            models.Index(fields=["status", "-assignment_priority", "created_at"], name="assignments_status_priority"),
            models.Index(fields=["external_system", "-created_at"], name="assignments_system_created"),
        ]

    def __str__(self) -> str:
        return f"{self.assignment_type} for {self.user_id} ({self.status})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_OFFER = "in_offer", "In offer"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    RETURNED = "returned", "Returned (trade reverted)"


class AssignmentItem(models.Model):
    """One item in one assignment, with its value and name as they were when assigned."""

    pk = models.CompositePrimaryKey("assignment_id", "item_id")
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="assignment_items")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="assignment_items")
    item_value_at_assignment = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    item_name_at_assignment = models.CharField(max_length=255)
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivery_status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    # Addition: copied from the assignment so the one-active-assignment guard below
    # can be a plain partial unique index (an index cannot look at another table).
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "assignment_items"
        constraints = [
            models.CheckConstraint(
                condition=Q(delivery_status__in=DeliveryStatus.values), name="assignment_items_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(item_value_at_assignment__isnull=True) | Q(item_value_at_assignment__gte=0),
                name="assignment_items_value_non_negative",
            ),
            # The last line of defence against double-spending an item: PostgreSQL
            # refuses a second active assignment row for the same item.
            models.UniqueConstraint(
                fields=["item"], condition=Q(is_active=True), name="assignment_items_one_active_per_item"
            ),
        ]
        indexes = [models.Index(fields=["item"], name="assignment_items_item")]

    def __str__(self) -> str:
        return f"{self.item_name_at_assignment} in {self.assignment_id}"
