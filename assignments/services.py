"""Assignment writes: create (claim items all-or-nothing) and cancel."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from assignments import delivery
from assignments.models import Assignment, AssignmentItem, AssignmentStatus
from astro.core.errors import Conflict, InvalidInput, NotFound
from astro.core.tasks import enqueue
from astro.integrations.models import ExternalSystem
from audit.services import record_event, record_events
from items.services import user_get_or_create, user_link_system, user_set_trade_url

# Why an item could not be claimed; `contended` = it changed while we claimed it (retry may work).
UNAVAILABLE_REASONS = (
    "reserved", "in_offer", "delivered", "missing", "removed", "quarantined", "not_tradable", "unknown", "contended",
)


class ItemsUnavailable(Conflict):
    code = "items_unavailable"
    message = "Some items cannot be assigned; nothing was reserved."

    def __init__(self, unavailable: list[dict[str, str]]):
        super().__init__(
            f"{len(unavailable)} item(s) cannot be assigned; nothing was reserved.",
            details={"items": unavailable},
        )
        self.unavailable = unavailable


class AssignmentNotFound(NotFound):
    message = "No such assignment."


class AssignmentNotCancellable(Conflict):
    code = "assignment_not_cancellable"

    def __init__(self, status: str):
        super().__init__(f"A {status} assignment cannot be cancelled.", details={"status": status})


# Lock rows in id order so that concurrent claims of overlapping sets queue up
# instead of deadlocking. FOR UPDATE re-checks the WHERE on the newest version
# of a row it had to wait for, so an item another transaction just reserved is
# skipped, never claimed twice.
_CLAIM_SQL = """
WITH claim AS (
    SELECT id FROM items
     WHERE id = ANY(%(ids)s::uuid[])
       AND status = 'available'
       AND (tradable OR tradable_after IS NOT NULL)
     ORDER BY id
       FOR UPDATE
)
UPDATE items AS i
   SET status = 'reserved', assigned_to_user_id = %(user_id)s, assigned_at = %(now)s, updated_at = %(now)s
  FROM claim
 WHERE i.id = claim.id
RETURNING i.id, i.item_name, i.market_value, i.steam_app_id, i.steam_asset_id
"""


def _why_unavailable(item_ids: list[uuid.UUID]) -> list[dict[str, str]]:
    rows = {
        row[0]: row[1:]
        for row in _fetch("SELECT id, status, tradable, tradable_after FROM items WHERE id = ANY(%s::uuid[])", [item_ids])
    }
    out = []
    for item_id in item_ids:
        if item_id not in rows:
            reason = "unknown"
        else:
            status, tradable, tradable_after = rows[item_id]
            if status != "available":
                reason = status
            elif not tradable and tradable_after is None:
                reason = "not_tradable"
            else:
                reason = "contended"
        out.append({"itemId": str(item_id), "reason": reason})
    return out


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def assignment_create(
    *,
    user_id: int,
    item_ids: list[uuid.UUID],
    assignment_type: str,
    external_system: str,
    external_context: dict[str, Any] | None = None,
    actor: str,
    source: str = "api",
    trade_url: str | None = None,
    priority: int = 0,
    reason: str | None = None,
) -> Assignment:
    """Reserve `item_ids` for Steam user `user_id`: all of them or none.

    Guarantees: in one transaction the items go from available to reserved (a
    conditional UPDATE decided by PostgreSQL; the partial unique index on
    assignment_items is the second guard), the assignment and its items are
    written with each item's name and value as they are now, and the events
    assignment.created and item.reserved (one per item) are recorded. If any item
    is not available, ItemsUnavailable lists each one and why, and nothing
    changes. Items on a trade hold (`tradable_after` set) are accepted; delivery
    waits for them. An item with tradable=false and no end date is `not_tradable`.
    `priority` is clamped to the registered system's `max_priority` (silently; the
    event records the priority asked for). A new Steam user gets a `users` row,
    and the system is recorded as dealing with the user; a given trade URL is
    validated and stored as this system's own.
    """
    item_ids = [uuid.UUID(str(i)) for i in item_ids]
    if not item_ids:
        raise InvalidInput("An assignment needs at least one item.", details={"field": "itemIds"})
    if len(item_ids) > settings.API_MAX_ITEMS_PER_ASSIGNMENT:
        raise InvalidInput(
            f"At most {settings.API_MAX_ITEMS_PER_ASSIGNMENT} items per assignment.", details={"field": "itemIds"}
        )
    if len(set(item_ids)) != len(item_ids):
        raise InvalidInput("itemIds lists an item twice.", details={"field": "itemIds"})
    requested_priority = priority
    ceiling = ExternalSystem.objects.filter(slug=external_system).values_list("max_priority", flat=True).first()
    if ceiling is not None and priority > ceiling:
        # Silently: one system must not put its deliveries ahead of everyone else's.
        priority = ceiling
    now = timezone.now()
    with transaction.atomic():
        user_get_or_create(steam_id=user_id, actor=actor, source=source, external_system=external_system)
        # From now on this system has dealt with the user (reads them, sets their URL).
        user_link_system(steam_id=user_id, external_system=external_system)
        if trade_url:
            user_set_trade_url(
                steam_id=user_id, trade_url=trade_url, actor=actor, source=source, external_system=external_system
            )
        claimed = _fetch(_CLAIM_SQL, {"ids": item_ids, "user_id": user_id, "now": now})
        if len(claimed) != len(item_ids):
            got = {row[0] for row in claimed}
            # Raising rolls the transaction back: the items we did claim are free again.
            raise ItemsUnavailable(_why_unavailable([i for i in item_ids if i not in got]))
        by_id = {row[0]: row for row in claimed}
        total_value = sum((row[2] for row in claimed if row[2] is not None), Decimal("0"))
        assignment = Assignment.objects.create(
            user_id=user_id,
            assignment_type=assignment_type,
            assignment_reason=reason,
            external_system=external_system,
            external_context=external_context or {},
            total_items_count=len(item_ids),
            total_estimated_value=total_value,
            assignment_priority=priority,
            status=AssignmentStatus.PENDING,
        )
        try:
            with transaction.atomic():
                AssignmentItem.objects.bulk_create(
                    AssignmentItem(
                        assignment=assignment,
                        item_id=item_id,
                        item_value_at_assignment=by_id[item_id][2],
                        item_name_at_assignment=by_id[item_id][1],
                    )
                    for item_id in item_ids
                )
        except IntegrityError as exc:
            # An item available in `items` but still in an active assignment: a
            # state only a bug elsewhere could produce. The index refuses it.
            if "assignment_items_one_active_per_item" not in str(exc):
                raise
            raise ItemsUnavailable([{"itemId": str(i), "reason": "reserved"} for i in item_ids]) from None
        record_event(
            event_type="assignment.created",
            description=f"{assignment_type} assignment of {len(item_ids)} item(s) to {user_id} by {external_system}.",
            actor=actor, source=source, user_id=user_id, assignment_id=assignment.id, external_system=external_system,
            data={
                "itemIds": item_ids, "assignmentType": assignment_type, "totalItemsCount": len(item_ids),
                "totalEstimatedValue": total_value, "priority": priority, "externalContext": external_context or {},
                **({"requestedPriority": requested_priority} if requested_priority != priority else {}),
            },
        )
        record_events([
            {
                "event_type": "item.reserved",
                "description": f"{by_id[item_id][1]} reserved for {user_id}.",
                "actor": actor, "source": source, "user_id": user_id, "item_id": item_id,
                "assignment_id": assignment.id, "external_system": external_system,
                "data": {"appId": by_id[item_id][3], "assetId": by_id[item_id][4], "value": by_id[item_id][2]},
            }
            for item_id in item_ids
        ])
        enqueue(delivery.DELIVER_TASK, str(assignment.id))
    return assignment


def assignment_cancel(
    *, assignment_id: uuid.UUID, actor: str, source: str, reason: str | None = None, external_system: str | None = None
) -> Assignment:
    """Cancel an assignment that has not been delivered.

    `pending`: cancelled and its items released to the pool in one transaction,
    by the delivery engine's `settle_cancelled` like every cancel (events
    assignment.cancelled, item.released). `processing`: an offer may be
    live on Steam, so this hands over to assignments.delivery.delivery_cancel,
    which cancels the offer on Steam first, outside any transaction (if the user
    accepted meanwhile, Steam wins). `delivered`, `failed`, `cancelled`:
    AssignmentNotCancellable. With `external_system`, another system's
    assignment is AssignmentNotFound. Call it outside a transaction: the
    processing path talks to Steam.
    """
    now = timezone.now()
    rows = Assignment.objects.filter(id=assignment_id)
    if external_system is not None:
        rows = rows.filter(external_system=external_system)
    with transaction.atomic():
        # The status is decided by the conditional UPDATE: a worker that moved the
        # assignment to processing a moment ago wins, and we take the other path.
        if rows.filter(status=AssignmentStatus.PENDING).update(
            status=AssignmentStatus.CANCELLED, cancelled_at=now, status_reason=None, updated_at=now
        ):
            # That UPDATE decided the race; the rest is written the way every cancel is.
            assignment = rows.get()
            delivery.settle_cancelled(assignment, None, now=now, actor=actor, source=source, reason=reason,
                                      previous_status=AssignmentStatus.PENDING)
            return assignment
    assignment = rows.first()
    if assignment is None:
        raise AssignmentNotFound()
    if assignment.status != AssignmentStatus.PROCESSING:
        raise AssignmentNotCancellable(assignment.status)
    delivery.delivery_cancel(assignment_id=assignment.id, actor=actor, source=source, reason=reason)
    assignment = Assignment.objects.get(id=assignment.id)
    # Steam decided: the user accepted (delivered, or escrow) before the cancel reached the offer.
    if assignment.status != AssignmentStatus.CANCELLED:
        raise AssignmentNotCancellable(assignment.status)
    return assignment
