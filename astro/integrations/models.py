"""Integration-API models: external systems, their API keys, idempotency records."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from astro.core.api.rates import RATE_PATTERN


class Scope(models.TextChoices):
    ITEMS_READ = "items:read", "Read the item pool"
    ASSIGNMENTS_WRITE = "assignments:write", "Create and cancel assignments, set trade URLs"
    ASSIGNMENTS_READ = "assignments:read", "Read own assignments and Steam users"
    SYNC_TRIGGER = "sync:trigger", "Request an inventory sync"
    EVENTS_READ = "events:read", "Read own audit events"


ALL_SCOPES = tuple(Scope.values)
# What a new system may do unless told otherwise: everything but requesting syncs, which
# every system shares and none needs to do (the schedule syncs the pool).
DEFAULT_SCOPES = (Scope.ITEMS_READ.value, Scope.ASSIGNMENTS_READ.value, Scope.ASSIGNMENTS_WRITE.value,
                  Scope.EVENTS_READ.value)

RATE_LIMIT_PATTERN = RATE_PATTERN
validate_rate_limit = RegexValidator(RATE_LIMIT_PATTERN, "Use <count>/<period>, e.g. 600/min or 10/s.")
validate_slug = RegexValidator(r"^[a-z0-9][a-z0-9_-]{0,63}$", "Lower-case letters, digits, '_' and '-'.")
# The range of an assignment's priority, and so of a system's ceiling on it.
PRIORITY_MIN, PRIORITY_MAX = -1000, 1000


def default_max_priority() -> int:
    """A new system's ceiling on `assignmentPriority` (API_DEFAULT_MAX_PRIORITY)."""
    return settings.API_DEFAULT_MAX_PRIORITY


class ExternalSystem(models.Model):
    """A system that integrates through the API (a SourceMod plugin, a Discord bot, a shop).

    `slug` is the value of `externalSystem` in assignments and of
    `system_events.external_system`; it never changes once used.
    """

    slug = models.CharField(max_length=64, unique=True, validators=[validate_slug])
    name = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    scopes = ArrayField(models.CharField(max_length=32, choices=Scope.choices), default=list, blank=True)
    rate_limit = models.CharField(max_length=32, default="600/min", validators=[validate_rate_limit])
    # The highest `assignmentPriority` this system's assignments get; a higher request is
    # clamped to it, so no system can push its deliveries ahead of everyone else's.
    max_priority = models.IntegerField(
        default=default_max_priority,
        validators=[MinValueValidator(PRIORITY_MIN), MaxValueValidator(PRIORITY_MAX)],
        help_text=f"The highest assignment priority this system may use ({PRIORITY_MIN}..{PRIORITY_MAX}); "
                  "higher requests are clamped to it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "external_systems"
        constraints = [
            models.CheckConstraint(condition=Q(slug__regex=r"^[a-z0-9][a-z0-9_-]{0,63}$"), name="external_systems_slug_valid"),
            models.CheckConstraint(condition=Q(scopes__contained_by=list(ALL_SCOPES)), name="external_systems_scopes_valid"),
            models.CheckConstraint(condition=Q(rate_limit__regex=RATE_LIMIT_PATTERN), name="external_systems_rate_limit_valid"),
            models.CheckConstraint(
                condition=Q(max_priority__gte=PRIORITY_MIN, max_priority__lte=PRIORITY_MAX),
                name="external_systems_max_priority_range",
            ),
        ]

    def __str__(self) -> str:
        return self.slug


class ApiKey(models.Model):
    """One key of a system. Only `prefix` (to find the row) and a SHA-256 of the
    secret are stored; the whole key `astro_<prefix>_<secret>` is shown once.

    The secret is 256 random bits, so a fast hash is enough: there is nothing to
    brute-force that a slow hash would protect (unlike a human password).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    system = models.ForeignKey(ExternalSystem, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=255, blank=True, default="")
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    # Empty: the key has all of its system's scopes. Otherwise a subset of them.
    scopes = ArrayField(models.CharField(max_length=32, choices=Scope.choices), default=list, blank=True)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, null=True, blank=True)

    class Meta:
        db_table = "api_keys"
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(condition=Q(scopes__contained_by=list(ALL_SCOPES)), name="api_keys_scopes_valid"),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(revoked_by__isnull=False), name="api_keys_revoked_by_someone"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system.slug}:{self.prefix}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def effective_scopes(self) -> frozenset[str]:
        """What this key may do now: its own scopes (or all of the system's), never more than the system's."""
        system_scopes = frozenset(self.system.scopes)
        return system_scopes & frozenset(self.scopes) if self.scopes else system_scopes


class IdempotencyState(models.TextChoices):
    IN_FLIGHT = "in_flight", "In flight"
    COMPLETED = "completed", "Completed"


class IdempotencyRecord(models.Model):
    """One `Idempotency-Key` of one system, and the response it produced.

    The row is inserted (and committed) before the request runs; the unique
    constraint on (system, key) decides which of several concurrent requests runs.
    The response is stored in the same transaction as the request's own writes,
    so a completed record always means the work committed, and an in-flight one
    whose lock is free means it never did (astro.integrations.idempotency).
    """

    id = models.BigAutoField(primary_key=True)
    system = models.ForeignKey(ExternalSystem, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=IdempotencyState.choices, default=IdempotencyState.IN_FLIGHT)
    # Which request owns the in-flight row (a crashed owner's row can be taken over).
    owner_token = models.UUIDField(default=uuid.uuid4)
    response_status = models.IntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_content_type = models.CharField(max_length=128, null=True, blank=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "idempotency_records"
        constraints = [
            models.UniqueConstraint(fields=["system", "key"], name="idempotency_records_system_key_unique"),
            models.CheckConstraint(condition=Q(state__in=IdempotencyState.values), name="idempotency_records_state_valid"),
            models.CheckConstraint(
                condition=Q(state="in_flight") | (Q(response_status__isnull=False) & Q(response_body__isnull=False)),
                name="idempotency_records_completed_has_response",
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_records_created")]
