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


class StatusReason(models.TextChoices):
    """Why an assignment waits, is being delivered in a particular way, or failed: a stable code.

    Stored in `Assignment.status_reason` and shown by the API as `statusReason`;
    the values never change (clients and stored rows depend on them). Labels are
    what the admin's filter shows.
    """

    # pending: waits for something
    TRADE_URL_REQUIRED = "trade_url_required", "trade url required"
    TRADE_URL_INVALID = "trade_url_invalid", "trade url invalid"
    ITEMS_NOT_TRADABLE = "items_not_tradable", "items not tradable"
    # The user's trade hold (no mobile authenticator, ...) is above STEAM_MAX_TRADE_HOLD_DAYS:
    # rechecked every STEAM_HOLD_RECHECK_HOURS; failed with this reason after STEAM_HOLD_MAX_WAIT_DAYS.
    ESCROW_HOLD = "escrow_hold", "escrow hold"
    # Steam refused the send with (25): too many pending offers (per partner or in total).
    OFFER_LIMIT = "offer_limit", "offer limit"
    # processing: a delivery attempt is under way
    SENDING = "sending", "sending"
    CANCELLING = "cancelling", "cancelling"
    STEAM_UNAVAILABLE = "steam_unavailable", "steam unavailable"
    SEND_OUTCOME_UNKNOWN = "send_outcome_unknown", "send outcome unknown"
    AWAITING_CONFIRMATION = "awaiting_confirmation", "awaiting confirmation"
    AWAITING_ACCEPTANCE = "awaiting_acceptance", "awaiting acceptance"
    ESCROW = "escrow", "escrow"
    # pending: the last offer ended undelivered; the next attempt is at next_attempt_at
    OFFER_EXPIRED = "offer_expired", "offer expired"
    OFFER_CANCELLED = "offer_cancelled", "offer cancelled"
    OFFER_COUNTERED = "offer_countered", "offer countered"
    OFFER_CANCELLED_BY_SECOND_FACTOR = "offer_cancelled_by_second_factor", "offer cancelled by second factor"
    OFFER_INVALID = "offer_invalid", "offer invalid"
    OFFER_TIMED_OUT = "offer_timed_out", "offer timed out"
    RESEND_REQUESTED = "resend_requested", "resend requested"
    # The user accepted, but Steam's trade failed before it completed: the items are back.
    TRADE_FAILED = "trade_failed", "trade failed"
    # failed
    DECLINED = "declined", "declined"
    INVALID_ITEMS = "invalid_items", "invalid items"
    REVERTED = "reverted", "reverted"
    ATTEMPTS_EXHAUSTED = "attempts_exhausted", "attempts exhausted"
    STEAM_REJECTED = "steam_rejected", "steam rejected"
    ITEMS_UNAVAILABLE = "items_unavailable", "items unavailable"


# A worker (or a cancel) is inside the Steam calls of the current attempt.
HOLDING_REASONS = (StatusReason.SENDING, StatusReason.CANCELLING)
# Nothing can start until a person or Steam changes something: a (new) trade URL.
WAITING_FOR_URL = (StatusReason.TRADE_URL_REQUIRED, StatusReason.TRADE_URL_INVALID)


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
    # Addition: why an assignment waits or failed, as a stable code (StatusReason).
    status_reason = models.CharField(max_length=64, null=True, blank=True, choices=StatusReason.choices)
    assigned_at = models.DateTimeField(auto_now_add=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    delivery_attempts = models.IntegerField(default=0)
    last_delivery_attempt_at = models.DateTimeField(null=True, blank=True)
    # Addition: earliest time the next delivery attempt may start (retry backoff).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Addition: when the current wait (its status_reason) began; a wait may have a
    # limit (STEAM_HOLD_MAX_WAIT_DAYS for escrow_hold).
    waiting_since = models.DateTimeField(null=True, blank=True)
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


class AttemptOutcome(models.TextChoices):
    """How one delivery attempt ended (or where it stands while it is open)."""

    SENDING = "sending", "Sending"
    OFFER_ACTIVE = "offer_active", "Offer active"
    ACCEPTED = "accepted", "Accepted"
    ESCROW = "escrow", "Accepted into escrow"
    DECLINED = "declined", "Declined by the user"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled (not by Astro)"
    COUNTERED = "countered", "Countered by the user"
    CANCELLED_BY_SECOND_FACTOR = "cancelled_by_second_factor", "Cancelled by second factor"
    INVALID = "invalid", "Invalid offer"
    INVALID_ITEMS = "invalid_items", "Items no longer available"
    REVERTED = "reverted", "Trade reverted"
    TIMED_OUT = "timed_out", "Cancelled by Astro after the offer lifetime"
    CANCELLED_BY_ASTRO = "cancelled_by_astro", "Cancelled by Astro (assignment cancelled or resent)"
    STEAM_UNAVAILABLE = "steam_unavailable", "Steam unavailable, retried later"
    OUTCOME_UNKNOWN = "outcome_unknown", "Send outcome unknown"
    REJECTED = "rejected", "Rejected by Steam"
    SUPERSEDED = "superseded", "Taken over after the worker stopped"
    LIMIT_EXCEEDED = "limit_exceeded", "Refused: too many pending offers"
    TRADE_FAILED = "trade_failed", "Accepted, but the trade failed"


OPEN_ATTEMPT_OUTCOMES = (AttemptOutcome.SENDING, AttemptOutcome.OFFER_ACTIVE, AttemptOutcome.ESCROW)


class DeliveryAttempt(models.Model):
    """One attempt at delivering an assignment: one claim, at most one trade offer.

    `tag` goes into the offer's message; it is how a send that failed on our side
    but created the offer on Steam's is found again and adopted instead of repeated.
    """

    id = models.BigAutoField(primary_key=True)
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="attempts")
    number = models.IntegerField()
    tag = models.CharField(max_length=64, unique=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    trade_offer_id = models.CharField(max_length=32, null=True, blank=True)
    adopted = models.BooleanField(default=False)
    outcome = models.CharField(max_length=32, choices=AttemptOutcome.choices, default=AttemptOutcome.SENDING)
    error_code = models.CharField(max_length=64, null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)
    # Why Astro itself asked Steam to cancel this attempt's offer (lifetime,
    # assignment_cancel, resend, duplicate): a Canceled state we caused is not
    # "cancelled by someone else", and must not be retried as one.
    cancel_requested = models.CharField(max_length=32, null=True, blank=True)
    # Whether an offer that ended undelivered counts toward DELIVERY_MAX_ATTEMPTS;
    # an operator's retry starts a fresh budget by clearing it on earlier attempts.
    counted = models.BooleanField(default=True)
    # The trade Steam made when the offer was accepted, and when Astro last read its
    # status (GetTradeStatus): a delivered trade is watched for a revert for
    # REVERT_WATCH, however late it comes.
    trade_id = models.CharField(max_length=32, null=True, blank=True)
    trade_checked_at = models.DateTimeField(null=True, blank=True)
    # Who asked Astro to cancel the assignment while this attempt may have had an
    # offer out ({"actor", "source", "reason"}): a cancel that dies midway is resumed
    # from this, as a cancel, never as a send.
    cancel_request = models.JSONField(null=True, blank=True)

    class Meta:
        db_table = "delivery_attempts"
        ordering = ["assignment_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "number"], name="delivery_attempts_assignment_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="delivery_attempts_number_positive"),
            models.CheckConstraint(
                condition=Q(outcome__in=AttemptOutcome.values), name="delivery_attempts_outcome_valid"
            ),
            # At most one open attempt per assignment: two workers can never both be
            # sending, or both following an offer, for the same assignment.
            models.UniqueConstraint(
                fields=["assignment"],
                condition=Q(outcome__in=OPEN_ATTEMPT_OUTCOMES),
                name="delivery_attempts_one_open",
            ),
        ]
        indexes = [
            models.Index(fields=["trade_offer_id"], name="delivery_attempts_offer"),
            # The revert watch: accepted attempts by when their trade was last read.
            models.Index(fields=["trade_checked_at"], name="delivery_attempts_trade_check",
                         condition=Q(outcome="accepted")),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.assignment_id} ({self.outcome})"
