"""The append-only audit trail (ADR-002 `system_events`).

Rows are written by `audit.services.record_event` inside the caller's transaction
and never change afterwards: PostgreSQL triggers (migration 0002) refuse UPDATE,
DELETE and TRUNCATE on this table, whatever client issues them.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class Severity(models.TextChoices):
    DEBUG = "debug", "Debug"
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"
    CRITICAL = "critical", "Critical"


class Category(models.TextChoices):
    ITEM = "item", "Item"
    ASSIGNMENT = "assignment", "Assignment"
    DELIVERY = "delivery", "Delivery"
    SYNC = "sync", "Sync"
    USER = "user", "Steam user"
    API = "api", "Integration API"
    OPERATOR = "operator", "Operator override"
    SYSTEM = "system", "System"


class Source(models.TextChoices):
    API = "api", "Integration API"
    ADMIN = "admin", "Admin"
    WORKER = "worker", "Worker"
    SYNC = "sync", "Sync"
    COMMAND = "command", "Management command"
    SYSTEM = "system", "System"


class SystemEvent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=64)
    event_category = models.CharField(max_length=32, choices=Category.choices)
    event_description = models.TextField()
    # PROTECT on every reference: deleting a user, item or assignment that has
    # history fails instead of erasing or orphaning that history.
    # db_index=False on the three: the composite (user|item|assignment, -created_at)
    # indexes below lead with the same column and serve every lookup by it (the
    # history pages, PROTECT's check, the FK triggers); a second, single-column
    # index only cost every insert (100,000 of them in a first inventory import).
    user = models.ForeignKey(
        "items.SteamUser", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_column="user_id",
        db_index=False,
    )
    item = models.ForeignKey(
        "items.Item", on_delete=models.PROTECT, null=True, blank=True, related_name="events", db_index=False,
    )
    assignment = models.ForeignKey(
        "assignments.Assignment", on_delete=models.PROTECT, null=True, blank=True, related_name="events",
        db_index=False,
    )
    external_system = models.CharField(max_length=64, null=True, blank=True)
    event_data = models.JSONField(default=dict, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.INFO)
    source = models.CharField(max_length=16, choices=Source.choices)
    # Addition: who did it (an operator's username, an external system's slug, or
    # "system" for workers and schedules).
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "system_events"
        verbose_name = "system event"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="system_events_severity_valid"),
            models.CheckConstraint(condition=Q(event_category__in=Category.values), name="system_events_category_valid"),
            models.CheckConstraint(condition=Q(source__in=Source.values), name="system_events_source_valid"),
        ]
        indexes = [
            models.Index(fields=["-created_at"], name="events_created"),
            models.Index(fields=["item", "-created_at"], name="events_item_created"),
            models.Index(fields=["assignment", "-created_at"], name="events_assignment_created"),
            models.Index(fields=["user", "-created_at"], name="events_user_created"),
            models.Index(fields=["external_system", "-created_at"], name="events_system_created"),
            models.Index(fields=["event_type", "-created_at"], name="events_type_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} at {self.created_at:%Y-%m-%d %H:%M:%S}"
